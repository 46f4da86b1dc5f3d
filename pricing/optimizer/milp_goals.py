"""Row groups of the offer MILP for the goals, the offer rules, dominance ordering and coefficient draws.

A mixin of :class:`pricing.optimizer.milp.OfferMilp`; kept apart so that the solver's own row
groups (segments, one price per set, target, pins) and these evolve separately. Each group is
exact for what it states (``docs/formulation.md`` sections 6 to 8).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from pricing.optimizer.goals import Goal
from pricing.optimizer.lp_arrays import INF, LinearModel, RowBlock, rows_from_dense, rows_from_lists, rows_of_sums
from pricing.optimizer.offer_rules import OfferRules
from pricing.optimizer.segment_bounds import per_set_max

__all__ = ["GoalRuleRows", "shared_labels"]


def _goal_row(name: str, take: np.ndarray, attraction: np.ndarray, shares: np.ndarray, goal: Goal) -> RowBlock:
    """``sum_s w_s sum_c g_c v_cs t_cs >= level``, scaled so its largest coefficient is 1."""
    coef = shares[None, :] * goal.weight[:, None] * attraction
    scale = float(np.abs(coef).max()) if coef.size and np.abs(coef).max() > 0 else 1.0
    return rows_from_dense(name, take.reshape(1, -1), (coef / scale).reshape(1, -1), goal.level / scale, INF)


class GoalRuleRows:
    """Row-group methods for goals, offer rules, dominance ordering and draws (``self`` is an
    ``OfferMilp``)."""

    goals: Sequence[Goal]
    rules: OfferRules | None
    draws: np.ndarray | None
    draw_goals: Sequence[Goal]
    model: LinearModel
    z: np.ndarray
    t: np.ndarray
    set_id: np.ndarray

    def _add_goal_rows(self) -> None:
        """The goals other than the attach target, under the model's own coefficients."""
        for goal in self.goals:
            self.model.add(_goal_row(f"goal_{goal.name}", self.t, self.attraction, self.shares, goal))

    def _add_offer_rule_rows(self) -> None:
        """Each SKU in at most m bundles; shared-SKU and price-gap conflicts as clique rows."""
        rules = self.rules
        if rules is None:
            return
        groups = (("sku_use", rules.per_sku_rows, rules.max_bundles_per_sku),
                  ("shared_skus", rules.shared_rows, 1), ("price_gap", rules.price_rows, 1))
        for label, rows, bound in groups:
            if rows:
                self.model.add(rows_of_sums(label, [self.z[np.asarray(m)] for m in rows], -INF, float(bound)))

    def add_dominance_rows(self, pairs: np.ndarray, max_prices: int = 8) -> None:
        """``z_c <= sum_{e in set of d} z_e`` for each (c, d) of ``pairs``
        (:func:`pricing.optimizer.ordering.dominance_pairs`): valid only where that swap is.

        Pairs whose dominating set has more than ``max_prices`` prices are left out: their rows
        are long and, on fine price ladders (hundreds of prices per set), slowed every LP by
        three times or more without saving nodes."""
        members: dict[int, np.ndarray] = {}
        rows = []
        for c, d in np.asarray(pairs, dtype=np.int64).reshape(-1, 2):
            g = int(self.set_id[d])
            if g not in members:
                members[g] = np.flatnonzero(self.set_id == g)
            if len(members[g]) <= max_prices:
                rows.append((np.concatenate([[self.z[c]], self.z[members[g]]]),
                             np.concatenate([[1.0], -np.ones(len(members[g]))])))
        if rows:
            self.model.add(rows_from_lists("dominated_by", rows, -INF, 0.0))

    def _add_draw_rows(self) -> None:
        """One copy of the segments per coefficient draw ``d`` with its own no-bundle shares
        ``y_ds`` and takes ``u_dcs = y_ds z_c`` (McCormick, exact for binary ``z``), and every
        goal imposed in that draw."""
        self.draw_take = []
        if self.draws is None:
            return
        n, n_seg = self.attraction.shape
        must_offer = self.target > 0 or self.all_pins
        sets, set_index = np.unique(self.set_id, return_inverse=True)
        k = min(self.max_bundles, len(sets))
        for d, v in enumerate(self.draws):
            best = np.stack([per_set_max(v[:, s], set_index, len(sets)) for s in range(n_seg)], axis=1)
            low = 1.0 / (1.0 + np.sort(best, axis=0)[::-1][:k].sum(axis=0))
            high = 1.0 / (1.0 + v.min(axis=0)) if must_offer else np.ones(n_seg)
            y = self.model.add_columns(f"draw_{d}_no_bundle", low, high)
            cap = np.minimum(high[None, :], 1.0 / (1.0 + v))
            take = self.model.add_columns(f"draw_{d}_take", np.zeros((n, n_seg)), cap)
            self._add_draw_copy(f"draw_{d}", v, y, take, cap, low, high)
            for goal in self.draw_goals:
                self.model.add(_goal_row(f"draw_{d}_goal_{goal.name}", take, v, self.shares, goal))
            self.draw_take.append((y, take))

    def _add_draw_copy(self, name: str, v: np.ndarray, y: np.ndarray, take: np.ndarray, cap: np.ndarray,
                       low: np.ndarray, high: np.ndarray) -> None:
        """The segment rows of one draw: shares sum to one and ``u = y z`` linearised."""
        n, n_seg = v.shape
        model = self.model
        z = np.broadcast_to(self.z[:, None], (n, n_seg))
        yy = np.broadcast_to(y[None, :], (n, n_seg))
        ones, lo, hi = np.ones((n, n_seg)), np.broadcast_to(low[None, :], (n, n_seg)), np.broadcast_to(high[None, :], (n, n_seg))

        def stack(*arrays: np.ndarray) -> np.ndarray:
            return np.stack(arrays, axis=-1).reshape(-1, len(arrays))

        model.add(rows_from_dense(f"{name}_shares_sum", np.column_stack([y, take.T]),
                                  np.column_stack([np.ones(n_seg), v.T]), 1.0, 1.0))
        model.add(rows_from_dense(f"{name}_take_le_offer", stack(take, z), stack(ones, -cap), -INF, 0.0))
        model.add(rows_from_dense(f"{name}_take_le_no_bundle", stack(take, yy, z), stack(ones, -ones, -lo),
                                  -INF, -lo.ravel()))
        model.add(rows_from_dense(f"{name}_take_ge_no_bundle", stack(take, yy, z), stack(ones, -ones, -hi),
                                  -hi.ravel(), INF))
        model.add(rows_from_dense(f"{name}_take_ge_floor", stack(take, z), stack(ones, -lo), 0.0, INF))
        model.add(rows_from_dense(f"{name}_bundles_times_no_bundle", np.column_stack([y, take.T]),
                                  np.column_stack([-float(self.max_bundles) * np.ones(n_seg), np.ones((n_seg, n))]),
                                  -INF, 0.0))

    def _draw_start_values(self, chosen: Sequence[int], x: np.ndarray) -> None:
        """Set in ``x`` the draw copies' columns for the offer ``chosen``."""
        if self.draws is None:
            return
        chosen = list(chosen)
        for v, (y, take) in zip(self.draws, self.draw_take):
            x0 = 1.0 / (1.0 + v[chosen].sum(axis=0))
            x[y] = x0
            x[take[chosen]] = x0[None, :]


def shared_labels(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The positions of every label held more than once, grouped by label (ascending) and
    ascending within a group, and each group's size: one sort, no array per group (splitting
    37,808 candidates into 9,476 arrays took 0.05 s a build)."""
    order = np.argsort(labels, kind="stable")
    first = np.concatenate([[0], np.flatnonzero(np.diff(labels[order])) + 1, [len(order)]]) if len(order) else \
        np.zeros(1, dtype=np.int64)
    sizes = np.diff(first)
    return order[np.repeat(sizes > 1, sizes)], sizes[sizes > 1]
