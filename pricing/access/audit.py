"""The tamper-evident trail: every decision and every user change, each entry holding the hash of
the one before.

An entry's hash is the SHA-256 of its canonical JSON (keys sorted, no spaces, UTF-8) with the
previous entry's hash inside, so changing, inserting or deleting any entry breaks every link after
it. The chain alone cannot stop someone who rewrites it whole from the first changed entry on:
:func:`verify` therefore also checks the tables the app trusts (approvals, users) against the
trail, and prints the head (sequence number and hash) to be kept elsewhere; ``--anchor`` checks a
head kept earlier is still there.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from pricing.access.database import connect

__all__ = ["GENESIS", "TrailEntry", "ChainReport", "canonical_json", "entry_hash", "append", "entries", "verify",
           "latest_about", "now_utc", "fingerprint"]

GENESIS = "0" * 64


def now_utc() -> str:
    """Now, UTC, ISO 8601 to the microsecond (entries sort and read unambiguously)."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")


def canonical_json(value: Any) -> str:
    """One spelling per value: sorted keys, no spaces, no NaN."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def fingerprint(text: str) -> str:
    """SHA-256 of ``text`` (UTF-8), hex: how the trail names a sheet or a password hash without
    copying it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class TrailEntry:
    """One link of the chain. ``details`` is a JSON object; ``subject`` what it is about (a user
    name, ``scenario:<name>``)."""

    seq: int
    at: str
    actor: str
    kind: str
    subject: str
    details: Mapping[str, Any]
    prev_hash: str
    hash: str

    def body(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at, "actor": self.actor, "kind": self.kind, "subject": self.subject,
                "details": dict(self.details), "prev_hash": self.prev_hash}


def entry_hash(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(dict(body)).encode("utf-8")).hexdigest()


def append(con: sqlite3.Connection, actor: str, kind: str, subject: str, details: Mapping[str, Any]) -> TrailEntry:
    """Append an entry; call inside :func:`pricing.access.database.transaction` so that the entry
    and the change it records commit together (and no other writer slips in between)."""
    last = con.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (1, GENESIS) if last is None else (last[0] + 1, last[1])
    body = {"seq": seq, "at": now_utc(), "actor": actor, "kind": kind, "subject": subject,
            "details": dict(details), "prev_hash": prev}
    digest = entry_hash(body)
    con.execute("INSERT INTO audit (seq, at, actor, kind, subject, details, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?)",
                (seq, body["at"], actor, kind, subject, canonical_json(body["details"]), prev, digest))
    return TrailEntry(seq, body["at"], actor, kind, subject, body["details"], prev, digest)


def _row_entry(row: tuple) -> TrailEntry:
    return TrailEntry(row[0], row[1], row[2], row[3], row[4], json.loads(row[5]), row[6], row[7])


def entries(con: sqlite3.Connection, newest_first: bool = False, limit: int | None = None) -> list[TrailEntry]:
    order = "DESC" if newest_first else "ASC"
    sql = f"SELECT seq, at, actor, kind, subject, details, prev_hash, hash FROM audit ORDER BY seq {order}"
    rows = con.execute(sql + (f" LIMIT {int(limit)}" if limit else "")).fetchall()
    return [_row_entry(r) for r in rows]


def latest_about(con: sqlite3.Connection, subject: str) -> TrailEntry | None:
    """The newest entry about ``subject`` (a user's current state lives there)."""
    row = con.execute("SELECT seq, at, actor, kind, subject, details, prev_hash, hash FROM audit "
                      "WHERE subject = ? ORDER BY seq DESC LIMIT 1", (subject,)).fetchone()
    return None if row is None else _row_entry(row)


@dataclass(frozen=True)
class ChainReport:
    """What :func:`verify` found: ``intact`` and, when not, the first broken entry and why."""

    entries: int
    head_seq: int
    head_hash: str
    broken_seq: int | None = None
    problem: str | None = None
    mismatches: tuple[str, ...] = field(default=())

    @property
    def intact(self) -> bool:
        return self.problem is None

    def line(self) -> str:
        """One line for a terminal or a page."""
        if self.intact:
            return f"trail intact: {self.entries} entries, head {self.head_seq} {self.head_hash}"
        where = f"entry {self.broken_seq}" if self.broken_seq is not None else "the store"
        return f"trail BROKEN at {where}: {self.problem}"


