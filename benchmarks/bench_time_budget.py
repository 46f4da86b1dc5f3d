"""Does ``time_limit`` hold for the whole ``optimize`` command?

Runs ``python -m pricing optimize`` as a subprocess (so start-up, reading, candidates, pruning,
every solve and writing all count) on the shipped data with growing candidate spaces and short
time limits, and records the wall-clock time, the exit code and the status the run reports.

Run: ``PYTHONPATH=. python -m benchmarks.bench_time_budget``; figures in ``docs/benchmarks.md``.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = [  # (flags, time limit in seconds): growing candidate spaces, then goals under the default rules
    (["--max-items", "4"], 2), (["--max-items", "4"], 5), (["--max-items", "5"], 3), (["--max-items", "5"], 10),
    (["--max-items", "6"], 5), (["--max-items", "6"], 15),
    # A margin-rate goal near the best the catalog allows (-0.88 points): the MILP cannot finish.
    (["--margin-rate-points", "-1.0"], 3), (["--margin-rate-points", "-1.0"], 10),
    # Out of reach (the most is 1.257 devices a buyer), and coefficient draws.
    (["--devices-per-buyer", "1.3"], 5), (["--target-confidence", "0.9"], 10),
]


def main() -> int:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'flags':28s}  time_limit_s  wall_s  cpu_s  exit  status      phases (s): candidates pruning incumbent "
          "tightening milp")
    for flags, limit in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out"
            begin = time.perf_counter()
            cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            done = subprocess.run([sys.executable, "-m", "pricing", "optimize", "--out", str(out), *flags,
                                   "--time-limit", str(limit)],
                                  env=env, capture_output=True, text=True)
            wall = time.perf_counter() - begin
            cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
            status, phases = "-", ""
            if (out / "run.json").exists():
                record = json.loads((out / "run.json").read_text())
                status, d = record["status"], record["diagnostics"]
                phases = " ".join(f"{d.get(k, 0):.1f}" for k in ("candidates_seconds", "pruning_seconds",
                                                                 "incumbent_seconds", "tightening_seconds",
                                                                 "milp_seconds"))
            elif done.stderr.strip():
                status = done.stderr.strip().splitlines()[-1][:60]
        print(f"{' '.join(flags):28s}  {limit:12g}  {wall:6.1f}  {cpu:5.1f}  {done.returncode:4d}  {status:10s}  {phases}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
