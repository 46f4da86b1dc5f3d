"""Hard mixed-logit families (``benchmarks/hard_instances.py``): share proven, times, root gap.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_hard.py [--seeds 5] [--time-limit 60]
        [--families 50x5,100x5,50x10] [--variants new,old] [--out results.jsonl]

For each family and seed it runs the whole pipeline (``optimize``) once per variant, in the same
process: ``new`` (conic tangent cuts at the root and dominance ordering rows, the default),
``rows`` (ordering rows only), ``cuts`` (cuts only) and ``old`` (neither: the formulation before
issue 10). The root gap is ``(root LP bound - best offer) / best offer``
with the root bound of the model handed to HiGHS (after bound tightening). Prints one line per
run and a table per family; ``--out`` appends each run as a JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.hard_instances import FAMILIES, HardFamily, rs2_problem  # noqa: E402
from pricing.optimizer.optimize import CUT_ROUNDS, optimize  # noqa: E402

# variant -> (conic cut rounds, dominance ordering rows); "old" is the formulation before issue 10.
_VARIANTS = {"new": (CUT_ROUNDS, True), "rows": (0, True), "cuts": (CUT_ROUNDS, False), "old": (0, False),
             "oldroot": (0, False)}
# "oldroot" is "old" stopped after 1 s of MILP: only its root gap is read (cheap on big families).
_ROOT_ONLY_SECONDS = 1.0


def run_one(family: HardFamily, seed: int, variant: str, time_limit: float) -> dict:
    limit = _ROOT_ONLY_SECONDS if variant == "oldroot" else time_limit
    problem = rs2_problem(family, seed, time_limit=limit)
    begin = time.perf_counter()
    cut_rounds, ordering = _VARIANTS[variant]
    result = optimize(problem, cut_rounds=cut_rounds, ordering_rows=ordering)
    seconds = time.perf_counter() - begin
    d = result.diagnostics
    value = result.figures.margin_per_buyer
    root = d.get("root_bound_margin_per_buyer")
    return {"family": family.label, "products": family.products, "segments": family.segments,
            "cardinality": family.cardinality, "seed": seed, "variant": variant, "status": result.status.value,
            "seconds": round(seconds, 3), "value": value, "bound": result.bound, "gap": result.gap,
            "root_bound": root, "nodes": d["nodes"], "cuts": d.get("conic_cuts", 0),
            "kept": d["candidates_after_pruning"]}


def _families(spec: str | None) -> list[HardFamily]:
    if not spec:
        return list(FAMILIES)
    wanted = {tuple(int(x) for x in item.split("x")) for item in spec.split(",")}
    return [f for f in FAMILIES if (f.products, f.segments) in wanted]


def _table(rows: list[dict]) -> None:
    """One line per (family, variant): share proven, median and worst time, median and worst root gap.

    The root gap is measured against the best offer either variant found for that seed."""
    best = {}
    for r in rows:
        key = (r["family"], r["seed"])
        best[key] = max(best.get(key, -np.inf), r["value"])
    print("\n| family | variant | proven | median time | worst time | median root gap | worst root gap | worst final gap |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    keys = sorted({(r["products"], r["segments"], r["cardinality"] or 0, r["family"], r["variant"]) for r in rows})
    for *_, family, variant in keys:
        group = [r for r in rows if r["family"] == family and r["variant"] == variant]
        proven = sum(r["status"] == "optimal" for r in group)
        times = [r["seconds"] for r in group]
        gaps = [(r["root_bound"] - best[(family, r["seed"])]) / best[(family, r["seed"])]
                for r in group if r["root_bound"] is not None]
        finals = [r["gap"] for r in group if r["gap"] is not None]
        print(f"| {family} | {variant} | {proven}/{len(group)} | {np.median(times):.1f} s | {max(times):.1f} s | "
              f"{np.median(gaps):.2%} | {max(gaps):.2%} | {max(finals) if finals else float('nan'):.2%} |"
              if gaps else f"| {family} | {variant} | {proven}/{len(group)} | {np.median(times):.1f} s | "
              f"{max(times):.1f} s | n/a | n/a | n/a |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--families", default="50x5,100x5,50x10")
    parser.add_argument("--variants", default="new,old")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    rows = []
    for family in _families(args.families):
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            for variant in args.variants.split(","):
                row = run_one(family, seed, variant, args.time_limit)
                rows.append(row)
                print(json.dumps(row), flush=True)
                if args.out:
                    with open(args.out, "a", encoding="utf-8") as sink:
                        sink.write(json.dumps(row) + "\n")
    _table(rows)


if __name__ == "__main__":
    main()
