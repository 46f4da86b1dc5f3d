"""The product catalog: one row per SKU, read and validated from ``catalog.csv``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from models.errors import InputError, quote
from models.limits import MAX_MONEY, MAX_SKUS, MAX_TEXT
from models.tables import read_table

__all__ = ["Catalog", "ZONES", "CATALOG_COLUMNS"]

ZONES = ("car", "home", "human")
CATALOG_COLUMNS = ("sku", "name", "category", "zone", "list_price", "unit_cost", "standalone_rate", "active")

_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f"}


@dataclass(frozen=True, eq=False)
class Catalog:
    """Ecosystem products, all in CNY. Arrays are aligned with ``skus``.

    ``standalone_rate`` is the share of car buyers who buy the SKU alone at list price anyway.
    """

    skus: tuple[str, ...]
    names: tuple[str, ...]
    categories: tuple[str, ...]
    zones: tuple[str, ...]
    list_price: np.ndarray
    unit_cost: np.ndarray
    standalone_rate: np.ndarray
    active: np.ndarray

    def __post_init__(self) -> None:
        for name in ("list_price", "unit_cost", "standalone_rate", "active"):
            arr = np.array(getattr(self, name))
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    def __len__(self) -> int:
        return len(self.skus)

    @property
    def standalone_margin(self) -> np.ndarray:
        """Expected standalone margin per car buyer of each SKU (CNY): rate * (list - cost)."""
        return self.standalone_rate * (self.list_price - self.unit_cost)

    @property
    def displaced_cost(self) -> np.ndarray:
        """What one bundled unit of each SKU costs against a sale of it: unit cost plus the
        standalone margin it replaces (CNY). ``m(b) = p - sum displaced_cost``."""
        return self.unit_cost + self.standalone_margin

    def with_cost_change(self, pct: float) -> "Catalog":
        """A copy with every unit cost changed by ``pct`` percent (e.g. 5 for +5%)."""
        if not math.isfinite(pct) or pct <= -100:
            raise InputError("unit-cost change", f"must be a percentage above -100, got {pct!r}")
        return Catalog(
            self.skus, self.names, self.categories, self.zones, self.list_price,
            self.unit_cost * (1 + pct / 100.0), self.standalone_rate, self.active,
        )

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "sku": self.skus,
                "name": self.names,
                "category": self.categories,
                "zone": self.zones,
                "list_price": self.list_price,
                "unit_cost": self.unit_cost,
                "standalone_rate": self.standalone_rate,
                "active": self.active.astype(bool),
            }
        )

    @classmethod
    def from_csv(cls, path: str | Path) -> "Catalog":
        """Read and validate ``catalog.csv``.

        Raises
        ------
        InputError
            Naming the file, row and column of the first cell that breaks a rule.
        """
        path = Path(path)
        return cls.from_frame(read_table(path, CATALOG_COLUMNS), path.name)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, source: str = "catalog.csv") -> "Catalog":
        """Validate a frame of strings with the catalog columns (row ``k`` of the frame is file row ``k + 2``)."""
        if frame.empty:
            raise InputError(source, "the catalog has no SKU rows; at least one is needed")
        if len(frame) > MAX_SKUS:
            raise InputError(source, f"has {len(frame):,} SKU rows, above the {MAX_SKUS:,} a catalog may have")
        skus, names, categories, zones = [], [], [], []
        list_price, unit_cost, rates, active = [], [], [], []
        seen: dict[str, int] = {}
        for k, row in enumerate(frame.itertuples(index=False)):
            r = k + 2
            cell = dict(zip(frame.columns, row))
            sku = _text(cell["sku"], source, r, "sku")
            if sku in seen:
                raise InputError(source, f"duplicate SKU {quote(sku)}, first seen in row {seen[sku]}", row=r, column="sku")
            seen[sku] = r
            zone = _text(cell["zone"], source, r, "zone").lower()
            if zone not in ZONES:
                raise InputError(source, f"must be one of {', '.join(ZONES)}, got {quote(cell['zone'])}", row=r, column="zone")
            lp = _number(cell["list_price"], source, r, "list_price", 0.0, MAX_MONEY, low_open=True)
            uc = _number(cell["unit_cost"], source, r, "unit_cost", 0.0, MAX_MONEY)
            rate = _number(cell["standalone_rate"], source, r, "standalone_rate", 0.0, 1.0)
            flag = str(cell["active"]).strip().lower()
            if flag not in _TRUE | _FALSE:
                raise InputError(source, f"must be true/false (or 1/0), got {quote(cell['active'])}", row=r, column="active")
            skus.append(sku)
            names.append(_text(cell["name"], source, r, "name"))
            categories.append(_text(cell["category"], source, r, "category"))
            zones.append(zone)
            list_price.append(lp)
            unit_cost.append(uc)
            rates.append(rate)
            active.append(flag in _TRUE)
        return cls(
            tuple(skus), tuple(names), tuple(categories), tuple(zones),
            np.array(list_price), np.array(unit_cost), np.array(rates), np.array(active, dtype=bool),
        )


def _text(value: object, source: str, row: int, column: str) -> str:
    text = str(value).strip()
    if not text:
        raise InputError(source, "must not be empty", row=row, column=column)
    if len(text) > MAX_TEXT:
        raise InputError(source, f"must be at most {MAX_TEXT} characters, got {quote(text)}", row=row, column=column)
    return text


def _number(value: object, source: str, row: int, column: str, low: float, high: float,
            *, low_open: bool = False) -> float:
    """A finite number in ``[low, high]`` (``(low, high]`` when ``low_open``); the message says
    which bound was broken."""
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        raise InputError(source, f"must be a number, got {quote(text)}", row=row, column=column) from None
    if not math.isfinite(number):
        problem = "must be a finite number"
    elif number < low or (low_open and number == low):
        problem = f"must be {'>' if low_open else '>='} {low:g}"
    elif number > high:
        problem = f"must be <= {high:,.0f}{' CNY' if high == MAX_MONEY else ''}"
    else:
        return number
    raise InputError(source, f"{problem}, got {quote(text)}", row=row, column=column)
