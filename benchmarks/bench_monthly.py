"""The monthly run over many markets: serially in one process, then on a local Dask cluster.

Run ``.venv/bin/python benchmarks/bench_monthly.py [--synthetic 200] [--workers N] [--max-items 2]
[--attach-target 0.05]``.
It copies the shipped data to a temp folder, writes a ``volumes.csv`` with the 4 shipped markets
of 2026-11 plus ``--synthetic`` made-up cities (500 to 9,000 car buyers; the model has no shift
for them, so they are priced with the base demand), and runs ``run_monthly`` twice into fresh
run folders: ``serial`` (markets one after another in this process) and on a local cluster of
``--workers`` processes (default: one per core). Prints the machine, per-market solve times
(from each market's ``market.json``), total wall times and the speed-up, and writes them as JSON
to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_fit import cpu_model  # noqa: E402
from pricing.domain.settings import Settings  # noqa: E402
from pricing.runs.cluster import machine_cores  # noqa: E402
from pricing.runs.monthly.run import MonthlyRequest, run_monthly  # noqa: E402

MONTH = "2026-11"


def make_data(folder: Path, synthetic: int, seed: int = 1) -> list[str]:
    for name in ("catalog.csv", "model.json", "history.csv", "last_sheet.csv"):
        shutil.copy(ROOT / "data" / name, folder / name)
    shipped = pd.read_csv(ROOT / "data" / "volumes.csv", dtype=str)
    shipped = shipped[shipped["month"] == MONTH]
    rng = np.random.default_rng(seed)
    cities = pd.DataFrame({"month": MONTH, "region": [f"City{k:03d}" for k in range(synthetic)],
                           "buyers": [str(int(b)) for b in rng.integers(500, 9000, synthetic)]})
    volumes = pd.concat([shipped, cities], ignore_index=True)
    volumes.to_csv(folder / "volumes.csv", index=False)
    return list(volumes["region"])


def run(data: Path, runs: Path, settings: Settings, serial: bool, workers: int | None) -> dict:
    start = time.perf_counter()
    report = run_monthly(MonthlyRequest(MONTH, data, runs, settings, serial=serial, n_workers=workers, echo=False))
    wall = time.perf_counter() - start
    seconds = [r["seconds"] for r in report.markets.values()]
    return {
        "wall_seconds": round(wall, 2), "markets": len(seconds), "exit_code": report.exit_code,
        "statuses": {s: sum(r["status"] == s for r in report.markets.values())
                     for s in {r["status"] for r in report.markets.values()}},
        "per_market_seconds": {"median": round(statistics.median(seconds), 3), "max": round(max(seconds), 3),
                               "mean": round(statistics.fmean(seconds), 3), "sum": round(sum(seconds), 2)},
        "executor": json.loads((report.revision_dir / "manifest.json").read_text()).get("executor"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--synthetic", type=int, default=200)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--max-items", type=int, default=2,
                        help="SKUs per bundle at most (2 keeps 204 solves to minutes on a shared 2-core machine; the product's default is 4)")
    parser.add_argument("--attach-target", type=float, default=0.05,
                        help="attach target (0.05: reachable with 2-SKU bundles, so every market writes a sheet)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    settings = Settings.from_toml().replace(max_items=args.max_items, attach_rate=args.attach_target)
    print(f"machine: {machine_cores()} cores available, {cpu_model()}")
    with tempfile.TemporaryDirectory(prefix="bench-monthly-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        markets = make_data(data, args.synthetic)
        print(f"{len(markets)} markets ({len(markets) - args.synthetic} shipped + {args.synthetic} synthetic), "
              f"max_items {args.max_items}")
        results = {"machine_cores": machine_cores(), "cpu": cpu_model(), "markets": len(markets),
                   "max_items": args.max_items, "attach_target": args.attach_target}
        results["serial"] = run(data, Path(tmp) / "runs-serial", settings, True, None)
        print("serial:", json.dumps(results["serial"]))
        results["dask"] = run(data, Path(tmp) / "runs-dask", settings, False, args.workers)
        print("dask:  ", json.dumps(results["dask"]))
    results["speed_up"] = round(results["serial"]["wall_seconds"] / results["dask"]["wall_seconds"], 2)
    print(f"speed-up {results['speed_up']}x")
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
