"""Saved scenarios and finance's decisions, kept in one local SQLite file.

The store lives in a folder (``$BUNDLE_PRICING_STORE``, default ``scenarios/`` at the repo root)
as ``store.sqlite``. A scenario is a what-if's controls, the settings it ran with, its headline
figures and its price sheet. Every approval or rejection is kept with who, when and why; an
approval also writes the sheet as ``<data dir>/last_sheet.csv`` (aside, then renamed), so it
becomes the last approved sheet the optimizer's stability rule reads.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import sqlite3
import tempfile
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from models.errors import InputError
from pricing.domain.catalog import Catalog
from pricing.domain.last_sheet import read_last_prices
from pricing.files.atomic import write_outputs

__all__ = ["Scenario", "Decision", "ScenarioStore", "default_store_dir", "STORE_ENV", "DECISIONS"]

STORE_ENV = "BUNDLE_PRICING_STORE"
DECISIONS = ("approved", "rejected")
_REPO = Path(__file__).resolve().parents[2]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS scenarios (
    name TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    controls TEXT NOT NULL,
    settings TEXT NOT NULL,
    summary TEXT NOT NULL,
    sheet_csv TEXT NOT NULL,
    data_dir TEXT
);
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    scenario TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('approved', 'rejected')),
    reviewer TEXT NOT NULL,
    comment TEXT NOT NULL,
    decided_at TEXT NOT NULL,
    sheet_csv TEXT NOT NULL,
    written_to TEXT
);
"""


def _check_readable(sheet_csv: str, data_dir: Path) -> None:
    """Raise :class:`InputError` unless the next run can read ``sheet_csv`` as the data folder's
    ``last_sheet.csv`` (every SKU in its catalog, one price per SKU set)."""
    if not (data_dir / "catalog.csv").exists():
        return
    catalog = Catalog.from_csv(data_dir / "catalog.csv")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "last_sheet.csv"
        path.write_text(sheet_csv, encoding="utf-8")
        read_last_prices(path, catalog)


def default_store_dir() -> Path:
    """``$BUNDLE_PRICING_STORE`` if set, else ``scenarios/`` at the repo root."""
    return Path(os.environ.get(STORE_ENV) or _REPO / "scenarios")


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Scenario:
    """One saved what-if: ``controls`` (the app's controls), ``settings`` (by TOML section),
    ``summary`` (headline figures, CNY a month and shares) and ``sheet_csv`` (the price sheet
    exactly as the CLI writes it)."""

    name: str
    created_at: str
    controls: Mapping[str, Any]
    settings: Mapping[str, Any]
    summary: Mapping[str, Any]
    sheet_csv: str
    data_dir: str | None = None

    @property
    def sheet(self) -> pd.DataFrame:
        """The sheet's rows; text cells as written (formula-neutralised)."""
        return pd.read_csv(io.StringIO(self.sheet_csv), dtype={"bundle_id": str, "name": str, "skus": str})


@dataclass(frozen=True)
class Decision:
    """One approval or rejection of a scenario's sheet."""

    id: int
    scenario: str
    decision: str
    reviewer: str
    comment: str
    decided_at: str
    written_to: str | None


class ScenarioStore:
    """Scenarios and decisions in ``<folder>/store.sqlite``; the folder is made when needed."""

    def __init__(self, folder: str | Path | None = None):
        self.folder = Path(folder) if folder is not None else default_store_dir()
        self.path = self.folder / "store.sqlite"

    def _connect(self) -> sqlite3.Connection:
        self.folder.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path)
        con.executescript(_SCHEMA)
        return con

    # -- scenarios --------------------------------------------------------------------------
    def save(self, name: str, controls: Mapping[str, Any], settings: Mapping[str, Any],
             summary: Mapping[str, Any], sheet_csv: str, data_dir: str | Path | None = None) -> Scenario:
        """Save (or overwrite) the scenario ``name``.

        Raises
        ------
        InputError
            An empty name.
        """
        name = name.strip()
        if not name:
            raise InputError("scenario name", "must not be empty")
        scenario = Scenario(name, _now(), dict(controls), dict(settings), dict(summary), sheet_csv,
                            None if data_dir is None else str(data_dir))
        with closing(self._connect()) as con, con:
            con.execute(
                "INSERT OR REPLACE INTO scenarios VALUES (?, ?, ?, ?, ?, ?, ?)",
                (scenario.name, scenario.created_at, json.dumps(scenario.controls), json.dumps(scenario.settings),
                 json.dumps(scenario.summary), scenario.sheet_csv, scenario.data_dir),
            )
        return scenario

    def names(self) -> list[str]:
        """Saved scenario names, newest first."""
        with closing(self._connect()) as con:
            return [r[0] for r in con.execute("SELECT name FROM scenarios ORDER BY created_at DESC, rowid DESC")]

    def load(self, name: str) -> Scenario:
        with closing(self._connect()) as con:
            row = con.execute("SELECT * FROM scenarios WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise InputError("scenario", f"no saved scenario named {name!r}")
        return Scenario(row[0], row[1], json.loads(row[2]), json.loads(row[3]), json.loads(row[4]), row[5], row[6])

    # -- decisions --------------------------------------------------------------------------
    def decide(self, name: str, decision: str, reviewer: str, comment: str,
               data_dir: str | Path | None = None) -> Decision:
        """Record finance's decision on scenario ``name``. An approval writes the scenario's sheet
        to ``<data_dir>/last_sheet.csv`` first (all or nothing), then records where it went.

        Raises
        ------
        InputError
            An unknown decision or scenario, an empty reviewer or comment, approving without a
            data folder, or a sheet the folder's catalog cannot read (nothing is written then).
        """
        if decision not in DECISIONS:
            raise InputError("decision", f"must be one of {', '.join(DECISIONS)}, got {decision!r}")
        reviewer, comment = reviewer.strip(), comment.strip()
        if not reviewer:
            raise InputError("reviewer", "must not be empty: say who decides")
        if not comment:
            raise InputError("comment", "must not be empty: say why")
        scenario = self.load(name)
        written_to = None
        if decision == "approved":
            if data_dir is None:
                raise InputError("approval", "needs the data folder to write last_sheet.csv into")
            target = Path(data_dir)
            _check_readable(scenario.sheet_csv, target)
            write_outputs(target, {"last_sheet.csv": lambda p: p.write_text(scenario.sheet_csv, encoding="utf-8")})
            written_to = str(target / "last_sheet.csv")
        decided_at = _now()
        with closing(self._connect()) as con, con:
            cur = con.execute(
                "INSERT INTO decisions (scenario, decision, reviewer, comment, decided_at, sheet_csv, written_to) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (name, decision, reviewer, comment, decided_at, scenario.sheet_csv, written_to),
            )
        return Decision(int(cur.lastrowid), name, decision, reviewer, comment, decided_at, written_to)

    def history(self) -> list[Decision]:
        """Every decision, newest first."""
        with closing(self._connect()) as con:
            rows = con.execute("SELECT id, scenario, decision, reviewer, comment, decided_at, written_to "
                               "FROM decisions ORDER BY id DESC").fetchall()
        return [Decision(*row) for row in rows]

    def last_approved(self) -> Decision | None:
        return next((d for d in self.history() if d.decision == "approved"), None)
