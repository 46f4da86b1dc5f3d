"""What-if analysis for the app: modified problems, the trade-off curve, why each bundle is there,
and side-by-side comparisons. Pure functions on library objects; no I/O beyond a temporary
folder for reading an uploaded catalog with the same checks (and messages) as the CLI.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from models.errors import InputError
from pricing.candidates import ladder_price
from pricing.catalog import Catalog
from pricing.offer import Bundle, Offer, OfferFigures, evaluate_offer
from pricing.optimize import InfeasibleTarget, OptimizationResult, optimize
from pricing.report import summary
from pricing.problem import Problem
from pricing.settings import Settings
from pricing.sheet import SHEET_COLUMNS, PriceSheet, read_last_prices

__all__ = [
    "WhatIf", "WhatIfRun", "shares_from_percent", "run_whatif", "sheet_files", "apply_whatif", "problem_with_catalog", "bundle_table", "explain_bundles",
    "target_grid", "tradeoff_curve", "TOTALS", "totals_of", "approved_sheet", "compare_bundles",
    "compare_totals", "format_total", "review_table",
]

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

_EPS = 1e-9


@dataclass(frozen=True)
class WhatIf:
    """The app's controls: changes to apply to the shipped problem. Hashable, so a result can be
    cached by it.

    ``price_sensitivity`` multiplies every segment's price coefficient; ``cost_change_pct`` changes
    every unit cost (percent, 5 = +5%); ``deepest_discount`` cuts the price ladder (fraction, None
    keeps it whole); ``segment_shares`` replaces the segment mix (fractions summing to 1, in the
    model's segment order; None keeps it); ``catalog_digest`` names an uploaded catalog.
    """

    attach_rate: float = 0.15
    max_bundles: int = 5
    price_sensitivity: float = 1.0
    cost_change_pct: float = 0.0
    deepest_discount: float | None = None
    min_margin: float = 0.08
    buyers: float = 28000.0
    segment_shares: tuple[float, ...] | None = None
    pinned: tuple[str, ...] = ()
    banned: tuple[str, ...] = ()
    catalog_digest: str | None = None

    def __post_init__(self) -> None:
        for name in ("pinned", "banned"):
            object.__setattr__(self, name, tuple(sorted(getattr(self, name))))
        if self.segment_shares is not None:
            object.__setattr__(self, "segment_shares", tuple(float(x) for x in self.segment_shares))

    @classmethod
    def from_settings(cls, settings: Settings) -> "WhatIf":
        """The controls at the settings' values: no change at all."""
        return cls(attach_rate=settings.attach_rate, max_bundles=settings.max_bundles,
                   min_margin=settings.min_margin, buyers=float(settings.buyers),
                   pinned=settings.pinned, banned=settings.banned)

    def replace(self, **changes: Any) -> "WhatIf":
        values = asdict(self)
        values.update(changes)
        return WhatIf(**values)

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "WhatIf":
        values = dict(raw)
        if values.get("segment_shares") is not None:
            values["segment_shares"] = tuple(values["segment_shares"])
        return cls(**values)


def shares_from_percent(percent: Sequence[float], current: Sequence[float], decimals: int = 2) -> tuple[float, ...] | None:
    """Segment shares from a control in percent shown to ``decimals`` places.

    ``None`` when every entry still shows its current share (the model's exact shares are kept);
    otherwise the entries as fractions, rescaled to sum exactly to 1.

    Raises
    ------
    InputError
        Entries that do not sum to 100% (within what the rounding of the display can explain).
    """
    percent = [float(x) for x in percent]
    if all(abs(p - round(100 * c, decimals)) < 1e-9 for p, c in zip(percent, current)):
        return None
    total = sum(percent)
    if abs(total - 100.0) > len(percent) * 0.5 * 10 ** -decimals + 1e-9:
        raise InputError("segment mix", f"shares must sum to 100%, got {total:.2f}%")
    return tuple(p / total for p in percent)


def apply_whatif(base: Problem, whatif: WhatIf) -> Problem:
    """A copy of ``base`` with the what-if's changes; ``base`` is not written on.

    Raises
    ------
    InputError
        A control out of range (the message names the control and the value).
    """
    ladder = base.settings.discounts
    if whatif.deepest_discount is not None:
        ladder = tuple(d for d in ladder if d <= whatif.deepest_discount + _EPS)
        if not ladder:
            raise InputError("deepest discount", f"must be at least the smallest discount on the ladder "
                                                 f"({min(base.settings.discounts):.0%}), got {whatif.deepest_discount:.0%}")
    settings = base.settings.replace(
        attach_rate=whatif.attach_rate, max_bundles=whatif.max_bundles, min_margin=whatif.min_margin,
        buyers=whatif.buyers, pinned=whatif.pinned, banned=whatif.banned, discounts=ladder,
    )
    model = base.model
    if whatif.price_sensitivity != 1.0:
        model = model.with_price_sensitivity(whatif.price_sensitivity)
    if whatif.segment_shares is not None:
        model = model.with_shares(whatif.segment_shares)
    catalog = base.catalog.with_cost_change(whatif.cost_change_pct) if whatif.cost_change_pct else base.catalog
    return base.replace(settings=settings, model=model, catalog=catalog)


def problem_with_catalog(base: Problem, catalog_csv: bytes) -> Problem:
    """``base`` with an uploaded ``catalog.csv``, read with the CLI's checks and messages.

    Raises
    ------
    InputError
        The first file, row and column that break a rule, or a SKU the model or the last
        approved sheet cannot match.
    """
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "catalog.csv"
        path.write_bytes(catalog_csv)
        catalog = Catalog.from_csv(path)
    last_prices: Mapping[frozenset[str], float] = {}
    if base.data_dir is not None and (base.data_dir / "last_sheet.csv").exists():
        last_prices = read_last_prices(base.data_dir / "last_sheet.csv", catalog)
    return base.replace(catalog=catalog, last_prices=last_prices)


@dataclass(frozen=True, eq=False)
class WhatIfRun:
    """One what-if solved: the result, or the unreachable target; ``seconds`` spent in the library."""

    whatif: WhatIf
    result: OptimizationResult | None
    unreachable: InfeasibleTarget | None
    seconds: float


def run_whatif(base: Problem, whatif: WhatIf, catalog_csv: bytes | None = None,
               solve: Callable[[Problem], OptimizationResult] = optimize) -> WhatIfRun:
    """Apply ``whatif`` (and an uploaded catalog) to ``base`` and solve.

    An unreachable target is an answer, kept in ``unreachable``; bad input raises.

    Raises
    ------
    InputError
        A control out of range or an uploaded catalog that breaks a rule.
    """
    start = time.perf_counter()
    problem = problem_with_catalog(base, catalog_csv) if catalog_csv is not None else base
    problem = apply_whatif(problem, whatif)
    try:
        result, unreachable = solve(problem), None
    except InfeasibleTarget as exc:
        result, unreachable = None, exc
    return WhatIfRun(whatif, result, unreachable, time.perf_counter() - start)


def sheet_files(result: OptimizationResult) -> tuple[str, bytes]:
    """The price sheet as the CLI writes it: CSV text and ``.xlsx`` bytes (summary and settings included)."""
    sheet = PriceSheet(result.offer, result.figures, result.problem.catalog)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "price_sheet.xlsx"
        sheet.write_xlsx(path, summary(result), result.problem.settings.to_dict())
        xlsx = path.read_bytes()
    return sheet.to_csv_text(), xlsx


# -- one result ---------------------------------------------------------------------------------
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


def totals_of(figures: OfferFigures) -> dict[str, float]:
    """The :data:`TOTALS` of an offer's figures."""
    values = {key: getattr(figures, key) for key in TOTALS if key != "bundles"}
    values["bundles"] = len(figures.prices)
    return {k: float(v) for k, v in values.items()}


# -- the trade-off curve ------------------------------------------------------------------------
def target_grid(low: float, high: float, points: int, current: float) -> list[float]:
    """``points`` evenly spaced attach targets from ``low`` to ``high`` (shares), plus ``current``."""
    if not (0 <= low < high < 1) or points < 2:
        raise InputError("target sweep", f"needs 0 <= low < high < 1 and at least 2 points, got "
                                         f"{low:g} to {high:g} in {points} points")
    grid = {round(float(x), 4) for x in np.linspace(low, high, points)}
    grid.add(round(float(current), 4))
    return sorted(grid)


def tradeoff_curve(targets: Sequence[float], solve: Callable[[float], OptimizationResult],
                   progress: Callable[[int, float], None] | None = None) -> pd.DataFrame:
    """Best expected margin (CNY a month) at each attach target.

    ``solve(target)`` returns the optimization at that target or raises
    :class:`InfeasibleTarget`; unreachable targets get an empty margin and the highest
    reachable attach rate. ``progress(i, target)`` is called before each solve.
    """
    rows = []
    for i, target in enumerate(targets):
        if progress is not None:
            progress(i, target)
        try:
            result = solve(target)
        except InfeasibleTarget as exc:
            rows.append({"target": target, "attach_rate": None, "margin": None, "margin_rate": None,
                         "proven_optimal": exc.proven, "reachable": False,
                         "note": f"unreachable: at most {exc.best_attach:.2%}"})
            continue
        f = result.figures
        rows.append({"target": target, "attach_rate": f.attach_rate, "margin": f.margin,
                     "margin_rate": f.margin_rate, "proven_optimal": result.proven_optimal, "reachable": True,
                     "note": "proven optimal" if result.proven_optimal else f"not proven ({result.status.value})"})
    return pd.DataFrame(rows, columns=["target", "attach_rate", "margin", "margin_rate", "proven_optimal",
                                       "reachable", "note"])


# -- comparisons and review ---------------------------------------------------------------------
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
