"""The finance workbook read back with openpyxl: sheet order, readable labels, numbers stored as
numbers with the right formats, totals that are the sums of the rounded lines, the exceptions
each documented rule produces, and print setup on every sheet."""

from __future__ import annotations

import json
import re
from pathlib import Path

import openpyxl
import pytest

from conftest import DATA
from finance_data import HOSTILE, NEVER_OFFERED, north, south
from models.errors import InputError
from pricing.files.approval import ApprovalState, approval_of, write_approval
from pricing.files.finance.checks import RULES, proof_in_words
from pricing.files.finance.rows import RunInfo, money_round, round_half_up, run_identifier
from pricing.files.finance.workbook import CHANGE_COLUMNS, sheet_names, write_finance_workbook
from pricing.files.finance.style import number_formats

RUN = RunInfo("run-2026-12-a1b2&c", "2026-12", "li.na", "2026-11-30T01:00:00+00:00", {"catalog.csv": "a" * 64})
MONEY = number_formats("CNY")
SNAKE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)+$")


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> openpyxl.Workbook:
    path = tmp_path_factory.mktemp("wb") / "finance.xlsx"
    write_finance_workbook(path, [north(), south()], RUN)
    return openpyxl.load_workbook(path)


def rows_of(ws, first: int = 1) -> list[tuple]:
    return list(ws.iter_rows(min_row=first, values_only=True))


def table_rows(ws, header_row: int = 4) -> list[dict]:
    """The rows under the header row as dicts of label -> cell (openpyxl cells, not values)."""
    header = [c.value for c in ws[header_row]]
    out = []
    for row in ws.iter_rows(min_row=header_row + 1):
        if (row[0].value is None and row[1].value is None) or row[0].value == "Total":
            break
        out.append({h: c for h, c in zip(header, row) if h is not None})
    return out


def test_sheets_come_in_the_order_finance_reads_them(book) -> None:
    assert book.sheetnames == ["Cover", "Changes North", "Changes South", "Exceptions", "Definitions",
                               "Bundles North", "Bundles South", "Settings"]


def test_cover_says_period_markets_run_proof_goals_and_approval(book) -> None:
    ws = book["Cover"]
    facts = {r[0]: r[1] for r in rows_of(ws) if r[0] is not None}
    assert facts["Period"] == "2026-12"
    assert facts["Market(s)"] == "North, South"
    assert facts["Run identifier"] == RUN.run_id
    assert facts["Run by"] == "li.na"
    assert facts["Run at"] == "2026-11-30 01:00 UTC"
    assert facts["Approval"] == "Draft: not approved yet"
    assert facts["Exceptions"].startswith("9 line(s) break a threshold")
    assert facts["catalog.csv"] == "a" * 64
    assert facts["model.json (North)"] == "b" * 64 and facts["model.json (South)"] == "c" * 64
    proof = next(r for r in rows_of(ws) if r[0] == "Proof")
    assert proof[1] == "NOT proven optimal (stopped by the time limit): the best offer under the rules could be up " \
                       "to 1.23% better"
    assert proof[2].startswith("Proven optimal")
    margin = next(r for r in ws.iter_rows() if r[0].value == "Expected incremental IoT gross margin a month")
    assert margin[1].value == 143464.41 and margin[1].number_format == MONEY["money"]  # rounded to the fen
    goals = [r for r in rows_of(ws) if r[1] in ("North", "South") and r[0] != "Results by market"]
    assert goals == [
        ("Attach rate", "North", 0.15, 0.152, "yes", 0.71),
        ("IoT gross margin rate, points above no bundles", "North", 3, 2.5, "NO", "not computed"),
        ("Asked confidence", "North", None, None, None, 0.9),
        ("Attach rate", "South", 0.15, 0.16, "yes", "not asked"),  # no goals object: the attach target alone
    ]


