"""The monthly run: refit on new history, drift check, every market optimized, one versioned folder.

``run_monthly(request)`` does, for ``request.month``:

1. read and check every input (bad input: :class:`models.errors.InputError`, nothing written);
2. take the month's lock (a second run of the same month stops with :class:`RunLocked`);
3. pick the revision: the same inputs as the latest revision finish it (only missing markets;
   nothing at all when it is complete), changed inputs start a new revision beside it;
4. refit when ``history.csv`` holds months the model has not seen (the refitted model is written
   in the revision folder; ``DATA/model.json`` is never overwritten by an unattended run);
5. check drift per market with the model that set last month's prices;
6. optimize the missing markets as independent Dask tasks (or in this process, ``serial``), each
   with its own buyers and its own demand (``DemandModel.for_market``), writing each market's
   folder whole as its task returns;
7. write the finance workbook and the manifest, and return one line per market and the exit code.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from pricing.domain.settings import Settings
from pricing.files.atomic import dump_json, write_outputs
from pricing.runs.monthly import store
from pricing.runs.cluster import check_scheduler
from pricing.runs.monthly.drift import check_drift
from pricing.runs.monthly.inputs import MonthInputs, read_month_inputs, sheet_bundles
from pricing.runs.monthly.market import FAILED, NO_OFFER, UNREACHABLE, WRITTEN, MarketJob, MarketOutcome, solve_market
from pricing.runs.refit import FitSettings, refit
from pricing.runs.monthly.workbook import keep_in_force, workbook_name, write_month_workbook

__all__ = ["MonthlyRequest", "MonthlyReport", "run_monthly", "market_line"]

EXIT_OK, EXIT_UNEXPECTED, EXIT_TARGET_UNREACHABLE = 0, 1, 3


@dataclass(frozen=True)
class MonthlyRequest:
    """What to run. ``scheduler``: a running Dask scheduler's address (None: a local cluster of
    ``n_workers`` processes, default one per core); ``serial``: no Dask, markets one after the
    other in this process; ``run_by``: who ran it (the manifest's ``run_by``: the reviewer who
    approves a market must be someone else)."""

    month: str
    data_dir: Path
    runs_dir: Path
    settings: Settings = field(default_factory=Settings)
    markets: tuple[str, ...] | None = None
    scheduler: str | None = None
    serial: bool = False
    n_workers: int | None = None
    fit: FitSettings = field(default_factory=FitSettings)
    echo: bool = True
    run_by: str = ""


@dataclass
class MonthlyReport:
    """The result: revision folder, whether anything was done, each market's record, exit code."""

    revision_dir: Path
    revision: int
    unchanged: bool
    markets: dict[str, dict[str, Any]]
    exit_code: int
    lines: list[str]


def run_monthly(request: MonthlyRequest) -> MonthlyReport:
    """Run one month (see the module notes). Raises ``InputError`` or ``store.RunLocked``."""
    inputs = read_month_inputs(Path(request.data_dir), request.month, request.markets)
    if request.scheduler and not request.serial:
        check_scheduler(request.scheduler)
    month_dir = Path(request.runs_dir) / request.month
    with store.month_lock(month_dir) as lock_note:
        key, hashes = inputs.key(request.settings, vars(request.fit))
        revision, revision_dir, previous = _choose_revision(month_dir, key)
        log = store.RunLog(revision_dir / "run.log", request.echo)
        if lock_note:
            log(lock_note)
        if previous is not None and _complete(revision_dir, inputs):
            return _unchanged(revision, revision_dir, previous, inputs, log)
        return _run(request, inputs, key, hashes, revision, revision_dir, previous, log)


def _choose_revision(month_dir: Path, key: str) -> tuple[int, Path, dict[str, Any] | None]:
    """The latest revision when it has the same inputs (with its manifest), else a new one."""
    existing = store.revisions(month_dir)
    if existing:
        latest = existing[-1]
        manifest = store.read_manifest(latest)
        if manifest.get("inputs_key") == key:
            return int(manifest.get("revision", len(existing))), latest, manifest
    number, path = store.next_revision(month_dir)
    path.mkdir(parents=True, exist_ok=True)
    return number, path, None


