"""Candidates that no offer as good as the incumbent can hold, read from one solved LP relaxation.

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
as the incumbent, and ``c`` leaves the pool.

The argument holds for any ``y``: an LP solved only roughly gives weaker bounds, never wrong ones.
Rows whose needed side is infinite get multiplier zero (also a valid choice). The relaxation may
carry bounds tightened against the incumbent (they hold for every offer as good as it) and any
valid cuts. ``docs/formulation.md`` section 3.4 has the derivation and the figures.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import highspy
import numpy as np

from pricing.optimizer.conic_cuts import OuterCuts, separate_conic_cuts
from pricing.optimizer.milp import OfferMilp

if TYPE_CHECKING:  # pool.py imports this module
    from pricing.optimizer.pool import Pool, Solved

__all__ = ["offered_bounds", "beaten_by", "Reduced", "drop_before_tightening", "drop_after_cuts",
           "EARLY_CUT_ROUNDS"]

# Cut rounds on the rules' bounds before the tightening: they make the bound strong enough to
# drop most candidates before the tightening LPs run (docs/benchmarks.md has the counts).
EARLY_CUT_ROUNDS = 2

_LOCAL_BLOCKS = ("take_le_offer", "take_ge_floor")


def _row_of_entries(start: np.ndarray, n: int) -> np.ndarray:
    return np.repeat(np.arange(n), np.diff(start))


def _reduced_costs(lp: highspy.HighsLp, y: np.ndarray) -> np.ndarray:
    """``c - A^T y`` for ``lp``'s matrix in either storage."""
    a = lp.a_matrix_
    start, index, value = np.asarray(a.start_), np.asarray(a.index_), np.asarray(a.value_)
    n_col = lp.num_col_
    if a.format_ == highspy.MatrixFormat.kColwise:
        col, row = _row_of_entries(start, n_col), index
    else:
        row, col = _row_of_entries(start, lp.num_row_), index
    return np.asarray(lp.col_cost_) - np.bincount(col, weights=value * y[row], minlength=n_col)


def _local_rows(milp, n_row: int) -> np.ndarray:
    """Mask of the rows that are one candidate's own (the program's blocks come first in any LP
    built from it; cuts and odds rows follow)."""
    local = np.zeros(n_row, dtype=bool)
    first = 0
    for block in milp.model.blocks:
        if block.name in _LOCAL_BLOCKS:
            local[first:first + len(block)] = True
        first += len(block)
    return local


