"""Errors a user can cause with their input files or settings."""

from __future__ import annotations

__all__ = ["InputError"]


class InputError(ValueError):
    """Bad input: a file, row, column or setting that breaks a rule.

    The message names the source, the place, the rule and the value received, e.g.
    ``catalog.csv row 14, column unit_cost: must be >= 0, got -2.5``. Rows are counted as a
    spreadsheet shows them: the header is row 1, the first data row is row 2.
    """

    def __init__(self, source: str, problem: str, *, row: int | None = None, column: str | None = None):
        self.source = source
        self.row = row
        self.column = column
        self.problem = problem
        where = [source]
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column}")
        super().__init__(f"{where[0]}{' ' + ', '.join(where[1:]) if len(where) > 1 else ''}: {problem}")
