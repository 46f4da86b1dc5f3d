"""Finance's view of the monthly runs: list runs and markets, load one market's result, and decide
on it as the signed-in reviewer.

A decision (:func:`decide_market`) is finance's :meth:`pricing.access.Approvals.decide` on the
subject ``run:<month>/revision-<n>/<market>``: role, four eyes, comment and its hash-chained
trail entry in one transaction. An approval publishes the market's sheet, from the store, to
``DATA/last_sheets/<market>.csv``, the file the next month's run reads as that market's last
approved sheet (its stability rule and drift check). After the commit the run folder's records
are written *from the store*: ``approvals/<market>.json`` (the decision as the run folder keeps
it) and ``<market>/approval.json`` (the contract the finance workbook and the ERP export read,
:mod:`pricing.files.approval`). The run's own files are never changed.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pandas as pd

from models.errors import InputError
from pricing.access import DECISIONS, Approvals, Decision, Identity, Permission, Subject, require
from pricing.files.approval import approval_of, write_approval
from pricing.files.atomic import dump_json, write_outputs
from pricing.runs.monthly import store
from pricing.runs.monthly.market import WRITTEN

__all__ = ["RunSummary", "MarketResult", "ApprovalError", "MarketDecision", "RUN_SUBJECT", "list_runs", "load_market",
           "decide_market", "subject_key", "sync_decisions"]

RUN_SUBJECT = "run"  # the approvals' subject kind of a market of a monthly run


class ApprovalError(Exception):
    """A market's sheet cannot be decided on (no sheet, or its files do not match their hashes)."""


@dataclass(frozen=True)
class RunSummary:
    """One revision of one month: where it is, its state, each market's status, each market's
    decision record (``approvals/<market>.json``), any note on records repaired or not, and who ran
    it (the manifest's ``run_by``, None when not recorded)."""

    month: str
    revision: int
    folder: Path
    status: str
    markets: dict[str, str]
    approved: dict[str, dict[str, Any]]
    notes: tuple[str, ...] = ()
    run_by: str | None = None

    @property
    def label(self) -> str:
        return f"{self.month} revision {self.revision} ({self.status})"


@dataclass(frozen=True)
class MarketResult:
    """A market's result for review: ``record`` (market.json), ``run`` (run.json, empty without a
    sheet), ``sheet`` (the price sheet, None without one), ``intact`` (files match their hashes),
    ``approval`` (its decision record, None while undecided)."""

    market: str
    folder: Path
    record: dict[str, Any]
    run: dict[str, Any]
    sheet: pd.DataFrame | None
    intact: bool
    approval: dict[str, Any] | None

    @property
    def sheet_sha256(self) -> str | None:
        path = self.folder / "price_sheet.csv"
        return _sha(path) if path.exists() else None


@dataclass(frozen=True)
class MarketDecision:
    """What :func:`decide_market` did: the recorded decision and the run folder's record of it."""

    decision: Decision
    record: dict[str, Any]


def subject_key(month: str, revision: int, market: str) -> str:
    """The approvals' subject of one market of one revision: ``2026-11/revision-2/North``."""
    return f"{month}/revision-{revision}/{market}"


def list_runs(runs_dir: Path, approvals: Approvals | None = None) -> list[RunSummary]:
    """Every revision under ``runs_dir``, newest month first, latest revision first.

    With ``approvals`` (the store), each revision's decision records are first brought in line
    with the store (:func:`sync_decisions`), so a decision whose files a killed process did not
    write shows as decided; what could not be repaired is in :attr:`RunSummary.notes`.
    """
    out = []
    runs_dir = Path(runs_dir)
    months = sorted((p for p in runs_dir.iterdir() if p.is_dir() and p.name[:4].isdigit()), reverse=True) \
        if runs_dir.is_dir() else []
    newest = _newest_decisions(approvals) if approvals is not None else None
    for month_dir in months:
        for folder in reversed(store.revisions(month_dir)):
            manifest = store.read_manifest(folder)
            markets = {m: entry.get("status", "?") for m, entry in manifest.get("markets", {}).items()}
            notes = sync_decisions(folder, approvals, newest) if approvals is not None else []
            out.append(RunSummary(manifest.get("month", month_dir.name), int(manifest.get("revision", 1)), folder,
                                  manifest.get("status", "?"), markets, _approvals(folder), tuple(notes),
                                  manifest.get("run_by") or None))
    return out


