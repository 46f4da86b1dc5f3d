"""Solve status: what the solver proved, mapped from HiGHS's own model status in one table.

PuLP folds a HiGHS run stopped by its time limit into ``LpStatusOptimal``; this module reads
``Highs.getModelStatus()`` instead, so a time-limited run is never called optimal.
"""

from __future__ import annotations

import enum

import highspy

__all__ = ["SolveStatus", "status_from_highs"]


class SolveStatus(enum.Enum):
    """Outcome of one optimization.

    ``OPTIMAL``: an offer proven optimal within the relative gap. ``TIME_LIMIT``: stopped by the
    time limit with a feasible offer whose gap is reported. ``INFEASIBLE``: no offer meets the
    rules and the target. ``NO_SOLUTION``: stopped before any feasible offer was found.
    ``ERROR``: the solver failed.
    """

    OPTIMAL = "optimal"
    TIME_LIMIT = "time_limit"
    INFEASIBLE = "infeasible"
    NO_SOLUTION = "no_solution"
    ERROR = "error"

    @property
    def is_ok(self) -> bool:
        """True when there is an offer that may be shown and written."""
        return self in (SolveStatus.OPTIMAL, SolveStatus.TIME_LIMIT)

    @property
    def proven_optimal(self) -> bool:
        return self is SolveStatus.OPTIMAL


_M = highspy.HighsModelStatus
# HiGHS model status -> (status with a feasible point, status without one)
_TABLE: dict[object, tuple[SolveStatus, SolveStatus]] = {
    _M.kOptimal: (SolveStatus.OPTIMAL, SolveStatus.ERROR),
    _M.kInfeasible: (SolveStatus.INFEASIBLE, SolveStatus.INFEASIBLE),
    _M.kUnboundedOrInfeasible: (SolveStatus.INFEASIBLE, SolveStatus.INFEASIBLE),
    _M.kTimeLimit: (SolveStatus.TIME_LIMIT, SolveStatus.NO_SOLUTION),
    _M.kIterationLimit: (SolveStatus.TIME_LIMIT, SolveStatus.NO_SOLUTION),
    _M.kSolutionLimit: (SolveStatus.TIME_LIMIT, SolveStatus.NO_SOLUTION),
    _M.kInterrupt: (SolveStatus.TIME_LIMIT, SolveStatus.NO_SOLUTION),
    _M.kObjectiveBound: (SolveStatus.TIME_LIMIT, SolveStatus.NO_SOLUTION),
    _M.kObjectiveTarget: (SolveStatus.TIME_LIMIT, SolveStatus.NO_SOLUTION),
}
if hasattr(_M, "kHighsInterrupt"):  # an interrupt from a callback (newer highspy): stopped early
    _TABLE[_M.kHighsInterrupt] = (SolveStatus.TIME_LIMIT, SolveStatus.NO_SOLUTION)


def status_from_highs(model_status: object, has_solution: bool) -> SolveStatus:
    """Map a ``highspy.HighsModelStatus`` to :class:`SolveStatus`; anything unlisted is ``ERROR``."""
    pair = _TABLE.get(model_status)
    if pair is None:
        return SolveStatus.ERROR
    return pair[0] if has_solution else pair[1]
