"""``python -m pricing backtest``: the monthly loop on a simulated market against an oracle."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from models.errors import InputError
from pricing.app.backtest_view import policy_summary
from pricing.cli.exit_codes import EXIT_OK
from pricing.cli.settings_flags import add_settings_flags, settings_from_args
from pricing.runs.backtest.loop import POLICIES, BacktestConfig, run_backtest
from pricing.runs.backtest.inputs import BacktestInputs
from pricing.runs.backtest.output import write_backtest

__all__ = ["add_parser", "run_backtest_command"]

# The backtest solves ~100 problems a seed; a 30 s limit keeps a run in minutes (the shipped
# instance solves in 2-5 s). The gap is the monthly run's own (1e-4), so the loop is judged as it
# runs. Both are written into backtest.json, and every solve's status and gap into
# backtest_markets.csv.
_BACKTEST_TIME_LIMIT = 30.0
_BACKTEST_REL_GAP = 1e-4


def _words(text: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(",") if x.strip())


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``backtest`` sub-command on ``subparsers``."""
    cmd = subparsers.add_parser("backtest", help="run the monthly loop on a simulated market against an oracle")
    cmd.add_argument("--months", type=int, default=24, help="simulated months (default 24)")
    cmd.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    cmd.add_argument("--out", type=Path, default=Path("backtest"), help="output folder (default: backtest/)")
    cmd.add_argument("--policy", type=_words, default=POLICIES,
                     help=f"policies, comma-separated, from {','.join(POLICIES)} (default: all; the oracle always runs)")
    cmd.add_argument("--markets", type=_words, default=None, help="markets of volumes.csv, comma-separated (default: all)")
    cmd.add_argument("--data", type=Path, default=None, help="folder with catalog.csv, history.csv, ... (default: data/)")
    cmd.add_argument("--truth", type=Path, default=None,
                     help="the true demand model (default: ground_truth.json in --data)")
    cmd.add_argument("--config", type=Path, default=None, help="settings TOML (default: pricing/defaults.toml)")
    add_settings_flags(cmd)
    cmd.set_defaults(handler=run_backtest_command)
    return cmd


def run_backtest_command(args: argparse.Namespace) -> int:
    """Handler of ``python -m pricing backtest``; returns the exit code."""
    config = BacktestConfig(months=args.months, seed=args.seed, policies=tuple(args.policy))
    if args.buyers is not None:
        raise InputError("--buyers", "the backtest takes each market's car buyers from volumes.csv; "
                                     "drop --buyers or edit volumes.csv")
    settings = settings_from_args(args)
    settings = settings.replace(
        time_limit=_BACKTEST_TIME_LIMIT if args.time_limit is None else None,
        rel_gap=_BACKTEST_REL_GAP if args.rel_gap is None else None,
    )
    inputs = BacktestInputs.load(args.data, settings, args.truth)
    if args.markets:
        inputs = inputs.select_markets(args.markets)

    def progress(done: int, total: int) -> None:
        print(f"month {done}/{total} done", file=sys.stderr, flush=True)

    result = run_backtest(inputs, config, progress=progress)
    written = write_backtest(result, args.out)
    print(format_backtest(result.monthly))
    print("\nWrote " + ", ".join(str(p) for p in written))
    return EXIT_OK


def format_backtest(monthly: pd.DataFrame) -> str:
    """The terminal summary: per policy, margin against the oracle and the static sheet, regret,
    targets missed and churn (the app's table, :func:`pricing.app.backtest_view.policy_summary`)."""
    table = policy_summary(monthly)
    months = int(monthly["month_index"].max()) + 1
    lines = [f"Backtest over {months} months (true expected margin, all markets):",
             "  policy      margin, M CNY  % of oracle  vs static  regret, M CNY  below target  churn/bundle"]
    for row in table.to_dict("records"):
        vs_static = row["vs static, %"]
        lines.append(f"  {row['policy']:10s} {row['true expected margin, CNY'] / 1e6:13.2f}  "
                     f"{row['% of oracle']:10.2f}%  {vs_static:+8.2f}%  {row['regret, CNY'] / 1e6:13.2f}  "
                     f"{row['market-months below target']:12d}  {row['price changes per bundle-month']:12.2f}")
        if row["failed fits"] or row["offers kept (no solve)"]:
            lines.append(f"    {row['failed fits']} failed fits (previous model kept), {row['offers kept (no solve)']} "
                         "market-months without a new offer (previous offer kept)")
    return "\n".join(lines)
