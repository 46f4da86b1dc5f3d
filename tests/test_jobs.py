"""The app's solve queue (``pricing.app.jobs``) on a real local Dask cluster of one worker process.

Positions follow turns (a person's k-th unfinished what-if goes behind everyone's (k-1)-th); the
same what-if asked twice while it runs is one job; a proven answer is kept for the next asker and
one the time limit cut short is not; a worker error is one line; the time limit starts on the
worker, not when the what-if was queued; the real solve in a worker process gives the library's
answer, an unreachable target included. Worker tasks stand in for the solve where a test must
decide when a worker is busy (``tests/job_tasks.py``).
"""

import time
from pathlib import Path

import pytest

from models.errors import InputError
from pricing.app.jobs import (
    LONGEST_WHATIF_SECONDS, JobStatus, SolveFailed, SolveQueue, describe, describe_group, failure_line, longer_limit,
)
from pricing.app.whatif import WhatIf, run_whatif, sheet_files
from pricing.domain.problem import Problem
from pricing.domain.settings import Settings
from pricing.optimizer.optimize import InfeasibleTarget
from pricing.runs.cluster import get_client, machine_cores
from tests import job_tasks
from tests.test_app import make_small_data


@pytest.fixture(scope="module")
def client():
    with get_client(None, n_workers=1) as one_worker:
        yield one_worker


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    return make_small_data(tmp_path_factory.mktemp("jobs") / "data")


@pytest.fixture
def gate(tmp_path) -> Path:
    """An empty data folder whose ``open`` file lets the gated tasks run."""
    (tmp_path / "catalog.csv").write_text("sku\n")
    yield tmp_path
    (tmp_path / "open").touch()  # never leave a worker waiting for the next test


