"""HiGHS through PuLP, as the MILP needs it: a feasible start handed over before the solve, PuLP's
status table kept from failing on statuses it does not list, and no banner on the terminal."""

from __future__ import annotations

import os
from typing import Sequence

import highspy
import pulp

__all__ = ["HighsWithStart"]


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


class HighsWithStart(pulp.HiGHS):
    """PuLP's HiGHS interface, handing a feasible start to the solver before it runs."""

    def __init__(self, start: Sequence[tuple[pulp.LpVariable, float]] | None, **kwargs):
        super().__init__(**kwargs)
        self._start = start

    def callSolver(self, lp):  # noqa: N802 - PuLP's name
        if self._start:
            values = [0.0] * lp.solverModel.getNumCol()
            for var, value in self._start:
                values[var.index] = value
            solution = highspy.HighsSolution()
            solution.col_value = values
            solution.value_valid = True
            lp.solverModel.setSolution(solution)
        super().callSolver(lp)

    def findSolutionValues(self, lp):  # noqa: N802 - PuLP's name
        # PuLP's table lacks some HiGHS statuses (kMemoryLimit, kSolutionLimit, kHighsInterrupt)
        # and raises KeyError on them after copying the values back. Our status comes from
        # HiGHS itself (``status_from_highs``), so PuLP's own reading only needs not to fail.
        try:
            return super().findSolutionValues(lp)
        except KeyError:
            return pulp.LpStatusNotSolved, pulp.LpSolutionNoSolutionFound
