"""The scenario store: saved scenarios survive a restart with who saved them; decisions are kept with
the signed-in reviewer, when and why; only finance decides, never on their own scenario; an approval
writes last_sheet.csv whole, in the sheet format the optimizer reads back; the store is private."""

import sqlite3
import stat

import pytest

from models.errors import InputError
from pricing.access import AccessDenied, FourEyesViolation, Identity, Role, StaleReview, verify
from pricing.app.scenarios import STORE_ENV, ScenarioStore, default_store_dir
from pricing.domain.catalog import Catalog
from pricing.domain.last_sheet import read_last_prices
from tests.conftest import DATA

SHEET = (DATA / "last_sheet.csv").read_text()
NEW_SHEET = SHEET.replace(",2949,", ",2899,")
LI = Identity("li.lei", Role.MANAGER)
WANG = Identity("wang.fang", Role.FINANCE)


def _save(store, name="base", sheet=SHEET, actor=LI):
    return store.save(name, {"attach_rate": 0.15, "pinned": ["CAR-DC-4K"]}, {"target": {"attach_rate": 0.15}},
                      {"margin": 1234.5, "attach_rate": 0.151}, sheet, "/some/data", actor)


def test_saved_scenarios_survive_a_restart(tmp_path):
    _save(ScenarioStore(tmp_path))
    _save(ScenarioStore(tmp_path), "cheaper", NEW_SHEET)
    reopened = ScenarioStore(tmp_path)
    assert reopened.names() == ["cheaper", "base"]
    scenario = reopened.load("base")
    assert scenario.controls == {"attach_rate": 0.15, "pinned": ["CAR-DC-4K"]}
    assert scenario.summary == {"margin": 1234.5, "attach_rate": 0.151}
    assert scenario.sheet_csv == SHEET
    assert scenario.saved_by == "li.lei"
    assert scenario.sheet["price"].tolist() == [2949, 1239, 2349, 2689, 3949]
    assert scenario.sheet["skus"].iloc[0] == "CAR-DC-4K|CAR-WLC-50|HOME-EVC-7|HUM-BAND-9"


def test_saving_a_name_again_replaces_it(tmp_path):
    store = ScenarioStore(tmp_path)
    _save(store)
    _save(store, "base", NEW_SHEET)
    assert store.names() == ["base"]
    assert store.load("base").sheet_csv == NEW_SHEET


@pytest.mark.parametrize("call, error, message", [
    pytest.param(lambda s: s.save("  ", {}, {}, {}, SHEET, None, LI), InputError, "scenario name: must not be empty",
                 id="empty-name"),
    pytest.param(lambda s: s.load("nope"), InputError, "scenario: no saved scenario named 'nope'", id="unknown"),
    pytest.param(lambda s: s.decide("base", "rejected", WANG, "  "), InputError,
                 "comment: must not be empty: say why it is rejected", id="no-comment"),
    pytest.param(lambda s: s.decide("base", "maybe", WANG, "ok"), InputError,
                 "decision: must be one of approved, rejected", id="decision"),
    pytest.param(lambda s: s.decide("base", "approved", WANG, "ok"), InputError, "approval: needs the data folder",
                 id="no-folder"),
    pytest.param(lambda s: s.decide("nope", "rejected", WANG, "no"), InputError, "no saved scenario named 'nope'",
                 id="unknown-scenario"),
    pytest.param(lambda s: s.decide("base", "approved", "Wang Fang", "ok", s.folder), AccessDenied,
                 "signed-in identity required", id="typed-name"),
    pytest.param(lambda s: s.decide("base", "approved", Identity("zhao", Role.MANAGER), "ok", s.folder), AccessDenied,
                 "zhao has the role manager; only finance may approve or reject", id="manager-approves"),
    pytest.param(lambda s: s.decide("base", "rejected", Identity("root", Role.ADMIN), "no"), AccessDenied,
                 "only finance may", id="admin-rejects"),
    pytest.param(lambda s: s.decide("base", "approved", Identity("li.lei", Role.FINANCE), "mine", s.folder),
                 FourEyesViolation, "four eyes: li.lei saved scenario 'base' and may not approve it", id="own-scenario"),
    pytest.param(lambda s: s.decide("base", "approved", WANG, "ok", s.folder, "0" * 64), StaleReview,
                 "was saved again after you opened it", id="stale-review"),
    pytest.param(lambda s: s.save("x", {}, {}, {}, SHEET, None, WANG), AccessDenied,
                 "wang.fang has the role finance; only manager may run what-ifs", id="finance-saves"),
])
def test_bad_requests_are_refused_and_nothing_is_recorded(tmp_path, call, error, message):
    store = ScenarioStore(tmp_path)
    _save(store)
    with pytest.raises(error, match=message):
        call(store)
    assert store.history() == []
    assert store.names() == ["base"]
    assert verify(tmp_path).intact


