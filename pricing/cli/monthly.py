"""``python -m pricing monthly --month YYYY-MM``: the analyst's monthly job, every market at once.

Exit codes: 0 every market written; 3 some markets' targets unreachable (the others written);
2 bad input or usage, or another run of the month holds the lock (nothing written); 1 anything
unexpected, a failed market included (the others are written; run again to retry it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from models.errors import InputError
from pricing.cli.exit_codes import EXIT_BAD_INPUT
from pricing.cli.settings_flags import add_settings_flags, os_user, settings_from_args
from pricing.domain.problem import DEFAULT_DATA
from pricing.runs.monthly.run import MonthlyRequest, run_monthly
from pricing.runs.monthly.store import RunLocked

__all__ = ["add_parser", "run_monthly_command"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``monthly`` sub-command on ``subparsers``."""
    parser = subparsers.add_parser(
        "monthly", help="refit if new history, drift check, optimize every market of the month, versioned run folder",
        description="The monthly run: every market of volumes.csv for --month, resumable, fanned out on Dask.",
    )
    parser.add_argument("--month", required=True, help="the month to price, YYYY-MM (its rows of volumes.csv)")
    parser.add_argument("--data", type=Path, default=None, help="folder with the input files (default: data/)")
    parser.add_argument("--runs", type=Path, default=Path("runs"), help="where run folders go (default: runs/)")
    parser.add_argument("--markets", nargs="+", default=None, metavar="MARKET",
                        help="only these markets of the month (default: every market in volumes.csv)")
    parser.add_argument("--config", type=Path, default=None, help="settings TOML (default: pricing/defaults.toml)")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="a running Dask scheduler, e.g. tcp://10.0.0.5:8786 (default: a local cluster)")
    parser.add_argument("--workers", type=int, default=None,
                        help="worker processes of the local cluster (default: one per core)")
    parser.add_argument("--serial", action="store_true", help="no Dask: markets one after another in this process")
    parser.add_argument("--run-by", default=None, metavar="NAME",
                        help="who runs it, recorded in the manifest and on the workbook's cover; give your sign-in "
                             "name in the app so that you cannot also approve it (default: the system account)")
    add_settings_flags(parser)
    parser.set_defaults(handler=run_monthly_command)
    return parser


def run_monthly_command(args: argparse.Namespace) -> int:
    """Handler of ``python -m pricing monthly``; returns the exit code."""
    if args.workers is not None and args.workers < 1:
        raise InputError("--workers", f"must be a whole number >= 1, got {args.workers}")
    if args.buyers is not None:
        raise InputError("--buyers", "the monthly run takes each market's buyers from volumes.csv; drop --buyers")
    request = MonthlyRequest(
        month=args.month, data_dir=Path(args.data) if args.data is not None else DEFAULT_DATA,
        runs_dir=Path(args.runs), settings=settings_from_args(args),
        markets=tuple(args.markets) if args.markets else None, scheduler=args.scheduler,
        serial=args.serial, n_workers=args.workers,
        run_by=(args.run_by if args.run_by is not None else os_user()).strip()[:64],
    )
    try:
        report = run_monthly(request)
    except RunLocked as exc:
        print(f"locked: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print()
    print(f"Summary of {args.month} (revision {report.revision}, {report.revision_dir}):"
          + (" nothing changed." if report.unchanged else ""))
    for line in report.lines:
        print(f"  {line}")
    return report.exit_code
