"""The app's pages driven with Streamlit's AppTest: the numbers shown are the library's for the
same settings, scenarios save and compare, and an approved sheet becomes the last approved.

Runs on a copy of the shipped data with 10 active SKUs (a solve takes about 2 s) and a store in
a temporary folder, so nothing is written into the repo.
"""

import csv
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pricing.cli import main as cli_main
from pricing.optimizer.optimize import optimize
from pricing.domain.problem import Problem
from pricing.app.scenarios import STORE_ENV, ScenarioStore
from pricing.domain.settings import Settings
from pricing.app import WhatIf, apply_whatif, explain_bundles, run_whatif
from tests.conftest import DATA, ROOT

APP = str(ROOT / "app.py")
ACTIVE = {"CAR-DC-4K", "CAR-WLC-50", "CAR-AIR-2", "HOME-EVC-7", "HOME-CAM-C700", "HOME-RV-S20",
          "HOME-LOCK-M20", "HUM-BAND-9", "HUM-WATCH-S4", "HUM-PAD-7"}


def make_small_data(folder: Path) -> Path:
    """The shipped data with only the SKUs of :data:`ACTIVE` active."""
    shutil.copytree(DATA, folder)
    with open(DATA / "catalog.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    rows[1:] = [row[:-1] + ["true" if row[0] in ACTIVE else "false"] for row in rows[1:]]
    with open(folder / "catalog.csv", "w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    return folder


@pytest.fixture(scope="module")
def shared_data(tmp_path_factory) -> Path:
    """Read-only for the tests that use it, so their solves are cached across tests."""
    return make_small_data(tmp_path_factory.mktemp("app") / "data")


@pytest.fixture
def app(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("BUNDLE_PRICING_DATA", str(shared_data))
    monkeypatch.setenv(STORE_ENV, str(tmp_path / "store"))
    return start()


def start() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    assert not at.exception, at.exception
    return at


def click(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click()
    at.run()
    assert not at.exception, at.exception
    return at


def run(at: AppTest, **controls) -> AppTest:
    for key, value in controls.items():
        at.slider(key=key).set_value(value) if key in {"target", "bundles", "sensitivity", "cost", "floor"} \
            else at.number_input(key=key).set_value(value)
    return click(at, "Run")


def library(data: Path, **changes):
    base = Problem.load(data, Settings.from_toml())
    return run_whatif(base, WhatIf.from_settings(base.settings).replace(**changes))


def table(at: AppTest, column: str):
    """The one table on the page with ``column``."""
    (frame,) = [d.value for d in at.dataframe if column in d.value.columns]
    return frame


def shown(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def expected_metrics(result) -> dict[str, str]:
    f = result.figures
    return {
        "Expected IoT margin (CNY/month)": f"{f.margin:,.0f}",
        "Attach rate": f"{100 * f.attach_rate:.2f}%",
        "IoT gross-margin rate": f"{100 * f.margin_rate:.2f}%",
        "Connected devices per buyer": f"{f.devices_per_buyer:.3f}",
        "Optimality": "Proven" if result.proven_optimal else "Not proven",
    }


def test_whatif_page_shows_the_librarys_numbers(app, shared_data):
    run(app, target=12.0, bundles=4, sensitivity=1.2, cost=5, floor=10.0, buyers=30000)
    whatif = app.session_state["good"].whatif
    assert (whatif.attach_rate, whatif.max_bundles, whatif.price_sensitivity, whatif.cost_change_pct,
            whatif.min_margin, whatif.buyers) == pytest.approx((0.12, 4, 1.2, 5.0, 0.10, 30000.0))
    expected = library(shared_data, **{k: getattr(whatif, k) for k in ("attach_rate", "max_bundles",
                       "price_sensitivity", "cost_change_pct", "min_margin", "buyers")}).result
    assert shown(app) == expected_metrics(expected)
    assert expected.figures.buyers == 30000
    bundles = table(app, "take SU7 Pro")
    assert bundles["skus"].tolist() == ["|".join(b.skus) for b in expected.offer.bundles]
    assert bundles["price"].tolist() == [b.price for b in expected.offer.bundles]
    assert bundles["take SU7 Pro"].tolist() == pytest.approx((100 * expected.figures.take_rate[:, 1]).tolist())
    why = next(m.value for m in app.markdown if m.value.startswith("- **B1**"))
    for line in explain_bundles(expected):
        assert line in why
    assert [d.label for d in app.get("download_button")] == ["Price sheet (.xlsx)", "Price sheet (.csv)"]


def test_first_view_shows_the_default_answer(app, shared_data):
    assert shown(app) == expected_metrics(library(shared_data).result)
    assert "Proven optimal within a relative gap" in app.success[0].value


def test_unreachable_target_says_why_and_keeps_the_last_good_result(app, shared_data):
    before = shown(app)
    run(app, target=40.0)
    unreachable = library(shared_data, attach_rate=0.40).unreachable
    assert app.error[0].value == f"Target unreachable: {unreachable}"
    assert f"the highest attach rate the rules allow is {unreachable.best_attach:.2%}" in app.error[0].value
    assert shown(app) == before
    assert any("Still showing the last good result" in c.value for c in app.caption)


def test_bad_segment_mix_is_one_clear_line(app):
    before = shown(app)
    app.number_input(key="mix_0").set_value(app.number_input(key="mix_0").value + 8)
    click(app, "Run")
    assert app.error[0].value == "Bad input: segment mix: shares must sum to 100%, got 108.00%"
    assert shown(app) == before


def test_broken_catalog_shows_the_cli_message(tmp_path, monkeypatch, capsys):
    data = make_small_data(tmp_path / "data")
    text = (data / "catalog.csv").read_text().replace("CAR-AIR-2,Xiaomi Portable Tire Inflator 2,tire_inflator,car,229,181",
                                                       "CAR-AIR-2,Xiaomi Portable Tire Inflator 2,tire_inflator,car,229,abc")
    (data / "catalog.csv").write_text(text)
    assert cli_main(["optimize", "--data", str(data), "--out", str(tmp_path / "out")]) == 2
    cli_line = capsys.readouterr().err.strip()
    assert cli_line == "bad input: catalog.csv row 5, column unit_cost: must be a number, got 'abc'"
    monkeypatch.setenv("BUNDLE_PRICING_DATA", str(data))
    monkeypatch.setenv(STORE_ENV, str(tmp_path / "store"))
    at = start()
    assert at.error[0].value == "Bad input: " + cli_line.removeprefix("bad input: ")


def test_save_and_compare_two_scenarios(app, shared_data):
    app.text_input(key="scenario_name").input("five bundles")
    click(app, "Save scenario")
    run(app, bundles=4, target=12.0)
    app.text_input(key="scenario_name").input("four bundles")
    click(app, "Save scenario")
    assert ScenarioStore().names() == ["four bundles", "five bundles"]
    app.selectbox(key="cmp_a").select("four bundles")
    app.selectbox(key="cmp_b").select("five bundles")
    app.run()
    four = library(shared_data, max_bundles=4, attach_rate=0.12).result
    five = library(shared_data).result
    totals = table(app, "figure").set_index("figure")
    margin = totals.loc["expected incremental IoT margin (CNY/month)"]
    assert (margin["A"], margin["B"]) == (f"{four.figures.margin:,.0f}", f"{five.figures.margin:,.0f}")
    assert margin["difference"] == f"{five.figures.margin - four.figures.margin:+,.0f}"
    attach = totals.loc["attach rate"]
    assert (attach["A"], attach["B"]) == (f"{100 * four.figures.attach_rate:.2f}%", f"{100 * five.figures.attach_rate:.2f}%")
    assert (totals.loc["bundles", "A"], totals.loc["bundles", "B"]) == ("4", "5")
    by_bundle = table(app, "price change %")
    assert sorted(by_bundle["price A"].dropna()) == sorted(b.price for b in four.offer.bundles)
    assert sorted(by_bundle["price B"].dropna()) == sorted(b.price for b in five.offer.bundles)


def test_scenarios_survive_a_restart(app):
    app.text_input(key="scenario_name").input("kept")
    click(app, "Save scenario")
    again = start()
    assert again.selectbox(key="cmp_a").options == ["kept"]
    assert again.selectbox(key="review_pick").value == "kept"


def test_tradeoff_curve_is_the_librarys(app, shared_data):
    app.slider(key="sweep_range").set_value((10.0, 15.0))
    app.slider(key="sweep_points").set_value(3)
    click(app, "Draw the curve")
    curve = table(app, "reachable")
    assert curve["target"].tolist() == pytest.approx([10.0, 12.5, 15.0])  # percent
    for target, margin in zip([0.1, 0.125, 0.15], curve["margin"]):
        assert margin == pytest.approx(library(shared_data, attach_rate=target).result.figures.margin)
    assert any("current target, 15.00%" in c.value for c in app.caption)


def test_approved_sheet_becomes_the_last_approved(tmp_path, monkeypatch):
    data = make_small_data(tmp_path / "data")
    monkeypatch.setenv("BUNDLE_PRICING_DATA", str(data))
    monkeypatch.setenv(STORE_ENV, str(tmp_path / "store"))
    at = start()
    at.text_input(key="scenario_name").input("June")
    click(at, "Save scenario")
    at.text_input(key="reviewer").input("Wang Fang")
    click(at, "Approve")
    assert at.error[0].value == "comment: must not be empty: say why"
    assert ScenarioStore().history() == []

    at.text_area(key="comment").input("margins fine, B1 within the band")
    click(at, "Approve")
    saved = ScenarioStore().load("June")
    assert (data / "last_sheet.csv").read_text() == saved.sheet_csv
    assert any(m.value.startswith("Last approved: **June** by Wang Fang") for m in at.markdown)
    history = table(at, "decision")
    assert history[["scenario", "decision", "reviewer", "comment"]].values.tolist() == [
        ["June", "approved", "Wang Fang", "margins fine, B1 within the band"]]
    # the review now measures against the new sheet: nothing moves
    review = table(at, "flags")
    assert review["change_pct"].tolist() == [0.0] * len(review)
    # and the optimizer reads it as the last approved prices
    problem = Problem.load(data, Settings.from_toml())
    assert {"|".join(sorted(k)): v for k, v in problem.last_prices.items()} == {
        "|".join(sorted(s.split("|"))): p for s, p in zip(saved.sheet["skus"], saved.sheet["price"])}

    at.text_area(key="comment").input("on second thoughts, too cheap")
    click(at, "Reject")
    assert [d.decision for d in ScenarioStore().history()] == ["rejected", "approved"]
    assert (data / "last_sheet.csv").read_text() == saved.sheet_csv


def test_the_library_answer_is_the_cli_answer(shared_data, tmp_path):
    # The page's downloads are PriceSheet's text: the same as the CLI's file for the same settings.
    from pricing.app.whatif import sheet_files
    result = optimize(apply_whatif(Problem.load(shared_data, Settings.from_toml()),
                                   WhatIf.from_settings(Settings.from_toml()).replace(max_bundles=4, attach_rate=0.12)))
    assert cli_main(["optimize", "--data", str(shared_data), "--bundles", "4", "--attach-target", "0.12",
                     "--out", str(tmp_path)]) == 0
    assert sheet_files(result)[0] == (tmp_path / "price_sheet.csv").read_text()


def test_band_from_the_demand_fit_is_the_librarys(app, shared_data):
    from pricing.files.run_record import summary

    result = library(shared_data).result
    band = summary(result)
    (caption,) = [c.value for c in app.caption if "90% band" in c.value]
    assert f"attach {100 * band['attach_p05']:.2f}% to {100 * band['attach_p95']:.2f}%" in caption
    assert f"margin {band['margin_p05']:,.0f} to {band['margin_p95']:,.0f}" in caption
    assert f"probability {band['prob_target_met']:.0%}" in caption


def test_an_untested_sku_in_the_offer_is_flagged(tmp_path, monkeypatch):
    """HUM-BUDS-6P was never offered in the shipped history; its appeal is its category's. When the
    offer holds it the page says so, and banned it, the warning goes."""
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    monkeypatch.setenv("BUNDLE_PRICING_DATA", str(data))
    monkeypatch.setenv(STORE_ENV, str(tmp_path / "store"))
    at = start()
    offered = set("|".join(table(at, "skus")["skus"]).split("|"))
    assert "HUM-BUDS-6P" in offered
    assert any("HUM-BUDS-6P" in w.value and "never offered" in w.value for w in at.warning)
    at.multiselect(key="banned").set_value(["HUM-BUDS-6P"])
    click(at, "Run")
    assert "HUM-BUDS-6P" not in "|".join(table(at, "skus")["skus"])
    assert not any("HUM-BUDS-6P" in w.value for w in at.warning)
