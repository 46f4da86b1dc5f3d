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
import math
from pathlib import Path
from typing import Any

from models.errors import InputError, clip
from pricing.domain.problem import DEFAULT_DATA
from pricing.runs.refit import FitSettings, format_report, refit

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
    parser.add_argument("--market-prior-sd", type=float, default=0.25,
                        help="spread of a market's shift of each segment's intercept around 0 (default 0.25)")
    parser.set_defaults(handler=run_fit)
    return parser


def run_fit(args: argparse.Namespace) -> int:
    """Handler of ``python -m pricing fit``; returns the exit code (0: model written)."""
    data_dir, out, settings = _checked_args(args)
    _estimator, text, written = refit(data_dir, out, settings)
    print(text, end="")
    print("Wrote " + ", ".join(str(p) for p in written))
    return 0


def _checked_args(args: argparse.Namespace) -> tuple[Path, Path, FitSettings]:
    """The data folder, the model file to write and the fit settings, checked."""
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
    priors = {"appeal_prior_sd": args.appeal_prior_sd, "category_prior_sd": args.category_prior_sd,
              "market_prior_sd": args.market_prior_sd}
    for flag, value in priors.items():
        if not (math.isfinite(value) and 0 < value <= 100):
            raise InputError(f"--{flag.replace('_', '-')}", f"must be a number > 0 and <= 100, got {value}")
    return data_dir, out, FitSettings(**priors, holdout_months=args.holdout_months)
