"""All-or-nothing output sets: killed at any moment, a folder shows the old complete set or the
new complete set; the next publication clears what a killed one left; readers check the manifest.

Kills are real: a forked child dies with ``os._exit`` (no clean-up code runs) right before each
file-system step of a publication in turn, and separately a child process publishing in a loop
is sent SIGKILL at random moments.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from pricing.cli.main import main
from pricing.files import atomic
from pricing.files.atomic import MANIFEST, OutputsIncomplete, clear_leftovers, publish_files, verify_outputs
from pricing.files.run_record import OUTPUT_FILES


NAMES = ("price_sheet.csv", "price_sheet.xlsx", "run.json")


def writers(generation: int, names=NAMES) -> dict:
    return {name: (lambda p, n=name: p.write_text(f"{n} generation {generation}\n")) for name in names}


def generation_of(folder: Path) -> int:
    """The generation every file of the published set holds (they must agree), read through
    the set folder that ``verify_outputs`` returns."""
    set_dir = verify_outputs(folder)
    seen = {int((set_dir / n).read_text().split()[-1]) for n in NAMES}
    assert len(seen) == 1, f"a mixed set: {seen}"
    via_links = {int((folder / n).read_text().split()[-1]) for n in NAMES}
    assert via_links == seen
    return seen.pop()


def leftovers(folder: Path) -> list[str]:
    sets = folder / ".sets"
    stray = [p.name for p in folder.iterdir() if p.name.endswith(".part") or p.name.startswith(".link-")]
    if sets.is_dir():
        stray += [p.name for p in sets.iterdir() if p.name.startswith((".tmp-", ".link-"))]
    return stray


def test_publish_then_verify(tmp_path: Path) -> None:
    out = tmp_path / "out"
    paths = publish_files(out, writers(1), meta={"kind": "test"})
    assert paths == [out / n for n in NAMES]
    assert generation_of(out) == 1
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["kind"] == "test" and sorted(manifest["files"]) == sorted(NAMES)
    publish_files(out, writers(2))
    assert generation_of(out) == 2
    assert leftovers(out) == []
    assert sorted(p.name for p in out.iterdir()) == sorted([".sets", MANIFEST, *NAMES])


def test_a_failing_writer_publishes_nothing_and_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    publish_files(out, writers(1))

    def broken(path: Path) -> None:
        path.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        publish_files(out, {**writers(2), "price_sheet.xlsx": broken})
    assert generation_of(out) == 1
    assert leftovers(out) == []

    fresh = tmp_path / "fresh"
    fresh.mkdir()
    with pytest.raises(OSError, match="disk full"):
        publish_files(fresh, {**writers(1), "price_sheet.xlsx": broken})
    assert list(fresh.iterdir()) == []


def test_verify_refuses_an_edited_file_and_a_folder_never_published(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    for name in NAMES:
        (out / name).write_text("written by an older version")
    with pytest.raises(OutputsIncomplete, match="no published set"):
        verify_outputs(out)
    publish_files(out, writers(1))  # plain files of an older version become links
    assert generation_of(out) == 1
    (out / "run.json").write_text("edited by hand")
    with pytest.raises(OutputsIncomplete, match="run.json does not match its SHA-256"):
        verify_outputs(out)


def _steps_of_one_publication(folder: Path) -> int:
    """How many file-system steps a publication into ``folder`` takes (counted, not guessed)."""
    calls = []
    proxy = _CountingOs(lambda name: calls.append(name))
    original = atomic.os
    atomic.os = proxy
    try:
        publish_files(folder, writers(99))
    finally:
        atomic.os = original
    return len(calls)


class _CountingOs:
    """``os`` for ``atomic``, calling ``hook`` before each step that changes the file system."""

    STEPS = ("rename", "replace", "symlink", "fsync", "unlink", "rmdir", "mkdir")

    def __init__(self, hook):
        self._hook = hook

    def __getattr__(self, name):
        real = getattr(os, name)
        if name not in self.STEPS:
            return real

        def step(*args, **kwargs):
            self._hook(name)
            return real(*args, **kwargs)

        return step


def test_killed_before_any_step_leaves_old_or_new_complete_set(tmp_path: Path) -> None:
    probe = tmp_path / "probe"
    publish_files(probe, writers(0))
    steps = _steps_of_one_publication(probe)
    assert steps >= 6
    out = tmp_path / "out"
    publish_files(out, writers(1))
    outcomes = set()
    for kill_at in range(1, steps + 2):
        before = generation_of(out)
        pid = os.fork()
        if pid == 0:  # the child publishes and dies at step kill_at: no clean-up code runs
            count = iter(range(1, 10**6))

            def hook(_name: str) -> None:
                if next(count) == kill_at:
                    os._exit(9)

            atomic.os = _CountingOs(hook)
            try:
                publish_files(out, writers(before + 1))
            finally:
                os._exit(0)
        _, status = os.waitpid(pid, 0)
        after = generation_of(out)  # raises on a mixed or broken set
        assert after in (before, before + 1)
        outcomes.add((os.waitstatus_to_exitcode(status), after - before))
        publish_files(out, writers(after + 1))  # the next run clears what the killed one left
        assert leftovers(out) == []
        assert len([p for p in (out / ".sets").iterdir() if not p.name.startswith(".") and p.name != "current"]) <= 2
    assert (9, 0) in outcomes and (9, 1) in outcomes and (0, 1) in outcomes  # killed before and after the switch


def test_sigkill_at_random_moments(tmp_path: Path) -> None:
    """A forked child publishes generation after generation until SIGKILL stops it at a random moment."""
    out = tmp_path / "out"
    publish_files(out, writers(1))
    rng = random.Random(14)
    for _ in range(25):
        before = generation_of(out)
        ready_r, ready_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.write(ready_w, b"r")
                generation = before
                while True:
                    generation += 1
                    publish_files(out, {n: (lambda p, n=n, g=generation: (p.write_text(f"{n} generation {g}\n"),
                                                                          time.sleep(0.001))) for n in NAMES})
            finally:
                os._exit(0)
        os.read(ready_r, 1)
        os.close(ready_r)
        os.close(ready_w)
        time.sleep(rng.uniform(0.0, 0.05))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        assert generation_of(out) >= before  # complete, never mixed (generation_of checks)
        publish_files(out, writers(generation_of(out) + 1))
        assert leftovers(out) == []


def test_concurrent_publications_into_one_folder(tmp_path: Path) -> None:
    """App sessions are threads of one process: unique staging names, one lock, no lost set."""
    out = tmp_path / "out"
    errors: list[BaseException] = []

    def publish(k: int) -> None:
        try:
            for j in range(5):
                publish_files(out, writers(100 * k + j))
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=publish, args=(k,)) for k in range(1, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert generation_of(out) % 100 == 4  # the last publication of some thread
    assert leftovers(out) == []


def test_clear_leftovers_keeps_a_live_writers_staging_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    publish_files(out, writers(1))
    (out / ".price_sheet.csv.1234.part").write_text("from an older version")
    dead = out / ".sets" / ".tmp-dead"
    dead.mkdir()
    (dead / ".lock").write_text("")
    with atomic._staging(out / ".sets") as live:
        removed = {p.name for p in clear_leftovers(out)}
        assert live.is_dir()
    assert removed == {".price_sheet.csv.1234.part", ".tmp-dead"}


def test_optimize_publishes_a_verified_set_and_keeps_it_when_the_next_run_fails(tmp_path: Path, monkeypatch) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from small_inputs import write_small_data

    data = write_small_data(tmp_path / "data")
    out = tmp_path / "out"
    argv = ["optimize", "--data", str(data), "--config", str(data / "run.toml"), "--out", str(out)]
    assert main(argv) == 0
    first = verify_outputs(out)
    assert sorted(p.name for p in first.iterdir()) == sorted([MANIFEST, *OUTPUT_FILES])
    record = json.loads((out / "run.json").read_text())
    assert record["status"] in ("optimal", "time_limit")

    run_record = sys.modules["pricing.files.run_record"]  # the module (pricing.files exports a function of that name)

    def broken(path, *args, **kwargs):
        Path(path).write_bytes(b"half a workbook")
        raise OSError("disk full")

    monkeypatch.setattr(run_record, "write_workbook", broken)
    with pytest.raises(OSError, match="disk full"):
        main(argv)
    assert verify_outputs(out) == first
    assert leftovers(out) == []


def test_fit_publishes_model_and_validation_as_one_set(tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from small_inputs import write_small_data

    data = write_small_data(tmp_path / "data")
    assert main(["fit", "--data", str(data)]) == 0
    set_dir = verify_outputs(data)
    assert sorted(json.loads((set_dir / MANIFEST).read_text())["files"]) == [
        "model.json", "validation.json", "validation.txt"]
    assert (data / "model.json").is_symlink()
    assert main(["optimize", "--data", str(data), "--config", str(data / "run.toml"),
                 "--out", str(tmp_path / "out")]) == 0  # the published model reads back


def test_clear_leftovers_spares_a_part_file_a_live_writer_holds(tmp_path: Path) -> None:
    """Another writer's temporary file in the same folder (an approval writing last_sheet.csv while
    a fit clears the data folder) is not a leftover while its writer holds it."""
    folder = tmp_path / "data"
    folder.mkdir()
    live = folder / ".last_sheet.csv.live.part"
    handle = atomic.hold_part(live)
    dead = folder / ".last_sheet.csv.dead.part"
    dead.write_text("a killed writer's")
    try:
        assert atomic.clear_leftovers(folder) == [dead]
        assert live.exists()
    finally:
        os.close(handle)
    assert atomic.clear_leftovers(folder) == [live]
