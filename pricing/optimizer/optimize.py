"""From a problem to a proven offer: candidates, safe pruning, incumbent, MILP, exact evaluation."""

from __future__ import annotations

import dataclasses
import functools
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models import mnl
from pricing.optimizer.budget import solve_deadline
from pricing.optimizer.candidates import Candidates, build_candidates
from pricing.optimizer.conic_cuts import OuterCuts, separate_conic_cuts
from pricing.optimizer.incumbent import lagrangian_search, local_search
from pricing.optimizer.milp import OfferMilp
from pricing.domain.offer import Bundle, Offer, OfferFigures, evaluate_offer
from pricing.domain.problem import Problem
from pricing.optimizer.ordering import dominance_pairs
from pricing.optimizer.pruning import dominated, segment_margin_bounds
from pricing.optimizer.status import SolveStatus

__all__ = ["optimize", "OptimizationResult", "InfeasibleTarget", "max_attach_rate"]

# Slack (share of buyers) allowed on the attach target when re-checking an answer exactly: the
# solver works to a feasibility tolerance of 1e-7.
_ATTACH_TOLERANCE = 1e-6


class InfeasibleTarget(Exception):
    """No offer that follows the rules reaches the attach target.

    ``best_attach`` is the highest attach rate the rules allow (share of car buyers), and
    ``proven`` says whether that maximum was proven.
    """

    def __init__(self, target: float, best_attach: float, proven: bool = True):
        self.target = target
        self.best_attach = best_attach
        self.proven = proven
        qualifier = "" if proven else " (best found; the time limit stopped the proof)"
        super().__init__(
            f"attach target {target:.2%} cannot be reached: the highest attach rate the rules allow is "
            f"{best_attach:.2%}{qualifier}; lower the target, allow more bundles or deeper discounts"
        )


@dataclass(frozen=True, eq=False)
class OptimizationResult:
    """The answer and what was proven about it.

    ``bound`` is the solver's proven upper bound on the margin per buyer (CNY); ``gap`` the
    relative gap between it and the offer's exact margin. ``diagnostics`` holds counts and times.
    """

    problem: Problem
    status: SolveStatus
    offer: Offer
    figures: OfferFigures
    bound: float | None
    gap: float | None
    diagnostics: dict[str, Any] = field(default_factory=dict)

    @property
    def proven_optimal(self) -> bool:
        return self.status.proven_optimal


def _reduce(cands: Candidates, shares: np.ndarray, max_bundles: int, objective: str) -> np.ndarray:
    """Indices of the candidates left after safe dominance pruning."""
    if len(cands) == 0:
        return np.arange(0)
    if objective == "attach":
        score = cands.attraction @ shares
    else:
        bounds = segment_margin_bounds(cands.attraction, cands.margin, cands.set_id, cands.n_sets, max_bundles)
        score = (cands.attraction * (cands.margin[:, None] - bounds[None, :])) @ shares
    drop = dominated(cands.attraction, cands.margin, cands.set_id, cands.pin_mask, max_bundles, shares, score,
                     objective=objective)
    return np.flatnonzero(~drop)


def _all_pins(problem: Problem) -> int:
    return (1 << len(problem.settings.pinned)) - 1


@dataclass(frozen=True)
class _Solved:
    """An answer over the pruned candidates: positions chosen, status, bound (per buyer)."""

    chosen: list[int]
    status: SolveStatus
    value: float
    bound: float | None
    nodes: int
    incumbent: float | None
    seconds: dict[str, float] = field(default_factory=dict)


def _value(attraction: np.ndarray, weight: np.ndarray, shares: np.ndarray) -> float:
    """Exact objective per buyer: ``sum_s w_s sum_b P_s(b) weight_b`` (rows = bundles offered)."""
    return float(mnl.margin_per_buyer(mnl.choice_probabilities(attraction), shares, weight)) if len(weight) else 0.0


def _feasible(attraction: np.ndarray, shares: np.ndarray, target: float, pins: np.ndarray, all_pins: int) -> bool:
    """Every pinned SKU held and the attach target met, exactly."""
    covered = 0
    for p in pins:
        covered |= int(p)
    if covered & all_pins != all_pins:
        return False
    if len(attraction) == 0:
        return target <= 0
    return float(mnl.attach_rate(mnl.choice_probabilities(attraction), shares)) >= target


