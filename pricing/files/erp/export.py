"""One market's run folder exported as ERP price records: the library behind
``python -m pricing export`` and the app's export download.

:func:`export_run` refuses (:class:`pricing.files.erp.run_checks.ExportRefused`) unless the sheet is
approved for exactly its bytes and every recorded file still has its SHA-256; it returns the three
texts the export writes (records in the chosen format, the bundles' components, the records in
force after it) without writing anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from models.errors import InputError
from pricing.files.erp.records import ExportConfig, PriceRecord, apply, plan, records_csv
from pricing.files.erp.formats import FORMATS, components_csv, render
from pricing.files.erp.run_checks import approved_prices, check_run, period_start
from pricing.files.finance.rows import read_record, run_identifier

__all__ = ["RunExport", "export_run", "price_list_key"]


@dataclass(frozen=True)
class RunExport:
    """What an export of one run folder loads: ``records`` (create, update, end) in ``fmt``'s
    layout as ``records_text``, the bundles' SKUs (``components_text``) and every record of the
    price list after it, canonical (``in_force_text``: next period's ``--in-force``)."""

    config: ExportConfig
    fmt: str
    records: tuple[PriceRecord, ...]
    records_text: str
    components_text: str
    in_force_text: str

    def counts(self) -> dict[str, int]:
        return {a: sum(r.action == a for r in self.records) for a in ("create", "update", "end")}


def price_list_key(market: str) -> str:
    """The default price-list key of a market: ``BUNDLES-<MARKET>`` (letters and digits)."""
    return "BUNDLES-" + (re.sub(r"[^A-Z0-9]+", "-", market.upper()).strip("-") or "MARKET")


def export_run(run_dir: Path, fmt: str, valid_from: str | None = None, in_force: Sequence[PriceRecord] = (),
               open_ended: bool = False, price_list: str | None = None, market: str | None = None) -> RunExport:
    """The export of ``run_dir`` (one market's folder: ``price_sheet.csv``, ``run.json``,
    ``approval.json``) in ``fmt`` (:data:`FORMATS`), against the records ``in_force``.

    Raises
    ------
    ExportRefused
        Not approved (draft, rejected), or a file changed after it was recorded or approved.
    InputError
        Not a run folder, an unknown format, a bad ``valid_from``, an overlap with ``in_force``.
    """
    run_dir = Path(run_dir)
    if fmt not in FORMATS:
        raise InputError("--format", f"must be one of {', '.join(sorted(FORMATS))}, got {fmt!r}")
    if not run_dir.is_dir():
        raise InputError(str(run_dir), "run folder not found")
    record = read_record(run_dir / "run.json")
    check_run(run_dir, record)
    market = market or str(record.get("market") or run_dir.resolve().name)
    config = ExportConfig(price_list=price_list or price_list_key(market), market=market,
                          valid_from=period_start(run_dir, record, valid_from), run_id=run_identifier(record),
                          currency=str(record.get("currency") or "CNY"), open_ended=open_ended)
    prices = approved_prices(run_dir, config.currency)
    records = plan(prices, list(in_force), config)
    ledger = apply(list(in_force), records)  # refuses an overlap before anything is written
    return RunExport(config, fmt, tuple(records), render(records, config, fmt), components_csv(prices, config),
                     records_csv(ledger))
