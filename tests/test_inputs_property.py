"""Property-based: no change to the input files ends in a traceback, a vague message or a partial output.

Hypothesis applies single changes (``input_mutations``: cells, rows, columns, types in
``model.json`` and ``run.toml``, whole files, byte-order marks, separators, encodings, huge, NaN
and infinite numbers, folders in place of files) to a small input set cut from the shipped data
(``small_inputs``) and asserts:

- the readers either accept the folder or raise one ``InputError`` whose message is one line
  naming the file, quoting at most about 80 characters of the bad value (fast, thousands of
  examples, one test per file);
- the command line (``pricing.cli.main``, in-process) exits 0 with a complete, verified output
  set, or 2/3 with one clear line and nothing written, or 1 only for an honest "no offer within
  the time limit"; never an exception (fewer examples: each valid one solves and writes).

Failing examples Hypothesis found are kept below as ``@example`` regression cases.
"""

from __future__ import annotations

import contextlib
import io
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from models.errors import InputError
from models.history import History
from pricing.runs.refit import _known_segments
from pricing.cli.main import main
from pricing.domain.catalog import Catalog
from pricing.domain.problem import Problem
from pricing.domain.settings import Settings
from pricing.files import atomic
from pricing.files.atomic import verify_outputs

sys.path.insert(0, str(Path(__file__).parent))
from input_mutations import (  # noqa: E402 - after the path set-up
    LONG, CellChange, ColumnChange, FileChange, JsonChange, RowChange, SettingChange, csv_changes, file_changes,
    fresh_copy, json_changes, setting_changes,
)
from small_inputs import write_small_data  # noqa: E402

SOURCES = ("catalog.csv", "model.json", "last_sheet.csv", "volumes.csv", "history.csv", "run.toml", "--out")
FAST = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
WORK = Path(tempfile.mkdtemp(prefix="inputs-property-"))
SMALL = write_small_data(WORK / "small")


