"""Random offer histories from known ground truths, to test the fit and to reproduce odd data.

``random_truth`` draws a catalog and a segment logit (with per-market intercept shifts);
``simulate_history`` draws the offers an analyst might have made (random bundles at ladder
prices) and the take-up from that truth. Everything is seeded: the same ``rng`` state gives the
same history. Returned tables are frames of strings, as the CSV readers see them, so they go
through the same validation as a user's files (``History.from_frame``; the catalog through
``pricing.domain.catalog.Catalog.from_frame``).

This is not the market simulator of a backtest; it only makes histories.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["GroundTruth", "OfferDesign", "random_truth", "simulate_history"]

_ZONES = ("car", "home", "human")
_CATALOG_COLUMNS = ("sku", "name", "category", "zone", "list_price", "unit_cost", "standalone_rate", "active")


@dataclass(frozen=True)
class GroundTruth:
    """A catalog (``catalog``: frame of strings) and the true coefficients of each segment.

    ``segments`` maps a segment name to a dict with ``share``, ``intercept``, ``price_coef``
    (utility per CNY), ``size_coef``, ``span_bonus``, ``appeal`` (SKU -> utility) and ``market``
    (region -> shift of the intercept).
    """

    catalog: pd.DataFrame
    segments: dict[str, dict]
    regions: tuple[str, ...]


@dataclass(frozen=True)
class OfferDesign:
    """How the offers of the history are drawn.

    ``sizes``: bundle sizes to draw from (1 allowed). ``bundles``: (fewest, most) bundles per
    market-month. ``discounts``: ladder discounts (a single one makes price a function of the
    composition). ``required_zones``: each bundle holds one SKU of each (when it can).
    ``never_offered``: SKUs left out of every offer. ``rare``: SKUs offered with probability 5%
    of the others. ``buyers``: (fewest, most) car buyers per cell.
    """

    months: int = 12
    sizes: tuple[int, ...] = (2, 3, 4)
    bundles: tuple[int, int] = (3, 6)
    discounts: tuple[float, ...] = (0.05, 0.08, 0.10, 0.12, 0.15, 0.18, 0.20, 0.25)
    required_zones: tuple[str, ...] = ()
    never_offered: tuple[str, ...] = ()
    rare: tuple[str, ...] = ()
    buyers: tuple[int, int] = (1500, 4000)
    first_month: tuple[int, int] = (2024, 1)


def random_truth(rng: np.random.Generator, n_skus: int = 12, zones: tuple[str, ...] = _ZONES,
                 regions: int = 3, segments: int = 2, market_sd: float = 0.2) -> GroundTruth:
    """A random catalog of ``n_skus`` SKUs over ``zones`` and a random segment logit.

    Appeals are category mean + N(0, 0.5^2); price coefficients 0.0004 to 0.0015 per CNY; market
    shifts N(0, ``market_sd``^2). List prices 150 to 3,000 CNY, unit cost 70-85% of list.
    """
    rows = []
    n_categories = max(2, int(rng.integers(n_skus // 3 + 1, n_skus + 1)))
    category_zone = [zones[c % len(zones)] for c in range(n_categories)]
    for i in range(n_skus):
        c = i % n_categories if i < n_categories else int(rng.integers(n_categories))
        price = float(rng.uniform(150, 3000))
        rows.append((f"S{i:02d}", f"product {i}", f"cat{c}", category_zone[c], f"{price:.0f}",
                     f"{price * rng.uniform(0.70, 0.85):.0f}", f"{rng.uniform(0.0, 0.04):.3f}", "true"))
    catalog = pd.DataFrame(rows, columns=list(_CATALOG_COLUMNS))
    region_names = tuple(f"R{g}" for g in range(regions))
    shares = rng.dirichlet(np.full(segments, 4.0))
    truth = {}
    for s in range(segments):
        category_mean = {f"cat{c}": rng.normal(0.6, 0.4) for c in range(n_categories)}
        truth[f"Seg{s}"] = {
            "share": float(shares[s]),
            "intercept": float(rng.uniform(-4.5, -2.5)),
            "price_coef": float(rng.uniform(0.0004, 0.0015)),
            "size_coef": float(rng.uniform(-0.3, 0.0)),
            "span_bonus": float(rng.uniform(0.0, 0.5)),
            "appeal": {r[0]: float(category_mean[r[2]] + rng.normal(0.0, 0.5)) for r in rows},
            "market": {g: float(rng.normal(0.0, market_sd)) for g in region_names},
        }
    return GroundTruth(catalog, truth, region_names)


def simulate_history(truth: GroundTruth, design: OfferDesign, rng: np.random.Generator) -> pd.DataFrame:
    """Offers and take-up: one row per offered bundle, month, region and segment (strings).

    Each market-month shows a random number of distinct bundles in ``design.bundles``; each bundle
    draws a size from ``design.sizes``, one SKU per category, a SKU of each required zone first;
    its price is its list total less a ladder discount, rounded to a whole CNY. Take-up of each
    segment's buyers is one multinomial draw over the bundles and no bundle.
    """
    cat = truth.catalog
    skus = [s for s in cat["sku"] if s not in design.never_offered]
    weight = np.array([0.05 if s in design.rare else 1.0 for s in skus])
    weight /= weight.sum()
    zone = dict(zip(cat["sku"], cat["zone"]))
    category = dict(zip(cat["sku"], cat["category"]))
    list_price = dict(zip(cat["sku"], cat["list_price"].astype(float)))
    y0, m0 = design.first_month
    rows = []
    for t in range(design.months):
        month = f"{y0 + (m0 - 1 + t) // 12:04d}-{(m0 - 1 + t) % 12 + 1:02d}"
        for region in truth.regions:
            bundles = _draw_offer(rng, design, skus, weight, zone, category)
            prices = [round(sum(list_price[k] for k in b) * (1 - rng.choice(design.discounts))) for b in bundles]
            for name, seg in truth.segments.items():
                buyers = int(rng.integers(design.buyers[0], design.buyers[1] + 1) * seg["share"]) + 1
                u = np.array([
                    seg["intercept"] + seg["market"].get(region, 0.0) + sum(seg["appeal"][k] for k in b)
                    + seg["size_coef"] * (len(b) - 1) + seg["span_bonus"] * (len({zone[k] for k in b}) - 1)
                    - seg["price_coef"] * p
                    for b, p in zip(bundles, prices)
                ])
                e = np.exp(u)
                taken = rng.multinomial(buyers, np.append(e, 1.0) / (1.0 + e.sum()))
                rows += [(month, region, name, str(buyers), "|".join(b), str(p), str(y))
                         for b, p, y in zip(bundles, prices, taken)]
    return pd.DataFrame(rows, columns=["month", "region", "segment", "buyers", "skus", "price", "taken"])


def _draw_offer(rng: np.random.Generator, design: OfferDesign, skus: list[str], weight: np.ndarray,
                zone: dict[str, str], category: dict[str, str]) -> list[tuple[str, ...]]:
    """Distinct bundles for one market-month (fewer when the catalog cannot make enough)."""
    wanted = int(rng.integers(design.bundles[0], design.bundles[1] + 1))
    bundles: list[tuple[str, ...]] = []
    for _attempt in range(wanted * 20):
        if len(bundles) == wanted:
            break
        size = int(rng.choice(design.sizes))
        chosen: list[str] = []
        for z in design.required_zones:
            pool = [k for k in skus if zone[k] == z]
            if pool and len(chosen) < size:
                chosen.append(pool[int(rng.integers(len(pool)))])
        order = rng.choice(len(skus), size=len(skus), replace=False, p=weight)
        for k in (skus[j] for j in order):
            if len(chosen) >= size:
                break
            if k not in chosen and category[k] not in {category[c] for c in chosen}:
                chosen.append(k)
        bundle = tuple(sorted(chosen))
        if bundle and bundle not in bundles:
            bundles.append(bundle)
    return bundles