@dataclass(frozen=True)
class _Pool:
    """The pruned candidates of one solve and how an offer of them is judged, exactly."""

    attraction: np.ndarray
    margin: np.ndarray
    set_id: np.ndarray
    pins: np.ndarray
    shares: np.ndarray
    settings: Any
    all_pins: int
    objective: str
    ordering: bool = True  # add the dominance ordering rows (margin objective)

    @property
    def target(self) -> float:
        return self.settings.attach_rate if self.objective == "margin" else 0.0

    @property
    def weight(self) -> np.ndarray:
        return self.margin if self.objective == "margin" else np.ones(len(self.margin))

    def milp(self, bounds=None) -> OfferMilp:
        milp = OfferMilp(self.attraction, self.margin, self.set_id, self.pins, self.shares,
                         self.settings.max_bundles, self.target, self.all_pins, self.objective, bounds)
        if self.objective == "margin" and self.ordering:
            milp.add_dominance_rows(self.dominance)
        return milp

    @functools.cached_property
    def dominance(self) -> np.ndarray:
        """(dominated, dominator) pairs for the MILP's ordering rows (margin objective only:
        the swap must strictly gain or break a tie by index)."""
        return dominance_pairs(self.attraction, self.margin, self.set_id, self.pins, self.settings.max_bundles,
                               self.shares)

    def good(self, option) -> bool:
        return _feasible(self.attraction[option], self.shares, self.target, self.pins[option], self.all_pins)

    def value(self, option) -> float:
        return _value(self.attraction[option], self.weight[option], self.shares)

    def incumbent(self) -> list[int] | None:
        """The best feasible offer of the swap searches (plain, and with a price on attach rate
        bisected to the target), or ``None``."""
        args = (self.attraction, self.weight, self.set_id, self.pins, self.shares, self.settings.max_bundles,
                self.target, self.all_pins)
        options = [local_search(*args)]
        if self.target > 0:
            options += lagrangian_search(*args)
        feasible = [list(o) for o in options if self.good(o)]
        return max(feasible, key=self.value) if feasible else None


# Rounds of conic tangent cuts at the root (docs/formulation.md section 3). Each round is one
# warm-started LP; they stop early once the bound stops moving.
CUT_ROUNDS = 8


def _solve(pool: _Pool, *, rounds: int = 1, cut_rounds: int = CUT_ROUNDS) -> _Solved:
    """Incumbent, bound tightening and conic cuts, then the MILP; the answer is the better of
    incumbent and solver, both evaluated exactly.

    1. Swap searches give an incumbent (:meth:`_Pool.incumbent`).
    2. Each ``x0_s`` is bounded over the relaxation with ``objective >= incumbent``; the model is
       rebuilt with those bounds (tighter McCormick rows). If that relaxation is empty, nothing
       beats the incumbent and it is proven optimal.
    3. Tangent cuts of each segment's conic relations are added in rounds at the root.
    4. The full MILP starts from the incumbent within what is left of the time limit.
    """
    settings = pool.settings
    deadline = solve_deadline(settings)
    clock = time.perf_counter()
    seconds: dict[str, float] = {}
    incumbent = pool.incumbent()
    seconds["incumbent_seconds"] = time.perf_counter() - clock

    clock = time.perf_counter()
    milp = _tightened(pool, incumbent, rounds, deadline)
    if milp is None:  # the relaxation cannot beat the incumbent: it is optimal
        best = pool.value(incumbent)
        seconds["tightening_seconds"] = time.perf_counter() - clock
        return _Solved(incumbent, SolveStatus.OPTIMAL, best, best, 0, best, seconds)
    milp, cuts = _cut(pool, milp, None, cut_rounds, deadline)
    seconds["tightening_seconds"] = time.perf_counter() - clock
    root = cuts.root_bounds[-1] if cuts is not None and cuts.root_bounds else (
        milp.relaxation_bound() if len(pool.margin) else None)
    seconds["root_bound"] = float("nan") if root is None else root
    seconds["conic_cuts"] = 0 if cuts is None else len(cuts)

    clock = time.perf_counter()
    result = milp.solve(max(deadline - time.perf_counter(), 0.01), settings.rel_gap, start=incumbent)
    if result.status is SolveStatus.INFEASIBLE and incumbent is not None:
        # The incumbent lies inside the tightened bounds, so "infeasible" there is numerical
        # trouble, not a proof: solve the model with the rules' bounds instead.
        result = pool.milp().solve(max(deadline - time.perf_counter(), 0.01), settings.rel_gap, start=incumbent)
    seconds["milp_seconds"] = time.perf_counter() - clock
    if result.bound is None and root is not None and result.status in (SolveStatus.TIME_LIMIT,
                                                                       SolveStatus.NO_SOLUTION):
        # Stopped before HiGHS had a bound: the root LP's bound still holds (for every offer
        # better than the incumbent, which lies inside the tightened bounds).
        result = dataclasses.replace(result, bound=root)
    return _settle(pool, result, incumbent, seconds)


