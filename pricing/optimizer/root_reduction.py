"""The root of one solve: what the LP relaxation, tightened and cut, leaves of a pool.

:func:`pool_solve.solve_pool` runs these steps between the incumbent and the MILP: the plain relaxation
priced over a large pool (and where the incumbent searches first), the drops of
:mod:`bound_fixing`, the ``x0`` bounds tightened against the incumbent, the conic cuts, and the
same again over what a drop left. Each step only removes offers worse than the incumbent, so the
MILP over what is left answers for the whole pool (``docs/formulation.md`` section 3).
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING, Callable

import numpy as np

from pricing.optimizer.bound_fixing import (PRICED_POOL, Priced, Reduced, best_alone, drop_after_cuts,
                                            drop_before_tightening, price_relaxation)
from pricing.optimizer.conic_cuts import OuterCuts, separate_conic_cuts
from pricing.optimizer.milp import OfferMilp

if TYPE_CHECKING:  # for annotations only: pool_solve.py imports this module, and pool.py is below it
    from pricing.optimizer.pool import Pool, Solved

__all__ = ["reduce_at_root", "priced_start", "goal_start", "narrowing_start", "left_by", "TIGHTEN_SIDES",
           "PRICED_SEARCH", "HIGHS_POOL"]

# Which no-bundle bounds are tightened against the incumbent (``OfferMilp.tightened_bounds``):
# the lower one only. The take rows that bind when margin is maximised (``t <= x0 - L (1 - z)``)
# use it; the upper one is already capped per candidate by ``1 / (1 + v)``. Measured in one run
# (docs/benchmarks.md): both sides 28.7 s of CPU over the shipped, nine RS2 and the 60-SKU
# instances, the lower side alone 22.6 s, with root bounds within 0.2% of each other.
TIGHTEN_SIDES: tuple[str, ...] = ("low",)
# Candidates the incumbent searches first in a priced pool: those with the best bound when
# offered (``Priced.best``). On the shipped data under offer rules (37,808 candidates) 100 to
# 1,000 found the same incumbent under 3 / 2 / 0.05, and under ``max_bundles_per_sku = 2`` a
# better one (43 to 44 CNY a buyer) than the rule-free pruning's survivors did (26.6).
PRICED_SEARCH = 200
# After the root LP drops candidates, the bounds are tightened, the cuts separated and the drop
# run again over what is left, up to ``AGAIN_ROUNDS`` more times while a drop leaves at most
# ``AGAIN_SHARE`` of the pool: under 3 / 2 / 0.05 on the shipped data the second pass took 70
# candidates to 60 in 0.1 s and the MILP from 0.53 s to 0.31 s.
AGAIN_ROUNDS = 1
AGAIN_SHARE = 0.8
# Under a goal (margin rate, devices) the swap searches only penalise a shortfall and start far
# below the optimum (devices 1.1 under the default rules: 45.1 CNY a buyer against 46.9, and the
# proof took 11 s). When the priced bound is more than ``GOAL_START_GAP`` above the incumbent, the
# whole solve runs first over the ``GOAL_START_CANDIDATES`` best offered bounds, for at most
# ``GOAL_START_SECONDS``, and its answer is the start. Without goals it never runs: there the
# plain LP's bound is 5% above the optimum on the shipped data and the start is already optimal.
GOAL_START_GAP = 0.02
GOAL_START_CANDIDATES = 100
GOAL_START_SECONDS = 2.0
# HiGHS is never handed a program over more candidates than this: its presolve and first
# factorisation do not look at the clock, and an LP over the 74,084 candidates the priced bound
# left of 186,224 (``--max-items 5`` under the default rules) ran 70 s past a 4 s limit. Over a
# larger pool the start is improved by solves over the best offered bounds (``narrowing_start``)
# until the priced bound leaves at most this many; otherwise the answer is that start, unproven,
# with the priced bound.
HIGHS_POOL = 5_000
NARROWING_SIZES = (100, 400, 1_600)
NARROWING_SECONDS = 5.0


def reduce_at_root(pool: Pool, incumbent: list[int] | None, priced: Priced | None, rounds: int,
                   deadline: float) -> tuple[Reduced, OfferMilp | None, OuterCuts | None, float | None]:
    """Steps 2 to 4 of :func:`pool_solve.solve_pool`: what is left of ``pool``, the program over it with
    tightened bounds and cuts (``None`` when nothing beats the incumbent) and the root bound."""
    work, cuts = drop_before_tightening(pool, incumbent, deadline, priced)
    if time.perf_counter() > deadline:  # out of time: the MILP's token second over what is left
        return work, work.pool.milp(), None, None
    work = _wider_incumbent(work)
    milp = _tightened(work.pool, work.incumbent, rounds, deadline)
    if milp is None:
        return work, None, cuts, None
    if work.incumbent is None and len(work.pool.margin) > PRICED_POOL:
        # No offer to drop against: cut rounds over every candidate would only refine the bound,
        # at seconds per round; the MILP (and the plain LP's bound) go on without them.
        return work, milp, cuts, None
    milp, cuts = _cut(work.pool, milp, cuts, pool.cut_rounds, deadline)
    work = work.with_rounded(milp, None if cuts is None else cuts.final_lp)
    root = cuts.root_bounds[-1] if cuts is not None and cuts.root_bounds else None
    if work.incumbent is None or not len(work.pool.margin):
        return work, milp, cuts, root
    before = len(work.pool.margin)
    work, milp, cuts = drop_after_cuts(work, milp, cuts, deadline)
    for _ in range(AGAIN_ROUNDS):
        if len(work.pool.margin) > AGAIN_SHARE * before or work.pool.draws is not None or cuts is None \
                or time.perf_counter() > deadline:
            break
        # Tighten again from the program with its cuts, over what is left (a program with draw
        # copies is left as it is: its tightening runs without them, ``_tightened``).
        bounds = milp.tightened_bounds(work.pool.value(work.incumbent), deadline, TIGHTEN_SIDES)
        if bounds is None:
            return work, None, cuts, root
        milp = work.pool.milp(bounds)
        cuts = separate_conic_cuts(milp, rounds=pool.cut_rounds, cuts=cuts.subset(np.arange(len(work.pool.margin))),
                                   deadline=deadline)
        milp.add_outer_approximation_cuts(cuts)
        work = work.with_rounded(milp, cuts.final_lp)
        root = min(root, cuts.root_bounds[-1]) if root is not None and cuts.root_bounds else root
        before = len(work.pool.margin)
        work, milp, cuts = drop_after_cuts(work, milp, cuts, deadline)
    return work, milp, cuts, root


def priced_start(pool: Pool, deadline: float) -> tuple[Pool, Priced | None]:
    """For a pool of over ``PRICED_POOL`` candidates, or any pool under offer rules that can bind:
    the plain relaxation priced over all of it (:func:`bound_fixing.price_relaxation`), and the
    pool with the incumbent's first search set to the ``PRICED_SEARCH`` candidates with the best
    offered bound and the LP's support, and its answer rounded as a start of the swap search.
    When the LP was not solved in time, or its first columns hold no offer (its first LP is then
    infeasible), the search starts among the best alone and the pool is priced after it, from the
    incumbent's columns (:func:`bound_fixing.drop_before_tightening`)."""
    rules = pool.rules is not None and pool.rules.active
    if (len(pool.margin) <= PRICED_POOL and not rules) or pool.search is not None:
        return pool, None
    priced = price_relaxation(pool, deadline)
    if priced is None:  # out of time, or its first columns hold no offer: priced after the incumbent
        return dataclasses.replace(pool, search=best_alone(pool, PRICED_SEARCH)), None
    search = priced.best(PRICED_SEARCH) | (priced.z > 1e-9)
    return dataclasses.replace(pool, search=search, start=pool.start or pool.rounded(priced.z)), priced