@pytest.fixture(autouse=True, scope="module")
def no_fsync():
    """Flushing to disk is tested in test_outputs_atomic; here it would only cost time."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(atomic, "_fsync", lambda path: None)
        patch.setattr(atomic, "_fsync_dir", lambda path: None)
        yield


def mutated(*changes) -> Path:
    folder = fresh_copy(SMALL, WORK / "case")
    for change in changes:
        change.apply(folder)
    return folder


def assert_clear(message: str) -> None:
    """One line, naming the file (or flag) first, quoting at most about 80 characters of a value."""
    assert "\n" not in message and "\r" not in message, message
    assert len(message) <= 420, f"{len(message)} characters: {message[:200]}"
    assert LONG[:90] not in message, "a long value was quoted whole"
    assert message.split(":")[0].split(" ")[0] in SOURCES, message


def load_for_optimize(folder: Path) -> Problem:
    """What ``optimize`` reads and checks before any work."""
    return Problem.load(folder, Settings.from_toml(folder / "run.toml"))


def load_for_fit(folder: Path) -> History:
    """What ``fit`` reads and checks before fitting."""
    catalog = Catalog.from_csv(folder / "catalog.csv")
    return History.from_csv(folder / "history.csv", catalog.skus, _known_segments(folder / "model.json")[0])


def readers_accept_or_explain(load, folder: Path) -> None:
    try:
        load(folder)
    except InputError as exc:
        assert_clear(str(exc))


# -- readers: thousands of examples, one test per file ------------------------------------------
@settings(FAST, max_examples=500)
@given(st.one_of(csv_changes(("catalog.csv",)), file_changes(("catalog.csv",))))
@example(CellChange("catalog.csv", 2, 4, "1e308"))  # issue 14: accepted, then broke the fit and the solve
@example(CellChange("catalog.csv", 0, 1, LONG))  # issue 14: quoted whole in the one-line message
@example(FileChange("catalog.csv", "folder"))  # issue 14: IsADirectoryError
@example(FileChange("catalog.csv", "semicolon"))  # issue 14: reported as missing every column
@example(FileChange("catalog.csv", "bom"))
def test_catalog_changes(change) -> None:
    readers_accept_or_explain(load_for_optimize, mutated(change))


@settings(FAST, max_examples=500)
@given(st.one_of(json_changes, file_changes(("model.json",))))
@example(JsonChange(("fit", "price_range"), "cheap"))  # issue 14: traceback after the whole solve
@example(JsonChange(("fit", "warnings"), 5))
@example(JsonChange(("fit", "segments", 0, "params"), None))  # found by Hypothesis: TypeError in the band
@example(JsonChange(("segments", 0, "intercept"), 1e308))
@example(FileChange("model.json", "folder"))
@example(FileChange("model.json", "bom"))
@example(JsonChange(("fit", "segments", 0, "covariance", 0, 0), 8.98846567431158e307))  # found: overflow in the draws
def test_model_changes(change) -> None:
    folder = mutated(change)
    try:
        problem = load_for_optimize(folder)
    except InputError as exc:
        assert_clear(str(exc))
        return
    # What is read from the fit section after a solve must not fail on what was accepted here.
    from pricing.files.run_record import offer_warnings
    from models.uncertainty import offer_bands
    from pricing.domain.offer import Bundle, Offer, evaluate_offer

    offer = Offer((Bundle(("CAR-DC-4K", "HOME-CAM-C700"), 999.0),))
    figures = evaluate_offer(offer, problem.catalog, problem.model, 1000.0)
    offer_bands(problem.model, problem.catalog, offer, 1000.0, 0.05, n_draws=20)
    offer_warnings(type("R", (), {"problem": problem, "offer": offer, "figures": figures})())


@settings(FAST, max_examples=400)
@given(st.one_of(setting_changes, file_changes(("run.toml",))))
@example(SettingChange(("offer", "pinned"), "five"))  # issue 14: read letter by letter
@example(SettingChange(("offer", "max_items"), 1000000))  # issue 14: tried to allocate 8.6 GiB
@example(FileChange("run.toml", "truncate_line", 0.6))  # issue 14: silently fell back to defaults
@example(FileChange("run.toml", "folder"))
@example(SettingChange(("solver", "time_limit"), float("inf")))
def test_settings_changes(change) -> None:
    readers_accept_or_explain(load_for_optimize, mutated(change))


@settings(FAST, max_examples=300)
@given(st.one_of(csv_changes(("last_sheet.csv", "volumes.csv")), file_changes(("last_sheet.csv", "volumes.csv"))))
@example(FileChange("volumes.csv", "folder"))  # issue 14: volumes.csv was never checked
@example(CellChange("volumes.csv", 0, 2, "nan"))
@example(CellChange("last_sheet.csv", 0, 5, "1e308"))
def test_last_sheet_and_volumes_changes(change) -> None:
    readers_accept_or_explain(load_for_optimize, mutated(change))


@settings(FAST, max_examples=400)
@given(st.one_of(csv_changes(("history.csv", "catalog.csv")), file_changes(("history.csv",))))
@example(CellChange("history.csv", 3, 5, "1e308"))  # issue 14: ValueError: array must not contain infs or NaNs
@example(FileChange("history.csv", "folder"))
@example(FileChange("history.csv", "latin1"))
def test_history_changes(change) -> None:
    readers_accept_or_explain(load_for_fit, mutated(change))


def test_a_settings_file_cut_at_any_line_is_refused() -> None:
    lines = (SMALL / "run.toml").read_text(encoding="utf-8").splitlines(keepends=True)
    last_key = max(i for i, line in enumerate(lines) if "=" in line)
    for cut in range(last_key + 1):
        folder = mutated()
        (folder / "run.toml").write_text("".join(lines[:cut]), encoding="utf-8")
        with pytest.raises(InputError, match=r"^run\.toml: missing setting\(s\) .*cut short"):
            Settings.from_toml(folder / "run.toml")


# -- the command line: every outcome honours the exit contract -----------------------------------
def run_cli(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, err.getvalue()


def assert_contract(code: int, err: str, out: Path, expected: tuple[str, ...]) -> None:
    lines = err.strip().splitlines()
    if code == 0:
        set_dir = verify_outputs(out)
        assert sorted(p.name for p in set_dir.iterdir()) == sorted(["manifest.json", *expected])
        return
    assert not out.exists() or not any(out.iterdir()), f"exit {code} but wrote {sorted(p.name for p in out.iterdir())}"
    assert len(lines) == 1, err
    if code == 2:
        assert lines[0].startswith(("bad input: ", "usage error: ")), lines[0]
        assert_clear(lines[0].removeprefix("bad input: "))
    elif code == 3:
        assert lines[0].startswith("target unreachable: attach target"), lines[0]
    else:
        assert code == 1 and "no feasible offer was found within the" in lines[0], err


ANY_CHANGE = st.one_of(
    csv_changes(("catalog.csv", "last_sheet.csv", "volumes.csv")), json_changes, setting_changes,
    file_changes(("catalog.csv", "model.json", "last_sheet.csv", "volumes.csv", "history.csv", "run.toml")),
)


@settings(FAST, max_examples=60)
@given(ANY_CHANGE)
@example(CellChange("catalog.csv", 1, 5, "1e308"))
@example(JsonChange(("fit", "segments", 0, "covariance"), "x"))
@example(JsonChange(("segments", 0, "appeal", 0), 36, False))  # e^33 bundles: HiGHS refused the program
@example(JsonChange(("segments", 0, "appeal", 0), -352, False))  # tiny attractions: underflow in the pruning
@example(SettingChange(("offer", "pinned"), "five"))
@example(ColumnChange("catalog.csv", "drop", 4))
@example(RowChange("catalog.csv", "short", 3))
def test_optimize_command_contract(change) -> None:
    folder = mutated(change)
    out = WORK / "out"
    fresh_copy(WORK / "small", out)  # replaced below: a clean, absent output folder
    import shutil

    shutil.rmtree(out)
    code, err = run_cli(["optimize", "--data", str(folder), "--config", str(folder / "run.toml"), "--out", str(out)])
    assert_contract(code, err, out, ("price_sheet.csv", "price_sheet.xlsx", "run.json"))


@settings(FAST, max_examples=25)
@given(st.one_of(csv_changes(("history.csv", "catalog.csv")), file_changes(("history.csv", "catalog.csv",
                                                                              "model.json"))))
@example(CellChange("history.csv", 0, 5, "inf"))
def test_fit_command_contract(change) -> None:
    folder = mutated(change)
    out = WORK / "fit-out"
    import shutil

    shutil.rmtree(out, ignore_errors=True)
    code, err = run_cli(["fit", "--data", str(folder), "--out", str(out / "model.json")])
    assert_contract(code, err, out, ("model.json", "validation.json", "validation.txt"))


@pytest.mark.parametrize("name", ["catalog.csv", "model.json", "last_sheet.csv", "volumes.csv", "run.toml"])
def test_an_unreadable_file_is_named(monkeypatch, name: str) -> None:
    """Permission denied (tests run as root, so the refusal is simulated at the one place files are read)."""
    folder = mutated()
    real = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == name:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    with pytest.raises(InputError, match=rf"^{name.replace('.', '[.]')}: cannot be read \(permission denied\)"):
        load_for_optimize(folder)
