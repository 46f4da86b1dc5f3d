"""Writing files so that a reader never sees half of them, and the JSON form every record uses.

A run's outputs are a *set* (``price_sheet.csv``, ``price_sheet.xlsx``, ``run.json``; or a fit's
``model.json``, ``validation.json``, ``validation.txt``) that finance reads together. Renaming
three files one after another is not atomic: killed between two renames, the folder held a new
sheet beside an old ``run.json``. :func:`publish_files` makes the switch one step:

1. every file is written into a fresh staging folder ``<folder>/.sets/.tmp-<uuid>/`` (a new
   uuid per write, never per process: app sessions are threads of one process), flushed to
   disk, and listed with its SHA-256 in a ``manifest.json`` written last;
2. the staging folder is renamed to ``<folder>/.sets/<set>/``: from now on it is complete;
3. one atomic ``rename`` of a symbolic link, ``<folder>/.sets/current -> <set>``, publishes it.
   The names people open, ``<folder>/price_sheet.csv`` etc. and ``<folder>/manifest.json``, are
   stable links ``.sets/current/<name>``, so all of them switch at that one step.

Killed at any moment, the folder shows the old complete set or the new complete set; the next
publication removes what a killed one left (staging folders, ``.part`` files of older
versions, sets no link points to), skipping staging folders another writer still holds (each
writer keeps an ``flock`` on its staging folder; the kernel drops it when the writer dies).

Why links and not only a manifest checked by readers: a manifest written last lets a reader
*detect* a mixed folder, but the old set is gone by then; with the link swap no mixed folder
ever exists, and the manifest still lets :func:`verify_outputs` catch a file edited or damaged
afterwards. Why not rename the folder itself: ``--out`` is the user's folder (it may hold other
files, and a folder cannot atomically replace a non-empty one). The one moment that is not
atomic is the first publication into a folder holding plain files from an older version: they
are replaced by links one by one, and ``manifest.json`` comes last, so :func:`verify_outputs`
refuses the folder until that first publication has finished. POSIX only (links, ``flock``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import numpy as np

from models.errors import InputError, clip

__all__ = ["publish_files", "verify_outputs", "clear_leftovers", "write_outputs", "hold_part", "dump_json", "MANIFEST",
           "OutputsIncomplete"]

MANIFEST = "manifest.json"
_SETS = ".sets"
_CURRENT = "current"
_STAGE_PREFIX = ".tmp-"
_LOCK = ".lock"
_KEEP_SETS = 2  # the current set and the one before it (a reader may be halfway through it)


class OutputsIncomplete(InputError):
    """A folder whose published set is missing, incomplete or altered: read nothing from it."""

    def __init__(self, folder: Path, problem: str):
        super().__init__(str(folder), problem)


def publish_files(folder: str | Path, writers: Mapping[str, Callable[[Path], None]],
                  *, meta: Mapping[str, Any] | None = None) -> list[Path]:
    """Write a set of files and publish them together in one atomic step (see the module doc).

    Parameters
    ----------
    folder : the user's output folder; created if missing.
    writers : file name (no folder part) -> function that writes that file at the path it is given.
    meta : extra JSON-ready fields for the set's ``manifest.json`` (e.g. the run's status).

    Returns
    -------
    The published paths ``folder / name``, in the order of ``writers``.

    Raises
    ------
    ValueError
        For a file name with a folder part, a hidden name or ``manifest.json``.
    Whatever a writer raises: nothing is published then, and the staging folder is removed.
    """
    folder = Path(folder)
    for name in writers:
        if Path(name).name != name or name.startswith(".") or name == MANIFEST:
            raise ValueError(f"not a plain output file name: {name!r}")
    folder.mkdir(parents=True, exist_ok=True)
    set_id = f"{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S}-{uuid.uuid4().hex}"
    set_dir = folder / _SETS / set_id
    with _staging(folder / _SETS) as stage:
        try:
            _fill(stage, writers, {"set": set_id, **dict(meta or {})})
            os.rename(stage, set_dir)  # complete from here on; still locked: no clean-up removes it
            with _folder_lock(folder / _SETS):
                _flip(folder, set_id)
                _link_names(folder, [*writers, MANIFEST])
                (set_dir / _LOCK).unlink()
                clear_leftovers(folder, locked=True)
        except BaseException:
            if not (folder / _SETS / _CURRENT).is_symlink() or os.readlink(folder / _SETS / _CURRENT) != set_id:
                shutil.rmtree(set_dir, ignore_errors=True)
            raise
    return [folder / name for name in writers]


def _fill(stage: Path, writers: Mapping[str, Callable[[Path], None]], meta: dict[str, Any]) -> None:
    """Write every file into ``stage``, then the manifest with their SHA-256, all flushed to disk."""
    files = {}
    for name, writer in writers.items():
        writer(stage / name)
        _fsync(stage / name)
        files[name] = {"sha256": _sha256(stage / name), "bytes": (stage / name).stat().st_size}
    manifest = {**meta, "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "files": files}
    (stage / MANIFEST).write_text(dump_json(manifest), encoding="utf-8")
    _fsync(stage / MANIFEST)
    _fsync_dir(stage)


def verify_outputs(folder: str | Path) -> Path:
    """Check that ``folder`` holds a complete published set, untouched; return the set's own
    folder, from which a reader should read every file (so that a publication happening
    meanwhile cannot hand it files of two sets).

    Raises
    ------
    OutputsIncomplete
        No published set, a file missing, or a file whose SHA-256 differs from the manifest.
    """
    folder = Path(folder)
    current = folder / _SETS / _CURRENT
    if not current.is_dir():
        raise OutputsIncomplete(folder, f"no published set (no {_SETS}/{_CURRENT}); the outputs were never "
                                        "written completely by this version: run the command again")
    set_dir = current.resolve()
    try:
        manifest = json.loads((set_dir / MANIFEST).read_text(encoding="utf-8"))
        files = dict(manifest["files"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise OutputsIncomplete(folder, f"the set's {MANIFEST} cannot be read ({clip(str(exc))})") from None
    if not (folder / MANIFEST).exists():
        raise OutputsIncomplete(folder, f"{MANIFEST} is missing: a publication did not finish; run it again")
    for name, entry in files.items():
        path = set_dir / name
        if not path.is_file():
            raise OutputsIncomplete(folder, f"{name} is listed in {MANIFEST} but missing")
        if _sha256(path) != entry.get("sha256"):
            raise OutputsIncomplete(folder, f"{name} does not match its SHA-256 in {MANIFEST}: it was changed "
                                            "after the run wrote it")
    return set_dir


def clear_leftovers(folder: str | Path, *, locked: bool = False) -> list[Path]:
    """Remove what killed writes left in ``folder``: staging folders no live writer holds,
    ``.part`` files of older versions, temporary links and sets other than the newest two.

    Returns the paths removed. ``locked``: the caller holds the folder's publication lock.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for path in folder.iterdir():
        stray = path.name.startswith(".") and path.name.endswith(".part") and path.is_file() and not _flocked(path)
        if stray or (path.name.startswith(".link-") and path.is_symlink()):
            path.unlink(missing_ok=True)
            removed.append(path)
    if (folder / _SETS).is_dir():
        with contextlib.nullcontext() if locked else _folder_lock(folder / _SETS):
            removed += _old_sets(folder)
    return removed


