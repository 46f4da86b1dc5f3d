"""Drop the candidates no offer as good as the incumbent can hold, before the MILP sees them.

The bound is :mod:`lagrangian_bound`'s, read from LPs the solve runs anyway: over a large pool (or
under offer rules) the plain relaxation priced outside HiGHS, then the first cut rounds over the
rules' bounds (before the tightening, so that its LPs are smaller) and the last cut round over the
tightened bounds (so that the MILP is). Each of those LPs' answers, rounded, may also give a better
incumbent (:meth:`Reduced.with_rounded`). A dropped candidate is in no offer
worth the incumbent's value, so the optimum, its bound and its proof over what is left hold for
the whole pool. ``docs/formulation.md`` section 3 ("Candidates the root LP rules out") has the
argument and the counts.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import highspy
import numpy as np

from pricing.optimizer.conic_cuts import OuterCuts, separate_conic_cuts
from pricing.optimizer.lagrangian_bound import (LOCAL_BLOCKS, LpArrays, beaten_by, beaten_from_gains, gains_from_duals,
                                               joining)
from pricing.optimizer.lp_arrays import lp_from_coo
from pricing.optimizer.milp import OfferMilp

if TYPE_CHECKING:  # pool.py imports this module
    from pricing.optimizer.pool import Pool, Solved

__all__ = ["Reduced", "Priced", "price_relaxation", "best_alone", "drop_before_tightening", "drop_by_pricing",
           "drop_after_cuts", "EARLY_CUT_ROUNDS", "PRICED_POOL"]

# Cut rounds on the rules' bounds before the tightening: they make the bound strong enough to
# drop most candidates before the tightening LPs run (docs/benchmarks.md has the counts).
EARLY_CUT_ROUNDS = 2
# Candidates per bundle the first LP starts from; the others join as their duals ask
# (conic_cuts, column generation).
FIRST_COLUMNS_PER_BUNDLE = 12
# Pools above this many candidates (and every pool under offer rules) first get a plain-LP drop
# priced outside HiGHS (:func:`price_relaxation`): with the held columns inside it, HiGHS took 22 s
# over the 37,808 unpruned shipped candidates.
PRICED_POOL = 2_000
# The price of a unit of slack on a coupling row in the priced LP, per unit of the largest
# objective coefficient: far above any dual such a row has when the LP can keep it.
ELASTIC_PENALTY = 1e3
_COUPLING_BLOCKS = ("attach_target", "goal_", "pinned")
# The program's blocks of one row per candidate and segment, touching only that candidate's
# columns and its segment's no-bundle share (``lagrangian_bound.LOCAL_BLOCKS`` among them).
_PER_CANDIDATE = ("take_le_offer", "take_le_no_bundle", "take_ge_floor", "take_ge_no_bundle")


@dataclass(frozen=True)
class Reduced:
    """A pool cut down from the whole one: ``kept`` holds its candidates' positions in the whole
    pool, ``incumbent`` the incumbent's positions in this one."""

    pool: Pool
    kept: np.ndarray
    incumbent: list[int] | None
    # A bound on every offer of the whole pool (per buyer) found on the way, or None.
    bound: float | None = None

    def without_beaten(self, milp: OfferMilp, highs) -> tuple["Reduced", np.ndarray | None]:
        """This pool less the candidates ``highs`` (``milp``'s relaxation over this pool, solved;
        ``None`` when it was not) proves to be in no offer as good as the incumbent, and the
        positions kept in this pool (``None`` when nothing was dropped)."""
        if highs is None or self.incumbent is None:
            return self, None
        return self.without(beaten_by(highs, milp, self.level(milp)))

    def level(self, milp: OfferMilp) -> float:
        """The incumbent's exact value in ``milp``'s objective units."""
        return self.pool.value(self.incumbent) / milp.objective_scale

    def without(self, beaten: np.ndarray) -> tuple["Reduced", np.ndarray | None]:
        """This pool less the candidates ``beaten`` marks (never the incumbent's), and the
        positions kept (``None`` when nothing was dropped)."""
        beaten = np.array(beaten, dtype=bool)
        beaten[self.incumbent] = False
        if not beaten.any():
            return self, None
        keep = np.flatnonzero(~beaten)
        renumber = np.cumsum(~beaten) - 1
        return Reduced(self.pool.subset(keep), self.kept[keep], [int(renumber[c]) for c in self.incumbent],
                       self.bound), keep

    def with_rounded(self, milp: OfferMilp, highs) -> "Reduced":
        """This pool with the answer of ``highs`` (an LP built from ``milp``'s model, solved;
        ``None`` when it was not) rounded (``Pool.rounded``) and improved by the swap search as
        its incumbent, when that keeps every rule and goal and is worth more. A better incumbent
        lies inside bounds tightened against a worse one, and makes the next drop and the MILP's
        pruning stronger (``docs/formulation.md`` section 3, "Incumbent")."""
        if self.incumbent is None or highs is None or highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return self
        x = np.asarray(highs.getSolution().col_value)
        found = self.pool.improved(self.pool.rounded(x[np.asarray(milp.z)]))
        if found is None or self.pool.value(found) <= self.pool.value(self.incumbent):
            return self
        return dataclasses.replace(self, incumbent=found)

    def whole(self, solved: Solved) -> Solved:
        """``solved`` with its offer in the whole pool's positions."""
        return dataclasses.replace(solved, chosen=[int(self.kept[c]) for c in solved.chosen])


