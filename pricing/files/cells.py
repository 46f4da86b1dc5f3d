"""Keeping output text cells safe from spreadsheet formula injection (OWASP CSV injection,
CWE-1236)."""

from __future__ import annotations

__all__ = ["neutralize_formula", "FORMULA_PREFIXES"]

# A cell starting with one of these is run as a formula by Excel, LibreOffice or Sheets.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def neutralize_formula(value: object) -> object:
    """Return text that no spreadsheet runs as a formula; numbers and None pass through.

    A string starting with ``= + - @``, a tab or a line break gets a leading apostrophe, the
    convention spreadsheets display as plain text. Quoting a CSV field is not enough.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value
