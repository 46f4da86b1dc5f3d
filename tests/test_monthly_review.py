"""Finance reviews the monthly run market by market: the library lists runs and markets, loads a
market, and an approval becomes that market's last approved sheet, which the next run reads."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from monthly_support import MONTH, make_data
from pricing.cli.main import main
from pricing.runs.inputs import last_sheet_path
from pricing.runs.review import ApprovalError, approve_market, list_runs, load_market


@pytest.fixture(scope="module")
def done(tmp_path_factory):
    root = tmp_path_factory.mktemp("review")
    data = make_data(root / "data")
    runs = root / "runs"
    args = ["monthly", "--month", MONTH, "--data", str(data), "--runs", str(runs), "--config",
            str(data / "settings.toml"), "--serial"]
    assert main(args) == 0
    return data, runs, args


def _copy(done, tmp_path):
    data, runs, args = done
    shutil.copytree(data, tmp_path / "data")
    shutil.copytree(runs, tmp_path / "runs")
    return tmp_path / "data", tmp_path / "runs", [a.replace(str(data), str(tmp_path / "data")).replace(
        str(runs), str(tmp_path / "runs")) for a in args]


def test_list_and_load(done):
    _data, runs, _args = done
    [run] = list_runs(runs)
    assert (run.month, run.revision, run.status) == (MONTH, 1, "complete")
    assert run.markets == {"R0": "written", "R1": "written", "R2": "written"}
    result = load_market(run.folder, "R1")
    assert result.intact and result.approval is None
    expected = pd.read_csv(run.folder / "R1" / "price_sheet.csv")
    assert list(result.sheet["price"]) == list(expected["price"])
    assert result.run["market"] == "R1"


def test_approval_becomes_the_markets_last_sheet_and_the_next_run_reads_it(done, tmp_path):
    data, runs, args = _copy(done, tmp_path)
    folder = runs / MONTH
    assert last_sheet_path(data, "R1") == data / "last_sheet.csv"
    written = approve_market(folder, "R1", data, "Li Na", "ok for November")
    assert written == data / "last_sheets" / "R1.csv"
    assert written.read_bytes() == (folder / "R1" / "price_sheet.csv").read_bytes()
    assert last_sheet_path(data, "R1") == written and last_sheet_path(data, "R0") == data / "last_sheet.csv"
    [run] = list_runs(runs)
    assert run.approved["R1"]["approver"] == "Li Na"
    # the next run sees a changed input (R1's last sheet) and writes a new revision that uses it
    assert main(args) == 0
    manifest = json.loads((folder / "revision-2" / "manifest.json").read_text())
    assert "last sheet of R1 (last_sheets/R1.csv)" in manifest["inputs"]
    run_record = json.loads((folder / "revision-2" / "R1" / "run.json").read_text())
    assert run_record["last_sheet"] == "last_sheets/R1.csv"
    sheet = pd.read_csv(folder / "revision-2" / "R1" / "price_sheet.csv")
    approved = pd.read_csv(written)
    same = set(sheet["skus"]) & set(approved["skus"])
    for skus in same:  # the stability rule now holds against the approved prices
        new = float(sheet.loc[sheet["skus"] == skus, "price"].iloc[0])
        old = float(approved.loc[approved["skus"] == skus, "price"].iloc[0])
        assert abs(new - old) <= 0.10 * old + 1e-6


@pytest.mark.parametrize("tamper, match", [
    pytest.param("sheet", "do not match the hashes", id="edited-sheet"),
    pytest.param("nobody", "needs the approver's name", id="no-approver"),
])
def test_approval_refused(done, tmp_path, tamper, match):
    data, runs, _args = _copy(done, tmp_path)
    folder = runs / MONTH
    approver = "Li Na"
    if tamper == "sheet":
        path = folder / "R0" / "price_sheet.csv"
        path.write_text(path.read_text().replace(",", ";", 1))
    else:
        approver = " "
    with pytest.raises(ApprovalError, match=match):
        approve_market(folder, "R0", data, approver)
    assert not (data / "last_sheets").exists()


def test_the_page_lists_markets_and_approves(done, tmp_path, monkeypatch):
    data, runs, _args = _copy(done, tmp_path)
    monkeypatch.setenv("BUNDLE_PRICING_RUNS", str(runs))
    monkeypatch.setenv("BUNDLE_PRICING_DATA", str(data))
    at = AppTest.from_string("from pages.monthly_runs import render\nrender()\n", default_timeout=60)
    at.run()
    assert not at.exception
    assert at.selectbox(key="monthly_market").options == ["R0 (written)", "R1 (written)", "R2 (written)"]
    at.selectbox(key="monthly_market").select("R2").run()
    assert len(at.dataframe) == 1
    at.text_input(key="approver_R2").input("Wang Fang")
    at.button[0].click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("is now R2's last approved sheet" in s.value for s in at.success)
    assert (data / "last_sheets" / "R2.csv").exists()