def _tightened(pool: _Pool, incumbent: list[int] | None, rounds: int, deadline: float) -> OfferMilp | None:
    """The model rebuilt with ``x0`` bounds tightened against the incumbent (``rounds`` times, none
    started after ``deadline``); ``None`` when no point of the relaxation beats the incumbent.

    Cutting before tightening as well gave a slightly better root for about 20% more time on the
    shipped and RS2 instances (docs/formulation.md), so the cuts come after."""
    milp = pool.milp()
    if incumbent is None or not len(pool.margin):
        return milp
    for _ in range(rounds):
        if time.perf_counter() > deadline:
            break
        bounds = milp.tightened_bounds(pool.value(incumbent), deadline)
        if bounds is None:
            return None
        milp = pool.milp(bounds)
    return milp


def _cut(pool: _Pool, milp: OfferMilp, cuts: OuterCuts | None, cut_rounds: int,
         deadline: float) -> tuple[OfferMilp, OuterCuts | None]:
    """``milp`` with the cuts known so far plus up to ``cut_rounds`` new rounds of them (none
    started after ``deadline``, a ``time.perf_counter()`` value)."""
    if not cut_rounds or not len(pool.margin):
        return milp, cuts
    cuts = separate_conic_cuts(milp, rounds=cut_rounds, cuts=cuts, deadline=deadline)
    milp.add_outer_approximation_cuts(cuts)
    return milp, cuts


