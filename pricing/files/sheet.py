"""The price sheet finance reads: one row per bundle, written as CSV and XLSX, plus ``run.json``.

Every text cell is safe from spreadsheet formula injection; ``pricing.files.atomic`` writes the
files all or none.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from pricing.domain.catalog import Catalog
from pricing.domain.last_sheet import SHEET_COLUMNS
from pricing.files.cells import neutralize_formula
from pricing.domain.offer import Offer, OfferFigures

__all__ = ["SHEET_COLUMNS", "PriceSheet"]

_TEXT_COLUMNS = ("bundle_id", "name", "skus")
_MONEY_COLUMNS = ("list_total", "price", "unit_cost_total", "unit_margin", "incremental_margin",
                  "expected_margin", "last_price")


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

    def write_xlsx(self, path: Path, summary: Mapping[str, Any], settings: Mapping[str, Any]) -> None:
        """Bundle sheet (money formatted), summary, elasticities and the run's settings.

        Strings are written as strings (never formulas or links), and text that a spreadsheet
        would read as a formula keeps a leading apostrophe, as in the CSV.
        """
        import xlsxwriter  # only here: the library call and the app never need it before a download

        options = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
        with xlsxwriter.Workbook(str(path), options) as book:
            money = book.add_format({"num_format": "#,##0.00 [$CNY]"})
            pct = book.add_format({"num_format": "0.00"})
            share = book.add_format({"num_format": "0.00%"})
            bold = book.add_format({"bold": True})
            sheet = book.add_worksheet("Price sheet")
            for j, col in enumerate(SHEET_COLUMNS):
                sheet.write_string(0, j, col, bold)
            for i, row in enumerate(self.frame.itertuples(index=False), start=1):
                for j, (col, value) in enumerate(zip(SHEET_COLUMNS, row)):
                    if col in _TEXT_COLUMNS:
                        sheet.write_string(i, j, str(neutralize_formula(value)))
                    elif value is None or (isinstance(value, float) and math.isnan(value)):
                        sheet.write_blank(i, j, None)
                    else:
                        fmt = money if col in _MONEY_COLUMNS else share if col == "take_rate" else \
                            pct if col.endswith("_pct") else None
                        sheet.write_number(i, j, float(value), fmt)
            sheet.set_column(0, 0, 9)
            sheet.set_column(1, 1, 60)
            sheet.set_column(2, 2, 48)
            sheet.set_column(3, len(SHEET_COLUMNS) - 1, 16)
            sheet.freeze_panes(1, 2)

            summary_sheet = book.add_worksheet("Summary")
            _write_pairs(summary_sheet, summary, bold, money)
            elastic = book.add_worksheet("Elasticities")
            elastic.set_column(0, 0, 34)
            row = 0
            for segment in (None, *self.figures.segment_names):
                title = "All buyers (weighted by takers)" if segment is None else f"Segment {segment}"
                elastic.write_string(row, 0, str(neutralize_formula(title)), bold)
                row = _write_matrix(elastic, row + 1, self.elasticity_table(segment), bold) + 1
            settings_sheet = book.add_worksheet("Settings")
            flat = {f"{section}.{key}": value for section, body in settings.items() for key, value in body.items()}
            _write_pairs(settings_sheet, flat, bold, None)


def _one_kind_of_line_break(value: object) -> object:
    # The csv module quotes a field only for line breaks of its own terminator ("\n"); a bare
    # "\r" would go out unquoted and split the row (and start a new cell) in a spreadsheet.
    if isinstance(value, str):
        return value.replace("\r\n", "\n").replace("\r", "\n")
    return value


def _write_matrix(sheet, row: int, table: pd.DataFrame, bold) -> int:
    """Write ``table`` with its labels from ``row``; return the first row after it."""
    sheet.write_string(row, 0, "take rate of \\ price of", bold)
    for j, col in enumerate(table.columns, start=1):
        sheet.write_string(row, j, str(neutralize_formula(col)), bold)
    for i, (idx, values) in enumerate(table.iterrows(), start=row + 1):
        sheet.write_string(i, 0, str(neutralize_formula(idx)), bold)
        for j, value in enumerate(values, start=1):
            sheet.write_number(i, j, float(value))
    return row + 1 + len(table)


def _write_pairs(sheet, pairs: Mapping[str, Any], bold, money) -> None:
    sheet.set_column(0, 0, 34)
    sheet.set_column(1, 1, 28)
    for i, (key, value) in enumerate(pairs.items()):
        sheet.write_string(i, 0, str(neutralize_formula(key)), bold)
        if isinstance(value, bool) or value is None:
            sheet.write_string(i, 1, "" if value is None else str(value).lower())
        elif isinstance(value, (int, float, np.floating, np.integer)):
            is_money = money is not None and ("margin" in key or "revenue" in key) and "rate" not in key
            sheet.write_number(i, 1, float(value), money if is_money else None)
        else:
            text = ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
            sheet.write_string(i, 1, str(neutralize_formula(text)))
