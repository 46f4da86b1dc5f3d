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
from pricing.optimizer.lagrangian_bound import (LOCAL_BLOCKS, beaten_by, beaten_from_gains, gains_from_reduced_costs,
                                               joining, rows_part, usable_multipliers)
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


@dataclass(frozen=True)
class Reduced:
    """A pool cut down from the whole one: ``kept`` holds its candidates' positions in the whole
    pool, ``incumbent`` the incumbent's positions in this one."""

    pool: Pool
    kept: np.ndarray
    incumbent: list[int] | None
    # A bound on every offer of the whole pool (per buyer) found on the way, or None.
    bound: float | None = None

    def without_beaten(self, milp: OfferMilp, highs,
                       local: np.ndarray | None = None) -> tuple["Reduced", np.ndarray | None]:
        """This pool less the candidates ``highs`` (``milp``'s relaxation over this pool, solved;
        ``None`` when it was not; ``local`` its own-row mask, ``lagrangian_bound.offered_gains``)
        proves to be in no offer as good as the incumbent, and the positions kept in this pool
        (``None`` when nothing was dropped)."""
        if highs is None or self.incumbent is None:
            return self, None
        return self.without(beaten_by(highs, milp, self.level(milp), local))

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
    if not small.cut_rounds:
        probe = small.milp(with_draws=False)
        return work.without_beaten(probe, probe.solved_relaxation(deadline))[0], None
    # The cut LP starts from a few candidates and brings in the others its duals ask for; the
    # own rows of those it holds out are built only when they join (``conic_cuts``).
    active = _first_columns(small, work.incumbent)
    probe = small.milp(with_draws=False, own_rows=active)
    cuts = separate_conic_cuts(probe, rounds=min(EARLY_CUT_ROUNDS, small.cut_rounds), deadline=deadline,
                               active=active)
    work = work.with_rounded(probe, cuts.final_lp)
    work, keep = work.without_beaten(probe, cuts.final_lp, cuts.final_local)
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
    generation = _ColumnGeneration(pool.milp(with_draws=False, own_rows=False))
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
    share, over every candidate, built once (``full`` is built without the candidates' own
    rows), and each candidate's own rows (``OfferMilp.own_rows``) only for the candidates the LP
    holds. Another candidate's own rows have multiplier zero, so the bound is the same; over
    the 37,808 shipped candidates they were 1.5 of the program's 2.9 million entries. The
    restricted LP keeps the program's row order (so that the duals HiGHS picks are those of
    the whole program's LP over the same columns)."""

    def __init__(self, full: OfferMilp):
        self.full = full
        self.col_lower, self.col_upper = full.model.col_bounds()
        n = len(full.z)
        self.owner = owner = np.full(len(full.model.cost), -1, dtype=np.int64)
        owner[full.z] = np.arange(n)
        owner[np.asarray(full.t)] = np.arange(n)[:, None]
        blocks = full.model.blocks
        lengths = np.array([len(b) for b in blocks], dtype=np.int64)
        # Shared rows numbered in the program's order; the own rows go between the first
        # ``before`` of them and the rest.
        self.before = int(lengths[:full.own_rows_at].sum())
        self.coupling = np.repeat([b.name.startswith(_COUPLING_BLOCKS) for b in blocks], lengths).astype(bool)
        self.row, self.col, self.value, self.lower, self.upper = full.model.coo()
        # The program's blocks now live on as these coordinates only (about 30 MB on the shipped
        # data): ``full`` is built for this generation alone and never solved.
        full.model.blocks = []
        self.unowned = owner[self.col] < 0  # entries in a column no candidate owns
        touches = np.zeros(len(self.lower), dtype=bool)
        touches[self.row[~self.unowned]] = True
        # A row touching no candidate always stays; so does a coupling row, even when no
        # candidate held touches it (a pin none of them holds): its slack's price then asks
        # for the candidates that can keep it. Any other row stays once a held candidate
        # touches it.
        self.always = self.coupling | ~touches

    def restricted(self, active: np.ndarray, cost: np.ndarray, penalty: float | None) -> "_Restricted":
        """The LP over the ``active`` candidates' columns (and every column no candidate owns),
        the shared rows they touch or that must stay, and their own rows; with one slack
        column at ``-penalty`` per coupling row (none when ``penalty`` is ``None``)."""
        own = _OwnRows.of(self.full.own_rows(np.flatnonzero(active)))
        held_col = (self.owner >= 0) & active[np.maximum(self.owner, 0)]
        keep_col = (self.owner < 0) | held_col
        on_held = held_col[self.col]
        keep = self.always.copy()
        keep[self.row[on_held]] = True
        kept_before, kept_after = np.flatnonzero(keep[:self.before]), self.before + np.flatnonzero(keep[self.before:])
        position = np.full(len(keep), -1, dtype=np.int64)  # each kept shared row's row in the LP
        position[kept_before] = np.arange(len(kept_before))
        position[kept_after] = len(kept_before) + len(own.lower) + np.arange(len(kept_after))
        entry = keep[self.row] & (self.unowned | on_held)
        new_col = np.cumsum(keep_col) - 1
        # One slack column per coupling row kept (all are): the duals it allows (at most the
        # penalty) give a valid bound all the same.
        slack = position[np.flatnonzero(keep & self.coupling)] if penalty is not None else np.zeros(0, dtype=np.int64)
        n_kept = int(keep_col.sum())
        highs = lp_from_coo(np.concatenate([cost[keep_col], np.full(len(slack), -(penalty or 0.0))]),
                            np.concatenate([self.col_lower[keep_col], np.zeros(len(slack))]),
                            np.concatenate([self.col_upper[keep_col], np.full(len(slack), np.inf)]),
                            np.concatenate([self.lower[kept_before], own.lower, self.lower[kept_after]]),
                            np.concatenate([self.upper[kept_before], own.upper, self.upper[kept_after]]),
                            np.concatenate([position[self.row[entry]], len(kept_before) + own.row, slack]),
                            np.concatenate([new_col[self.col[entry]], new_col[own.col], n_kept + np.arange(len(slack))]),
                            np.concatenate([self.value[entry], own.value, np.ones(len(slack))]))
        return _Restricted(highs, own, kept_before, kept_after, new_col, n_kept)

    def gains(self, lp: "_Restricted", cost: np.ndarray) -> tuple[float, np.ndarray] | None:
        """The bound over every candidate and each one's gain (``lagrangian_bound``) from the
        duals of ``lp``, solved: the shared rows' multipliers and the held candidates' own rows'."""
        dual, own = np.asarray(lp.highs.getSolution().row_dual), lp.own
        nb, n_own = len(lp.kept_before), len(own.lower)
        y = np.zeros(len(self.lower))
        y[lp.kept_before], y[lp.kept_after] = dual[:nb], dual[nb + n_own:nb + n_own + len(lp.kept_after)]
        y = usable_multipliers(y, self.lower, self.upper, np.zeros(len(y), dtype=bool))
        own_y = usable_multipliers(dual[nb:nb + n_own], own.lower, own.upper, own.local)
        n_col = len(cost)
        r = cost - np.bincount(self.col, weights=self.value * y[self.row], minlength=n_col) \
            - np.bincount(own.col, weights=own.value * own_y[own.row], minlength=n_col)
        row_part = rows_part(y, self.lower, self.upper) + rows_part(own_y, own.lower, own.upper)
        return gains_from_reduced_costs(row_part, r, self.col_lower, self.col_upper, self.full)

    def run(self, active: np.ndarray, cost: np.ndarray, penalty: float | None,
            deadline: float) -> tuple[float, np.ndarray, np.ndarray, float] | None:
        """Generate columns from ``active`` (changed in place) for the objective ``cost`` until no
        candidate would raise the bound: ``(total, gain, z, shortfall)``, ``shortfall`` being the
        slack the last LP kept on the coupling rows (``penalty`` its price; ``None``: no slack)."""
        full = self.full
        while True:
            lp = self.restricted(active, cost, penalty)
            highs = lp.highs
            highs.setOptionValue("time_limit", max(min(deadline - time.perf_counter(), 1e9), 1e-3))
            highs.run()
            if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                return None
            gains = self.gains(lp, cost)
            if gains is None:
                return None
            total, gain = gains
            more = joining(~active, total, gain)
            if not len(more):
                x = np.asarray(highs.getSolution().col_value)
                z = np.zeros(len(full.z))
                z[active] = x[lp.new_col[np.asarray(full.z)[active]]]
                return total, gain, z, float(x[lp.n_kept:].sum())
            active[more] = True


