"""From a problem to a proven offer: candidates, safe pruning, incumbent, MILP, exact evaluation."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pricing.candidates import Candidates, build_candidates
from pricing.heuristic import local_search
from pricing.milp import OfferMilp
from pricing.offer import Bundle, Offer, OfferFigures, evaluate_offer
from pricing.problem import Problem
from pricing.pruning import dominated, segment_margin_bounds
from pricing.status import SolveStatus

__all__ = ["optimize", "OptimizationResult", "InfeasibleTarget", "max_attach_rate"]

# Relative slack allowed on the attach target when checking a solver's answer exactly: the
# solver works to a feasibility tolerance of 1e-7 on shares.
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
        drop = dominated(cands.attraction, np.zeros(len(cands)), cands.set_id, cands.pin_mask, max_bundles,
                         None, score)
    else:
        bounds = segment_margin_bounds(cands.attraction, cands.margin, cands.set_id, cands.n_sets, max_bundles)
        score = (cands.attraction * (cands.margin[:, None] - bounds[None, :])) @ shares
        drop = dominated(cands.attraction, cands.margin, cands.set_id, cands.pin_mask, max_bundles, bounds, score)
    return np.flatnonzero(~drop)


def _all_pins(problem: Problem) -> int:
    return (1 << len(problem.settings.pinned)) - 1


def max_attach_rate(problem: Problem, cands: Candidates | None = None) -> tuple[float, bool]:
    """Highest attach rate any rule-abiding offer reaches, and whether it was proven."""
    settings = problem.settings
    cands = cands if cands is not None else build_candidates(problem.catalog, problem.model, settings, problem.last_prices)
    if len(cands) == 0:
        return 0.0, True
    shares = problem.model.shares
    keep = _reduce(cands, shares, settings.max_bundles, "attach")
    pins = cands.pin_mask[cands.set_id[keep]]
    start = local_search(cands.attraction[keep], np.ones(len(keep)), cands.set_id[keep], pins, shares,
                         settings.max_bundles, 0.0, _all_pins(problem))
    milp = OfferMilp(cands.attraction[keep], cands.margin[keep], cands.set_id[keep], pins, shares,
                     settings.max_bundles, 0.0, _all_pins(problem), objective="attach")
    result = milp.solve(settings.time_limit, settings.rel_gap, start=start)
    if result.status is SolveStatus.INFEASIBLE:  # pins no set can hold
        return 0.0, True
    chosen = list(result.chosen) or start
    v = cands.attraction[keep][chosen]
    best = float(((v / (1.0 + v.sum(axis=0))).sum(axis=0)) @ shares) if chosen else 0.0
    return best, result.status.proven_optimal


def optimize(problem: Problem) -> OptimizationResult:
    """Choose the offer that maximises expected incremental margin under the rules and target.

    Raises
    ------
    InfeasibleTarget
        When no offer reaches the attach target (or no offer satisfies the pins).
    """
    settings, model = problem.settings, problem.model
    shares = model.shares
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    cands = build_candidates(problem.catalog, model, settings, problem.last_prices)
    timings["candidates_seconds"] = time.perf_counter() - t0

    t1 = time.perf_counter()
    keep = _reduce(cands, shares, settings.max_bundles, "margin")
    timings["pruning_seconds"] = time.perf_counter() - t1

    attraction, margin, set_id = cands.attraction[keep], cands.margin[keep], cands.set_id[keep]
    pins = cands.pin_mask[set_id]
    t2 = time.perf_counter()
    start = _incumbent(attraction, margin, set_id, pins, shares, settings, _all_pins(problem))
    start_ok = start is not None
    timings["incumbent_seconds"] = time.perf_counter() - t2

    milp = OfferMilp(attraction, margin, set_id, pins, shares, settings.max_bundles, settings.attach_rate,
                     _all_pins(problem))
    timings["build_seconds"] = milp.build_seconds
    result = milp.solve(settings.time_limit, settings.rel_gap, start=start if start_ok else None)
    timings["solve_seconds"] = result.solve_seconds

    status = result.status
    chosen = list(result.chosen)
    if status is SolveStatus.NO_SOLUTION and start_ok:
        status, chosen = SolveStatus.TIME_LIMIT, list(start)
    if status is SolveStatus.INFEASIBLE or (status is SolveStatus.NO_SOLUTION and len(cands) == 0):
        best, proven = max_attach_rate(problem, cands)
        raise InfeasibleTarget(settings.attach_rate, best, proven)
    if not status.is_ok:
        raise RuntimeError(f"the solver stopped without an offer (status {status.value})")

    chosen.sort(key=lambda c: -margin[c])
    offer = Offer(tuple(
        Bundle(cands.skus_of(keep[c]), float(cands.price[keep[c]]),
               None if np.isnan(cands.last_price[keep[c]]) else float(cands.last_price[keep[c]]))
        for c in chosen
    ))
    figures = evaluate_offer(offer, problem.catalog, model, settings.buyers)
    if figures.attach_rate < settings.attach_rate - _ATTACH_TOLERANCE:
        raise RuntimeError(
            f"solver answer misses the attach target on exact evaluation ({figures.attach_rate:.8f} < "
            f"{settings.attach_rate:.8f}); this is a bug"
        )
    exact = figures.margin_per_buyer
    bound = result.bound
    gap = None
    if bound is not None:
        gap = max(bound - exact, 0.0) / max(abs(exact), 1e-9)
        if status is SolveStatus.OPTIMAL and gap > settings.rel_gap * 1.01 + 1e-9:
            status = SolveStatus.TIME_LIMIT  # never claim what the numbers do not show
    timings["total_seconds"] = time.perf_counter() - t0
    diagnostics = {
        "candidates": len(cands),
        "sku_sets": cands.n_sets,
        "candidates_after_pruning": int(len(keep)),
        "incumbent_margin_per_buyer": _margin_of(attraction[start], margin[start], shares) if start_ok else None,
        "bound_margin_per_buyer": bound,
        "nodes": result.nodes,
        **{k: round(v, 4) for k, v in timings.items()},
    }
    return OptimizationResult(problem, status, offer, figures, None if bound is None else bound, gap, diagnostics)


def _incumbent(attraction: np.ndarray, margin: np.ndarray, set_id: np.ndarray, pins: np.ndarray,
               shares: np.ndarray, settings, all_pins: int, per_list: int = 30) -> list[int] | None:
    """A feasible starting offer: the better of a swap search and the optimum over a small core.

    The core is the union of each segment's best candidates at half its margin bound, the most
    attractive, and the most profitable ones; its MILP is small and usually already holds the
    optimum, which then only needs proving on the full model.
    """
    target, k = settings.attach_rate, settings.max_bundles
    options = [local_search(attraction, margin, set_id, pins, shares, k, target, all_pins)]
    if len(margin) > 3 * per_list:
        bounds = segment_margin_bounds(attraction, margin, set_id, int(set_id.max()) + 1, k)
        scores = [attraction[:, s] * (margin - 0.5 * bounds[s]) for s in range(attraction.shape[1])]
        scores += [attraction @ shares, (attraction * margin[:, None]) @ shares]
        core = np.unique(np.concatenate([np.argsort(-sc)[:per_list] for sc in scores]))
        if pins.any():
            core = np.union1d(core, np.flatnonzero(pins))
        milp = OfferMilp(attraction[core], margin[core], set_id[core], pins[core], shares, k, target, all_pins)
        found = milp.solve(min(settings.time_limit / 4, 10.0), settings.rel_gap)
        if found.chosen:
            options.append([int(core[c]) for c in found.chosen])
    feasible = [o for o in options if _feasible(attraction[o], shares, target, pins[o], all_pins)]
    if not feasible:
        return None
    return max(feasible, key=lambda o: _margin_of(attraction[o], margin[o], shares))


def _feasible(attraction: np.ndarray, shares: np.ndarray, target: float, pins: np.ndarray, all_pins: int) -> bool:
    covered = 0
    for p in pins:
        covered |= int(p)
    if covered & all_pins != all_pins:
        return False
    if len(attraction) == 0:
        return target <= 0
    attach = float((1.0 - 1.0 / (1.0 + attraction.sum(axis=0))) @ shares)
    return attach >= target


def _margin_of(attraction: np.ndarray, margin: np.ndarray, shares: np.ndarray) -> float:
    take = attraction / (1.0 + attraction.sum(axis=0))
    return float((take * margin[:, None]).sum(axis=0) @ shares)
