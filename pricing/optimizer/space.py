"""The search space of one problem with its goals, offer rules and coefficient draws.

:class:`Space` builds the pools the solver runs on (which candidates survive pruning, which rows
the program gets), and answers "how far can this goal go under the other rules?" when a goal is
out of reach.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models import mnl
from models.errors import InputError, clip, quote
from pricing.domain.problem import Problem
from pricing.optimizer.budget import solve_deadline
from pricing.optimizer.candidates import Candidates
from pricing.optimizer.goals import GoalSet, draw_attraction, goal_set
from pricing.optimizer.offer_rules import OfferRules, offer_rules_of
from pricing.optimizer.pool import CUT_ROUNDS, Pool, Solved, reduce_candidates
from pricing.optimizer.pool_solve import solve_pool
from pricing.optimizer.status import SolveStatus
from pricing.optimizer.swap_safety import pruning_is_safe, swap_condition

__all__ = ["Space", "GoalReach"]

# Points by which the best margin-rate change may exceed the one reported when "proven" (the
# line shows two decimals).
_RATE_TOLERANCE = 0.005
# Seconds each exact step of the best margin-rate search may take: it explains a goal out of
# reach, and says what it proved (an interval) when this stops it.
_EXPLAIN_SECONDS = 10.0


@dataclass(frozen=True)
class GoalReach:
    """The best value of one goal the other rules allow (in the goal's unit), and whether proven."""

    name: str
    required: float
    best: float
    proven: bool
    at_most: float | None = None  # a proven upper bound on the best value, when not proven best


# A bundle this attractive (utility 13.8) leaves every other choice a share below 1e-6 of its
# segment: under the solver's tolerances no two offers could be told apart, and beyond 1e15
# HiGHS refuses the program's coefficients outright (a utility of 36 did).
MAX_ATTRACTION = 1e6


def _check_attraction(problem: Problem, cands: Candidates) -> None:
    """:class:`InputError` naming the segment and bundle when a candidate is more attractive
    than ``MAX_ATTRACTION``: the demand model's utilities are then beyond what can be priced."""
    if not len(cands) or float(cands.attraction.max()) <= MAX_ATTRACTION:
        return
    c, s = np.unravel_index(int(np.argmax(cands.attraction)), cands.attraction.shape)
    skus = [problem.catalog.skus[int(i)] for i in cands.members[cands.set_id[c]] if i >= 0]
    raise InputError("model.json", f"segment {quote(problem.model.segments[s].name)}: the bundle "
                     f"{clip(' + '.join(skus))} at {cands.price[c]:,.0f} CNY has utility "
                     f"{np.log(cands.attraction[c, s]):.1f}; the optimizer needs every bundle's utility at "
                     f"most {np.log(MAX_ATTRACTION):.1f} (beyond it the other choices keep under 1e-6 of the "
                     "segment and no two offers can be told apart)")


@dataclass(frozen=True, eq=False)
class Space:
    """Candidates of a problem with the goals over them and, for ``target_confidence``,
    ``draws``: (draws, candidates, segments) attractions under coefficient draws."""

    problem: Problem
    cands: Candidates
    goals: GoalSet
    draws: np.ndarray | None = None
    cut_rounds: int = CUT_ROUNDS
    ordering_rows: bool = True

    @classmethod
    def of(cls, problem: Problem, cands: Candidates, n_draws: int = 0, seed: int = 0, *,
           cut_rounds: int = CUT_ROUNDS, ordering_rows: bool = True) -> "Space":
        _check_attraction(problem, cands)
        goals = goal_set(problem.catalog, cands.members, cands.set_id, cands.price, cands.margin, problem.settings)
        draws = None
        if n_draws and len(cands):
            draws = draw_attraction(problem.model, problem.catalog, cands.members, cands.set_id, cands.price,
                                    n_draws, seed)
        return cls(problem, cands, goals, draws, cut_rounds, ordering_rows)

    @property
    def all_pins(self) -> int:
        return (1 << len(self.problem.settings.pinned)) - 1

    def rules(self, keep: np.ndarray) -> OfferRules | None:
        s = self.problem.settings
        if not s.has_offer_rules:
            return None
        return offer_rules_of(self.cands.members[self.cands.set_id[keep]], self.cands.price[keep],
                              s.max_bundles_per_sku, s.max_shared_skus, s.min_price_gap)

    def keep(self, objective: str, *, margin: np.ndarray | None = None, goals: GoalSet | None = None,
             with_draws: bool = False) -> np.ndarray:
        """Candidates left by safe pruning for this objective, goals and draws: the plain count of
        :mod:`pricing.optimizer.pruning`; under offer rules that can bind, every candidate (the
        root LP's bound, :mod:`bound_fixing`, drops what no good offer holds; it did better than
        a pruning exact under the rules, ``docs/formulation.md`` 7.1)."""
        s = self.problem.settings
        if not pruning_is_safe(s.has_offer_rules):
            return np.arange(len(self.cands))
        others = [g.weight for g in goals.goals if g.name != "attach_rate"] if goals is not None else []
        worlds = [self.cands.attraction] + (list(self.draws) if with_draws and self.draws is not None else [])
        if objective == "attach":
            others = []
        condition = swap_condition(worlds, others, self.cands.set_id, s.max_bundles,
                                   check_attraction=len(worlds) > 1, shares=self.problem.model.shares,
                                   pairwise=True)
        return reduce_candidates(self.cands, self.problem.model.shares, s.max_bundles, objective, margin=margin,
                                 may_replace=condition, deadline=solve_deadline(s))

    def pool(self, objective: str, keep: np.ndarray, *, margin: np.ndarray | None = None,
             goals: GoalSet | None = None, with_draws: bool = False, active_draws=None,
             time_limit: float | None = None) -> Pool:
        """The pool over candidates ``keep``; with draws, only those listed in ``active_draws``
        (all when ``None``) get their rows. ``time_limit`` (seconds) shortens the settings' own."""
        c = self.cands
        set_id = c.set_id[keep]
        margin = c.margin if margin is None else margin
        draws = None
        if with_draws and self.draws is not None:
            chosen_draws = np.arange(len(self.draws)) if active_draws is None else np.asarray(active_draws, dtype=int)
            draws = self.draws[np.ix_(chosen_draws, keep)] if len(chosen_draws) else None
        rules = self.rules(keep)
        subset = None if goals is None else goals.subset(keep)
        # The ordering rows rest on the plain swap of pruning: only without rules, other goals or draws.
        plain = rules is None and draws is None and (subset is None or all(g.name == "attach_rate" for g in subset.goals))
        settings = self.problem.settings
        if time_limit is not None and time_limit < settings.time_limit:
            settings = settings.replace(time_limit=time_limit)
        return Pool(c.attraction[keep], margin[keep], set_id, c.pin_mask[set_id], self.problem.model.shares,
                    settings, self.all_pins, objective, subset, rules, draws,
                    ordering=self.ordering_rows and plain, cut_rounds=self.cut_rounds)

    def solve(self, objective: str, *, margin: np.ndarray | None = None, goals: GoalSet | None = None,
              with_draws: bool = False, time_limit: float | None = None) -> tuple[np.ndarray, Solved]:
        keep = self.keep(objective, margin=margin, goals=goals, with_draws=with_draws)
        return keep, solve_pool(self.pool(objective, keep, margin=margin, goals=goals, with_draws=with_draws,
                                          time_limit=time_limit))

    # -- how far each goal can go ------------------------------------------------------------
    def best_attach(self) -> tuple[float, bool]:
        """Highest attach rate under the offer rules (no goal, no draw), and whether proven."""
        best, proven, _ = self.most_attractive()
        return best, proven

    def most_attractive(self) -> tuple[float, bool, list[int]]:
        """The highest attach rate under the offer rules (no goal, no draw), whether proven, and
        the offer reaching it (candidate indices; empty when none was found)."""
        keep, solved = self.solve("attach")
        if not solved.chosen:
            return 0.0, solved.status in (SolveStatus.OPTIMAL, SolveStatus.INFEASIBLE), []
        gap = (solved.bound - solved.value) / max(solved.value, 1e-12) if solved.bound is not None else np.inf
        proven = solved.status is SolveStatus.OPTIMAL and gap <= self.problem.settings.rel_gap
        return solved.value, proven, [int(keep[c]) for c in solved.chosen]

    def offer_values(self, keep: np.ndarray, chosen) -> dict[str, float]:
        """The goals' values (own units) of the offer of candidates ``keep[chosen]``."""
        idx = keep[list(chosen)]
        return self.goals.values(idx, self.cands.attraction[idx], self.problem.model.shares)

    def best_goal(self, name: str, iterations: int = 8) -> GoalReach:
        """Best value of goal ``name`` under the attach target and the offer rules alone.

        Devices per buyer: one solve maximising ``sum P g``. Margin rate: :meth:`_best_rate_points`.
        """
        settings = self.problem.settings
        required = float(getattr(settings, name))
        if name == "devices_per_buyer":
            keep, solved = self.solve("margin", margin=self.goals.devices, goals=self._target_only)
            best = self.offer_values(keep, solved.chosen)[name] if solved.chosen else self.goals.baseline[2]
            return GoalReach(name, required, best, solved.status is SolveStatus.OPTIMAL)
        return self._best_rate_points(required, iterations)

    @property
    def _target_only(self) -> GoalSet:
        return GoalSet(tuple(g for g in self.goals.goals if g.name == "attach_rate"), self.goals.margin,
                       self.goals.revenue, self.goals.devices, self.goals.baseline)

    def _best_rate_points(self, required: float, iterations: int) -> GoalReach:
        """Best change of the IoT gross-margin rate (points) under the attach target and rules.

        ``docs/formulation.md`` section 6: with every bundle's ``m - r0 r <= 0`` and nothing forcing
        a bundle (no target, no pin) the answer is 0 points, the empty offer, with no solve.
        Otherwise Dinkelbach's method on ``f(rho) = max sum P (m - rho r) + m0 - rho R0``, started
        at the rate of the best offer the swap searches find (a few cheap rounds), each exact step
        proving ``f(rho) <= tol`` or moving ``rho`` to the better offer's rate. Proven means no
        offer beats the answer by more than ``_RATE_TOLERANCE`` points.
        """
        name, settings, base = "margin_rate_points", self.problem.settings, self._target_only
        m0, r0, _ = self.goals.baseline
        rate0 = m0 / r0 if r0 > 0 else 0.0
        weight = (lambda rho: self.goals.margin - rho * self.goals.revenue)
        forced = settings.attach_rate > 0 or bool(settings.pinned)
        if not forced and float(weight(rate0).max(initial=0.0)) <= 0.0:
            return GoalReach(name, required, 0.0, True)
        # Revenue per buyer of any offer is at least this (a sale changes it by r, shares sum <= 1).
        revenue_floor = r0 + min(0.0, float(self.goals.revenue.min(initial=0.0)))
        best, rho = (-np.inf if forced else 0.0), rate0  # unforced, the empty offer is a choice: 0 points
        keep = self.keep("margin", margin=weight(rho), goals=base)
        for _ in range(4):  # the swap searches' own Dinkelbach: cheap, and any offer found is feasible
            chosen = self.pool("margin", keep, margin=weight(rho), goals=base).incumbent()
            if not chosen:
                break
            points = self.offer_values(keep, chosen)[name]
            if points <= best + 1e-9:
                break
            best, rho = points, rate0 + points / 100.0
        proven, at_most = False, None
        for _ in range(iterations):
            keep, solved = self.solve("margin", margin=weight(rho), goals=base, time_limit=_EXPLAIN_SECONDS)
            if solved.chosen:
                points = self.offer_values(keep, solved.chosen)[name]
                if points > best + 1e-9:
                    best, rho = points, rate0 + points / 100.0
                    continue
            if solved.bound is None or not np.isfinite(best) or revenue_floor <= 0:
                break
            # Every offer's rate is at most rho + f(rho) / revenue, f(rho) <= bound + m0 - rho R0.
            slack = 100.0 * max(solved.bound + m0 - rho * r0, 0.0) / revenue_floor
            proven, at_most = slack <= _RATE_TOLERANCE, 100.0 * (rho - rate0) + slack
            break
        return GoalReach(name, required, float(best) if np.isfinite(best) else 100.0 * (0.0 - rate0), proven,
                         None if proven else at_most)

    def draw_shortfalls(self, keep: np.ndarray, chosen) -> np.ndarray:
        """(draws,) worst shortfall of any goal in each draw, relative to the goal's scale (> 0: missed)."""
        idx = keep[list(chosen)]
        shares = self.problem.model.shares
        if self.draws is None:
            return np.zeros(0)
        take = mnl.choice_probabilities(self.draws[:, idx, :])
        worst = np.full(len(self.draws), -np.inf)
        for goal in self.goals.goals:
            value = mnl.margin_per_buyer(take, shares, np.broadcast_to(goal.weight[idx], take.shape[:2]))
            scale = max(float(np.abs(goal.weight).max(initial=0.0)), abs(goal.level), 1e-12)
            worst = np.maximum(worst, (goal.level - value) / scale)
        return worst

    def probability_met(self, keep: np.ndarray, chosen, n_draws: int, seed: int) -> dict[str, float] | None:
        """Share of ``n_draws`` fresh coefficient draws in which each goal (and all at once) holds."""
        idx = keep[list(chosen)]
        if not len(idx):
            return None
        c = self.cands
        # Only the offer's own sets: drawing every set's utilities would cost draws x sets.
        draws = draw_attraction(self.problem.model, self.problem.catalog, c.members[c.set_id[idx]],
                                np.arange(len(idx)), c.price[idx], n_draws, seed)
        if draws is None:
            return None
        shares = self.problem.model.shares
        take = mnl.choice_probabilities(draws)
        met = {}
        for goal in self.goals.goals:
            value = mnl.margin_per_buyer(take, shares, np.broadcast_to(goal.weight[idx], take.shape[:2]))
            met[goal.name] = value >= goal.level
        out = {name: float(np.mean(ok)) for name, ok in met.items()}
        out["all"] = float(np.mean(np.all(list(met.values()), axis=0))) if met else 1.0
        return out
