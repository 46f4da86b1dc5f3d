"""Finance reviews the monthly run market by market as the signed-in reviewer: the library lists
runs and markets, loads a market, and a decision goes through the store's approvals (role, four
eyes, comment, trail); an approval becomes that market's last approved sheet, which the next run
reads, and its ``approval.json`` lets the ERP export through; the rebuilt workbook shows it."""

from __future__ import annotations

import csv
import io
import json
import shutil
import threading

import openpyxl
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from monthly_support import MONTH, make_data
from models.errors import InputError
from pricing.access import AccessDenied, Approvals, FourEyesViolation, Operator, StaleReview, UserDirectory, verify
from pricing.access.database import STORE_ENV
from pricing.cli.main import main
from pricing.files.approval import approval_of
from pricing.runs.monthly.inputs import last_sheet_path
from pricing.runs.monthly.review import ApprovalError, decide_market, list_runs, load_market
from pricing.runs.monthly.workbook import month_workbook
from tests.fast_hashing import fast_hashing  # noqa: F401  (a fixture)

PASSWORD = "a good phrase 123"
PEOPLE = {"viewer": "zhao.yun", "manager": "li.lei", "finance": "wang.fang", "finance2": "chen.jie"}


@pytest.fixture(scope="module")
def done(tmp_path_factory):
    root = tmp_path_factory.mktemp("review")
    data = make_data(root / "data")
    runs = root / "runs"
    args = ["monthly", "--month", MONTH, "--data", str(data), "--runs", str(runs), "--config",
            str(data / "settings.toml"), "--serial"]
    assert main(args) == 0
    return data, runs, args


