"""The documented ranges of every input number, in one place (README, "Input limits").

Each reader checks its cells against these before any work starts, so a value like ``1e308``
is refused with a message naming its file, row and column instead of breaking the fit, the
solver or the spreadsheet writer later. The ranges are wide enough for any real catalog and
market; they exist to keep arithmetic finite and the solver well-scaled.
"""

from __future__ import annotations

__all__ = ["MAX_MONEY", "MAX_BUYERS", "MAX_TEXT", "MAX_SKUS", "MAX_ROWS"]

MAX_MONEY = 10_000_000.0
"""Highest list price, unit cost or bundle price accepted, CNY (prices must be > 0, costs >= 0)."""

MAX_BUYERS = 100_000_000
"""Most car buyers in one market and month (history cells, volumes, ``[market] buyers``)."""

MAX_TEXT = 200
"""Longest SKU code, name, category, region or segment name, in characters."""

MAX_SKUS = 5_000
"""Most rows of ``catalog.csv``."""

MAX_ROWS = 2_000_000
"""Most data rows of any CSV input (``history.csv``, ``volumes.csv``, ``last_sheet.csv``)."""
