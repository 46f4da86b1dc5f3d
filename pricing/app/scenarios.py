"""Saved scenarios and finance's decisions on them, kept in the store's SQLite file.

The store lives in a folder (``$BUNDLE_PRICING_STORE``, default ``scenarios/`` at the repo root)
as ``store.sqlite``, readable by its owner only. A scenario is a what-if's controls, the settings
it ran with, its headline figures, its price sheet and who saved it (the signed-in pricing
manager). Saving and deciding both need a signed-in :class:`~pricing.access.Identity` of the right
role, and both are appended to the tamper-evident trail. An approval (finance only, never of one's
own scenario) is one transaction with its trail entry; the data folder's ``last_sheet.csv`` is then
derived from the store, so it always equals the newest recorded approval
(:class:`pricing.access.Approvals`).
"""

from __future__ import annotations

import io
import json
import sqlite3
import tempfile
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from models.errors import InputError
from pricing.access import audit
from pricing.access.approvals import DECISIONS, Approvals, Decision, Subject
from pricing.access.database import STORE_ENV, connect, default_store_dir, transaction
from pricing.access.roles import AccessDenied, Identity, Permission, require
from pricing.domain.catalog import Catalog
from pricing.domain.last_sheet import read_last_prices

__all__ = ["Scenario", "Decision", "ScenarioStore", "default_store_dir", "STORE_ENV", "DECISIONS", "SCENARIO", "read_sheet"]

