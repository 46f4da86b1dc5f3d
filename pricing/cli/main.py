"""Command line: ``python -m pricing COMMAND ...``, one module per command in this package.

Exit codes (``pricing.cli.exit_codes``): 0 a sheet (or model) was written; 2 bad input or usage,
one line, nothing written; 3 the attach target cannot be reached; 1 anything unexpected (with a
traceback: that is ours).
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from models.errors import InputError
from pricing.access.roles import AccessDenied
from pricing.cli import audit as audit_command
from pricing.cli import export as export_command
from pricing.cli import backtest as backtest_command
from pricing.cli import fit as fit_command
from pricing.cli import monthly as monthly_command
from pricing.cli import optimize as optimize_command
from pricing.cli import users as users_command
from pricing.cli.exit_codes import EXIT_BAD_INPUT, EXIT_OK, EXIT_TARGET_UNREACHABLE, EXIT_UNEXPECTED

__all__ = ["main", "build_parser", "EXIT_OK", "EXIT_UNEXPECTED", "EXIT_BAD_INPUT", "EXIT_TARGET_UNREACHABLE"]


class UsageError(Exception):
    """Bad command-line usage: reported in one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, as the spec asks
        raise UsageError(f"{self.prog}: {message} (see --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m pricing", description="Bundle pricing optimizer for SU7 car buyers.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for command in (optimize_command, fit_command, monthly_command, backtest_command, export_command, users_command,
                    audit_command):
        command.add_parser(sub)
    return parser


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
    except AccessDenied as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted; nothing was written", file=sys.stderr)
        return EXIT_UNEXPECTED
