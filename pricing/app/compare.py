"""Side-by-side comparisons (scenarios, the last approved sheet) and finance's review table."""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from pricing.domain.last_sheet import SHEET_COLUMNS
from pricing.domain.offer import Bundle, Offer, OfferFigures, evaluate_offer
from pricing.domain.problem import Problem
from pricing.domain.settings import Settings
from pricing.files.sheet import PriceSheet

__all__ = ["TOTALS", "totals_of", "approved_sheet", "compare_bundles", "compare_totals", "format_total",
           "review_table"]

# Headline figures compared between scenarios: key -> label. Money in CNY a month, rates as shares.
TOTALS: dict[str, str] = {
    "attach_rate": "attach rate",
    "margin": "expected incremental IoT margin (CNY/month)",
    "total_margin": "IoT gross margin (CNY/month)",
    "margin_rate": "IoT gross-margin rate",
    "margin_rate_change_points": "margin-rate change (points)",
    "devices_per_buyer": "connected devices per buyer",
    "bundles": "bundles",
}


def totals_of(figures: OfferFigures) -> dict[str, float]:
    """The :data:`TOTALS` of an offer's figures."""
    values = {key: getattr(figures, key) for key in TOTALS if key != "bundles"}
    values["bundles"] = len(figures.prices)
    return {k: float(v) for k, v in values.items()}


def approved_sheet(problem: Problem) -> tuple[pd.DataFrame, dict[str, float]]:
    """The last approved sheet re-read under ``problem``'s catalog, model and buyers: its rows
    (sheet columns) and :data:`TOTALS`. Empty when there is no approved sheet.

    Bundles holding a SKU that is no longer active are left out: they cannot be offered again,
    and the model need not cover inactive SKUs.
    """
    active = {sku for sku, on in zip(problem.catalog.skus, problem.catalog.active) if on}
    bundles = tuple(Bundle(tuple(sorted(skus)), price, price) for skus, price in problem.last_prices.items()
                    if set(skus) <= active)
    offer = Offer(bundles)
    if not bundles:
        return pd.DataFrame(columns=list(SHEET_COLUMNS)), {}
    figures = evaluate_offer(offer, problem.catalog, problem.model, problem.settings.buyers)
    return PriceSheet(offer, figures, problem.catalog).frame, totals_of(figures)


def _set_key(skus: str) -> str:
    return "|".join(sorted(str(skus).split("|")))


def compare_bundles(a: pd.DataFrame, b: pd.DataFrame, labels: tuple[str, str]) -> pd.DataFrame:
    """Bundle by bundle, matched on SKU set: price, take rate and expected margin on each side,
    and the price change from ``a`` to ``b`` (percent). Bundles on one side only have blanks."""
    la, lb = labels
    cols = ["skus", "name", "price", "take_rate", "expected_margin"]
    left = a[cols].assign(key=a["skus"].map(_set_key))
    right = b[cols].assign(key=b["skus"].map(_set_key))
    merged = left.merge(right, on="key", how="outer", suffixes=(f" {la}", f" {lb}"))
    out = pd.DataFrame({
        "skus": merged["key"],
        "name": merged[f"name {la}"].fillna(merged[f"name {lb}"]),
        f"price {la}": merged[f"price {la}"],
        f"price {lb}": merged[f"price {lb}"],
    })
    out["price change %"] = (100 * (out[f"price {lb}"] - out[f"price {la}"]) / out[f"price {la}"]).round(2)
    for col in ("take_rate", "expected_margin"):
        out[f"{col} {la}"] = merged[f"{col} {la}"]
        out[f"{col} {lb}"] = merged[f"{col} {lb}"]
    out["in"] = np.where(out[f"price {la}"].isna(), f"{lb} only",
                         np.where(out[f"price {lb}"].isna(), f"{la} only", "both"))
    return out.sort_values(["in", "skus"]).reset_index(drop=True)


def format_total(key: str, value: float | None) -> str:
    """One of :data:`TOTALS` as people read it: rates in percent, money in whole CNY."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if key in ("attach_rate", "margin_rate"):
        return f"{100 * value:.2f}%"
    if key in ("margin", "total_margin"):
        return f"{value:,.0f}"
    if key == "margin_rate_change_points":
        return f"{value:+.2f}"
    if key == "devices_per_buyer":
        return f"{value:.3f}"
    return f"{value:,.0f}"


def compare_totals(a: Mapping[str, float], b: Mapping[str, float], labels: tuple[str, str]) -> pd.DataFrame:
    """Headline figures side by side, with the difference ``b - a``; ``formatted`` gives text as
    :func:`format_total` writes it (percent differences in points)."""
    la, lb = labels
    rows = []
    for key, label in TOTALS.items():
        va, vb = a.get(key), b.get(key)
        diff = None if va is None or vb is None else vb - va
        rows.append({"figure": label, la: va, lb: vb, "difference": diff, "key": key})
    return pd.DataFrame(rows)


def review_table(sheet: pd.DataFrame, last_prices: Mapping[frozenset[str], float], rules: Settings) -> pd.DataFrame:
    """What finance checks, one row per bundle of a saved sheet: price, cost, margin, discount and
    the change against the *current* last approved sheet, with the rules each row breaks.

    ``rules`` are the house rules (margin floor, stability limit, items per bundle), which a
    what-if may have relaxed; money in CNY, ``*_pct`` in percent.
    """
    rows = []
    for row in sheet.itertuples(index=False):
        key = frozenset(str(row.skus).split("|"))
        last = last_prices.get(key)
        change = None if last is None else 100.0 * (row.price - last) / last
        flags = []
        if row.margin_pct < 100 * rules.min_margin - 1e-6:
            flags.append(f"margin {row.margin_pct:.1f}% below the {rules.min_margin:.0%} floor")
        if change is not None and abs(change) > 100 * rules.max_change + 1e-6:
            flags.append(f"moves {change:+.1f}% against the last approved price, beyond ±{rules.max_change:.0%}")
        if not rules.min_items <= row.items <= rules.max_items:
            flags.append(f"{row.items} items, outside {rules.min_items}-{rules.max_items}")
        if row.discount_pct < -1e-6:
            flags.append("priced above the list total")
        rows.append({
            "bundle_id": row.bundle_id, "name": row.name, "skus": row.skus, "price": row.price,
            "unit_cost_total": row.unit_cost_total, "unit_margin": row.unit_margin, "margin_pct": row.margin_pct,
            "discount_pct": row.discount_pct, "last_approved": last,
            "change_pct": None if change is None else round(change, 2),
            "flags": "; ".join(flags), "flagged": bool(flags),
        })
    return pd.DataFrame(rows, columns=["bundle_id", "name", "skus", "price", "unit_cost_total", "unit_margin",
                                       "margin_pct", "discount_pct", "last_approved", "change_pct", "flags",
                                       "flagged"])
