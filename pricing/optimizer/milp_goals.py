"""Row groups of the offer MILP for the goals, the offer rules and coefficient draws.

A mixin of :class:`pricing.optimizer.milp.OfferMilp`; kept apart so that the solver's own row
groups (segments, one price per set, target, pins) and these evolve separately. Each group is
exact for what it states (``docs/formulation.md`` sections 6 to 8).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pulp

from pricing.optimizer.goals import Goal
from pricing.optimizer.offer_rules import OfferRules
from pricing.optimizer.pruning import per_set_max

__all__ = ["GoalRuleRows"]


def _expr(pairs) -> pulp.LpAffineExpression:
    return pulp.LpAffineExpression(pairs)


def _goal_row(prob: pulp.LpProblem, name: str, take, attraction: np.ndarray, shares: np.ndarray,
              goal: Goal) -> None:
    """``sum_s w_s sum_c g_c v_cs t_cs >= level``, scaled so its largest coefficient is 1."""
    coef = shares[None, :] * goal.weight[:, None] * attraction
    scale = float(np.abs(coef).max()) if coef.size and np.abs(coef).max() > 0 else 1.0
    pairs = [(take[c][s], float(coef[c, s] / scale)) for c in range(coef.shape[0]) for s in range(coef.shape[1])
             if coef[c, s] != 0]
    prob += pulp.LpConstraint(_expr(pairs), pulp.LpConstraintGE, name, float(goal.level / scale))


class GoalRuleRows:
    """Row-group methods for goals, offer rules and draws (``self`` is an ``OfferMilp``)."""

    goals: Sequence[Goal]
    rules: OfferRules | None
    draws: np.ndarray | None
    draw_goals: Sequence[Goal]

    def _add_goal_rows(self, prob: pulp.LpProblem) -> None:
        """The goals other than the attach target, under the model's own coefficients."""
        for goal in self.goals:
            _goal_row(prob, f"goal_{goal.name}", self.t, self.attraction, self.shares, goal)

    def _add_offer_rule_rows(self, prob: pulp.LpProblem) -> None:
        """Each SKU in at most m bundles; shared-SKU and price-gap conflicts as clique rows."""
        rules = self.rules
        if rules is None:
            return
        groups = (("sku_use", rules.per_sku_rows, rules.max_bundles_per_sku),
                  ("shared_skus", rules.shared_rows, 1), ("price_gap", rules.price_rows, 1))
        for label, rows, bound in groups:
            for k, members in enumerate(rows):
                prob += pulp.LpConstraint(_expr([(self.z[c], 1.0) for c in members]), pulp.LpConstraintLE,
                                          f"{label}_{k}", float(bound))

    def _add_draw_rows(self, prob: pulp.LpProblem) -> None:
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
            y = [prob.add_variable(f"draw_{d}_no_bundle_{s}", float(low[s]), float(high[s])) for s in range(n_seg)]
            cap = np.minimum(high[None, :], 1.0 / (1.0 + v))
            take = [[prob.add_variable(f"draw_{d}_take_{c}_{s}", 0, float(cap[c, s])) for s in range(n_seg)]
                    for c in range(n)]
            for s in range(n_seg):
                lo, hi = float(low[s]), float(high[s])
                prob += pulp.LpConstraint(_expr([(y[s], 1.0)] + [(take[c][s], float(v[c, s])) for c in range(n)]),
                                          pulp.LpConstraintEQ, f"draw_{d}_shares_sum_{s}", 1.0)
                for c in range(n):
                    tc, zc = take[c][s], self.z[c]
                    prob += pulp.LpConstraint(_expr([(tc, 1.0), (zc, -float(cap[c, s]))]), pulp.LpConstraintLE,
                                              f"draw_{d}_take_le_offer_{c}_{s}", 0.0)
                    prob += pulp.LpConstraint(_expr([(tc, 1.0), (y[s], -1.0), (zc, -lo)]), pulp.LpConstraintLE,
                                              f"draw_{d}_take_le_no_bundle_{c}_{s}", -lo)
                    prob += pulp.LpConstraint(_expr([(tc, 1.0), (y[s], -1.0), (zc, -hi)]), pulp.LpConstraintGE,
                                              f"draw_{d}_take_ge_no_bundle_{c}_{s}", -hi)
                    prob += pulp.LpConstraint(_expr([(tc, 1.0), (zc, -lo)]), pulp.LpConstraintGE,
                                              f"draw_{d}_take_ge_floor_{c}_{s}", 0.0)
                prob += pulp.LpConstraint(
                    _expr([(take[c][s], 1.0) for c in range(n)] + [(y[s], -float(self.max_bundles))]),
                    pulp.LpConstraintLE, f"draw_{d}_bundles_times_no_bundle_{s}", 0.0)
            for goal in self.draw_goals:
                _goal_row(prob, f"draw_{d}_goal_{goal.name}", take, v, self.shares, goal)
            self.draw_take.append((y, take))

    def _draw_start_values(self, chosen: Sequence[int]) -> list[tuple[pulp.LpVariable, float]]:
        """Values of the draw copies' variables for the offer ``chosen``."""
        values: list[tuple[pulp.LpVariable, float]] = []
        if self.draws is None:
            return values
        for v, (y, take) in zip(self.draws, self.draw_take):
            x0 = 1.0 / (1.0 + v[list(chosen)].sum(axis=0))
            values += [(y[s], float(x0[s])) for s in range(len(y))]
            values += [(take[c][s], float(x0[s])) for c in chosen for s in range(len(y))]
        return values
