"""Drop the candidates no offer as good as the incumbent can hold, before the MILP sees them.

The bound is :mod:`lagrangian_bound`'s, read from two LPs the solve runs anyway: the first cut
rounds over the rules' bounds (before the tightening, so that its LPs are smaller) and the last
cut round over the tightened bounds (so that the MILP is). A dropped candidate is in no offer
worth the incumbent's value, so the optimum, its bound and its proof over what is left hold for
the whole pool. ``docs/formulation.md`` section 3 ("Candidates the root LP rules out") has the
argument and the counts.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from pricing.optimizer.conic_cuts import OuterCuts, separate_conic_cuts
from pricing.optimizer.lagrangian_bound import beaten_by
from pricing.optimizer.milp import OfferMilp

if TYPE_CHECKING:  # pool.py imports this module
    from pricing.optimizer.pool import Pool, Solved

__all__ = ["Reduced", "drop_before_tightening", "drop_after_cuts", "EARLY_CUT_ROUNDS"]

# Cut rounds on the rules' bounds before the tightening: they make the bound strong enough to
# drop most candidates before the tightening LPs run (docs/benchmarks.md has the counts).
EARLY_CUT_ROUNDS = 2
# Candidates per bundle the first LP starts from; the others join as their duals ask
# (conic_cuts, column generation).
FIRST_COLUMNS_PER_BUNDLE = 12


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
        positions kept in this pool (``None`` when nothing was dropped)."""
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
    cuts = separate_conic_cuts(probe, rounds=min(EARLY_CUT_ROUNDS, pool.cut_rounds), deadline=deadline,
                               active=_first_columns(pool, incumbent))
    work, keep = work.without_beaten(probe, cuts.final_lp)
    return work, cuts.subset(np.arange(len(pool.margin)) if keep is None else keep)


def _first_columns(pool: Pool, incumbent: list[int]) -> np.ndarray:
    """The candidates the first LP starts from: the incumbent's and the best ones alone (each
    offered on its own to every segment), ``FIRST_COLUMNS_PER_BUNDLE`` per bundle."""
    alone = (pool.attraction / (1.0 + pool.attraction)) @ pool.shares * pool.weight
    active = np.zeros(len(alone), dtype=bool)
    active[np.argsort(-alone)[:FIRST_COLUMNS_PER_BUNDLE * pool.settings.max_bundles]] = True
    active[incumbent] = True
    return active


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
