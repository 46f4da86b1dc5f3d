"""One real-browser test: `streamlit run app.py` in a subprocess, driven with Debian's Chromium.

Changes a control, presses Run, checks the answer shown is the library's, and saves a
screenshot to tests/artifacts/ to look at.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from pricing.domain.problem import Problem
from pricing.domain.settings import Settings
from pricing.app.whatif import WhatIf, run_whatif
from tests.conftest import ROOT
from tests.test_app import make_small_data

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


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


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium)")
def test_change_a_control_and_run_in_chromium(tmp_path):
    from playwright.sync_api import expect, sync_playwright

    data = make_small_data(tmp_path / "data")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "BUNDLE_PRICING_DATA": str(data), "BUNDLE_PRICING_STORE": str(tmp_path / "store")}
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
                page = browser.new_page(viewport={"width": 1600, "height": 1500})
                page.goto(url)
                expect(page.get_by_text("Proven optimal within a relative gap")).to_be_visible(timeout=90_000)

                bundles = page.get_by_test_id("stSlider").filter(has_text="Bundles offered").get_by_role("slider")
                bundles.focus()
                bundles.press("ArrowLeft")  # 5 -> 4
                expect(bundles).to_have_value("4")
                page.get_by_role("button", name="Run").click()

                base = Problem.load(data, Settings.from_toml())
                expected = run_whatif(base, WhatIf.from_settings(base.settings).replace(max_bundles=4)).result
                margin = page.get_by_test_id("stMetric").filter(has_text="Expected IoT margin")
                expect(margin).to_contain_text(f"{expected.figures.margin:,.0f}", timeout=90_000)
                expect(page.get_by_text("Proven optimal within a relative gap")).to_be_visible()
                expect(page.get_by_text("Why each bundle is there")).to_be_visible()
                assert page.get_by_text("B4 (").count() + page.locator("li", has_text="B4").count() >= 1
                assert page.locator("li", has_text="B5").count() == 0

                ARTIFACTS.mkdir(exist_ok=True)
                page.wait_for_timeout(500)  # let the table's canvas paint
                page.screenshot(path=str(ARTIFACTS / "app_whatif.png"), full_page=True)
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
