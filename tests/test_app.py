"""The app's pages driven with Streamlit's AppTest: sign-in first, each role sees its own pages and
is refused the others; the numbers shown are the library's for the same settings, scenarios save
and compare, finance approves as the signed-in reviewer (never their own scenario) and the approved
sheet becomes the last approved; lockout, expiry, the first start, a tampered trail, and the
identity provider's configuration.

Runs on a copy of the shipped data with 10 active SKUs (a solve takes about 2 s) and a store in
a temporary folder, so nothing is written into the repo. Argon2 runs with cheap parameters here
(``tests/fast_hashing.py``).

AppTest runs ``app.py`` (the router) on an instance's first run only and the current page alone
after that (the ``pages/`` folder puts it in Streamlit's first multipage mode); every page checks
the session itself, so that is also what these tests rely on. :func:`reopen` starts a new instance
with the signed-in session, as the browser's next run after signing in would.
"""

import csv
import re
import shutil
import sqlite3
import time
from dataclasses import replace
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pricing.access import Operator, UserDirectory, verify
from pricing.app import WhatIf, apply_whatif, explain_bundles, run_whatif
from pricing.app.scenarios import STORE_ENV, ScenarioStore
from pricing.cli import main as cli_main
from pricing.domain.problem import Problem
from pricing.domain.settings import Settings
from pricing.optimizer.optimize import optimize
from tests.conftest import DATA, ROOT
from tests.fast_hashing import fast_hashing  # noqa: F401  (a fixture)

APP = str(ROOT / "app.py")
ACTIVE = {"CAR-DC-4K", "CAR-WLC-50", "CAR-AIR-2", "HOME-EVC-7", "HOME-CAM-C700", "HOME-RV-S20",
          "HOME-LOCK-M20", "HUM-BAND-9", "HUM-WATCH-S4", "HUM-PAD-7"}
PASSWORD = "a good phrase 123"
PEOPLE = {"viewer": "zhao.yun", "manager": "li.lei", "finance": "wang.fang", "admin": "it.ops"}
TITLES = {"pages/whatif.py": "What-if", "pages/tradeoff.py": "Trade-off curve", "pages/scenarios.py": "Scenarios",
          "pages/review.py": "Review & approve", "pages/users.py": "Users", "pages/sheets.py": "Price sheets",
          "pages/monthly_runs.py": "Monthly runs", "pages/backtest.py": "Backtest"}
REFUSAL = {"pages/whatif.py": "run what-ifs and save scenarios", "pages/tradeoff.py": "run what-ifs and save scenarios",
           "pages/scenarios.py": "run what-ifs and save scenarios", "pages/review.py": "approve or reject price sheets",
           "pages/users.py": "manage users", "pages/sheets.py": "read results and sheets",
           "pages/monthly_runs.py": "read results and sheets", "pages/backtest.py": "read results and sheets"}
ROLE_PAGES = {"viewer": ["pages/sheets.py", "pages/monthly_runs.py", "pages/backtest.py"],
              "manager": ["pages/whatif.py", "pages/tradeoff.py", "pages/scenarios.py", "pages/sheets.py",
                          "pages/monthly_runs.py", "pages/backtest.py"],
              "finance": ["pages/review.py", "pages/monthly_runs.py", "pages/sheets.py", "pages/backtest.py"],
              "admin": ["pages/users.py", "pages/sheets.py", "pages/monthly_runs.py", "pages/backtest.py"]}


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
def team(shared_data, tmp_path, monkeypatch, fast_hashing):
    """One person per role in a fresh store, on the shared data."""
    use(monkeypatch, shared_data, tmp_path / "store")
    for role, name in PEOPLE.items():
        UserDirectory().add(name, role, PASSWORD, Operator("test"), must_change=False)
    return PEOPLE


