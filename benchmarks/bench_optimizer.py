"""Optimizer benchmark: this formulation against the textbook big-M one, same instance, same run.

    .venv/bin/python benchmarks/bench_optimizer.py [--time-limit 60] [--skip-textbook]

Prints, for the shipped instance and a 60-SKU instance: candidates, build and solve seconds,
status and gap, for (a) this product's pipeline (safe pruning, cardinality cut, core start) and
(b) the textbook big-M MILP of Bront, Mendez-Diaz & Vulcano (2009) over every candidate, no
pruning, no cuts, no start, under the same time limit. Record the output in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pulp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.instances import shipped, synthetic  # noqa: E402
from pricing.optimizer.candidates import build_candidates  # noqa: E402
import pricing.optimizer.highs  # noqa: E402,F401 (silences the HiGHS banner)
from pricing.optimizer.optimize import optimize  # noqa: E402
from pricing.domain.settings import Settings  # noqa: E402
from pricing.optimizer.status import status_from_highs  # noqa: E402

# Above this many candidates the textbook model (3 rows per candidate and segment) is not built:
# PuLP would need minutes and many GB before HiGHS starts.
_TEXTBOOK_MAX_CANDIDATES = 150_000


def textbook_big_m(problem, time_limit: float) -> dict:
    s = problem.settings
    t0 = time.perf_counter()
    cands = build_candidates(problem.catalog, problem.model, s, problem.last_prices)
    n, n_seg = cands.attraction.shape
    if n > _TEXTBOOK_MAX_CANDIDATES:
        return {"candidates": n, "status": "not built", "note": f"{n:,} candidates x {n_seg} segments x 3 rows"}
    v, w, m = cands.attraction, problem.model.shares, cands.margin
    prob = pulp.LpProblem("textbook", pulp.LpMaximize)
    x = [prob.add_variable(f"x_{j}", 0, 1, pulp.LpBinary) for j in range(n)]
    y = [prob.add_variable(f"y_{k}", 0, 1) for k in range(n_seg)]
    ww = [[prob.add_variable(f"w_{j}_{k}", 0) for k in range(n_seg)] for j in range(n)]
    prob += pulp.LpAffineExpression([(ww[j][k], float(w[k] * m[j])) for j in range(n) for k in range(n_seg)])
    for k in range(n_seg):
        prob += pulp.LpConstraint(pulp.LpAffineExpression([(y[k], 1.0)] + [(ww[j][k], 1.0) for j in range(n)]),
                                  pulp.LpConstraintEQ, f"total_{k}", 1.0)
        for j in range(n):
            vj = float(v[j, k])
            prob += pulp.LpConstraint(pulp.LpAffineExpression([(ww[j][k], 1.0), (y[k], -vj)]), pulp.LpConstraintLE,
                                      f"ratio_{j}_{k}", 0.0)
            prob += pulp.LpConstraint(pulp.LpAffineExpression([(ww[j][k], 1.0), (x[j], -vj)]), pulp.LpConstraintLE,
                                      f"bigm_{j}_{k}", 0.0)
            prob += pulp.LpConstraint(pulp.LpAffineExpression([(ww[j][k], 1.0), (y[k], -vj), (x[j], -vj)]),
                                      pulp.LpConstraintGE, f"link_{j}_{k}", -vj)
    prob += pulp.LpConstraint(pulp.LpAffineExpression([(xj, 1.0) for xj in x]), pulp.LpConstraintLE, "card",
                              float(s.max_bundles))
    for g in np.unique(cands.set_id):
        idx = np.flatnonzero(cands.set_id == g)
        if len(idx) > 1:
            prob += pulp.LpConstraint(pulp.LpAffineExpression([(x[j], 1.0) for j in idx]), pulp.LpConstraintLE,
                                      f"set_{g}", 1.0)
    prob += pulp.LpConstraint(pulp.LpAffineExpression([(y[k], float(w[k])) for k in range(n_seg)]),
                              pulp.LpConstraintLE, "attach", 1.0 - s.attach_rate)
    build = time.perf_counter() - t0
    t1 = time.perf_counter()
    prob.solve(pulp.HiGHS(msg=False, timeLimit=time_limit, gapRel=s.rel_gap))
    solve = time.perf_counter() - t1
    highs = prob.solverModel
    info = highs.getInfo()
    has = info.primal_solution_status == 2
    status = status_from_highs(highs.getModelStatus(), has).value
    gap = float(info.mip_gap) if has else None
    objective = -float(info.objective_function_value) if has else None
    return {"candidates": n, "build_seconds": build, "solve_seconds": solve, "status": status, "gap": gap,
            "margin_per_buyer": objective}


def ours(problem) -> dict:
    t0 = time.perf_counter()
    result = optimize(problem)
    d = result.diagnostics
    return {"candidates": d["candidates"], "after_pruning": d["candidates_after_pruning"],
            "build_seconds": d["candidates_seconds"] + d["pruning_seconds"],
            "solve_seconds": d["solve_seconds"], "total_seconds": time.perf_counter() - t0,
            "status": result.status.value, "gap": result.gap, "nodes": d["nodes"],
            "margin_per_buyer": result.figures.margin_per_buyer}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--skip-textbook", action="store_true")
    parser.add_argument("--skus", type=int, default=60)
    args = parser.parse_args()
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    print(f"machine: {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, "
          f"HiGHS via highspy, {time.strftime('%Y-%m-%d')}")
    settings = Settings(time_limit=args.time_limit)
    for label, problem in [("shipped (26 SKUs)", shipped(settings)),
                           (f"synthetic ({args.skus} SKUs)", synthetic(args.skus, settings=settings))]:
        print(f"\n== {label}")
        a = ours(problem)
        print("this formulation: " + ", ".join(f"{k}={_fmt(v)}" for k, v in a.items()))
        if not args.skip_textbook:
            b = textbook_big_m(problem, args.time_limit)
            print("textbook big-M:   " + ", ".join(f"{k}={_fmt(v)}" for k, v in b.items()))
            if "solve_seconds" in b:
                print(f"ratio textbook/this (build+solve): "
                      f"{(b['build_seconds'] + b['solve_seconds']) / a['total_seconds']:.1f}x")


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


if __name__ == "__main__":
    main()
