"""An offer (the bundles shown to every car buyer) and the figures the team reads off it.

All figures come from the one demand implementation in :mod:`models.mnl`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models import mnl
from models.demand import DemandModel
from pricing.domain.catalog import ZONES, Catalog

__all__ = ["Bundle", "Offer", "OfferFigures", "evaluate_offer", "baseline_figures"]


@dataclass(frozen=True)
class Bundle:
    """A set of distinct SKUs at one price (CNY)."""

    skus: tuple[str, ...]
    price: float
    last_price: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "skus", tuple(self.skus))


@dataclass(frozen=True)
class Offer:
    """At most K bundles, no two with the same SKU set."""

    bundles: tuple[Bundle, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "bundles", tuple(self.bundles))

    def __len__(self) -> int:
        return len(self.bundles)


@dataclass(frozen=True)
class OfferFigures:
    """What an offer is expected to do in one month.

    Per bundle (rows = bundles of the offer, columns = segments where 2-D):
    ``take_rate`` (share of each segment's buyers), ``list_total``, ``unit_cost_total``,
    ``unit_margin`` (price - cost), ``incremental_margin`` (``m(b)``), ``own_elasticity``
    (per segment and ``own_elasticity_overall``, weighted by takers), ``cross_elasticity``
    (bundles x bundles x segments and its overall). Money in CNY; monthly totals for ``buyers``.
    """

    buyers: float
    segment_names: tuple[str, ...]
    shares: np.ndarray
    prices: np.ndarray
    list_total: np.ndarray
    unit_cost_total: np.ndarray
    incremental_margin: np.ndarray
    sizes: np.ndarray
    take_rate: np.ndarray
    attach_by_segment: np.ndarray
    own_elasticity: np.ndarray
    own_elasticity_overall: np.ndarray
    cross_elasticity: np.ndarray
    cross_elasticity_overall: np.ndarray
    baseline_margin: float
    baseline_revenue: float
    baseline_devices: float
    revenue_change: float
    device_change: float

    @property
    def take_rate_overall(self) -> np.ndarray:
        """Share of all car buyers who take each bundle."""
        return self.take_rate @ self.shares

    @property
    def attach_rate(self) -> float:
        return float(self.attach_by_segment @ self.shares)

    @property
    def margin_per_buyer(self) -> float:
        """Expected incremental IoT gross margin per car buyer, CNY."""
        return float(self.take_rate_overall @ self.incremental_margin)

    @property
    def margin(self) -> float:
        """Expected incremental IoT gross margin, CNY a month."""
        return self.buyers * self.margin_per_buyer

    @property
    def expected_units(self) -> np.ndarray:
        return self.buyers * self.take_rate_overall

    @property
    def expected_margin(self) -> np.ndarray:
        """Incremental margin of each bundle, CNY a month."""
        return self.expected_units * self.incremental_margin

    @property
    def unit_margin(self) -> np.ndarray:
        return self.prices - self.unit_cost_total

    @property
    def total_margin(self) -> float:
        """IoT gross margin with the offer (standalone sales it leaves plus bundles), CNY a month."""
        return self.baseline_margin + self.margin

    @property
    def total_revenue(self) -> float:
        return self.baseline_revenue + self.revenue_change

    @property
    def margin_rate(self) -> float:
        return self.total_margin / self.total_revenue if self.total_revenue > 0 else 0.0

    @property
    def baseline_margin_rate(self) -> float:
        return self.baseline_margin / self.baseline_revenue if self.baseline_revenue > 0 else 0.0

    @property
    def margin_rate_change_points(self) -> float:
        return 100.0 * (self.margin_rate - self.baseline_margin_rate)

    @property
    def devices_per_buyer(self) -> float:
        """Connected IoT devices per car buyer from this channel: standalone plus bundled."""
        return self.baseline_devices + self.device_change


def baseline_figures(catalog: Catalog) -> tuple[float, float, float]:
    """No-bundle world, per car buyer: (margin CNY, revenue CNY, devices) from standalone sales
    of active SKUs at list price."""
    active = catalog.active.astype(bool)
    rate = catalog.standalone_rate * active
    return (
        float(rate @ (catalog.list_price - catalog.unit_cost)),
        float(rate @ catalog.list_price),
        float(rate.sum()),
    )


def evaluate_offer(offer: Offer, catalog: Catalog, model: DemandModel, buyers: float) -> OfferFigures:
    """Exact figures of ``offer`` under ``model`` for ``buyers`` car buyers a month.

    A bundle's taker buys it instead of the SKUs they would have bought alone (each with its
    standalone rate), so revenue and devices count the bundle less what it displaces.
    """
    n = len(offer)
    n_seg = len(model.segments)
    index = {sku: i for i, sku in enumerate(catalog.skus)}
    incidence = np.zeros((n, len(catalog)))
    for b, bundle in enumerate(offer.bundles):
        for sku in bundle.skus:
            incidence[b, index[sku]] = 1.0
    prices = np.array([b.price for b in offer.bundles], dtype=float)
    zone_code = np.array([ZONES.index(z) for z in catalog.zones])
    zone_counts = np.array([len({zone_code[i] for i in np.flatnonzero(row)}) for row in incidence], dtype=float)
    skus_used = [catalog.skus[i] for i in np.flatnonzero(incidence.any(axis=0))] if n else []
    if n:
        sub = incidence[:, [index[s] for s in skus_used]]
        comp_u = model.composition_utility(sub, zone_counts, skus_used)
        attraction = model.attraction(comp_u, prices)
    else:
        attraction = np.zeros((0, n_seg))
    take = mnl.choice_probabilities(attraction)
    list_total = incidence @ catalog.list_price
    unit_cost_total = incidence @ catalog.unit_cost
    displaced = incidence @ catalog.displaced_cost
    incremental = prices - displaced
    own = mnl.own_price_elasticity(take, prices, model.price_coefs)
    cross = mnl.cross_price_elasticity(take, prices, model.price_coefs)
    base_margin, base_revenue, base_devices = baseline_figures(catalog)
    overall_take = take @ model.shares
    displaced_revenue = incidence @ (catalog.standalone_rate * catalog.list_price)
    displaced_devices = incidence @ catalog.standalone_rate
    return OfferFigures(
        buyers=float(buyers),
        segment_names=model.names,
        shares=model.shares,
        prices=prices,
        list_total=list_total,
        unit_cost_total=unit_cost_total,
        incremental_margin=incremental,
        sizes=incidence.sum(axis=1),
        take_rate=take,
        attach_by_segment=mnl.attach_by_segment(take),
        own_elasticity=own,
        own_elasticity_overall=mnl.weight_by_takers(own, take, model.shares) if n else np.zeros(0),
        cross_elasticity=cross,
        cross_elasticity_overall=mnl.weight_by_takers(cross, take, model.shares) if n else np.zeros((0, 0)),
        baseline_margin=buyers * base_margin,
        baseline_revenue=buyers * base_revenue,
        baseline_devices=base_devices,
        revenue_change=float(buyers * overall_take @ (prices - displaced_revenue)),
        device_change=float(overall_take @ (incidence.sum(axis=1) - displaced_devices)),
    )