def test_approval_writes_the_last_sheet_and_is_kept_with_who_when_why(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "last_sheet.csv").write_text(SHEET)
    store = ScenarioStore(tmp_path / "store")
    _save(store, "cheaper", NEW_SHEET)
    rejected = store.decide("cheaper", "rejected", WANG, "B1 too cheap", data)
    assert rejected.written_to is None
    assert (data / "last_sheet.csv").read_text() == SHEET
    approved = store.decide("cheaper", "approved", WANG, "fine after all", data,
                            store.load("cheaper").sheet_sha256)
    assert approved.written_to == str(data / "last_sheet.csv")
    assert (data / "last_sheet.csv").read_text() == NEW_SHEET
    assert sorted(p.name for p in data.iterdir()) == ["last_sheet.csv"]  # no half-written file left
    catalog = Catalog.from_csv(DATA / "catalog.csv")
    prices = read_last_prices(data / "last_sheet.csv", catalog)
    assert prices[frozenset({"CAR-DC-4K", "CAR-WLC-50", "HOME-EVC-7", "HUM-BAND-9"})] == 2899.0
    history = ScenarioStore(tmp_path / "store").history()
    assert [(d.subject, d.decision, d.actor, d.actor_role, d.saved_by, d.comment) for d in history] == [
        ("cheaper", "approved", "wang.fang", "finance", "li.lei", "fine after all"),
        ("cheaper", "rejected", "wang.fang", "finance", "li.lei", "B1 too cheap")]
    assert history[0].decided_at.endswith("+00:00")
    assert store.last_approved() == history[0]
    report = verify(tmp_path / "store")
    assert report.intact and report.entries == 3  # the save and two decisions


def test_store_folder_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(STORE_ENV, str(tmp_path / "elsewhere"))
    assert default_store_dir() == tmp_path / "elsewhere"
    assert ScenarioStore().path == tmp_path / "elsewhere" / "store.sqlite"
    monkeypatch.delenv(STORE_ENV)
    assert default_store_dir().name == "scenarios"


def test_the_store_is_readable_by_its_owner_only(tmp_path):
    store = ScenarioStore(tmp_path / "new" / "store")
    _save(store)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.folder.stat().st_mode) == 0o700


def test_a_sheet_the_catalog_cannot_read_is_not_approved(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "catalog.csv").write_text((DATA / "catalog.csv").read_text())
    (data / "last_sheet.csv").write_text(SHEET)
    store = ScenarioStore(tmp_path / "store")
    _save(store, "uploaded", SHEET.replace("HOME-EVC-7|HUM-BAND-9,", "HOME-EVC-7|HUM-BAND-10,", 1))
    with pytest.raises(InputError, match=r"last_sheet.csv row 2, column skus: unknown SKU 'HUM-BAND-10'"):
        store.decide("uploaded", "approved", WANG, "ok", data)
    assert (data / "last_sheet.csv").read_text() == SHEET
    assert store.history() == []


@pytest.mark.parametrize("edit", [
    pytest.param("UPDATE scenarios SET saved_by = 'someone.else'", id="saver-renamed"),
    pytest.param("UPDATE scenarios SET saved_by = NULL", id="saver-erased"),
    pytest.param(f"UPDATE scenarios SET sheet_csv = '{NEW_SHEET}'", id="sheet-swapped"),
])
def test_a_scenario_edited_behind_the_apps_back_is_not_approved(tmp_path, edit):
    """Four eyes cannot be dodged by editing who saved it, nor the sheet swapped after the save."""
    data = tmp_path / "data"
    data.mkdir()
    store = ScenarioStore(tmp_path / "store")
    _save(store, "mine", SHEET, Identity("wang.fang", Role.MANAGER))  # saved while a manager
    with sqlite3.connect(store.path) as con:
        con.execute(edit)
    with pytest.raises(AccessDenied, match="does not match its entry in the audit trail"):
        store.decide("mine", "approved", WANG, "ok", data)
    assert store.history() == [] and not (data / "last_sheet.csv").exists()


