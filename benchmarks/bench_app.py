"""App benchmark: what the page adds to the solve, measured with Streamlit's AppTest.

    .venv/bin/python benchmarks/bench_app.py [DATA_DIR]

Copies the data folder to a temporary one (so nothing is written into the repo), signs a pricing
manager in (a session for a user of a temporary store), then times: the first page view (which
solves the defaults), a Run with a new combination (K = 4), a Run
with a combination already run (cached), and a rerun that solves nothing. "library" is the time
the worker spent in ``pricing.app.whatif.run_whatif``; "page" is the rest (the page, the queue,
sending the what-if to a worker process and its answer back, and the first view's start of the
worker pool).
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def settle(app) -> None:
    """Rerun the page until its queued what-if is in (in a browser its status line does this)."""
    while "job" in app.session_state and app.session_state["job"] is not None:
        time.sleep(0.05)
        app.run()


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "data"
    work = Path(tempfile.mkdtemp(prefix="bench_app_"))
    data, store = work / "data", work / "store"
    shutil.copytree(source, data)
    os.environ["BUNDLE_PRICING_DATA"], os.environ["BUNDLE_PRICING_STORE"] = str(data), str(store)
    os.chdir(ROOT)
    from streamlit.testing.v1 import AppTest

    from pricing.domain.problem import Problem
    from pricing.domain.settings import Settings
    from pricing.app.whatif import WhatIf, run_whatif

    base = Problem.load(data, Settings.from_toml())
    library_only = timed(lambda: run_whatif(base, WhatIf.from_settings(base.settings).replace(max_bundles=4)))
    from pricing.access import Identity, Operator, Role, Session, UserDirectory

    UserDirectory(store).add("bench", "manager", "a timing phrase 1", Operator("bench"), must_change=False)
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    app.session_state["session"] = Session.start(Identity("bench", Role.MANAGER, "bench"), time.time())
    first = timed(lambda: (app.run(), settle(app)))
    first_solve = app.session_state["good"].seconds
    app.slider(key="bundles").set_value(4)

    def press() -> None:
        next(b for b in app.button if b.label == "Run").click()
        app.run()
        settle(app)

    new = timed(press)
    new_solve = app.session_state["good"].seconds
    cached = statistics.median(timed(press) for _ in range(5))
    others = [timed(app.run) for _ in range(5)]
    print(f"library alone, K = 4: {library_only:.2f} s")
    print(f"first page view: {first:.2f} s wall, {first_solve:.2f} s library, {first - first_solve:.2f} s page")
    print(f"Run, new combination: {new:.2f} s wall, {new_solve:.2f} s library, {new - new_solve:.2f} s page")
    print(f"Run, combination already run (median of 5): {cached:.2f} s")
    print(f"rerun without a solve (median of 5): {statistics.median(others):.2f} s")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