@dataclass(frozen=True)
class Priced:
    """The plain relaxation's bound over a whole pool, from :func:`price_relaxation`: ``total``
    over every offer and ``gain[c]`` what offering candidate ``c`` adds to it (objective units of
    a program whose ``objective_scale`` is ``scale``)."""

    total: float
    gain: np.ndarray
    scale: float
    z: np.ndarray  # (candidates,) each offer column's value at the LP's optimum (0 when held out)
    empty: bool = False  # proven: no point of the program keeps the target, goals and pins

    @property
    def bound(self) -> float:
        """The bound on every offer of the pool, in CNY per buyer."""
        return self.total * self.scale

    @property
    def offered(self) -> np.ndarray:
        """(candidates,) the bound on every offer holding each candidate, in CNY per buyer."""
        return (self.total - np.maximum(self.gain, 0.0) + self.gain) * self.scale

    def beaten(self, value: float) -> np.ndarray:
        """(candidates,) mask of those in no offer worth ``value`` (CNY per buyer, the exact
        value of a feasible offer)."""
        return beaten_from_gains(self.total, self.gain, value / self.scale)

    def best(self, count: int) -> np.ndarray:
        """(candidates,) mask of the ``count`` candidates with the highest offered bound: where
        the incumbent searches first (``Pool.search``)."""
        mask = np.zeros(len(self.gain), dtype=bool)
        mask[np.argsort(-self.offered, kind="stable")[:count]] = True
        return mask


def drop_before_tightening(pool: Pool, incumbent: list[int] | None, deadline: float,
                           priced: Priced | None = None) -> tuple[Reduced, OuterCuts | None]:
    """The pool less what ``priced`` (the plain relaxation over the whole pool, when it was
    priced) and then a few rounds of cuts on the rules' bounds (or the plain relaxation, when
    cuts are off) prove beaten, and those cuts over what is left."""
    work = Reduced(pool, np.arange(len(pool.margin)), incumbent,
                   None if priced is None else priced.bound)
    if incumbent is None or not len(pool.margin):
        return work, None
    if priced is not None:
        work = drop_priced(work, priced)
    elif len(pool.margin) > PRICED_POOL:
        work = drop_by_pricing(work, deadline)
    if time.perf_counter() > deadline:
        return work, None
    small = work.pool
    probe = small.milp(with_draws=False)
    if not small.cut_rounds:
        return work.without_beaten(probe, probe.solved_relaxation(deadline))[0], None
    cuts = separate_conic_cuts(probe, rounds=min(EARLY_CUT_ROUNDS, small.cut_rounds), deadline=deadline,
                               active=_first_columns(small, work.incumbent))
    work, keep = work.with_rounded(probe, cuts.final_lp).without_beaten(probe, cuts.final_lp)
    return work, cuts.subset(np.arange(len(small.margin)) if keep is None else keep)


def drop_priced(work: Reduced, priced: Priced) -> Reduced:
    """``work`` (the whole priced pool) less the candidates ``priced`` proves beaten by the
    incumbent, with the priced bound kept as ``work.bound``."""
    bounded = dataclasses.replace(work, bound=priced.bound)
    return bounded.without(priced.beaten(work.pool.value(work.incumbent)))[0]


def drop_by_pricing(work: Reduced, deadline: float) -> Reduced:
    """``work`` less what the plain relaxation's bound over it rules out (:func:`price_relaxation`,
    its start from the incumbent's candidates); unchanged when the LP was not solved in time."""
    priced = price_relaxation(work.pool, deadline, work.incumbent)
    return work if priced is None else drop_priced(work, priced)


