"""Command line: ``python -m pricing optimize|fit ...``.

Exit codes: 0 a sheet (or model) was written; 2 bad input or usage, one line, nothing written;
3 the attach target cannot be reached; 1 anything unexpected (with a traceback: that is ours).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from models.errors import InputError
from pricing import fit_command
from pricing.optimize import InfeasibleTarget, optimize
from pricing.problem import Problem
from pricing.report import format_summary, summary, write_run
from pricing.settings import Settings

__all__ = ["main", "build_parser", "EXIT_OK", "EXIT_UNEXPECTED", "EXIT_BAD_INPUT", "EXIT_TARGET_UNREACHABLE"]

EXIT_OK, EXIT_UNEXPECTED, EXIT_BAD_INPUT, EXIT_TARGET_UNREACHABLE = 0, 1, 2, 3


class UsageError(Exception):
    """Bad command-line usage: reported in one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, as the spec asks
        raise UsageError(f"{self.prog}: {message} (see --help)")


def _csv_floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") from None


def _csv_words(text: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(",") if x.strip())


def add_settings_flags(parser: argparse.ArgumentParser) -> None:
    """Flags that override the TOML settings, one per key."""
    g = parser.add_argument_group("settings (override the --config file)")
    g.add_argument("--attach-target", type=float, dest="attach_rate", help="share of car buyers, e.g. 0.15")
    g.add_argument("--bundles", type=int, dest="max_bundles", help="bundles offered, at most")
    g.add_argument("--buyers", type=float, help="car buyers a month")
    g.add_argument("--min-items", type=int, help="SKUs per bundle, at least")
    g.add_argument("--max-items", type=int, help="SKUs per bundle, at most")
    g.add_argument("--required-zones", type=_csv_words, help="e.g. car,home; '' for none")
    g.add_argument("--any-category-mix", action="store_const", const=False, dest="one_per_category",
                   help="allow two SKUs of one category in a bundle")
    g.add_argument("--pin", action="append", dest="pinned", metavar="SKU", help="SKU that must be offered (repeatable)")
    g.add_argument("--ban", action="append", dest="banned", metavar="SKU", help="SKU never offered (repeatable)")
    g.add_argument("--discounts", type=_csv_floats, help="ladder, e.g. 0.05,0.10,0.15")
    g.add_argument("--rounding", choices=("none", "charm"))
    g.add_argument("--min-margin", type=float, help="(price - cost) / price, at least")
    g.add_argument("--max-change", type=float, help="largest move against the last approved price")
    g.add_argument("--time-limit", type=float, help="seconds for the solve, after candidates and pruning")
    g.add_argument("--rel-gap", type=float, help="proven relative gap")


_SETTING_KEYS = ("attach_rate", "max_bundles", "buyers", "min_items", "max_items", "required_zones",
                 "one_per_category", "pinned", "banned", "discounts", "rounding", "min_margin", "max_change",
                 "time_limit", "rel_gap")


def settings_from_args(args: argparse.Namespace) -> Settings:
    base = Settings.from_toml(args.config)
    changes = {k: getattr(args, k, None) for k in _SETTING_KEYS}
    if changes.get("required_zones") is None and getattr(args, "required_zones", None) == ():
        changes["required_zones"] = ()
    if all(v is None for v in changes.values()):
        return base
    # A value that breaks a rule now came from a flag: say so rather than blame the TOML file.
    return base.replace(source=f"command-line flags (over {base.source})", **changes)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m pricing", description="Bundle pricing optimizer for SU7 car buyers.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    opt = sub.add_parser("optimize", help="choose the bundles and prices; write the price sheet and run.json")
    opt.add_argument("--data", type=Path, default=None, help="folder with catalog.csv, model.json, ... (default: data/)")
    opt.add_argument("--config", type=Path, default=None, help="settings TOML (default: pricing/defaults.toml)")
    opt.add_argument("--out", type=Path, default=Path("out"), help="output folder (default: out/)")
    add_settings_flags(opt)
    opt.set_defaults(handler=_cmd_optimize)
    fit_command.add_parser(sub)
    return parser


def _cmd_optimize(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    problem = Problem.load(args.data, settings)
    try:
        result = optimize(problem)
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


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return int(args.handler(args))
    except UsageError as exc:
        print(f"usage error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except InputError as exc:
        print(f"bad input: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted; nothing was written", file=sys.stderr)
        return EXIT_UNEXPECTED
