"""The car-buyer forecast, ``volumes.csv``: how many SU7 buyers each market (region) expects a month.

``month,region,buyers``; one row per month and region, ``buyers`` a whole number of car buyers
(> 0 and at most ``models.limits.MAX_BUYERS``). The monthly run optimizes every market of a month
with its buyers; ``optimize`` checks the file too when it is in the data folder, since its hash
goes into ``run.json`` as one of the run's inputs.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from models.errors import InputError, quote
from models.limits import MAX_BUYERS, MAX_TEXT
from models.tables import read_table

__all__ = ["Volumes", "VOLUME_COLUMNS", "read_volumes"]

VOLUME_COLUMNS = ("month", "region", "buyers")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class Volumes:
    """Forecast car buyers by (month ``YYYY-MM``, region); a month's markets in file order."""

    buyers: Mapping[tuple[str, str], int]

    def __post_init__(self) -> None:
        object.__setattr__(self, "buyers", MappingProxyType(dict(self.buyers)))

    @property
    def months(self) -> tuple[str, ...]:
        return tuple(sorted({month for month, _ in self.buyers}))

    def markets(self, month: str) -> dict[str, int]:
        """Region -> forecast car buyers of ``month`` (empty when the month is not forecast)."""
        return {region: n for (m, region), n in self.buyers.items() if m == month}


def read_volumes(path: str | Path) -> Volumes:
    """Read and validate ``volumes.csv``.

    Raises
    ------
    InputError
        Naming file, row and column: a month not written ``YYYY-MM``, an empty or over-long
        region, buyers that are not a whole number in ``[1, MAX_BUYERS]``, a (month, region)
        listed twice, or a file with no rows.
    """
    path = Path(path)
    name = path.name
    frame = read_table(path, VOLUME_COLUMNS)
    if frame.empty:
        raise InputError(name, "has no rows; expected one row per month and region")
    out: dict[tuple[str, str], int] = {}
    first_row: dict[tuple[str, str], int] = {}
    for k, (month, region, buyers) in enumerate(frame[list(VOLUME_COLUMNS)].itertuples(index=False)):
        r = k + 2
        if not _MONTH.match(month):
            raise InputError(name, f"must be a month written YYYY-MM, got {quote(month)}", row=r, column="month")
        if not region or len(region) > MAX_TEXT:
            raise InputError(name, f"must be a region name of 1 to {MAX_TEXT} characters, got {quote(region)}",
                             row=r, column="region")
        if (month, region) in first_row:
            raise InputError(name, f"{quote(region)} in {month} is listed twice (first in row "
                                   f"{first_row[(month, region)]})", row=r, column="region")
        first_row[(month, region)] = r
        out[(month, region)] = _buyers(buyers, name, r)
    return Volumes(out)


def _buyers(text: str, name: str, row: int) -> int:
    expected = f"a whole number of car buyers from 1 to {MAX_BUYERS:,}"
    try:
        value = float(text)
    except ValueError:
        raise InputError(name, f"must be {expected}, got {quote(text)}", row=row, column="buyers") from None
    if not math.isfinite(value) or value != int(value) or not 1 <= value <= MAX_BUYERS:
        raise InputError(name, f"must be {expected}, got {quote(text)}", row=row, column="buyers")
    return int(value)