def goal_start(pool: Pool, priced: Priced | None, incumbent: list[int] | None, deadline: float,
               solve: Callable[[Pool], Solved]) -> list[int] | None:
    """A better start for a pool with goals: the offer ``solve`` (``pool_solve.solve_pool``) finds over
    the candidates with the best offered bounds and the LP's support, when the priced bound
    leaves room above ``incumbent`` (module constants)."""
    if priced is None or not pool.other_goals or pool.draws is not None:
        return incumbent
    value = None if incumbent is None else pool.value(incumbent)
    if value is not None and priced.bound <= value + GOAL_START_GAP * abs(value):
        return incumbent
    return _sub_solved(pool, priced, incumbent, GOAL_START_CANDIDATES,
                       min(GOAL_START_SECONDS, deadline - time.perf_counter()), solve)


def left_by(pool: Pool, priced: Priced, incumbent: list[int] | None) -> int:
    """How many candidates the priced bound leaves against ``incumbent`` (all, without one)."""
    return len(pool.margin) if incumbent is None else int((~priced.beaten(pool.value(incumbent))).sum())


def narrowing_start(pool: Pool, priced: Priced | None, incumbent: list[int] | None, deadline: float,
                    solve: Callable[[Pool], Solved]) -> list[int] | None:
    """A start good enough that the priced bound leaves HiGHS at most ``HIGHS_POOL`` candidates,
    if one is found in time: the whole solve over the best 100, 400, 1,600 offered bounds in
    turn, each for at most ``NARROWING_SECONDS``, then over the best ``HIGHS_POOL`` for what is
    left of the time (so that an answer still unproven was stopped by the time limit)."""
    if priced is None or len(pool.margin) <= HIGHS_POOL:
        return incumbent
    sizes = (*NARROWING_SIZES, HIGHS_POOL)
    for i, size in enumerate(sizes):
        if left_by(pool, priced, incumbent) <= HIGHS_POOL or time.perf_counter() >= deadline:
            break
        left = deadline - time.perf_counter()
        incumbent = _sub_solved(pool, priced, incumbent, size, left if i == len(sizes) - 1 else
                                min(NARROWING_SECONDS, left), solve)
    return incumbent


