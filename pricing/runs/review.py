"""Finance's view of the monthly runs: list runs and markets, load one market's result, approve it.

An approval copies the market's ``price_sheet.csv`` (after checking it against the hash its
``market.json`` recorded) to ``DATA/last_sheets/<market>.csv``, the file the next month's run
reads as that market's last approved sheet (its stability rule and drift check), and records the
decision in the revision's ``approvals/<market>.json``. The run's own files are never changed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from pricing.files.atomic import dump_json, write_outputs
from pricing.runs import store
from pricing.runs.market import WRITTEN

__all__ = ["RunSummary", "MarketResult", "ApprovalError", "list_runs", "load_market", "approve_market"]


class ApprovalError(Exception):
    """A market's sheet cannot be approved (no sheet, or its files do not match their hashes)."""


@dataclass(frozen=True)
class RunSummary:
    """One revision of one month: where it is, its state and each market's status."""

    month: str
    revision: int
    folder: Path
    status: str
    markets: dict[str, str]
    approved: dict[str, dict[str, Any]]

    @property
    def label(self) -> str:
        return f"{self.month} revision {self.revision} ({self.status})"


@dataclass(frozen=True)
class MarketResult:
    """A market's result for review: ``record`` (market.json), ``run`` (run.json, empty without a
    sheet), ``sheet`` (the price sheet, None without one), ``intact`` (files match their hashes)."""

    market: str
    folder: Path
    record: dict[str, Any]
    run: dict[str, Any]
    sheet: pd.DataFrame | None
    intact: bool
    approval: dict[str, Any] | None


def list_runs(runs_dir: Path) -> list[RunSummary]:
    """Every revision under ``runs_dir``, newest month first, latest revision first."""
    out = []
    runs_dir = Path(runs_dir)
    months = sorted((p for p in runs_dir.iterdir() if p.is_dir() and p.name[:4].isdigit()), reverse=True) \
        if runs_dir.is_dir() else []
    for month_dir in months:
        for folder in reversed(store.revisions(month_dir)):
            manifest = store.read_manifest(folder)
            markets = {m: entry.get("status", "?") for m, entry in manifest.get("markets", {}).items()}
            out.append(RunSummary(manifest.get("month", month_dir.name), int(manifest.get("revision", 1)), folder,
                                  manifest.get("status", "?"), markets, _approvals(folder)))
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


def approve_market(revision_dir: Path, market: str, data_dir: Path, approver: str, note: str = "") -> Path:
    """Make the market's sheet its last approved sheet; returns ``DATA/last_sheets/<market>.csv``.

    Raises
    ------
    ApprovalError
        The market has no sheet (target unreachable, failed), or its files do not match the
        hashes recorded when the run wrote them, or no approver is named.
    """
    if not approver.strip():
        raise ApprovalError("an approval needs the approver's name")
    result = load_market(revision_dir, market)
    if result.record.get("status") != WRITTEN or result.sheet is None:
        raise ApprovalError(f"{market} has no price sheet in this run ({result.record.get('status')}); nothing to approve")
    if not result.intact:
        raise ApprovalError(f"{market}'s files in {result.folder} do not match the hashes the run recorded; "
                            "they were changed after the run: not approved")
    content = (result.folder / "price_sheet.csv").read_bytes()
    target_dir = Path(data_dir) / "last_sheets"
    name = f"{store.folder_name(market)}.csv"
    write_outputs(target_dir, {name: lambda p: p.write_bytes(content)})
    decision = {"market": market, "approver": approver.strip(), "note": note, "approved_at": store.now(),
                "month": result.record.get("month"), "sheet_sha256": hashlib.sha256(content).hexdigest(),
                "written_to": str(target_dir / name)}
    write_outputs(Path(revision_dir) / "approvals",
                  {name.replace(".csv", ".json"): lambda p: p.write_text(dump_json(decision), encoding="utf-8")})
    return target_dir / name


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()

