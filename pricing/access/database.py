"""The store file: one SQLite database readable by its owner only, opened the same way by everyone.

Every connection uses write-ahead logging and a busy timeout, so readers never block the one
writer and a second writer waits instead of failing; :func:`transaction` starts with
``BEGIN IMMEDIATE``, taking the write lock before anything is read, so a check made inside it
(this person did not save that scenario; the chain's last hash is X) still holds at commit.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from pathlib import Path
from typing import Iterator

from models.errors import InputError

__all__ = ["STORE_ENV", "STORE_FILE", "default_store_dir", "connect", "transaction", "BUSY_TIMEOUT_SECONDS"]

STORE_ENV = "BUNDLE_PRICING_STORE"
STORE_FILE = "store.sqlite"
BUSY_TIMEOUT_SECONDS = 30.0
_REPO = Path(__file__).resolve().parents[2]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    must_change INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    last_sign_in TEXT
);
CREATE TABLE IF NOT EXISTS sign_in_failures (
    username TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    locked_until REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS approvals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subject_kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('approved', 'rejected')),
    actor TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    comment TEXT NOT NULL,
    decided_at TEXT NOT NULL,
    saved_by TEXT,
    sheet_csv TEXT NOT NULL,
    target TEXT,
    audit_seq INTEGER
);
CREATE INDEX IF NOT EXISTS approvals_by_target ON approvals (target, decision, id);
"""


def default_store_dir() -> Path:
    """``$BUNDLE_PRICING_STORE`` if set, else ``scenarios/`` at the repo root."""
    return Path(os.environ.get(STORE_ENV) or _REPO / "scenarios")


def _create_private(path: Path) -> None:
    """Make the folder (0700) and an empty database file (0600) before SQLite opens it, so the
    file is never readable by others, not even for a moment."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def _use_wal(con: sqlite3.Connection) -> None:
    """Switch the store to write-ahead logging, once: the mode stays in the file. Asking for WAL
    when it is already on still takes a lock, and SQLite answers "database is locked" at once,
    without waiting out the busy timeout, when another connection holds one (seen with two
    approvals racing: about one run in two of 100 pairs). So read the mode first, and retry the
    switch itself (only a new store needs it) until the busy timeout."""
    if str(con.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
        return
    give_up = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            con.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > give_up:
                raise
            time.sleep(0.01)


def connect(folder: Path, extra_schema: str = "") -> sqlite3.Connection:
    """Open ``<folder>/store.sqlite`` (created private when missing) in autocommit mode; use
    :func:`transaction` for every write. :class:`InputError` when it cannot be opened (a file
    where the folder should be, not a database, no permission)."""
    path = Path(folder) / STORE_FILE
    try:
        _create_private(path)
        con = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False)
        try:
            con.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
            _use_wal(con)
            con.execute("PRAGMA foreign_keys = ON")
            con.executescript(_SCHEMA + extra_schema)
        except sqlite3.Error:
            con.close()
            raise
    except (OSError, sqlite3.Error) as exc:
        raise InputError(str(path), f"cannot open the store ({str(exc)[:120]}); check ${STORE_ENV}") from None
    # WAL and shared-memory side files inherit the process umask: keep them private too.
    for side in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError, PermissionError):
            os.chmod(side, 0o600)
    return con


@contextlib.contextmanager
def transaction(con: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, or ``ROLLBACK`` on any exception."""
    con.execute("BEGIN IMMEDIATE")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
