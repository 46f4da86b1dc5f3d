"""The monthly run: refit and drift, every market with its own demand, versioned and resumable
folders, the lock, exit codes; and the fan-out on a local Dask cluster of two workers."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from models.demand import DemandModel
from pricing.runs.monthly.store import RESERVED_FOLDERS
from monthly_support import MONTH, make_data
from pricing.cli.main import main
from pricing.runs.monthly import market as market_module

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return make_data(tmp_path_factory.mktemp("monthly") / "data")


def _run(data: Path, runs: Path, *extra: str) -> int:
    return main(["monthly", "--month", MONTH, "--data", str(data), "--runs", str(runs),
                 "--config", str(data / "settings.toml"), *extra])


def _fresh(data: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(data, copy)
    return copy


def test_first_run_refits_checks_drift_and_writes_every_market(data, tmp_path, capsys):
    runs = tmp_path / "runs"
    assert _run(data, runs, "--serial", "--run-by", "li.lei") == 0
    out = capsys.readouterr().out
    month = runs / MONTH
    assert "refitting, because history.csv holds 2 month(s) the model has not seen (2024-11, 2024-12)" in out
    manifest = json.loads((month / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["model"]["refitted"] is True
    assert manifest["run_by"] == "li.lei"  # the reviewer who approves a market must be someone else
    assert set(manifest["markets"]) == {"R0", "R1", "R2"}
    assert (data / "model.json").read_bytes() != (month / "model" / "model.json").read_bytes()  # data folder untouched
    drift = json.loads((month / "drift.json").read_text())
    assert [d["market"] for d in drift] == ["R0", "R1", "R2"]
    r0 = drift[0]
    assert r0["months"] == ["2024-11", "2024-12"] and r0["bundles"] and r0["total"]["band_low"] <= r0["total"]["band_high"]
    assert sum(d["total"]["flagged"] for d in drift) <= 1  # the truth generated the data: rarely outside a 90% band
    refitted = DemandModel.from_json(month / "model" / "model.json")
    for market in ("R0", "R1", "R2"):
        folder = month / market
        assert {p.name for p in folder.iterdir()} == {"price_sheet.csv", "price_sheet.xlsx", "run.json", "market.json"}
        record = json.loads((folder / "run.json").read_text())
        assert record["market"] == market and record["buyers"] == manifest["markets"][market]["buyers"]
        # each market is priced with its own demand: the run's attach rate is the market model's
        own = refitted.for_market(market)
        assert own.intercepts[0] == pytest.approx(refitted.intercepts[0] + refitted.segments[0].market_intercepts[market])
    book = openpyxl.load_workbook(month / f"finance_{MONTH}.xlsx")
    assert book.sheetnames == ["Cover", "Changes R0", "Changes R1", "Changes R2", "Exceptions", "Definitions",
                               "Bundles R0", "Bundles R1", "Bundles R2", "Settings"]
    cover = book["Cover"]
    assert cover["A2"].value == "DRAFT" and "DRAFT" in cover.oddHeader.center.text
    assert cover["B4"].value == MONTH  # the period
    assert "li.lei" in [c.value for row in cover.iter_rows() for c in row]
    for market in ("R0", "R1", "R2"):  # the prices in force are the ones the run read, kept with the run
        assert (month / "in_force" / f"{market}.csv").read_bytes() == (data / "last_sheet.csv").read_bytes()
        assert json.loads((month / market / "run.json").read_text())["period"] == MONTH
    assert "R0: written" in out and out.count(": written") >= 3


def test_markets_differ_by_their_buyers_and_demand(data, tmp_path):
    runs = tmp_path / "runs"
    assert _run(data, runs, "--serial") == 0
    margins = {}
    for market in ("R0", "R1", "R2"):
        record = json.loads((runs / MONTH / market / "run.json").read_text())
        margins[market] = record["margin"] / record["buyers"]
    assert len({round(v, 6) for v in margins.values()}) == 3  # per-buyer margins differ: own demand each


def test_same_inputs_change_nothing_and_changed_inputs_make_a_revision(data, tmp_path, capsys):
    data = _fresh(data, tmp_path)
    runs = tmp_path / "runs"
    assert _run(data, runs, "--serial") == 0
    before = {p: p.stat().st_mtime_ns for p in (runs / MONTH).rglob("*") if p.is_file() and p.name != "run.log"}
    capsys.readouterr()
    assert _run(data, runs, "--serial") == 0
    assert "nothing changed" in capsys.readouterr().out
    after = {p: p.stat().st_mtime_ns for p in (runs / MONTH).rglob("*") if p.is_file() and p.name != "run.log"}
    assert after == before
    volumes = pd.read_csv(data / "volumes.csv", dtype=str)
    volumes.loc[0, "buyers"] = "9999"
    volumes.to_csv(data / "volumes.csv", index=False)
    assert _run(data, runs, "--serial") == 0
    assert (runs / MONTH / "revision-2" / "R0" / "run.json").exists()
    assert json.loads((runs / MONTH / "revision-2" / "R0" / "run.json").read_text())["buyers"] == 9999
    assert {p: p.stat().st_mtime_ns for p in before} == before  # revision 1 never rewritten


def test_a_missing_market_folder_is_the_only_one_redone(data, tmp_path, capsys):
    runs = tmp_path / "runs"
    assert _run(data, runs, "--serial") == 0
    kept = (runs / MONTH / "R0" / "market.json").stat().st_mtime_ns
    shutil.rmtree(runs / MONTH / "R1")
    (runs / MONTH / ".R2.deadbeef.part").mkdir()  # what a kill mid-write leaves
    capsys.readouterr()
    assert _run(data, runs, "--serial") == 0
    out = capsys.readouterr().out
    assert "resuming revision 1" in out and "2 market(s) already written are kept" in out
    assert "Removed 1 half-written market folder" in out
    assert (runs / MONTH / "R1" / "price_sheet.csv").exists()
    assert (runs / MONTH / "R0" / "market.json").stat().st_mtime_ns == kept
    assert not list((runs / MONTH).glob(".*.part"))


def test_a_failed_market_does_not_stop_the_others_and_is_retried(data, tmp_path, capsys, monkeypatch):
    runs = tmp_path / "runs"
    real = market_module._solve

    def flaky(job, start):
        if job.market == "R1":
            raise RuntimeError("disk on fire")
        return real(job, start)

    monkeypatch.setattr(market_module, "_solve", flaky)
    assert _run(data, runs, "--serial") == 1
    out = capsys.readouterr().out
    assert "R1: FAILED, no sheet (failed: RuntimeError: disk on fire)" in out
    assert (runs / MONTH / "R0" / "run.json").exists() and not (runs / MONTH / "R1").exists()
    manifest = json.loads((runs / MONTH / "manifest.json").read_text())
    assert manifest["status"] == "incomplete" and manifest["markets"]["R1"]["status"] == "failed"
    monkeypatch.setattr(market_module, "_solve", real)
    assert _run(data, runs, "--serial") == 0
    assert json.loads((runs / MONTH / "manifest.json").read_text())["status"] == "complete"


def test_unreachable_targets_exit_3_naming_the_highest_rate(data, tmp_path, capsys):
    runs = tmp_path / "runs"
    assert _run(data, runs, "--serial", "--attach-target", "0.95") == 3
    summary = capsys.readouterr().out.split("Summary of")[1]
    assert summary.count("TARGET UNREACHABLE, no sheet: the highest reachable attach rate is") == 3
    record = json.loads((runs / MONTH / "R0" / "market.json").read_text())
    assert record["status"] == "target_unreachable" and 0 < record["best_attach"] < 0.95
    assert not (runs / MONTH / "R0" / "price_sheet.csv").exists()


@pytest.mark.parametrize("args, match", [
    pytest.param(["--month", "2025-13"], "--month: must be a month as YYYY-MM", id="bad-month"),
    pytest.param(["--month", "2030-01"], "volumes.csv.*no markets for 2030-01", id="month-not-in-volumes"),
    pytest.param(["--month", MONTH, "--markets", "Mars"], "Mars not in volumes.csv", id="unknown-market"),
    pytest.param(["--month", MONTH, "--buyers", "5"], "each market's buyers from volumes.csv", id="buyers-flag"),
    pytest.param(["--month", MONTH, "--scheduler", "tcp://127.0.0.1:1"], "--scheduler: no Dask scheduler answers",
                 id="no-scheduler"),
])
def test_bad_input_is_one_line_exit_2_and_nothing_written(data, tmp_path, capsys, args, match):
    runs = tmp_path / "runs"
    serial = [] if "--scheduler" in args else ["--serial"]
    code = main(["monthly", "--data", str(data), "--runs", str(runs), *serial, *args])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    import re
    assert re.search(match, err), err
    assert not any(p.is_file() for p in runs.rglob("*")) if runs.exists() else True


def test_a_second_run_of_the_month_is_locked_out_and_a_stale_lock_is_taken_over(data, tmp_path, capsys):
    runs = tmp_path / "runs"
    (runs / MONTH).mkdir(parents=True)
    lock = runs / MONTH / ".lock"
    lock.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started_at": "now"}))
    assert _run(data, runs, "--serial") == 2
    err = capsys.readouterr().err
    assert f"another monthly run of {MONTH} is running (pid {os.getpid()}" in err
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock.write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname(), "started_at": "earlier"}))
    assert _run(data, runs, "--serial") == 0
    assert "took over a stale lock" in capsys.readouterr().out
    assert not lock.exists()


def test_killed_mid_run_the_next_run_finishes_only_the_missing_markets(tmp_path):
    data = make_data(tmp_path / "data", markets=3, seed=9, extra_markets=9)
    runs = tmp_path / "runs"
    command = [sys.executable, "-m", "pricing", "monthly", "--month", MONTH, "--data", str(data),
               "--runs", str(runs), "--config", str(data / "settings.toml"), "--serial"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600  # generous: a loaded machine writes a market every few seconds
    while time.monotonic() < deadline and not list((runs / MONTH).glob("[!.]*/market.json")):
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    first = {p.parent.name: p.read_bytes() for p in (runs / MONTH).glob("*/market.json")
             if not p.parent.name.startswith(".")}
    assert 1 <= len(first) < 12, "the run must be killed mid-way"
    for folder in (p for p in (runs / MONTH).iterdir()
                   if p.is_dir() and not p.name.startswith(".") and p.name not in RESERVED_FOLDERS):
        assert (folder / "market.json").exists()  # whole folders only
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode in (0, 3), result.stderr  # 3: a market whose target the rules cannot reach
    assert f"{len(first)} market(s) already written are kept" in result.stdout, result.stdout[:600]
    after = {p.parent.name: p.read_bytes() for p in (runs / MONTH).glob("*/market.json")
             if not p.parent.name.startswith(".")}
    assert len(after) == 12 and all(after[m] == first[m] for m in first)


def test_on_a_local_dask_cluster_of_two_workers(data, tmp_path, capsys):
    runs = tmp_path / "runs"
    assert _run(data, runs, "--workers", "2") == 0
    manifest = json.loads((runs / MONTH / "manifest.json").read_text())
    assert manifest["executor"] == "local Dask cluster, 2 worker processes"
    serial = tmp_path / "serial"
    assert _run(data, serial, "--serial") == 0
    for market in ("R0", "R1", "R2"):  # the same answers as in this process
        a = pd.read_csv(runs / MONTH / market / "price_sheet.csv")
        b = pd.read_csv(serial / MONTH / market / "price_sheet.csv")
        pd.testing.assert_frame_equal(a, b)
    assert np.isfinite(manifest["markets"]["R0"]["margin"])


def test_a_model_missing_an_active_sku_is_bad_input_before_anything_runs(data, tmp_path, capsys):
    data = _fresh(data, tmp_path)
    raw = json.loads((data / "model.json").read_text())
    for segment in raw["segments"]:
        segment["appeal"].pop("S03")
    (data / "model.json").write_text(json.dumps(raw))
    assert _run(data, tmp_path / "runs", "--serial") == 2
    assert "model.json" in capsys.readouterr().err and not (tmp_path / "runs").exists()


def test_drift_flags_a_bundle_whose_take_up_collapsed(data):
    """Take-up drawn from the truth stays in the band; the same bundle with nobody taking it is
    flagged below the band, in words."""
    from models.history import History
    from pricing.domain.catalog import Catalog
    from pricing.runs.monthly.drift import check_drift
    from pricing.runs.monthly.inputs import sheet_bundles

    catalog = Catalog.from_csv(data / "catalog.csv")
    model = DemandModel.from_json(data / "model.json")
    frame = pd.read_csv(data / "history.csv", dtype=str)
    sheet = sheet_bundles(data / "last_sheet.csv", catalog)
    history = History.from_frame(frame, catalog.skus)
    honest = check_drift("R0", history, model, catalog, sheet, "last_sheet.csv")
    assert honest.months == ("2024-11", "2024-12") and len(honest.lines) == len(sheet)
    key, (bundle_id, _price) = next(iter(sheet.items()))
    target = "|".join(sorted(key))
    collapsed = frame.copy()
    rows = (collapsed["region"] == "R0") & (collapsed["month"] >= "2024-11") & \
        (collapsed["skus"].map(lambda s: "|".join(sorted(s.split("|")))) == target)
    collapsed.loc[rows, "taken"] = "0"
    drift = check_drift("R0", History.from_frame(collapsed, catalog.skus), model, catalog, sheet, "last_sheet.csv")
    line = next(d for d in drift.lines if d.label.startswith(f"bundle {bundle_id} "))
    assert line.actual == 0 and line.low > 0 and line.flagged
    assert "BELOW the band: fewer buyers than the model expects" in drift.text()
    assert "read the flagged lines before approving" in drift.text()
    none_new = check_drift("R0", history.select_months(["2024-05", "2024-06"]), model, catalog, sheet, "x")
    assert "no take-up arrived since the model was fitted" in none_new.text()