def use(monkeypatch, data: Path, store: Path) -> None:
    monkeypatch.setenv("BUNDLE_PRICING_DATA", str(data))
    monkeypatch.setenv(STORE_ENV, str(store))
    monkeypatch.setenv("BUNDLE_PRICING_RUNS", str(store.parent / "runs"))  # no monthly run there
    monkeypatch.delenv("BUNDLE_PRICING_ACCESS_CONFIG", raising=False)


@pytest.fixture
def app(team):
    """The pricing manager, signed in, on the what-if page."""
    return sign_in(team["manager"])


def start() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    assert not at.exception, at.exception
    return at


def submit_sign_in(at: AppTest, name: str, password: str = PASSWORD) -> AppTest:
    at.text_input(key="signin_user").input(name)
    at.text_input(key="signin_password").input(password)
    return click(at, "Sign in")


def sign_in(name: str, password: str = PASSWORD) -> AppTest:
    """Sign in through the form, then open the app as the browser's next run would."""
    at = submit_sign_in(start(), name, password)
    assert "session" in at.session_state, [e.value for e in at.error]
    return reopen(at)


def reopen(at: AppTest) -> AppTest:
    again = AppTest.from_file(APP, default_timeout=180)
    again.session_state["session"] = at.session_state["session"]
    again.run()
    assert not again.exception, again.exception
    return settle(again)


def go(at: AppTest, page: str) -> AppTest:
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return settle(at)


