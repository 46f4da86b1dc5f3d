"""Reading input tables, and keeping output text cells safe.

Tables are read as text so that every cell can be checked with a message naming its row and
column. Text cells of outputs are neutralised against spreadsheet formula injection (OWASP CSV injection,
CWE-1236).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pandas as pd

from models.errors import InputError

__all__ = ["read_table", "neutralize_formula", "FORMULA_PREFIXES"]

# A cell starting with one of these is run as a formula by Excel, LibreOffice or Sheets.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def read_table(path: Path, columns: Sequence[str], *, optional: Sequence[str] = ()) -> pd.DataFrame:
    """Read a CSV with exactly ``columns`` (plus any of ``optional``) as a frame of stripped strings.

    Raises
    ------
    InputError
        If the file is missing, unreadable, or its header has missing or unexpected columns.
    """
    name = path.name
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True, encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(name, f"file not found at {path}") from None
    except pd.errors.EmptyDataError:
        raise InputError(name, f"the file is empty; expected a header with columns {', '.join(columns)}") from None
    except pd.errors.ParserError as exc:
        raise InputError(name, f"not a well-formed CSV ({str(exc).strip()})") from None
    except UnicodeDecodeError:
        raise InputError(name, "not UTF-8 text; save the file as CSV UTF-8") from None
    header = [str(c).strip() for c in frame.columns]
    frame.columns = header
    missing = [c for c in columns if c not in header]
    if missing:
        raise InputError(name, f"missing column(s) {', '.join(missing)}; expected columns {', '.join(columns)}", row=1)
    extra = [c for c in header if c not in columns and c not in optional]
    if extra:
        raise InputError(name, f"unexpected column(s) {', '.join(extra)}; expected columns {', '.join(columns)}", row=1)
    if len(set(header)) != len(header):
        raise InputError(name, "a column name appears twice in the header", row=1)
    return frame.apply(lambda col: col.str.strip())


def neutralize_formula(value: object) -> object:
    """Return text that no spreadsheet runs as a formula; numbers and None pass through.

    A string starting with ``= + - @``, a tab or a line break gets a leading apostrophe, the
    convention spreadsheets display as plain text. Quoting a CSV field is not enough.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value
