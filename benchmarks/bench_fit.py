"""How long fitting the shipped history takes (the target: under 10 s on a 2-core machine).

Run ``.venv/bin/python benchmarks/bench_fit.py [--repeat N]``. Prints the machine, then the
median and worst wall time of: reading and validating ``history.csv``; the fit itself; the whole
``python -m pricing fit`` work (read, fit, holdout refit, report; no files written).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models.fit import SegmentLogitFit  # noqa: E402
from models.validation import holdout_check  # noqa: E402
from models.history import History  # noqa: E402
from pricing.domain.catalog import Catalog  # noqa: E402

DATA = ROOT / "data"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def timed(action, repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    catalog = Catalog.from_csv(DATA / "catalog.csv")
    history = History.from_csv(DATA / "history.csv", catalog.skus)
    print(f"date {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; nproc {os.cpu_count()}; CPU {cpu_model()}; "
          f"Python {platform.python_version()}")
    print(f"history: {len(history.frame)} rows, {len(history.months)} months, {len(history.regions)} regions, "
          f"{len(history.segments)} segments, {len(catalog)} SKUs")

    def whole_command() -> None:
        fitted = SegmentLogitFit().fit(History.from_csv(DATA / "history.csv", catalog.skus), catalog)
        holdout_check(history, catalog)
        fitted.to_model()

    for label, action in (
        ("read + validate history.csv", lambda: History.from_csv(DATA / "history.csv", catalog.skus)),
        ("fit (4 segments, standard errors)", lambda: SegmentLogitFit().fit(history, catalog)),
        ("fit command work (read, fit, holdout, model)", whole_command),
    ):
        median, worst = timed(action, args.repeat)
        print(f"{label:48s} median {median:7.3f} s   worst {worst:7.3f} s   (x{args.repeat})")


if __name__ == "__main__":
    main()
