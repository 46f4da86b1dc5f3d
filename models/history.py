"""Past offers and their take-up: reading and validating ``history.csv``.

One row per offered bundle per market (region), month and buyer segment::

    month,region,segment,buyers,skus,price,taken

``buyers`` is the number of car buyers of that segment in that region and month (the same on
every row of the cell), ``skus`` the bundle's SKUs joined by ``|``, ``price`` in CNY and ``taken``
the buyers of the cell who took that bundle. The buyers of a cell who took no bundle are the
no-bundle choice of the logit.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from models.errors import InputError, clip, quote
from models.limits import MAX_BUYERS, MAX_MONEY, MAX_TEXT
from models.tables import read_table

__all__ = ["History", "HISTORY_COLUMNS", "price_warnings"]

HISTORY_COLUMNS = ("month", "region", "segment", "buyers", "skus", "price", "taken")

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, eq=False)
class History:
    """Validated offer history.

    ``frame`` has one row per offered bundle and cell, with columns ``month`` (``YYYY-MM``),
    ``region``, ``segment``, ``buyers`` (int), ``skus`` (tuple of SKU codes), ``price`` (CNY),
    ``taken`` (int) and ``row`` (the file row, header = row 1). ``sha256`` is the hash of the
    file's bytes (empty when built from a frame).
    """

    frame: pd.DataFrame
    source: str = "history.csv"
    sha256: str = ""

    # -- views ----------------------------------------------------------------------------
    @property
    def months(self) -> tuple[str, ...]:
        """Months in the history, oldest first."""
        return tuple(sorted(self.frame["month"].unique()))

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(sorted(self.frame["region"].unique()))

    @property
    def segments(self) -> tuple[str, ...]:
        """Segment names in order of first appearance."""
        return tuple(dict.fromkeys(self.frame["segment"]))

    def cells(self) -> pd.DataFrame:
        """One row per (month, region, segment): ``buyers`` and ``taken`` (sum over bundles)."""
        return (
            self.frame.groupby(["month", "region", "segment"], sort=True)
            .agg(buyers=("buyers", "first"), taken=("taken", "sum"), bundles=("taken", "size"))
            .reset_index()
        )

    def segment_shares(self, segments: Sequence[str] | None = None) -> dict[str, float]:
        """Share of car buyers in each segment (the trim mix), summed over every cell."""
        buyers = self.cells().groupby("segment")["buyers"].sum()
        names = list(segments) if segments is not None else list(self.segments)
        total = float(sum(buyers.get(s, 0) for s in names))
        return {s: float(buyers.get(s, 0)) / total for s in names}

    def select_months(self, months: Sequence[str]) -> "History":
        """The rows of the given months only (same source and hash)."""
        keep = self.frame["month"].isin(set(months))
        return History(self.frame[keep].reset_index(drop=True), self.source, self.sha256)

    def price_range(self) -> tuple[float, float]:
        """Lowest and highest bundle price offered (CNY)."""
        return float(self.frame["price"].min()), float(self.frame["price"].max())

    # -- reading --------------------------------------------------------------------------
    @classmethod
    def from_csv(cls, path: str | Path, skus: Sequence[str], segments: Sequence[str] | None = None) -> "History":
        """Read and validate ``history.csv``.

        Parameters
        ----------
        path : the CSV file.
        skus : every SKU code of the catalog (inactive ones included: they may have been offered).
        segments : the segment names allowed; ``None`` accepts any name.

        Raises
        ------
        InputError
            One message naming the file, row and column of the first problem.
        """

        path = Path(path)
        frame = read_table(path, HISTORY_COLUMNS)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        return cls.from_frame(frame, skus, segments, source=path.name, sha256=digest)

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        skus: Sequence[str],
        segments: Sequence[str] | None = None,
        *,
        source: str = "history.csv",
        sha256: str = "",
    ) -> "History":
        """Validate a frame of strings with :data:`HISTORY_COLUMNS` (frame row ``k`` is file row ``k + 2``)."""
        if frame.empty:
            raise InputError(source, "the history has no rows; at least one offered bundle is needed")
        known_skus = set(skus)
        known_segments = None if segments is None else list(segments)
        rows = []
        for k, row in enumerate(frame[list(HISTORY_COLUMNS)].itertuples(index=False)):
            r = k + 2
            month, region, segment, buyers, sku_text, price, taken = (str(v).strip() for v in row)
            if not _MONTH.match(month) or not 1 <= int(month[5:]) <= 12:
                raise InputError(source, f"must be a month written YYYY-MM, got {quote(month)}", row=r, column="month")
            _name(region, source, r, "region")
            _name(segment, source, r, "segment")
            if known_segments is not None and segment not in known_segments:
                raise InputError(
                    source, f"unknown segment {quote(segment)}; expected one of {clip(', '.join(known_segments))}",
                    row=r, column="segment",
                )
            n_buyers = _count(buyers, source, r, "buyers")
            if n_buyers == 0:
                raise InputError(source, "must be a count of car buyers > 0, got 0", row=r, column="buyers")
            bundle = tuple(s.strip() for s in sku_text.split("|"))
            if not sku_text or any(not s for s in bundle):
                raise InputError(source, f"must list SKUs joined by |, got {quote(sku_text)}", row=r, column="skus")
            for sku in bundle:
                if sku not in known_skus:
                    raise InputError(source, f"unknown SKU {quote(sku)}; every SKU must be in catalog.csv", row=r, column="skus")
            if len(set(bundle)) != len(bundle):
                raise InputError(source, f"a SKU appears twice in one bundle: {quote(sku_text)}", row=r, column="skus")
            try:
                p = float(price)
            except ValueError:
                raise InputError(source, f"must be a price in CNY, got {quote(price)}", row=r, column="price") from None
            if not (math.isfinite(p) and p > 0):
                raise InputError(source, f"must be a price > 0 CNY, got {quote(price)}", row=r, column="price")
            if p > MAX_MONEY:
                raise InputError(source, f"must be at most {MAX_MONEY:,.0f} CNY, got {quote(price)}", row=r, column="price")
            n_taken = _count(taken, source, r, "taken")
            if n_taken > n_buyers:
                raise InputError(
                    source, f"taken ({n_taken}) is above the cell's buyers ({n_buyers})", row=r, column="taken"
                )
            rows.append((month, region, segment, n_buyers, bundle, p, n_taken, r))
        out = pd.DataFrame(rows, columns=[*HISTORY_COLUMNS, "row"])
        _check_cells(out, source)
        _check_months(out, source)
        return cls(out, source, sha256)


def _name(text: str, source: str, row: int, column: str) -> None:
    if not text:
        raise InputError(source, "must not be empty", row=row, column=column)
    if len(text) > MAX_TEXT:
        raise InputError(source, f"must be at most {MAX_TEXT} characters, got {quote(text)}", row=row, column=column)


def _count(text: str, source: str, row: int, column: str) -> int:
    try:
        value = float(text)
    except ValueError:
        raise InputError(source, f"must be a whole number >= 0, got {quote(text)}", row=row, column=column) from None
    if not math.isfinite(value) or value < 0 or value != int(value):
        raise InputError(source, f"must be a whole number >= 0, got {quote(text)}", row=row, column=column)
    if value > MAX_BUYERS:
        raise InputError(source, f"must be at most {MAX_BUYERS:,}, got {quote(text)}", row=row, column=column)
    return int(value)


def _check_cells(frame: pd.DataFrame, source: str) -> None:
    """Within a (month, region, segment) cell: one buyers figure, each SKU set once, takers <= buyers."""
    seen: dict[tuple, int] = {}
    buyers: dict[tuple, tuple[int, int]] = {}
    taken: dict[tuple, int] = {}
    for month, region, segment, n_buyers, bundle, _p, n_taken, r in frame.itertuples(index=False):
        cell = (month, region, segment)
        key = (*cell, frozenset(bundle))
        if key in seen:
            raise InputError(
                source, f"the bundle {'|'.join(bundle)} is listed twice for {region} {month} {segment} "
                f"(first in row {seen[key]})", row=r, column="skus",
            )
        seen[key] = r
        first = buyers.setdefault(cell, (n_buyers, r))
        if first[0] != n_buyers:
            raise InputError(
                source, f"buyers of {region} {month} {segment} is {n_buyers} here but {first[0]} in row {first[1]}; "
                "every row of one cell must give the same buyers", row=r, column="buyers",
            )
        taken[cell] = taken.get(cell, 0) + n_taken
        if taken[cell] > n_buyers:
            raise InputError(
                source, f"the bundles of {region} {month} {segment} were taken {taken[cell]} times in total, "
                f"above the cell's {n_buyers} buyers", row=r, column="taken",
            )


def _check_months(frame: pd.DataFrame, source: str) -> None:
    """Every region has offers in every month from the history's first month to its last."""
    months = sorted(frame["month"].unique())
    span = _month_range(months[0], months[-1])
    for region, group in frame.groupby("region", sort=True):
        present = set(group["month"])
        for month in span:
            if month not in present:
                raise InputError(
                    source, f"region {quote(region)} has no offers in month {month}; every month from {span[0]} "
                    f"to {span[-1]} needs the bundles offered and their take-up", column="month",
                )


