"""``python -m pricing fit``: refit ``model.json`` from ``history.csv`` and check the fit.

Reads ``catalog.csv``, ``history.csv`` (and, when present, ``model.json`` for the segment names
and ``last_sheet.csv`` for prices to compare with the history) from ``--data``; writes the fitted
model to ``--out`` (default ``DATA/model.json``) and, beside it, ``validation.json`` and
``validation.txt`` (holdout check against a naive baseline, coefficients with 95% intervals,
warnings). The three files are published as one set (``pricing.files.atomic.publish_files``):
killed at any moment, the folder shows the old model and report or the new ones, never a mix.
Bad input is one line and exit 2, before the fit starts.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from models.errors import InputError, clip
from models.tables import read_text
from models.history import History, price_warnings
from pricing.domain.catalog import Catalog
from pricing.domain.last_sheet import read_last_prices
from pricing.domain.problem import DEFAULT_DATA
from pricing.files.atomic import clear_leftovers, dump_json, publish_files

if TYPE_CHECKING:
    from models.fit import SegmentLogitFit

__all__ = ["add_parser", "run_fit", "format_report"]

def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``fit`` sub-command on ``subparsers`` (from ``ArgumentParser.add_subparsers``)."""
    parser = subparsers.add_parser(
        "fit", help="fit model.json from history.csv; write it with a validation report",
        description="Penalised maximum-likelihood fit of the segment logit on the offer history.",
    )
    parser.add_argument("--data", type=Path, default=None, help="folder with catalog.csv and history.csv (default: data/)")
    parser.add_argument("--out", type=Path, default=None, help="model file to write (default: DATA/model.json)")
    parser.add_argument("--holdout-months", type=int, default=3, help="last months held out for the check (default 3)")
    parser.add_argument("--appeal-prior-sd", type=float, default=0.5,
                        help="spread of a SKU's appeal around its category's mean (default 0.5)")
    parser.add_argument("--category-prior-sd", type=float, default=1.0,
                        help="spread of category means around the segment's mean appeal (default 1.0)")
    parser.set_defaults(handler=run_fit)
    return parser


def run_fit(args: argparse.Namespace) -> int:
    """Handler of ``python -m pricing fit``; returns the exit code (0: model written)."""
    data_dir, out, settings = _checked_args(args)
    catalog = Catalog.from_csv(data_dir / "catalog.csv")
    segments = _known_segments(data_dir / "model.json")
    history = History.from_csv(data_dir / "history.csv", catalog.skus, segments)
    if segments is not None:
        missing = [s for s in segments if s not in history.segments]
        if missing:
            raise InputError(
                "history.csv", f"segment(s) {clip(', '.join(map(repr, missing)))} of model.json have no rows; "
                "every segment needs its offers and take-up", column="segment",
            )
    last_sheet = data_dir / "last_sheet.csv"
    last = read_last_prices(last_sheet, catalog) if last_sheet.exists() or last_sheet.is_symlink() else None
    clear_leftovers(out.parent)

    from models.fit import SegmentLogitFit  # scipy loads here, not for every CLI call
    from models.validation import holdout_check

    estimator = SegmentLogitFit(**settings).fit(history, catalog)
    model = estimator.to_model()
    warnings = list(estimator.warnings())
    if len(history.months) >= args.holdout_months + 4:
        holdout = holdout_check(history, catalog, args.holdout_months, **settings)
    else:
        holdout = None
        warnings.append(
            f"no holdout check: it needs at least {args.holdout_months + 4} months of history "
            f"({args.holdout_months} held out, 3 for the naive baseline, 1 to fit), got {len(history.months)}; "
            "nothing shows yet that the model predicts better than last quarter's take rates."
        )
    if last is not None:
        list_price = dict(zip(catalog.skus, catalog.list_price))
        totals = [sum(list_price[s] for s in key) for key in last]
        warnings += [f"last_sheet.csv: {w}" for w in price_warnings(dict(model.fit), list(last.values()), totals)]
    text = format_report(estimator, holdout, warnings)
    _publish(out, data_dir, history, estimator, model, holdout, warnings, text)
    print(text, end="")
    print(f"Wrote {out}, {out.parent / 'validation.json'}, {out.parent / 'validation.txt'}")
    return 0


def _checked_args(args: argparse.Namespace) -> tuple[Path, Path, dict[str, float]]:
    """Data folder, model file to write and prior settings, each checked before any work."""
    data_dir = Path(args.data) if args.data is not None else DEFAULT_DATA
    if not data_dir.is_dir():
        raise InputError(clip(str(data_dir)), "data folder not found")
    out = Path(args.out) if args.out is not None else data_dir / "model.json"
    if out.is_dir() and not out.is_symlink():
        raise InputError("--out", f"must be a file name for the model, got the folder {clip(str(out))}")
    if out.name in ("validation.json", "validation.txt", "manifest.json") or out.name.startswith("."):
        raise InputError("--out", f"must be a model file name other than {out.name}")
    if not 1 <= args.holdout_months <= 120:
        raise InputError("--holdout-months", f"must be a whole number from 1 to 120, got {args.holdout_months}")
    settings = {"appeal_prior_sd": args.appeal_prior_sd, "category_prior_sd": args.category_prior_sd}
    for flag, value in settings.items():
        if not (math.isfinite(value) and 0 < value <= 100):
            raise InputError(f"--{flag.replace('_', '-')}", f"must be a number > 0 and <= 100, got {value}")
    return data_dir, out, settings


def _publish(out: Path, data_dir: Path, history: History, estimator: "SegmentLogitFit", model: Any,
             holdout: dict[str, Any] | None, warnings: list[str], text: str) -> None:
    """Publish the model and its validation files as one set (``publish_files``): all or nothing."""
    created_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    model_dict = model.to_dict()
    model_dict["fit"].update({
        "catalog_sha256": hashlib.sha256((data_dir / "catalog.csv").read_bytes()).hexdigest(),
        "created_at": created_at,
        "holdout": None if holdout is None else {k: v for k, v in holdout.items() if k != "markets"},
        "warnings": warnings,
    })
    report = {
        "created_at": created_at,
        "model": out.name,
        "data_sha256": history.sha256,
        "months": list(history.months),
        "log_likelihood": estimator.log_likelihood_,
        "rho_squared": estimator.rho_squared_,
        "holdout": holdout,
        "coefficients": estimator.coefficient_table(),
        "warnings": warnings,
    }
    publish_files(out.parent, {
        out.name: lambda p: p.write_text(dump_json(model_dict), encoding="utf-8"),
        "validation.json": lambda p: p.write_text(dump_json(report), encoding="utf-8"),
        "validation.txt": lambda p: p.write_text(text, encoding="utf-8"),
    }, meta={"kind": "demand_model"})


def _known_segments(path: Path) -> list[str] | None:
    """Segment names of the current model, to check the history against; None without a model."""
    if not (path.exists() or path.is_symlink()):
        return None
    if path.is_dir():
        read_text(path, "the current demand model in JSON (or no file)")  # raises: a folder is an error
    try:
        raw = json.loads(read_text(path))
        names = [s["name"] for s in raw["segments"]]
    except (InputError, ValueError, KeyError, TypeError):  # a broken model must not block its own refit
        return None
    return [str(n) for n in names] or None


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