@dataclass(frozen=True)
class _OwnRows:
    """The held candidates' own rows as coordinates, rows numbered from zero in block order;
    ``local`` marks those whose multiplier the bound sets to zero (``LOCAL_BLOCKS``)."""

    row: np.ndarray
    col: np.ndarray
    value: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    local: np.ndarray

    @classmethod
    def of(cls, blocks: list) -> "_OwnRows":
        counts = np.concatenate([np.diff(b.starts) for b in blocks])
        return cls(np.repeat(np.arange(len(counts)), counts), np.concatenate([b.index for b in blocks]),
                   np.concatenate([b.value for b in blocks]), np.concatenate([b.lower for b in blocks]),
                   np.concatenate([b.upper for b in blocks]),
                   np.repeat([b.name in LOCAL_BLOCKS for b in blocks], [len(b) for b in blocks]).astype(bool))


@dataclass(frozen=True)
class _Restricted:
    """One restricted LP of :class:`_ColumnGeneration`: HiGHS holding it, the own rows it holds,
    the shared rows it keeps before and after them, each column's position in it (``new_col``)
    and how many program columns it holds (the slack columns follow)."""

    highs: highspy.Highs
    own: _OwnRows
    kept_before: np.ndarray
    kept_after: np.ndarray
    new_col: np.ndarray
    n_kept: int


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