SCENARIO = "scenario"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS scenarios (
    name TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    controls TEXT NOT NULL,
    settings TEXT NOT NULL,
    summary TEXT NOT NULL,
    sheet_csv TEXT NOT NULL,
    data_dir TEXT,
    saved_by TEXT
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


def read_sheet(sheet_csv: str) -> pd.DataFrame:
    """A price sheet's rows from its CSV text; text cells as written (formula-neutralised)."""
    return pd.read_csv(io.StringIO(sheet_csv), dtype={"bundle_id": str, "name": str, "skus": str})


@dataclass(frozen=True)
class Scenario:
    """One saved what-if: ``controls`` (the app's controls), ``settings`` (by TOML section),
    ``summary`` (headline figures, CNY a month and shares), ``sheet_csv`` (the price sheet
    exactly as the CLI writes it) and ``saved_by`` (the signed-in user who saved it)."""

    name: str
    created_at: str
    controls: Mapping[str, Any]
    settings: Mapping[str, Any]
    summary: Mapping[str, Any]
    sheet_csv: str
    data_dir: str | None = None
    saved_by: str | None = None

    @property
    def sheet(self) -> pd.DataFrame:
        """The sheet's rows; text cells as written (formula-neutralised)."""
        return read_sheet(self.sheet_csv)

    @property
    def sheet_sha256(self) -> str:
        return audit.fingerprint(self.sheet_csv)


def _row_scenario(row: tuple) -> Scenario:
    return Scenario(row[0], row[1], json.loads(row[2]), json.loads(row[3]), json.loads(row[4]), row[5], row[6], row[7])


class ScenarioStore:
    """Scenarios and decisions in ``<folder>/store.sqlite``; the folder is made (private) when needed."""

    def __init__(self, folder: str | Path | None = None):
        self.folder = Path(folder) if folder is not None else default_store_dir()
        self.path = self.folder / "store.sqlite"
        self.approvals = Approvals(self.folder)

    def _connect(self) -> sqlite3.Connection:
        con = connect(self.folder, _SCHEMA)
        columns = {r[1] for r in con.execute("PRAGMA table_info(scenarios)")}
        if "saved_by" not in columns:  # a store from before sign-in: its scenarios' savers are unknown
            con.execute("ALTER TABLE scenarios ADD COLUMN saved_by TEXT")
        if con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'decisions'").fetchone():
            self._import_legacy_decisions(con)
        return con

    @staticmethod
    def _import_legacy_decisions(con: sqlite3.Connection) -> None:
        """Decisions typed before sign-in existed go into the trail once, marked unverified; the
        old table is kept, renamed, beside them."""
        with transaction(con):
            if not con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'decisions'").fetchone():
                return  # another connection got there first
            rows = con.execute("SELECT scenario, decision, reviewer, comment, decided_at, sheet_csv, written_to "
                               "FROM decisions ORDER BY id").fetchall()
            Approvals.import_legacy(con, rows)
            con.execute("ALTER TABLE decisions RENAME TO decisions_before_sign_in")

    # -- scenarios --------------------------------------------------------------------------
    def save(self, name: str, controls: Mapping[str, Any], settings: Mapping[str, Any],
             summary: Mapping[str, Any], sheet_csv: str, data_dir: str | Path | None = None,
             actor: Identity | None = None) -> Scenario:
        """Save (or overwrite) the scenario ``name`` as ``actor`` (a pricing manager); the save
        and who made it go into the trail.

        Raises
        ------
        AccessDenied
            ``actor`` may not run what-ifs.
        InputError
            An empty name.
        """
        require(actor, Permission.WHATIF)
        name = name.strip()
        if not name:
            raise InputError("scenario name", "must not be empty")
        scenario = Scenario(name, audit.now_utc(), dict(controls), dict(settings), dict(summary), sheet_csv,
                            None if data_dir is None else str(data_dir), actor.username)
        with closing(self._connect()) as con, transaction(con):
            con.execute(
                "INSERT OR REPLACE INTO scenarios VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (scenario.name, scenario.created_at, json.dumps(scenario.controls), json.dumps(scenario.settings),
                 json.dumps(scenario.summary), scenario.sheet_csv, scenario.data_dir, scenario.saved_by),
            )
            audit.append(con, actor.username, "scenario_saved", f"{SCENARIO}:{name}",
                         {"saved_by": actor.username, "sheet_sha256": scenario.sheet_sha256})
        return scenario

    def names(self) -> list[str]:
        """Saved scenario names, newest first."""
        with closing(self._connect()) as con:
            return [r[0] for r in con.execute("SELECT name FROM scenarios ORDER BY created_at DESC, rowid DESC")]

    def load(self, name: str) -> Scenario:
        with closing(self._connect()) as con:
            return self._load(con, name)

    @staticmethod
    def _load(con: sqlite3.Connection, name: str) -> Scenario:
        row = con.execute("SELECT name, created_at, controls, settings, summary, sheet_csv, data_dir, saved_by "
                          "FROM scenarios WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise InputError("scenario", f"no saved scenario named {name!r}")
        return _row_scenario(row)

    def _subject(self, con: sqlite3.Connection, name: str, check_in: Path | None) -> Subject:
        """The scenario as finance decides on it, read inside the decision's transaction. Its
        saver must agree with the trail's last save of it (a scenarios row edited to name someone
        else, or no one, is refused, so the four-eyes rule cannot be dodged); a scenario saved
        before sign-in existed has no saver and no trail entry."""
        scenario = self._load(con, name)
        row = con.execute("SELECT details FROM audit WHERE subject = ? AND kind = 'scenario_saved' "
                          "ORDER BY seq DESC LIMIT 1", (f"{SCENARIO}:{name}",)).fetchone()
        recorded = None if row is None else json.loads(row[0])
        if (recorded is not None or scenario.saved_by is not None) and recorded != {
                "saved_by": scenario.saved_by, "sheet_sha256": scenario.sheet_sha256}:
            raise AccessDenied(f"scenario {name!r} does not match its entry in the audit trail; "
                               "run python -m pricing audit verify")
        if check_in is not None:
            _check_readable(scenario.sheet_csv, check_in)
        return Subject(SCENARIO, name, scenario.sheet_csv, scenario.saved_by)

    # -- decisions --------------------------------------------------------------------------
    def decide(self, name: str, decision: str, actor: Identity, comment: str,
               data_dir: str | Path | None = None, expected_sheet_sha256: str | None = None) -> Decision:
        """Record ``actor``'s decision on scenario ``name``; an approval then becomes
        ``<data_dir>/last_sheet.csv``.

        Raises
        ------
        AccessDenied
            ``actor`` is not finance (:class:`~pricing.access.AccessDenied`), saved the scenario
            (:class:`~pricing.access.FourEyesViolation`), or the scenario changed since it was
            reviewed (:class:`~pricing.access.StaleReview`).
        InputError
            An unknown decision or scenario, an empty comment, approving without a data folder,
            or a sheet the folder's catalog cannot read (nothing is recorded then).
        """
        require(actor, Permission.DECIDE)
        target = None
        if decision == "approved":
            if data_dir is None:
                raise InputError("approval", "needs the data folder to write last_sheet.csv into")
            target = Path(data_dir)
        return self.approvals.decide(lambda con: self._subject(con, name, target), decision, actor, comment,
                                     target, expected_sheet_sha256)

    def history(self) -> list[Decision]:
        """Every decision on a scenario, newest first."""
        return self.approvals.history(SCENARIO)

    def last_approved(self) -> Decision | None:
        return next((d for d in self.history() if d.decision == "approved"), None)
