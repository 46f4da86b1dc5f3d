"""What a fit says in words and in ``model.json``: coefficient table, warnings, the ``fit`` section.

Split from :mod:`models.fit` so that the estimator reads as the maths only. Every function takes
a fitted :class:`models.fit.SegmentLogitFit` (or its segment estimates).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import pandas as pd

__all__ = ["coefficient_table", "warnings", "fit_summary", "list_totals", "FIXED_VALUES"]

FIXED_VALUES = {
    "intercept": "log(0.5 / buyers of the segment): half a taker, when nobody took a bundle",
    "price_coef": "the fallback (the current model's value for the segment when refitting with the "
                  "fit command, else 0: price-blind demand)",
    "span_bonus": "0: the intercept carries the common span of every bundle",
    "mean_appeal": "0: the intercept carries the common appeal level",
    "market": "0: the segment's intercept is used for that market",
}


def list_totals(frame: pd.DataFrame, catalog) -> np.ndarray:
    """List total (CNY) of each history row's SKU set."""
    price = dict(zip(catalog.skus, catalog.list_price))
    return np.array([sum(price[s] for s in skus) for skus in frame["skus"]])


def coefficient_table(segments) -> list[dict[str, Any]]:
    rows = []
    for est in segments:
        se = est.std_error
        for k, param in enumerate(est.params):
            low, high = est.interval(param)
            sku = param.split(":", 1)[1] if param.startswith("appeal:") else None
            rows.append({
                "segment": est.name, "parameter": param, "estimate": float(est.estimate[k]),
                "std_error": _number(se[k]), "ci95_low": _number(low), "ci95_high": _number(high),
                "identified": est.identified(param),
                "offers": None if sku is None else est.offers[sku],
            })
    return rows


def warnings(fit) -> list[str]:
    """Plain-words cautions, most important first."""
    out = _identification_warnings(fit)
    for i, sku in enumerate(fit.skus_):
        never = [e.name for e in fit.segments_ if e.offers[sku] == 0]
        rare = [e.name for e in fit.segments_ if 0 < e.offers[sku] < fit.rare_offers]
        if never:
            values = ", ".join(f"{e.value('appeal:' + sku):.2f}" for e in fit.segments_ if e.name in never)
            who = "any segment's" if len(never) == len(fit.segments_) > 1 else _join(never)
            out.append(
                f"SKU {sku} was never offered to {who} buyers in the history: its appeal "
                f"({values}) is the average of its category ({fit.categories_[i]}), an assumption, "
                "not a measurement. Treat bundles with it as untested."
            )
        if rare:
            counts = ", ".join(f"{e.offers[sku]}" for e in fit.segments_ if e.name in rare)
            out.append(
                f"SKU {sku} was offered to {_join(rare)} buyers in only {counts} market-months: its "
                f"appeal is pulled toward its category ({fit.categories_[i]}) and is uncertain."
            )
    for est in fit.segments_:
        if est.identified("price_coef"):
            low, high = est.interval("price_coef")
            value = est.value("price_coef")
            if low <= 0.0:
                out.append(
                    f"{est.name}: the history does not show clearly that a higher price lowers take-up "
                    f"(price coefficient {value:.6f} per CNY, 95% interval {low:.6f} to {high:.6f}). "
                    "Prices chosen for this segment rest on weak evidence."
                    + (" The negative estimate is written as 0 in model.json." if value < 0 else "")
                )
        if not est.converged:
            out.append(f"{est.name}: the optimiser stopped before converging; the coefficients may be off.")
    return out


def _identification_warnings(fit) -> list[str]:
    out = []
    for est in fit.segments_:
        for param, reason in est.not_identified.items():
            if param.startswith("market:"):
                continue
            key = param.split(":", 1)[0]
            value = f" ({est.value(param):.6g})" if param in est.params else ""
            out.append(
                f"{est.name}: {param.replace('_', ' ')} is not identified by this history: {reason}. "
                f"It is fixed at {FIXED_VALUES.get(key, 'its starting value')}{value}; its standard error "
                "is reported as not identified."
                + (" Prices chosen for this segment do not rest on evidence from the history."
                   if param == "price_coef" else "")
            )
        missing = [p.split(":", 1)[1] for p, r in est.not_identified.items()
                   if p.startswith("market:") and r.startswith("no rows")]
        if missing and len(missing) < len(fit.regions_):
            out.append(f"{est.name}: no history in {_join(missing)}; the segment's intercept is used there "
                       "(no market shift estimated).")
    return out


def fit_summary(fit) -> dict[str, Any]:
    """The ``fit`` section of ``model.json``: data, statistics, coefficients with their standard
    errors (``null`` when not identified) and covariance (what :mod:`models.uncertainty` draws
    from; a fixed parameter has variance 0), the market shifts and what was not identified."""
    return {
        "method": "penalised maximum likelihood of the segment logit on grouped take-up counts "
                  "(scipy trust-exact, analytic gradient and Hessian); standard errors from the "
                  "observed information; parameters the history cannot identify are fixed first",
        "source": "history.csv",
        "data_sha256": fit.data_sha256_,
        "months": list(fit.months_),
        "regions": list(fit.regions_),
        "rows": fit.n_rows_,
        "log_likelihood": fit.log_likelihood_,
        "log_likelihood_null": fit.log_likelihood_null_,
        "rho_squared": fit.rho_squared_,
        "prior": {
            "appeal_sd": fit.appeal_prior_sd,
            "category_sd": fit.category_prior_sd,
            "market_sd": fit.market_prior_sd,
            "note": "appeal ~ N(category mean, appeal_sd^2); category mean ~ N(segment mean, category_sd^2); "
                    "market shift of the intercept ~ N(0, market_sd^2)",
        },
        "size_coef_note": "not identified next to per-SKU appeals: fixed at 0, the appeals carry it",
        "fixed_values": FIXED_VALUES,
        "price_range": {"min": fit.price_range_[0], "max": fit.price_range_[1]},
        "discount_range": {"min": fit.discount_range_[0], "max": fit.discount_range_[1]},
        "seconds": round(fit.fit_seconds_, 3),
        "segments": {est.name: _segment_summary(est) for est in fit.segments_},
        "warnings": warnings(fit),
    }


def _segment_summary(est) -> dict[str, Any]:
    return {
        "share": est.share,
        "buyers": est.buyers,
        "takers": est.takers,
        "log_likelihood": est.log_likelihood,
        "converged": est.converged,
        "iterations": est.iterations,
        "params": list(est.params),
        "estimate": [_sig(v) for v in est.estimate],
        "std_error": [_number(v, sig=True) for v in est.std_error],
        "covariance": [[_sig(v) for v in row] for row in est.covariance],
        "not_identified": dict(est.not_identified),
        "market_rows": dict(est.market_rows),
        "offers": est.offers,
    }


def _number(value: float, sig: bool = False) -> float | None:
    """``None`` for NaN (JSON has no NaN); otherwise the float (rounded to 8 digits if ``sig``)."""
    if not math.isfinite(value):
        return None
    return _sig(value) if sig else float(value)


def _join(names: Sequence[str]) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _sig(value: float, digits: int = 8) -> float:
    return float(f"{float(value):.{digits}g}")
