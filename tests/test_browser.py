"""One real-browser test: `streamlit run app.py` in a subprocess, driven with Debian's Chromium.

A pricing manager signs in, changes a control, presses Run, checks the answer shown is the
library's and saves it as a scenario; then signs out, and a finance reviewer signs in and approves
it: the data folder's last sheet becomes that scenario's and the trail verifies. Screenshots of
each step go to tests/artifacts/ to look at. Passwords are hashed with the shipped Argon2 settings.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from pricing.access import Operator, UserDirectory, verify
from pricing.app.scenarios import ScenarioStore
from pricing.app.whatif import WhatIf, run_whatif
from pricing.domain.problem import Problem
from pricing.domain.settings import Settings
from tests.conftest import ROOT
from tests.test_app import make_small_data

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
MANAGER, FINANCE, PASSWORD = "li.lei", "wang.fang", "a good phrase 123"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"streamlit did not answer at {url} within {seconds} s")


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    sidebar = page.get_by_test_id("stSidebarContent")
    if sidebar.count():
        sidebar.evaluate("element => element.scrollTop = 0")  # focusing a slider scrolled it
    page.wait_for_timeout(500)  # let the tables' canvases paint
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def _sign_in(page, expect, name: str) -> None:
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"Signed in as {name}")).to_be_visible(timeout=60_000)


def _manager_runs_and_saves(page, expect, data: Path) -> None:
    expect(page.get_by_text("Proven optimal within a relative gap")).to_be_visible(timeout=90_000)
    bundles = page.get_by_test_id("stSlider").filter(has_text="Bundles offered").get_by_role("slider")
    bundles.focus()
    bundles.press("ArrowRight")  # 5 -> 6 (under the default offer rules 4 bundles miss this catalog's target)
    expect(bundles).to_have_value("6")
    page.get_by_role("button", name="Run").click()
    base = Problem.load(data, Settings.from_toml())
    expected = run_whatif(base, WhatIf.from_settings(base.settings).replace(max_bundles=6)).result
    # While a rerun draws, Streamlit may still show the last answer's (stale) metric beside the new
    # one: wait for the one holding the expected figure.
    margin = page.get_by_test_id("stMetric").filter(has_text="Expected IoT margin")
    expect(margin.filter(has_text=f"{expected.figures.margin:,.0f}")).to_be_visible(timeout=90_000)
    expect(margin).to_have_count(1, timeout=30_000)
    expect(page.get_by_text("Proven optimal within a relative gap")).to_be_visible()
    expect(page.get_by_text("Why each bundle is there")).to_be_visible()
    expect(page.locator("li", has_text="B6")).to_have_count(1, timeout=30_000)  # the old result had five
    page.get_by_label("Save these settings and this result as a scenario named").fill("December, 6 bundles")
    page.get_by_role("button", name="Save scenario").click()
    expect(page.get_by_text("Saved scenario 'December, 6 bundles' as li.lei")).to_be_visible(timeout=30_000)
    _shot(page, "app_whatif.png")


def _finance_approves(page, expect) -> None:
    expect(page.get_by_role("heading", name="Review & approve")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Audit trail intact")).to_be_visible()
    expect(page.get_by_text("Saved by li.lei")).to_be_visible()
    assert page.get_by_test_id("stSlider").count() == 0  # no what-if controls for finance
    _shot(page, "app_review.png")
    page.get_by_label("Why (required)").fill("Margins hold; B1 within the stability band.")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("is now the last approved sheet")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Last approved: December, 6 bundles by wang.fang (finance)")).to_be_visible()
    _shot(page, "app_approved.png")
    page.get_by_role("link", name="Price sheets").click()
    expect(page.get_by_text("approved by wang.fang (finance)")).to_be_visible(timeout=30_000)
    _shot(page, "app_sheets.png")


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium)")
def test_manager_saves_and_finance_approves_in_chromium(tmp_path):
    from playwright.sync_api import expect, sync_playwright

    data = make_small_data(tmp_path / "data")
    store = tmp_path / "store"
    users = UserDirectory(store)
    users.add(MANAGER, "manager", PASSWORD, Operator("test"), must_change=False)
    users.add(FINANCE, "finance", PASSWORD, Operator("test"), must_change=False)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "BUNDLE_PRICING_DATA": str(data), "BUNDLE_PRICING_STORE": str(store)}
    env.pop("BUNDLE_PRICING_ACCESS_CONFIG", None)
    log = open(tmp_path / "streamlit.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        _wait_healthy(url, proc)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1600, "height": 1200})
                page.goto(url)
                expect(page.get_by_label("User name")).to_be_visible(timeout=60_000)
                assert page.get_by_test_id("stMetric").count() == 0  # nothing before sign-in
                _shot(page, "app_signin.png")
                _sign_in(page, expect, MANAGER)
                _manager_runs_and_saves(page, expect, data)
                page.get_by_role("button", name="Sign out").click()
                expect(page.get_by_text("Signed out.")).to_be_visible(timeout=30_000)
                _sign_in(page, expect, FINANCE)
                _finance_approves(page, expect)
            finally:
                browser.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
    scenarios = ScenarioStore(store)
    saved = scenarios.load("December, 6 bundles")
    assert saved.saved_by == MANAGER
    assert [(d.decision, d.actor, d.saved_by) for d in scenarios.history()] == [("approved", FINANCE, MANAGER)]
    assert (data / "last_sheet.csv").read_text() == saved.sheet_csv
    assert verify(store).intact
