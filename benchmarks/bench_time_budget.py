"""Does ``time_limit`` hold for the whole ``optimize`` command?

Runs ``python -m pricing optimize`` as a subprocess (so start-up, reading, candidates, pruning,
every solve and writing all count) on the shipped data with growing candidate spaces and short
time limits, and records the wall-clock time, the exit code and the status the run reports.

Run: ``PYTHONPATH=. python -m benchmarks.bench_time_budget``; figures in ``docs/benchmarks.md``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = [  # (max_items, time limit in seconds)
    (4, 2), (4, 5), (5, 3), (5, 10), (6, 5), (6, 15),
]


def main() -> int:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    print("max_items  time_limit_s  wall_s  over_s  exit  status")
    for max_items, limit in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out"
            begin = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "pricing", "optimize", "--out", str(out),
                                   "--max-items", str(max_items), "--time-limit", str(limit)],
                                  env=env, capture_output=True, text=True)
            wall = time.perf_counter() - begin
            status = "-"
            if (out / "run.json").exists():
                status = json.loads((out / "run.json").read_text())["status"]
            elif done.stderr.strip():
                status = done.stderr.strip().splitlines()[-1][:60]
        print(f"{max_items:9d}  {limit:12g}  {wall:6.1f}  {wall - limit:+6.1f}  {done.returncode:4d}  {status}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