def _complete(revision_dir: Path, inputs: MonthInputs) -> bool:
    done = store.done_markets(revision_dir, list(inputs.buyers))
    sheets = any(r.get("status") == WRITTEN for r in done.values())
    return len(done) == len(inputs.buyers) and ((revision_dir / workbook_name(inputs.month)).exists() or not sheets)


def _unchanged(revision: int, revision_dir: Path, manifest: dict[str, Any], inputs: MonthInputs,
               log: store.RunLog) -> MonthlyReport:
    markets = store.done_markets(revision_dir, list(inputs.buyers))
    lines = [market_line(m, markets[m], revision_dir) for m in inputs.buyers]
    log(f"{inputs.month}: nothing changed. The inputs are the same as revision {revision} "
        f"({revision_dir}), whose markets are all written; nothing was rewritten.")
    for line in lines:
        log(line, echo=False)
    return MonthlyReport(revision_dir, revision, True, markets, _exit_code(markets), lines)


def _run(request: MonthlyRequest, inputs: MonthInputs, key: str, hashes: dict[str, str], revision: int,
         revision_dir: Path, previous: dict[str, Any] | None, log: store.RunLog) -> MonthlyReport:
    started = store.now()
    removed = store.clean_partials(revision_dir)
    done = store.done_markets(revision_dir, list(inputs.buyers))
    log(_opening(inputs, revision, revision_dir, previous, done, removed))
    model_bytes, model_record = _ensure_model(request, inputs, revision_dir, log)
    _drift(inputs, revision_dir, log)
    keep_in_force(revision_dir, inputs.last_sheets)
    manifest = _manifest(request, inputs, key, hashes, revision, revision_dir, model_record, started, previous)
    manifest["markets"].update({m: _manifest_entry(r) for m, r in done.items()})
    store.write_manifest(revision_dir, manifest)
    todo = [m for m in inputs.buyers if m not in done]
    failures: dict[str, dict[str, Any]] = {}

    def finished(outcome: MarketOutcome) -> None:
        record = _market_record(outcome, inputs)
        if outcome.status in (WRITTEN, UNREACHABLE):
            store.write_market(revision_dir, outcome.market, outcome.files, record)
            done[outcome.market] = record
        else:
            failures[outcome.market] = record
        manifest["markets"][outcome.market] = _manifest_entry(record)
        store.write_manifest(revision_dir, manifest)
        log(market_line(outcome.market, record, revision_dir))

    shared = {"catalog.csv": (inputs.data_dir / "catalog.csv").read_bytes(), "model.json": model_bytes}
    where = _fan_out(_jobs(inputs, request.settings, todo), shared, request, finished)
    manifest["executor"] = where
    markets = {m: done.get(m) or failures[m] for m in inputs.buyers}
    if write_month_workbook(revision_dir, revision_dir / workbook_name(inputs.month)) is None:
        log("No market has a sheet: no finance workbook this time.")
    manifest.update(status="complete" if not failures else "incomplete", finished_at=store.now())
    store.write_manifest(revision_dir, manifest)
    lines = [market_line(m, markets[m], revision_dir) for m in inputs.buyers]
    log(f"Done: {len(done)} of {len(inputs.buyers)} markets in {revision_dir}"
        + (f"; {len(failures)} failed (run the same command again to retry them)." if failures else "."))
    return MonthlyReport(revision_dir, revision, False, markets, _exit_code(markets), lines)


def _opening(inputs: MonthInputs, revision: int, revision_dir: Path, previous: dict[str, Any] | None,
             done: dict[str, Any], removed: int) -> str:
    markets = f"{len(inputs.buyers)} market(s): {', '.join(inputs.buyers)}"
    if previous is None:
        first = "first run of the month" if revision == 1 else "the inputs changed since the last revision"
        text = f"{inputs.month}: revision {revision} ({first}), {markets}; writing {revision_dir}."
    else:
        text = (f"{inputs.month}: resuming revision {revision} (same inputs): {len(done)} market(s) already "
                f"written are kept as they are; doing the other {len(inputs.buyers) - len(done)}.")
    if removed:
        text += f" Removed {removed} half-written market folder(s) a killed run left."
    return text


