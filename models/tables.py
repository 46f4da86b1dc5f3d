"""Reading input tables: every cell as text, so that each can be checked with a message naming
its file, row and column. Shared by the readers of ``models`` and ``pricing``."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pandas as pd

from models.errors import InputError

__all__ = ["read_table"]


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