def test_decisions_typed_before_sign_in_are_kept_marked_unverified(tmp_path):
    """A store written by the version before sign-in: its scenarios and typed decisions carry over,
    the decisions marked unverified and sealed into the trail."""
    with sqlite3.connect(tmp_path / "store.sqlite") as con:
        con.executescript("""
            CREATE TABLE scenarios (name TEXT PRIMARY KEY, created_at TEXT NOT NULL, controls TEXT NOT NULL,
                settings TEXT NOT NULL, summary TEXT NOT NULL, sheet_csv TEXT NOT NULL, data_dir TEXT);
            CREATE TABLE decisions (id INTEGER PRIMARY KEY AUTOINCREMENT, scenario TEXT NOT NULL, decision TEXT NOT NULL,
                reviewer TEXT NOT NULL, comment TEXT NOT NULL, decided_at TEXT NOT NULL, sheet_csv TEXT NOT NULL,
                written_to TEXT);""")
        con.execute("INSERT INTO scenarios VALUES ('old', '2026-10-01T00:00:00+00:00', '{}', '{}', '{}', ?, NULL)", (SHEET,))
        con.execute("INSERT INTO decisions (scenario, decision, reviewer, comment, decided_at, sheet_csv, written_to) "
                    "VALUES ('old', 'approved', 'Wang Fang', 'ok', '2026-10-02T00:00:00+00:00', ?, '/d/last_sheet.csv')",
                    (SHEET,))
    store = ScenarioStore(tmp_path)
    assert store.load("old").saved_by is None
    (legacy,) = store.history()
    assert (legacy.actor, legacy.actor_role, legacy.decision, legacy.target) == (
        "unverified:Wang Fang", "unknown", "approved", "/d/last_sheet.csv")
    assert ScenarioStore(tmp_path).history() == [legacy]  # imported once
    assert verify(tmp_path).intact and verify(tmp_path).entries == 1
    decided = store.decide("old", "approved", WANG, "signed this time", tmp_path)
    assert decided.saved_by is None and [d.actor for d in store.history()] == ["wang.fang", "unverified:Wang Fang"]


def test_a_sheet_lost_after_the_commit_is_rewritten_from_the_store(tmp_path, monkeypatch):
    """Killed between recording an approval and writing its sheet: the decision is kept, and the
    next publish (the app does one at start) writes the newest approval; a write that fails is
    reported on the decision, never raised after the commit."""
    data = tmp_path / "data"
    data.mkdir()
    store = ScenarioStore(tmp_path / "store")
    _save(store, "cheaper", NEW_SHEET)
    store.decide("cheaper", "approved", WANG, "ok", data)
    (data / "last_sheet.csv").write_text(SHEET)  # as if the rename never happened
    assert store.approvals.publish(data) == data / "last_sheet.csv"
    assert (data / "last_sheet.csv").read_text() == NEW_SHEET
    assert store.approvals.publish(tmp_path / "elsewhere") is None  # nothing approved for that folder
    _save(store, "dearer", SHEET)
    with monkeypatch.context() as patch:
        patch.setattr(type(store.approvals), "publish", lambda self, folder, sheet_name="last_sheet.csv": (
            _ for _ in ()).throw(PermissionError(13, "Permission denied")))
        decided = store.decide("dearer", "approved", WANG, "ok", data)
    assert decided.publish_error == f"{data / 'last_sheet.csv'} could not be written (Permission denied); " \
                                    "the decision is recorded"
    assert (data / "last_sheet.csv").read_text() == NEW_SHEET
    assert store.last_approved().subject == "dearer"
    assert store.approvals.publish(data) and (data / "last_sheet.csv").read_text() == SHEET
