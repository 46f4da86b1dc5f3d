"""``python -m pricing export``: an approved run's prices as ERP price records with effective dates.

Writes ``--out FILE`` (the records, in the chosen format) with two companions beside it:
``<stem>.components.csv`` (each bundle's SKUs) and ``<stem>.in_force.csv`` (every record of the
price list after this export, in the canonical layout: pass it as ``--in-force`` next period).
All three land together or none does; a refusal writes nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from models.errors import InputError
from pricing.cli.exit_codes import EXIT_BAD_INPUT, EXIT_OK
from pricing.files.atomic import write_outputs
from pricing.files.erp.records import read_records
from pricing.files.erp.export import export_run
from pricing.files.erp.formats import FORMATS
from pricing.files.erp.run_checks import ExportRefused

__all__ = ["add_parser", "run_export", "companion_paths"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``export`` sub-command on ``subparsers``."""
    cmd = subparsers.add_parser("export", help="write an approved run's prices as ERP price records")
    cmd.add_argument("--run", type=Path, required=True, help="one market's run folder (price_sheet.csv, run.json)")
    cmd.add_argument("--format", choices=sorted(FORMATS), required=True, help="csv, sap, odoo or d365")
    cmd.add_argument("--out", type=Path, required=True, help="file to write the records to")
    cmd.add_argument("--valid-from", default=None, help="first day the prices apply, YYYY-MM-DD "
                                                        "(default: the first day of the run's period)")
    cmd.add_argument("--in-force", type=Path, default=None,
                     help="records in force: the .in_force.csv the previous export wrote (default: none)")
    cmd.add_argument("--open-ended", action="store_true", help="records run until changed, not to the month's end")
    cmd.add_argument("--price-list", default=None, help="price-list key (default: BUNDLES-<MARKET>)")
    cmd.add_argument("--market", default=None, help="market (default: run.json's market, else the folder's name)")
    cmd.set_defaults(handler=run_export)
    return cmd


def companion_paths(out: Path) -> tuple[Path, Path]:
    """(components file, records-in-force file) written beside ``out``."""
    stem = out.name[: -len(out.suffix)] if out.suffix else out.name
    return out.with_name(f"{stem}.components.csv"), out.with_name(f"{stem}.in_force.csv")


def run_export(args: argparse.Namespace) -> int:
    """Handler of ``python -m pricing export``; returns the exit code."""
    in_force = read_records(args.in_force) if args.in_force else []
    try:
        done = export_run(Path(args.run), args.format, args.valid_from, in_force, args.open_ended, args.price_list,
                          args.market)
    except ExportRefused as exc:
        print(f"export refused: {exc}; nothing written", file=sys.stderr)
        return EXIT_BAD_INPUT
    out = Path(args.out)
    components, in_force_path = companion_paths(out)
    if len({out.resolve(), components.resolve(), in_force_path.resolve()}) < 3 or \
            (args.in_force and Path(args.in_force).resolve() == out.resolve()):
        raise InputError("--out", f"{out.name} would overwrite the export's own companion or input file")
    texts = {out.name: done.records_text, components.name: done.components_text, in_force_path.name: done.in_force_text}
    write_outputs(out.parent, {name: (lambda p, t=text: p.write_bytes(t.encode("utf-8"))) for name, text in texts.items()})
    counts = done.counts()
    print(f"{len(done.records)} record(s) for {done.config.price_list} from {done.config.valid_from} "
          f"({counts['create']} create, {counts['update']} update, {counts['end']} end); "
          f"wrote {out}, {components.name}, {in_force_path.name}")
    return EXIT_OK
