"""From a problem to a proven offer: candidates, safe pruning, incumbent, MILP, exact evaluation."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models.errors import InputError
from pricing.optimizer.budget import command_deadline
from pricing.optimizer.candidates import Candidates, build_candidates
from pricing.optimizer.pool import CUT_ROUNDS, Solved
from pricing.optimizer.pool_solve import solve_pool
from pricing.domain.offer import Bundle, Offer, OfferFigures, evaluate_offer
from pricing.domain.problem import Problem
from pricing.optimizer.space import GoalReach, Space
from pricing.optimizer.status import SolveStatus

__all__ = ["optimize", "OptimizationResult", "InfeasibleTarget", "GoalsOutOfReach", "max_attach_rate"]

# Scenario counts tried in turn for target_confidence, the draws each check takes, and seeds
# kept apart so the reported probability is measured on draws the choice never saw.
SCENARIO_DRAWS = (20, 40, 80, 160)
CHECK_DRAWS = 2000
_SCENARIO_SEED, _CALIBRATION_SEED, _REPORT_SEED = 101, 202, 303
# How close to its required value a goal is called binding (active at the optimum), in its unit.
_BINDS = {"attach_rate": 1e-3, "margin_rate_points": 0.05, "devices_per_buyer": 1e-3}

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
    goals: dict[str, Any] = field(default_factory=dict)

    @property
    def proven_optimal(self) -> bool:
        return self.status.proven_optimal


def _all_pins(problem: Problem) -> int:
    return (1 << len(problem.settings.pinned)) - 1


def max_attach_rate(problem: Problem, cands: Candidates | None = None) -> tuple[float, bool]:
    """Highest attach rate any rule-abiding offer reaches, and whether it was proven."""
    settings = problem.settings
    cands = cands if cands is not None else build_candidates(problem.catalog, problem.model, settings, problem.last_prices)
    if len(cands) == 0:
        return 0.0, True
    return Space.of(problem, cands).best_attach()


class GoalsOutOfReach(InfeasibleTarget):
    """The attach target is reachable but a goal (or the goals together) is not.

    ``reach`` holds, for each goal other than the attach target, the best value the offer rules
    and the attach target allow; ``lines`` the sentences said to the user.
    """

    def __init__(self, target: float, best_attach: float, reach: list[GoalReach], confidence: float | None):
        self.reach = reach
        lines = []
        for r in reach:
            if r.best < r.required:
                lines.append(_out_of_reach_line(r, target))
        if not lines:
            alone = "; ".join(f"{_label(r.name)} alone can reach {_shown(r.name, r.best)}" for r in reach)
            lines.append("the goals conflict: each is reachable on its own but no offer meets them all"
                         + (f" with probability {confidence:.0%}" if confidence else "") + (f" ({alone})" if alone else ""))
        self.lines = lines
        InfeasibleTarget.__init__(self, target, best_attach)
        Exception.__init__(self, "; ".join(lines))


def _label(name: str) -> str:
    return {"margin_rate_points": "the margin-rate goal", "devices_per_buyer": "the devices goal"}.get(name, name)


def _shown(name: str, value: float) -> str:
    return f"{value:+.2f} points" if name == "margin_rate_points" else f"{value:.3f} devices per buyer"


def _out_of_reach_line(r: GoalReach, target: float) -> str:
    qualifier = "" if r.proven else " (best found; the time limit stopped the proof)"
    if not r.proven and r.at_most is not None and r.name == "margin_rate_points":
        qualifier = f" (best found; at most {r.at_most:+.2f} proven, the time limit stopped the proof)"
    if r.name == "margin_rate_points":
        return (f"{r.required:+g} points is out of reach with this catalog: at a {target:.0%} attach rate the best "
                f"change is {r.best:+.2f} points{qualifier}")
    return (f"{r.required:g} devices per buyer is out of reach with this catalog: at a {target:.0%} attach rate "
            f"the most is {r.best:.3f}{qualifier}")


def optimize(problem: Problem, *, cut_rounds: int = CUT_ROUNDS, ordering_rows: bool = True) -> OptimizationResult:
    """Choose the offer that maximises expected incremental margin under the rules, target and goals.

    The result's status is ``optimal`` only when the exact margin of the offer is within
    ``rel_gap`` of the solver's proven bound. ``time_limit`` holds for the whole call (or the
    command's deadline the settings carry, when that comes first).

    Raises
    ------
    InfeasibleTarget
        When no offer reaches the attach target (or no offer holds every pinned SKU).
    GoalsOutOfReach
        When the target is reachable but a goal, or the goals together, are not.

    ``cut_rounds`` (rounds of conic tangent cuts at the root) and ``ordering_rows`` (dominance
    ordering rows) only change how fast a proof comes, never the answer; benchmarks turn them off
    to compare.
    """
    if problem.settings.deadline is not None:
        return _optimize(problem, cut_rounds, ordering_rows)
    # ``time_limit`` holds for the whole call, as for a command: the confidence rounds and the
    # goals' explanations share it with the solve (each got its own before, and a library call
    # with target_confidence 0.9 ran 95 to 114 s for a 60 s limit). The result carries the
    # caller's problem, so that a solve started from it gets a deadline of its own.
    bounded = problem.replace(settings=command_deadline(problem.settings, time.time()))
    return dataclasses.replace(_optimize(bounded, cut_rounds, ordering_rows), problem=problem)


def _optimize(problem: Problem, cut_rounds: int, ordering_rows: bool) -> OptimizationResult:
    """:func:`optimize` for a problem whose settings carry the deadline."""
    settings = problem.settings
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    cands = build_candidates(problem.catalog, problem.model, settings, problem.last_prices)
    timings["candidates_seconds"] = time.perf_counter() - t0
    engine = {"cut_rounds": cut_rounds, "ordering_rows": ordering_rows}
    space = Space.of(problem, cands, **engine)
    if _goal_beyond_any_offer(space):
        _explain_infeasible(space, settings.target_confidence)
    if settings.target_confidence is not None:
        return _optimize_with_confidence(problem, cands, timings, t0, engine)
    t1 = time.perf_counter()
    keep = space.keep("margin", goals=space.goals)
    timings["pruning_seconds"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    solved = solve_pool(space.pool("margin", keep, goals=space.goals), fallback=lambda: _attach_start(space, keep))
    timings["solve_seconds"] = time.perf_counter() - t2
    timings.update(solved.seconds)
    if solved.status is SolveStatus.INFEASIBLE:
        _explain_infeasible(space, None)
    if solved.status is SolveStatus.NO_SOLUTION and len(space.goals.goals) > 1:
        # Stopped before any offer met the goals: say so if a goal is provably out of reach.
        _explain_infeasible(space, None, proven_empty=False)
    return _result(problem, cands, keep, solved, timings, t0, space)


def _attach_start(space: Space, keep: np.ndarray) -> list[int] | None:
    """When the swap searches find no offer meeting the target: the offer of highest attach rate
    under the rules (a solve of its own), in ``keep``'s positions, when it meets the target.

    Under offer rules a target above what any offer reaches but below what the LP relaxation
    reaches left the MILP searching all 37,808 shipped candidates for the whole time limit
    (25% under the default rules: 60 s, no offer); this answers it as unreachable in seconds.

    Raises
    ------
    InfeasibleTarget
        When the highest attach rate is proven below the target (or the pins cannot be held).
    """
    target = space.problem.settings.attach_rate
    best, proven, offer = space.most_attractive()
    if best < target or not offer:
        if proven:
            raise InfeasibleTarget(target, best, proven)
        return None
    where = {int(k): i for i, k in enumerate(keep)}
    return [where[c] for c in offer] if all(c in where for c in offer) else None


def _goal_beyond_any_offer(space: Space) -> bool:
    """True when some goal's level is above what any offer can give, seen from its per-sale
    weights alone: ``sum_s w_s sum_b P_s(b) g_b <= max(0, max_b g_b)`` since the take shares sum
    to at most 1. On the shipped data every bundle's margin rate is below the no-bundle rate, so
    "+3 points" is out of reach before any pruning or solve."""
    return any(g.level > max(0.0, float(g.weight.max(initial=0.0))) for g in space.goals.goals
               if g.name != "attach_rate")


def _explain_infeasible(space: Space, confidence: float | None, proven_empty: bool = True) -> None:
    """Raise the answer for an empty program: the attach target, or which goal, is out of reach.

    With ``proven_empty=False`` (the solve stopped without an offer) raise only when a goal's
    best value is proven below what is asked; otherwise return.
    """
    settings = space.problem.settings
    best, proven = space.best_attach()
    if best < settings.attach_rate or not any(g.name != "attach_rate" for g in space.goals.goals):
        if proven_empty or (proven and best < settings.attach_rate):
            raise InfeasibleTarget(settings.attach_rate, best, proven)
        return
    reach = [space.best_goal(g.name) for g in space.goals.goals if g.name != "attach_rate"]
    if proven_empty or any(r.proven and r.best < r.required for r in reach):
        raise GoalsOutOfReach(settings.attach_rate, best, reach, confidence)


def _optimize_with_confidence(problem: Problem, cands: Candidates, timings: dict[str, float],
                              started: float, engine: dict[str, Any]) -> OptimizationResult:
    """Every goal imposed in each of S coefficient draws, S raised until the offer meets all goals
    in a share ``target_confidence`` of 2,000 calibration draws; the probability reported is then
    measured on 2,000 further draws (``docs/formulation.md`` section 8)."""
    q = float(problem.settings.target_confidence)
    calibration = None
    for n_draws in SCENARIO_DRAWS:
        space = Space.of(problem, cands, n_draws=n_draws, seed=_SCENARIO_SEED, **engine)
        if space.draws is None:
            raise InputError("model.json", "target_confidence needs the fit's coefficient covariance "
                                           "(refit with python -m pricing fit)")
        keep, solved = _solve_scenarios(space, timings)
        if not solved.chosen:
            break
        calibration = space.probability_met(keep, solved.chosen, CHECK_DRAWS, _CALIBRATION_SEED)
        if calibration is None or calibration["all"] >= q:
            break
    timings["scenario_draws"] = float(space.draws.shape[0])
    timings["calibration_probability"] = float("nan") if calibration is None else calibration["all"]
    return _result(problem, cands, keep, solved, timings, started, space)


def _solve_scenarios(space: Space, timings: dict[str, float]) -> tuple[np.ndarray, Solved]:
    """The program with every goal in each draw of ``space``, by constraint generation: solve with
    the draws' rows of a few draws, add the draws the answer misses, repeat. Each round's program
    is a relaxation of the full one, so an answer that meets every draw is optimal for it."""
    clock = time.perf_counter()
    keep = space.keep("margin", goals=space.goals, with_draws=True)
    timings["pruning_seconds"] = time.perf_counter() - clock
    clock = time.perf_counter()
    active: list[int] = []
    rounds, start = 0, None
    while True:
        rounds += 1
        pool = space.pool("margin", keep, goals=space.goals, with_draws=True, active_draws=active)
        # The last round's answer, repaired to meet the new draws, is a start (``Pool.improved``).
        solved = solve_pool(dataclasses.replace(pool, start=start))
        if solved.status is SolveStatus.INFEASIBLE:
            _explain_infeasible(space, space.problem.settings.target_confidence)
        if not solved.chosen:
            break
        shortfall = space.draw_shortfalls(keep, solved.chosen)
        missed = [int(d) for d in np.argsort(-shortfall) if shortfall[d] > 1e-9 and int(d) not in active][:3]
        if not missed:
            break
        active += missed
        start = tuple(solved.chosen)
    timings["solve_seconds"] = time.perf_counter() - clock
    timings["scenario_rounds"] = float(rounds)
    timings["scenario_draws_with_rows"] = float(len(active))
    timings.update(solved.seconds)
    return keep, solved


def _goal_record(space: Space, keep: np.ndarray, chosen, figures: OfferFigures) -> dict[str, Any]:
    """``run.json``'s ``goals``: per goal the required value, the value reached and whether it
    binds (is active at the optimum within ``_BINDS``), and the probability each holds."""
    values = space.offer_values(keep, chosen)
    out: dict[str, Any] = {}
    for goal in space.goals.goals:
        reached = values[goal.name]
        out[goal.name] = {"required": goal.required, "reached": reached,
                          "binds": bool(reached - goal.required <= _BINDS[goal.name])}
    confidence = space.problem.settings.target_confidence
    probability = space.probability_met(keep, chosen, CHECK_DRAWS, _REPORT_SEED) if len(chosen) else None
    if probability is not None:
        for name, p in probability.items():
            if name in out:
                out[name]["probability_met"] = p
        out["prob_target_met"] = probability["all"]
        out["probability_draws"] = CHECK_DRAWS
    out["target_confidence"] = confidence
    if space.draws is not None:
        out["scenario_draws"] = int(space.draws.shape[0])
    return out


def _result(problem: Problem, cands: Candidates, keep: np.ndarray, solved: Solved,
            timings: dict[str, float], started: float, space: Space | None = None) -> OptimizationResult:
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
    root = timings.pop("root_bound", float("nan"))
    if bound is not None and np.isfinite(root):
        # The root LP bounds every offer better than the incumbent, which the answer is at least:
        # a second valid bound. HiGHS has reported "optimal" with a dual bound far above it when
        # tightened bounds pinch x0 to within its tolerance (a one-bundle pool, docs/notes/rules.md).
        bound = min(bound, max(root, solved.value))
    if bound is not None and status.is_ok:
        gap = max(bound - exact, 0.0) / max(abs(exact), 1e-12)
        if status is SolveStatus.OPTIMAL and gap > settings.rel_gap:
            status = SolveStatus.TIME_LIMIT  # never claim what the numbers do not show
    timings["total_seconds"] = time.perf_counter() - started
    cuts = int(timings.pop("conic_cuts", 0))
    after_bound = int(timings.pop("candidates_after_bound", len(keep)))
    diagnostics = {
        "candidates": len(cands),
        "sku_sets": cands.n_sets,
        "candidates_after_pruning": int(len(keep)),
        "candidates_after_bound": after_bound,
        "incumbent_margin_per_buyer": solved.incumbent,
        "bound_margin_per_buyer": bound,
        "nodes": solved.nodes,
        "root_bound_margin_per_buyer": None if not np.isfinite(root) else float(root),
        "conic_cuts": cuts,
        **{k: round(v, 4) for k, v in timings.items()},
    }
    goals = _goal_record(space, keep, sorted(solved.chosen, key=lambda c: -margin[c]), figures) \
        if space is not None and status.is_ok else {}
    return OptimizationResult(problem, status, offer, figures, bound, gap, diagnostics, goals)