def _ensure_model(request: MonthlyRequest, inputs: MonthInputs, revision_dir: Path,
                  log: store.RunLog) -> tuple[bytes, dict[str, Any]]:
    """The model this revision prices with: refitted in the revision folder when the history has
    months the data folder's model has not seen, else ``DATA/model.json`` as it is."""
    data_model = inputs.data_dir / "model.json"
    seen = set(inputs.model.fit.get("months", [])) if inputs.model.fit else set()
    unseen = [m for m in inputs.history.months if m not in seen]
    own = revision_dir / "model" / "model.json"  # a folder of its own: the fit publishes its files as one set
    if unseen and own.exists():
        log(f"Model: using the model this revision refitted before ({own}).")
        return own.read_bytes(), {"file": str(own), "refitted": True, "unseen_months": unseen}
    if not unseen:
        why = (f"no refit: model.json was fitted on every month of history.csv "
               f"({inputs.history.months[0]} to {inputs.history.months[-1]}); no new take-up arrived.")
        log(f"Model: {why}")
        return data_model.read_bytes(), {"file": str(data_model), "refitted": False, "why": why}
    log(f"Model: refitting, because history.csv holds {len(unseen)} month(s) the model has not seen "
        f"({', '.join(unseen)}). The refitted model is written to {own}; {data_model} is left as it is.")
    estimator, _text, _written = refit(inputs.data_dir, own, request.fit)
    for warning in estimator.warnings():
        log(f"  fit warning: {warning}")
    return own.read_bytes(), {"file": str(own), "refitted": True, "unseen_months": unseen,
                              "why": "history.csv holds months the model had not seen"}


def _drift(inputs: MonthInputs, revision_dir: Path, log: store.RunLog) -> None:
    reports = []
    for market, path in inputs.last_sheets.items():
        if path is None:
            log(f"Drift, {market}: no last approved sheet (DATA/last_sheets/{store.folder_name(market)}.csv or "
                "DATA/last_sheet.csv); nothing to compare.")
            continue
        drift = check_drift(market, inputs.history, inputs.model, inputs.catalog,
                            sheet_bundles(path, inputs.catalog), str(path.relative_to(inputs.data_dir)))
        reports.append(drift)
        log("Drift, " + drift.text())
    text = "\n\n".join(r.text() for r in reports) + "\n"
    write_outputs(revision_dir, {
        "drift.txt": lambda p: p.write_text(text, encoding="utf-8"),
        "drift.json": lambda p: p.write_text(dump_json([r.to_dict() for r in reports]), encoding="utf-8"),
    })


def _jobs(inputs: MonthInputs, settings: Settings, markets: list[str]) -> list[MarketJob]:
    jobs = []
    for market in markets:
        files = {}
        sheet = inputs.last_sheets[market]
        if sheet is not None:
            files["last_sheet.csv"] = sheet.read_bytes()
        jobs.append(MarketJob(market, inputs.month, inputs.buyers[market],
                              settings.replace(buyers=inputs.buyers[market]), files, str(inputs.data_dir),
                              "" if sheet is None else str(sheet.relative_to(inputs.data_dir))))
    return jobs


