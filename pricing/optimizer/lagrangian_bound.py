"""A bound on every offer holding a given candidate, read from the duals of one solved LP relaxation.

Take the relaxation ``max c.x`` over rows ``L <= A x <= U`` and column bounds, solved, with row
duals ``y``. For any multipliers ``y`` whatsoever (weak duality)::

    c.x = y.(A x) + r.x,    r = c - A^T y,
    y.(A x) <= sum_i (y_i U_i if y_i > 0 else y_i L_i)      for every x keeping the rows,

so ``c.x`` is at most that row part plus the largest ``r.x`` over any set that holds every point
of the program. Here that set keeps each candidate's own rows instead of pricing them: with
``z_c`` its offer column and ``t_cs`` its takes, ``L_s z_c <= t_cs <= H_cs z_c`` (the program's
``take_ge_floor`` and ``take_le_offer`` rows, whose duals are set to zero). Over that set
``r.x`` splits by candidate: candidate ``c`` adds ``max(0, g_c)`` with
``g_c = r_z + sum_s max(r_t L_s, r_t H_cs)``, its value when offered; every other column adds the
best of its two bounds. Offering ``c`` (``z_c = 1``) gives the bound with ``g_c`` in place of
``max(0, g_c)``. When that bound is below the incumbent's value, no offer holding ``c`` is as good
as the incumbent, and ``c`` may leave the pool (:mod:`bound_fixing`).

The argument holds for any ``y``: an LP solved only roughly, or over some of the candidates
only (the others held at zero), gives weaker bounds, never wrong ones; the column bounds of
``z`` and ``t`` are read from the program, not from the LP. With ``g_c <= 0`` for every candidate
held at zero, the bound equals the full LP's (column generation, :mod:`conic_cuts`).
Rows whose needed side is infinite get multiplier zero (also a valid choice). The relaxation may
carry bounds tightened against the incumbent (they hold for every offer as good as it) and any
valid cuts. ``docs/formulation.md`` section 3 ("Candidates the root LP rules out") has the derivation.
"""
from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np

__all__ = ["LOCAL_BLOCKS", "LpArrays", "local_rows", "offered_gains", "gains_from_duals", "usable_multipliers",
           "rows_part", "gains_from_reduced_costs", "offered_bounds", "beaten_by", "beaten_from_gains", "joining"]

LOCAL_BLOCKS = ("take_le_offer", "take_ge_floor")


@dataclass(frozen=True)
class LpArrays:
    """An LP ``max cost.x``, ``row_lower <= A x <= row_upper``, ``col_lower <= x <= col_upper``
    with ``A`` as coordinates (``row``, ``col``, ``value``)."""

    cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    row: np.ndarray
    col: np.ndarray
    value: np.ndarray

    @classmethod
    def of_highs(cls, highs: highspy.Highs) -> "LpArrays":
        lp = highs.getLp()
        a = lp.a_matrix_
        start, index = np.asarray(a.start_), np.asarray(a.index_)
        if a.format_ == highspy.MatrixFormat.kColwise:
            col, row = np.repeat(np.arange(lp.num_col_), np.diff(start)), index
        else:
            row, col = np.repeat(np.arange(lp.num_row_), np.diff(start)), index
        return cls(np.asarray(lp.col_cost_), np.asarray(lp.col_lower_), np.asarray(lp.col_upper_),
                   np.asarray(lp.row_lower_), np.asarray(lp.row_upper_), row, col, np.asarray(a.value_))

    @classmethod
    def of_model(cls, model) -> "LpArrays":
        """From a :class:`lp_arrays.LinearModel`, without HiGHS."""
        row, col, value, row_lower, row_upper = model.coo()
        col_lower, col_upper = model.col_bounds()
        return cls(model.cost, col_lower, col_upper, row_lower, row_upper, row, col, value)


def local_rows(milp, n_row: int) -> np.ndarray:
    """Mask of the rows that are one candidate's own (the program's blocks come first in any LP
    built from it; cuts and odds rows follow)."""
    local = np.zeros(n_row, dtype=bool)
    first = 0
    for block in milp.model.blocks:
        if block.name in LOCAL_BLOCKS:
            local[first:first + len(block)] = True
        first += len(block)
    return local


