"""The run folder of a month: revisions, the lock, market folders, the manifest and the log.

Layout (``RUNS`` is ``--runs``)::

    RUNS/2026-11/                  revision 1 of the month
        manifest.json  run.log  finance_2026-11.xlsx  drift.txt  drift.json
        [model.json validation.json validation.txt]   (when the run refitted the model)
        North/  price_sheet.csv price_sheet.xlsx run.json market.json
        East/   market.json                         (target unreachable: no sheet)
        revision-2/  ...                            (the same month on changed inputs)

A market folder appears whole or not at all: its files are written into a unique hidden temp
folder beside it, which is then renamed (one atomic step on one filesystem). A market is done
when its folder exists; a run killed at any moment leaves only whole folders, and the next run
does the missing ones. Nothing of an earlier revision is ever written again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import os
import re
import shutil
import socket
import uuid
from pathlib import Path
from typing import Any, Iterator

from pricing.files.atomic import dump_json, write_outputs

__all__ = ["RunLocked", "month_lock", "revisions", "next_revision", "folder_name", "write_market",
           "done_markets", "clean_partials", "write_manifest", "read_manifest", "RunLog", "now", "MANIFEST"]

MANIFEST = "manifest.json"
_LOCK = ".lock"
_UNSAFE = re.compile(r"[^A-Za-z0-9 ._()-]")


class RunLocked(Exception):
    """Another run of the same month holds the lock."""


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


@contextlib.contextmanager
def month_lock(month_dir: Path) -> Iterator[str]:
    """Hold ``month_dir/.lock`` (created exclusively, holding pid, host and time) for the block.

    A lock left by a dead process on this host is stale: it is taken over, and the yielded note
    says so. Raises :class:`RunLocked` naming the holder otherwise.
    """
    month_dir.mkdir(parents=True, exist_ok=True)
    path = month_dir / _LOCK
    note = ""
    for _attempt in range(2):
        if _create_with_content(path, {"pid": os.getpid(), "host": socket.gethostname(), "started_at": now()}):
            break
        holder = _read_lock(path)
        if not _stale(holder):
            raise RunLocked(
                f"another monthly run of {month_dir.name} is running (pid {holder.get('pid')} on "
                f"{holder.get('host')}, since {holder.get('started_at')}); wait for it to finish. If you "
                f"are sure it is gone, delete {path}"
            )
        note = (f"took over a stale lock of pid {holder.get('pid')} on {holder.get('host')} "
                f"(since {holder.get('started_at')}): that run is gone")
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    else:
        raise RunLocked(f"could not take the lock {path}; another run took it at the same moment")
    try:
        yield note
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _create_with_content(path: Path, content: dict[str, Any]) -> bool:
    """Create ``path`` holding ``content`` in one step, or return False if it exists: the content
    goes to a unique temp file first, then ``link`` (like ``O_CREAT | O_EXCL``, atomic, and
    never leaves an empty lock for another run to misread)."""
    temp = path.with_name(f"{path.name}.{uuid.uuid4().hex}.tmp")
    temp.write_text(json.dumps(content), encoding="utf-8")
    try:
        os.link(temp, path)
        return True
    except FileExistsError:
        return False
    except OSError:  # a filesystem without hard links: exclusive create, then write
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(content, fh)
        return True
    finally:
        temp.unlink()


def _read_lock(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # half-written by a process killed between create and write: stale below


def _stale(holder: dict[str, Any]) -> bool:
    if holder.get("host") not in (None, socket.gethostname()):
        return False  # another machine's process: we cannot tell, so we respect it
    pid = holder.get("pid")
    if not isinstance(pid, int):
        return True
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.ESRCH
    return False


def revisions(month_dir: Path) -> list[Path]:
    """Existing revision folders of a month, oldest first (revision 1 is the month folder)."""
    found = [month_dir] if (month_dir / MANIFEST).exists() else []
    numbered = []
    for child in month_dir.glob("revision-*") if month_dir.is_dir() else []:
        suffix = child.name.split("-", 1)[1]
        if suffix.isdigit() and (child / MANIFEST).exists():
            numbered.append((int(suffix), child))
    return found + [p for _, p in sorted(numbered)]


def next_revision(month_dir: Path) -> tuple[int, Path]:
    existing = revisions(month_dir)
    if not existing:
        return 1, month_dir
    number = len(existing) + 1
    while (month_dir / f"revision-{number}").exists():
        number += 1
    return number, month_dir / f"revision-{number}"


# Folders of a revision that are not markets: a market of that name gets a prefix.
RESERVED_FOLDERS = frozenset({"model", "approvals", "in_force"})


def folder_name(market: str) -> str:
    """A market's folder name: its name, with characters unsafe in a path replaced by ``_``, and
    ``market_`` before a name that a revision's own folders use (:data:`RESERVED_FOLDERS`)."""
    name = (_UNSAFE.sub("_", market).strip(" .") or "_")[:100]
    return f"market_{name}" if name.lower() in RESERVED_FOLDERS else name


def done_markets(revision_dir: Path, markets: list[str]) -> dict[str, dict[str, Any]]:
    """Markets whose folder exists (whole, by construction), with their ``market.json``."""
    out = {}
    for market in markets:
        record = revision_dir / folder_name(market) / "market.json"
        if record.exists():
            out[market] = json.loads(record.read_text(encoding="utf-8"))
    return out


def write_market(revision_dir: Path, market: str, files: dict[str, bytes], record: dict[str, Any]) -> Path:
    """Write a market's folder whole: files and ``market.json`` into a unique hidden temp folder,
    then one rename. An existing folder is never replaced (the market is done already)."""
    target = revision_dir / folder_name(market)
    temp = revision_dir / f".{folder_name(market)}.{uuid.uuid4().hex}.part"
    temp.mkdir(parents=True)
    try:
        for name, content in files.items():
            (temp / name).write_bytes(content)
        (temp / "market.json").write_text(dump_json(record), encoding="utf-8")
        _fsync_dir(temp)
        os.rename(temp, target)  # fails (not replaces) if the target exists and is not empty
        _fsync_dir(revision_dir)
    finally:
        if temp.exists():
            shutil.rmtree(temp, ignore_errors=True)
    return target


def clean_partials(revision_dir: Path) -> int:
    """Remove temp folders a killed run left behind; returns how many."""
    count = 0
    for partial in revision_dir.glob(".*.part"):
        if partial.is_dir():
            shutil.rmtree(partial, ignore_errors=True)
            count += 1
    return count


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_manifest(revision_dir: Path, manifest: dict[str, Any]) -> None:
    """Write ``manifest.json``; its ``files`` maps each written market file (``North/run.json``)
    to its SHA-256, the form the ERP export checks (``docs/export.md``)."""
    manifest["files"] = {f"{entry['folder']}/{name}": digest
                         for entry in manifest.get("markets", {}).values() if entry.get("folder")
                         for name, digest in (entry.get("files") or {}).items()}
    write_outputs(revision_dir, {MANIFEST: lambda p: p.write_text(dump_json(manifest), encoding="utf-8")})


def read_manifest(revision_dir: Path) -> dict[str, Any]:
    return json.loads((revision_dir / MANIFEST).read_text(encoding="utf-8"))


class RunLog:
    """Appends time-stamped lines to ``run.log`` of a revision and, if ``echo``, prints them."""

    def __init__(self, path: Path, echo: bool = True) -> None:
        self.path, self.echo = path, echo

    def __call__(self, text: str, echo: bool | None = None) -> None:
        if self.echo if echo is None else echo:
            print(text, flush=True)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            for line in text.splitlines() or [""]:
                fh.write(f"{now()} {line}\n")
