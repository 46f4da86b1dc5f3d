"""Price sheets: no cell is ever a formula, outputs land all together or not at all, and the
figures agree with an independent recomputation."""

from __future__ import annotations

import csv
import importlib
import io
import json
import shutil
from pathlib import Path

import numpy as np
import openpyxl
import pytest

from pricing.files import atomic as sheet_module
from pricing.domain.catalog import Catalog
from pricing.cli import EXIT_OK, EXIT_UNEXPECTED, main
from pricing.files.run_record import OUTPUT_FILES
from pricing.files.sheet import SHEET_COLUMNS, PriceSheet

from conftest import DATA

# The spec's sheet columns, in order.
SPEC_COLUMNS = [
    "bundle_id", "name", "skus", "items", "list_total", "price", "discount_pct", "unit_cost_total", "unit_margin",
    "margin_pct", "incremental_margin", "take_rate", "expected_units", "expected_margin", "elasticity",
    "last_price", "change_pct",
]
MONEY_COLUMNS = ["list_total", "price", "unit_cost_total", "unit_margin", "incremental_margin", "expected_margin"]
HOSTILE_NAMES = ['=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(A1)", "\tcmd", "=1+1"]
# Small and fast: 3 bundles of 2 SKUs over the shipped catalog, a low target.
FAST_FLAGS = ["--bundles", "3", "--max-items", "2", "--attach-target", "0.03", "--time-limit", "30"]
BUYERS = 28000.0


@pytest.fixture
def hostile_data(tmp_path: Path) -> Path:
    """The shipped data with the car and home SKUs most likely to be bundled renamed to formulas."""
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    path = data / "catalog.csv"
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    for row, name in zip([r for r in rows if r["zone"] in ("car", "home")][:7] + rows[-6:], HOSTILE_NAMES * 3):
        row["name"] = name
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return data


@pytest.fixture
def run(hostile_data: Path, tmp_path: Path, capsys) -> Path:
    out = tmp_path / "out"
    code = main(["optimize", "--data", str(hostile_data), "--out", str(out), *FAST_FLAGS])
    assert code == EXIT_OK, capsys.readouterr().err
    return out


def test_catalog_really_holds_hostile_names(hostile_data: Path) -> None:
    names = set(Catalog.from_csv(hostile_data / "catalog.csv").names)
    assert set(HOSTILE_NAMES) - {"\tcmd"} <= names  # the reader strips the leading tab


def expected_name(catalog: Catalog, skus: str) -> str:
    """The bundle name as a spreadsheet must show it: names joined, apostrophe-led if formula-like."""
    names = dict(zip(catalog.skus, catalog.names))
    raw = " + ".join(names[s] for s in skus.split("|"))
    return "'" + raw if raw.startswith(("=", "+", "-", "@", "\t", "\r")) else raw


def test_csv_text_cells_never_start_a_formula(run: Path, hostile_data: Path) -> None:
    catalog = Catalog.from_csv(hostile_data / "catalog.csv")
    text = (run / "price_sheet.csv").read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == SPEC_COLUMNS
    name_col = SPEC_COLUMNS.index("name")
    assert any(r[name_col].startswith("'") for r in rows[1:]), "the run should bundle a hostile name"
    for row in rows[1:]:
        assert row[name_col] == expected_name(catalog, row[SPEC_COLUMNS.index("skus")])
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")) or _is_number(cell), cell
        for col in ("bundle_id", "name", "skus"):
            cell = row[SPEC_COLUMNS.index(col)]
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def spec_header(book) -> list[str]:
    """The Bundles sheet's header as the spec's field names, through the Definitions sheet."""
    field_of = {r[0]: r[1] for r in book["Definitions"].iter_rows(min_row=5, values_only=True)}
    return [field_of[c.value] for c in book["Bundles"][4]]


def test_xlsx_cells_are_strings_or_numbers_never_formulas(run: Path, hostile_data: Path) -> None:
    catalog = Catalog.from_csv(hostile_data / "catalog.csv")
    book = openpyxl.load_workbook(run / "price_sheet.xlsx")
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{ws.title}!{cell.coordinate} is a formula: {cell.value!r}"
    assert book.sheetnames[:4] == ["Cover", "Changes", "Exceptions", "Definitions"]
    ws = book["Bundles"]
    header = spec_header(book)
    assert header == SPEC_COLUMNS  # every field of the spec, under a label the Definitions sheet maps
    csv_rows = list(csv.DictReader((run / "price_sheet.csv").open(encoding="utf-8")))
    rows = list(ws.iter_rows(min_row=5))[:len(csv_rows)]
    assert rows and list(ws.iter_rows(min_row=5 + len(csv_rows), values_only=True))[0][0] == "Total"
    hostile_seen = False
    for row, csv_row in zip(rows, csv_rows):
        cells = dict(zip(header, row))
        for col in ("bundle_id", "name", "skus"):
            assert cells[col].data_type == "s"
            assert not str(cells[col].value).startswith(("=", "+", "-", "@", "\t"))
        hostile_seen |= str(cells["name"].value).startswith("'")
        assert cells["name"].value == expected_name(catalog, cells["skus"].value)
        for col in SPEC_COLUMNS[3:]:
            if cells[col].value is not None:
                assert cells[col].data_type == "n", col
                assert isinstance(cells[col].value, (int, float))
                # *_pct are stored as fractions (shown as %), everything else as in the CSV
                scale = 100.0 if col.endswith("_pct") else 1.0
                assert cells[col].value * scale == pytest.approx(float(csv_row[col]), abs=1e-9), col
            else:
                assert csv_row[col] == "", col
        for col in MONEY_COLUMNS + ["last_price"] * (cells["last_price"].value is not None):
            fmt = cells[col].number_format
            assert fmt == '#,##0.00 "CNY"', (col, fmt)
        for col in ("discount_pct", "margin_pct"):
            assert cells[col].number_format.endswith("%")
    assert hostile_seen
    assert {"Settings", "Elasticities"} <= set(book.sheetnames)


def test_sheet_figures_match_an_independent_recomputation(run: Path, hostile_data: Path) -> None:
    catalog = Catalog.from_csv(hostile_data / "catalog.csv")
    model = json.loads((hostile_data / "model.json").read_text(encoding="utf-8"))
    last = {}
    with (hostile_data / "last_sheet.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            last[frozenset(row["skus"].split("|"))] = float(row["price"])
    with (run / "price_sheet.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert 1 <= len(rows) <= 3
    assert any(row["last_price"] for row in rows), "the run should re-offer a bundle of the last sheet"

    info = {sku: i for i, sku in enumerate(catalog.skus)}
    shares = np.array([s["share"] for s in model["segments"]])
    utility = []
    for row in rows:
        members = [info[s] for s in row["skus"].split("|")]
        price = float(row["price"])
        zones = {catalog.zones[i] for i in members}
        utility.append([
            s["intercept"] + sum(s["appeal"][catalog.skus[i]] for i in members)
            + s.get("size_coef", 0.0) * (len(members) - 1) + s.get("span_bonus", 0.0) * (len(zones) - 1)
            - s["price_coef"] * price
            for s in model["segments"]
        ])
    v = np.exp(np.array(utility))
    take = v / (1.0 + v.sum(axis=0))  # rows = bundles, columns = segments

    for b, row in enumerate(rows):
        members = [info[s] for s in row["skus"].split("|")]
        price = float(row["price"])
        list_total = sum(catalog.list_price[i] for i in members)
        cost = sum(catalog.unit_cost[i] for i in members)
        displaced = sum(catalog.unit_cost[i] + catalog.standalone_rate[i] * (catalog.list_price[i] - catalog.unit_cost[i])
                        for i in members)
        take_rate = float(take[b] @ shares)
        assert row["bundle_id"] == f"B{b + 1}"
        assert int(row["items"]) == len(members)
        assert float(row["list_total"]) == pytest.approx(list_total, abs=0.005)
        assert float(row["unit_cost_total"]) == pytest.approx(cost, abs=0.005)
        assert float(row["unit_margin"]) == pytest.approx(price - cost, abs=0.005)
        assert float(row["discount_pct"]) == pytest.approx(100 * (1 - price / list_total), abs=0.005)
        assert float(row["margin_pct"]) == pytest.approx(100 * (price - cost) / price, abs=0.005)
        assert float(row["incremental_margin"]) == pytest.approx(price - displaced, abs=0.005)
        assert float(row["take_rate"]) == pytest.approx(take_rate, abs=5e-7)
        assert float(row["expected_units"]) == pytest.approx(BUYERS * take_rate, abs=0.05)
        assert float(row["expected_margin"]) == pytest.approx(BUYERS * take_rate * (price - displaced), abs=0.01)
        # Own-price elasticity, weighted by each segment's takers of the bundle.
        b_s = np.array([s["price_coef"] for s in model["segments"]])
        weights = take[b] * shares / (take[b] @ shares)
        assert float(row["elasticity"]) == pytest.approx(float((-b_s * price * (1 - take[b])) @ weights), abs=5e-5)
        previous = last.get(frozenset(row["skus"].split("|")))
        if previous is None:
            assert row["last_price"] == "" and row["change_pct"] == ""
        else:
            assert float(row["last_price"]) == previous
            assert float(row["change_pct"]) == pytest.approx(100 * (price - previous) / previous, abs=0.005)
            assert abs(price - previous) <= 0.10 * previous + 1e-9  # the stability band

    # The Elasticities sheet, segment by segment: row b, column a is the elasticity of b's take
    # rate to a's price, b_s p_a P_s(a) off the diagonal and -b_s p_b (1 - P_s(b)) on it.
    cells = list(openpyxl.load_workbook(run / "price_sheet.xlsx")["Elasticities"].iter_rows(values_only=True))
    prices = np.array([float(r["price"]) for r in rows])
    n = len(rows)
    for k, seg in enumerate(model["segments"]):
        first = next(i for i, c in enumerate(cells) if c[0] == f"Segment {seg['name']}") + 2
        got = np.array([[cells[first + b][1 + a] for a in range(n)] for b in range(n)], dtype=float)
        expected = np.tile(seg["price_coef"] * prices * take[:, k], (n, 1))
        np.fill_diagonal(expected, -seg["price_coef"] * prices * (1 - take[:, k]))
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)

    record = json.loads((run / "run.json").read_text(encoding="utf-8"))
    assert record["attach_rate"] == pytest.approx(float(take.sum(axis=0) @ shares), rel=1e-9)
    expected = BUYERS * sum(float(take[b] @ shares) * float(r["incremental_margin"]) for b, r in enumerate(rows))
    assert record["margin"] == pytest.approx(expected, rel=1e-5)


def test_sheet_columns_are_the_spec_list() -> None:
    assert list(SHEET_COLUMNS) == SPEC_COLUMNS


def test_failed_xlsx_writer_leaves_nothing(hostile_data: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    def broken(path, *args, **kwargs):
        Path(path).write_bytes(b"half a workbook")
        raise OSError("disk full")

    # The module, not the function of the same name that pricing.files exports.
    monkeypatch.setattr(importlib.import_module("pricing.files.run_record"), "write_finance_workbook", broken)
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("someone else's file")

    # Ours, not the user's: exit 1 or the exception itself, either way nothing written.
    try:
        code = main(["optimize", "--data", str(hostile_data), "--out", str(out), *FAST_FLAGS])
    except OSError as exc:
        assert "disk full" in str(exc)
    else:
        assert code == EXIT_UNEXPECTED

    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_failed_writer_keeps_the_previous_run_intact(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    for name in OUTPUT_FILES:
        (out / name).write_text(f"old {name}")

    def fail(path: Path) -> None:
        path.write_text("partial")
        raise RuntimeError("writer failed")

    with pytest.raises(RuntimeError, match="writer failed"):
        sheet_module.write_outputs(out, {
            "price_sheet.csv": lambda p: p.write_text("new csv"),
            "price_sheet.xlsx": fail,
            "run.json": lambda p: p.write_text("new json"),
        })

    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_FILES)
    for name in OUTPUT_FILES:
        assert (out / name).read_text() == f"old {name}"


def test_tab_and_line_break_led_names_are_neutralised(tmp_path: Path) -> None:
    """Names the CSV reader would strip, set in code: a tab, a carriage return, a full-width '='."""
    from models.demand import DemandModel, Segment
    from pricing.domain.offer import Bundle, Offer, evaluate_offer

    names = ("\t=cmd|' /C calc'!A0", "\r=1+1", "\uff1dSUM(A1)", "plain")
    catalog = Catalog(
        skus=("C1", "H1", "H2", "U1"), names=names, categories=("a", "b", "c", "d"),
        zones=("car", "home", "home", "human"), list_price=np.array([500.0, 800.0, 300.0, 400.0]),
        unit_cost=np.array([300.0, 500.0, 200.0, 250.0]), standalone_rate=np.zeros(4), active=np.ones(4, bool),
    )
    model = DemandModel((Segment("s", 1.0, -2.0, 0.001, {"C1": 0.5, "H1": 0.4, "H2": 0.3, "U1": 0.2}),))
    offer = Offer((Bundle(("C1", "H1"), 1199.0), Bundle(("H2", "U1"), 649.0), Bundle(("C1",), 450.0, 470.0)))
    sheet = PriceSheet(offer, evaluate_offer(offer, catalog, model, 1000.0), catalog)

    rows = list(csv.reader(io.StringIO(sheet.to_csv_text())))
    assert [r[1][:1] for r in rows[1:]] == ["'", "'", "'"]
    path = tmp_path / "sheet.xlsx"
    sheet.write_xlsx(path, {"margin": 1.0}, {"offer": {"max_bundles": 3}})
    book = openpyxl.load_workbook(path)
    ws = book["Bundles"]
    assert spec_header(book) == SPEC_COLUMNS
    for row in ws.iter_rows(min_row=5, max_row=7):
        assert row[1].data_type == "s"
        assert str(row[1].value).startswith("'")
    # change_pct -4.26 % is stored as the fraction -0.0426
    assert ws.cell(row=7, column=SPEC_COLUMNS.index("change_pct") + 1).value == pytest.approx(-0.0426, abs=5e-5)
    changes = book["Changes"]
    for row in changes.iter_rows(min_row=5, max_row=7):
        assert row[1].data_type == "s" and str(row[1].value).startswith("'")
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert not (isinstance(cell.value, str) and cell.value.startswith(("=", "\t", "\r", "\uff1d")))
