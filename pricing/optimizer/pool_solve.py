"""One pool solved: the priced relaxation and the starts, the root reduction, the MILP, and the
answer with what was proven about it (``solve_pool``). ``pool`` holds the candidates and the
searches; ``root_reduction`` the steps between the incumbent and the MILP.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable

from pricing.optimizer.bound_fixing import PRICED_POOL, Priced, best_alone
from pricing.optimizer.budget import solve_deadline, spent
from pricing.optimizer.pool import Pool, Solved
from pricing.optimizer.root_reduction import (HIGHS_POOL, PRICED_SEARCH, goal_start, left_by, narrowing_start,
                                              priced_start, reduce_at_root)
from pricing.optimizer.segment_bounds import segment_margin_bounds
from pricing.optimizer.status import SolveStatus

__all__ = ["solve_pool"]


def solve_pool(pool: Pool, *, rounds: int = 1, fallback: Callable[[], list[int] | None] | None = None) -> Solved:
    """Incumbent, bound tightening and conic cuts, then the MILP; the answer is the better of
    incumbent and solver, both evaluated exactly.

    1. Swap searches give an incumbent (:meth:`Pool.incumbent`); over a large pool, first the
       plain relaxation is priced outside HiGHS and the search starts among the candidates with
       the best bound when offered (``root_reduction.priced_start``). Under a goal, and over a
       pool the priced bound leaves too large for HiGHS, solves over the best offered bounds
       improve that start (``goal_start``, ``narrowing_start``); if HiGHS would still get more
       than ``HIGHS_POOL`` candidates, the answer is that start, not proven.
    2. Candidates whose offered bound (:mod:`bound_fixing`) from that priced LP, then from two
       rounds of cuts at the root, is below the incumbent leave the pool. When that leaves many,
       the incumbent is searched again over all that is left.
    3. Each ``x0_s`` is bounded over the relaxation with ``objective >= incumbent``; the model is
       rebuilt with those bounds (tighter McCormick rows). If that relaxation is empty, nothing
       beats the incumbent and it is proven optimal.
    4. Tangent cuts of each segment's conic relations are added in rounds at the root
       (``pool.cut_rounds``); the last of those LPs drops candidates as in step 2 again.
    5. The full MILP starts from the incumbent within what is left of the time limit.

    Dropped candidates are in no offer as good as the incumbent, so the answer, its bound and
    its status hold for the whole pool; ``chosen`` is in the whole pool's positions.

    ``fallback`` is asked for an offer (positions in ``pool``) when the searches find none; it
    may raise instead (``optimize`` asks for the offer of highest attach rate, and raises
    :class:`InfeasibleTarget` when even that misses the target).
    """
    settings = pool.settings
    deadline = solve_deadline(settings)
    started = _started(pool, fallback, deadline)
    if isinstance(started, Solved):
        return started
    pool, priced, incumbent, seconds, priced_seconds = started

    clock = time.perf_counter() - priced_seconds  # the tightening's time includes the pricing
    work, milp, cuts, root = reduce_at_root(pool, incumbent, priced, rounds, deadline)
    seconds["tightening_seconds"] = time.perf_counter() - clock
    if milp is None:  # the relaxation cannot beat the incumbent: it is optimal
        best = work.pool.value(work.incumbent)
        return work.whole(Solved(work.incumbent, SolveStatus.OPTIMAL, best, best, 0, best, seconds))
    if root is None and 0 < len(work.pool.margin) <= PRICED_POOL:
        # Over a large pool the priced LP's bound (``work.bound``) is this one, found without
        # HiGHS holding every candidate: HiGHS took 22 s over the 37,808 shipped ones, and with
        # a goal row ran 16.7 s past an 8 s time limit.
        root = milp.relaxation_bound(deadline)
    seconds["root_bound"] = float("nan") if root is None else root
    seconds["conic_cuts"] = 0 if cuts is None else len(cuts)
    seconds["candidates_after_bound"] = float(len(work.kept))

    work.pool.add_ordering_rows(milp)
    clock = time.perf_counter()
    result = milp.solve(max(deadline - time.perf_counter(), 0.01), settings.rel_gap, start=work.incumbent)
    if result.status in (SolveStatus.INFEASIBLE, SolveStatus.ERROR) and work.incumbent is not None:
        # The incumbent lies inside the tightened bounds, so "infeasible" there is numerical
        # trouble, not a proof: solve the model with the rules' bounds instead.
        result = work.pool.milp(ordering=True).solve(max(deadline - time.perf_counter(), 0.01),
                                                     settings.rel_gap, start=work.incumbent)
    seconds["milp_seconds"] = time.perf_counter() - clock
    if result.bound is None and result.status in (SolveStatus.TIME_LIMIT, SolveStatus.NO_SOLUTION):
        # Stopped before HiGHS had a bound: the root LP's bound still holds (for every offer
        # better than the incumbent, which lies inside the tightened bounds), and so does the
        # plain LP's of the priced drop; without either (out of time before an LP was solved)
        # the segments' separate bounds do.
        known = [b for b in (root, work.bound) if b is not None]
        result = dataclasses.replace(result, bound=min(known) if known else _separable_bound(pool))
    return work.whole(_settle(work.pool, result, work.incumbent, seconds))


def _started(pool: Pool, fallback: Callable[[], list[int] | None] | None,
             deadline: float) -> Solved | tuple[Pool, Priced | None, list[int] | None, dict[str, float], float]:
    """Step 1 of :func:`solve_pool`: the priced relaxation and the incumbent, as ``(pool with its
    search set, priced, incumbent, seconds, the pricing's seconds)``; or the answer already,
    when the pricing proves the pool empty or HiGHS must not hold it."""
    clock = time.perf_counter()
    # A solve that starts after the command's deadline (a step of an explanation, say) gets a
    # search among a few candidates and the token MILP: no pricing, no search over every one.
    late = spent(pool.settings)
    if late and len(pool.margin) > PRICED_SEARCH and pool.search is None:
        pool, priced = dataclasses.replace(pool, search=best_alone(pool, PRICED_SEARCH)), None
    else:
        pool, priced = priced_start(pool, deadline)
    priced_seconds = time.perf_counter() - clock
    if priced is not None and priced.empty:  # no point of the relaxation keeps target, goals and pins
        return Solved([], SolveStatus.INFEASIBLE, 0.0, None, 0, None, {"tightening_seconds": priced_seconds})
    clock = time.perf_counter()
    incumbent = pool.incumbent(widen=not spent(pool.settings))  # no search over every candidate past the deadline
    if incumbent is None and fallback is not None:
        found = fallback()
        incumbent = found if found and pool.good(found) else None
    incumbent = narrowing_start(pool, priced, goal_start(pool, priced, incumbent, deadline, solve_pool), deadline,
                                solve_pool)
    seconds = {"incumbent_seconds": time.perf_counter() - clock}
    # HiGHS never holds more than HIGHS_POOL candidates (``narrowing_start``); nor, past the
    # deadline with no offer, the program over every one for a token second (0.6 s a solve on
    # the shipped data, for nothing).
    left = len(pool.margin) if priced is None else left_by(pool, priced, incumbent)
    if left > HIGHS_POOL or (late and incumbent is None and len(pool.margin) > PRICED_POOL):
        seconds["candidates_after_bound"] = float(left)  # what the run's summary reports
        return _unproven(pool, incumbent, None if priced is None else priced.bound, seconds)
    return pool, priced, incumbent, seconds, priced_seconds


def _unproven(pool: Pool, incumbent: list[int] | None, bound: float | None, seconds: dict[str, float]) -> Solved:
    """The answer of a solve HiGHS did not run: the start, not proven, and the priced bound (or
    the segments' separate bounds)."""
    bound = _separable_bound(pool) if bound is None else bound
    if incumbent is None:
        return Solved([], SolveStatus.NO_SOLUTION, 0.0, bound, 0, None, seconds)
    value = pool.value(incumbent)
    return Solved(incumbent, SolveStatus.TIME_LIMIT, value, max(bound, value), 0, value, seconds)


def _separable_bound(pool: Pool) -> float:
    """An upper bound on the objective of every offer of ``pool`` that needs no LP: each
    segment's best over at most K bundles on its own (``segment_margin_bounds``), weighted by its
    share. Rules, goals and the target only restrict offers, so it holds under them too."""
    if not len(pool.margin):
        return 0.0
    n_sets = int(pool.set_id.max()) + 1
    per_segment = segment_margin_bounds(pool.attraction, pool.weight, pool.set_id, n_sets, pool.settings.max_bundles)
    return float(pool.shares @ per_segment)


def _settle(pool: Pool, result, incumbent: list[int] | None, seconds: dict[str, float]) -> Solved:
    """The better of the solver's answer and the incumbent, with a status and bound that say only
    what was proven."""
    answers = ([list(result.chosen)] if result.chosen and pool.good(list(result.chosen)) else []) + \
        ([incumbent] if incumbent is not None else [])
    status = result.status
    if not answers:
        if status is SolveStatus.OPTIMAL and pool.target <= 0 and not pool.all_pins:
            return Solved([], SolveStatus.OPTIMAL, 0.0, result.bound, result.nodes, None, seconds)
        return Solved([], SolveStatus.INFEASIBLE if status is SolveStatus.INFEASIBLE else SolveStatus.NO_SOLUTION,
                       0.0, result.bound, result.nodes, None, seconds)
    chosen = max(answers, key=pool.value)
    best = pool.value(chosen)
    if status is SolveStatus.INFEASIBLE:
        status, bound = SolveStatus.ERROR, None  # the solver contradicts a feasible offer
    elif status is SolveStatus.OPTIMAL and result.bound is None:
        bound = best  # HiGHS proved optimality without a finite dual bound (solved in presolve)
    else:
        bound = None if result.bound is None else max(result.bound, best)
        if status is SolveStatus.NO_SOLUTION:
            status = SolveStatus.TIME_LIMIT
    return Solved(chosen, status, best, bound, result.nodes, None if incumbent is None else pool.value(incumbent),
                   seconds)
