"""Reading input files: every file as checked UTF-8 text, every table cell as text, so that each
can be checked with a message naming its file, row and column. Shared by the readers of
``models`` and ``pricing`` (CSV, JSON and TOML alike), so every input file is opened the same
way: a UTF-8 byte-order mark is accepted (and dropped) everywhere, anything that is not UTF-8 is
refused with the row of the first bad byte, and a folder or an unreadable file where a file is
expected is one clear message, never a traceback.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Sequence

import pandas as pd

from models.errors import InputError, clip, quote
from models.limits import MAX_ROWS

__all__ = ["read_text", "read_table", "MAX_INPUT_BYTES"]

# No input of this product comes near this (the shipped history is 0.2 MB); a bigger file is a
# wrong file, and reading it whole would only exhaust memory.
MAX_INPUT_BYTES = 256 * 1024 * 1024

_SEPARATORS = {";": "';'", "\t": "tabs", "|": "'|'"}


def read_text(path: Path, expected: str = "a file") -> str:
    """The text of an input file, decoded as UTF-8 (a leading byte-order mark is dropped).

    Parameters
    ----------
    path : the file.
    expected : what should be there, for the message (e.g. ``"a CSV file"``).

    Raises
    ------
    InputError
        Missing, a folder, unreadable, larger than :data:`MAX_INPUT_BYTES`, or not UTF-8.
    """
    path = Path(path)
    name = path.name or str(path)
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise IsADirectoryError(str(path))
        if size > MAX_INPUT_BYTES:
            raise InputError(name, f"the file is {size / 2**20:,.0f} MiB, above the {MAX_INPUT_BYTES // 2**20} MiB "
                                   f"an input may have; expected {expected}")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(name, f"file not found at {quote(str(path))}; expected {expected}") from None
    except IsADirectoryError:
        raise InputError(name, f"is a folder, expected {expected} at {quote(str(path))}") from None
    except PermissionError:
        raise InputError(name, f"cannot be read (permission denied) at {quote(str(path))}") from None
    except OSError as exc:
        raise InputError(name, f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        row = raw.count(b"\n", 0, exc.start) + 1
        raise InputError(
            name, f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8 (Excel: 'CSV UTF-8')",
            row=row,
        ) from None


def read_table(path: Path, columns: Sequence[str], *, optional: Sequence[str] = ()) -> pd.DataFrame:
    """Read a comma-separated file with exactly ``columns`` (plus any of ``optional``) as a frame
    of stripped strings; frame row ``k`` is file row ``k + 2`` (the header is row 1).

    Raises
    ------
    InputError
        If the file is missing, a folder, unreadable, not UTF-8, separated by something other
        than commas, has missing or unexpected columns, or a row with more or fewer cells than
        the header (a file cut short, or a stray separator).
    """
    path = Path(path)
    name = path.name
    text = read_text(path, f"a CSV file with columns {', '.join(columns)}")
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise InputError(name, f"not a well-formed CSV ({clip(str(exc))})") from None
    while rows and not any(cell.strip() for cell in rows[-1]):
        rows.pop()  # trailing blank lines are harmless
    if not rows:
        raise InputError(name, f"the file is empty; expected a header with columns {', '.join(columns)}")
    if len(rows) - 1 > MAX_ROWS:
        raise InputError(name, f"has {len(rows) - 1:,} rows, above the {MAX_ROWS:,} an input may have")
    header = [cell.strip() for cell in rows[0]]
    _check_header(name, header, columns, optional)
    for k, cells in enumerate(rows[1:]):
        if len(cells) != len(header):
            what = "an empty line" if not any(c.strip() for c in cells) else f"{len(cells)} cells"
            raise InputError(name, f"has {what}, expected {len(header)} separated by ',' like the header; "
                                   "a file cut short or a stray comma?", row=k + 2)
    frame = pd.DataFrame([[c.strip() for c in cells] for cells in rows[1:]], columns=header, dtype=str)
    return frame


def _check_header(name: str, header: list[str], columns: Sequence[str], optional: Sequence[str]) -> None:
    missing = [c for c in columns if c not in header]
    if missing and len(header) == 1:
        for sep, label in _SEPARATORS.items():
            if sep in header[0]:
                raise InputError(name, f"separated by {label}, expected ','; save it as comma-separated CSV "
                                       f"with columns {', '.join(columns)}", row=1)
    if missing:
        raise InputError(name, f"missing column(s) {clip(', '.join(missing))}; expected columns "
                               f"{', '.join(columns)}", row=1)
    extra = [c for c in header if c not in columns and c not in optional]
    if extra:
        raise InputError(name, f"unexpected column(s) {clip(', '.join(extra))}; expected columns "
                               f"{', '.join(columns)}", row=1)
    if len(set(header)) != len(header):
        raise InputError(name, "a column name appears twice in the header", row=1)
