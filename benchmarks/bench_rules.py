"""Offer rules on the shipped data: what the exact pruning keeps, and what solving costs.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_rules.py [--rules 2/1/0.05,3/2/0.05,-/-/0.05]
        [--solve] [--time-limit 60]

For each set of rules (``max_bundles_per_sku / max_shared_skus / min_price_gap``, ``-`` for off)
it prints the candidates the solve starts from (under rules that can bind: all of them, since
the root LP's bound does the dropping, ``pricing/optimizer/bound_fixing.py``) and the time to
choose them; with ``--solve`` it runs the whole pipeline (``optimize``) and prints status, gap,
margin, the candidates left for the MILP and the time. Figures go to ``docs/benchmarks.md``
(issue 8 section).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pricing.domain.problem import Problem  # noqa: E402
from pricing.optimizer.candidates import build_candidates  # noqa: E402
from pricing.optimizer.optimize import optimize  # noqa: E402
from pricing.optimizer.space import Space  # noqa: E402


def _rules(text: str) -> dict:
    per_sku, shared, gap = (part.strip() for part in text.split("/"))
    return dict(max_bundles_per_sku=None if per_sku == "-" else int(per_sku),
                max_shared_skus=None if shared == "-" else int(shared),
                min_price_gap=None if gap == "-" else float(gap))


def run_one(text: str, solve: bool, time_limit: float) -> None:
    base = Problem.load()
    # dataclasses.replace, not Settings.replace: ``None`` turns a rule off (the defaults set them).
    problem = base.replace(settings=dataclasses.replace(base.settings, **_rules(text)).replace(time_limit=time_limit))
    cands = build_candidates(problem.catalog, problem.model, problem.settings, problem.last_prices)
    space = Space.of(problem, cands)
    wall, cpu = time.perf_counter(), time.process_time()
    keep = space.keep("margin", goals=space.goals)
    print(f"{text:>12}: kept {len(keep):,} of {len(cands):,}, pruning {time.perf_counter() - wall:.1f} s wall "
          f"{time.process_time() - cpu:.1f} s CPU, load {os.getloadavg()[0]:.1f}", flush=True)
    if solve:
        wall = time.perf_counter()
        result = optimize(problem)
        gap = "-" if result.gap is None else f"{result.gap:.2%}"
        print(f"{'':>12}  {result.status.value}, gap {gap}, margin {result.figures.margin:,.0f} CNY, "
              f"{result.diagnostics['candidates_after_bound']:,} left by the LP bound, "
              f"{time.perf_counter() - wall:.1f} s wall", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", default="-/-/-,3/2/0.05,4/-/-,-/-/0.05,-/2/-,4/-/0.05,3/2/-,3/-/0.05,3/-/-,"
                                              "-/2/0.05,2/-/-,-/1/-,2/1/0.05")
    parser.add_argument("--solve", action="store_true")
    parser.add_argument("--time-limit", type=float, default=60.0)
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores", flush=True)
    for text in args.rules.split(","):
        run_one(text, args.solve, args.time_limit)


if __name__ == "__main__":
    main()
