"""Why each bundle of an offer is there, and the offer as the what-if page tables it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pricing.domain.settings import Settings
from pricing.files.sheet import PriceSheet
from pricing.optimizer.candidates import ladder_price
from pricing.optimizer.optimize import OptimizationResult

__all__ = ["explain_bundles", "bundle_table"]

_EPS = 1e-9


def _ladder_neighbours(list_total: float, price: float, settings: Settings) -> tuple[float | None, float | None]:
    """Nearest ladder prices above and below ``price`` for a bundle of ``list_total`` CNY."""
    prices = sorted({float(ladder_price(np.array([list_total]), d, settings.rounding)[0]) for d in settings.discounts})
    above = [p for p in prices if p > price + 1e-6]
    below = [p for p in prices if p < price - 1e-6]
    return (above[0] if above else None), (below[-1] if below else None)


def explain_bundles(result: OptimizationResult) -> list[str]:
    """One plain line per bundle: what it adds to attach and margin, and which rule holds its price.

    A price is held from above by the ladder's smallest discount or by the stability band around
    the last approved price, and from below by the margin floor or the deepest discount; when
    neither neighbour on the ladder is blocked, the price is the demand optimum between them.
    """
    settings = result.problem.settings
    f = result.figures
    attach, margin = f.attach_rate, f.margin
    lines = []
    for b, bundle in enumerate(result.offer.bundles):
        share_attach = f.take_rate_overall[b] / attach if attach > 0 else 0.0
        share_margin = f.expected_margin[b] / margin if margin > 0 else 0.0
        parts = [
            f"Brings {100 * f.take_rate_overall[b]:.2f} of the {100 * attach:.2f} attach points "
            f"({share_attach:.0%}) and {f.expected_margin[b]:,.0f} CNY a month ({share_margin:.0%} of the margin)."
        ]
        cost = f.unit_cost_total[b]
        above, below = _ladder_neighbours(f.list_total[b], bundle.price, settings)
        last = bundle.last_price
        holds = []
        if above is None:
            holds.append("the ladder's smallest discount caps the price")
        elif last is not None and abs(above - last) > settings.max_change * last + _EPS:
            holds.append(f"the stability band (±{settings.max_change:.0%} of the last approved "
                         f"{last:,.0f} CNY) stops a higher price")
        if below is None:
            holds.append("it already sits at the deepest discount")
        elif below - cost < settings.min_margin * below - _EPS:
            holds.append(f"a deeper discount ({below:,.0f} CNY) would break the {settings.min_margin:.0%} margin floor")
        elif last is not None and abs(below - last) > settings.max_change * last + _EPS:
            holds.append(f"the stability band (±{settings.max_change:.0%} of the last approved "
                         f"{last:,.0f} CNY) stops a lower price")
        if not holds:
            holds.append("no rule binds: this ladder step balances margin against the attach target best")
        parts.append("Price: " + "; ".join(holds) + ".")
        pinned = [s for s in bundle.skus if s in settings.pinned]
        if pinned:
            parts.append(f"Carries pinned {', '.join(pinned)}.")
        lines.append(" ".join(parts))
    return lines


def bundle_table(result: OptimizationResult) -> pd.DataFrame:
    """The offer as the what-if page shows it: one row per bundle, take rate per segment (share
    of that segment's buyers), overall own-price elasticity and the reason it is there."""
    sheet = PriceSheet(result.offer, result.figures, result.problem.catalog).frame
    f = result.figures
    table = sheet[["bundle_id", "name", "skus", "price", "discount_pct", "unit_margin", "margin_pct",
                   "take_rate", "expected_units", "expected_margin", "elasticity"]].copy()
    for s, name in enumerate(f.segment_names):
        table[f"take {name}"] = f.take_rate[:, s]
    table["why"] = explain_bundles(result)
    return table
