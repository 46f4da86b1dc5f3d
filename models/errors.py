"""Errors a user can cause with their input files or settings, and the one way a bad value is quoted."""

from __future__ import annotations

__all__ = ["InputError", "quote", "clip", "QUOTE_LIMIT"]

# Characters of a bad value a message shows: enough to recognise it, never a 5,000-character cell.
QUOTE_LIMIT = 80


def quote(value: object, limit: int = QUOTE_LIMIT) -> str:
    """``repr`` of a bad value for a one-line message, cut to about ``limit`` characters.

    Longer values keep their start and say how long they were, so the message stays one short
    line whatever the file holds: ``'xxxx...' (5,000 characters)``.
    """
    text = repr(value)
    if len(text) <= limit:
        return text
    size = f"{len(value):,} characters" if isinstance(value, str) else f"a {type(value).__name__}"
    return f"{text[: limit - 3]}... ({size})"


def clip(text: str, limit: int = QUOTE_LIMIT) -> str:
    """Plain text (a parser's own message, a path) cut to ``limit`` characters, on one line."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class InputError(ValueError):
    """Bad input: a file, row, column or setting that breaks a rule.

    The message names the source, the place, the rule and the value received, e.g.
    ``catalog.csv row 14, column unit_cost: must be >= 0, got -2.5``. Rows are counted as a
    spreadsheet shows them: the header is row 1, the first data row is row 2. The message is
    always one line (line breaks inside a quoted value or a parser's text are folded).
    """

    def __init__(self, source: str, problem: str, *, row: int | None = None, column: str | None = None):
        self.source = source
        self.row = row
        self.column = column
        self.problem = str(problem).replace("\r", " ").replace("\n", " ")
        where = [source]
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column}")
        super().__init__(f"{where[0]}{' ' + ', '.join(where[1:]) if len(where) > 1 else ''}: {self.problem}")