def _approvals(folder: Path) -> dict[str, dict[str, Any]]:
    out = {}
    for path in sorted((folder / "approvals").glob("*.json")) if (folder / "approvals").is_dir() else []:
        record = json.loads(path.read_text(encoding="utf-8"))
        out[record["market"]] = record
    return out


def load_market(revision_dir: Path, market: str) -> MarketResult:
    """Load one market's folder of a revision. Raises ``FileNotFoundError`` if it has none."""
    folder = Path(revision_dir) / store.folder_name(market)
    record = json.loads((folder / "market.json").read_text(encoding="utf-8"))
    run = json.loads((folder / "run.json").read_text(encoding="utf-8")) if (folder / "run.json").exists() else {}
    sheet_path = folder / "price_sheet.csv"
    sheet = pd.read_csv(sheet_path, dtype={"bundle_id": str, "name": str, "skus": str}) if sheet_path.exists() else None
    intact = all((folder / name).exists() and _sha(folder / name) == digest
                 for name, digest in record.get("files", {}).items())
    return MarketResult(market, folder, record, run, sheet, intact, _approvals(Path(revision_dir)).get(market))


def decide_market(revision_dir: Path, market: str, data_dir: Path, decision: str, actor: Identity, comment: str,
                  approvals: Approvals | None = None, expected_sheet_sha256: str | None = None) -> MarketDecision:
    """Record ``actor``'s decision on one market's sheet, then write the run folder's records.

    Order: the decision and its trail entry are committed in the store (one transaction); an
    approval then publishes ``DATA/last_sheets/<market>.csv`` from the store; last, the run
    folder's ``approvals/<market>.json`` and ``<market>/approval.json`` are written from the
    store's newest decision on that market. A process killed after the commit leaves the decision
    recorded (it stands) with some of those files missing or old: the next :func:`decide_market`
    or :func:`list_runs` with the store (the page calls it on every view) rewrites them, and
    :meth:`Approvals.publish` the last sheet.

    Parameters
    ----------
    decision : ``"approved"`` or ``"rejected"`` (a rejection publishes nothing).
    actor : the signed-in identity; it needs the finance role, and may not approve a run it ran
        (``run_by`` in the manifest, when recorded).
    comment : why; required (always for a rejection; the library asks it for an approval too).
    expected_sheet_sha256 : SHA-256 of the ``price_sheet.csv`` the reviewer saw (None: not checked).

    Raises
    ------
    ApprovalError
        The market has no sheet in this run, or its files do not match the hashes the run recorded.
    AccessDenied, FourEyesViolation, StaleReview, InputError
        From :meth:`Approvals.decide`; nothing is recorded or written.
    """
    require(actor, Permission.DECIDE)
    if decision not in DECISIONS:
        raise InputError("decision", f"must be one of {', '.join(DECISIONS)}, got {str(decision)[:80]!r}")
    approvals = approvals if approvals is not None else Approvals()
    revision_dir, data_dir = Path(revision_dir), Path(data_dir)
    manifest = store.read_manifest(revision_dir)
    sheet_csv = _checked_sheet(revision_dir, market)
    if not data_dir.is_dir():
        raise InputError(str(data_dir), "data folder not found: nothing was recorded")
    target_dir = None
    if decision == "approved":  # a rejection publishes nothing
        target_dir = data_dir / "last_sheets"
        target_dir.mkdir(exist_ok=True)
    key = subject_key(str(manifest.get("month")), int(manifest.get("revision", 1)), market)
    subject = Subject(RUN_SUBJECT, key, sheet_csv, manifest.get("run_by") or None)
    decided = approvals.decide(lambda _con: subject, decision, actor, comment, target_dir, expected_sheet_sha256,
                               sheet_name=f"{store.folder_name(market)}.csv")
    newest = _newest_decisions(approvals)
    _sync_market(revision_dir, market, newest.get((RUN_SUBJECT, key)) or decided, approvals)
    return MarketDecision(decided, _approvals(revision_dir)[market])