def price_relaxation(pool: Pool, deadline: float, incumbent: list[int] | None = None) -> Priced | None:
    """The plain relaxation's bound over ``pool`` by column generation, with the candidates
    outside the LP priced in numpy (never handed to HiGHS); ``None`` when an LP was not solved by
    ``deadline``. Needs no incumbent: its candidates only join the first LP when given.

    The LP holds the candidates the duals asked for so far: their columns, the rows they touch
    and the rows that touch no candidate; every other row has multiplier zero, which the bound
    allows (``lagrangian_bound``). Each round prices every candidate from the full program's
    arrays and brings in those whose offer would raise the bound, until none would. The rows
    that ask something of the offer (target, goals, pins) may be missed at a penalty, so that an
    LP over a few candidates is never infeasible; when the last LP still misses one, a second
    generation minimises the shortfall alone, and a shortfall that stays proves that no offer
    keeps those rows (``Priced.empty``: a Farkas certificate, priced over every candidate)."""
    generation = _ColumnGeneration(pool.milp(with_draws=False))
    active = _first_columns(pool, incumbent)
    cost = generation.full.model.cost
    penalty = ELASTIC_PENALTY * max(1.0, float(np.abs(cost).max(initial=0.0)))
    found = generation.run(active, cost, penalty, deadline)
    if found is None:
        return None
    total, gain, z, shortfall = found
    if shortfall > 1e-9:
        phase_one = generation.run(active, np.zeros_like(cost), 1.0, deadline)
        # Its bound is over every point of the program, for the objective zero: below zero, there is none.
        if phase_one is not None and phase_one[0] < -1e-6:
            return Priced(total, gain, generation.full.objective_scale, z, empty=True)
        if phase_one is not None and phase_one[3] <= 1e-9:
            # Its columns keep every row: from them the LP needs no slack, and its duals are the
            # program's own (with the pinned pad and a margin-rate goal on the shipped data, the
            # penalised LP kept slack and its bound left 23,714 candidates against 4,747).
            exact = generation.run(active, cost, None, deadline)
            if exact is not None:
                total, gain, z, _ = exact
    return Priced(total, gain, generation.full.objective_scale, z)


