"""Cell styles and print setup shared by every sheet of the finance workbook."""

from __future__ import annotations

import math
from typing import Any

from pricing.files.cells import neutralize_formula

__all__ = ["Styles", "print_setup", "safe", "number_formats", "row_height"]

A4 = 9  # Excel's paper code for A4


def number_formats(currency: str) -> dict[str, str]:
    """Excel number formats by style name: money carries its currency code, rates are fractions
    shown as %, changes carry their sign."""
    cur = currency.replace('"', "")
    return {
        "money": f'#,##0.00 "{cur}"',
        "signed_money": f'+#,##0.00 "{cur}";-#,##0.00 "{cur}";0.00 "{cur}"',
        "pct": "0.00%",
        "pct1": "0.0%",
        "signed_pct": "+0.00%;-0.00%;0.00%",
        "units": "#,##0",
        "units1": "#,##0.0",
        "points": '+0.00 "pts";-0.00 "pts";0.00 "pts"',
        "number": "#,##0.00",
        "devices": "0.000",
        "elasticity": "0.00",
        "share": "0.0000%",
        "count": "0",
    }


class Styles:
    """The workbook's cell formats, made once per workbook, looked up by name."""

    def __init__(self, book: Any, currency: str):
        base = {"font_name": "Arial", "font_size": 10, "valign": "top"}
        self._formats = {
            # A one-step indent keeps left-aligned text off the right-aligned number beside it.
            "text": book.add_format({**base, "indent": 1}),
            "wrap": book.add_format({**base, "text_wrap": True, "indent": 1}),
            "bold": book.add_format({**base, "bold": True}),
            "title": book.add_format({**base, "bold": True, "font_size": 14}),
            "banner": book.add_format({**base, "bold": True, "font_size": 16, "font_color": "#9C0006"}),
            "banner_ok": book.add_format({**base, "bold": True, "font_size": 16, "font_color": "#006100"}),
            "note": book.add_format({**base, "italic": True, "font_color": "#555555"}),
            "section": book.add_format({**base, "bold": True, "font_size": 12, "bottom": 1}),
            "header": book.add_format({**base, "bold": True, "text_wrap": True, "bg_color": "#DDEBF7",
                                       "bottom": 1, "valign": "bottom", "indent": 1}),
            "header_right": book.add_format({**base, "bold": True, "text_wrap": True, "bg_color": "#DDEBF7",
                                             "bottom": 1, "valign": "bottom", "align": "right"}),
            "label": book.add_format({**base, "bold": True, "text_wrap": True}),
            "mono": book.add_format({**base, "font_name": "Courier New", "font_size": 9}),
            "total_text": book.add_format({**base, "bold": True, "top": 1}),
            "right": book.add_format({**base, "align": "right"}),
            "bold_right": book.add_format({**base, "bold": True, "align": "right"}),
            "note_right": book.add_format({**base, "italic": True, "font_color": "#555555", "align": "right"}),
            "section_right": book.add_format({**base, "bold": True, "font_size": 12, "bottom": 1, "align": "right"}),
        }
        for name, code in number_formats(currency).items():
            self._formats[name] = book.add_format({**base, "num_format": code})
        formats = number_formats(currency)
        self._formats["total_units"] = book.add_format({**base, "bold": True, "top": 1, "num_format": formats["units"]})
        self._formats["total_units1"] = book.add_format({**base, "bold": True, "top": 1,
                                                         "num_format": formats["units1"]})
        self._formats["total_money"] = book.add_format({**base, "bold": True, "top": 1, "num_format": formats["money"]})

    def __getitem__(self, name: str) -> Any:
        return self._formats[name]

    def write(self, sheet: Any, row: int, col: int, value: Any, style: str) -> None:
        """Write a number as a number in ``style``, text as formula-safe text, None as blank."""
        fmt = self._formats[style]
        if value is None or (isinstance(value, float) and math.isnan(value)):
            sheet.write_blank(row, col, None, fmt)
        elif isinstance(value, bool):
            sheet.write_string(row, col, "yes" if value else "no", fmt)
        elif isinstance(value, (int, float)):
            sheet.write_number(row, col, float(value), fmt)
        else:
            sheet.write_string(row, col, safe(value), fmt)


def row_height(cells: list[tuple[str, float]], line_height: float = 12.75) -> float:
    """Points a row needs to show wrapped text: ``cells`` pairs each text with its column's
    width (in characters). Spreadsheets do not grow rows a writer sized, so the writer does."""
    lines = 1
    for text, width in cells:
        per_line = max(int(width * 1.3) - 1, 1)  # Arial 10 fits about 1.3 characters per unit of width
        needed = sum(max(1, math.ceil(len(part) / per_line)) for part in str(text).split("\n"))
        lines = max(lines, needed)
    return lines * line_height


def safe(value: Any) -> str:
    """Text no spreadsheet runs as a formula (a leading apostrophe where needed)."""
    return str(neutralize_formula(str(value)))


def print_setup(sheet: Any, header: str, run_id: str) -> None:
    """Landscape A4, one page wide (as many pages tall as needed), the page header given, and a
    footer with the sheet's name, page X of Y and the run identifier."""
    sheet.set_landscape()
    sheet.set_paper(A4)
    sheet.fit_to_pages(1, 0)
    sheet.set_margins(left=0.5, right=0.5, top=0.8, bottom=0.7)
    sheet.set_header(header, {"margin": 0.3})
    run = run_id.replace("&", "&&")
    sheet.set_footer(f"&L&A&CPage &P of &N&R{run}", {"margin": 0.3})
