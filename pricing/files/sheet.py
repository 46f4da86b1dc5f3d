"""The price sheet finance reads: one row per bundle, written as CSV and XLSX, plus ``run.json``.

Every text cell is safe from spreadsheet formula injection; ``pricing.files.atomic`` writes the
files all or none.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from pricing.domain.catalog import Catalog
from pricing.domain.last_sheet import SHEET_COLUMNS
from pricing.files.cells import neutralize_formula
from pricing.domain.offer import Offer, OfferFigures

__all__ = ["SHEET_COLUMNS", "PriceSheet"]

_TEXT_COLUMNS = ("bundle_id", "name", "skus")


class PriceSheet:
    """The rows of a price sheet, built from an offer and its figures.

    ``frame`` holds one row per bundle with :data:`SHEET_COLUMNS`; money in CNY, ``*_pct`` in
    percent, ``take_rate`` as a share of all car buyers, ``expected_*`` per month.
    """

    def __init__(self, offer: Offer, figures: OfferFigures, catalog: Catalog):
        names = dict(zip(catalog.skus, catalog.names))
        rows = []
        for b, bundle in enumerate(offer.bundles):
            price = figures.prices[b]
            last = bundle.last_price
            rows.append({
                "bundle_id": f"B{b + 1}",
                "name": " + ".join(names[s] for s in bundle.skus),
                "skus": "|".join(bundle.skus),
                "items": len(bundle.skus),
                "list_total": round(float(figures.list_total[b]), 2),
                "price": round(float(price), 2),
                "discount_pct": round(100.0 * (1.0 - price / figures.list_total[b]), 2),
                "unit_cost_total": round(float(figures.unit_cost_total[b]), 2),
                "unit_margin": round(float(figures.unit_margin[b]), 2),
                "margin_pct": round(100.0 * figures.unit_margin[b] / price, 2),
                "incremental_margin": round(float(figures.incremental_margin[b]), 2),
                "take_rate": round(float(figures.take_rate_overall[b]), 6),
                "expected_units": round(float(figures.expected_units[b]), 1),
                "expected_margin": round(float(figures.expected_margin[b]), 2),
                "elasticity": round(float(figures.own_elasticity_overall[b]), 4),
                "last_price": None if last is None else round(float(last), 2),
                "change_pct": None if last is None else round(100.0 * (price - last) / last, 2),
            })
        self.frame = pd.DataFrame(rows, columns=list(SHEET_COLUMNS))
        self.figures = figures
        self.offer = offer

    def elasticity_table(self, segment: str | None = None) -> pd.DataFrame:
        """Own- and cross-price elasticities: row ``b``, column ``a`` is the elasticity of bundle
        ``b``'s take rate to bundle ``a``'s price (own on the diagonal). Overall (weighted by each
        segment's takers of ``b``) unless ``segment`` names one."""
        ids = list(self.frame["bundle_id"])
        if segment is None:
            values = self.figures.cross_elasticity_overall
        else:
            values = self.figures.cross_elasticity[:, :, self.figures.segment_names.index(segment)]
        return pd.DataFrame(values, index=ids, columns=ids)

    def to_csv_text(self) -> str:
        import io

        buffer = io.StringIO()
        safe = self.frame.copy()
        for col in _TEXT_COLUMNS:
            safe[col] = safe[col].map(neutralize_formula).map(_one_kind_of_line_break)
        safe.to_csv(buffer, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        return buffer.getvalue()

    def write_csv(self, path: Path) -> None:
        path.write_text(self.to_csv_text(), encoding="utf-8")

    def write_xlsx(self, path: Path, summary: Mapping[str, Any], settings: Mapping[str, Any],
                   market: str = "All SU7 buyers") -> None:
        """This sheet as the finance workbook (one market, draft), from its headline figures
        (``run_record.summary``) and settings; prices in force from the sheet's ``last_price``.

        ``run_record.write_workbook`` is the fuller form (input hashes, withdrawn bundles).
        """
        # Imported here: the workbook's rows are built from PriceSheet, so it imports this module.
        from pricing.files.approval import ApprovalState
        from pricing.files.finance.rows import MarketResult, RunInfo
        from pricing.files.finance.workbook import write_finance_workbook

        tables = [("All buyers (weighted by takers)", self.elasticity_table())]
        tables += [(f"Segment {name}", self.elasticity_table(name)) for name in self.figures.segment_names]
        record = {**summary, "settings": dict(settings)}
        market_result = MarketResult(market, self.frame, record, None, tuple(tables))
        write_finance_workbook(Path(path), [market_result], RunInfo.from_record(record), ApprovalState())


def _one_kind_of_line_break(value: object) -> object:
    # The csv module quotes a field only for line breaks of its own terminator ("\n"); a bare
    # "\r" would go out unquoted and split the row (and start a new cell) in a spreadsheet.
    if isinstance(value, str):
        return value.replace("\r\n", "\n").replace("\r", "\n")
    return value
