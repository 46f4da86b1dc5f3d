"""Benchmark instances: the shipped data, and a seeded 60-SKU catalog with a 4-segment model."""

from __future__ import annotations

import numpy as np

from models.demand import DemandModel, Segment
from pricing.domain.catalog import Catalog
from pricing.domain.problem import Problem
from pricing.domain.settings import Settings

__all__ = ["shipped", "synthetic"]

_CATEGORIES = {
    "car": ["dash_cam", "car_wireless_charger", "tire_inflator", "car_vacuum", "car_air_purifier", "car_fridge"],
    "home": ["ev_home_charger", "robot_vacuum", "air_purifier", "security_camera", "smart_lock", "smart_speaker",
             "router", "smart_light", "water_purifier"],
    "human": ["smart_band", "watch", "earbuds", "tablet", "phone_case"],
}


def shipped(settings: Settings | None = None) -> Problem:
    return Problem.load(None, settings)


def synthetic(n_skus: int = 60, seed: int = 7, settings: Settings | None = None) -> Problem:
    """A catalog of ``n_skus`` SKUs over 20 categories and the three zones, list prices 150-4,000
    CNY, costs near 80% of list, and 4 segments of the shipped model's orders of magnitude."""
    rng = np.random.default_rng(seed)
    cats = [(zone, cat) for zone, names in _CATEGORIES.items() for cat in names]
    skus, names, categories, zones, lists, costs, rates = [], [], [], [], [], [], []
    for k in range(n_skus):
        zone, cat = cats[k % len(cats)]
        list_price = float(np.round(rng.uniform(150, 4000), -1) - 1)
        skus.append(f"SKU-{k:03d}")
        names.append(f"{cat.replace('_', ' ').title()} {k}")
        categories.append(cat)
        zones.append(zone)
        lists.append(list_price)
        costs.append(round(list_price * rng.uniform(0.76, 0.84), 0))
        rates.append(round(rng.uniform(0.004, 0.04), 3))
    catalog = Catalog(tuple(skus), tuple(names), tuple(categories), tuple(zones), np.array(lists),
                      np.array(costs), np.array(rates), np.ones(n_skus, dtype=bool))
    base = rng.uniform(0.3, 1.2, n_skus)
    premium = rng.normal(0, 1, n_skus)
    segs = []
    for name, share, intercept, price_coef, tilt in [("Standard", 0.42, -3.7, 0.0012, -0.25),
                                                     ("Pro", 0.24, -4.2, 0.0010, 0.0),
                                                     ("Max", 0.22, -4.7, 0.0008, 0.2),
                                                     ("Ultra", 0.12, -5.4, 0.0006, 0.45)]:
        appeal = {s: float(b + tilt * p) for s, b, p in zip(skus, base, premium)}
        segs.append(Segment(name, share, intercept, price_coef, appeal, size_coef=-0.25, span_bonus=0.35))
    return Problem(catalog, DemandModel(tuple(segs)), settings or Settings())
