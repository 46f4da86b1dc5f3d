"""Finance's decisions on a price sheet, for any kind of subject (a saved scenario, a market of a
monthly run), as one transaction, and the last approved sheet derived from them.

:meth:`Approvals.decide` checks the actor's role, the four-eyes rule and the comment, then records
the decision and its trail entry in one ``BEGIN IMMEDIATE`` transaction. The last approved sheet
file is not written inside it: after the commit, :meth:`Approvals.publish` re-derives it from the
store (the newest approval for that file) under a lock and writes it aside under a name unique to
that write, then renames it into place. Whoever publishes last therefore writes the newest
recorded approval, so after any number of concurrent approvals the file equals the newest one.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import sqlite3
import threading
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterator

from models.errors import InputError
from pricing.access import audit
from pricing.access.database import connect, default_store_dir, transaction
from pricing.access.roles import AccessDenied, Identity, Permission, require
from pricing.files.atomic import hold_part

__all__ = ["DECISIONS", "Subject", "Decision", "Approvals", "FourEyesViolation", "StaleReview", "LAST_SHEET"]

DECISIONS = ("approved", "rejected")
LAST_SHEET = "last_sheet.csv"
_COLUMNS = "id, subject_kind, subject, decision, actor, actor_role, comment, decided_at, saved_by, target, audit_seq"
_THREAD_LOCKS: dict[str, threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


class FourEyesViolation(AccessDenied):
    """The person who saved a sheet may not approve it."""


class StaleReview(AccessDenied):
    """The sheet changed between the reviewer opening it and deciding."""


@dataclass(frozen=True)
class Subject:
    """What finance decides on: its ``kind`` (``"scenario"``, ``"run"``), its ``key`` (a scenario
    name, ``"2026-12/north"``), the sheet as CSV text and who saved it (None: not recorded)."""

    kind: str
    key: str
    sheet_csv: str
    saved_by: str | None

    @property
    def trail_subject(self) -> str:
        return f"{self.kind}:{self.key}"


@dataclass(frozen=True)
class Decision:
    """One recorded decision. ``actor`` is the signed-in person, ``actor_role`` their role then,
    ``target`` the last-sheet file an approval publishes to, ``audit_seq`` its trail entry."""

    id: int
    subject_kind: str
    subject: str
    decision: str
    actor: str
    actor_role: str
    comment: str
    decided_at: str
    saved_by: str | None
    target: str | None
    audit_seq: int | None
    publish_error: str | None = None

    @property
    def written_to(self) -> str | None:
        return self.target if self.decision == "approved" else None


def _check_request(decision: str, actor: Identity, comment: str) -> str:
    require(actor, Permission.DECIDE)
    if decision not in DECISIONS:
        raise InputError("decision", f"must be one of {', '.join(DECISIONS)}, got {str(decision)[:80]!r}")
    comment = comment.strip()
    if not comment:
        why = "say why it is rejected" if decision == "rejected" else "say why"
        raise InputError("comment", f"must not be empty: {why}")
    return comment


def _checked_name(sheet_name: str) -> str:
    """A published file's name: one plain file name ending ``.csv`` (never a path)."""
    if not sheet_name.endswith(".csv") or Path(sheet_name).name != sheet_name or sheet_name.startswith("."):
        raise InputError("sheet_name", f"must be a file name ending .csv, got {sheet_name[:80]!r}")
    return sheet_name


