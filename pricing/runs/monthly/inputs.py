"""What a monthly run reads, checked up front: the month's markets and buyers (``volumes.csv``),
the catalog, the history, the model, each market's last approved sheet; and the hash of it all.

Each market's last approved sheet is ``DATA/last_sheets/<market>.csv`` when it exists (an
approval in the app writes it), else the shared ``DATA/last_sheet.csv``, else none.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.demand import DemandModel
from models.errors import InputError
from models.history import History
from models.tables import read_table
from pricing.domain.catalog import Catalog
from pricing.domain.last_sheet import SHEET_COLUMNS, read_last_prices
from pricing.domain.settings import Settings
from pricing.runs.monthly.store import folder_name

__all__ = ["MonthInputs", "read_month_inputs", "read_volumes", "last_sheet_path", "sheet_bundles", "MONTH"]

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@dataclass(frozen=True, eq=False)
class MonthInputs:
    """The checked inputs of one month's run. ``buyers``: market -> car buyers that month (in the
    order of ``volumes.csv``); ``last_sheets``: market -> its last approved sheet's path or None."""

    data_dir: Path
    month: str
    buyers: dict[str, float]
    catalog: Catalog
    history: History
    model: DemandModel
    last_sheets: dict[str, Path | None]

    def key(self, settings: Settings, fit_settings: dict[str, Any]) -> tuple[str, dict[str, str]]:
        """The hash that says "same inputs" (input files, the month's markets and buyers, the
        settings) and the per-file hashes for the manifest."""
        hashes = {name: _sha(self.data_dir / name) for name in ("catalog.csv", "model.json", "history.csv", "volumes.csv")}
        for market, path in self.last_sheets.items():
            if path is not None:
                hashes[f"last sheet of {market} ({path.relative_to(self.data_dir)})"] = _sha(path)
        identity = {
            "files": {k: v for k, v in hashes.items() if k != "volumes.csv"},
            "buyers": self.buyers, "settings": settings.to_dict(), "fit": fit_settings,
        }
        return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest(), hashes


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_month_inputs(data_dir: Path, month: str, markets: tuple[str, ...] | None = None) -> MonthInputs:
    """Read and check everything the month's run needs.

    Raises
    ------
    InputError
        A bad month, a market not in ``volumes.csv`` for that month, or any bad input file.
    """
    if not MONTH.match(month or ""):
        raise InputError("--month", f"must be a month as YYYY-MM, got {month!r}")
    if not data_dir.is_dir():
        raise InputError(str(data_dir), "data folder not found")
    buyers = read_volumes(data_dir / "volumes.csv", month)
    if markets:
        unknown = [m for m in markets if m not in buyers]
        if unknown:
            raise InputError("--markets", f"{', '.join(unknown)} not in volumes.csv for {month}; "
                                          f"that month has {', '.join(buyers)}")
        buyers = {m: buyers[m] for m in markets}
    catalog = Catalog.from_csv(data_dir / "catalog.csv")
    model = DemandModel.from_json(data_dir / "model.json")
    model.check_covers([s for s, active in zip(catalog.skus, catalog.active) if active])
    history = History.from_csv(data_dir / "history.csv", catalog.skus, model.names)
    sheets = {m: last_sheet_path(data_dir, m) for m in buyers}
    for path in {p for p in sheets.values() if p is not None}:
        read_last_prices(path, catalog)  # a bad sheet is bad input now, not a failed market later
    return MonthInputs(data_dir, month, buyers, catalog, history, model, sheets)


def read_volumes(path: Path, month: str) -> dict[str, float]:
    """Market -> car buyers of ``month`` in ``volumes.csv`` (``month,region,buyers``)."""
    frame = read_table(path, ("month", "region", "buyers"))
    out: dict[str, float] = {}
    for k, (m, region, buyers) in enumerate(frame[["month", "region", "buyers"]].itertuples(index=False)):
        row = k + 2
        if not MONTH.match(str(m).strip()):
            raise InputError(path.name, f"must be a month as YYYY-MM, got {m!r}", row=row, column="month")
        if str(m).strip() != month:
            continue
        region = str(region).strip()
        if not region:
            raise InputError(path.name, "must name the market", row=row, column="region")
        try:
            value = float(buyers)
        except ValueError:
            raise InputError(path.name, f"must be a number of car buyers, got {buyers!r}", row=row, column="buyers") from None
        if not value > 0 or value != value or value == float("inf"):
            raise InputError(path.name, f"must be a number of car buyers > 0, got {buyers!r}", row=row, column="buyers")
        if region in out:
            raise InputError(path.name, f"market {region!r} appears twice for {month}", row=row, column="region")
        out[region] = value
    if not out:
        months = sorted({str(m).strip() for m in frame["month"]})
        raise InputError(path.name, f"no markets for {month}; the file has {', '.join(months) or 'no months'}",
                         column="month")
    return out


def last_sheet_path(data_dir: Path, market: str) -> Path | None:
    """``DATA/last_sheets/<market>.csv`` if it exists, else ``DATA/last_sheet.csv``, else None."""
    own = data_dir / "last_sheets" / f"{folder_name(market)}.csv"
    if own.is_file():
        return own
    shared = data_dir / "last_sheet.csv"
    return shared if shared.is_file() else None


def sheet_bundles(path: Path, catalog: Catalog) -> dict[frozenset[str], tuple[str, float]]:
    """SKU set -> (bundle id, price) of an approved sheet (validated like the stability rule's input)."""
    prices = read_last_prices(path, catalog)
    frame = read_table(path, ("skus", "price"), optional=[c for c in SHEET_COLUMNS if c not in ("skus", "price")])
    ids = list(frame["bundle_id"]) if "bundle_id" in frame.columns else [f"row {k + 2}" for k in range(len(frame))]
    out = {}
    for bundle_id, skus in zip(ids, frame["skus"]):
        key = frozenset(s.strip() for s in str(skus).split("|") if s.strip())
        out[key] = (str(bundle_id) or "?", prices[key])
    return out
