"""ERP price records: end-and-insert, never two records of one key on one day (over a year of
random price changes, and as a property), each format pinned by a golden file, same bytes for
the same inputs, identifiers that stay text and no cell a spreadsheet runs."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import random
from decimal import Decimal
from pathlib import Path

import pytest

from models.errors import InputError
from pricing.files.erp.records import (
    ApprovedPrice, ExportConfig, PriceRecord, apply, bundle_item, check_no_overlap, money, period_end, plan,
    read_records, records_csv,
)
from pricing.files.erp.formats import FORMATS, components_csv, render

GOLDEN = Path(__file__).parent / "golden"
SKUS = ("CAR-1", "CAR-2", "HOME-1", "HOME-2", "HUM-1", "0012", "1E5")  # the last two look like numbers


def config(month: str, *, open_ended: bool = False, run: str | None = None) -> ExportConfig:
    return ExportConfig("BUNDLES-NORTH", "North", dt.date.fromisoformat(month + "-01"), run or f"run-{month}",
                        open_ended=open_ended)


def price(skus: str, amount: str, name: str = "") -> ApprovedPrice:
    return ApprovedPrice(tuple(skus.split("|")), money(amount, "CNY"), name or skus.replace("|", " + "))


def price_on(ledger: list[PriceRecord], item: str, day: dt.date) -> Decimal | None:
    hits = [r.amount for r in ledger if r.item == item and r.valid_from <= day <= r.last_day]
    assert len(hits) <= 1, f"{item} has {len(hits)} prices on {day}"
    return hits[0] if hits else None


A, B, C = "CAR-1|HOME-1", "CAR-2|HOME-2", "CAR-1|HOME-2|HUM-1"


def test_first_period_creates_and_a_price_change_ends_and_inserts() -> None:
    december = plan([price(A, "2559"), price(B, "1239")], [], config("2026-12", open_ended=True))
    assert [(r.action, r.valid_from, r.valid_to) for r in december] == [("create", dt.date(2026, 12, 1), None)] * 2
    ledger = apply([], december)
    january = plan([price(A, "2599"), price(B, "1239")], ledger, config("2027-01", open_ended=True))
    item = bundle_item(A.split("|"))
    assert [(r.action, r.item, str(r.amount), r.valid_from, r.valid_to) for r in january] == [
        ("end", item, "2559.00", dt.date(2026, 12, 1), dt.date(2026, 12, 31)),  # ended the day before
        ("update", item, "2599.00", dt.date(2027, 1, 1), None),                # the new one starts
    ]  # B is unchanged and open-ended: nothing to load
    ledger = apply(ledger, january)
    assert price_on(ledger, item, dt.date(2026, 12, 31)) == Decimal("2559.00")
    assert price_on(ledger, item, dt.date(2027, 1, 1)) == Decimal("2599.00")


def test_explicit_validity_runs_to_the_month_end_and_continues_by_update() -> None:
    december = plan([price(A, "2559"), price(C, "999.5")], [], config("2026-12"))
    assert {(r.action, r.valid_to) for r in december} == {("create", dt.date(2026, 12, 31))}
    ledger = apply([], december)
    january = plan([price(A, "2559")], ledger, config("2027-01"))
    # A continues (same price, a new month's record); C left the sheet and ran out by itself.
    assert [(r.action, r.valid_from, r.valid_to) for r in january] == [
        ("update", dt.date(2027, 1, 1), dt.date(2027, 1, 31))]
    february = plan([price(C, "999.5")], apply(ledger, january), config("2027-02"))
    assert [r.action for r in february] == ["create"]  # back after a gap: a new record


def test_a_withdrawn_open_ended_bundle_is_ended() -> None:
    ledger = apply([], plan([price(A, "10"), price(B, "20")], [], config("2026-12", open_ended=True)))
    records = plan([price(A, "10")], ledger, config("2027-03", open_ended=True))
    assert [(r.action, r.item, r.valid_to) for r in records] == [("end", bundle_item(B.split("|")),
                                                                  dt.date(2027, 2, 28))]


def test_exporting_the_same_period_again_changes_nothing_or_replaces() -> None:
    cfg = config("2026-12")
    ledger = apply([], plan([price(A, "10"), price(B, "20")], [], cfg))
    assert plan([price(A, "10"), price(B, "20")], ledger, cfg) == []
    again = plan([price(A, "11"), price(B, "20")], ledger, cfg)
    assert [(r.action, str(r.amount), r.valid_from) for r in again] == [("update", "11.00", dt.date(2026, 12, 1))]
    assert price_on(apply(ledger, again), bundle_item(A.split("|")), dt.date(2026, 12, 15)) == Decimal("11.00")
    # The same period made open-ended: the record is extended in place, not doubled.
    longer = plan([price(A, "10"), price(B, "20")], ledger, config("2026-12", open_ended=True))
    assert [(r.action, r.valid_from, r.valid_to) for r in longer] == [("update", dt.date(2026, 12, 1), None)] * 2
    assert price_on(apply(ledger, longer), bundle_item(A.split("|")), dt.date(2027, 6, 1)) == Decimal("10.00")


@pytest.mark.parametrize("prices, in_force, message", [
    pytest.param([price(A, "10")], [("2027-01-01", None, "10")], r"already has a record from 2027-01-01, after "
                 r"2026-12-01: export periods in order", id="later-record"),
    pytest.param([], [("2026-12-01", "2026-12-31", "10")], r"was exported from 2026-12-01 and has left the sheet",
                 id="left-after-export"),
    pytest.param([price(A, "10")], [("2026-10-01", None, "10"), ("2026-11-01", "2026-11-30", "12")],
                 r"two records of item BDL-\w+ overlap: 2026-10-01 to 9999-12-31 and 2026-11-01 to 2026-11-30",
                 id="overlapping-in-force"),
    pytest.param([price(A, "10"), price("HOME-1|CAR-1", "11")], [], r"the same SKU set appears twice",
                 id="same-set-twice"),
])
def test_refusals(prices, in_force, message) -> None:
    item = bundle_item(A.split("|"))
    records = [PriceRecord("create", "BUNDLES-NORTH", "North", item, Decimal(amount), "CNY", 1, "PC",
                           dt.date.fromisoformat(start), None if end is None else dt.date.fromisoformat(end), "r")
               for start, end, amount in in_force]
    with pytest.raises(InputError, match=message):
        plan(prices, records, config("2026-12"))


def random_year(rng: random.Random, open_ended: bool, months: int = 12):
    """(month, approved prices) for ``months`` months: bundles come, go, come back, change price."""
    pool = ["CAR-1|HOME-1", "CAR-2|HOME-1", "CAR-1|HOME-2|HUM-1", "CAR-2|HOME-2", "0012|1E5", "CAR-1|1E5|HUM-1"]
    current = {skus: Decimal(rng.randrange(500, 5000)) for skus in rng.sample(pool, 3)}
    for m in range(months):
        month = f"{2026 + (m + 11) // 12}-{(m + 11) % 12 + 1:02d}"
        for skus in list(current):
            roll = rng.random()
            if roll < 0.2:
                del current[skus]
            elif roll < 0.6:
                current[skus] = (current[skus] * Decimal(rng.uniform(0.9, 1.1))).quantize(Decimal("0.01"))
        for skus in rng.sample(pool, rng.randrange(0, 3)):
            current.setdefault(skus, Decimal(rng.randrange(500, 5000)))
        yield month, [price(skus, str(amount)) for skus, amount in current.items()]


def replay_year(seed: int, open_ended: bool) -> None:
    """Export a year month by month; after each, every day of the month has exactly the approved
    price of each bundle on the sheet, none for the others, and no key overlaps."""
    rng = random.Random(seed)
    ledger: list[PriceRecord] = []
    for month, prices in random_year(rng, open_ended):
        cfg = config(month, open_ended=open_ended)
        records = plan(prices, ledger, cfg)
        assert all(r.valid_from >= cfg.valid_from or r.action in ("end", "update") for r in records)
        ledger = apply(ledger, records)
        check_no_overlap(ledger)
        wanted = {p.item: p.price for p in prices}
        for day in (cfg.valid_from, cfg.valid_from + dt.timedelta(days=14), period_end(cfg.valid_from)):
            for item in {r.item for r in ledger} | set(wanted):
                assert price_on(ledger, item, day) == wanted.get(item), (month, item, day)
        assert read_records_text(records_csv(ledger)) == ledger  # the in-force file reads back the same


def read_records_text(text: str) -> list[PriceRecord]:
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"records-{os.getpid()}.csv"
    path.write_text(text, encoding="utf-8")
    try:
        return read_records(path)
    finally:
        path.unlink()


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("open_ended", [False, True], ids=["month-end", "open-ended"])
def test_a_year_of_random_price_changes_never_overlaps(seed: int, open_ended: bool) -> None:
    replay_year(seed, open_ended)


try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - hypothesis is in the test extra
    given = None

if given is not None:
    @settings(max_examples=60, deadline=None)
    @given(seed=st.integers(0, 2**32 - 1), open_ended=st.booleans())
    def test_property_no_key_ever_has_two_prices_on_one_day(seed: int, open_ended: bool) -> None:
        replay_year(seed, open_ended)


def golden_records() -> tuple[list[PriceRecord], ExportConfig, list[ApprovedPrice]]:
    """December then January: a create, an unchanged bundle, a price change, a withdrawal."""
    dec = config("2026-12", open_ended=True, run="run-20261130T010000Z-0a1b2c3d")
    first = [price(A, "2559", "Dash cam + Charger"), price("0012|1E5", "1239.5", "=SUM(A1) + @cmd"),
             price(C, "999", "Cam, Lock \"Pro\" + Band")]
    ledger = apply([], plan(first, [], dec))
    jan = config("2027-01", open_ended=True, run="run-20261231T010000Z-4e5f6a7b")
    second = [price(A, "2599", "Dash cam + Charger"), price("0012|1E5", "1239.5", "=SUM(A1) + @cmd"),
              price(B, "1999", "Dash cam 2 + Lock")]
    return plan(first, [], dec) + plan(second, ledger, jan), jan, second


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_each_format_matches_its_golden_file(fmt: str) -> None:
    records, cfg, prices = golden_records()
    text = render(records, cfg, fmt)
    golden = GOLDEN / f"erp_{fmt}.csv"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_bytes(text.encode("utf-8"))
    assert text.encode("utf-8") == golden.read_bytes()
    assert render(*golden_records()[:2], fmt) == text  # same inputs, same bytes


def test_components_file_matches_its_golden_file() -> None:
    _, cfg, prices = golden_records()
    text = components_csv(prices, cfg)
    golden = GOLDEN / "erp_components.csv"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_bytes(text.encode("utf-8"))
    assert text.encode("utf-8") == golden.read_bytes()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {(r["item"], r["component_sku"]) for r in rows} == {
        (p.item, sku) for p in prices for sku in p.skus}
    assert {r["quantity"] for r in rows} == {"1"}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_cells_stay_text_plain_and_never_formulas(fmt: str) -> None:
    records, cfg, _ = golden_records()
    rows = list(csv.reader(io.StringIO(render(records, cfg, fmt))))
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
            assert "e+" not in cell.lower() and "e-0" not in cell.lower(), cell
    header = rows[0]
    item_col = {"csv": "item", "sap": "MATNR", "odoo": "product_tmpl_id", "d365": "ItemRelation"}[fmt]
    amount_col = {"csv": "amount", "sap": "KBETR", "odoo": "fixed_price", "d365": "Amount"}[fmt]
    for row in rows[1:]:
        item = row[header.index(item_col)]
        assert item.startswith("BDL-") and len(item) == 14
        with pytest.raises(ValueError):
            float(item)
        amount = row[header.index(amount_col)]
        assert len(amount.split(".")[1]) == 2 and Decimal(amount) > 0


def test_item_codes_ignore_sku_order_and_tell_sets_apart() -> None:
    assert bundle_item(["B", "A"]) == bundle_item(["A", "B"])
    codes = {bundle_item(s.split("|")) for s in ("A|B", "A|C", "A|B|C", "AB", "A", "0012|1E5")}
    assert len(codes) == 6


@pytest.mark.parametrize("value, currency, expected", [
    pytest.param("2559", "CNY", "2559.00", id="whole"),
    pytest.param("0.125", "CNY", "0.13", id="half-up"),
    pytest.param(1e6, "CNY", "1000000.00", id="no-exponent"),
    pytest.param("1234.5", "JPY", "1235", id="no-minor-unit"),
])
def test_amounts_carry_the_currency_decimals(value, currency, expected) -> None:
    assert format(money(value, currency), "f") == expected


@pytest.mark.parametrize("value", ["abc", "-5", "0", "nan", "inf"])
def test_bad_amounts_are_refused(value) -> None:
    with pytest.raises(InputError, match=r"price_sheet.csv row 3, column price: must be an amount"):
        money(value, "CNY", "price_sheet.csv", 3)


def test_bad_in_force_file_names_row_and_column(tmp_path: Path) -> None:
    records, _, _ = golden_records()
    text = records_csv(records).replace("2027-01-01", "01/01/2027", 1)
    path = tmp_path / "prices.in_force.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=r"prices.in_force.csv row \d+, column valid_from: must be a date YYYY-MM-DD, "
                                         r"got '01/01/2027'"):
        read_records(path)
