"""``python -m pricing optimize``: choose the bundles and prices; write the price sheet and ``run.json``.

Every input is read and checked before any work (``Problem.load``: catalog, model, last sheet,
volumes, and the candidate space against its documented limits). ``time_limit`` holds for the
whole command: its clock starts here, and every solve gets what is left of it
(:mod:`pricing.optimizer.budget`), so the command ends within the limit plus the seconds the
files take to write, and says honestly whether the answer was proven.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from models.errors import InputError, clip
from pricing.cli.exit_codes import EXIT_OK, EXIT_TARGET_UNREACHABLE, EXIT_UNEXPECTED
from pricing.cli.settings_flags import add_settings_flags, os_user, settings_from_args
from pricing.domain.problem import Problem
from pricing.files.atomic import clear_leftovers
from pricing.files.run_record import format_summary, summary, write_run
from pricing.optimizer.budget import command_deadline
from pricing.optimizer.optimize import GoalsOutOfReach, InfeasibleTarget, optimize
from pricing.optimizer.status import SolveStatus

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
    started = time.time()
    settings = settings_from_args(args)
    problem = Problem.load(args.data, command_deadline(settings, started))
    _check_out(args.out)
    try:
        result = optimize(problem)
    except GoalsOutOfReach as exc:
        print(f"goal unreachable: {exc}", file=sys.stderr)
        return EXIT_TARGET_UNREACHABLE
    except InfeasibleTarget as exc:
        print(f"target unreachable: {exc}", file=sys.stderr)
        return EXIT_TARGET_UNREACHABLE
    if not result.status.is_ok:
        seconds = time.time() - started
        hint = (f"no feasible offer was found within the {settings.time_limit:g} s time limit "
                "(a longer --time-limit may help)") if result.status is SolveStatus.NO_SOLUTION else \
            "the solver failed on this problem"
        print(f"no offer: status {result.status.value} after {seconds:.1f} s; {hint}; nothing written", file=sys.stderr)
        return EXIT_UNEXPECTED
    headline = summary(result)
    written = write_run(result, args.out, headline=headline, run_by=os_user())
    print(format_summary(result, headline))
    print("\nWrote " + ", ".join(str(p) for p in written))
    return EXIT_OK


def _check_out(out: Path) -> None:
    """The output folder must be a folder we may write (or be creatable); clear what killed runs left there."""
    if out.exists() and not out.is_dir():
        raise InputError("--out", f"must be a folder for the price sheet and run.json, got the file {clip(str(out))}")
    existing = next((p for p in (out, *out.absolute().parents) if p.exists()), None)
    if existing is None or not os.access(existing, os.W_OK | os.X_OK):
        raise InputError("--out", f"cannot write into {clip(str(existing or out))} (permission denied)")
    clear_leftovers(out)