def _settle(pool: _Pool, result, incumbent: list[int] | None, seconds: dict[str, float]) -> _Solved:
    """The better of the solver's answer and the incumbent, with a status and bound that say only
    what was proven."""
    answers = ([list(result.chosen)] if result.chosen and pool.good(list(result.chosen)) else []) + \
        ([incumbent] if incumbent is not None else [])
    status = result.status
    if not answers:
        if status is SolveStatus.OPTIMAL and pool.target <= 0 and not pool.all_pins:
            return _Solved([], SolveStatus.OPTIMAL, 0.0, result.bound, result.nodes, None, seconds)
        return _Solved([], SolveStatus.INFEASIBLE if status is SolveStatus.INFEASIBLE else SolveStatus.NO_SOLUTION,
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
    return _Solved(chosen, status, best, bound, result.nodes, None if incumbent is None else pool.value(incumbent),
                   seconds)


def max_attach_rate(problem: Problem, cands: Candidates | None = None) -> tuple[float, bool]:
    """Highest attach rate any rule-abiding offer reaches, and whether it was proven."""
    settings = problem.settings
    cands = cands if cands is not None else build_candidates(problem.catalog, problem.model, settings, problem.last_prices)
    if len(cands) == 0:
        return 0.0, True
    shares = problem.model.shares
    keep = _reduce(cands, shares, settings.max_bundles, "attach")
    set_id = cands.set_id[keep]
    solved = _solve(_Pool(cands.attraction[keep], cands.margin[keep], set_id, cands.pin_mask[set_id], shares,
                          settings, _all_pins(problem), "attach"))
    if not solved.chosen:
        return 0.0, solved.status in (SolveStatus.OPTIMAL, SolveStatus.INFEASIBLE)
    gap = (solved.bound - solved.value) / max(solved.value, 1e-12) if solved.bound is not None else np.inf
    return solved.value, solved.status is SolveStatus.OPTIMAL and gap <= settings.rel_gap


def optimize(problem: Problem, *, cut_rounds: int = CUT_ROUNDS, ordering_rows: bool = True) -> OptimizationResult:
    """Choose the offer that maximises expected incremental margin under the rules and target.

    The result's status is ``optimal`` only when the exact margin of the offer is within
    ``rel_gap`` of the solver's proven bound.

    Raises
    ------
    InfeasibleTarget
        When no offer reaches the attach target (or no offer holds every pinned SKU).
    """
    settings = problem.settings
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    cands = build_candidates(problem.catalog, problem.model, settings, problem.last_prices)
    timings["candidates_seconds"] = time.perf_counter() - t0

    t1 = time.perf_counter()
    keep = _reduce(cands, problem.model.shares, settings.max_bundles, "margin")
    timings["pruning_seconds"] = time.perf_counter() - t1

    set_id = cands.set_id[keep]
    pool = _Pool(cands.attraction[keep], cands.margin[keep], set_id, cands.pin_mask[set_id], problem.model.shares,
                 settings, _all_pins(problem), "margin", ordering_rows)
    t2 = time.perf_counter()
    solved = _solve(pool, cut_rounds=cut_rounds)
    timings["solve_seconds"] = time.perf_counter() - t2
    timings.update(solved.seconds)
    if solved.status is SolveStatus.INFEASIBLE:
        best, proven = max_attach_rate(problem, cands)
        raise InfeasibleTarget(settings.attach_rate, best, proven)
    return _result(problem, cands, keep, solved, timings, t0)


def _result(problem: Problem, cands: Candidates, keep: np.ndarray, solved: _Solved,
            timings: dict[str, float], started: float) -> OptimizationResult:
    """The offer of ``solved``, its exact figures, and a status and gap checked against them
    (``started``: ``time.perf_counter()`` when the optimization began)."""
    settings = problem.settings
    margin = cands.margin[keep]
    chosen = sorted(solved.chosen, key=lambda c: -margin[c])
    offer = Offer(tuple(
        Bundle(cands.skus_of(keep[c]), float(cands.price[keep[c]]),
               None if np.isnan(cands.last_price[keep[c]]) else float(cands.last_price[keep[c]]))
        for c in chosen
    ))
    figures = evaluate_offer(offer, problem.catalog, problem.model, settings.buyers)
    status = solved.status
    if status.is_ok and figures.attach_rate < settings.attach_rate - _ATTACH_TOLERANCE:
        raise RuntimeError(
            f"solver answer misses the attach target on exact evaluation ({figures.attach_rate:.8f} < "
            f"{settings.attach_rate:.8f}); this is a bug"
        )
    exact = figures.margin_per_buyer
    bound, gap = solved.bound, None
    if bound is not None and status.is_ok:
        gap = max(bound - exact, 0.0) / max(abs(exact), 1e-12)
        if status is SolveStatus.OPTIMAL and gap > settings.rel_gap:
            status = SolveStatus.TIME_LIMIT  # never claim what the numbers do not show
    timings["total_seconds"] = time.perf_counter() - started
    root = timings.pop("root_bound", float("nan"))
    cuts = int(timings.pop("conic_cuts", 0))
    diagnostics = {
        "candidates": len(cands),
        "sku_sets": cands.n_sets,
        "candidates_after_pruning": int(len(keep)),
        "incumbent_margin_per_buyer": solved.incumbent,
        "bound_margin_per_buyer": bound,
        "nodes": solved.nodes,
        "root_bound_margin_per_buyer": None if not np.isfinite(root) else float(root),
        "conic_cuts": cuts,
        **{k: round(v, 4) for k, v in timings.items()},
    }
    return OptimizationResult(problem, status, offer, figures, bound, gap, diagnostics)