def _best_side(weight: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """``max weight.x`` over ``lower <= x <= upper`` (``inf`` if unbounded)."""
    up, down = weight > 0, weight < 0
    return float(np.sum(weight[up] * upper[up]) + np.sum(weight[down] * lower[down]))


def offered_gains(highs: highspy.Highs, milp,
                  local: np.ndarray | None = None) -> tuple[float, np.ndarray] | None:
    """``(bound, gain)`` in the program's objective units, from ``highs`` (an LP built from
    ``milp``'s model, maybe with cuts added and some candidates held at zero, solved to
    optimality): ``bound`` over every point of the program, ``gain[c]`` (``g_c``) what offering
    candidate ``c`` adds to it. ``None`` when the LP has no usable duals. ``local`` marks the
    LP's rows that are candidates' own ``LOCAL_BLOCKS`` rows (default: read from ``milp``'s
    blocks, for an LP whose first rows are the program's)."""
    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    y = np.array(highs.getSolution().row_dual, dtype=float)
    if len(y) != highs.getNumRow():
        return None
    return gains_from_duals(LpArrays.of_highs(highs), y, milp, local)


def gains_from_duals(lp: LpArrays, y: np.ndarray, milp,
                     local: np.ndarray | None = None) -> tuple[float, np.ndarray] | None:
    """:func:`offered_gains` from any row multipliers ``y`` (one per row of ``lp``, which is
    ``milp``'s model, maybe with rows added after its own, or rows of it in another order with
    ``local`` the mask of the candidates' own rows): the argument holds for every ``y``."""
    y = usable_multipliers(y, lp.row_lower, lp.row_upper, local_rows(milp, len(y)) if local is None else local)
    r = lp.cost - np.bincount(lp.col, weights=lp.value * y[lp.row], minlength=len(lp.cost))
    return gains_from_reduced_costs(_best_side(y, lp.row_lower, lp.row_upper), r, lp.col_lower, lp.col_upper, milp)


def usable_multipliers(y: np.ndarray, lower: np.ndarray, upper: np.ndarray, local: np.ndarray) -> np.ndarray:
    """A copy of the row multipliers ``y`` with those the bound does not use set to zero: the
    candidates' own rows (``local``) and any pushing against an infinite side (it would give
    an infinite bound)."""
    y = np.array(y, dtype=float)
    y[local] = 0.0
    y[((y > 0) & ~np.isfinite(upper)) | ((y < 0) & ~np.isfinite(lower))] = 0.0
    return y


def rows_part(y: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """``max y.(A x)`` over the rows' sides: the part of the bound the rows give."""
    return _best_side(y, lower, upper)


def gains_from_reduced_costs(row_part: float, r: np.ndarray, col_lower: np.ndarray, col_upper: np.ndarray,
                             milp) -> tuple[float, np.ndarray] | None:
    """:func:`gains_from_duals` from the rows' part of the bound and the reduced costs
    ``r = c - A^T y`` of every column of ``milp``'s model (with those bounds)."""
    z, t = np.asarray(milp.z), np.asarray(milp.t)
    low = np.broadcast_to(milp.x0_low[None, :], t.shape)
    high = milp.take_high
    r_t = r[t]
    offered_gain = r[z] + np.maximum(r_t * low, r_t * high).sum(axis=1)
    offered_gain[(low > high + 1e-12).any(axis=1)] = -np.inf  # cannot be offered inside the bounds
    others = np.ones(len(r), dtype=bool)
    others[z] = False
    others[t.ravel()] = False
    box = _best_side(r[others], col_lower[others], col_upper[others])
    total = row_part + box + float(np.maximum(offered_gain, 0.0).sum())
    if not np.isfinite(total):
        return None
    return total, offered_gain


def offered_bounds(highs: highspy.Highs, milp) -> tuple[float, np.ndarray] | None:
    """``(bound, offered)``: ``bound`` as in :func:`offered_gains`, ``offered[c]`` the bound over
    the points with ``z_c = 1``."""
    gains = offered_gains(highs, milp)
    if gains is None:
        return None
    total, gain = gains
    return total, total - np.maximum(gain, 0.0) + gain


def beaten_by(highs: highspy.Highs, milp, level: float, local: np.ndarray | None = None) -> np.ndarray:
    """(candidates,) mask of those whose offered bound is below ``level`` (objective units, the
    exact value of a feasible offer), with a margin for rounding; all False without duals.
    ``local`` as in :func:`offered_gains`."""
    gains = offered_gains(highs, milp, local)
    return np.zeros(len(milp.z), dtype=bool) if gains is None else beaten_from_gains(*gains, level)


def beaten_from_gains(total: float, gain: np.ndarray, level: float) -> np.ndarray:
    """:func:`beaten_by` from a bound and its gains (:func:`gains_from_duals`)."""
    offered = total - np.maximum(gain, 0.0) + gain
    return offered < level - 1e-9 * max(1.0, abs(level))


def joining(held: np.ndarray, total: float, gain: np.ndarray) -> np.ndarray:
    """Column generation's next candidates: of those ``held`` out of the LP, the ones whose offer
    would raise the bound ``total`` by more than 1e-9 of it, the most promising first and as many
    as are in the LP already (at least 50); empty when the LP's bound is the full one."""
    rising = np.flatnonzero(held & (gain > 1e-9 * max(1.0, abs(total))))
    return rising[np.argsort(-gain[rising])][:max(50, int((~held).sum()))]
