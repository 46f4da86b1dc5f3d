"""Reading history.csv: bad history is one clear line naming file, row and column; the fit
command exits 2 and writes nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from models.demand import DemandModel
from models.errors import InputError
from models.history import History
from pricing.domain.catalog import Catalog
from pricing.cli import main

DATA = Path(__file__).resolve().parent.parent / "data"
HEADER = "month,region,segment,buyers,skus,price,taken"
GOOD = [
    "2025-01,North,SU7 Pro,1000,CAR-DC-4K|HOME-EVC-7,2499,30",
    "2025-01,North,SU7 Pro,1000,CAR-AIR-2|HOME-SPK-PRO,559,40",
    "2025-02,North,SU7 Pro,1100,CAR-DC-4K|HOME-EVC-7,2399,33",
    "2025-02,North,SU7 Pro,1100,CAR-WLC-50|HUM-BAND-9,499,50",
]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.from_csv(DATA / "catalog.csv")


def read(tmp_path: Path, rows: list[str], catalog: Catalog, segments=("SU7 Pro", "SU7 Max")) -> History:
    path = tmp_path / "history.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return History.from_csv(path, catalog.skus, segments)


def test_good_history_reads(tmp_path, catalog):
    history = read(tmp_path, GOOD, catalog)
    assert history.months == ("2025-01", "2025-02")
    assert history.frame["skus"][0] == ("CAR-DC-4K", "HOME-EVC-7")
    assert history.frame["taken"].sum() == 153
    assert history.segment_shares() == {"SU7 Pro": 1.0}
    assert len(history.sha256) == 64


def replace(row: int, column: str, value: str) -> list[str]:
    """GOOD with one cell changed; ``row`` counts as a spreadsheet does (header = 1)."""
    rows = [r.split(",") for r in GOOD]
    rows[row - 2][HEADER.split(",").index(column)] = value
    return [",".join(r) for r in rows]


BAD = [
    pytest.param(replace(3, "taken", "1200"), r"history.csv row 3, column taken: taken \(1200\) is above the cell's buyers \(1000\)", id="taken-above-buyers"),
    pytest.param(replace(3, "taken", "990"), r"row 3, column taken: .* taken 1020 times in total, above the cell's 1000 buyers", id="cell-total-above-buyers"),
    pytest.param(replace(2, "taken", "-3"), r"row 2, column taken: must be a whole number >= 0, got '-3'", id="negative-taken"),
    pytest.param(replace(2, "buyers", "-1000"), r"row 2, column buyers: must be a whole number >= 0", id="negative-buyers"),
    pytest.param(replace(2, "taken", "2.5"), r"row 2, column taken: must be a whole number", id="fractional-taken"),
    pytest.param(replace(4, "skus", "CAR-DC-4K|HOME-XX-1"), r"row 4, column skus: unknown SKU 'HOME-XX-1'", id="unknown-sku"),
    pytest.param(replace(5, "segment", "SU7 Turbo"), r"row 5, column segment: unknown segment 'SU7 Turbo'; expected one of SU7 Pro, SU7 Max", id="unknown-segment"),
    pytest.param(replace(2, "price", "0"), r"row 2, column price: must be a price > 0 CNY, got '0'", id="zero-price"),
    pytest.param(replace(2, "price", "abc"), r"row 2, column price: must be a price in CNY, got 'abc'", id="text-price"),
    pytest.param(replace(3, "skus", "HOME-EVC-7|CAR-DC-4K"), r"row 3, column skus: the bundle HOME-EVC-7\|CAR-DC-4K is listed twice for North 2025-01 SU7 Pro \(first in row 2\)", id="bundle-twice-in-cell"),
    pytest.param(replace(2, "skus", "CAR-DC-4K|CAR-DC-4K"), r"row 2, column skus: a SKU appears twice in one bundle", id="sku-twice-in-bundle"),
    pytest.param(replace(2, "month", "2025/01"), r"row 2, column month: must be a month written YYYY-MM", id="bad-month"),
    pytest.param(replace(3, "buyers", "999"), r"row 3, column buyers: buyers of North 2025-01 SU7 Pro is 999 here but 1000 in row 2", id="buyers-differ-in-cell"),
    pytest.param([*GOOD, "2025-04,North,SU7 Pro,1000,CAR-DC-4K|HOME-EVC-7,2499,30"], r"column month: region 'North' has no offers in month 2025-03", id="month-without-offers"),
    pytest.param(replace(2, "skus", ""), r"row 2, column skus: must list SKUs joined by \|", id="empty-skus"),
]


@pytest.mark.parametrize("rows, message", BAD)
def test_bad_history_is_one_clear_error(tmp_path, catalog, rows, message):
    with pytest.raises(InputError, match=message):
        read(tmp_path, rows, catalog)


def test_missing_column_names_the_header(tmp_path, catalog):
    path = tmp_path / "history.csv"
    path.write_text("month,region,segment,buyers,skus,price\n2025-01,N,SU7 Pro,10,CAR-DC-4K,100\n")
    with pytest.raises(InputError, match=r"history.csv row 1: missing column\(s\) taken"):
        History.from_csv(path, catalog.skus)


@pytest.fixture
def data_copy(tmp_path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    for name in ("catalog.csv", "history.csv", "model.json"):
        shutil.copy(DATA / name, folder / name)
    return folder


def test_fit_command_writes_a_model_and_its_validation(data_copy, capsys):
    out = data_copy / "fitted" / "model.json"
    assert main(["fit", "--data", str(data_copy), "--out", str(out)]) == 0
    model = DemandModel.from_json(out)
    catalog = Catalog.from_csv(data_copy / "catalog.csv")
    model.check_covers(catalog.skus)  # every SKU, the inactive one too
    assert {"data_sha256", "months", "log_likelihood", "rho_squared", "segments", "warnings"} <= set(model.fit)
    # Published as one set (pricing.files.atomic): the names are links into .sets/current.
    assert sorted(p.name for p in out.parent.iterdir()) == [".sets", "manifest.json", "model.json", "validation.json",
                                                            "validation.txt"]
    printed = capsys.readouterr().out
    assert "Holdout check" in printed and "never offered" in printed


def test_fit_command_bad_history_exits_2_writes_nothing(data_copy, capsys):
    lines = (data_copy / "history.csv").read_text().splitlines()
    cells = lines[7].split(",")
    cells[-1] = str(int(cells[3]) + 5)  # taken above buyers
    lines[7] = ",".join(cells)
    (data_copy / "history.csv").write_text("\n".join(lines) + "\n")
    before = (data_copy / "model.json").read_bytes()
    out = data_copy / "out" / "model.json"
    assert main(["fit", "--data", str(data_copy), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert err.startswith("bad input: history.csv row 8, column taken: taken")
    assert not out.parent.exists() or not any(out.parent.iterdir())
    assert (data_copy / "model.json").read_bytes() == before


def test_fit_command_on_a_short_history_skips_the_holdout_and_says_so(data_copy, capsys):
    lines = (data_copy / "history.csv").read_text().splitlines()
    recent = [line for line in lines[1:] if line.startswith(("2026-09", "2026-10"))]
    (data_copy / "history.csv").write_text("\n".join([lines[0], *recent]) + "\n")
    assert main(["fit", "--data", str(data_copy)]) == 0
    assert "no holdout check: it needs at least 7 months of history" in capsys.readouterr().out
    assert DemandModel.from_json(data_copy / "model.json").fit["holdout"] is None