def test_changes_table_compares_with_the_prices_in_force(book) -> None:
    ws = book["Changes North"]
    assert [c.value for c in ws[4]] == [label for label, _, _ in CHANGE_COLUMNS]
    assert ws.freeze_panes == "A5"
    (table,) = ws.tables.values()
    assert table.ref == "A4:L8" and table.autoFilter is not None
    rows = table_rows(ws)
    values = [{k: c.value for k, c in r.items()} for r in rows]
    assert [v["Bundle"] for v in values] == ["B1", "B2", "B3", ""]
    b1, b2, b3, old = values
    assert (b1["Price in force"], b1["New price"], b1["Change"], b1["Change %"]) == (2349, 2559, 210, 0.0894)
    assert b1["Margin % before"] == round((2349 - 2111) / 2349, 4) and b1["Margin % after"] == 0.1751
    assert b1["Flag"] == "Price up" and b2["Flag"] == "Price up: see Exceptions"
    assert b2["Composition"] == "'" + HOSTILE + "\nC2 | H1"  # formula-safe, SKUs on their own line
    assert b3["Price in force"] is None and b3["Flag"] == "New: see Exceptions"
    assert old["Flag"] == "Withdrawn" and old["New price"] is None and old["Composition"] == "Old bundle\nC9 | H9"
    styles = {label: style for label, _, style in CHANGE_COLUMNS}
    for row in rows:
        for label, cell in row.items():
            if isinstance(cell.value, (int, float)):
                assert cell.data_type == "n"
                assert cell.number_format == MONEY[styles[label]], label
            elif label not in ("Bundle", "Composition", "Flag"):
                assert cell.value is None, (label, cell.value)
    assert MONEY["money"] == '#,##0.00 "CNY"' and MONEY["signed_pct"].startswith("+0.00%")


def test_totals_are_sums_of_the_rounded_lines_not_rounded_sums(book) -> None:
    ws = book["Changes North"]
    total = next(r for r in rows_of(ws) if r[0] == "Total")
    # lines 336.5, 100.5, 10.25 units -> 337 + 101 + 10 = 448 (the unrounded sum rounds to 447);
    # margins 142434.845, 1234.565, -205.004 -> .85 + .57 - 205.00 = 143464.42 (unrounded: .41)
    assert total[9] == 448 and total[10] == 143464.42
    assert round(336.5 + 100.5 + 10.25) != 448 and round(142434.845 + 1234.565 - 205.004, 2) != 143464.42
    bundles = book["Bundles North"]
    detail_total = next(r for r in rows_of(bundles) if r[0] == "Total")
    header = [c.value for c in bundles[4]]
    assert detail_total[header.index("Expected margin a month")] == 143464.42
    assert detail_total[header.index("Expected units a month")] == 447.3  # 336.5 + 100.5 + 10.3


def test_every_rule_breach_is_listed_once_with_value_and_threshold(book) -> None:
    got = [(r["Market"].value, r["Bundle"].value, r["Rule"].value, r["Value"].value, r["Threshold"].value)
           for r in table_rows(book["Exceptions"])]
    assert sorted(got, key=str) == sorted([
        ("North", "", "Result not proven optimal", 0.0123, 0.0001),
        ("North", "", "Target probability below the asked confidence", 0.71, 0.9),
        ("North", "", "Goal not met", 2.5, 3),
        ("North", "B2", "Price change beyond the stability limit", 0.25, 0.1),
        ("North", "B2", "Margin below the floor", 0.05, 0.08),
        ("North", "B3", "Margin below the floor", -0.04, 0.08),
        ("North", "B3", "Price below unit cost", 500, 520),
        ("North", "B3", "SKU never offered in the history", "U1", "offered in the history"),
        ("North", "", "Caution from the demand fit", "see note", ""),
    ], key=str)
    notes = [r["Note"].value for r in table_rows(book["Exceptions"])]
    assert NEVER_OFFERED in notes
    assert {r[2] for r in got} <= set(RULES)


def test_a_clean_market_has_no_exceptions(tmp_path: Path) -> None:
    path = tmp_path / "south.xlsx"
    write_finance_workbook(path, [south()], RUN)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames[:3] == ["Cover", "Changes", "Exceptions"]
    assert rows_of(book["Exceptions"], 5)[0][0] == "No exceptions: every line is within the documented thresholds."


