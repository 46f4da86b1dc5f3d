"""Whether a price sheet is approved, as the files of its run folder say: ``approval.json``.

The contract (``docs/export.md``): the app's approval writes ``approval.json`` next to the
``price_sheet.csv`` it approved, with the decision, who took it, when, the comment, and the
SHA-256 of the exact ``price_sheet.csv`` bytes approved. The workbook's cover and the ERP export
read it through :func:`approval_of` only, so the store behind the app can change without them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from models.errors import InputError
from pricing.files.atomic import dump_json, write_outputs

__all__ = ["ApprovalState", "APPROVAL_FILE", "STATES", "approval_of", "write_approval", "sha256_of", "readable_time"]

APPROVAL_FILE = "approval.json"
STATES = ("draft", "approved", "rejected")


@dataclass(frozen=True)
class ApprovalState:
    """A decision on one price sheet: ``state`` is ``draft`` (no decision yet), ``approved`` or
    ``rejected``; ``by`` the signed-in user, ``at`` an ISO 8601 time with its zone, ``comment`` the
    reviewer's words and ``sheet_sha256`` the SHA-256 of the ``price_sheet.csv`` decided on."""

    state: str = "draft"
    by: str = ""
    at: str = ""
    comment: str = ""
    sheet_sha256: str = ""

    def __post_init__(self) -> None:
        if self.state not in STATES:
            raise ValueError(f"approval state must be one of {', '.join(STATES)}, got {self.state!r}")

    @property
    def is_approved(self) -> bool:
        return self.state == "approved"

    def in_words(self) -> str:
        """``Approved by Li Na on 2026-12-01 09:30 UTC: "ok"``, or ``Draft: not approved yet``."""
        if self.state == "draft":
            return "Draft: not approved yet"
        when = readable_time(self.at)
        said = f': "{self.comment}"' if self.comment else ""
        return f"{self.state.capitalize()} by {self.by or 'unknown'}{' on ' + when if when else ''}{said}"

    def to_dict(self) -> dict[str, str]:
        return {"state": self.state, "by": self.by, "at": self.at, "comment": self.comment,
                "sheet_sha256": self.sheet_sha256}


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def approval_of(run_dir: Path) -> ApprovalState:
    """The decision recorded for the price sheet of ``run_dir`` (draft when there is none).

    Raises :class:`InputError` when ``approval.json`` exists but is not a valid record: bad JSON,
    an unknown state, or a decision without who, when or the sheet's SHA-256.
    """
    path = Path(run_dir) / APPROVAL_FILE
    if not path.exists():
        return ApprovalState()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(APPROVAL_FILE, f"must be a JSON object ({exc})") from None
    if not isinstance(raw, dict):
        raise InputError(APPROVAL_FILE, f"must be a JSON object, got {type(raw).__name__}")
    fields = {}
    for key in ("state", "by", "at", "comment", "sheet_sha256"):
        value = raw.get(key, "")
        if not isinstance(value, str):
            raise InputError(APPROVAL_FILE, f"field {key!r} must be text, got {value!r}")
        fields[key] = value
    if fields["state"] not in STATES:
        raise InputError(APPROVAL_FILE, f"field 'state' must be one of {', '.join(STATES)}, got {fields['state']!r}")
    if fields["state"] != "draft":
        for key in ("by", "at", "sheet_sha256"):
            if not fields[key]:
                raise InputError(APPROVAL_FILE, f"a decision must say {key!r}; it is empty")
    return ApprovalState(**fields)


def write_approval(run_dir: Path, state: str, by: str, comment: str = "", at: str | None = None) -> ApprovalState:
    """Record a decision on ``run_dir/price_sheet.csv`` (written aside, then renamed).

    The app's approval calls this (from the store) so that the export can check it; ``at``
    defaults to now in UTC.
    """
    run_dir = Path(run_dir)
    approval = ApprovalState(
        state=state, by=by, comment=comment,
        at=at or dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        sheet_sha256=sha256_of(run_dir / "price_sheet.csv"),
    )
    write_outputs(run_dir, {APPROVAL_FILE: lambda p: p.write_text(dump_json(approval.to_dict()), encoding="utf-8")})
    return approval


def readable_time(at: str) -> str:
    """An ISO 8601 time as ``2026-12-01 09:30 UTC`` (unchanged when it is not one)."""
    try:
        moment = dt.datetime.fromisoformat(at)
    except ValueError:
        return at
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc)
        return moment.strftime("%Y-%m-%d %H:%M UTC")
    return moment.strftime("%Y-%m-%d %H:%M")