def _checked_sheet(revision_dir: Path, market: str) -> str:
    """The market's ``price_sheet.csv`` as text, after checking every file against its hash."""
    try:
        result = load_market(revision_dir, market)
    except FileNotFoundError:
        raise ApprovalError(f"{market} has no folder in {revision_dir} (it failed); nothing to decide on") from None
    if result.record.get("status") != WRITTEN or result.sheet is None:
        raise ApprovalError(f"{market} has no price sheet in this run ({result.record.get('status')}); "
                            "nothing to decide on")
    if not result.intact:
        raise ApprovalError(f"{market}'s files in {result.folder} do not match the hashes the run recorded; "
                            "they were changed after the run: nothing recorded")
    return (result.folder / "price_sheet.csv").read_bytes().decode("utf-8")


def _newest_decisions(approvals: Approvals) -> dict[tuple[str, str], Decision]:
    newest: dict[tuple[str, str], Decision] = {}
    for d in approvals.history(RUN_SUBJECT):  # newest first
        newest.setdefault((d.subject_kind, d.subject), d)
    return newest


def sync_decisions(revision_dir: Path, approvals: Approvals,
                   newest: dict[tuple[str, str], Decision] | None = None) -> list[str]:
    """Bring the revision's decision records in line with the store's newest decision on each
    market (rewriting what a killed process left missing or old). Returns notes on what was
    repaired or could not be."""
    revision_dir = Path(revision_dir)
    manifest = store.read_manifest(revision_dir)
    newest = newest if newest is not None else _newest_decisions(approvals)
    notes = []
    for market in manifest.get("markets", {}):
        key = subject_key(str(manifest.get("month")), int(manifest.get("revision", 1)), market)
        found = newest.get((RUN_SUBJECT, key))
        if found is None:
            continue
        try:
            note = _sync_market(revision_dir, market, found, approvals)
        except OSError as exc:  # a read-only run folder: the decision stands in the store all the same
            note = (f"{market}: decision #{found.id} ({found.decision}) is recorded, but its files could not be "
                    f"written ({exc.strerror or exc})")
        if note:
            notes.append(note)
    return notes


def _sync_market(revision_dir: Path, market: str, decided: Decision, approvals: Approvals) -> str | None:
    """Write ``approvals/<market>.json`` and ``approval.json`` from ``decided`` unless they say so
    already, and publish an approval's last sheet; one note when something was repaired or not."""
    folder = revision_dir / store.folder_name(market)
    name = f"{store.folder_name(market)}.json"
    sheet_sha = _sha(folder / "price_sheet.csv") if (folder / "price_sheet.csv").exists() else ""
    record = {"market": market, "subject": f"{RUN_SUBJECT}:{decided.subject}", "decision": decided.decision,
              "actor": decided.actor, "role": decided.actor_role, "comment": decided.comment,
              "decided_at": decided.decided_at, "sheet_sha256": sheet_sha, "approval_id": decided.id,
              "trail_entry": decided.audit_seq, "written_to": decided.written_to}
    repaired = []
    with _records_lock(revision_dir, market):
        if _approvals(revision_dir).get(market) != record:
            write_outputs(revision_dir / "approvals",
                          {name: lambda p: p.write_text(dump_json(record), encoding="utf-8")})
            repaired.append(f"approvals/{name}")
        if not load_market(revision_dir, market).intact:
            return (f"{market}: its files no longer match the hashes the run recorded; approval.json not written "
                    f"for the {decided.decision} decision #{decided.id}")
        try:
            state = approval_of(folder)
            seen = (state.state, state.by, state.at, state.comment, state.sheet_sha256)
        except InputError:  # not a valid record: rewritten from the store
            seen = None
        if seen != (decided.decision, decided.actor, decided.decided_at, decided.comment, sheet_sha):
            write_approval(folder, decided.decision, decided.actor, decided.comment, decided.decided_at)
            repaired.append(f"{store.folder_name(market)}/approval.json")
    if decided.written_to is not None:
        approvals.publish(Path(decided.written_to).parent, Path(decided.written_to).name)
    return f"{market}: rewrote {', '.join(repaired)} from decision #{decided.id}" if repaired else None


@contextlib.contextmanager
def _records_lock(revision_dir: Path, market: str) -> Iterator[None]:
    """One writer of a market's decision records at a time (threads and processes: ``flock``
    locks each open file on its own)."""
    folder = revision_dir / "approvals"
    folder.mkdir(exist_ok=True)
    with open(folder / f".{store.folder_name(market)}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