@pytest.fixture
def copy(done, tmp_path, monkeypatch, fast_hashing):
    """A copy of the run and its data, and a fresh store with one person per role."""
    data, runs, args = done
    shutil.copytree(data, tmp_path / "data")
    shutil.copytree(runs, tmp_path / "runs")
    monkeypatch.setenv(STORE_ENV, str(tmp_path / "store"))
    monkeypatch.setenv("BUNDLE_PRICING_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("BUNDLE_PRICING_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("BUNDLE_PRICING_ACCESS_CONFIG", raising=False)
    users = UserDirectory()
    for role, name in PEOPLE.items():
        users.add(name, role.rstrip("2"), PASSWORD, Operator("test"), must_change=False)
    people = {role: users.identity(name) for role, name in PEOPLE.items()}
    new_args = [a.replace(str(data), str(tmp_path / "data")).replace(str(runs), str(tmp_path / "runs")) for a in args]
    return tmp_path / "data", tmp_path / "runs" / MONTH, new_args, people, Approvals(tmp_path / "store")


def test_list_and_load(done):
    _data, runs, _args = done
    [run] = list_runs(runs)
    assert (run.month, run.revision, run.status) == (MONTH, 1, "complete")
    assert run.markets == {"R0": "written", "R1": "written", "R2": "written"}
    result = load_market(run.folder, "R1")
    assert result.intact and result.approval is None
    expected = pd.read_csv(run.folder / "R1" / "price_sheet.csv")
    assert list(result.sheet["price"]) == list(expected["price"])
    assert result.run["market"] == "R1" and result.run["period"] == MONTH


def test_approval_publishes_the_markets_last_sheet_export_accepts_it_and_the_next_run_reads_it(copy, tmp_path):
    data, folder, args, people, approvals = copy
    assert last_sheet_path(data, "R1") == data / "last_sheet.csv"
    made = decide_market(folder, "R1", data, "approved", people["finance"], "ok for January", approvals)
    written = data / "last_sheets" / "R1.csv"
    assert made.decision.written_to == str(written.absolute())
    assert written.read_bytes() == (folder / "R1" / "price_sheet.csv").read_bytes()
    assert last_sheet_path(data, "R1") == written and last_sheet_path(data, "R0") == data / "last_sheet.csv"
    record = json.loads((folder / "approvals" / "R1.json").read_text())
    assert (record["decision"], record["actor"], record["role"], record["comment"]) == \
        ("approved", "wang.fang", "finance", "ok for January")
    assert record["trail_entry"] == made.decision.audit_seq and record["written_to"] == str(written.absolute())
    state = approval_of(folder / "R1")
    assert (state.state, state.by, state.sheet_sha256) == ("approved", "wang.fang", record["sheet_sha256"])
    [run] = list_runs(folder.parent, approvals)
    assert run.approved["R1"]["decision"] == "approved" and not run.notes
    # the ERP export accepts the approved market, refuses an undecided one
    assert main(["export", "--run", str(folder / "R1"), "--format", "sap", "--out", str(tmp_path / "r1.csv")]) == 0
    rows = list(csv.DictReader(io.StringIO((tmp_path / "r1.csv").read_text())))
    sheet = pd.read_csv(folder / "R1" / "price_sheet.csv")
    assert sorted(float(r["KBETR"]) for r in rows) == pytest.approx(sorted(sheet["price"]))
    assert {r["DATAB"] for r in rows} == {"20250101"} and {r["ACTION"] for r in rows} == {"create"}
    assert main(["export", "--run", str(folder / "R0"), "--format", "csv", "--out", str(tmp_path / "r0.csv")]) == 2
    assert not (tmp_path / "r0.csv").exists()
    # the rebuilt workbook shows the decision on its cover; the month is still a draft (R0, R2 undecided)
    book = openpyxl.load_workbook(io.BytesIO(month_workbook(folder)))
    cover = book["Cover"]
    row = next(r for r in range(1, cover.max_row + 1) if cover.cell(r, 1).value == "Approval of this market")
    heads = {cover.cell(row - 2, c).value: c for c in range(2, 5)}
    assert cover.cell(row, heads["R1"]).value.startswith("Approved by wang.fang")
    assert cover.cell(row, heads["R0"]).value.startswith("Draft")
    assert cover["A2"].value == "DRAFT"
    # the trail holds
    assert main(["audit", "--store", str(approvals.folder), "verify"]) == 0
    # the next run sees a changed input (R1's last sheet) and writes a new revision that uses it
    assert main(args) == 0
    manifest = json.loads((folder / "revision-2" / "manifest.json").read_text())
    assert "last sheet of R1 (last_sheets/R1.csv)" in manifest["inputs"]
    assert json.loads((folder / "revision-2" / "R1" / "run.json").read_text())["last_sheet"] == "last_sheets/R1.csv"
    assert (folder / "revision-2" / "in_force" / "R1.csv").read_bytes() == written.read_bytes()
    sheet = pd.read_csv(folder / "revision-2" / "R1" / "price_sheet.csv")
    approved = pd.read_csv(written)
    for skus in set(sheet["skus"]) & set(approved["skus"]):  # the stability rule holds against the approval
        new = float(sheet.loc[sheet["skus"] == skus, "price"].iloc[0])
        old = float(approved.loc[approved["skus"] == skus, "price"].iloc[0])
        assert abs(new - old) <= 0.10 * old + 1e-6


def test_every_market_approved_makes_the_rebuilt_workbook_approved(copy):
    data, folder, _args, people, approvals = copy
    before = month_workbook(folder)
    for market in ("R0", "R1", "R2"):
        decide_market(folder, market, data, "approved", people["finance"], f"{market} fine", approvals)
    book = openpyxl.load_workbook(io.BytesIO(month_workbook(folder)))
    assert book["Cover"]["A2"].value == "APPROVED"
    assert "DRAFT" not in book["Changes R0"].oddHeader.center.text
    # the prices in force are the ones the run read, not the sheets just approved
    old = openpyxl.load_workbook(io.BytesIO(before))["Changes R0"]
    new = book["Changes R0"]
    column = [c.value for c in new[4]].index("Price in force") + 1
    assert [new.cell(r, column).value for r in range(5, new.max_row)] == \
        [old.cell(r, column).value for r in range(5, old.max_row)]


def test_rejection_needs_a_comment_and_publishes_nothing(copy, tmp_path):
    data, folder, _args, people, approvals = copy
    with pytest.raises(InputError, match="say why it is rejected"):
        decide_market(folder, "R0", data, "rejected", people["finance"], "  ", approvals)
    assert approvals.history() == []
    made = decide_market(folder, "R0", data, "rejected", people["finance"], "margin too thin", approvals)
    assert made.decision.written_to is None and not (data / "last_sheets" / "R0.csv").exists()
    assert approval_of(folder / "R0").state == "rejected"
    assert main(["export", "--run", str(folder / "R0"), "--format", "csv", "--out", str(tmp_path / "r0.csv")]) == 2
    assert not (tmp_path / "r0.csv").exists()


@pytest.mark.parametrize("who, error, match", [
    pytest.param("manager", AccessDenied, "approve or reject", id="manager"),
    pytest.param("viewer", AccessDenied, "approve or reject", id="viewer"),
    pytest.param("finance", FourEyesViolation, "four eyes", id="self-approval"),
])
def test_decision_refused_without_the_finance_role_or_on_ones_own_run(copy, who, error, match):
    data, folder, _args, people, approvals = copy
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["run_by"] = "wang.fang"  # the finance reviewer ran this month
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(error, match=match):
        decide_market(folder, "R0", data, "approved", people[who], "looks fine", approvals)
    assert approvals.history() == [] and not (folder / "R0" / "approval.json").exists()
    assert not (data / "last_sheets" / "R0.csv").exists()
    if who == "finance":  # another finance reviewer may
        decide_market(folder, "R0", data, "approved", people["finance2"], "looks fine", approvals)
        assert approval_of(folder / "R0").by == "chen.jie"


@pytest.mark.parametrize("tamper, error, match", [
    pytest.param("sheet", ApprovalError, "do not match the hashes", id="edited-sheet"),
    pytest.param("stale", StaleReview, "saved again", id="stale-review"),
])
def test_decision_refused_on_changed_files(copy, tamper, error, match):
    data, folder, _args, people, approvals = copy
    expected = None
    if tamper == "sheet":
        path = folder / "R0" / "price_sheet.csv"
        path.write_text(path.read_text().replace(",", ";", 1))
    else:
        expected = "0" * 64
    with pytest.raises(error, match=match):
        decide_market(folder, "R0", data, "approved", people["finance"], "ok", approvals, expected)
    assert approvals.history() == [] and not (data / "last_sheets" / "R0.csv").exists()


def test_a_decision_whose_files_were_not_written_is_repaired_by_list_runs(copy):
    data, folder, _args, people, approvals = copy
    decide_market(folder, "R2", data, "approved", people["finance"], "ok", approvals)
    (folder / "R2" / "approval.json").unlink()  # as if killed between the commit and the files
    (folder / "approvals" / "R2.json").unlink()
    (data / "last_sheets" / "R2.csv").unlink()
    [run] = list_runs(folder.parent, approvals)
    assert run.notes and "R2: rewrote approvals/R2.json, R2/approval.json" in run.notes[0]
    assert run.approved["R2"]["actor"] == "wang.fang" and approval_of(folder / "R2").is_approved
    assert (data / "last_sheets" / "R2.csv").read_bytes() == (folder / "R2" / "price_sheet.csv").read_bytes()
    assert not list_runs(folder.parent, approvals)[0].notes


def test_two_market_approvals_racing_are_both_recorded_and_consistent(copy):
    data, folder, _args, people, approvals = copy
    errors, barrier = [], threading.Barrier(4)

    def approve(market: str, who: str) -> None:
        barrier.wait()
        try:
            decide_market(folder, market, data, "approved", people[who], f"{who} on {market}", approvals)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=approve, args=(m, w)) for m in ("R0", "R1") for w in ("finance", "finance2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    history = approvals.history()
    assert len(history) == 4
    for market in ("R0", "R1"):
        newest = next(d for d in history if d.subject.endswith(f"/{market}"))
        record = json.loads((folder / "approvals" / f"{market}.json").read_text())
        assert (record["approval_id"], record["actor"]) == (newest.id, newest.actor)
        assert approval_of(folder / market).by == newest.actor
        assert (data / "last_sheets" / f"{market}.csv").read_bytes() == (folder / market / "price_sheet.csv").read_bytes()
    assert verify(approvals.folder).intact


def _signed_in_page(name: str) -> AppTest:
    at = AppTest.from_string("from pages.monthly_runs import render\nrender()\n", default_timeout=120)
    at.run()
    at.text_input(key="signin_user").input(name)
    at.text_input(key="signin_password").input(PASSWORD)
    next(b for b in at.button if b.label == "Sign in").click()
    at.run()
    assert not at.exception, at.exception
    return at


def _click(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click()
    at.run()
    assert not at.exception, at.exception
    return at


def test_the_page_finance_approves_then_exports(copy):
    data, _folder, _args, _people, _approvals = copy
    at = _signed_in_page("wang.fang")
    assert at.title[0].value == "Monthly runs"
    assert at.selectbox(key="monthly_market").options == ["R0 (written)", "R1 (written)", "R2 (written)"]
    assert [b.label for b in at.get("download_button")] == [f"Finance workbook {MONTH} (.xlsx)"]
    assert not at.text_input and "Only an approved sheet is exported" in " ".join(c.value for c in at.caption)
    at.selectbox(key="monthly_market").select("R2").run()
    at.text_area(key="comment_R2").input("fine for January")
    _click(at, "Approve")
    assert not at.error, [e.value for e in at.error]
    assert any("is now its last approved sheet" in s.value for s in at.success)
    assert (data / "last_sheets" / "R2.csv").exists()
    assert at.selectbox(key="monthly_market").options[2] == "R2 (written, approved)"
    labels = [b.label for b in at.get("download_button")]
    assert labels == [f"Finance workbook {MONTH} (.xlsx)", "Records (csv)", "Components", "Records in force after"]
    at.selectbox(key="erp_format_R2").select("d365").run()
    assert "Records (d365)" in [b.label for b in at.get("download_button")]


@pytest.mark.parametrize("role", ["viewer", "manager"])
def test_the_page_lets_others_read_but_not_decide(copy, role):
    data, folder, _args, people, approvals = copy
    decide_market(folder, "R1", data, "approved", people["finance"], "ok", approvals)
    at = _signed_in_page(PEOPLE[role])
    assert not at.exception and not at.error
    assert not at.text_area and not [b for b in at.button if b.label in ("Approve", "Reject")]
    assert [b.label for b in at.get("download_button")] == [f"Finance workbook {MONTH} (.xlsx)"]  # R0: not approved
    at.selectbox(key="monthly_market").select("R1").run()
    assert "Records (csv)" in [b.label for b in at.get("download_button")]  # an approved sheet exports


def test_the_page_pauses_decisions_when_the_trail_is_broken(copy):
    data, folder, _args, people, approvals = copy
    decide_market(folder, "R1", data, "approved", people["finance"], "ok", approvals)
    import sqlite3

    con = sqlite3.connect(approvals.folder / "store.sqlite")
    con.execute("UPDATE audit SET actor = 'someone' WHERE seq = (SELECT MAX(seq) FROM audit)")
    con.commit()
    con.close()
    at = _signed_in_page("wang.fang")
    assert any("BROKEN" in e.value for e in at.error)
    assert all(b.disabled for b in at.button if b.label in ("Approve", "Reject"))


def test_markets_without_a_sheet_are_on_the_exceptions_sheet(copy):
    _data, folder, _args, _people, _approvals = copy
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["markets"]["R1"] = {"status": "failed", "message": "failed: the task was lost", "folder": None}
    manifest["markets"]["R2"] = {"status": "target_unreachable", "best_attach": 0.0042, "folder": "R2",
                                 "message": "the rules reach at most 0.42%"}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    shutil.rmtree(folder / "R1")
    (folder / "R2" / "price_sheet.csv").unlink()
    book = openpyxl.load_workbook(io.BytesIO(month_workbook(folder)))
    assert [n for n in book.sheetnames if n.startswith("Changes")] == ["Changes"]  # R0 alone has a sheet
    ws = book["Exceptions"]
    rows = {ws.cell(r, 1).value: [ws.cell(r, c).value for c in range(2, 7)] for r in range(5, ws.max_row + 1)}
    assert rows["R2"][:4] == ["", "No sheet: target unreachable", 0.0042, 0.01]
    assert "0.42%" in rows["R2"][4]
    assert rows["R1"][1:4] == ["No sheet: the market failed", "failed", "a sheet"]
    definitions = [c.value for c in book["Definitions"]["A"]]
    assert "No sheet: target unreachable" in definitions and "No sheet: the market failed" in definitions
