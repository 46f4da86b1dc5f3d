"""The last approved price sheet as an input: its columns (the spec's sheet contract, shared with
the writer in ``pricing.files.sheet``) and the reader of the prices the stability rule keeps."""

from __future__ import annotations

import math
from pathlib import Path

from models.errors import InputError, quote
from models.limits import MAX_MONEY
from models.tables import read_table
from pricing.domain.catalog import Catalog

__all__ = ["SHEET_COLUMNS", "read_last_prices"]

SHEET_COLUMNS = (
    "bundle_id", "name", "skus", "items", "list_total", "price", "discount_pct", "unit_cost_total",
    "unit_margin", "margin_pct", "incremental_margin", "take_rate", "expected_units", "expected_margin",
    "elasticity", "last_price", "change_pct",
)


def read_last_prices(path: Path, catalog: Catalog) -> dict[frozenset[str], float]:
    """SKU set -> price of the last approved sheet.

    A bundle holding a SKU that is no longer active stays in the map; no candidate can match it,
    so it simply cannot be offered again. A SKU the catalog never had is an error.
    """
    frame = read_table(path, ("skus", "price"), optional=[c for c in SHEET_COLUMNS if c not in ("skus", "price")])
    out: dict[frozenset[str], float] = {}
    for k, row in enumerate(frame.itertuples(index=False)):
        r = k + 2
        cell = dict(zip(frame.columns, row))
        skus = [s.strip() for s in str(cell["skus"]).split("|") if s.strip()]
        if not skus:
            raise InputError(path.name, "must list SKUs joined by |", row=r, column="skus")
        for sku in skus:
            if sku not in catalog.skus:
                raise InputError(path.name, f"unknown SKU {quote(sku)}; every SKU must be in catalog.csv", row=r, column="skus")
        if len(set(skus)) != len(skus):
            raise InputError(path.name, "a SKU appears twice in one bundle", row=r, column="skus")
        expected = f"a price in CNY > 0 and <= {MAX_MONEY:,.0f}"
        try:
            price = float(cell["price"])
        except ValueError:
            raise InputError(path.name, f"must be {expected}, got {quote(cell['price'])}", row=r, column="price") from None
        if not (math.isfinite(price) and 0 < price <= MAX_MONEY):
            raise InputError(path.name, f"must be {expected}, got {quote(cell['price'])}", row=r, column="price")
        key = frozenset(skus)
        if key in out:
            raise InputError(path.name, "the same SKU set appears twice on the sheet", row=r, column="skus")
        out[key] = price
    return out