def _month_range(first: str, last: str) -> list[str]:
    y, m = int(first[:4]), int(first[5:])
    out = []
    while f"{y:04d}-{m:02d}" <= last:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def price_warnings(fit: dict[str, Any], prices: Sequence[float], list_totals: Sequence[float] | None = None,
                   *, margin: float = 0.25) -> list[str]:
    """Warn about prices far outside what the history saw.

    Parameters
    ----------
    fit : the ``fit`` section of ``model.json`` (needs ``price_range``, and ``discount_range``
        when ``list_totals`` is given).
    prices : bundle prices to check, CNY.
    list_totals : the same bundles' list totals, CNY, to check their discounts too.
    margin : how far outside counts as far: prices below ``(1 - margin) * min`` or above
        ``(1 + margin) * max``; discounts more than ``margin / 2.5`` (10 points by default)
        outside the history's range.
    """
    out: list[str] = []
    rng = fit.get("price_range")
    if not rng:
        return out
    low, high = float(rng["min"]), float(rng["max"])
    for p in prices:
        if p < (1 - margin) * low or p > (1 + margin) * high:
            out.append(
                f"price {p:,.0f} CNY is far outside the prices seen in the history ({low:,.0f} to {high:,.0f} CNY): "
                "the model's take rates there are an extrapolation."
            )
    disc = fit.get("discount_range")
    if disc and list_totals is not None:
        slack = margin / 2.5
        for p, total in zip(prices, list_totals):
            d = 1.0 - p / total
            if d < disc["min"] - slack or d > disc["max"] + slack:
                out.append(
                    f"a discount of {100 * d:.0f}% (price {p:,.0f} CNY on a list total of {total:,.0f}) is far outside "
                    f"the discounts seen in the history ({100 * disc['min']:.0f}% to {100 * disc['max']:.0f}%)."
                )
    return out
