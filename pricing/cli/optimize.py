"""``python -m pricing optimize``: choose the bundles and prices; write the price sheet and ``run.json``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pricing.cli.exit_codes import EXIT_OK, EXIT_TARGET_UNREACHABLE, EXIT_UNEXPECTED
from pricing.cli.settings_flags import add_settings_flags, settings_from_args
from pricing.domain.problem import Problem
from pricing.files.run_record import format_summary, summary, write_run
from pricing.optimizer.optimize import GoalsOutOfReach, InfeasibleTarget, optimize

__all__ = ["add_parser", "run_optimize"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``optimize`` sub-command on ``subparsers``."""
    opt = subparsers.add_parser("optimize", help="choose the bundles and prices; write the price sheet and run.json")
    opt.add_argument("--data", type=Path, default=None, help="folder with catalog.csv, model.json, ... (default: data/)")
    opt.add_argument("--config", type=Path, default=None, help="settings TOML (default: pricing/defaults.toml)")
    opt.add_argument("--out", type=Path, default=Path("out"), help="output folder (default: out/)")
    add_settings_flags(opt)
    opt.set_defaults(handler=run_optimize)
    return opt


def run_optimize(args: argparse.Namespace) -> int:
    """Handler of ``python -m pricing optimize``; returns the exit code."""
    settings = settings_from_args(args)
    problem = Problem.load(args.data, settings)
    try:
        result = optimize(problem)
    except GoalsOutOfReach as exc:
        print(f"goal unreachable: {exc}", file=sys.stderr)
        return EXIT_TARGET_UNREACHABLE
    except InfeasibleTarget as exc:
        print(f"target unreachable: {exc}", file=sys.stderr)
        return EXIT_TARGET_UNREACHABLE
    if not result.status.is_ok:
        print(f"no offer: the solver stopped with status {result.status.value} and no feasible offer "
              f"after {result.diagnostics.get('solve_seconds', 0):.1f} s; nothing written "
              f"(a longer --time-limit may help)", file=sys.stderr)
        return EXIT_UNEXPECTED
    headline = summary(result)
    written = write_run(result, args.out, headline=headline)
    print(format_summary(result, headline))
    print("\nWrote " + ", ".join(str(p) for p in written))
    return EXIT_OK
