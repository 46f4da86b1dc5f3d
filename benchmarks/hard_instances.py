"""Hard mixed-logit instances in the spirit of the "RS2" family of the public Assortment-Benchmark.

The family (as that benchmark describes its generator; this is our own code): ``n`` products and
``m`` customer segments; each segment's product utilities come from two shared error components
with scale ``sigma = 3``, one loading on the first half of the products and one on the second
half, so a segment sees only two attraction levels; the no-purchase attraction ``v0`` is
log-normal (mean 1, sigma 0.5 on the log scale) clipped to ``[1, 5]``; segment weights are uniform
draws normalised to 1; revenues follow the "RS2" curve, high at the front and falling like a
logarithm, rescaled to ``[0.2, 1]`` and strictly decreasing.

Posed to this product as a new user would: one SKU per product, bundles of exactly one SKU
(``min_items = max_items = 1``), one price each (no discount, no rounding), no costs, no attach
target, and ``max_bundles`` either ``n`` (no cardinality limit) or a share of ``n``. Prices are
the revenues times 10,000 CNY, so that fen rounding (0.01 CNY) cannot create ties. A segment's
intercept is ``-ln v0`` and its appeals are the error components, so ``exp(u) = exp(V) / v0``,
exactly the benchmark's attraction relative to no purchase.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from models.demand import DemandModel, Segment
from pricing.domain.catalog import Catalog
from pricing.domain.problem import Problem
from pricing.domain.settings import Settings

__all__ = ["HardFamily", "rs2_revenues", "rs2_problem", "FAMILIES"]

PRICE_SCALE = 10_000.0  # CNY per unit of benchmark revenue


@dataclass(frozen=True)
class HardFamily:
    """``products`` x ``segments``; ``cardinality`` is the share of products that may be offered
    (``None``: no limit)."""

    products: int
    segments: int
    cardinality: float | None = None

    @property
    def label(self) -> str:
        limit = "no limit" if self.cardinality is None else f"K = {self.cardinality:g} n"
        return f"{self.products} x {self.segments}, {limit}"

    def max_bundles(self) -> int:
        if self.cardinality is None:
            return self.products
        return max(1, int(math.floor(self.cardinality * self.products)))


FAMILIES = tuple(HardFamily(n, m, card) for n in (50, 100, 200) for m in (5, 10, 25) for card in (None, 0.3))


def rs2_revenues(n: int) -> np.ndarray:
    """The RS2 revenue curve: ``1 - log(1 + i) / log(n + 2)`` for ``i = 1..n``, rescaled to
    ``[0.2, 1]``; strictly decreasing. Shape (n,)."""
    i = np.arange(1, n + 1, dtype=float)
    raw = 1.0 - np.log1p(i) / np.log1p(n + 1)
    return 0.2 + 0.8 * (raw - raw.min()) / (raw.max() - raw.min())


def rs2_problem(family: HardFamily, seed: int, *, time_limit: float = 60.0, rel_gap: float = 1e-4) -> Problem:
    """One seeded instance of ``family`` as a :class:`Problem` (built in memory)."""
    rng = np.random.default_rng([seed, family.products, family.segments])
    n, m = family.products, family.segments
    first_half = (n + 1) // 2  # the no-purchase option counts with the products when halving
    loading = rng.normal(0.0, 1.0, size=(m, 2)) * 3.0  # sigma = 3 on each error component
    appeal = np.where(np.arange(n)[None, :] < first_half, loading[:, :1], loading[:, 1:])
    weights = rng.random(m)
    weights /= weights.sum()
    v0 = np.clip(rng.lognormal(mean=1.0, sigma=0.5, size=m), 1.0, 5.0)

    skus = tuple(f"P{j:03d}" for j in range(n))
    prices = np.round(rs2_revenues(n) * PRICE_SCALE, 2)
    catalog = Catalog(skus, tuple(f"Product {j}" for j in range(n)), tuple(f"cat{j}" for j in range(n)),
                      ("car",) * n, prices, np.zeros(n), np.zeros(n), np.ones(n, dtype=bool))
    segments = tuple(
        Segment(f"type{s}", float(weights[s]), float(-math.log(v0[s])), 0.0,
                {sku: float(appeal[s, j]) for j, sku in enumerate(skus)})
        for s in range(m)
    )
    settings = Settings(max_bundles=family.max_bundles(), min_items=1, max_items=1, required_zones=(),
                        one_per_category=False, discounts=(0.0,), rounding="none", min_margin=0.0,
                        attach_rate=0.0, time_limit=time_limit, rel_gap=rel_gap)
    return Problem(catalog, DemandModel(segments), settings)