def _chain_problem(rows: list[tuple]) -> tuple[int | None, str | None, int, str]:
    """First broken link of the raw rows: (seq, problem, head seq, head hash)."""
    prev, expected_seq = GENESIS, 1
    for row in rows:
        seq = row[0]
        if seq != expected_seq:
            return seq, f"expected entry {expected_seq} next, found {seq} (entries removed or inserted)", 0, prev
        try:
            entry = _row_entry(row)
        except (ValueError, TypeError) as exc:
            return seq, f"details are not valid JSON ({exc})", 0, prev
        if entry.prev_hash != prev:
            return seq, "its prev_hash does not match the hash of the entry before it", 0, prev
        if entry_hash(entry.body()) != entry.hash:
            return seq, "its contents do not match its hash (edited after it was written)", 0, prev
        prev, expected_seq = entry.hash, seq + 1
    return None, None, expected_seq - 1, prev


def _table_mismatches(con: sqlite3.Connection) -> list[tuple[int | None, str]]:
    """Rows of the approvals and users tables that the trail does not vouch for."""
    found: list[tuple[int | None, str]] = []
    for row in con.execute("SELECT id, subject_kind, subject, decision, actor, actor_role, comment, decided_at, "
                           "saved_by, sheet_csv, target, audit_seq FROM approvals ORDER BY id"):
        entry_row = con.execute("SELECT seq, at, actor, kind, subject, details, prev_hash, hash FROM audit "
                                "WHERE seq = ?", (row[11],)).fetchone()
        expected = {"approval_id": row[0], "decision": row[3], "actor_role": row[5], "comment": row[6],
                    "decided_at": row[7], "saved_by": row[8], "sheet_sha256": fingerprint(row[9]), "target": row[10]}
        entry = None if entry_row is None else _row_entry(entry_row)
        if (entry is None or entry.kind != "decision" or entry.actor != row[4]
                or entry.subject != f"{row[1]}:{row[2]}" or dict(entry.details) != expected):
            found.append((row[11], f"approvals row {row[0]} ({row[3]} of {row[1]} {row[2]!r}) differs from its trail entry"))
    for username, role, password_hash, must_change in con.execute(
            "SELECT username, role, password_hash, must_change FROM users ORDER BY username"):
        entry = latest_about(con, f"user:{username}")
        state = None if entry is None else entry.details.get("state")
        if state != {"role": role, "password": fingerprint(password_hash), "must_change": bool(must_change)}:
            found.append((None if entry is None else entry.seq,
                          f"user {username!r} in the users table differs from the trail's last entry about them"))
    return found


def verify(folder: Path, anchor: tuple[int, str] | None = None) -> ChainReport:
    """Check the chain of ``<folder>/store.sqlite``, then the approvals and users against it.

    Parameters
    ----------
    folder
        The store folder.
    anchor
        ``(seq, hash)`` of a head recorded earlier: that entry must still exist with that hash.
    """
    con = connect(Path(folder))
    try:
        rows = con.execute("SELECT seq, at, actor, kind, subject, details, prev_hash, hash FROM audit ORDER BY seq").fetchall()
        seq, problem, head_seq, head_hash = _chain_problem(rows)
        if problem is not None:
            return ChainReport(len(rows), head_seq, head_hash, seq, problem)
        if anchor is not None:
            kept = dict((r[0], r[7]) for r in rows).get(anchor[0])
            if kept != anchor[1]:
                return ChainReport(len(rows), head_seq, head_hash, anchor[0],
                                   f"the anchor {anchor[0]}:{anchor[1][:12]}... is not in the trail any more "
                                   "(the trail was rewritten or cut)")
        mismatches = _table_mismatches(con)
    finally:
        con.close()
    if mismatches:
        seq, first = mismatches[0]
        return ChainReport(len(rows), head_seq, head_hash, seq, first, tuple(m for _, m in mismatches))
    return ChainReport(len(rows), head_seq, head_hash)
