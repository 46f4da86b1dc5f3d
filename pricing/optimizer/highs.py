"""HiGHS as the MILP needs it: a feasible start handed over before the solve, the status read
from HiGHS's own model status, and no banner on the terminal."""

from __future__ import annotations

import os
from dataclasses import dataclass

import highspy
import numpy as np

from pricing.optimizer.status import SolveStatus, status_from_highs

__all__ = ["MipRun", "run_mip"]


def _without_banner() -> None:
    """HiGHS prints its banner to the process's standard output when the first solver object is
    made, before any option can turn output off; an analyst's terminal (and a script reading
    ``optimize``'s output) should see our summary only. The banner comes once per process, so the
    first object is made here with file descriptor 1 pointed at /dev/null."""
    try:
        saved, null = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    except OSError:  # no standard output to silence
        return
    try:
        os.dup2(null, 1)
        highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)


_without_banner()


@dataclass(frozen=True)
class MipRun:
    """One HiGHS run: our status, the column values (``None`` without a feasible point), the
    dual bound in the model's objective units (``inf`` when HiGHS has none) and the nodes."""

    status: SolveStatus
    values: np.ndarray | None
    dual_bound: float
    nodes: int


def run_mip(highs: highspy.Highs, start: np.ndarray | None = None, **options: object) -> MipRun:
    """Run ``highs`` (a maximisation) with ``options`` and, if given, the feasible point
    ``start`` (one value per column) handed over first."""
    for name, value in options.items():
        highs.setOptionValue(name, value)
    if start is not None:
        solution = highspy.HighsSolution()
        solution.col_value = np.asarray(start, dtype=float)
        solution.value_valid = True
        highs.setSolution(solution)
    highs.run()
    info = highs.getInfo()
    has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
    status = status_from_highs(highs.getModelStatus(), has_solution)
    values = np.asarray(highs.getSolution().col_value) if has_solution else None
    if values is not None and status is SolveStatus.OPTIMAL:
        # HiGHS has (rarely, on near-degenerate bounds) reported "optimal" with an objective
        # its own solution does not have; such an answer proves nothing.
        cost = np.asarray(highs.getLp().col_cost_)
        if abs(float(cost @ values) - info.objective_function_value) > 1e-6 * max(1.0, abs(info.objective_function_value)):
            status = SolveStatus.ERROR
    bound = float(info.mip_dual_bound)
    return MipRun(status, values, bound if np.isfinite(bound) else float("inf"), int(info.mip_node_count))