def click(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click()
    at.run()
    assert not at.exception, at.exception
    return settle(at)


WAITING = ("job", "sweep_jobs", "goal_sweep")  # session keys of solves a page is waiting for


def settle(at: AppTest, seconds: float = 180) -> AppTest:
    """Run the page again until the solves it queued are in, as its self-refreshing status line
    would in a browser (AppTest does not run a fragment's timer)."""
    deadline = time.monotonic() + seconds
    while any(key in at.session_state and at.session_state[key] is not None for key in WAITING):
        assert time.monotonic() < deadline, "the queued solves did not finish"
        assert any(m.value.startswith(("Your what-if:", "The curve:", "The sweep:")) for m in at.info)
        time.sleep(0.1)
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


def title(at: AppTest) -> str:
    return at.title[0].value


def expected_metrics(result) -> dict[str, str]:
    f = result.figures
    return {
        "Expected IoT margin (CNY/month)": f"{f.margin:,.0f}",
        "Attach rate": f"{100 * f.attach_rate:.2f}%",
        "IoT gross-margin rate": f"{100 * f.margin_rate:.2f}%",
        "Connected devices per buyer": f"{f.devices_per_buyer:.3f}",
        "Optimality": "Proven" if result.proven_optimal else "Not proven",
    }


# -- what the pricing manager had before sign-in, unchanged ---------------------------------------
def test_whatif_page_shows_the_librarys_numbers(app, shared_data):
    run(app, target=10.0, bundles=4, sensitivity=1.2, cost=5, floor=10.0, buyers=30000)
    whatif = app.session_state["good"].whatif
    assert (whatif.attach_rate, whatif.max_bundles, whatif.price_sensitivity, whatif.cost_change_pct,
            whatif.min_margin, whatif.buyers) == pytest.approx((0.10, 4, 1.2, 5.0, 0.10, 30000.0))
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
    assert title(app) == "What-if"
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


def test_broken_catalog_shows_the_cli_message(tmp_path, monkeypatch, capsys, fast_hashing):
    data = make_small_data(tmp_path / "data")
    text = (data / "catalog.csv").read_text().replace("CAR-AIR-2,Xiaomi Portable Tire Inflator 2,tire_inflator,car,229,181",
                                                       "CAR-AIR-2,Xiaomi Portable Tire Inflator 2,tire_inflator,car,229,abc")
    (data / "catalog.csv").write_text(text)
    assert cli_main(["optimize", "--data", str(data), "--out", str(tmp_path / "out")]) == 2
    cli_line = capsys.readouterr().err.strip()
    assert cli_line == "bad input: catalog.csv row 5, column unit_cost: must be a number, got 'abc'"
    use(monkeypatch, data, tmp_path / "store")
    UserDirectory().add("li.lei", "manager", PASSWORD, Operator("test"), must_change=False)
    at = sign_in("li.lei")
    assert at.error[0].value == "Bad input: " + cli_line.removeprefix("bad input: ")


def test_save_and_compare_two_scenarios(app, shared_data):
    app.text_input(key="scenario_name").input("five bundles")
    click(app, "Save scenario")
    assert "as li.lei" in app.success[-1].value
    run(app, bundles=4, target=12.0)
    app.text_input(key="scenario_name").input("four bundles")
    click(app, "Save scenario")
    assert ScenarioStore().names() == ["four bundles", "five bundles"]
    assert ScenarioStore().load("four bundles").saved_by == "li.lei"
    go(app, "pages/scenarios.py")
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


def test_controls_are_kept_while_another_page_is_shown(app):
    run(app, target=12.0)
    go(app, "pages/tradeoff.py")
    go(app, "pages/whatif.py")
    assert app.slider(key="target").value == 12.0
    assert app.session_state["good"].whatif.attach_rate == pytest.approx(0.12)


def test_scenarios_survive_a_restart(app, team):
    app.text_input(key="scenario_name").input("kept")
    click(app, "Save scenario")
    again = go(sign_in(team["manager"]), "pages/scenarios.py")
    assert again.selectbox(key="cmp_a").options == ["kept"]
    assert sign_in(team["finance"]).selectbox(key="review_pick").value == "kept"


def test_tradeoff_curve_is_the_librarys(app, shared_data):
    go(app, "pages/tradeoff.py")
    app.slider(key="sweep_range").set_value((10.0, 15.0))
    app.slider(key="sweep_points").set_value(3)
    click(app, "Draw the curve")
    curve = table(app, "reachable")
    assert curve["target"].tolist() == pytest.approx([10.0, 12.5, 15.0])  # percent
    for target, margin in zip([0.1, 0.125, 0.15], curve["margin"]):
        assert margin == pytest.approx(library(shared_data, attach_rate=target).result.figures.margin)
    assert any("current target, 15.00%" in c.value for c in app.caption)


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


def test_an_untested_sku_in_the_offer_is_flagged(tmp_path, monkeypatch, fast_hashing):
    """HUM-BUDS-6P was never offered in the shipped history; its appeal is its category's. When the
    offer holds it the page says so, and banned it, the warning goes."""
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    use(monkeypatch, data, tmp_path / "store")
    UserDirectory().add("li.lei", "manager", PASSWORD, Operator("test"), must_change=False)
    at = sign_in("li.lei")
    offered = set("|".join(table(at, "skus")["skus"]).split("|"))
    assert "HUM-BUDS-6P" in offered
    assert any("HUM-BUDS-6P" in w.value and "never offered" in w.value for w in at.warning)
    at.multiselect(key="banned").set_value(["HUM-BUDS-6P"])
    click(at, "Run")
    assert "HUM-BUDS-6P" not in "|".join(table(at, "skus")["skus"])
    assert not any("HUM-BUDS-6P" in w.value for w in at.warning)


# -- finance approves, as the signed-in reviewer --------------------------------------------------
def test_approved_sheet_becomes_the_last_approved(tmp_path, monkeypatch, fast_hashing):
    data = make_small_data(tmp_path / "data")
    use(monkeypatch, data, tmp_path / "store")
    for role, name in PEOPLE.items():
        UserDirectory().add(name, role, PASSWORD, Operator("test"), must_change=False)
    manager = sign_in("li.lei")
    manager.text_input(key="scenario_name").input("June")
    click(manager, "Save scenario")

    at = sign_in("wang.fang")
    assert title(at) == "Review & approve"
    assert not at.sidebar.slider and not at.sidebar.number_input  # no what-if controls for finance
    assert at.success[0].value.startswith("Audit trail intact: 5 entries")  # 4 people added, 1 save
    assert "Saved by li.lei" in next(c.value for c in at.caption if c.value.startswith("Saved by"))
    click(at, "Approve")
    assert at.error[0].value == "Comment: must not be empty: say why"
    assert ScenarioStore().history() == []

    at.text_area(key="comment").input("margins fine, B1 within the band")
    click(at, "Approve")
    saved = ScenarioStore().load("June")
    assert (data / "last_sheet.csv").read_text() == saved.sheet_csv
    assert any(m.value.startswith("Last approved: **June** by wang.fang (finance)") for m in at.markdown)
    history = table(at, "decision")
    assert history[["scenario", "decision", "by", "role", "saved by", "comment"]].values.tolist() == [
        ["June", "approved", "wang.fang", "finance", "li.lei", "margins fine, B1 within the band"]]
    # the review now measures against the new sheet: nothing moves
    review = table(at, "flags")
    assert review["change_pct"].tolist() == [0.0] * len(review)
    # and the optimizer reads it as the last approved prices
    problem = Problem.load(data, Settings.from_toml())
    assert {"|".join(sorted(k)): v for k, v in problem.last_prices.items()} == {
        "|".join(sorted(s.split("|"))): p for s, p in zip(saved.sheet["skus"], saved.sheet["price"])}

    at.text_area(key="comment").input("on second thoughts, too cheap")
    click(at, "Reject")
    assert [(d.decision, d.actor) for d in ScenarioStore().history()] == [("rejected", "wang.fang"),
                                                                           ("approved", "wang.fang")]
    assert (data / "last_sheet.csv").read_text() == saved.sheet_csv
    assert verify(tmp_path / "store").intact


def test_no_one_approves_a_scenario_they_saved(team):
    manager = sign_in(team["manager"])
    manager.text_input(key="scenario_name").input("mine")
    click(manager, "Save scenario")
    UserDirectory().set_role(team["manager"], "finance", Operator("test"))  # moved to finance since
    at = sign_in(team["manager"])
    assert title(at) == "Review & approve"
    assert any("You saved this scenario: four eyes" in i.value for i in at.info)
    approve = next(b for b in at.button if b.label == "Approve")
    assert approve.disabled
    assert not next(b for b in at.button if b.label == "Reject").disabled


def test_a_tampered_trail_is_shown_and_pauses_decisions(team, tmp_path):
    manager = sign_in(team["manager"])
    manager.text_input(key="scenario_name").input("June")
    click(manager, "Save scenario")
    with sqlite3.connect(tmp_path / "store" / "store.sqlite") as con:
        con.execute("UPDATE audit SET actor = 'someone' WHERE seq = 2")
    at = sign_in(team["finance"])
    assert at.error[0].value.startswith("Audit trail BROKEN at entry 2: its contents do not match its hash")
    assert all(b.disabled for b in at.button if b.label in ("Approve", "Reject"))


# -- each role sees its pages and is refused the others -------------------------------------------
@pytest.mark.parametrize("role", list(ROLE_PAGES))
def test_each_role_sees_only_its_pages(team, role):
    at = sign_in(team[role])
    assert title(at) == TITLES[ROLE_PAGES[role][0]]  # its landing page
    assert f"Signed in as **{team[role]} ({role})**" in [m.value for m in at.sidebar.markdown]
    # the router's navigation (AppTest keeps what st.navigation registered on the router's run)
    offered = sorted(Path(str(info["script_path"])).relative_to(ROOT).as_posix()
                     for info in at._registered_pages.values())
    assert offered == sorted(ROLE_PAGES[role])
    for page in ROLE_PAGES[role]:
        assert title(go(at, page)) == TITLES[page]
        assert not [e for e in at.error if "may not open" in e.value]
    assert bool(at.sidebar.slider) is False  # the what-if controls belong to the what-if page alone
    for page in sorted(set(TITLES) - set(ROLE_PAGES[role])):  # reached anyway: refused on the page
        go(at, page)
        assert [e.value for e in at.error] == [f"{team[role]} ({role}) may not open this page: it is for those "
                                               f"who may {REFUSAL[page]}."]
        assert not at.dataframe and not at.metric and not at.sidebar.slider


@pytest.mark.parametrize("page, role, allowed", [
    pytest.param("pages/review.py", "manager", False, id="manager-opens-review"),
    pytest.param("pages/review.py", "admin", False, id="admin-opens-review"),
    pytest.param("pages/users.py", "finance", False, id="finance-opens-users"),
    pytest.param("pages/whatif.py", "viewer", False, id="viewer-opens-whatif"),
    pytest.param("pages/whatif.py", "finance", False, id="finance-opens-whatif"),
    pytest.param("pages/sheets.py", "viewer", True, id="viewer-opens-sheets"),
])
def test_a_page_run_on_its_own_checks_the_role(team, page, role, allowed):
    """Reached without the router (a URL before the first navigation, a bug), a page still refuses."""
    signed = sign_in(team[role])
    at = AppTest.from_file(str(ROOT / page), default_timeout=180)
    at.session_state["session"] = signed.session_state["session"]
    at.run()
    assert not at.exception
    refused = [e.value for e in at.error if "may not open this page" in e.value]
    assert bool(refused) is not allowed
    assert not at.sidebar.slider  # and no what-if controls leak either way


def test_a_page_run_signed_out_asks_for_sign_in(team):
    at = AppTest.from_file(str(ROOT / "pages/review.py"), default_timeout=180)
    at.run()
    assert title(at) == "SU7 bundle pricing"
    assert [t.label for t in at.text_input] == ["User name", "Password"]
    assert not at.dataframe


def test_admin_manages_users_on_the_users_page(team):
    at = sign_in(team["admin"])
    assert title(at) == "Users"
    assert set(table(at, "user")["user"]) == set(team.values())
    at.text_input(key="new_user").input("chen.jie")
    at.selectbox(key="new_role").select("finance")
    click(at, "Add user")
    (one_time,) = [s.value for s in at.success if "One-time password for **chen.jie**" in s.value]
    password = re.search(r"`([^`]+)`", one_time).group(1)
    assert UserDirectory().authenticate("chen.jie", password).must_change
    at.selectbox(key="role_user").select("chen.jie")
    at.selectbox(key="role_new").select("viewer")
    click(at, "Change role")
    assert UserDirectory().identity("chen.jie").role.value == "viewer"
    trail = table(at, "what")
    assert trail["what"].tolist()[:2] == ["role_changed", "user_added"]
    assert trail["by"].tolist()[:2] == [team["admin"], team["admin"]]


# -- signing in -----------------------------------------------------------------------------------
def test_nothing_shows_before_sign_in(team):
    at = start()
    assert title(at) == "SU7 bundle pricing"
    assert [t.label for t in at.text_input] == ["User name", "Password"]
    assert not at.metric and not at.dataframe and not at.sidebar.slider


def test_wrong_passwords_are_slowed_and_locked(team, tmp_path, monkeypatch):
    settings = tmp_path / "access.toml"
    settings.write_text("[sign_in]\nmax_failures = 3\ndelay_seconds = 0.01\nlockout_minutes = 15\n")
    monkeypatch.setenv("BUNDLE_PRICING_ACCESS_CONFIG", str(settings))
    at = start()
    for left in (2, 1):
        submit_sign_in(at, team["finance"], "not my password")
        assert at.error[0].value == f"Wrong user name or password ({left} more failed tr{'y' if left == 1 else 'ies'} " \
                                    "lock the account for 15 minutes)"
    submit_sign_in(at, team["finance"], "not my password")
    assert at.error[0].value.startswith("Too many failed sign-ins: locked for 15 minutes")
    submit_sign_in(at, team["finance"], PASSWORD)  # the right one, too late
    assert "locked for another 15 minute" in at.error[0].value
    assert "session" not in at.session_state


@pytest.mark.parametrize("shift, message", [
    pytest.param(dict(last_seen=-31 * 60), "Signed out after 30 minutes without activity", id="idle"),
    pytest.param(dict(started_at=-12 * 3600 - 1), "Your session ended after 12 hours", id="absolute"),
])
def test_sessions_expire(app, shift, message):
    session = app.session_state["session"]
    app.session_state["session"] = replace(session, **{k: getattr(session, k) + v for k, v in shift.items()})
    app.run()
    assert title(app) == "SU7 bundle pricing"
    assert app.info[0].value.startswith(message)
    assert "good" not in app.session_state  # the last person's results are gone


def test_a_removed_user_is_signed_out_at_the_next_click(app, team):
    UserDirectory().remove(team["manager"], Operator("test"))
    app.run()
    assert app.info[0].value == "Your account was removed; ask an admin."


def test_sign_out(app):
    click(app, "Sign out")
    assert title(app) == "SU7 bundle pricing" and app.info[0].value == "Signed out."
    assert "session" not in app.session_state and "good" not in app.session_state


def test_first_start_prints_a_one_time_admin_password_that_must_be_changed(tmp_path, monkeypatch, capfd, fast_hashing,
                                                                            shared_data):
    use(monkeypatch, shared_data, tmp_path / "fresh-store")
    at = start()
    assert "First start: sign in as **admin**" in at.info[0].value
    printed = capfd.readouterr().err
    password = re.search(r"one-time password:\s+(\S+)", printed).group(1)
    at = submit_sign_in(at, "admin", password)
    at = reopen(at)
    assert title(at) == "Choose your password"
    at.text_input(key="pw_old").input(password)
    at.text_input(key="pw_new").input("my own phrase 2026")
    at.text_input(key="pw_again").input("my own phrase 2026")
    click(at, "Set password")
    assert title(reopen(at)) == "Users"
    assert UserDirectory().authenticate("admin", "my own phrase 2026").must_change is False
    assert verify(tmp_path / "fresh-store").intact


# -- the company's identity provider (st.login): configuration and role map, offline --------------
SECRET = "0123456789abcdef0123456789abcdef"
AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": SECRET, "client_id": "pricing",
        "client_secret": "xyz", "server_metadata_url": "https://login.example.com/.well-known/openid-configuration"}