def until(condition, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def calls(folder: Path) -> list[str]:
    log = folder / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


SETTINGS = Settings.from_toml()
ASK = WhatIf.from_settings(SETTINGS)


def test_positions_follow_turns_and_the_worker_takes_them_in_that_order(client, gate):
    queue = SolveQueue(client, task=job_tasks.gated)
    a = queue.submit(gate, SETTINGS, ASK.replace(max_bundles=1), owner="li")
    b = queue.submit(gate, SETTINGS, ASK.replace(max_bundles=2), owner="wang")
    c = queue.submit(gate, SETTINGS, ASK.replace(max_bundles=3), owner="li")
    d = queue.submit(gate, SETTINGS, ASK.replace(max_bundles=4), owner="zhao")
    status = {name: queue.status(job) for name, job in zip("abcd", (a, b, c, d))}
    assert status["a"].state == "solving"
    assert {n: (s.state, s.ahead) for n, s in status.items() if n != "a"} == {
        "b": ("queued", 0), "d": ("queued", 1), "c": ("queued", 2)}
    assert describe(status["b"]).startswith("Queued: nobody ahead of you")
    assert describe(status["c"]).startswith("Queued: 2 what-ifs ahead of you")
    assert describe(status["a"]).startswith("Solving: 0 s of at most 60 s")
    assert queue.pending() == 4
    (gate / "open").touch()
    until(lambda: all(job.over for job in (a, b, c, d)))
    assert [line.split()[1] for line in calls(gate)] == ["1", "2", "4", "3"]
    assert [job.state for job in (a, b, c, d)] == ["done"] * 4 and queue.pending() == 0


def test_the_same_whatif_asked_twice_while_it_runs_is_one_job(client, gate):
    queue = SolveQueue(client, task=job_tasks.gated)
    first = queue.submit(gate, SETTINGS, ASK, owner="li")
    assert queue.submit(gate, SETTINGS, ASK, owner="wang") is first
    other_limit = queue.submit(gate, SETTINGS, ASK, time_limit=240, owner="wang")
    assert other_limit is not first
    (gate / "open").touch()
    until(lambda: first.over and other_limit.over)
    assert len(calls(gate)) == 2
    # Proven: the next asker gets the answer without a solve, whatever time limit they ask for.
    kept = queue.submit(gate, SETTINGS, ASK, owner="zhao")
    assert kept in (first, other_limit) and kept.proven
    assert queue.submit(gate, SETTINGS, ASK, time_limit=30, owner="zhao") is kept
    assert len(calls(gate)) == 2


def test_an_unproven_answer_goes_to_those_who_asked_and_is_never_served_again(client, gate):
    queue = SolveQueue(client, task=job_tasks.gated)
    unproven = ASK.replace(buyers=job_tasks.UNPROVEN_BUYERS)
    job = queue.submit(gate, SETTINGS, unproven, owner="li")
    assert queue.submit(gate, SETTINGS, unproven, owner="wang") is job  # asked while it ran: shared
    (gate / "open").touch()
    until(lambda: job.over)
    assert job.state == "done" and not job.proven and not job.run.result.proven_optimal
    again = queue.submit(gate, SETTINGS, unproven, owner="zhao")
    assert again is not job
    until(lambda: again.over)
    assert len(calls(gate)) == 2


def test_a_worker_error_is_one_clear_line_and_is_not_kept(client, gate, capsys):
    queue = SolveQueue(client, task=job_tasks.gated)
    failing = ASK.replace(buyers=job_tasks.FAILING_BUYERS)
    job = queue.submit(gate, SETTINGS, failing, owner="li")
    (gate / "open").touch()
    until(lambda: job.over)
    assert job.state == "failed"
    assert job.error == ("The solve failed: RuntimeError: the model blew up on two lines. "
                         "Nothing was kept; press Run to try again.")
    with pytest.raises(SolveFailed, match="^The solve failed: RuntimeError: the model blew up on two lines"):
        job.answer()
    assert "Traceback" in capsys.readouterr().err  # for whoever runs the server, not for the page
    assert queue.submit(gate, SETTINGS, failing, owner="li") is not job


@pytest.mark.parametrize("error, line", [
    (type("KilledWorker", (Exception,), {})("x"), "the worker solving it stopped (out of memory, or killed)"),
    (ConnectionRefusedError(111, "Connection refused"), "the worker pool could not be reached ([Errno 111] "
                                                        "Connection refused)"),
    (ValueError("x" * 500), "ValueError: " + "x" * 117 + "..."),
], ids=["killed-worker", "scheduler-gone", "long-message-clipped"])
def test_failure_lines(error, line):
    assert failure_line(error) == f"The solve failed: {line}. Nothing was kept; press Run to try again."


def test_the_real_solve_on_a_worker_is_the_librarys_and_its_time_limit_starts_there(client, small):
    queue = SolveQueue(client)
    four = ASK.replace(max_bundles=4, attach_rate=0.14)  # under the default offer rules 4 bundles reach 14.6%
    first = queue.submit(small, SETTINGS, four, owner="li")
    second = queue.submit(small, SETTINGS, ASK.replace(attach_rate=0.12), time_limit=45, owner="wang")
    assert queue.status(second).state == "queued"
    until(lambda: first.over and second.over, 180)
    base = Problem.load(small, SETTINGS)
    for job, ask in ((first, four), (second, ASK.replace(attach_rate=0.12))):
        expected = run_whatif(base, ask).result
        got = job.answer()
        assert got.proven_optimal and got.figures.margin == pytest.approx(expected.figures.margin, rel=1e-9)
        assert [b.skus for b in got.offer.bundles] == [b.skus for b in expected.offer.bundles]
        assert got.problem.data_dir == small  # the run record names the server's folder
        assert job.sheet[0] == sheet_files(expected)[0]  # the downloads, built on the worker
        assert job.sheet[1][:2] == b"PK"  # an .xlsx (a zip)
    # The deadline is set on the worker when it starts the job: waiting in line is not spent.
    assert second.run.result.problem.settings.time_limit == 45
    assert second.run.result.problem.settings.deadline == pytest.approx(second.worker_started + 45)
    assert second.worker_started >= first.worker_started + first.worker_seconds - 0.05
    assert first.run.result.problem.settings.deadline == pytest.approx(first.worker_started + 60)


def test_an_unreachable_target_crosses_over_intact_and_a_proven_one_is_kept(client, small):
    queue = SolveQueue(client)
    job = queue.submit(small, SETTINGS, ASK.replace(attach_rate=0.40), owner="li")
    until(lambda: job.over, 120)
    expected = run_whatif(Problem.load(small, SETTINGS), ASK.replace(attach_rate=0.40)).unreachable
    got = job.run.unreachable
    assert type(got) is type(expected) and str(got) == str(expected)
    assert (got.best_attach, got.proven) == (pytest.approx(expected.best_attach), True)
    with pytest.raises(InfeasibleTarget, match="cannot be reached"):
        job.answer()
    assert queue.submit(small, SETTINGS, ASK.replace(attach_rate=0.40), owner="wang") is job


def test_bad_input_found_on_the_worker_is_the_librarys_line(client, small):
    queue = SolveQueue(client)
    job = queue.submit(small, SETTINGS, ASK.replace(deepest_discount=0.001), owner="li")
    until(lambda: job.over, 120)
    assert job.state == "failed"
    assert job.error == ("Bad input: deepest discount: must be at least the smallest discount on the ladder (5%), "
                         "got 0%")
    with pytest.raises(InputError, match="time limit: must be more than 0"):
        queue.submit(small, SETTINGS, ASK, time_limit=0)


def test_a_data_change_is_a_new_job(client, gate):
    queue = SolveQueue(client, task=job_tasks.gated)
    (gate / "open").touch()
    job = queue.submit(gate, SETTINGS, ASK)
    until(lambda: job.over)
    assert queue.submit(gate, SETTINGS, ASK) is job
    (gate / "catalog.csv").write_text("sku\nX\n")  # an approval rewrote an input
    assert queue.submit(gate, SETTINGS, ASK) is not job


def test_the_app_points_its_solves_at_a_scheduler(client, small, monkeypatch):
    monkeypatch.setenv("BUNDLE_PRICING_SCHEDULER", client.scheduler.address)
    queue = SolveQueue.from_env()
    try:
        job = queue.submit(small, SETTINGS, ASK.replace(max_bundles=3))
        until(lambda: job.over, 120)
        assert job.proven
        assert queue.status(job).workers == 1
    finally:
        queue.close()
    assert client.status == "running"  # closing the app's queue leaves the shared cluster up


def test_settings_that_name_no_pool_are_one_line(monkeypatch):
    monkeypatch.setenv("BUNDLE_PRICING_SCHEDULER", "tcp://127.0.0.1:1")
    with pytest.raises(InputError, match="^BUNDLE_PRICING_SCHEDULER: no Dask scheduler answers at tcp://127.0.0.1:1"):
        SolveQueue.from_env()
    monkeypatch.delenv("BUNDLE_PRICING_SCHEDULER")
    monkeypatch.setenv("BUNDLE_PRICING_WORKERS", "two")
    with pytest.raises(InputError, match=r"BUNDLE_PRICING_WORKERS: must be a whole number from 1 to 1024 "
                                         r"\(worker processes\), got 'two'"):
        SolveQueue.from_env()
    monkeypatch.setenv("BUNDLE_PRICING_WORKERS", "1")
    monkeypatch.setenv("BUNDLE_PRICING_WORKER_NICE", "20")
    with pytest.raises(InputError, match=r"BUNDLE_PRICING_WORKER_NICE: must be a whole number from 0 to 19 "
                                         r"\(the workers' niceness\), got '20'"):
        SolveQueue.from_env()


def test_the_local_pool_has_one_single_threaded_worker_per_core(monkeypatch):
    monkeypatch.delenv("BUNDLE_PRICING_SCHEDULER", raising=False)
    monkeypatch.delenv("BUNDLE_PRICING_WORKERS", raising=False)
    queue = SolveQueue.from_env()
    try:
        threads = queue.client.nthreads()
        assert sorted(threads.values()) == [1] * machine_cores()
        assert set(queue.client.run(lambda: __import__("os").nice(0)).values()) == {10}  # pages first
    finally:
        queue.close()


def test_status_lines():
    assert describe(JobStatus("queued", 1, 12.4, 2, 60)) == ("Queued: 1 what-if ahead of you (12 s so far; "
                                                             "2 workers solving in turn).")
    assert describe(JobStatus("queued", 0, 3, 0, 60)).startswith("Queued, waiting for a worker to join the pool")
    assert describe(JobStatus("solving", 0, 7.6, 2, 240)) == "Solving: 8 s of at most 240 s on a worker."
    group = [JobStatus("done", 0, 1, 2, 60), JobStatus("solving", 0, 1, 2, 60), JobStatus("queued", 3, 1, 2, 60),
             JobStatus("queued", 4, 1, 2, 60)]
    assert describe_group(group) == "1 of 4 solved, 1 solving, 2 queued (3 what-ifs ahead of the first)."
    assert [longer_limit(s) for s in (1, 60, 240, 1000)] == [60, 240, 960, LONGEST_WHATIF_SECONDS]
