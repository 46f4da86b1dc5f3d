"""The problem object: catalog, demand model, settings and last approved prices, frozen."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from models.demand import DemandModel
from models.errors import InputError
from models.tables import read_text
from pricing.domain.catalog import Catalog
from pricing.domain.settings import Settings
from pricing.domain.last_sheet import read_last_prices
from pricing.domain.limits import check_candidate_limits
from pricing.domain.volumes import read_volumes

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
        # Known before anything is allocated: refuse a candidate space beyond the documented limits.
        check_candidate_limits(self.catalog, self.settings, len(self.model.segments))

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
        last_prices = read_last_prices(last_path, catalog) if _present(last_path) else {}
        # Not used by a solve, but hashed into run.json as inputs of the run: checked now, not
        # after the solve (a folder in their place, an unreadable or a malformed forecast).
        if _present(data_dir / "volumes.csv"):
            read_volumes(data_dir / "volumes.csv")
        if _present(data_dir / "history.csv"):
            read_text(data_dir / "history.csv", "the offer history as CSV")
        return cls(catalog, model, settings or Settings.from_toml(), last_prices, data_dir)


def input_hashes(data_dir: Path | None, extra: Mapping[str, Path] | None = None) -> dict[str, str]:
    """SHA-256 of each input file that exists, keyed by file name."""
    out: dict[str, str] = {}
    paths = {name: data_dir / name for name in _INPUT_FILES} if data_dir else {}
    paths.update(extra or {})
    for name, path in paths.items():
        if _present(path):
            out[name] = _sha256(path)
    return out


def _present(path: Path) -> bool:
    """True when something is at ``path`` (a folder or a broken link included: the reader then
    says what is wrong, rather than the file being taken as absent)."""
    return path.exists() or path.is_symlink()


def _sha256(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        what = "is a folder, expected a file" if path.is_dir() else "cannot be read"
        raise InputError(path.name, f"{what} ({exc.strerror or type(exc).__name__}); its hash goes into run.json") from None
