"""One market's run folder as the ERP export reads it: is it approved, are its files the ones
recorded, what period and market is it, and what are its approved prices.

A run folder holds ``price_sheet.csv`` and ``run.json`` (and, from the monthly run,
``manifest.json`` in it or its parent). The export refuses (:class:`ExportRefused`) unless the
sheet is approved (``approval.json``, :func:`pricing.files.approval.approval_of`) for exactly the
bytes of ``price_sheet.csv`` it holds, and every file whose SHA-256 is recorded still has it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from pathlib import Path
from typing import Any, Mapping

from models.errors import InputError
from pricing.files.approval import approval_of, sha256_of
from pricing.files.erp.records import ApprovedPrice, money

__all__ = ["ExportRefused", "check_run", "recorded_hashes", "period_start", "approved_prices", "MANIFEST_FILE"]

MANIFEST_FILE = "manifest.json"
_REQUIRED = ("price_sheet.csv", "run.json")


class ExportRefused(InputError):
    """The run may not be exported: not approved, or its files changed after they were recorded."""


def check_run(run_dir: Path, record: Mapping[str, Any]) -> None:
    """Refuse unless the sheet is approved and the run's files match their recorded hashes.

    Checked: every file of ``run_dir`` listed in a ``manifest.json`` (in ``run_dir`` or its
    parent; it must list ``price_sheet.csv`` and ``run.json``), every input file of
    ``run.json``'s ``inputs`` that sits in ``run_dir``, and the approval's SHA-256 of
    ``price_sheet.csv``.
    """
    run_dir = Path(run_dir)
    for name in _REQUIRED:
        if not (run_dir / name).is_file():
            raise InputError(str(run_dir), f"not a run folder: {name} is missing")
    hashes = recorded_hashes(run_dir)
    for name, digest in dict(record.get("inputs") or {}).items():
        if (run_dir / name).is_file():
            hashes.setdefault(name, (str(digest), "run.json"))
    for name, (digest, where) in sorted(hashes.items()):
        path = run_dir / name
        if not path.is_file():
            raise ExportRefused(name, f"listed in {where} but missing from {run_dir}")
        actual = sha256_of(path)
        if actual != digest.lower():
            raise ExportRefused(name, f"changed after the run: SHA-256 {actual[:12]}... does not match "
                                      f"{digest[:12]}... recorded in {where}")
    approval = approval_of(run_dir)
    if not approval.is_approved:
        raise ExportRefused("price_sheet.csv", f"not approved (state: {approval.state}); only an approved sheet "
                                               "is exported")
    if approval.sheet_sha256.lower() != sha256_of(run_dir / "price_sheet.csv"):
        raise ExportRefused("price_sheet.csv", f"changed after it was approved by {approval.by}: its SHA-256 does "
                                               "not match approval.json")


def recorded_hashes(run_dir: Path) -> dict[str, tuple[str, str]]:
    """File name in ``run_dir`` -> (recorded SHA-256, where it is recorded), from the first
    ``manifest.json`` found in ``run_dir`` or its parent ({} when there is none).

    Accepted layouts (paths relative to the manifest's folder): ``{"files": {path: sha}}``,
    ``{"files": {path: {"sha256": sha}}}``, ``{"files": [{"path": path, "sha256": sha}]}``.
    """
    for folder in (run_dir, run_dir.parent):
        manifest = folder / MANIFEST_FILE
        if manifest.is_file():
            break
    else:
        return {}
    where = MANIFEST_FILE if folder == run_dir else f"{folder.resolve().name}/{MANIFEST_FILE}"
    try:
        files = json.loads(manifest.read_text(encoding="utf-8")).get("files")
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        raise ExportRefused(where, "must be a JSON object with a 'files' entry") from None
    if isinstance(files, list):
        files = {str(f.get("path")): f.get("sha256") for f in files if isinstance(f, dict)}
    if not isinstance(files, dict):
        raise ExportRefused(where, "its 'files' must map each file to its SHA-256")
    prefix = "" if folder == run_dir else run_dir.name + "/"
    out = {}
    for path, entry in files.items():
        digest = entry.get("sha256") if isinstance(entry, dict) else entry
        rel = str(path).replace("\\", "/")
        if rel.startswith(prefix) and "/" not in rel[len(prefix):] and isinstance(digest, str):
            out[rel[len(prefix):]] = (digest, where)
    missing = [name for name in _REQUIRED if name not in out]
    if missing:
        raise ExportRefused(where, f"does not record {', '.join(missing)} of {run_dir.name}")
    return out


def period_start(run_dir: Path, record: Mapping[str, Any], valid_from: str | None) -> dt.date:
    """The first day the prices apply: ``--valid-from``, else the first day of ``run.json``'s
    ``period``, else of the run folder's parent named ``YYYY-MM`` (``runs/2026-12/North``)."""
    if valid_from:
        try:
            return dt.date.fromisoformat(valid_from)
        except ValueError:
            raise InputError("--valid-from", f"must be a date YYYY-MM-DD, got {valid_from!r}") from None
    for text, source in ((str(record.get("period") or ""), "run.json period"),
                         (Path(run_dir).resolve().parent.name, "run folder")):
        if re.fullmatch(r"\d{4}-\d{2}", text):
            try:
                return dt.date.fromisoformat(text + "-01")
            except ValueError:
                raise InputError(source, f"must be a month YYYY-MM, got {text!r}") from None
    raise InputError(str(run_dir), "no period: run.json has none and the folder is not runs/YYYY-MM/<market>; "
                                   "pass --valid-from YYYY-MM-DD")


def approved_prices(run_dir: Path, currency: str) -> list[ApprovedPrice]:
    """The bundles of ``run_dir/price_sheet.csv`` (read as text, so SKU codes stay as written)."""
    text = (Path(run_dir) / "price_sheet.csv").read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text))
    for column in ("bundle_id", "name", "skus", "price"):
        if column not in (reader.fieldnames or []):
            raise InputError("price_sheet.csv", f"missing column {column}", row=1)
    out = []
    for n, row in enumerate(reader, start=2):
        skus = tuple(s.strip() for s in row["skus"].split("|") if s.strip())
        if not skus:
            raise InputError("price_sheet.csv", "must list SKUs joined by |", row=n, column="skus")
        name = row["name"][1:] if row["name"].startswith("'") else row["name"]
        out.append(ApprovedPrice(skus, money(row["price"], currency, "price_sheet.csv", n), name, row["bundle_id"]))
    return out
