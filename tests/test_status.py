"""Solve status: HiGHS's model status mapped in one table; a time-limited run is never "optimal"."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import highspy
import pytest

from pricing.cli import EXIT_OK, main
from pricing.optimizer.optimize import optimize
from pricing.domain.problem import Problem
from pricing.domain.settings import Settings
from pricing.optimizer.status import SolveStatus, status_from_highs

from conftest import DATA

M = highspy.HighsModelStatus
S = SolveStatus

# HiGHS model status -> (ours with a feasible point, ours without one)
TABLE = [
    pytest.param(M.kOptimal, S.OPTIMAL, S.ERROR, id="optimal"),
    pytest.param(M.kInfeasible, S.INFEASIBLE, S.INFEASIBLE, id="infeasible"),
    pytest.param(M.kUnboundedOrInfeasible, S.INFEASIBLE, S.INFEASIBLE, id="unbounded-or-infeasible"),
    pytest.param(M.kTimeLimit, S.TIME_LIMIT, S.NO_SOLUTION, id="time-limit"),
    pytest.param(M.kIterationLimit, S.TIME_LIMIT, S.NO_SOLUTION, id="iteration-limit"),
    pytest.param(M.kSolutionLimit, S.TIME_LIMIT, S.NO_SOLUTION, id="solution-limit"),
    pytest.param(M.kInterrupt, S.TIME_LIMIT, S.NO_SOLUTION, id="interrupt"),
    pytest.param(M.kHighsInterrupt, S.TIME_LIMIT, S.NO_SOLUTION, id="highs-interrupt"),
    pytest.param(M.kObjectiveBound, S.TIME_LIMIT, S.NO_SOLUTION, id="objective-bound"),
    pytest.param(M.kObjectiveTarget, S.TIME_LIMIT, S.NO_SOLUTION, id="objective-target"),
    pytest.param(M.kUnbounded, S.ERROR, S.ERROR, id="unbounded"),
    pytest.param(M.kNotset, S.ERROR, S.ERROR, id="not-set"),
    pytest.param(M.kLoadError, S.ERROR, S.ERROR, id="load-error"),
    pytest.param(M.kModelError, S.ERROR, S.ERROR, id="model-error"),
    pytest.param(M.kPresolveError, S.ERROR, S.ERROR, id="presolve-error"),
    pytest.param(M.kSolveError, S.ERROR, S.ERROR, id="solve-error"),
    pytest.param(M.kPostsolveError, S.ERROR, S.ERROR, id="postsolve-error"),
    pytest.param(M.kModelEmpty, S.ERROR, S.ERROR, id="model-empty"),
    pytest.param(M.kMemoryLimit, S.ERROR, S.ERROR, id="memory-limit"),
    pytest.param(M.kUnknown, S.ERROR, S.ERROR, id="unknown"),
]


@pytest.mark.parametrize(("highs", "with_point", "without_point"), TABLE)
def test_highs_status_table(highs, with_point: SolveStatus, without_point: SolveStatus) -> None:
    assert status_from_highs(highs, True) is with_point
    assert status_from_highs(highs, False) is without_point


def test_table_covers_every_highs_status() -> None:
    listed = {p.values[0] for p in TABLE}
    every = {getattr(M, name) for name in dir(M) if name.startswith("k")}
    assert every <= listed


def test_only_a_proven_optimum_is_called_optimal() -> None:
    for highs in {getattr(M, name) for name in dir(M) if name.startswith("k")}:
        for has_point in (True, False):
            status = status_from_highs(highs, has_point)
            assert status.proven_optimal == (highs == M.kOptimal and has_point)
            assert status.is_ok == (status in (S.OPTIMAL, S.TIME_LIMIT))
            if status.is_ok:
                assert has_point


def test_anything_unlisted_is_an_error() -> None:
    assert status_from_highs("not a HiGHS status", True) is S.ERROR


@pytest.fixture(scope="module")
def time_limited() -> tuple[Path, int, str]:
    """One CLI run on the shipped data with a 0.05 s solver limit (far too short for a proof)."""
    import contextlib
    import io
    import tempfile

    out = Path(tempfile.mkdtemp()) / "out"
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(["optimize", "--data", str(DATA), "--out", str(out), "--time-limit", "0.05"])
    assert code == EXIT_OK, stderr.getvalue()
    return out, code, stdout.getvalue()


def test_time_limited_run_is_not_reported_optimal(time_limited) -> None:
    out, _, printed = time_limited
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert record["status"] in ("time_limit", "no_solution")
    assert record["proven_optimal"] is False
    gap = record["gap"]
    assert gap is None or (math.isfinite(gap) and gap > record["settings"]["solver"]["rel_gap"])
    for line in printed.splitlines():
        if re.search(r"\boptimal\b", line, re.IGNORECASE):
            assert "NOT" in line, line


def test_time_limited_outputs_are_valid_files(time_limited) -> None:
    """No infinity leaks into run.json (strict JSON) or the workbook when no bound exists yet."""
    out, _, _ = time_limited
    json.loads((out / "run.json").read_text(encoding="utf-8"), parse_constant=_reject)
    assert (out / "price_sheet.xlsx").stat().st_size > 0


def _reject(token: str) -> None:
    raise ValueError(f"run.json holds {token}, which is not JSON")


def test_time_limited_result_object() -> None:
    settings = Settings.from_toml().replace(time_limit=0.05)
    result = optimize(Problem.load(DATA, settings))
    assert result.status in (S.TIME_LIMIT, S.NO_SOLUTION)
    assert not result.proven_optimal
    if result.gap is not None and math.isfinite(result.gap):
        assert result.gap >= 0