def _fan_out(jobs: list[MarketJob], shared: dict[str, bytes], request: MonthlyRequest,
             finished: Callable[[MarketOutcome], None]) -> str:
    """Run the jobs (``shared``: the input files every market reads, sent to each worker once);
    call ``finished`` with each outcome as it arrives. Returns where they ran."""
    if not jobs:
        return "nothing to run"
    if request.serial:
        for job in jobs:
            finished(solve_market(job, shared))
        return "serial (this process)"
    from distributed import as_completed

    from pricing.runs.cluster import get_client

    with get_client(request.scheduler, request.n_workers) as client:
        where = request.scheduler or f"local Dask cluster, {len(client.scheduler_info()['workers'])} worker processes"
        [files] = client.scatter([shared], broadcast=True)
        futures = {client.submit(solve_market, job, files, pure=False, key=f"market-{k}-{os.getpid()}"): job
                   for k, job in enumerate(jobs)}
        for future in as_completed(futures):
            job = futures[future]
            try:
                outcome = future.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker fails one market, not the run
                outcome = MarketOutcome(job.market, FAILED, f"failed: the task was lost ({type(exc).__name__}: {exc})", 0.0)
            finished(outcome)
    return where


def _market_record(outcome: MarketOutcome, inputs: MonthInputs) -> dict[str, Any]:
    return {
        "market": outcome.market, "month": inputs.month, "status": outcome.status, "message": outcome.message,
        "buyers": inputs.buyers[outcome.market], "seconds": round(outcome.seconds, 3),
        "best_attach": outcome.best_attach, "finished_at": store.now(),
        "files": {n: hashlib.sha256(b).hexdigest() for n, b in outcome.files.items()},
        **{k: outcome.headline.get(k) for k in ("attach_rate", "attach_target", "margin", "total_margin",
                                                "margin_rate", "proven_optimal", "gap")},
    }


def _manifest_entry(record: dict[str, Any]) -> dict[str, Any]:
    keys = ("status", "message", "buyers", "seconds", "attach_rate", "margin", "proven_optimal", "best_attach", "files")
    entry = {k: record.get(k) for k in keys}
    entry["folder"] = store.folder_name(record["market"]) if record["status"] in (WRITTEN, UNREACHABLE) else None
    return entry


def _manifest(request: MonthlyRequest, inputs: MonthInputs, key: str, hashes: dict[str, str], revision: int,
              revision_dir: Path, model_record: dict[str, Any], started: str,
              previous: dict[str, Any] | None) -> dict[str, Any]:
    model_path = Path(model_record["file"])
    attempts = list((previous or {}).get("attempts", []))
    attempts.append({"started_at": started, "pid": os.getpid(), "host": socket.gethostname()})
    return {
        "month": inputs.month, "revision": revision, "folder": str(revision_dir), "status": "running",
        "inputs_key": key, "inputs": hashes, "data_dir": str(inputs.data_dir),
        "model": {**model_record, "sha256": hashlib.sha256(model_path.read_bytes()).hexdigest()},
        "settings": request.settings.to_dict(), "fit_settings": vars(request.fit),
        "code_version": code_version(), "started_at": (previous or {}).get("started_at", started),
        "run_by": request.run_by or (previous or {}).get("run_by") or None,
        "attempts": attempts, "finished_at": None,
        "markets": {m: {"status": "pending", "buyers": b} for m, b in inputs.buyers.items()},
    }


def market_line(market: str, record: dict[str, Any], revision_dir: Path) -> str:
    """One line of words for a market: what happened and where its files are."""
    status = record["status"]
    if status == WRITTEN:
        return f"{market}: written ({record['buyers']:,.0f} car buyers): {record['message']} -> {revision_dir / store.folder_name(market)}"
    if status == UNREACHABLE:
        best = record.get("best_attach")
        reach = f"the highest reachable attach rate is {best:.2%}" if best is not None else record["message"]
        return f"{market}: TARGET UNREACHABLE, no sheet: {reach} ({record['message']})"
    return f"{market}: FAILED, no sheet ({record['message']}); the next run retries it"


def _exit_code(markets: dict[str, dict[str, Any]]) -> int:
    statuses = {r["status"] for r in markets.values()}
    if statuses & {FAILED, NO_OFFER}:
        return EXIT_UNEXPECTED
    return EXIT_TARGET_UNREACHABLE if UNREACHABLE in statuses else EXIT_OK


def code_version() -> str:
    """The git commit of the code (with ``+dirty`` for uncommitted changes), else ``unknown``."""
    root = Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")
