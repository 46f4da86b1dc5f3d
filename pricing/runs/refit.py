"""Refitting ``model.json`` from ``history.csv``: the library behind ``python -m pricing fit``
and the monthly run's refit step.

Reads ``catalog.csv``, ``history.csv`` (and, when present, ``model.json`` for the segment names
and the price coefficients to fall back on, and ``last_sheet.csv`` for prices to compare with the
history); writes the fitted model and, beside it, ``validation.json`` and ``validation.txt``
(holdout check against a naive baseline, coefficients with 95% intervals, warnings). All files
land or none does.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from models.errors import InputError, clip
from models.history import History, price_warnings
from models.tables import read_text
from pricing.domain.catalog import Catalog
from pricing.domain.last_sheet import read_last_prices
from pricing.files.atomic import clear_leftovers, dump_json, publish_files

if TYPE_CHECKING:
    from models.fit import SegmentLogitFit

__all__ = ["FitSettings", "refit", "read_fit_inputs", "fit_model", "format_report"]


@dataclass(frozen=True)
class FitSettings:
    """Prior spreads (utility units) and the months held out for the check."""

    appeal_prior_sd: float = 0.5
    category_prior_sd: float = 1.0
    market_prior_sd: float = 0.25
    holdout_months: int = 3

    def priors(self) -> dict[str, float]:
        return {"appeal_prior_sd": self.appeal_prior_sd, "category_prior_sd": self.category_prior_sd,
                "market_prior_sd": self.market_prior_sd}


def refit(data_dir: Path, out: Path, settings: FitSettings = FitSettings()) -> tuple["SegmentLogitFit", str, list[Path]]:
    """Fit, check and write ``out`` (the model), ``validation.json`` and ``validation.txt``.

    Returns the fitted estimator, the report text and the paths written.

    Raises
    ------
    InputError
        For the first file, row and column that break a rule (nothing is written).
    """
    catalog, history, current = read_fit_inputs(data_dir)
    estimator, holdout, warnings = fit_model(history, catalog, settings.priors(), settings.holdout_months, current)
    warnings += _last_sheet_warnings(data_dir, catalog, estimator)
    model_dict, report = _model_and_report(estimator, holdout, warnings, data_dir, out)
    text = format_report(estimator, holdout, warnings)
    clear_leftovers(out.parent)
    publish_files(out.parent, {
        out.name: lambda p: p.write_text(dump_json(model_dict), encoding="utf-8"),
        "validation.json": lambda p: p.write_text(dump_json(report), encoding="utf-8"),
        "validation.txt": lambda p: p.write_text(text, encoding="utf-8"),
    }, meta={"kind": "demand_model"})
    return estimator, text, [out, out.parent / "validation.json", out.parent / "validation.txt"]


def read_fit_inputs(data_dir: Path) -> tuple[Catalog, History, dict[str, float]]:
    """Catalog, history (checked against the current model's segments) and the current model's
    price coefficients by segment (the fallback where the history cannot identify one)."""
    catalog = Catalog.from_csv(data_dir / "catalog.csv")
    segments, current = _known_segments(data_dir / "model.json")
    history = History.from_csv(data_dir / "history.csv", catalog.skus, segments)
    if segments is not None:
        missing = [s for s in segments if s not in history.segments]
        if missing:
            raise InputError(
                "history.csv", f"segment(s) {clip(', '.join(map(repr, missing)))} of model.json have no rows; "
                "every segment needs its offers and take-up", column="segment",
            )
    return catalog, history, current


def fit_model(history: History, catalog: Catalog, settings: dict[str, float], holdout_months: int,
              fallback: dict[str, float]) -> tuple["SegmentLogitFit", dict[str, Any] | None, list[str]]:
    """The fit, its holdout check (``None`` when the history is too short) and its warnings."""
    from models.fit import SegmentLogitFit  # scipy loads here, not for every CLI call
    from models.validation import holdout_check

    estimator = SegmentLogitFit(**settings, fallback_price_coef=fallback).fit(history, catalog)
    warnings = list(estimator.warnings())
    if len(history.months) >= holdout_months + 4:
        holdout = holdout_check(history, catalog, holdout_months, **settings, fallback_price_coef=fallback)
    else:
        holdout = None
        warnings.append(
            f"no holdout check: it needs at least {holdout_months + 4} months of history "
            f"({holdout_months} held out, 3 for the naive baseline, 1 to fit), got {len(history.months)}; "
            "nothing shows yet that the model predicts better than last quarter's take rates."
        )
    return estimator, holdout, warnings


def _last_sheet_warnings(data_dir: Path, catalog: Catalog, estimator: "SegmentLogitFit") -> list[str]:
    last_sheet = data_dir / "last_sheet.csv"
    if not last_sheet.is_file():
        return []
    last = read_last_prices(last_sheet, catalog)
    list_price = dict(zip(catalog.skus, catalog.list_price))
    totals = [sum(list_price[s] for s in key) for key in last]
    fit = estimator.fit_summary()
    return [f"last_sheet.csv: {w}" for w in price_warnings(fit, list(last.values()), totals)]


def _model_and_report(estimator: "SegmentLogitFit", holdout: dict[str, Any] | None, warnings: list[str],
                      data_dir: Path, out: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """``model.json`` (the model with its ``fit`` section) and ``validation.json``."""
    created_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    model_dict = estimator.to_model().to_dict()
    model_dict["fit"].update({
        "catalog_sha256": hashlib.sha256((data_dir / "catalog.csv").read_bytes()).hexdigest(),
        "created_at": created_at,
        "holdout": None if holdout is None else {k: v for k, v in holdout.items() if k != "markets"},
        "warnings": warnings,
    })
    report = {
        "created_at": created_at,
        "model": out.name,
        "data_sha256": estimator.data_sha256_,
        "months": list(estimator.months_),
        "log_likelihood": estimator.log_likelihood_,
        "rho_squared": estimator.rho_squared_,
        "holdout": holdout,
        "coefficients": estimator.coefficient_table(),
        "warnings": warnings,
    }
    return model_dict, report


def _known_segments(path: Path) -> tuple[list[str] | None, dict[str, float]]:
    """Segment names of the current model, to check the history against (None without a model),
    and its price coefficients by segment."""
    if path.is_dir():
        read_text(path, "the current demand model in JSON (or no file)")  # raises: a folder is an error
    if not path.is_file():
        return None, {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        names = [str(s["name"]) for s in raw["segments"]]
        prices = {str(s["name"]): float(s["price_coef"]) for s in raw["segments"]
                  if isinstance(s.get("price_coef"), (int, float)) and s["price_coef"] >= 0}
    except (ValueError, KeyError, TypeError, AttributeError):  # a broken model must not block its own refit
        return None, {}
    return (names or None), prices


def format_report(estimator: "SegmentLogitFit", holdout: dict[str, Any] | None, warnings: list[str]) -> str:
    """The validation a pricing manager reads: fit quality, holdout check, main coefficients, warnings."""
    months = estimator.months_
    lines = [
        f"Demand model fitted on {len(months)} months ({months[0]} to {months[-1]}), "
        f"{len(estimator.regions_)} regions, {estimator.n_rows_} offered-bundle rows, in {estimator.fit_seconds_:.2f} s.",
        f"Log-likelihood {estimator.log_likelihood_:,.1f}; McFadden rho-squared {estimator.rho_squared_:.3f} "
        "(against one common utility per segment).",
    ]
    if holdout is not None:
        lines += _holdout_lines(holdout)
    lines += ["", "Coefficients (95% interval); price_coef is utility per CNY, appeals are in validation.json:"]
    for est in estimator.segments_:
        parts = []
        for param, fmt in (("intercept", ".3f"), ("price_coef", ".6f"), ("span_bonus", ".3f")):
            if not est.identified(param):
                parts.append(f"{param} {est.value(param):{fmt}} (fixed: not identified)")
                continue
            low, high = est.interval(param)
            parts.append(f"{param} {est.value(param):{fmt}} ({low:{fmt}} to {high:{fmt}})")
        lines.append(f"  {est.name} (share {est.share:.3f}): " + "; ".join(parts))
    lines += ["", "Warnings:" if warnings else "Warnings: none."]
    lines += [f"  - {w}" for w in warnings]
    lines.append("")
    return "\n".join(lines) + "\n"


def _holdout_lines(holdout: dict[str, Any]) -> list[str]:
    lines = [
        "",
        f"Holdout check: fitted on {holdout['months_fitted'][0]} to {holdout['months_fitted'][1]}, "
        f"predicting {', '.join(holdout['months_held_out'])}.",
        "  mean absolute error, percentage points of car buyers   model    naive (last quarter)",
        f"  take rate of each bundle                               {holdout['take_rate_mae']['model']:6.3f}   "
        f"{holdout['take_rate_mae']['naive']:6.3f}",
        f"  attach rate of each market                             {holdout['attach_rate_mae']['model']:6.3f}   "
        f"{holdout['attach_rate_mae']['naive']:6.3f}",
    ]
    verdicts = [
        f"{what}: the model is {'better' if holdout[key]['model'] < holdout[key]['naive'] else 'NOT better'} "
        "than the naive baseline"
        for what, key in (("take rates", "take_rate_mae"), ("attach rates", "attach_rate_mae"))
    ]
    lines.append("  " + "; ".join(verdicts) + ".")
    lines.append("  attach rate, % of car buyers:  month    region      actual   model   naive")
    for m in holdout["markets"]:
        lines.append(f"                                {m['month']}  {m['region']:10s} {m['actual_pct']:7.2f} "
                     f"{m['model_pct']:7.2f} {m['naive_pct']:7.2f}")
    return lines