def write_outputs(out_dir: Path, writers: Mapping[str, Callable[[Path], None]]) -> list[Path]:
    """Write files that are read one by one (not as a set): each lands whole or not at all.

    Each writer fills a temporary file with a unique name beside its target, then it is
    renamed into place. For files read together use :func:`publish_files`.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    temps: dict[str, Path] = {}
    holds: list[int] = []
    try:
        for name, writer in writers.items():
            temps[name] = out_dir / f".{name}.{uuid.uuid4().hex}.part"
            holds.append(hold_part(temps[name]))
            writer(temps[name])
            _fsync(temps[name])
        for name, tmp in temps.items():
            os.replace(tmp, out_dir / name)
        return [out_dir / name for name in writers]
    finally:
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)
        for handle in holds:
            os.close(handle)


def hold_part(path: Path) -> int:
    """Create the temporary file ``path`` and hold an ``flock`` on it (returns the descriptor to
    close when done): :func:`clear_leftovers`, run by another writer of the same folder, removes
    only ``.part`` files that nobody holds, i.e. those a killed writer left."""
    handle = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    fcntl.flock(handle, fcntl.LOCK_EX)
    return handle


def _flocked(path: Path) -> bool:
    """True when a live process holds an ``flock`` on ``path`` (a dead one's lock is gone with it);
    False when there is no such file."""
    try:
        handle = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except OSError:
        return True
    finally:
        os.close(handle)


# -- steps ------------------------------------------------------------------------------------
@contextlib.contextmanager
def _staging(sets: Path) -> Iterator[Path]:
    """A fresh staging folder in ``sets``, held (``flock`` on its ``.lock``) until the set is
    published, so that no clean-up removes it meanwhile; removed if anything fails before it
    became a set (and ``sets`` too when nothing else is in it: a failed first run leaves nothing)."""
    stage = sets / f"{_STAGE_PREFIX}{uuid.uuid4().hex}"
    sets.mkdir(parents=True, exist_ok=True)
    # Made and locked under the folder's lock, which every clean-up takes: a clean-up never sees
    # this folder without its held lock, so a staging folder without one is a dead writer's.
    with _folder_lock(sets):
        stage.mkdir()
        lock = os.open(stage / _LOCK, os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        yield stage
    finally:
        os.close(lock)
        shutil.rmtree(stage, ignore_errors=True)  # gone already once renamed into a set
        with contextlib.suppress(OSError):
            sets.rmdir()  # only if empty


@contextlib.contextmanager
def _folder_lock(sets: Path) -> Iterator[None]:
    """Serialise publications and clean-ups into one folder (between processes and threads):
    an ``flock`` on the ``.sets`` folder itself, so no lock file is left in the user's folder."""
    handle = os.open(sets, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)


def _held(path: Path) -> bool:
    """True when a live writer holds ``path`` (its ``flock``); a dead writer's lock is gone. No
    lock file: a published set (not held), or a staging folder whose writer died between making
    it and its lock (both happen under the folder lock the caller holds)."""
    return _flocked(path / _LOCK)


def _flip(folder: Path, set_id: str) -> None:
    """Point ``.sets/current`` at ``set_id``: one atomic rename of a new link over the old one."""
    sets = folder / _SETS
    tmp = sets / f".link-{uuid.uuid4().hex}"
    os.symlink(set_id, tmp)
    os.replace(tmp, sets / _CURRENT)
    _fsync_dir(sets)


def _link_names(folder: Path, names: list[str]) -> None:
    """Make each ``folder/name`` the stable link ``.sets/current/name`` (already so after the first run)."""
    for name in names:
        target = f"{_SETS}/{_CURRENT}/{name}"
        path = folder / name
        if path.is_symlink() and os.readlink(path) == target:
            continue
        if path.is_dir() and not path.is_symlink():
            raise InputError(str(folder), f"{name} is a folder; the output file cannot be published there")
        tmp = folder / f".link-{uuid.uuid4().hex}"
        os.symlink(target, tmp)
        os.replace(tmp, path)
    _fsync_dir(folder)


def _old_sets(folder: Path) -> list[Path]:
    sets = folder / _SETS
    if not sets.is_dir():
        return []
    current = os.readlink(sets / _CURRENT) if (sets / _CURRENT).is_symlink() else None
    removed = []
    for path in sets.iterdir():
        if path.name.startswith(".link-") and path.is_symlink():
            path.unlink(missing_ok=True)
            removed.append(path)
        elif path.name.startswith(_STAGE_PREFIX) and path.is_dir() and not _held(path):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    # Keep the current set and the newest one before it (a reader may still be reading it);
    # a set still held by its writer is about to be published.
    done = sorted((p for p in sets.iterdir()
                   if p.is_dir() and not p.is_symlink() and not p.name.startswith(".") and not _held(p)),
                  key=lambda p: p.name)
    older = [p.name for p in done if current is not None and p.name < current]
    keep = {current, *older[-(_KEEP_SETS - 1):]}
    for path in done:
        if path.name not in keep:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def dump_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=_jsonable) + "\n"


def _jsonable(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")
