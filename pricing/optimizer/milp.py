"""The mixed-integer program over candidates, built with PuLP and solved by HiGHS.

Exact for the mixture of logits (``docs/formulation.md`` has the derivation). Per segment ``s``
the no-bundle share is ``x0_s = 1 / (1 + sum_b v_bs z_b)``; the program carries
``t_bs = x0_s z_b`` (a bundle's take share divided by its attraction, so every variable is of
order one whatever the attraction) and the segment's attach rate ``a_s = 1 - x0_s``, stored
scaled as ``alpha_s = a_s / sigma_s`` with ``sigma_s`` the largest attraction in the segment.
``t = x0 z`` with ``z`` binary and ``x0`` in ``[L_s, U_s]`` is linearised exactly (McCormick);
the bounds ``L_s, U_s`` come from the rules and are then tightened against an incumbent.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import highspy
import numpy as np
import pulp

from models import mnl
from pricing.optimizer.conic_cuts import OuterCuts
from pricing.optimizer.goals import Goal
from pricing.optimizer.highs import HighsWithStart
from pricing.optimizer.milp_goals import GoalRuleRows
from pricing.optimizer.offer_rules import OfferRules
from pricing.optimizer.pruning import per_set_max
from pricing.optimizer.status import SolveStatus, status_from_highs

__all__ = ["OfferMilp", "MilpResult"]


@dataclass(frozen=True)
class MilpResult:
    """What the solver returned. ``objective`` and ``bound`` are per car buyer (CNY for the
    margin objective, share of buyers for the attach objective)."""

    chosen: tuple[int, ...]
    status: SolveStatus
    objective: float | None
    bound: float | None
    solve_seconds: float
    nodes: int


def _expr(pairs) -> pulp.LpAffineExpression:
    return pulp.LpAffineExpression(pairs)


class OfferMilp(GoalRuleRows):
    """The offer-selection MILP for one set of candidates.

    Parameters
    ----------
    attraction : (candidates, segments) ``exp(u)``.
    margin : (candidates,) incremental margin of one sale, CNY.
    set_id : (candidates,) SKU set of each candidate; one price per set.
    pin_mask : (candidates,) bit mask of pinned SKUs held; ``all_pins`` must each be covered.
    shares : (segments,) segment shares.
    max_bundles : K.
    target : attach-rate target (share of buyers); ignored when ``objective == "attach"``.
    objective : ``"margin"`` (expected incremental margin per buyer) or ``"attach"``.
    no_bundle_bounds : optional (low, high) arrays over segments, bounds on ``x0_s`` known to
        hold for every offer worth finding (see :meth:`tightened_bounds`).
    goals : goals other than the attach target, imposed under the model's coefficients.
    rules : offer rules (SKU use, shared SKUs, price gap), or ``None``.
    draws : optional (draws, candidates, segments) attractions under coefficient draws; every
        goal of ``draw_goals`` (the attach target included) is imposed in each draw.
    """

    def __init__(self, attraction: np.ndarray, margin: np.ndarray, set_id: np.ndarray, pin_mask: np.ndarray,
                 shares: np.ndarray, max_bundles: int, target: float, all_pins: int = 0, objective: str = "margin",
                 no_bundle_bounds: tuple[np.ndarray, np.ndarray] | None = None, goals: Sequence[Goal] = (),
                 rules: OfferRules | None = None, draws: np.ndarray | None = None,
                 draw_goals: Sequence[Goal] = ()):
        self.attraction = np.asarray(attraction, float)
        self.margin = np.asarray(margin, float)
        self.set_id = np.asarray(set_id)
        self.pin_mask = np.asarray(pin_mask)
        self.shares = np.asarray(shares, float)
        self.max_bundles = int(max_bundles)
        self.target = float(target) if objective == "margin" else 0.0
        self.all_pins = int(all_pins)
        self.objective = objective
        self.goals, self.rules, self.draws, self.draw_goals = tuple(goals), rules, draws, tuple(draw_goals)
        start = time.perf_counter()
        self.x0_low, self.x0_high = self._rule_bounds()
        if no_bundle_bounds is not None:
            self.x0_low = np.maximum(self.x0_low, no_bundle_bounds[0])
            self.x0_high = np.maximum(np.minimum(self.x0_high, no_bundle_bounds[1]), self.x0_low)
        self.omega: list[pulp.LpVariable] | None = None
        self._cuts_added = (0, 0)
        self._build()
        self.build_seconds = time.perf_counter() - start

    # -- model ------------------------------------------------------------------------------
    def _rule_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """``x0_s`` bounds from the rules alone: at best the K most attractive sets are offered;
        at worst (when an offer must be non-empty) only the least attractive candidate."""
        v = self.attraction
        n, n_seg = v.shape
        sets, set_index = np.unique(self.set_id, return_inverse=True)
        k = min(self.max_bundles, len(sets))
        if n == 0:
            return np.ones(n_seg), np.ones(n_seg)
        best = np.stack([per_set_max(v[:, s], set_index, len(sets)) for s in range(n_seg)], axis=1)
        top = -np.sort(-best, axis=0)[:k].sum(axis=0)
        low = 1.0 / (1.0 + top)
        must_offer = self.target > 0 or self.all_pins
        high = 1.0 / (1.0 + v.min(axis=0)) if must_offer else np.ones(n_seg)
        return low, high

    def _build(self) -> None:
        """The program, one named row group per business rule (``docs/formulation.md`` section 3)."""
        v = self.attraction
        n, n_seg = v.shape
        self.sigma = np.where(v.max(axis=0, initial=0.0) > 0, v.max(axis=0, initial=0.0), 1.0) if n else np.ones(n_seg)
        self.take_high = np.minimum(self.x0_high[None, :], 1.0 / (1.0 + v))
        weight = self.margin if self.objective == "margin" else np.ones(n)
        gains = self.shares[None, :] * weight[:, None] * v  # objective per unit of t
        self.objective_scale = float(np.abs(gains).max()) if n and np.abs(gains).max() > 0 else 1.0

        prob = pulp.LpProblem("bundle_offer", pulp.LpMaximize)
        self._add_variables(prob)
        prob += _expr([(self.t[c][s], float(gains[c, s] / self.objective_scale))
                       for c in range(n) for s in range(n_seg) if gains[c, s] != 0])
        for s in range(n_seg):
            self._add_segment_rows(prob, s)
        prob += pulp.LpConstraint(_expr([(zc, 1.0) for zc in self.z]), pulp.LpConstraintLE, "max_bundles",
                                  float(self.max_bundles))
        self._add_one_price_rows(prob)
        self._add_target_and_pin_rows(prob)
        self._add_goal_rows(prob)
        self._add_offer_rule_rows(prob)
        self._add_draw_rows(prob)
        self.problem = prob

    def _add_variables(self, prob: pulp.LpProblem) -> None:
        """``z_c`` (offered), ``alpha_s`` (scaled attach rate), ``t_cs`` (take share / attraction)."""
        n, n_seg = self.attraction.shape
        low, high, sigma = self.x0_low, self.x0_high, self.sigma
        # add_variable is PuLP 4's way, present since 3.3.
        self.z = [prob.add_variable(f"offer_{c}", 0, 1, pulp.LpBinary) for c in range(n)]
        self.alpha = [prob.add_variable(f"attach_scaled_{s}", (1.0 - high[s]) / sigma[s], (1.0 - low[s]) / sigma[s])
                      for s in range(n_seg)]
        self.t = [[prob.add_variable(f"take_{c}_{s}", 0, float(self.take_high[c, s])) for s in range(n_seg)]
                  for c in range(n)]

    def _add_segment_rows(self, prob: pulp.LpProblem, s: int) -> None:
        """Segment ``s``: its attach rate as the sum of takes, the McCormick rows of ``t = x0 z``,
        and the cardinality cut ``sum_c t_cs <= K x0_s``."""
        v, n = self.attraction, self.attraction.shape[0]
        a, sg, lo, hi = self.alpha[s], float(self.sigma[s]), float(self.x0_low[s]), float(self.x0_high[s])
        prob += pulp.LpConstraint(_expr([(a, 1.0)] + [(self.t[c][s], -float(v[c, s] / sg)) for c in range(n)]),
                                  pulp.LpConstraintEQ, f"attach_is_sum_of_takes_{s}", 0.0)
        for c in range(n):
            tc, zc = self.t[c][s], self.z[c]
            prob += pulp.LpConstraint(_expr([(tc, 1.0), (zc, -float(self.take_high[c, s]))]),
                                      pulp.LpConstraintLE, f"take_le_offer_{c}_{s}", 0.0)
            # The two corners at x0's lower bound: t <= x0 - L (1 - z) and t >= L z. Loose with
            # the rules' bounds, tight once the bounds are tightened against an incumbent.
            prob += pulp.LpConstraint(_expr([(tc, 1.0), (a, sg), (zc, -lo)]), pulp.LpConstraintLE,
                                      f"take_le_no_bundle_{c}_{s}", 1.0 - lo)
            prob += pulp.LpConstraint(_expr([(tc, 1.0), (zc, -lo)]), pulp.LpConstraintGE,
                                      f"take_ge_floor_{c}_{s}", 0.0)
            prob += pulp.LpConstraint(_expr([(tc, 1.0), (a, sg), (zc, -hi)]), pulp.LpConstraintGE,
                                      f"take_ge_no_bundle_{c}_{s}", 1.0 - hi)
        # sum_c t_cs = x0_s * (bundles offered) <= K x0_s. Without it the relaxation spreads K
        # offers thinly over many more bundles.
        prob += pulp.LpConstraint(
            _expr([(self.t[c][s], 1.0) for c in range(n)] + [(a, float(self.max_bundles) * sg)]),
            pulp.LpConstraintLE, f"bundles_times_no_bundle_{s}", float(self.max_bundles),
        )

    def _add_one_price_rows(self, prob: pulp.LpProblem) -> None:
        """At most one price per SKU set, in the offer and in each segment's shares."""
        sets, set_index = np.unique(self.set_id, return_inverse=True)
        for g in range(len(sets)):
            members = np.flatnonzero(set_index == g)
            if len(members) <= 1:
                continue
            prob += pulp.LpConstraint(_expr([(self.z[c], 1.0) for c in members]), pulp.LpConstraintLE,
                                      f"one_price_per_set_{sets[g]}", 1.0)
            # The same rule in each segment's shares: sum_{c in g} t_cs = x0_s * (prices of g
            # offered) <= x0_s. With one segment this makes the relaxation the sales-based LP
            # of Gallego, Ratliff & Shebalov (2015), exact for one price per product.
            for s in range(len(self.alpha)):
                prob += pulp.LpConstraint(
                    _expr([(self.t[c][s], 1.0) for c in members] + [(self.alpha[s], float(self.sigma[s]))]),
                    pulp.LpConstraintLE, f"one_price_per_set_share_{sets[g]}_{s}", 1.0,
                )

    def _add_target_and_pin_rows(self, prob: pulp.LpProblem) -> None:
        """The attach target (in scaled ``alpha``) and one row per pinned SKU."""
        if self.target > 0:
            prob += pulp.LpConstraint(
                _expr([(self.alpha[s], float(self.shares[s] * self.sigma[s] / self.target))
                       for s in range(len(self.alpha))]),
                pulp.LpConstraintGE, "attach_target", 1.0,
            )
        for bit in range(self.all_pins.bit_length()):
            if (self.all_pins >> bit) & 1:
                holders = np.flatnonzero((self.pin_mask >> bit) & 1)
                prob += pulp.LpConstraint(_expr([(self.z[c], 1.0) for c in holders]), pulp.LpConstraintGE,
                                          f"pinned_{bit}", 1.0)

    def add_outer_approximation_cuts(self, cuts: OuterCuts) -> None:
        """Add the odds ``omega_s`` and the tangent cuts of ``cuts`` (``conic_cuts`` module).

        Valid for every offer whatever other linear rows the program holds; the cuts only
        tighten the relaxation.
        """
        prob, n_seg = self.problem, self.attraction.shape[1]
        ref = cuts.reference
        if self.omega is None:
            self.omega = [prob.add_variable(f"odds_scaled_{s}", float(ref[s] / self.x0_high[s]),
                                            float(ref[s] / self.x0_low[s])) for s in range(n_seg)]
            for s, (low, _, idx, val) in enumerate(cuts.odds_rows(self.attraction, lambda c: c, lambda s: -1)):
                pairs = [(self.omega[s] if i < 0 else self.z[i], float(coef)) for i, coef in zip(idx, val)]
                prob += pulp.LpConstraint(_expr(pairs), pulp.LpConstraintEQ, f"odds_{s}", low)
        start, share_start = self._cuts_added
        rows = cuts.cut_rows(self.sigma, lambda c, s: ("t", c, s), lambda c: ("z", c), lambda s: ("a", s),
                             lambda s: ("w", s), start, share_start)
        for k, (low, _, idx, val) in enumerate(rows):
            pairs = [(self._column(key), float(coef)) for key, coef in zip(idx, val)]
            prob += pulp.LpConstraint(_expr(pairs), pulp.LpConstraintGE, f"conic_tangent_{start + share_start + k}",
                                      float(low))
        self._cuts_added = (len(cuts.take_slope), len(cuts.share_slope))

    def add_dominance_rows(self, pairs: np.ndarray, max_prices: int = 8) -> None:
        """``z_c <= sum_{e in set of d} z_e`` for each (c, d) of ``pairs``
        (:func:`pricing.optimizer.ordering.dominance_pairs`): valid only where that swap is.

        Pairs whose dominating set has more than ``max_prices`` prices are left out: their rows
        are long and, on fine price ladders (hundreds of prices per set), slowed every LP by
        three times or more without saving nodes."""
        members: dict[int, np.ndarray] = {}
        for k, (c, d) in enumerate(np.asarray(pairs, dtype=np.int64).reshape(-1, 2)):
            g = int(self.set_id[d])
            if g not in members:
                members[g] = np.flatnonzero(self.set_id == g)
            if len(members[g]) > max_prices:
                continue
            pairs_ = [(self.z[int(c)], 1.0)] + [(self.z[int(e)], -1.0) for e in members[g]]
            self.problem += pulp.LpConstraint(_expr(pairs_), pulp.LpConstraintLE, f"dominated_by_{k}", 0.0)

    def _column(self, key: tuple) -> pulp.LpVariable:
        kind, *where = key
        if kind == "t":
            return self.t[where[0]][where[1]]
        return {"z": self.z, "a": self.alpha, "w": self.omega}[kind][where[0]]

    def export_lp(self, path: str | Path) -> None:
        """Write the model in LP format, for debugging."""
        self.problem.writeLP(str(path))

    # -- values of an offer -----------------------------------------------------------------
    def value_of(self, chosen: Sequence[int]) -> float:
        """Exact objective per buyer of the candidates ``chosen`` (no solver tolerance)."""
        chosen = list(chosen)
        if not chosen:
            return 0.0
        weight = self.margin[chosen] if self.objective == "margin" else np.ones(len(chosen))
        return float(mnl.margin_per_buyer(mnl.choice_probabilities(self.attraction[chosen]), self.shares, weight))

    def _start_values(self, chosen: Sequence[int]) -> list[tuple[pulp.LpVariable, float]]:
        v = self.attraction[list(chosen)]
        x0 = 1.0 / (1.0 + v.sum(axis=0))
        values = [(zc, 0.0) for zc in self.z]
        values += [(self.z[c], 1.0) for c in chosen]
        values += [(self.alpha[s], float((1.0 - x0[s]) / self.sigma[s])) for s in range(len(x0))]
        values += [(self.t[c][s], float(x0[s])) for c in chosen for s in range(len(x0))]
        return values + self._draw_start_values(chosen)

    # -- relaxation: guidance and bound tightening --------------------------------------------
    def _relaxation(self) -> highspy.Highs:
        solver = HighsWithStart(None, mip=False, msg=False)
        solver.createAndConfigureSolver(self.problem)
        solver.buildSolverModel(self.problem)
        return self.problem.solverModel

    def tightened_bounds(self, incumbent: float, deadline: float = float("inf")) -> tuple[np.ndarray, np.ndarray] | None:
        """Bounds on every ``x0_s`` over the LP relaxation cut by ``objective >= incumbent``.

        Every offer at least as good as the incumbent lies inside them, so the MILP may be
        rebuilt with them without losing any such offer. Returns ``None`` when the relaxation
        has no point that good: then nothing beats the incumbent. The 2 x segments LPs are
        independent and run on two threads (HiGHS releases the GIL while it solves).
        """
        highs = self._relaxation()
        objective = [(var.index, coef) for var, coef in self.problem.objective.items()]
        idx, coefs = zip(*objective) if objective else ((), ())
        level = incumbent / self.objective_scale
        highs.addRow(level - 1e-9 * max(1.0, abs(level)), highspy.kHighsInf, len(idx), list(idx), list(coefs))
        lp = highs.getLp()
        n_col = highs.getNumCol()

        def extreme(job: tuple[int, object]) -> tuple[object, float]:
            s, sense = job
            one = highspy.Highs()
            one.setOptionValue("output_flag", False)
            # An LP stopped by the deadline is simply not used: that side keeps its bound.
            one.setOptionValue("time_limit", max(deadline - time.perf_counter(), 1e-3))
            one.passModel(lp)
            one.changeColsCost(n_col, list(range(n_col)), [0.0] * n_col)
            one.changeColCost(self.alpha[s].index, 1.0)
            one.changeObjectiveSense(sense)
            one.run()
            return one.getModelStatus(), one.getInfo().objective_function_value * self.sigma[s]

        jobs = [(s, sense) for s in range(len(self.alpha))
                for sense in (highspy.ObjSense.kMinimize, highspy.ObjSense.kMaximize)]
        with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
            answers = list(pool.map(extreme, jobs))
        if any(status == highspy.HighsModelStatus.kInfeasible for status, _ in answers):
            return None
        low, high = self.x0_low.copy(), self.x0_high.copy()
        for s in range(len(self.alpha)):
            (status_min, attach_low), (status_max, attach_high) = answers[2 * s], answers[2 * s + 1]
            slack = 1e-7 + 1e-7 * abs(attach_high)
            if status_min == highspy.HighsModelStatus.kOptimal:
                high[s] = min(high[s], 1.0 - attach_low + slack)
            if status_max == highspy.HighsModelStatus.kOptimal:
                low[s] = max(low[s], 1.0 - attach_high - slack)
        return low, np.maximum(high, low)

    def relaxation_bound(self) -> float | None:
        """The LP relaxation's bound (objective units per buyer), or ``None`` if it has none."""
        highs = self._relaxation()
        highs.setOptionValue("output_flag", False)
        highs.run()
        if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        return -highs.getInfo().objective_function_value * self.objective_scale

    # -- solve ------------------------------------------------------------------------------
    def solve(self, time_limit: float, rel_gap: float, start: Sequence[int] | None = None) -> MilpResult:
        """Solve with HiGHS; the status comes from HiGHS's model status, never from PuLP's.

        HiGHS is asked for half the gap so that the exact re-evaluation of its answer still
        meets ``rel_gap``. ``start`` must be a feasible offer (positions into the candidates).
        """
        # With a start from our own searches, HiGHS's primal heuristics mostly re-find it: off
        # they halve the proof on the shipped data (1.32 s -> 0.67 s). Without a start they stay.
        quiet = dict(mip_heuristic_effort=0.0, mip_heuristic_run_feasibility_jump=False,
                     mip_heuristic_run_rins=False, mip_heuristic_run_rens=False,
                     mip_heuristic_run_root_reduced_cost=False) if start else {}
        solver = HighsWithStart(
            self._start_values(start) if start else None,
            msg=False, timeLimit=max(float(time_limit), 1e-3), gapRel=float(rel_gap) / 2, mip_abs_gap=1e-12,
            **quiet,
        )
        begin = time.perf_counter()
        self.problem.solve(solver)
        elapsed = time.perf_counter() - begin
        highs = self.problem.solverModel
        info = highs.getInfo()
        has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
        status = status_from_highs(highs.getModelStatus(), has_solution)
        chosen: tuple[int, ...] = ()
        objective = bound = None
        if has_solution:
            values = np.array(highs.getSolution().col_value)
            chosen = tuple(c for c, zc in enumerate(self.z) if values[zc.index] > 0.5)
            objective = self.value_of(chosen)
        if status in (SolveStatus.OPTIMAL, SolveStatus.TIME_LIMIT, SolveStatus.NO_SOLUTION):
            dual = -float(info.mip_dual_bound) * self.objective_scale  # PuLP hands HiGHS the negated objective
            bound = dual if np.isfinite(dual) else None
        return MilpResult(chosen, status, objective, bound, elapsed, int(info.mip_node_count))
