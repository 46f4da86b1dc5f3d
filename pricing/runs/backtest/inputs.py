"""What a backtest starts from: catalog, true model, settings, shipped history, static sheet, volumes.

Read from a data folder laid out like the shipped ``data/`` (``catalog.csv``, ``history.csv``,
``last_sheet.csv``, ``volumes.csv``) plus the true demand model (``ground_truth.json`` by
default; any ``model.json`` will do).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Mapping, Sequence

from models.demand import DemandModel
from models.errors import InputError
from models.history import History
from models.tables import read_table
from pricing.domain.catalog import Catalog
from pricing.domain.last_sheet import read_last_prices
from pricing.domain.offer import Bundle, Offer
from pricing.domain.problem import DEFAULT_DATA
from pricing.domain.settings import Settings

__all__ = ["BacktestInputs", "read_volumes", "month_after"]


def month_after(month: str, steps: int = 1) -> str:
    """``YYYY-MM`` ``steps`` months after ``month``."""
    index = int(month[:4]) * 12 + int(month[5:7]) - 1 + steps
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def read_volumes(path: Path) -> dict[str, dict[str, int]]:
    """``volumes.csv`` as market -> month -> car buyers, markets in order of first appearance.

    Raises
    ------
    InputError
        Naming the row and column of a month not ``YYYY-MM``, an empty region, buyers that are
        not a whole number > 0, or a (month, region) given twice.
    """
    frame = read_table(path, ("month", "region", "buyers"))
    if frame.empty:
        raise InputError(path.name, "has no rows; expected one row per month and region")
    out: dict[str, dict[str, int]] = {}
    for k, (month, region, buyers) in enumerate(frame[["month", "region", "buyers"]].itertuples(index=False)):
        row = k + 2
        if len(month) != 7 or month[4] != "-" or not (month[:4] + month[5:]).isdigit() or not 1 <= int(month[5:]) <= 12:
            raise InputError(path.name, f"must be a month YYYY-MM, got {month!r}", row=row, column="month")
        if not region:
            raise InputError(path.name, "must name a region (market), got an empty cell", row=row, column="region")
        if not buyers.isdigit() or int(buyers) <= 0:
            raise InputError(path.name, f"must be a whole number of car buyers > 0, got {buyers!r}", row=row,
                             column="buyers")
        months = out.setdefault(region, {})
        if month in months:
            raise InputError(path.name, f"month {month} of region {region!r} appears twice", row=row, column="month")
        months[month] = int(buyers)
    return out


@dataclass(frozen=True, eq=False)
class BacktestInputs:
    """Everything a backtest reads, validated and frozen.

    ``volumes`` maps market -> month -> car buyers (the forecast); a simulated month past the
    forecast keeps the market's last forecast. ``static_offer`` is the last approved sheet
    (``None`` when there is none); ``last_prices`` its SKU set -> price (CNY).
    """

    catalog: Catalog
    truth: DemandModel
    settings: Settings
    history: History
    volumes: Mapping[str, Mapping[str, int]]
    static_offer: Offer | None
    last_prices: Mapping[frozenset[str], float]

    def __post_init__(self) -> None:
        object.__setattr__(self, "volumes", MappingProxyType({m: dict(v) for m, v in self.volumes.items()}))
        object.__setattr__(self, "last_prices", MappingProxyType(dict(self.last_prices)))
        active = [s for s, a in zip(self.catalog.skus, self.catalog.active) if a]
        self.truth.check_covers(active)
        missing = [s for s in self.truth.names if s not in self.history.segments]
        if missing:
            raise InputError(self.history.source, f"segment {missing[0]!r} of the true model has no history rows")

    @property
    def markets(self) -> tuple[str, ...]:
        return tuple(self.volumes)

    @property
    def first_month(self) -> str:
        """The first simulated month: the one after the history's last."""
        return month_after(self.history.months[-1])

    def buyers(self, market: str, month: str) -> int:
        """Car buyers of ``market`` in ``month``: the forecast, or its last value past the forecast."""
        forecast = self.volumes[market]
        if month in forecast:
            return int(forecast[month])
        return int(forecast[max(forecast)])

    @classmethod
    def load(cls, data_dir: str | Path | None = None, settings: Settings | None = None,
             truth_path: str | Path | None = None) -> "BacktestInputs":
        """Read a data folder (default: the shipped ``data/``) and the true model.

        ``truth_path`` defaults to ``ground_truth.json`` in the folder.

        Raises
        ------
        InputError
            For the first file, row and column that break a rule.
        """
        folder = Path(data_dir) if data_dir is not None else DEFAULT_DATA
        if not folder.is_dir():
            raise InputError(str(folder), "data folder not found")
        catalog = Catalog.from_csv(folder / "catalog.csv")
        truth = DemandModel.from_json(Path(truth_path) if truth_path is not None else folder / "ground_truth.json")
        history = History.from_csv(folder / "history.csv", catalog.skus, truth.names)
        last_path = folder / "last_sheet.csv"
        last_prices = read_last_prices(last_path, catalog) if last_path.exists() else {}
        static = _static_offer(last_prices, catalog) if last_prices else None
        return cls(catalog, truth, settings or Settings.from_toml(), history, read_volumes(folder / "volumes.csv"),
                   static, last_prices)

    def select_markets(self, markets: Sequence[str]) -> "BacktestInputs":
        """A copy with only ``markets`` (in the order given).

        Raises
        ------
        InputError
            If a market is not in ``volumes.csv``.
        """
        for market in markets:
            if market not in self.volumes:
                raise InputError("--markets", f"market {market!r} is not in volumes.csv; "
                                              f"expected some of {', '.join(self.volumes)}")
        return BacktestInputs(self.catalog, self.truth, self.settings, self.history,
                              {m: self.volumes[m] for m in markets}, self.static_offer, self.last_prices)


def _static_offer(last_prices: Mapping[frozenset[str], float], catalog: Catalog) -> Offer:
    """The last approved sheet as an offer (SKUs in catalog order); inactive SKUs are refused."""
    order = {sku: i for i, sku in enumerate(catalog.skus)}
    active = dict(zip(catalog.skus, catalog.active))
    bundles = []
    for skus, price in last_prices.items():
        retired = sorted(s for s in skus if not active[s])
        if retired:
            raise InputError("last_sheet.csv", f"bundle with inactive SKU {retired[0]!r} cannot be offered as the "
                                               "static sheet; approve a sheet of active SKUs")
        bundles.append(Bundle(tuple(sorted(skus, key=order.__getitem__)), float(price)))
    return Offer(tuple(bundles))
