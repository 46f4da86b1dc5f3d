"""The mixed-integer program over candidates, built with PuLP and solved by HiGHS.

Exact for the mixture of logits (see ``docs/formulation.md``): for each segment ``s`` the
no-bundle share ``x0_s`` and the take shares ``y_bs`` satisfy ``x0_s + sum_b y_bs = 1`` and
``y_bs = v_bs x0_s z_b`` (linearised exactly because ``z_b`` is binary and ``x0_s`` is bounded).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import highspy
import numpy as np
import pulp

from pricing.pruning import per_set_max
from pricing.status import SolveStatus, status_from_highs

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


class _HighsWithStart(pulp.HiGHS):
    """PuLP's HiGHS interface, handing a feasible start to the solver before it runs."""

    def __init__(self, start: Sequence[tuple[pulp.LpVariable, float]] | None, **kwargs):
        super().__init__(**kwargs)
        self._start = start

    def callSolver(self, lp):  # noqa: N802 - PuLP's name
        if self._start:
            values = [0.0] * lp.solverModel.getNumCol()
            for var, value in self._start:
                values[var.index] = value
            solution = highspy.HighsSolution()
            solution.col_value = values
            solution.value_valid = True
            lp.solverModel.setSolution(solution)
        super().callSolver(lp)


class OfferMilp:
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
    """

    def __init__(self, attraction: np.ndarray, margin: np.ndarray, set_id: np.ndarray, pin_mask: np.ndarray,
                 shares: np.ndarray, max_bundles: int, target: float, all_pins: int = 0, objective: str = "margin"):
        self.attraction = np.asarray(attraction, float)
        self.margin = np.asarray(margin, float)
        self.set_id = np.asarray(set_id)
        self.pin_mask = np.asarray(pin_mask)
        self.shares = np.asarray(shares, float)
        self.max_bundles = int(max_bundles)
        self.target = float(target) if objective == "margin" else 0.0
        self.all_pins = int(all_pins)
        self.objective = objective
        start = time.perf_counter()
        self._build()
        self.build_seconds = time.perf_counter() - start

    def _build(self) -> None:
        v = self.attraction
        n, n_seg = v.shape
        sets, set_index = np.unique(self.set_id, return_inverse=True)
        # Bounds on the no-bundle share: at best K sets at their most attractive price.
        best = np.stack([per_set_max(v[:, s], set_index, len(sets)) for s in range(n_seg)], axis=1)
        k = min(self.max_bundles, len(sets))
        top = -np.sort(-best, axis=0)[:k].sum(axis=0) if len(sets) else np.zeros(n_seg)
        x0_low = 1.0 / (1.0 + top)
        x0_high = 1.0 / (1.0 + v.min(axis=0)) if (self.target > 0 or self.all_pins) and n else np.ones(n_seg)
        take_high = np.minimum(v * x0_high[None, :], v / (1.0 + v))

        prob = pulp.LpProblem("bundle_offer", pulp.LpMaximize)
        self.z = [pulp.LpVariable(f"offer_{c}", cat=pulp.LpBinary) for c in range(n)]
        self.x0 = [pulp.LpVariable(f"no_bundle_{s}", x0_low[s], x0_high[s]) for s in range(n_seg)]
        self.y = [[pulp.LpVariable(f"take_{c}_{s}", 0, take_high[c, s]) for s in range(n_seg)] for c in range(n)]

        weight = self.margin if self.objective == "margin" else np.ones(n)
        prob += pulp.LpAffineExpression(
            [(self.y[c][s], float(self.shares[s] * weight[c])) for c in range(n) for s in range(n_seg)]
        )
        for s in range(n_seg):
            prob += pulp.LpConstraint(
                pulp.LpAffineExpression([(self.x0[s], 1.0)] + [(self.y[c][s], 1.0) for c in range(n)]),
                pulp.LpConstraintEQ, f"choice_total_{s}", 1.0,
            )
            for c in range(n):
                vc, yc, zc = float(v[c, s]), self.y[c][s], self.z[c]
                prob += pulp.LpConstraint(
                    pulp.LpAffineExpression([(yc, 1.0), (zc, -float(take_high[c, s]))]),
                    pulp.LpConstraintLE, f"take_le_offer_{c}_{s}", 0.0,
                )
                prob += pulp.LpConstraint(
                    pulp.LpAffineExpression([(yc, 1.0), (self.x0[s], -vc)]),
                    pulp.LpConstraintLE, f"take_le_ratio_{c}_{s}", 0.0,
                )
                big = vc * float(x0_high[s])
                prob += pulp.LpConstraint(
                    pulp.LpAffineExpression([(yc, 1.0), (self.x0[s], -vc), (zc, -big)]),
                    pulp.LpConstraintGE, f"take_ge_ratio_{c}_{s}", -big,
                )
        # y_cs / v_cs = x0_s z_c, so summing over candidates: sum_c y_cs / v_cs = x0_s * (bundles
        # offered) <= K x0_s. Without it the LP relaxation spreads K offers thinly over many
        # more bundles (shipped data: root bound 60.3 -> 54.1 CNY a buyer, optimum 52.4).
        for s in range(n_seg):
            prob += pulp.LpConstraint(
                pulp.LpAffineExpression([(self.y[c][s], 1.0 / float(v[c, s])) for c in range(n)]
                                        + [(self.x0[s], -float(self.max_bundles))]),
                pulp.LpConstraintLE, f"bundles_times_no_bundle_{s}", 0.0,
            )
        prob += pulp.LpConstraint(
            pulp.LpAffineExpression([(zc, 1.0) for zc in self.z]), pulp.LpConstraintLE, "max_bundles",
            float(self.max_bundles),
        )
        for g in range(len(sets)):
            members = np.flatnonzero(set_index == g)
            if len(members) > 1:
                prob += pulp.LpConstraint(
                    pulp.LpAffineExpression([(self.z[c], 1.0) for c in members]), pulp.LpConstraintLE,
                    f"one_price_per_set_{sets[g]}", 1.0,
                )
        if self.target > 0:
            prob += pulp.LpConstraint(
                pulp.LpAffineExpression([(self.x0[s], float(self.shares[s])) for s in range(n_seg)]),
                pulp.LpConstraintLE, "attach_target", 1.0 - self.target,
            )
        bit = 0
        while self.all_pins >> bit:
            if (self.all_pins >> bit) & 1:
                holders = np.flatnonzero((self.pin_mask >> bit) & 1)
                prob += pulp.LpConstraint(
                    pulp.LpAffineExpression([(self.z[c], 1.0) for c in holders]), pulp.LpConstraintGE,
                    f"pinned_{bit}", 1.0,
                )
            bit += 1
        self.problem = prob

    def export_lp(self, path: str | Path) -> None:
        """Write the model in LP format, for debugging."""
        self.problem.writeLP(str(path))

    def _start_values(self, chosen: Sequence[int]) -> list[tuple[pulp.LpVariable, float]]:
        v = self.attraction[list(chosen)]
        x0 = 1.0 / (1.0 + v.sum(axis=0))
        values = [(zc, 0.0) for zc in self.z]
        values += [(self.z[c], 1.0) for c in chosen]
        values += [(self.x0[s], float(x0[s])) for s in range(len(x0))]
        values += [(self.y[c][s], float(self.attraction[c, s] * x0[s])) for c in chosen for s in range(len(x0))]
        return values

    def solve(self, time_limit: float, rel_gap: float, start: Sequence[int] | None = None) -> MilpResult:
        """Solve with HiGHS; the status comes from HiGHS's model status, never from PuLP's."""
        solver = _HighsWithStart(
            self._start_values(start) if start else None,
            msg=False, timeLimit=float(time_limit), gapRel=float(rel_gap), mip_abs_gap=1e-9,
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
            objective = -float(info.objective_function_value)  # PuLP hands HiGHS the negated objective
        if status in (SolveStatus.OPTIMAL, SolveStatus.TIME_LIMIT, SolveStatus.NO_SOLUTION):
            bound = -float(info.mip_dual_bound)
        return MilpResult(chosen, status, objective, bound, elapsed, int(info.mip_node_count))