class _ColumnGeneration:
    """The program's arrays as :func:`price_relaxation` needs them: the rows several candidates
    share, over every candidate, and each candidate's own rows (one per segment in each of the
    ``_PER_CANDIDATE`` blocks) only for the candidates the LP holds, all in the program's block
    order (so that the LP, and the duals HiGHS picks, are the ones of the whole program). Another
    candidate's own rows have multiplier zero, so the bound is the same; over the 37,808 shipped
    candidates they were 1.5 of the program's 2.9 million entries."""

    def __init__(self, full: OfferMilp):
        self.full = full
        self.n_seg = len(full.alpha)
        self.col_lower, self.col_upper = full.model.col_bounds()
        n = len(full.z)
        self.owner = owner = np.full(len(full.model.cost), -1, dtype=np.int64)
        owner[full.z] = np.arange(n)
        owner[np.asarray(full.t)] = np.arange(n)[:, None]
        self.blocks: list[tuple] = []  # (block, None) for own blocks, (block, shared arrays) for the others
        for block in full.model.blocks:
            if block.name in _PER_CANDIDATE:
                # One row per candidate and segment, candidate-major: ``arrays`` picks them so.
                assert len(block) == n * self.n_seg, block.name
                self.blocks.append((block, None))
                continue
            row = np.repeat(np.arange(len(block)), np.diff(block.starts))
            entry_owner = owner[block.index]
            touches = np.zeros(len(block), dtype=bool)
            touches[row[entry_owner >= 0]] = True
            self.blocks.append((block, (row, entry_owner, touches)))

    def arrays(self, active: np.ndarray, cost: np.ndarray) -> tuple[LpArrays, np.ndarray, np.ndarray, np.ndarray]:
        """The program's arrays over the shared rows and the ``active`` candidates' own rows, and
        three row masks: the rows the restricted LP keeps, the coupling rows, and the candidates'
        own rows whose multiplier the bound sets to zero (``lagrangian_bound.LOCAL_BLOCKS``)."""
        held = np.flatnonzero(active)
        picked = (held[:, None] * self.n_seg + np.arange(self.n_seg)[None, :]).ravel()
        parts: list[tuple] = []  # (rows, cols, values, lower, upper, keep, coupling, local)
        first = 0
        for block, shared in self.blocks:
            if shared is None:
                begin, counts = block.starts[picked], np.diff(block.starts)[picked]
                entries = np.repeat(begin - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
                n_rows = len(picked)
                parts.append((first + np.repeat(np.arange(n_rows), counts), block.index[entries], block.value[entries],
                              block.lower[picked], block.upper[picked], np.ones(n_rows, dtype=bool),
                              np.zeros(n_rows, dtype=bool), np.full(n_rows, block.name in LOCAL_BLOCKS)))
            else:
                row, entry_owner, touches = shared
                n_rows = len(block)
                coupling = block.name.startswith(_COUPLING_BLOCKS)
                # A coupling row stays even when no candidate held touches it (a pin none of them
                # holds): its slack's price then asks for the candidates that can keep it.
                keep = np.full(n_rows, True) if coupling else ~touches
                keep[row[(entry_owner >= 0) & active[np.maximum(entry_owner, 0)]]] = True
                parts.append((first + row, block.index, block.value, block.lower, block.upper, keep,
                              np.full(n_rows, coupling), np.zeros(n_rows, dtype=bool)))
            first += n_rows
        rows, cols, values, lower, upper, keep, coupling, local = (np.concatenate(p) for p in zip(*parts))
        return LpArrays(cost, self.col_lower, self.col_upper, lower, upper, rows, cols, values), keep, coupling, local

    def run(self, active: np.ndarray, cost: np.ndarray, penalty: float | None,
            deadline: float) -> tuple[float, np.ndarray, np.ndarray, float] | None:
        """Generate columns from ``active`` (changed in place) for the objective ``cost`` until no
        candidate would raise the bound: ``(total, gain, z, shortfall)``, ``shortfall`` being the
        slack the last LP kept on the coupling rows (``penalty`` its price; ``None``: no slack)."""
        owner, full = self.owner, self.full
        while True:
            lp, keep_row, coupling, local = self.arrays(active, cost)
            keep_col = (owner < 0) | active[np.maximum(owner, 0)]
            entry = keep_row[lp.row] & keep_col[lp.col]
            new_col, new_row = np.cumsum(keep_col) - 1, np.cumsum(keep_row) - 1
            # One slack column at ``-penalty`` per coupling row kept: the duals it allows (at most
            # the penalty) give a valid bound all the same.
            slack = new_row[np.flatnonzero(keep_row & coupling)] if penalty is not None else np.zeros(0, dtype=np.int64)
            n_kept = int(keep_col.sum())
            highs = lp_from_coo(np.concatenate([lp.cost[keep_col], np.full(len(slack), -(penalty or 0.0))]),
                                np.concatenate([lp.col_lower[keep_col], np.zeros(len(slack))]),
                                np.concatenate([lp.col_upper[keep_col], np.full(len(slack), np.inf)]),
                                lp.row_lower[keep_row], lp.row_upper[keep_row],
                                np.concatenate([new_row[lp.row[entry]], slack]),
                                np.concatenate([new_col[lp.col[entry]], n_kept + np.arange(len(slack))]),
                                np.concatenate([lp.value[entry], np.ones(len(slack))]))
            highs.setOptionValue("time_limit", max(min(deadline - time.perf_counter(), 1e9), 1e-3))
            highs.run()
            if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                return None
            y = np.zeros(len(lp.row_lower))
            y[keep_row] = np.asarray(highs.getSolution().row_dual)
            gains = gains_from_duals(lp, y, full, local=local)
            if gains is None:
                return None
            total, gain = gains
            more = joining(~active, total, gain)
            if not len(more):
                x = np.asarray(highs.getSolution().col_value)
                z = np.zeros(len(full.z))
                z[active] = x[new_col[np.asarray(full.z)[active]]]
                return total, gain, z, float(x[n_kept:].sum())
            active[more] = True


def _first_columns(pool: Pool, incumbent: list[int] | None) -> np.ndarray:
    """The candidates the first LP starts from: the incumbent's (when known) and the best ones
    alone, ``FIRST_COLUMNS_PER_BUNDLE`` per bundle."""
    active = best_alone(pool, FIRST_COLUMNS_PER_BUNDLE * pool.settings.max_bundles)
    if incumbent is not None:
        active[incumbent] = True
    return active


def best_alone(pool: Pool, count: int) -> np.ndarray:
    """(candidates,) mask of the ``count`` candidates worth most offered on their own to every
    segment."""
    alone = (pool.attraction / (1.0 + pool.attraction)) @ pool.shares * pool.weight
    active = np.zeros(len(alone), dtype=bool)
    active[np.argsort(-alone, kind="stable")[:count]] = True
    return active


def drop_after_cuts(work: Reduced, milp: OfferMilp, cuts: OuterCuts | None,
                    deadline: float) -> tuple[Reduced, OfferMilp, OuterCuts | None]:
    """Drop what the root LP (the last cut round's, or the tightened relaxation without cuts)
    proves beaten, and rebuild the program over the rest with the same bounds and cuts."""
    lp = cuts.final_lp if cuts is not None else milp.solved_relaxation(deadline)
    smaller, keep = work.without_beaten(milp, lp)
    if keep is None:
        return work, milp, cuts
    rebuilt = smaller.pool.milp((milp.x0_low, milp.x0_high))
    if cuts is not None:
        cuts = cuts.subset(keep)
        rebuilt.add_outer_approximation_cuts(cuts)
    return smaller, rebuilt, cuts
