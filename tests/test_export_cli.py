"""``python -m pricing export``: refuses (exit 2, one line, nothing written) unless the sheet is
approved and the run's files are the ones recorded; otherwise writes the records, the components
and the records in force, the same bytes for the same run, month after month without overlaps."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import pytest

from finance_data import north, south, write_run_dir
from pricing.cli import main
from pricing.files.approval import write_approval
from pricing.files.erp.records import read_records


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    """runs/2026-12/North approved, with the monthly run's manifest in runs/2026-12."""
    month = tmp_path / "runs" / "2026-12"
    folder = write_run_dir(month / "North", north())
    write_approval(folder, "approved", "wang.fang", "checked against the ERP", at="2026-12-01T09:00:00+08:00")
    write_manifest(month, folder)
    return month


def write_manifest(month: Path, folder: Path) -> None:
    files = {f"{folder.name}/{name}": sha(folder / name) for name in ("price_sheet.csv", "run.json")}
    (month / "manifest.json").write_text(json.dumps({"files": files}))


def export(capsys, run: Path, out: Path, *extra: str) -> tuple[int, str, str]:
    code = main(["export", "--run", str(run), "--format", "csv", "--out", str(out), *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_an_approved_run_exports_records_components_and_in_force(runs, tmp_path, capsys) -> None:
    out = tmp_path / "erp" / "north.csv"
    code, said, err = export(capsys, runs / "North", out)
    assert code == 0, err
    assert sorted(p.name for p in out.parent.iterdir()) == ["north.components.csv", "north.csv", "north.in_force.csv"]
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [r["action"] for r in rows] == ["create"] * 3
    assert {r["amount"] for r in rows} == {"2559.00", "1000.00", "500.00"}
    assert {(r["valid_from"], r["valid_to"], r["currency"], r["market"], r["price_list"]) for r in rows} == {
        ("2026-12-01", "2026-12-31", "CNY", "North", "BUNDLES-NORTH")}
    assert "3 record(s) for BUNDLES-NORTH from 2026-12-01 (3 create, 0 update, 0 end)" in said
    components = list(csv.DictReader(io.StringIO((out.parent / "north.components.csv").read_text())))
    assert len(components) == 2 + 2 + 3


def test_same_run_same_bytes(runs, tmp_path, capsys) -> None:
    for fmt in ("csv", "sap", "odoo", "d365"):
        first, second = tmp_path / f"a_{fmt}.csv", tmp_path / f"b_{fmt}.csv"
        for out in (first, second):
            assert main(["export", "--run", str(runs / "North"), "--format", fmt, "--out", str(out)]) == 0
        assert first.read_bytes() == second.read_bytes()
        assert (tmp_path / f"a_{fmt}.components.csv").read_bytes() == (tmp_path / f"b_{fmt}.components.csv").read_bytes()


def test_next_month_ends_and_inserts_from_the_records_in_force(runs, tmp_path, capsys) -> None:
    out = tmp_path / "erp" / "north.csv"
    assert export(capsys, runs / "North", out, "--open-ended")[0] == 0
    january = north()
    sheet = january.sheet.copy()
    sheet.loc[0, "price"] = 2599.0  # B1 changes price, B2 and B3 stay
    january = type(january)("North", sheet, {**january.record, "period": "2027-01"}, None)
    folder = write_run_dir(tmp_path / "runs" / "2027-01" / "North", january)
    write_approval(folder, "approved", "wang.fang")
    code, said, err = export(capsys, folder, tmp_path / "erp" / "north_2027_01.csv", "--open-ended",
                             "--in-force", str(out.parent / "north.in_force.csv"))
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO((tmp_path / "erp" / "north_2027_01.csv").read_text())))
    assert [(r["action"], r["amount"], r["valid_from"], r["valid_to"]) for r in rows] == [
        ("end", "2559.00", "2026-12-01", "2026-12-31"), ("update", "2599.00", "2027-01-01", "9999-12-31")]
    ledger = read_records(tmp_path / "erp" / "north_2027_01.in_force.csv")
    assert len(ledger) == 4  # three December records (one ended) and January's


def refusal(capsys, run: Path, out: Path, *extra: str) -> str:
    code, said, err = export(capsys, run, out, *extra)
    assert code == 2
    assert said == "" and err.count("\n") == 1 and "Traceback" not in err
    assert not out.parent.exists() or list(out.parent.iterdir()) == []
    return err.strip()