def test_labels_are_words_and_each_is_defined(book) -> None:
    defined = {r[0]: r[1] for r in rows_of(book["Definitions"], 5)}
    used = set()
    for name in ("Changes North", "Bundles North", "Exceptions"):
        used |= {c.value for c in book[name][4] if c.value}
    used |= {r[0] for r in rows_of(book["Cover"]) if r[0]} - {"Bundle prices for finance review", "DRAFT"}
    for label in used:
        assert not SNAKE.match(str(label)), label
    undefined = used - set(defined) - {"Market", "Rule", "Value", "Threshold", "Note", "Period", "Market(s)",
                                       "Currency", "Run identifier", "Run by", "Run at", "Approval", "Exceptions",
                                       "Results by market", "Goals", "Input files (SHA-256 of their bytes)",
                                       "catalog.csv", "model.json (North)", "model.json (South)"}
    assert undefined - {"IoT gross margin rate, points above no bundles"} == set()
    for label, field in (("New price", "price"), ("Change %", "change_pct"), ("Price in force", "last_price"),
                         ("Expected margin a month", "expected_margin")):
        assert defined[label] == field
    assert set(RULES) <= set(defined)


def test_every_sheet_prints_landscape_a4_one_page_wide_with_titles_and_footer(book) -> None:
    for ws in book.worksheets:
        setup = ws.page_setup
        assert setup.orientation == "landscape", ws.title
        assert int(setup.paperSize) == 9, ws.title  # A4
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert setup.fitToWidth in (None, 1) and int(setup.fitToHeight) == 0, ws.title
        assert ws.print_title_rows, ws.title
        assert ws.oddFooter.left.text == "&A" and ws.oddFooter.center.text == "Page &P of &N"
        assert ws.oddFooter.right.text == "run-2026-12-a1b2&&c"  # '&' escaped so it prints as itself
        assert "DRAFT" in ws.oddHeader.center.text
    assert book["Changes North"].print_title_rows == "$4:$4"


def test_numbers_are_numbers_and_no_cell_is_a_formula(book) -> None:
    numeric_text = re.compile(r"^[+-]?[\d,]+(\.\d+)?%?$")
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{ws.title}!{cell.coordinate}"
                if isinstance(cell.value, str):
                    assert not numeric_text.match(cell.value), f"{ws.title}!{cell.coordinate} {cell.value!r}"
                    assert not cell.value.startswith(("=", "+", "-", "@", "\t", "\r")), cell.value


@pytest.mark.parametrize("approval, header, banner", [
    pytest.param(ApprovalState("approved", "wang.fang", "2026-12-01T09:30:00+08:00", "fine"), "APPROVED by wang.fang",
                 "Approved by wang.fang on 2026-12-01 01:30 UTC: \"fine\"", id="approved"),
    pytest.param(ApprovalState("rejected", "wang.fang", "2026-12-01T09:30:00+00:00", "too deep"), "REJECTED",
                 "Rejected by wang.fang on 2026-12-01 09:30 UTC: \"too deep\"", id="rejected"),
])
def test_the_page_header_reads_draft_until_approved(tmp_path, approval, header, banner) -> None:
    path = tmp_path / "decided.xlsx"
    write_finance_workbook(path, [south()], RUN, approval)
    book = openpyxl.load_workbook(path)
    assert all(header in ws.oddHeader.center.text and "DRAFT" not in ws.oddHeader.center.text
               for ws in book.worksheets)
    assert {r[0]: r[1] for r in rows_of(book["Cover"]) if r[0]}["Approval"] == banner


@pytest.mark.parametrize("record, words", [
    pytest.param({"proven_optimal": True, "gap": 1e-9}, "Proven optimal: no offer under the rules does better "
                                                        "(the solver closed the gap)", id="closed"),
    pytest.param({"proven_optimal": True, "gap": 5e-5}, "Proven optimal: no offer under the rules does better by "
                                                        "more than less than 0.01%", id="within-0.01%"),
    pytest.param({"proven_optimal": False, "status": "time_limit", "gap": None},
                 "NOT proven optimal (stopped by the time limit); how far from the best is unknown", id="no-bound"),
])
def test_proof_in_words(record, words) -> None:
    assert proof_in_words(record) == words


def test_sheet_names_are_legal_short_and_unique() -> None:
    names = sheet_names(["North", "A/B:C*?[x]", "A very long market name that Excel cannot hold",
                         "A very long market name that Excel cannot hold too"])
    flat = [n for market in names.values() for n in market.values()]
    assert len(set(n.lower() for n in flat)) == len(flat)
    assert all(len(n) <= 31 and not set(n) & set("[]:*?/\\") for n in flat)
    assert names["North"]["changes"] == "Changes North"
    assert sheet_names(["North"])["North"] == {"changes": "Changes", "detail": "Bundles", "elasticities": "Elasticities"}


