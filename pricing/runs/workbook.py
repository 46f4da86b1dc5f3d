"""The month's workbook for finance: a summary sheet, then one sheet per market with its bundles.

Simple and correct: numbers stored as numbers (money as CNY, rates as %), text cells safe from
formula injection, written aside and renamed. (A later issue adds the cover, changes and
exceptions sheets of the spec.)
"""

from __future__ import annotations

import io
import math
import re
from pathlib import Path
from typing import Any

import pandas as pd
import xlsxwriter

from pricing.domain.last_sheet import SHEET_COLUMNS
from pricing.files.atomic import write_outputs
from pricing.files.cells import neutralize_formula

__all__ = ["write_finance_workbook", "SUMMARY_COLUMNS"]

SUMMARY_COLUMNS = (
    ("market", "Market", None), ("status", "Status", None), ("buyers", "Car buyers", "count"),
    ("attach_rate", "Attach rate", "share"), ("attach_target", "Attach target", "share"),
    ("margin", "Incremental IoT margin (CNY/month)", "money"), ("total_margin", "IoT gross margin (CNY/month)", "money"),
    ("margin_rate", "IoT margin rate", "share"), ("proven_optimal", "Proven optimal", None),
    ("gap", "Gap", "share"), ("message", "What happened", None),
)
_MONEY = {"list_total", "price", "unit_cost_total", "unit_margin", "incremental_margin", "expected_margin", "last_price"}
_TEXT = {"bundle_id", "name", "skus"}
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def write_finance_workbook(path: Path, month: str, markets: list[dict[str, Any]], sheets: dict[str, str]) -> Path:
    """Write ``path`` (all or nothing).

    Parameters
    ----------
    month : ``YYYY-MM``.
    markets : one dict per market with the keys of :data:`SUMMARY_COLUMNS` (missing ones blank).
    sheets : market -> the text of its ``price_sheet.csv`` (markets without a sheet are absent).
    """
    write_outputs(path.parent, {path.name: lambda p: _write(p, month, markets, sheets)})
    return path


def _write(path: Path, month: str, markets: list[dict[str, Any]], sheets: dict[str, str]) -> None:
    options = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    with xlsxwriter.Workbook(str(path), options) as book:
        formats = {
            "money": book.add_format({"num_format": "#,##0 [$CNY]"}),
            "share": book.add_format({"num_format": "0.00%"}),
            "count": book.add_format({"num_format": "#,##0"}),
            "pct": book.add_format({"num_format": "0.00"}),
            "bold": book.add_format({"bold": True}),
        }
        summary = book.add_worksheet("Summary")
        summary.write_string(0, 0, f"Bundle prices for {month}: every market", formats["bold"])
        for j, (_key, label, _kind) in enumerate(SUMMARY_COLUMNS):
            summary.write_string(2, j, label, formats["bold"])
        for i, market in enumerate(markets, start=3):
            for j, (key, _label, kind) in enumerate(SUMMARY_COLUMNS):
                _cell(summary, i, j, market.get(key), formats.get(kind) if kind else None)
        summary.set_column(0, 1, 18)
        summary.set_column(2, len(SUMMARY_COLUMNS) - 2, 16)
        summary.set_column(len(SUMMARY_COLUMNS) - 1, len(SUMMARY_COLUMNS) - 1, 80)
        summary.freeze_panes(3, 1)
        used = {"summary"}
        for market, text in sheets.items():
            _market_sheet(book, _sheet_name(market, used), market, text, formats)


def _market_sheet(book, name: str, market: str, text: str, formats: dict[str, Any]) -> None:
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    sheet = book.add_worksheet(name)
    sheet.write_string(0, 0, str(neutralize_formula(f"Market: {market}")), formats["bold"])
    columns = [c for c in SHEET_COLUMNS if c in frame.columns]
    for j, col in enumerate(columns):
        sheet.write_string(2, j, col, formats["bold"])
    for i, row in enumerate(frame[columns].itertuples(index=False), start=3):
        for j, (col, value) in enumerate(zip(columns, row)):
            if col in _TEXT:
                sheet.write_string(i, j, str(neutralize_formula(value.lstrip("'") if value.startswith("'") else value)))
                continue
            number = _number(value)
            kind = "money" if col in _MONEY else "share" if col == "take_rate" else "pct" if col.endswith("_pct") else None
            _cell(sheet, i, j, number, formats.get(kind) if kind else None)
    sheet.set_column(0, 0, 9)
    sheet.set_column(1, 1, 50)
    sheet.set_column(2, 2, 44)
    sheet.set_column(3, len(columns) - 1, 14)
    sheet.freeze_panes(3, 2)


def _cell(sheet, row: int, col: int, value: Any, fmt) -> None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        sheet.write_blank(row, col, None)
    elif isinstance(value, bool):
        sheet.write_string(row, col, "yes" if value else "no")
    elif isinstance(value, (int, float)):
        sheet.write_number(row, col, float(value), fmt)
    else:
        sheet.write_string(row, col, str(neutralize_formula(str(value))))


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _sheet_name(market: str, used: set[str]) -> str:
    """A valid, unique sheet name (31 characters at most, none of ``[]:*?/\\``)."""
    base = _BAD_SHEET_CHARS.sub("_", market).strip("'") or "market"
    base = base[:31]
    name, k = base, 2
    while name.lower() in used:
        suffix = f" ({k})"
        name, k = base[: 31 - len(suffix)] + suffix, k + 1
    used.add(name.lower())
    return name
