"""The mixed-integer program over candidates, as numpy arrays, solved by HiGHS.

Exact for the mixture of logits (``docs/formulation.md`` has the derivation). Per segment ``s``
the no-bundle share is ``x0_s = 1 / (1 + sum_b v_bs z_b)``; the program carries
``t_bs = x0_s z_b`` (a bundle's take share divided by its attraction, so every variable is of
order one whatever the attraction) and the segment's attach rate ``a_s = 1 - x0_s``, stored
scaled as ``alpha_s = a_s / sigma_s`` with ``sigma_s`` the largest attraction in the segment.
``t = x0 z`` with ``z`` binary and ``x0`` in ``[L_s, U_s]`` is linearised exactly (McCormick);
the bounds ``L_s, U_s`` come from the rules and are then tightened against an incumbent.

Rows are built as whole blocks over candidates x segments (:mod:`lp_arrays`), one named group
per business rule.
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

from models import mnl
from pricing.optimizer.conic_cuts import OuterCuts
from pricing.optimizer.goals import Goal
from pricing.optimizer.highs import run_mip
from pricing.optimizer.lp_arrays import (INF, LinearModel, RowBlock, quiet_highs, rows_from_dense, rows_from_lists,
                                        rows_of_sums, scaling_for)
from pricing.optimizer.milp_goals import GoalRuleRows, shared_labels
from pricing.optimizer.offer_rules import OfferRules
from pricing.optimizer.segment_bounds import per_set_max
from pricing.optimizer.status import SolveStatus

__all__ = ["OfferMilp", "MilpResult", "MIP_PRESOLVE"]

# HiGHS's MIP presolve is off: on a 20-candidate instance with a goal, a shared-SKU rule and
# bounds tightened against an incumbent, it fixed the optimum's bundle out and HiGHS proved
# 369.28 where 391.14 is feasible (tests/test_goals.py seed 121; right with presolve off, or with
# mip_feasibility_tolerance 1e-9 but not 1e-8). Our model is built lean: over the RS2 families,
# the shipped and the 60-SKU instances the solves took 17.7 s of CPU without it, 17.3 s with it.
MIP_PRESOLVE = "off"


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
    own_rows : ``False`` leaves out each candidate's own McCormick rows (:meth:`own_rows`, half
        the program's entries over a large pool), a (candidates,) mask keeps those of the
        candidates marked: a relaxation that column generation completes with the rows of the
        candidates it brings in (``bound_fixing``, ``conic_cuts``). Such a program is never
        solved as a MILP (:meth:`solve` refuses it); ``has_own_rows`` marks the candidates whose
        rows it holds.

    The columns are ``z`` (offered, binary), ``alpha`` (scaled attach rate per segment) and
    ``t`` (take share over attraction, candidates x segments): index arrays into ``model``.
    """

    def __init__(self, attraction: np.ndarray, margin: np.ndarray, set_id: np.ndarray, pin_mask: np.ndarray,
                 shares: np.ndarray, max_bundles: int, target: float, all_pins: int = 0, objective: str = "margin",
                 no_bundle_bounds: tuple[np.ndarray, np.ndarray] | None = None, goals: Sequence[Goal] = (),
                 rules: OfferRules | None = None, draws: np.ndarray | None = None,
                 draw_goals: Sequence[Goal] = (), own_rows: bool | np.ndarray = True):
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
        self.omega: np.ndarray | None = None
        self._cuts_added = (0, 0)
        self.has_own_rows = np.array(np.broadcast_to(np.asarray(own_rows, dtype=bool), self.margin.shape))
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

        model = self.model = LinearModel()
        self.z = model.add_columns("offer", np.zeros(n), 1.0, integer=True)
        self.alpha = model.add_columns("attach_scaled", (1.0 - self.x0_high) / self.sigma,
                                       (1.0 - self.x0_low) / self.sigma)
        self.t = model.add_columns("take", np.zeros((n, n_seg)), self.take_high)
        model.cost[self.t] = gains / self.objective_scale
        self._add_segment_rows()
        model.add(rows_from_dense("max_bundles", self.z[None, :], np.ones((1, n)), -INF, float(self.max_bundles)))
        self._add_one_price_rows()
        self._add_target_and_pin_rows()
        self._add_goal_rows()
        self._add_offer_rule_rows()
        self._add_draw_rows()

    def _add_segment_rows(self) -> None:
        """Per segment: its attach rate as the sum of takes, the McCormick rows of ``t = x0 z``
        (:meth:`own_rows`; at block ``own_rows_at``), and the cardinality cut
        ``sum_c t_cs <= K x0_s``."""
        v, model = self.attraction, self.model
        n, n_seg = v.shape
        model.add(rows_from_dense("attach_is_sum_of_takes", np.column_stack([self.alpha, self.t.T]),
                                  np.column_stack([np.ones(n_seg), -(v / self.sigma[None, :]).T]), 0.0, 0.0))
        self.own_rows_at = len(model.blocks)
        if self.has_own_rows.any():
            for block in self.own_rows(np.flatnonzero(self.has_own_rows)):
                model.add(block)
        # sum_c t_cs = x0_s * (bundles offered) <= K x0_s. Without it the relaxation spreads K
        # offers thinly over many more bundles.
        model.add(rows_from_dense("bundles_times_no_bundle", np.column_stack([self.alpha, self.t.T]),
                                  np.column_stack([self.max_bundles * self.sigma, np.ones((n_seg, n))]),
                                  -INF, float(self.max_bundles)))

    def own_rows(self, candidates: np.ndarray) -> list[RowBlock]:
        """The McCormick rows of ``t_cs = x0_s z_c`` of the ``candidates`` (positions), one row per
        candidate and segment, candidate-major, in the blocks ``take_le_offer``,
        ``take_le_no_bundle``, ``take_ge_floor`` and ``take_ge_no_bundle``: each touches only
        that candidate's columns and its segment's ``alpha_s``."""
        c = np.asarray(candidates, dtype=np.int64)
        n_seg = len(self.alpha)
        sg, lo, hi = self.sigma[None, :], self.x0_low[None, :], self.x0_high[None, :]
        t, high = self.t[c], self.take_high[c]
        z, a = np.broadcast_to(self.z[c][:, None], t.shape), np.broadcast_to(self.alpha[None, :], t.shape)
        ones = np.ones((len(c), n_seg))
        pair = lambda first, second: np.stack([first, second], axis=-1).reshape(-1, 2)  # noqa: E731
        triple = lambda a_, b_, c_: np.stack([a_, b_, c_], axis=-1).reshape(-1, 3)  # noqa: E731
        # The two corners at x0's lower bound: t <= x0 - L (1 - z) and t >= L z. Loose with the
        # rules' bounds, tight once the bounds are tightened against an incumbent.
        return [rows_from_dense("take_le_offer", pair(t, z), pair(ones, -high), -INF, 0.0),
                rows_from_dense("take_le_no_bundle", triple(t, a, z), triple(ones, ones * sg, -ones * lo),
                                -INF, (1.0 - ones * lo).ravel()),
                rows_from_dense("take_ge_floor", pair(t, z), pair(ones, -ones * lo), 0.0, INF),
                rows_from_dense("take_ge_no_bundle", triple(t, a, z), triple(ones, ones * sg, -ones * hi),
                                (1.0 - ones * hi).ravel(), INF)]

    def _add_one_price_rows(self) -> None:
        """At most one price per SKU set, in the offer and in each segment's shares."""
        members, sizes = shared_labels(self.set_id)
        if not len(sizes):
            return
        ends = np.cumsum(sizes)
        self.model.add(RowBlock("one_price_per_set", np.full(len(sizes), -INF), np.ones(len(sizes)),
                                np.concatenate([[0], ends]), self.z[members], np.ones(len(members))))
        # The same rule in each segment's shares: sum_{c in g} t_cs = x0_s * (prices of g
        # offered) <= x0_s. With one segment this makes the relaxation the sales-based LP of
        # Gallego, Ratliff & Shebalov (2015), exact for one price per product.
        self._add_share_rows("one_price_per_set_share", members, ends, 1.0)

    def _add_share_rows(self, name: str, members: np.ndarray, ends: np.ndarray, bound: float) -> None:
        """For each group ``g`` (candidate positions: ``members`` cut at ``ends``) whose offers sum
        to at most ``bound``, the same in every segment's takes: ``sum_{c in g} t_cs <= bound
        x0_s``, written with ``x0_s = 1 - sigma_s alpha_s``. Valid for every offer (``t_cs = x0_s
        z_c``) and tighter than the ``z`` row in the relaxation, as the one-price rows showed."""
        index = [np.insert(self.t[members, s], ends, self.alpha[s]) for s in range(len(self.alpha))]
        value = [np.insert(np.ones(len(members)), ends, bound * self.sigma[s]) for s in range(len(self.alpha))]
        starts = np.concatenate([[0], np.cumsum(np.tile(np.diff(np.concatenate([[0], ends])) + 1, len(self.alpha)))])
        n_rows = len(ends) * len(self.alpha)
        self.model.add(RowBlock(name, np.full(n_rows, -INF), np.full(n_rows, float(bound)), starts,
                                np.concatenate(index), np.concatenate(value)))

    def _add_target_and_pin_rows(self) -> None:
        """The attach target (in scaled ``alpha``) and one row per pinned SKU."""
        if self.target > 0:
            self.model.add(rows_from_dense("attach_target", self.alpha[None, :],
                                           (self.shares * self.sigma / self.target)[None, :], 1.0, INF))
        pins = [np.flatnonzero((self.pin_mask >> bit) & 1) for bit in range(self.all_pins.bit_length())
                if (self.all_pins >> bit) & 1]
        if pins:
            self.model.add(rows_of_sums("pinned", [self.z[h] for h in pins], 1.0, INF))

    def add_outer_approximation_cuts(self, cuts: OuterCuts) -> None:
        """Add the odds ``omega_s`` and the tangent cuts of ``cuts`` (``conic_cuts`` module).

        Valid for every offer whatever other linear rows the program holds; the cuts only
        tighten the relaxation.
        """
        model, ref = self.model, cuts.reference
        if self.omega is None:
            self._omega_reference = np.array(ref, dtype=float)
            # The odds row fixes omega for a given offer; its bounds (from x0's, with a margin
            # wider than the solver's feasibility tolerance, so that bounds tightened to within
            # 1e-7 of an offer never make that offer infeasible) only help the relaxation.
            self.omega = model.add_columns("odds_scaled", ref / self.x0_high * (1.0 - 1e-6),
                                           ref / self.x0_low * (1.0 + 1e-6))
            rows = cuts.odds_rows(self.attraction, lambda c: int(self.z[c]), lambda s: int(self.omega[s]))
            model.add(rows_from_lists("odds", [(idx, val) for _, _, idx, val in rows], [r[0] for r in rows],
                                      [r[1] for r in rows]))
        start, share_start = self._cuts_added
        rows = cuts.cut_rows(self.sigma, lambda c, s: int(self.t[c, s]), lambda c: int(self.z[c]),
                             lambda s: int(self.alpha[s]), lambda s: int(self.omega[s]), start, share_start)
        if rows:
            model.add(rows_from_lists(f"conic_tangent_{start + share_start}", [(idx, val) for _, _, idx, val in rows],
                                      [r[0] for r in rows], INF))
        self._cuts_added = (len(cuts.take_slope), len(cuts.share_slope))

    def export_lp(self, path: str | Path) -> None:
        """Write the model in LP format, rows named by their business rule, for debugging."""
        self.model.write_lp(path)

    # -- values of an offer -----------------------------------------------------------------
    def value_of(self, chosen: Sequence[int]) -> float:
        """Exact objective per buyer of the candidates ``chosen`` (no solver tolerance)."""
        chosen = list(chosen)
        if not chosen:
            return 0.0
        weight = self.margin[chosen] if self.objective == "margin" else np.ones(len(chosen))
        return float(mnl.margin_per_buyer(mnl.choice_probabilities(self.attraction[chosen]), self.shares, weight))

    def start_values(self, chosen: Sequence[int]) -> np.ndarray:
        """Every column's value at the offer ``chosen`` (the odds columns, if any, included)."""
        chosen = list(chosen)
        x = np.zeros(self.model.n_col)
        x0 = 1.0 / (1.0 + self.attraction[chosen].sum(axis=0))
        x[self.z[chosen]] = 1.0
        x[self.alpha] = (1.0 - x0) / self.sigma
        x[self.t[chosen]] = x0[None, :]
        if self.omega is not None:
            x[self.omega] = self._omega_reference / x0  # omega_s = ref_s (1 + sum_c v_cs z_c)
        self._draw_start_values(chosen, x)
        return x

    # -- relaxation: guidance and bound tightening --------------------------------------------
    def _relaxation(self) -> highspy.Highs:
        return self._highs(integer=False)

    def _highs(self, *, integer: bool) -> highspy.Highs:
        """The program in HiGHS (its LP relaxation when not ``integer``; without some candidates'
        own rows that is a weaker relaxation, still valid)."""
        if integer and not self.has_own_rows.all():
            raise RuntimeError("a program built without its candidates' own rows is for column generation only")
        return self.model.to_highs(integer=integer)

    def tightened_bounds(self, incumbent: float, deadline: float = float("inf"),
                         sides: Sequence[str] = ("low", "high")) -> tuple[np.ndarray, np.ndarray] | None:
        """Bounds on every ``x0_s`` over the LP relaxation cut by ``objective >= incumbent``.

        Every offer at least as good as the incumbent lies inside them, so the MILP may be
        rebuilt with them without losing any such offer. Returns ``None`` when the relaxation
        has no point that good: then nothing beats the incumbent. ``sides`` says which bounds
        to tighten (``"low"``: ``L_s`` by maximising the attach rate; ``"high"``: ``U_s`` by
        minimising it); one LP per segment and side, on two threads (HiGHS releases the GIL
        while it solves).
        """
        highs = self._relaxation()
        cols = np.flatnonzero(self.model.cost)
        level = incumbent / self.objective_scale
        highs.addRow(level - 1e-9 * max(1.0, abs(level)), INF, len(cols), cols.astype(np.int32),
                     self.model.cost[cols])
        lp = highs.getLp()
        n_col = highs.getNumCol()
        scale = scaling_for(n_col, lp.a_matrix_.value_)  # the objective row holds the costs

        def extreme(job: tuple[int, str]) -> tuple[object, float]:
            s, side = job
            one = quiet_highs()
            one.setOptionValue("simplex_scale_strategy", scale)
            # An LP stopped by the deadline is simply not used: that side keeps its bound.
            one.setOptionValue("time_limit", max(deadline - time.perf_counter(), 1e-3))
            one.passModel(lp)
            one.changeColsCost(n_col, np.arange(n_col, dtype=np.int32), np.zeros(n_col))
            one.changeColCost(int(self.alpha[s]), 1.0)
            one.changeObjectiveSense(highspy.ObjSense.kMaximize if side == "low" else highspy.ObjSense.kMinimize)
            one.run()
            return one.getModelStatus(), one.getInfo().objective_function_value * self.sigma[s]

        jobs = [(s, side) for s in range(len(self.alpha)) for side in sides]
        with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
            answers = dict(zip(jobs, pool.map(extreme, jobs)))
        if any(status == highspy.HighsModelStatus.kInfeasible for status, _ in answers.values()):
            return None
        low, high = self.x0_low.copy(), self.x0_high.copy()
        optimal = highspy.HighsModelStatus.kOptimal
        for (s, side), (status, attach) in answers.items():
            if status != optimal:
                continue
            # Wider than the solver's feasibility tolerance (1e-7): bounds closer than that
            # around an offer made HiGHS's presolve call the model infeasible (seen on small
            # instances where the incumbent is the only good offer).
            slack = 1e-6 + 1e-6 * abs(attach)
            if side == "low":
                low[s] = max(low[s], 1.0 - attach - slack)
            else:
                high[s] = min(high[s], 1.0 - attach + slack)
        return low, np.maximum(high, low)

    def solved_relaxation(self, deadline: float = float("inf")) -> highspy.Highs:
        """The LP relaxation, run until ``deadline`` (a ``time.perf_counter()`` value); read its
        model status before its answer."""
        highs = self._relaxation()
        highs.setOptionValue("time_limit", max(min(deadline - time.perf_counter(), 1e9), 1e-3))
        highs.run()
        return highs

    def relaxation_bound(self, deadline: float = float("inf")) -> float | None:
        """The LP relaxation's bound (objective units per buyer), or ``None`` if it has none
        (or the LP was not solved by ``deadline``, a ``time.perf_counter()`` value)."""
        highs = self.solved_relaxation(deadline)
        if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        return highs.getInfo().objective_function_value * self.objective_scale

    # -- solve ------------------------------------------------------------------------------
    def solve(self, time_limit: float, rel_gap: float, start: Sequence[int] | None = None) -> MilpResult:
        """Solve with HiGHS; the status comes from HiGHS's own model status.

        HiGHS is asked for half the gap so that the exact re-evaluation of its answer still
        meets ``rel_gap``. ``start`` must be a feasible offer (positions into the candidates).
        """
        # With a start from our own searches, HiGHS's primal heuristics mostly re-find it: off
        # they halve the proof on the shipped data (1.32 s -> 0.67 s). Without a start they stay.
        quiet = dict(mip_heuristic_effort=0.0, mip_heuristic_run_feasibility_jump=False,
                     mip_heuristic_run_rins=False, mip_heuristic_run_rens=False,
                     mip_heuristic_run_root_reduced_cost=False) if start else {}
        begin = time.perf_counter()
        highs = self._highs(integer=True)
        # HiGHS also stops on absolute tolerances (about 1e-7 on the objective): with values of
        # order 1e-3 (RS2 families: many products, small shares) it called a 0.026% gap optimal.
        # The objective is rescaled so that the start is worth 1; ``unit`` undoes it.
        unit = abs(self.value_of(start)) / self.objective_scale if start else 0.0
        unit = unit if unit > 1e-12 else 1.0
        if unit != 1.0:
            n_col = highs.getNumCol()
            highs.changeColsCost(n_col, np.arange(n_col, dtype=np.int32), self.model.cost / unit)
        run = run_mip(highs, self.start_values(start) if start else None,
                      time_limit=max(float(time_limit), 1e-3), mip_rel_gap=float(rel_gap) / 2, mip_abs_gap=1e-12,
                      presolve=MIP_PRESOLVE, **quiet)
        elapsed = time.perf_counter() - begin
        chosen: tuple[int, ...] = ()
        objective = bound = None
        if run.values is not None:
            chosen = tuple(int(c) for c in np.flatnonzero(run.values[self.z] > 0.5))
            objective = self.value_of(chosen)
        if run.status in (SolveStatus.OPTIMAL, SolveStatus.TIME_LIMIT, SolveStatus.NO_SOLUTION):
            dual = run.dual_bound * unit * self.objective_scale
            bound = dual if np.isfinite(dual) else None
        return MilpResult(chosen, run.status, objective, bound, elapsed, run.nodes)