def test_rounding_is_half_away_from_zero() -> None:
    assert money_round(2.675, "CNY") == 2.68 and money_round(-0.005, "CNY") == -0.01
    assert money_round(1234.5, "JPY") == 1235 and round_half_up(100.5, 0) == 101
    assert str(money_round(-0.001, "CNY")) == "0.0"


def test_run_identifier_is_stable_and_says_when() -> None:
    record = {"created_at": "2026-11-30T02:32:10+00:00", "inputs": {"catalog.csv": "ab"}, "settings": {}}
    assert run_identifier(record) == run_identifier(dict(record))
    assert run_identifier(record).startswith("run-20261130T023210Z-")
    assert run_identifier({**record, "inputs": {"catalog.csv": "cd"}}) != run_identifier(record)
    assert run_identifier({**record, "run_id": "2026-12/North#3"}) == "2026-12/North#3"


def test_approval_file_round_trip_and_bad_files(tmp_path: Path) -> None:
    (tmp_path / "price_sheet.csv").write_text("bundle_id,price\nB1,10\n")
    assert approval_of(tmp_path) == ApprovalState()
    written = write_approval(tmp_path, "approved", "li.na", "ok", at="2026-12-01T09:00:00+00:00")
    assert approval_of(tmp_path) == written and written.is_approved and len(written.sheet_sha256) == 64
    (tmp_path / "approval.json").write_text("{not json")
    with pytest.raises(InputError, match=r"approval.json: must be a JSON object"):
        approval_of(tmp_path)
    (tmp_path / "approval.json").write_text(json.dumps({"state": "ok"}))
    with pytest.raises(InputError, match=r"field 'state' must be one of draft, approved, rejected, got 'ok'"):
        approval_of(tmp_path)
    (tmp_path / "approval.json").write_text(json.dumps({"state": "approved", "by": "x", "at": "2026-12-01"}))
    with pytest.raises(InputError, match=r"a decision must say 'sheet_sha256'"):
        approval_of(tmp_path)


def test_same_inputs_same_bytes(tmp_path: Path) -> None:
    first, second = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    for path in (first, second):
        write_finance_workbook(path, [north(), south()], RUN)
    assert first.read_bytes() == second.read_bytes()


def test_a_monthly_workbook_from_run_folders_shows_each_markets_approval(tmp_path: Path) -> None:
    from finance_data import write_run_dir
    from pricing.files.finance.rows import MarketResult, in_force_from_sheet

    month = tmp_path / "runs" / "2026-12"
    markets = []
    for name, market in (("华北", north()), ("华南", south())):  # names Excel tables cannot hold
        folder = write_run_dir(month / name, market)
        if name == "华北":
            write_approval(folder, "approved", "wang.fang", at="2026-12-01T09:30:00+08:00")
        markets.append(MarketResult.from_run_dir(folder, in_force=in_force_from_sheet(DATA / "last_sheet.csv")))
    path = tmp_path / "month.xlsx"
    write_finance_workbook(path, markets, RUN)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames[:3] == ["Cover", "Changes 华北", "Changes 华南"]
    row = next(r for r in rows_of(book["Cover"]) if r[0] == "Approval of this market")
    assert row[1:3] == ("Approved by wang.fang on 2026-12-01 01:30 UTC", "Draft: not approved yet")
    # The shipped last sheet's five bundles are in force; none is on these sheets: all withdrawn.
    flags = [r["Flag"].value for r in table_rows(book["Changes 华南"])]
    assert flags == ["New"] + ["Withdrawn"] * 5
    assert {t.name for ws in book.worksheets for t in ws.tables.values()} == {"Changes_1", "Changes_2"}


def test_prices_in_force_read_from_the_last_sheet() -> None:
    from pricing.files.finance.rows import in_force_from_sheet

    in_force = in_force_from_sheet(DATA / "last_sheet.csv")
    assert len(in_force) == 5
    first = in_force[0]
    assert first.skus == ("CAR-DC-4K", "CAR-WLC-50", "HOME-EVC-7", "HUM-BAND-9")
    assert (first.price, first.unit_cost_total) == (2949.0, 2543.0) and first.name.startswith("70mai Dash Cam")
