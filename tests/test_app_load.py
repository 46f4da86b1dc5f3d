"""The what-if page with its solves queued on the worker pool (AppTest): the page shows its place
in line and draws at once while the workers are busy, other pages draw without waiting, the answer
arrives when a worker is done, and an answer the time limit cut short is shown as such with a
re-solve button, never kept for the next asker.

The page's queue is the server's (``pages.common.solve_queue``, one per process); its workers run
``tests.job_tasks.gated_solve`` here: the real solve once the test opens the gate, reported as
stopped by the time limit below 100 s.
"""

import time

import pytest
from streamlit.testing.v1 import AppTest

from pages.common import solve_queue
from pricing.access import Operator, UserDirectory
from pricing.app.whatif import WhatIf
from pricing.domain.settings import Settings
from tests import job_tasks
from tests.fast_hashing import fast_hashing  # noqa: F401  (a fixture)
from tests.test_app import (
    APP, PASSWORD, PEOPLE, click, expected_metrics, go, library, make_small_data, settle, shown, start,
    submit_sign_in, title, use,
)


@pytest.fixture
def gated_data(tmp_path, monkeypatch, fast_hashing):
    data = make_small_data(tmp_path / "data")
    # Data of its own (a product renamed): no answer the server's queue proved for other tests' data.
    catalog = data / "catalog.csv"
    catalog.write_text(catalog.read_text().replace("Portable Tire Inflator 2", "Portable Tire Inflator 2 (gated)"))
    use(monkeypatch, data, tmp_path / "store")
    UserDirectory().add(PEOPLE["manager"], "manager", PASSWORD, Operator("test"), must_change=False)
    monkeypatch.setattr(solve_queue(), "task", job_tasks.gated_solve)
    yield data
    (data / "open").touch()  # never leave a worker waiting


def open_page() -> AppTest:
    """The signed-in manager's first view of the what-if page, without waiting for its solve."""
    signed_in = submit_sign_in(start(), PEOPLE["manager"])
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["session"] = signed_in.session_state["session"]
    at.run()
    assert not at.exception, at.exception
    return at


def test_the_page_shows_its_place_in_line_and_other_pages_draw_while_workers_are_busy(gated_data):
    queue, settings = solve_queue(), Settings.from_toml()
    others = [queue.submit(gated_data, settings, WhatIf.from_settings(settings).replace(max_bundles=k), owner=who)
              for k, who in ((2, "p1"), (3, "p2"), (4, "p3"))]
    workers = queue.status(others[0]).workers
    at = open_page()
    info = [i.value for i in at.info]
    ahead = 3 - workers
    assert f"Your what-if: Queued: {ahead} what-if{'s' if ahead != 1 else ''} ahead of you" in info[0]
    assert at.slider(key="target").value == 15.0 and not at.metric  # the page is drawn, no answer yet
    at.switch_page("pages/sheets.py").run()  # a page with nothing to solve does not wait
    assert not at.exception and title(at) == "Price sheets"
    at.switch_page("pages/whatif.py").run()
    assert any(i.value.startswith("Your what-if: Queued:") for i in at.info)
    (gated_data / "open").touch()
    settle(at)
    assert all(job.over for job in others)
    # Stopped by the 60 s limit (as the stand-in reports it): shown as such, with a re-solve button.
    default = library(gated_data).result
    assert shown(at) == {**expected_metrics(default), "Optimality": "Not proven"}
    assert any("NOT proven optimal (status time_limit)" in w.value and "not kept for anyone else" in w.value
               for w in at.warning)
    unproven = queue.submit(gated_data, settings, WhatIf.from_settings(settings))
    assert unproven.state != "done" or not unproven.proven  # the next asker gets a new solve, not that answer
    settle_job(unproven)
    click(at, "Re-solve with a longer time limit (240 s)")
    assert shown(at) == expected_metrics(default)
    assert "Proven optimal within a relative gap" in at.success[0].value
    assert not [b for b in at.button if b.label.startswith("Re-solve")]
    go(at, "pages/tradeoff.py")  # the controls and the answer are kept
    assert title(at) == "Trade-off curve"


def settle_job(job, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not job.over:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_without_a_solve_pool_the_page_says_so_in_one_line(tmp_path, monkeypatch, fast_hashing):
    use(monkeypatch, make_small_data(tmp_path / "data"), tmp_path / "store")
    UserDirectory().add(PEOPLE["manager"], "manager", PASSWORD, Operator("test"), must_change=False)
    solve_queue().close()
    solve_queue.clear()
    monkeypatch.setenv("BUNDLE_PRICING_SCHEDULER", "tcp://127.0.0.1:1")
    try:
        at = open_page()
        (line,) = [e.value for e in at.error]
        assert line.startswith("The solve pool is not available: BUNDLE_PRICING_SCHEDULER: no Dask scheduler "
                               "answers at tcp://127.0.0.1:1")
        assert line.endswith("Nothing was solved; tell whoever runs the app.") and "\n" not in line
        assert at.slider(key="target").value == 15.0 and "job" not in at.session_state
    finally:
        solve_queue.clear()  # the next page asks for a pool again (a failed start is not kept)
