"""The company's goals as rows linear in the take shares, and coefficient draws for confidence.

Every goal reads ``sum_s w_s sum_b P_s(b) g_b >= level`` with ``P_s(b)`` the take share of bundle
``b`` in segment ``s`` and ``g_b`` a per-sale weight (``docs/formulation.md`` section 6):

- attach target ``a``: ``g_b = 1``, level ``a``.
- IoT gross-margin rate at least the no-bundle rate ``r0`` plus ``X`` points: with
  ``rho = r0 + X / 100``, margin ``m0 + sum P m_b`` and revenue ``R0 + sum P r_b`` per buyer
  (``r_b`` = price less the standalone revenue it displaces; the revenue stays positive, see the
  docs), ``(m0 + sum P m) / (R0 + sum P r) >= rho`` is ``sum P (m_b - rho r_b) >= rho R0 - m0 =
  R0 X / 100``.
- connected devices per car buyer at least ``D``: ``g_b`` = SKUs in ``b`` less the standalone
  devices it displaces, level ``D - d0``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models import mnl
from models.demand import UTILITY_CLIP, DemandModel
from models.uncertainty import coefficient_draws
from pricing.domain.catalog import ZONES, Catalog
from pricing.domain.offer import baseline_figures
from pricing.domain.settings import Settings

__all__ = ["Goal", "GoalSet", "goal_set", "draw_attraction", "GOAL_NAMES"]

GOAL_NAMES = ("attach_rate", "margin_rate_points", "devices_per_buyer")


@dataclass(frozen=True)
class Goal:
    """One goal: ``sum_s w_s sum_b P_s(b) weight_b >= level`` (per car buyer).

    ``required`` is the value the user asked for, in the goal's own unit (share of buyers,
    points, devices per buyer); :meth:`GoalSet.values` gives an offer's value in that unit.
    """

    name: str
    weight: np.ndarray
    level: float
    required: float


@dataclass(frozen=True)
class GoalSet:
    """The active goals over a list of candidates, and the per-sale figures they come from.

    ``margin``, ``revenue``, ``devices``: (candidates,) change per sale (CNY, CNY, devices);
    ``baseline``: (margin CNY, revenue CNY, devices) per car buyer with no bundle.
    """

    goals: tuple[Goal, ...]
    margin: np.ndarray
    revenue: np.ndarray
    devices: np.ndarray
    baseline: tuple[float, float, float]

    def values(self, chosen, attraction: np.ndarray, shares: np.ndarray) -> dict[str, float]:
        """Each goal's value in its own unit for the offer of candidates ``chosen`` whose
        attractions are ``attraction`` (rows = bundles offered, columns = segments)."""
        chosen = list(chosen)
        take = mnl.choice_probabilities(attraction) if chosen else np.zeros((0, len(shares)))
        per_buyer = {k: float(mnl.margin_per_buyer(take, shares, w[chosen])) if chosen else 0.0
                     for k, w in (("margin", self.margin), ("revenue", self.revenue), ("devices", self.devices))}
        attach = float(mnl.attach_rate(take, shares)) if chosen else 0.0
        m0, r0, d0 = self.baseline
        rate = (m0 + per_buyer["margin"]) / (r0 + per_buyer["revenue"]) if r0 + per_buyer["revenue"] > 0 else 0.0
        return {"attach_rate": attach,
                "margin_rate_points": 100.0 * (rate - (m0 / r0 if r0 > 0 else 0.0)),
                "devices_per_buyer": d0 + per_buyer["devices"]}

    def subset(self, keep: np.ndarray) -> "GoalSet":
        """The same goals over the candidates at positions ``keep``."""
        goals = tuple(Goal(g.name, g.weight[keep], g.level, g.required) for g in self.goals)
        return GoalSet(goals, self.margin[keep], self.revenue[keep], self.devices[keep], self.baseline)

    def without(self, name: str) -> "GoalSet":
        return GoalSet(tuple(g for g in self.goals if g.name != name), self.margin, self.revenue, self.devices,
                       self.baseline)


def goal_set(catalog: Catalog, members: np.ndarray, set_id: np.ndarray, price: np.ndarray, margin: np.ndarray,
             settings: Settings) -> GoalSet:
    """The goals ``settings`` turn on (the attach target always, when above 0) over candidates.

    Parameters
    ----------
    members : (sets, max_items) catalog indices of each SKU set, padded with -1.
    set_id, price, margin : (candidates,) set, price (CNY) and incremental margin of one sale (CNY).
    """
    valid = members >= 0
    safe = np.where(valid, members, 0)
    rate = np.asarray(catalog.standalone_rate, dtype=float)
    displaced_revenue = ((rate * np.asarray(catalog.list_price, dtype=float))[safe] * valid).sum(axis=1)
    displaced_devices = (rate[safe] * valid).sum(axis=1)
    revenue = price - displaced_revenue[set_id]
    devices = (valid.sum(axis=1) - displaced_devices)[set_id]
    m0, r0, d0 = baseline_figures(catalog)
    goals = []
    if settings.attach_rate > 0:
        goals.append(Goal("attach_rate", np.ones(len(price)), settings.attach_rate, settings.attach_rate))
    if settings.margin_rate_points is not None:
        rho = (m0 / r0 if r0 > 0 else 0.0) + settings.margin_rate_points / 100.0
        goals.append(Goal("margin_rate_points", margin - rho * revenue, r0 * settings.margin_rate_points / 100.0,
                          settings.margin_rate_points))
    if settings.devices_per_buyer is not None:
        goals.append(Goal("devices_per_buyer", devices, settings.devices_per_buyer - d0, settings.devices_per_buyer))
    return GoalSet(tuple(goals), margin, revenue, devices, (m0, r0, d0))


def draw_attraction(model: DemandModel, catalog: Catalog, members: np.ndarray, set_id: np.ndarray,
                    price: np.ndarray, n_draws: int, seed: int) -> np.ndarray | None:
    """Candidates' attractions under ``n_draws`` draws of the fitted coefficients.

    Returns
    -------
    (draws, candidates, segments) ``exp(u)``, or ``None`` when the model carries no covariance.
    """
    used = np.unique(members[members >= 0])
    skus = tuple(catalog.skus[i] for i in used)
    draws = coefficient_draws(model, skus, n_draws, seed)
    if draws is None:
        return None
    column = {int(i): k for k, i in enumerate(used)}
    valid = members >= 0
    incidence = np.zeros((len(members), len(used)))
    for g, row in enumerate(members):
        for i in row[row >= 0]:
            incidence[g, column[int(i)]] = 1.0
    zone_code = np.array([ZONES.index(z) for z in catalog.zones])
    safe = np.where(valid, members, 0)
    zones = sum(((zone_code[safe] == z) & valid).any(axis=1).astype(float) for z in range(len(ZONES)))
    set_u = (draws["intercept"][:, None, :] + np.einsum("gi,dis->dgs", incidence, draws["appeal"])
             + (valid.sum(axis=1) - 1.0)[None, :, None] * model.size_coefs[None, None, :]
             + (zones - 1.0)[None, :, None] * draws["span_bonus"][:, None, :])
    utility = set_u[:, set_id, :] - price[None, :, None] * draws["price_coef"][:, None, :]
    return np.exp(np.clip(utility, -UTILITY_CLIP, UTILITY_CLIP))