ROLES = {"finance": ["wang.fang@example.com"], "manager": ["group:pricing"]}


def oidc_app(user: dict, secrets: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.secrets = secrets if secrets is not None else {"auth": AUTH, "roles": ROLES}
    at.user = user
    at.run()
    assert not at.exception, at.exception
    return at


def test_with_an_auth_section_the_provider_signs_in(team):
    at = oidc_app({"is_logged_in": False})
    assert [b.label for b in at.button] == ["Sign in with the company account"]
    assert not at.text_input  # no password form


def test_the_role_comes_from_the_role_map(team):
    at = oidc_app({"is_logged_in": True, "email": "Wang.Fang@example.com", "name": "Wang Fang"})
    assert title(at) == "Review & approve"
    assert "Signed in as **Wang Fang (finance)**" in [m.value for m in at.sidebar.markdown]
    manager = oidc_app({"is_logged_in": True, "email": "chen@example.com", "groups": ["pricing"]})
    assert title(manager) == "What-if"


def test_someone_the_role_map_does_not_name_is_not_let_in(team):
    at = oidc_app({"is_logged_in": True, "email": "stranger@other.org"})
    assert at.error[0].value.startswith("Signed in, but not let in: stranger@other.org is not given a role")
    assert "session" not in at.session_state


def test_a_bad_auth_section_is_one_clear_line(team):
    at = oidc_app({"is_logged_in": False}, {"auth": {**AUTH, "cookie_secret": "short"}, "roles": ROLES})
    assert at.error[0].value.startswith("Sign-in is not configured correctly: .streamlit/secrets.toml [auth] "
                                        "cookie_secret must be a random string of at least 32 characters")
    assert not at.button