def test_refuses_a_draft(tmp_path, capsys) -> None:
    folder = write_run_dir(tmp_path / "runs" / "2026-12" / "South", south())
    err = refusal(capsys, folder, tmp_path / "erp" / "south.csv")
    assert err == ("export refused: price_sheet.csv: not approved (state: draft); only an approved sheet is "
                   "exported; nothing written")


def test_refuses_a_rejected_sheet(runs, tmp_path, capsys) -> None:
    write_approval(runs / "North", "rejected", "wang.fang", "margin too thin")
    assert "not approved (state: rejected)" in refusal(capsys, runs / "North", tmp_path / "erp" / "n.csv")


def test_refuses_a_sheet_edited_after_approval(tmp_path, capsys) -> None:
    folder = write_run_dir(tmp_path / "runs" / "2026-12" / "South", south())
    write_approval(folder, "approved", "wang.fang")
    sheet = folder / "price_sheet.csv"
    sheet.write_text(sheet.read_text().replace("2349.0", "2049.0", 1))
    assert refusal(capsys, folder, tmp_path / "erp" / "s.csv") == (
        "export refused: price_sheet.csv: changed after it was approved by wang.fang: its SHA-256 does not match "
        "approval.json; nothing written")


def test_refuses_a_sheet_whose_manifest_hash_differs(runs, tmp_path, capsys) -> None:
    # Tampered, then "re-approved" by hand: the monthly run's manifest still catches it.
    sheet = runs / "North" / "price_sheet.csv"
    sheet.write_text(sheet.read_text().replace("2559.0", "1559.0"))
    write_approval(runs / "North", "approved", "someone")
    err = refusal(capsys, runs / "North", tmp_path / "erp" / "n.csv")
    assert err.startswith("export refused: price_sheet.csv: changed after the run: SHA-256 ")
    assert "recorded in 2026-12/manifest.json" in err


def test_refuses_a_changed_run_record(runs, tmp_path, capsys) -> None:
    record = runs / "North" / "run.json"
    record.write_text(record.read_text().replace('"2026-12"', '"2027-12"'))
    assert refusal(capsys, runs / "North", tmp_path / "erp" / "n.csv").startswith(
        "export refused: run.json: changed after the run")


def test_refuses_a_manifest_that_skips_the_sheet(runs, tmp_path, capsys) -> None:
    (runs / "manifest.json").write_text(json.dumps({"files": [{"path": "North/run.json",
                                                               "sha256": sha(runs / "North" / "run.json")}]}))
    assert refusal(capsys, runs / "North", tmp_path / "erp" / "n.csv") == (
        "export refused: 2026-12/manifest.json: does not record price_sheet.csv of North; nothing written")


def test_refuses_a_changed_input_copied_into_the_run(runs, tmp_path, capsys) -> None:
    (runs / "North" / "catalog.csv").write_text("sku\n")  # run.json recorded "aaa..." for it
    assert refusal(capsys, runs / "North", tmp_path / "erp" / "n.csv").startswith(
        "export refused: catalog.csv: changed after the run: SHA-256")


@pytest.mark.parametrize("extra, message", [
    pytest.param(["--valid-from", "1 Dec"], "bad input: --valid-from: must be a date YYYY-MM-DD, got '1 Dec'",
                 id="bad-date"),
    pytest.param(["--format", "xls"], "usage error: python -m pricing export: argument --format: invalid choice",
                 id="bad-format"),
])
def test_bad_usage_is_one_line(runs, tmp_path, capsys, extra, message) -> None:
    argv = ["export", "--run", str(runs / "North"), "--format", "csv", "--out", str(tmp_path / "erp" / "n.csv")]
    assert main(argv + extra) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1
    assert not (tmp_path / "erp").exists()


def test_a_run_without_a_period_needs_valid_from(tmp_path, capsys) -> None:
    market = south()
    market = type(market)("South", market.sheet, {k: v for k, v in market.record.items() if k != "period"}, None)
    folder = write_run_dir(tmp_path / "out", market)
    write_approval(folder, "approved", "wang.fang")
    out = tmp_path / "erp" / "s.csv"
    code, _, err = export(capsys, folder, out)
    assert code == 2 and "no period" in err and "--valid-from" in err and not out.exists()
    code, _, err = export(capsys, folder, out, "--valid-from", "2026-12-15")
    assert code == 0, err
    row = next(csv.DictReader(io.StringIO(out.read_text())))
    assert (row["valid_from"], row["valid_to"], row["market"]) == ("2026-12-15", "2026-12-31", "out")
