"""The scenario store: saved scenarios survive a restart; decisions are kept with who, when, why;
an approval writes last_sheet.csv whole, in the sheet format the optimizer reads back."""

import pytest

from models.errors import InputError
from pricing.domain.catalog import Catalog
from pricing.app.scenarios import STORE_ENV, ScenarioStore, default_store_dir
from pricing.domain.last_sheet import read_last_prices
from tests.conftest import DATA

SHEET = (DATA / "last_sheet.csv").read_text()
NEW_SHEET = SHEET.replace(",2949,", ",2899,")


def _save(store, name="base", sheet=SHEET):
    return store.save(name, {"attach_rate": 0.15, "pinned": ["CAR-DC-4K"]}, {"target": {"attach_rate": 0.15}},
                      {"margin": 1234.5, "attach_rate": 0.151}, sheet, "/some/data")


def test_saved_scenarios_survive_a_restart(tmp_path):
    _save(ScenarioStore(tmp_path))
    _save(ScenarioStore(tmp_path), "cheaper", NEW_SHEET)
    reopened = ScenarioStore(tmp_path)
    assert reopened.names() == ["cheaper", "base"]
    scenario = reopened.load("base")
    assert scenario.controls == {"attach_rate": 0.15, "pinned": ["CAR-DC-4K"]}
    assert scenario.summary == {"margin": 1234.5, "attach_rate": 0.151}
    assert scenario.sheet_csv == SHEET
    assert scenario.sheet["price"].tolist() == [2949, 1239, 2349, 2689, 3949]
    assert scenario.sheet["skus"].iloc[0] == "CAR-DC-4K|CAR-WLC-50|HOME-EVC-7|HUM-BAND-9"


def test_saving_a_name_again_replaces_it(tmp_path):
    store = ScenarioStore(tmp_path)
    _save(store)
    _save(store, "base", NEW_SHEET)
    assert store.names() == ["base"]
    assert store.load("base").sheet_csv == NEW_SHEET


@pytest.mark.parametrize("call, message", [
    pytest.param(lambda s: s.save("  ", {}, {}, {}, SHEET), "scenario name: must not be empty", id="empty-name"),
    pytest.param(lambda s: s.load("nope"), "scenario: no saved scenario named 'nope'", id="unknown"),
    pytest.param(lambda s: s.decide("base", "approved", " ", "ok", "/x"), "reviewer: must not be empty", id="no-reviewer"),
    pytest.param(lambda s: s.decide("base", "rejected", "Li", "  "), "comment: must not be empty", id="no-comment"),
    pytest.param(lambda s: s.decide("base", "maybe", "Li", "ok"), "decision: must be one of approved, rejected", id="decision"),
    pytest.param(lambda s: s.decide("base", "approved", "Li", "ok"), "approval: needs the data folder", id="no-folder"),
])
def test_bad_requests_are_refused_and_nothing_is_recorded(tmp_path, call, message):
    store = ScenarioStore(tmp_path)
    _save(store)
    with pytest.raises(InputError, match=message):
        call(store)
    assert store.history() == []


def test_approval_writes_the_last_sheet_and_is_kept_with_who_when_why(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "last_sheet.csv").write_text(SHEET)
    store = ScenarioStore(tmp_path / "store")
    _save(store, "cheaper", NEW_SHEET)
    rejected = store.decide("cheaper", "rejected", "Wang Fang", "B1 too cheap", data)
    assert rejected.written_to is None
    assert (data / "last_sheet.csv").read_text() == SHEET
    approved = store.decide("cheaper", "approved", "Wang Fang", "fine after all", data)
    assert approved.written_to == str(data / "last_sheet.csv")
    assert (data / "last_sheet.csv").read_text() == NEW_SHEET
    assert sorted(p.name for p in data.iterdir()) == ["last_sheet.csv"]  # no half-written file left
    catalog = Catalog.from_csv(DATA / "catalog.csv")
    prices = read_last_prices(data / "last_sheet.csv", catalog)
    assert prices[frozenset({"CAR-DC-4K", "CAR-WLC-50", "HOME-EVC-7", "HUM-BAND-9"})] == 2899.0
    history = ScenarioStore(tmp_path / "store").history()
    assert [(d.decision, d.reviewer, d.comment) for d in history] == [
        ("approved", "Wang Fang", "fine after all"), ("rejected", "Wang Fang", "B1 too cheap")]
    assert history[0].decided_at.endswith("+00:00")
    assert store.last_approved() == history[0]


def test_store_folder_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(STORE_ENV, str(tmp_path / "elsewhere"))
    assert default_store_dir() == tmp_path / "elsewhere"
    assert ScenarioStore().path == tmp_path / "elsewhere" / "store.sqlite"
    monkeypatch.delenv(STORE_ENV)
    assert default_store_dir().name == "scenarios"


def test_a_sheet_the_catalog_cannot_read_is_not_approved(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "catalog.csv").write_text((DATA / "catalog.csv").read_text())
    (data / "last_sheet.csv").write_text(SHEET)
    store = ScenarioStore(tmp_path / "store")
    _save(store, "uploaded", SHEET.replace("HOME-EVC-7|HUM-BAND-9,", "HOME-EVC-7|HUM-BAND-10,", 1))
    with pytest.raises(InputError, match=r"last_sheet.csv row 2, column skus: unknown SKU 'HUM-BAND-10'"):
        store.decide("uploaded", "approved", "Li", "ok", data)
    assert (data / "last_sheet.csv").read_text() == SHEET
    assert store.history() == []