@contextlib.contextmanager
def _publish_lock(lock_dir: Path, target: str) -> Iterator[None]:
    """One publisher per target file: a thread lock (app sessions are threads of one process)
    and an advisory file lock (other processes: the CLI, a second server)."""
    with _THREAD_LOCKS_GUARD:
        lock = _THREAD_LOCKS.setdefault(target, threading.Lock())
    name = hashlib.sha256(target.encode("utf-8")).hexdigest()[:16]
    with lock, open(lock_dir / f".publish-{name}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class Approvals:
    """Decisions kept in ``<folder>/store.sqlite`` beside the trail."""

    def __init__(self, folder: str | Path | None = None):
        self.folder = Path(folder) if folder is not None else default_store_dir()

    def _connect(self) -> sqlite3.Connection:
        return connect(self.folder)

    def decide(self, load_subject: Callable[[sqlite3.Connection], Subject], decision: str, actor: Identity,
               comment: str, target_dir: str | Path | None = None, expected_sheet_sha256: str | None = None,
               sheet_name: str = LAST_SHEET) -> Decision:
        """Record ``actor``'s decision on the subject ``load_subject`` reads (inside the
        transaction, so it is the sheet that is decided on), then publish an approval.

        Parameters
        ----------
        target_dir
            Folder whose ``sheet_name`` an approval becomes (None: an approval publishes nothing).
        expected_sheet_sha256
            SHA-256 of the sheet the reviewer saw; refused when the subject changed since.
        sheet_name
            The published file's name in ``target_dir``: ``last_sheet.csv`` (the app's data folder),
            ``<market>.csv`` (``DATA/last_sheets``, a market of the monthly run).

        Raises
        ------
        AccessDenied
            ``actor`` lacks the finance role.
        FourEyesViolation
            ``actor`` saved the sheet they approve.
        StaleReview
            The sheet is no longer the one reviewed.
        InputError
            An unknown decision or subject, an empty comment, a missing target folder.

        A failure to write the last sheet after the commit does not undo the decision: it is
        returned in :attr:`Decision.publish_error`, and :meth:`publish` writes it later.
        """
        comment = _check_request(decision, actor, comment)
        if target_dir is not None and not Path(target_dir).is_dir():
            raise InputError(str(target_dir), "data folder not found: nothing was recorded")
        target = None if target_dir is None else str(Path(target_dir).absolute() / _checked_name(sheet_name))
        con = self._connect()
        try:
            with transaction(con):
                decided = self._record(con, load_subject(con), decision, actor, comment, target,
                                       expected_sheet_sha256)
        finally:
            con.close()
        if decided.target is not None:
            try:
                self.publish(Path(target_dir), sheet_name)
            except OSError as exc:  # recorded all the same; publish() at the next start catches up
                return replace(decided, publish_error=f"{decided.target} could not be written "
                                                      f"({exc.strerror or exc}); the decision is recorded")
        return decided

    @staticmethod
    def import_legacy(con: sqlite3.Connection, rows: list[tuple]) -> int:
        """Carry decisions recorded before sign-in existed (typed names, no trail) into the
        approvals and the trail, inside the caller's transaction. Each is kept as it was, its
        actor marked ``unverified:<typed name>`` and its role ``unknown``, so nobody mistakes it
        for a signed decision. ``rows``: (scenario, decision, reviewer, comment, decided_at,
        sheet_csv, written_to). Returns how many were carried."""
        for scenario, decision, reviewer, comment, decided_at, sheet_csv, written_to in rows:
            target = written_to if decision == "approved" else None
            cur = con.execute(
                "INSERT INTO approvals (subject_kind, subject, decision, actor, actor_role, comment, decided_at, "
                "saved_by, sheet_csv, target) VALUES ('scenario', ?, ?, ?, 'unknown', ?, ?, NULL, ?, ?)",
                (scenario, decision, f"unverified:{reviewer}", comment, decided_at, sheet_csv, target))
            entry = audit.append(con, f"unverified:{reviewer}", "decision", f"scenario:{scenario}", {
                "approval_id": int(cur.lastrowid), "decision": decision, "actor_role": "unknown", "comment": comment,
                "decided_at": decided_at, "saved_by": None, "sheet_sha256": audit.fingerprint(sheet_csv),
                "target": target})
            con.execute("UPDATE approvals SET audit_seq = ? WHERE id = ?", (entry.seq, cur.lastrowid))
        return len(rows)

    @staticmethod
    def _record(con: sqlite3.Connection, subject: Subject, decision: str, actor: Identity, comment: str,
                target: str | None, expected_sheet_sha256: str | None) -> Decision:
        """The checks that need the subject, then the decision row and its trail entry (inside
        the caller's transaction)."""
        sheet_sha = audit.fingerprint(subject.sheet_csv)
        if expected_sheet_sha256 is not None and sheet_sha != expected_sheet_sha256:
            raise StaleReview(f"{subject.kind} {subject.key!r} was saved again after you opened it; "
                              "review the new sheet and decide again")
        if decision == "approved" and subject.saved_by == actor.username:
            raise FourEyesViolation(f"four eyes: {actor.username} saved {subject.kind} {subject.key!r} and "
                                    "may not approve it; another finance reviewer must")
        decided_at = audit.now_utc()
        target = target if decision == "approved" else None
        cur = con.execute(
            "INSERT INTO approvals (subject_kind, subject, decision, actor, actor_role, comment, decided_at, "
            "saved_by, sheet_csv, target) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (subject.kind, subject.key, decision, actor.username, actor.role.value, comment, decided_at,
             subject.saved_by, subject.sheet_csv, target))
        approval_id = int(cur.lastrowid)
        entry = audit.append(con, actor.username, "decision", subject.trail_subject, {
            "approval_id": approval_id, "decision": decision, "actor_role": actor.role.value,
            "comment": comment, "decided_at": decided_at, "saved_by": subject.saved_by,
            "sheet_sha256": sheet_sha, "target": target})
        con.execute("UPDATE approvals SET audit_seq = ? WHERE id = ?", (entry.seq, approval_id))
        return Decision(approval_id, subject.kind, subject.key, decision, actor.username, actor.role.value, comment,
                        decided_at, subject.saved_by, target, entry.seq)

    def newest_approved_sheet(self, target_dir: str | Path, sheet_name: str = LAST_SHEET) -> str | None:
        """The sheet of the newest approval published to ``target_dir/sheet_name``."""
        target = str(Path(target_dir).absolute() / _checked_name(sheet_name))
        con = self._connect()
        try:
            row = con.execute("SELECT sheet_csv FROM approvals WHERE target = ? AND decision = 'approved' "
                              "ORDER BY id DESC LIMIT 1", (target,)).fetchone()
        finally:
            con.close()
        return None if row is None else row[0]

    def publish(self, target_dir: str | Path, sheet_name: str = LAST_SHEET) -> Path | None:
        """Write the newest recorded approval to ``<target_dir>/<sheet_name>`` (aside under a
        unique name, flushed, renamed) unless it is there already; None when nothing was approved
        for that file. Safe to call from many threads and processes at once."""
        folder = Path(target_dir)
        path = folder / _checked_name(sheet_name)
        with _publish_lock(self.folder, str(path.absolute())):
            sheet = self.newest_approved_sheet(folder, sheet_name)
            if sheet is None:
                return None
            with contextlib.suppress(OSError, UnicodeDecodeError):
                if path.read_text(encoding="utf-8") == sheet:
                    return path
            tmp = folder / f".{path.name}.{uuid.uuid4().hex}.part"
            hold = hold_part(tmp)  # a fit clearing leftovers in the data folder meanwhile leaves it alone
            try:
                with open(tmp, "w", encoding="utf-8", newline="") as handle:
                    handle.write(sheet)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, path)
            finally:
                os.close(hold)
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
        return path

    def history(self, subject_kind: str | None = None) -> list[Decision]:
        """Every decision (of one kind of subject, when given), newest first."""
        con = self._connect()
        try:
            sql = f"SELECT {_COLUMNS} FROM approvals"
            rows = (con.execute(sql + " WHERE subject_kind = ? ORDER BY id DESC", (subject_kind,)) if subject_kind
                    else con.execute(sql + " ORDER BY id DESC")).fetchall()
        finally:
            con.close()
        return [Decision(*row) for row in rows]
