"""Command line: ``python -m pricing COMMAND ...``, one module per command in this package.

Exit codes (``pricing.cli.exit_codes``): 0 a sheet (or model) was written; 2 bad input or usage,
one line, nothing written; 3 the attach target cannot be reached; 1 anything unexpected (with a
traceback: that is ours).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from models.errors import InputError
from pricing.access.roles import AccessDenied
from pricing.cli.exit_codes import EXIT_BAD_INPUT, EXIT_OK, EXIT_TARGET_UNREACHABLE, EXIT_UNEXPECTED

__all__ = ["main", "build_parser", "COMMANDS", "EXIT_OK", "EXIT_UNEXPECTED", "EXIT_BAD_INPUT",
           "EXIT_TARGET_UNREACHABLE"]

# Each command and its module (``add_parser`` registers it). A run imports only its own command's
# module: ``optimize`` loads neither the ERP export, the accounts nor Dask.
COMMANDS = {name: f"pricing.cli.{name}" for name in
            ("optimize", "fit", "monthly", "backtest", "export", "users", "audit")}


class UsageError(Exception):
    """Bad command-line usage: reported in one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, as the spec asks
        raise UsageError(f"{self.prog}: {message} (see --help)")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or of the command ``only`` alone (what a run needs)."""
    parser = _Parser(prog="python -m pricing", description="Bundle pricing optimizer for SU7 car buyers.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, module in COMMANDS.items():
        if only is None or name == only:
            importlib.import_module(module).add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        argv = list(sys.argv[1:] if argv is None else argv)
        chosen = argv[0] if argv and argv[0] in COMMANDS else None  # otherwise every command, for the help
        args = build_parser(chosen).parse_args(argv)
        return int(args.handler(args))
    except UsageError as exc:
        print(f"usage error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except InputError as exc:
        print(f"bad input: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except AccessDenied as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted; nothing was written", file=sys.stderr)
        return EXIT_UNEXPECTED
