"""The problem object: catalog, demand model, settings and last approved prices, frozen."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from models.demand import DemandModel
from models.errors import InputError
from pricing.domain.catalog import Catalog
from pricing.domain.settings import Settings
from pricing.domain.last_sheet import read_last_prices

__all__ = ["Problem", "DEFAULT_DATA", "input_hashes"]

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "data"
_INPUT_FILES = ("catalog.csv", "model.json", "last_sheet.csv", "history.csv", "volumes.csv")


@dataclass(frozen=True, eq=False)
class Problem:
    """Everything one optimization reads. Never written on: what-ifs make modified copies.

    ``last_prices`` maps each SKU set of the last approved sheet to its price (CNY).
    """

    catalog: Catalog
    model: DemandModel
    settings: Settings
    last_prices: Mapping[frozenset[str], float] = field(default_factory=dict)
    data_dir: Path | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "last_prices", MappingProxyType(dict(self.last_prices)))
        self.model.check_covers([s for s, a in zip(self.catalog.skus, self.catalog.active) if a])

    def replace(self, **changes) -> "Problem":
        values = dict(catalog=self.catalog, model=self.model, settings=self.settings,
                      last_prices=self.last_prices, data_dir=self.data_dir)
        values.update(changes)
        return Problem(**values)

    @classmethod
    def load(cls, data_dir: str | Path | None = None, settings: Settings | None = None) -> "Problem":
        """Read ``catalog.csv``, ``model.json`` and (if present) ``last_sheet.csv`` from ``data_dir``.

        Raises
        ------
        InputError
            For the first file, row and column that break a rule.
        """
        data_dir = Path(data_dir) if data_dir is not None else DEFAULT_DATA
        if not data_dir.is_dir():
            raise InputError(str(data_dir), "data folder not found")
        catalog = Catalog.from_csv(data_dir / "catalog.csv")
        model = DemandModel.from_json(data_dir / "model.json")
        last_path = data_dir / "last_sheet.csv"
        last_prices = read_last_prices(last_path, catalog) if last_path.exists() else {}
        return cls(catalog, model, settings or Settings.from_toml(), last_prices, data_dir)


def input_hashes(data_dir: Path | None, extra: Mapping[str, Path] | None = None) -> dict[str, str]:
    """SHA-256 of each input file that exists, keyed by file name."""
    out: dict[str, str] = {}
    paths = {name: data_dir / name for name in _INPUT_FILES} if data_dir else {}
    paths.update(extra or {})
    for name, path in paths.items():
        if path.exists():
            out[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out
