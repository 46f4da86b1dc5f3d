"""The month's finance workbook: the finance pack (:mod:`pricing.files.finance.workbook`) over every market
of one revision, with each market's own decision on the cover.

Prices in force are each market's last approved sheet *at run time*: the run keeps a copy of it in
``<revision>/in_force/<market>.csv`` (:func:`keep_in_force`), so a workbook rebuilt after an
approval still compares against what was in force when the run priced the month, not against the
sheet just approved. Markets without a sheet (target unreachable, failed) are listed on the
Exceptions sheet with the reason and, for an unreachable target, the best reachable attach rate.
The page header says DRAFT until every market with a sheet is approved.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from pricing.files.approval import ApprovalState
from pricing.files.atomic import write_outputs
from pricing.files.finance.checks import ExceptionLine
from pricing.files.finance.rows import MarketResult, RunInfo, in_force_from_sheet
from pricing.files.finance.workbook import write_finance_workbook
from pricing.runs.monthly import store
from pricing.runs.monthly.market import UNREACHABLE, WRITTEN

__all__ = ["IN_FORCE", "keep_in_force", "month_results", "write_month_workbook", "month_workbook", "workbook_name"]

IN_FORCE = "in_force"


def workbook_name(month: str) -> str:
    return f"finance_{month}.xlsx"


def keep_in_force(revision_dir: Path, last_sheets: dict[str, Path | None]) -> None:
    """Copy each market's last approved sheet (as the run reads it) to ``in_force/<market>.csv``;
    a market without one gets no file (nothing was in force). All or nothing."""
    folder = Path(revision_dir) / IN_FORCE
    sheets = {f"{store.folder_name(m)}.csv": p.read_bytes() for m, p in last_sheets.items() if p is not None}
    folder.mkdir(exist_ok=True)
    write_outputs(folder, {name: (lambda p, b=content: p.write_bytes(b)) for name, content in sheets.items()})


def month_results(revision_dir: Path) -> tuple[list[MarketResult], list[ExceptionLine], RunInfo]:
    """The markets with a sheet (with their prices in force and decision), an exception line per
    market without one, and the run's facts, all from the revision folder's files."""
    revision_dir = Path(revision_dir)
    manifest = store.read_manifest(revision_dir)
    month = str(manifest.get("month") or "")
    target = ((manifest.get("settings") or {}).get("target") or {}).get("attach_rate")
    results, missing = [], []
    for market, entry in (manifest.get("markets") or {}).items():
        folder = revision_dir / store.folder_name(market)
        if entry.get("status") == WRITTEN and (folder / "price_sheet.csv").is_file():
            results.append(MarketResult.from_run_dir(folder, market, _in_force(revision_dir, market)))
        else:
            missing.append(_no_sheet(market, entry, target))
    run = RunInfo(run_id=f"monthly-{month}-revision-{int(manifest.get('revision', 1))}", period=month,
                  run_by=str(manifest.get("run_by") or ""), run_at=str(manifest.get("started_at") or ""),
                  input_hashes=dict(manifest.get("inputs") or {}))
    return results, missing, run


def _in_force(revision_dir: Path, market: str):
    folder = revision_dir / IN_FORCE
    if not folder.is_dir():  # a revision written before the copies were kept: the sheet's last_price column
        return None
    path = folder / f"{store.folder_name(market)}.csv"
    return in_force_from_sheet(path) if path.is_file() else ()


def _no_sheet(market: str, entry: dict[str, Any], target: float | None) -> ExceptionLine:
    message = str(entry.get("message") or "")
    if entry.get("status") == UNREACHABLE:
        best = entry.get("best_attach")
        return ExceptionLine(market, "", "No sheet: target unreachable",
                             best if isinstance(best, (int, float)) else "not known",
                             target if isinstance(target, (int, float)) else "the attach target", "fraction",
                             f"No new sheet for this market: {message}")
    return ExceptionLine(market, "", "No sheet: the market failed", str(entry.get("status") or "failed"),
                         "a sheet", "text", f"No new sheet for this market: {message}")


def _month_approval(results: list[MarketResult]) -> ApprovalState:
    """Approved when every market with a sheet is (the cover names each market's decision)."""
    states = [r.approval for r in results]
    if not states or not all(s is not None and s.is_approved for s in states):
        return ApprovalState()
    by = ", ".join(sorted({s.by for s in states}))
    return ApprovalState("approved", by, max(s.at for s in states), "every market approved one by one")


def write_month_workbook(revision_dir: Path, path: Path) -> Path | None:
    """Write the month's workbook to ``path`` (aside, then renamed); None when no market has a
    sheet (every one unreachable or failed: there is nothing to sign, the run's lines say why)."""
    results, missing, run = month_results(revision_dir)
    if not results:
        return None
    write_outputs(path.parent, {path.name: lambda p: write_finance_workbook(p, results, run, _month_approval(results),
                                                                           missing)})
    return path


def month_workbook(revision_dir: Path) -> bytes | None:
    """The month's workbook rebuilt with each market's current decision, as bytes (a download);
    None when no market has a sheet."""
    handle, name = tempfile.mkstemp(suffix=".xlsx", prefix="finance-")
    os.close(handle)
    path = Path(name)
    try:
        written = write_month_workbook(revision_dir, path)
        return path.read_bytes() if written is not None else None
    finally:
        path.unlink(missing_ok=True)