def _best_side(weight: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """``max weight.x`` over ``lower <= x <= upper`` (``inf`` if unbounded)."""
    up, down = weight > 0, weight < 0
    return float(np.sum(weight[up] * upper[up]) + np.sum(weight[down] * lower[down]))


def offered_bounds(highs: highspy.Highs, milp) -> tuple[float, np.ndarray] | None:
    """``(bound, offered)`` in the program's objective units, from ``highs`` (an LP built from
    ``milp``'s model, maybe with cuts added, solved to optimality): ``bound`` over every point,
    ``offered[c]`` over the points with ``z_c = 1``. ``None`` when the LP has no usable duals."""
    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    lp = highs.getLp()
    y = np.array(highs.getSolution().row_dual, dtype=float)
    lower, upper = np.asarray(lp.row_lower_), np.asarray(lp.row_upper_)
    if len(y) != lp.num_row_:
        return None
    y[_local_rows(milp, lp.num_row_)] = 0.0
    # A multiplier pushing against an infinite side would give an infinite bound: zero it.
    y[((y > 0) & ~np.isfinite(upper)) | ((y < 0) & ~np.isfinite(lower))] = 0.0
    row_part = _best_side(y, lower, upper)
    r = _reduced_costs(lp, y)
    z, t = np.asarray(milp.z), np.asarray(milp.t)
    low = np.broadcast_to(milp.x0_low[None, :], t.shape)
    high = milp.take_high
    r_t = r[t]
    offered_gain = r[z] + np.maximum(r_t * low, r_t * high).sum(axis=1)
    offered_gain[(low > high + 1e-12).any(axis=1)] = -np.inf  # cannot be offered inside the bounds
    others = np.ones(lp.num_col_, dtype=bool)
    others[z] = False
    others[t.ravel()] = False
    box = _best_side(r[others], np.asarray(lp.col_lower_)[others], np.asarray(lp.col_upper_)[others])
    total = row_part + box + float(np.maximum(offered_gain, 0.0).sum())
    if not np.isfinite(total):
        return None
    return total, total - np.maximum(offered_gain, 0.0) + offered_gain


def beaten_by(highs: highspy.Highs, milp, level: float) -> np.ndarray:
    """(candidates,) mask of those whose offered bound is below ``level`` (objective units, the
    exact value of a feasible offer), with a margin for rounding; all False without duals."""
    bounds = offered_bounds(highs, milp)
    if bounds is None:
        return np.zeros(len(milp.z), dtype=bool)
    return bounds[1] < level - 1e-9 * max(1.0, abs(level))


@dataclass(frozen=True)
class Reduced:
    """A pool cut down from the whole one: ``kept`` holds its candidates' positions in the whole
    pool, ``incumbent`` the incumbent's positions in this one."""

    pool: Pool
    kept: np.ndarray
    incumbent: list[int] | None

    def without_beaten(self, milp: OfferMilp, highs) -> tuple["Reduced", np.ndarray | None]:
        """This pool less the candidates ``highs`` (``milp``'s relaxation over this pool, solved;
        ``None`` when it was not) proves to be in no offer as good as the incumbent, and the
        positions kept (``None`` when none left)."""
        if highs is None or self.incumbent is None:
            return self, None
        beaten = beaten_by(highs, milp, self.pool.value(self.incumbent) / milp.objective_scale)
        beaten[self.incumbent] = False
        if not beaten.any():
            return self, None
        keep = np.flatnonzero(~beaten)
        renumber = np.cumsum(~beaten) - 1
        return Reduced(self.pool.subset(keep), self.kept[keep], [int(renumber[c]) for c in self.incumbent]), keep

    def whole(self, solved: Solved) -> Solved:
        """``solved`` with its offer in the whole pool's positions."""
        return dataclasses.replace(solved, chosen=[int(self.kept[c]) for c in solved.chosen])


def _solved_relaxation(milp: OfferMilp, deadline: float):
    """``milp``'s LP relaxation run until ``deadline`` (a ``time.perf_counter()`` value)."""
    highs = milp.model.to_highs(integer=False)
    highs.setOptionValue("time_limit", max(min(deadline - time.perf_counter(), 1e9), 1e-3))
    highs.run()
    return highs


def drop_before_tightening(pool: Pool, incumbent: list[int] | None,
                            deadline: float) -> tuple[Reduced, OuterCuts | None]:
    """The pool less what a few rounds of cuts on the rules' bounds (or the plain relaxation,
    when cuts are off) prove beaten, and those cuts over what is left."""
    work = Reduced(pool, np.arange(len(pool.margin)), incumbent)
    if incumbent is None or not len(pool.margin):
        return work, None
    probe = pool.milp(with_draws=False)
    if not pool.cut_rounds:
        return work.without_beaten(probe, _solved_relaxation(probe, deadline))[0], None
    cuts = separate_conic_cuts(probe, rounds=min(EARLY_CUT_ROUNDS, pool.cut_rounds), deadline=deadline)
    work, keep = work.without_beaten(probe, cuts.final_lp)
    return work, cuts.subset(np.arange(len(pool.margin)) if keep is None else keep)


def drop_after_cuts(work: Reduced, milp: OfferMilp, cuts: OuterCuts | None,
                     deadline: float) -> tuple[Reduced, OfferMilp, OuterCuts | None]:
    """Drop what the root LP (the last cut round's, or the tightened relaxation without cuts)
    proves beaten, and rebuild the program over the rest with the same bounds and cuts."""
    lp = cuts.final_lp if cuts is not None else _solved_relaxation(milp, deadline)
    smaller, keep = work.without_beaten(milp, lp)
    if keep is None:
        return work, milp, cuts
    rebuilt = smaller.pool.milp((milp.x0_low, milp.x0_high))
    if cuts is not None:
        cuts = cuts.subset(keep)
        rebuilt.add_outer_approximation_cuts(cuts)
    return smaller, rebuilt, cuts
