"""``python -m pricing audit verify|show``: check and read the decision trail.

``verify`` exits 0 when the hash chain is intact and the approvals and users tables agree with
it, printing the head (sequence number and hash: keep it somewhere else, and pass it later as
``--anchor SEQ:HASH`` to prove the trail was not rewritten since); it exits 4 naming the first
broken entry otherwise. ``show`` prints the newest entries.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from models.errors import InputError
from pricing.access import default_store_dir, verify
from pricing.access.audit import entries
from pricing.access.database import STORE_FILE, connect
from pricing.cli.exit_codes import EXIT_OK, EXIT_TRAIL_BROKEN

__all__ = ["add_parser", "run_audit", "parse_anchor"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``audit`` sub-command on ``subparsers``."""
    parser = subparsers.add_parser("audit", help="verify or show the tamper-evident decision trail",
                                   description="The hash-chained trail of decisions and user changes.")
    parser.add_argument("--store", type=Path, default=None, help="store folder (default: $BUNDLE_PRICING_STORE or scenarios/)")
    actions = parser.add_subparsers(dest="action", required=True, parser_class=type(parser))
    check = actions.add_parser("verify", help="check the chain; exit 4 naming the first broken entry")
    check.add_argument("--anchor", default=None, metavar="SEQ:HASH", help="a head printed earlier that must still be there")
    show = actions.add_parser("show", help="print the newest entries")
    show.add_argument("--last", type=int, default=20, help="how many (default 20)")
    parser.set_defaults(handler=run_audit)
    return parser


def parse_anchor(text: str) -> tuple[int, str]:
    seq, _, digest = text.partition(":")
    if not seq.isdigit() or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise InputError("--anchor", f"must be SEQ:HASH as printed by audit verify, got {text[:80]!r}")
    return int(seq), digest


def run_audit(args: argparse.Namespace) -> int:
    """Handler of ``python -m pricing audit``; returns the exit code."""
    folder = Path(args.store) if args.store is not None else default_store_dir()
    if not (folder / STORE_FILE).is_file():
        raise InputError(str(folder / STORE_FILE), "no store file here (see --store)")
    if args.action == "show":
        if args.last < 1:
            raise InputError("--last", f"must be >= 1, got {args.last}")
        con = connect(folder)
        try:
            for e in reversed(entries(con, newest_first=True, limit=args.last)):
                print(f"{e.seq}\t{e.at}\t{e.actor}\t{e.kind}\t{e.subject}\t{e.hash[:12]}")
        finally:
            con.close()
        return EXIT_OK
    report = verify(folder, parse_anchor(args.anchor) if args.anchor else None)
    if report.intact:
        print(report.line())
        return EXIT_OK
    print(report.line(), file=sys.stderr)
    for more in report.mismatches[1:]:
        print(f"  also: {more}", file=sys.stderr)
    return EXIT_TRAIL_BROKEN