def _sub_solved(pool: Pool, priced: Priced, incumbent: list[int] | None, size: int, seconds: float,
                solve: Callable[[Pool], Solved]) -> list[int] | None:
    """The better of ``incumbent`` and the offer ``solve`` finds within ``seconds`` over the
    ``size`` candidates with the best offered bounds and the LP's support. Any subset is safe:
    its answer is an offer of the pool, checked by ``pool.good``."""
    keep = np.flatnonzero(priced.best(size) | (priced.z > 1e-9))
    if seconds <= 0 or len(keep) >= len(pool.margin):
        return incumbent
    small = pool.subset(keep)  # its start, the priced LP's answer rounded, comes along
    small = dataclasses.replace(small, settings=dataclasses.replace(small.settings, time_limit=seconds), search=None)
    found = [int(keep[c]) for c in solve(small).chosen]
    if not found or not pool.good(found) or (incumbent is not None and pool.value(found) <= pool.value(incumbent)):
        return incumbent
    return found


def _wider_incumbent(work: Reduced) -> Reduced:
    """``work`` with the incumbent of a search over all it holds, when that is better and the
    first search looked only at ``pool.search``: worth it when the bound left many candidates
    (over ``PRICED_POOL``), the sign that the first incumbent is far below what the LP allows.
    (Measured when the first search looked among the rule-free pruning's survivors: under
    ``max_bundles_per_sku = 2`` they gave 26.6 CNY a buyer, a search over every candidate 41.)"""
    if work.incumbent is None or work.pool.search is None or len(work.kept) <= PRICED_POOL:
        return work
    wide = dataclasses.replace(work.pool, search=None).incumbent()
    if wide is None or work.pool.value(wide) <= work.pool.value(work.incumbent):
        return work
    return dataclasses.replace(work, incumbent=wide)


def _tightened(pool: Pool, incumbent: list[int] | None, rounds: int, deadline: float) -> OfferMilp | None:
    """The model rebuilt with ``x0`` bounds tightened against the incumbent (``rounds`` times, none
    started after ``deadline``); ``None`` when no point of the relaxation beats the incumbent.

    The bounds come from the program without its draw copies: a relaxation of the full one, so
    they hold for every offer of it, and with 3 draws' rows the LPs were about 4 times larger
    for nearly the same bounds. Cutting before tightening as well gave a slightly better root
    for about 20% more time on the shipped and RS2 instances (docs/formulation.md), so the cuts
    come after."""
    milp = pool.milp()
    if incumbent is None or not len(pool.margin):
        return milp
    probe = milp if pool.draws is None else pool.milp(with_draws=False)
    for _ in range(rounds):
        if time.perf_counter() > deadline:
            break
        bounds = probe.tightened_bounds(pool.value(incumbent), deadline, TIGHTEN_SIDES)
        if bounds is None:
            return None
        milp = pool.milp(bounds)
        probe = milp if pool.draws is None else pool.milp(bounds, with_draws=False)
    return milp


def _cut(pool: Pool, milp: OfferMilp, cuts: OuterCuts | None, cut_rounds: int,
         deadline: float) -> tuple[OfferMilp, OuterCuts | None]:
    """``milp`` with the cuts known so far plus up to ``cut_rounds`` new rounds of them (none
    started after ``deadline``, a ``time.perf_counter()`` value)."""
    if not cut_rounds or not len(pool.margin) or time.perf_counter() > deadline:
        return milp, cuts
    cuts = separate_conic_cuts(milp, rounds=cut_rounds, cuts=cuts, deadline=deadline)
    milp.add_outer_approximation_cuts(cuts)
    return milp, cuts
