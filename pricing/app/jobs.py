"""The app's solve queue: what-ifs solved by a bounded pool of Dask worker processes.

One :class:`SolveQueue` per app server. A page submits a what-if and gets a :class:`Job` back at
once; the page's script thread never solves. The queue hands jobs to the Dask client (the monthly
run's, :func:`pricing.runs.cluster.get_client`: a local cluster of one single-threaded worker
process per core, or a running scheduler) only as fast as workers are free, so a job's place in
line is known and its time limit starts when a worker starts it (the deadline is set on the
worker, :mod:`pricing.app.solve_task`).

Order: first come, first served between people, taking turns: a person's k-th unfinished job
goes behind everyone's (k-1)-th, so one trade-off sweep does not hold up a colleague's what-if.

The same what-if asked while it is queued or solving shares that job. Finished jobs are kept as
answers only when proven (an optimum proven, or a target proven unreachable): an answer the
time limit cut short is shown to whoever asked while it ran, never served to the next asker.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import sys
import threading
import time
import traceback
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from models.errors import InputError, clip
from pricing.app.solve_task import SolveAnswer, SolveRequest, read_inputs, solve_request
from pricing.app.whatif import WhatIf, WhatIfRun
from pricing.domain.settings import MAX_TIME_LIMIT, Settings
from pricing.optimizer.optimize import OptimizationResult
from pricing.runs.cluster import check_scheduler, get_client, machine_cores

__all__ = ["SCHEDULER_ENV", "WORKERS_ENV", "NICE_ENV", "LONGEST_WHATIF_SECONDS", "Job", "SolveFailed", "JobStatus", "SolveQueue",
           "is_proven", "longer_limit", "describe", "describe_group", "failure_line"]

SCHEDULER_ENV = "BUNDLE_PRICING_SCHEDULER"
WORKERS_ENV = "BUNDLE_PRICING_WORKERS"
NICE_ENV = "BUNDLE_PRICING_WORKER_NICE"
# The longest time limit the re-solve button offers (seconds): one what-if holds one worker.
LONGEST_WHATIF_SECONDS = 1800.0
# How long the worker count is trusted before asking the scheduler again (seconds).
_CAPACITY_TTL = 5.0
_LOG = logging.getLogger(__name__)


def is_proven(run: WhatIfRun) -> bool:
    """True when the run is an answer: an optimum proven, or an attach target proven unreachable."""
    if run.unreachable is not None:
        return bool(getattr(run.unreachable, "proven", False))
    return run.result is not None and run.result.proven_optimal


def longer_limit(seconds: float) -> float:
    """The time limit a re-solve offers after ``seconds`` ran out: four times as long, at most
    :data:`LONGEST_WHATIF_SECONDS`."""
    return float(min(max(4 * seconds, 60.0), LONGEST_WHATIF_SECONDS))


class SolveFailed(Exception):
    """A job that has no answer: a worker error or bad input (the message is one line)."""


@dataclass(eq=False)
class Job:
    """One what-if in the queue. Read-only outside the queue; shared by everyone who asked for it.

    ``state``: ``queued`` (waiting for a worker), ``solving``, ``done`` (``run`` holds the
    answer) or ``failed`` (``error`` is one line to show). Times are ``time.monotonic()``.
    """

    key: tuple
    owner: str
    turn: int
    seq: int
    time_limit: float
    catalog_csv: bytes | None
    submitted: float
    state: str = "queued"
    dispatched: float | None = None
    finished: float | None = None
    run: WhatIfRun | None = None
    error: str | None = None
    worker_seconds: float | None = None
    worker_started: float | None = None  # wall clock (time.time()) on the worker
    sheet: tuple[str, bytes] | None = field(default=None, repr=False)  # CSV text, .xlsx bytes
    request: SolveRequest | None = field(default=None, repr=False)
    future: Any = field(default=None, repr=False)

    @property
    def over(self) -> bool:
        return self.state in ("done", "failed")

    @property
    def whatif(self) -> WhatIf:
        return self.key[1]

    def answer(self) -> OptimizationResult:
        """The optimization, as :func:`pricing.optimizer.optimize` would return it.

        Raises
        ------
        InfeasibleTarget
            The target (or a goal) is out of reach: an answer too (see its ``proven``).
        SolveFailed
            The job failed or is not over; the message is the line to show.
        """
        if self.state != "done":
            raise SolveFailed(self.error or f"the what-if is still {self.state}")
        if self.run.unreachable is not None:
            raise self.run.unreachable
        return self.run.result

    @property
    def proven(self) -> bool:
        """True when the job is done and its answer proven (see :func:`is_proven`)."""
        return self.state == "done" and is_proven(self.run)


@dataclass(frozen=True)
class JobStatus:
    """Where a job is: ``ahead`` jobs go before it (0 once solving); ``seconds`` it has waited
    (queued), solved (solving) or took on the worker (done)."""

    state: str
    ahead: int
    seconds: float
    workers: int
    time_limit: float


class SolveQueue:
    """What-ifs solved by the workers of one Dask client, in turn, sharing identical asks.

    Parameters
    ----------
    client : a ``distributed.Client`` (or :func:`get_client`'s wrapper); closed by :meth:`close`
        when ``owns_client``.
    task : the function a worker runs on a :class:`SolveRequest` (tests swap in their own).
    answers_kept : proven answers kept for the next asker.
    """

    def __init__(self, client: Any, task: Callable[[SolveRequest], SolveAnswer] = solve_request,
                 answers_kept: int = 128, owns_client: bool = False, clock: Callable[[], float] = time.monotonic):
        self.client, self.task, self.owns_client, self.clock = client, task, owns_client, clock
        self._answers_kept = answers_kept
        self._lock = threading.RLock()
        self._queued: list[Job] = []
        self._solving: list[Job] = []
        self._live: dict[tuple, Job] = {}  # queued or solving, by key
        self._answers: OrderedDict[tuple, Job] = OrderedDict()  # proven, by key without the time limit
        self._seq = itertools.count()
        self._capacity, self._capacity_at = 0, float("-inf")

    @classmethod
    def from_env(cls) -> "SolveQueue":
        """The queue the app uses: ``$BUNDLE_PRICING_SCHEDULER`` (``tcp://host:8786``) names a
        running Dask scheduler; unset, a local cluster of ``$BUNDLE_PRICING_WORKERS`` worker
        processes (default: one per core), at niceness ``$BUNDLE_PRICING_WORKER_NICE`` (default
        10: pages are drawn before solves run; 0 on a machine shared with other work, where a
        niced solve would lose its time limit to everyone else's processes).

        Raises
        ------
        InputError
            A scheduler address nobody answers at, or a worker count or niceness out of range.
        """
        address = os.environ.get(SCHEDULER_ENV, "").strip() or None
        if address:
            try:
                check_scheduler(address)
            except InputError as exc:
                raise InputError(SCHEDULER_ENV, exc.problem) from None
            return cls(get_client(address), owns_client=True)
        workers = _whole_number(WORKERS_ENV, machine_cores(), 1, 1024, "worker processes")
        nice = _whole_number(NICE_ENV, 10, 0, 19, "the workers' niceness")
        from pricing.app.worker_plugin import Niceness  # imports distributed: only when a pool starts

        client = get_client(None, n_workers=workers)
        if nice:
            client.register_plugin(Niceness(nice))
        return cls(client, owns_client=True)

    # -- asking --------------------------------------------------------------------------------
    def submit(self, folder: Path, settings: Settings, whatif: WhatIf, catalog_csv: bytes | None = None,
               time_limit: float | None = None, owner: str = "") -> Job:
        """The job answering ``whatif`` on the data in ``folder``: a proven answer already known,
        the same ask already queued or solving, or a new job at the back of ``owner``'s turn.

        Raises
        ------
        InputError
            A time limit out of range.
        OSError
            A data file that cannot be read.
        """
        limit = float(settings.time_limit if time_limit is None else time_limit)
        if not 0 < limit <= MAX_TIME_LIMIT:
            raise InputError("time limit", f"must be more than 0 and at most {MAX_TIME_LIMIT:,.0f} s, got {limit:g}")
        request = SolveRequest(read_inputs(folder), settings, whatif, catalog_csv, limit, str(folder))
        answer_key = (request.inputs_digest(), whatif,
                      None if catalog_csv is None else hashlib.sha256(catalog_csv).hexdigest())
        key = (*answer_key, limit)
        with self._lock:
            if answer_key in self._answers:
                self._answers.move_to_end(answer_key)
                return self._answers[answer_key]
            if key in self._live:
                return self._live[key]
            turn = sum(1 for j in self._live.values() if j.owner == owner)
            job = Job(key, owner, turn, next(self._seq), limit, catalog_csv, self.clock(), request=request)
            self._live[key] = job
            self._queued.append(job)
        self._pump()
        return job

    def status(self, job: Job) -> JobStatus:
        """Where ``job`` is now (and, while it waits, a look for workers that joined the pool)."""
        if job.state == "queued":
            self._pump()
        with self._lock:
            now = self.clock()
            if job.state == "queued":
                ahead = sum(1 for j in self._queued if _order(j) < _order(job))
                return JobStatus("queued", ahead, now - job.submitted, self._capacity, job.time_limit)
            if job.state == "solving":
                return JobStatus("solving", 0, now - (job.dispatched or now), self._capacity, job.time_limit)
            return JobStatus(job.state, 0, job.worker_seconds or 0.0, self._capacity, job.time_limit)

    def pending(self) -> int:
        """Jobs queued or solving."""
        with self._lock:
            return len(self._live)

    def close(self) -> None:
        """Cancel what is still queued and close the client if this queue started it."""
        with self._lock:
            for job in self._queued:
                self._fail(job, "the app server stopped before this what-if was solved")
            self._queued.clear()
        if self.owns_client:
            self.client.close()

    # -- handing jobs to workers ---------------------------------------------------------------
    def _workers(self) -> int:
        """Worker threads the cluster has (asked again every few seconds: workers come and go)."""
        now = self.clock()
        if now - self._capacity_at > _CAPACITY_TTL:
            try:
                self._capacity = sum(self.client.nthreads().values())
            except Exception as exc:  # noqa: BLE001 - a scheduler gone for a moment: keep the last count
                _LOG.warning("could not ask the solve pool for its workers (keeping %d): %s", self._capacity, exc)
            self._capacity_at = now
        return self._capacity

    def _pump(self) -> None:
        """Give workers that are free the next jobs in turn."""
        workers = self._workers()
        with self._lock:
            free = workers - len(self._solving)
            if free <= 0 or not self._queued:
                return
            self._queued.sort(key=_order)
            starting, self._queued = self._queued[:free], self._queued[free:]
            for job in starting:
                job.state, job.dispatched = "solving", self.clock()
                self._solving.append(job)
        for job in starting:
            try:
                job.future = self.client.submit(self.task, job.request, pure=False)
            except Exception as exc:  # noqa: BLE001 - a scheduler that went away: one line, not a traceback
                self._finish(job, None, exc)
                continue
            job.future.add_done_callback(lambda future, job=job: self._collect(job, future))

    def _collect(self, job: Job, future: Any) -> None:
        """Runs in the client's callback thread when a worker is done with ``job``."""
        try:
            answer, error = future.result(), None
        except BaseException as exc:  # noqa: BLE001 - whatever the worker raised becomes one line
            answer, error = None, exc
        self._finish(job, answer, error)

    def _finish(self, job: Job, answer: SolveAnswer | None, error: BaseException | None) -> None:
        with self._lock:
            if job in self._solving:
                self._solving.remove(job)
            self._live.pop(job.key, None)
            job.future, job.request = None, None
            if error is not None:
                print(f"bundle pricing: a what-if failed on a worker:\n"
                      f"{''.join(traceback.format_exception(error))}", file=sys.stderr)
                self._fail(job, failure_line(error))
            elif answer.bad_input is not None:
                self._fail(job, f"Bad input: {answer.bad_input}")
            else:
                job.run, job.worker_seconds, job.worker_started = answer.to_run(), answer.seconds, answer.started
                job.sheet = answer.sheet
                job.finished = self.clock()
                job.state = "done"
                if is_proven(job.run):
                    self._answers[job.key[:-1]] = job
                    while len(self._answers) > self._answers_kept:
                        self._answers.popitem(last=False)
        self._pump()

    def _fail(self, job: Job, line: str) -> None:
        self._live.pop(job.key, None)
        job.error, job.finished = line, self.clock()
        job.state = "failed"  # last: a reader that sees the state sees the line


def _whole_number(name: str, default: int, low: int, high: int, what: str) -> int:
    """The environment variable ``name`` as a whole number in [low, high] (``default`` when unset)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not (raw.isdigit() and low <= int(raw) <= high):
        raise InputError(name, f"must be a whole number from {low} to {high} ({what}), got {clip(raw)!r}")
    return int(raw)


def _order(job: Job) -> tuple[int, int]:
    return job.turn, job.seq


def failure_line(error: BaseException) -> str:
    """One line for a what-if that a worker could not finish (the traceback goes to the log)."""
    name = type(error).__name__
    if name == "KilledWorker":
        why = "the worker solving it stopped (out of memory, or killed)"
    elif name in ("CancelledError", "FutureCancelledError"):
        why = "it was cancelled (the worker pool restarted)"
    elif isinstance(error, (OSError, TimeoutError)):
        why = f"the worker pool could not be reached ({clip(str(error) or name, 120)})"
    else:
        why = f"{name}: {clip(str(error) or 'no message', 120)}"
    return f"The solve failed: {why}. Nothing was kept; press Run to try again."


def describe(status: JobStatus) -> str:
    """A job's status as one line for the page."""
    if status.state == "queued":
        if status.workers == 0:
            return f"Queued, waiting for a worker to join the pool ({status.seconds:.0f} s so far)."
        ahead = "nobody" if status.ahead == 0 else f"{status.ahead} what-if{'s' if status.ahead != 1 else ''}"
        return (f"Queued: {ahead} ahead of you ({status.seconds:.0f} s so far; {status.workers} worker"
                f"{'s' if status.workers != 1 else ''} solving in turn).")
    if status.state == "solving":
        return f"Solving: {status.seconds:.0f} s of at most {status.time_limit:.0f} s on a worker."
    return f"Finished ({status.state})."


def describe_group(statuses: Sequence[JobStatus]) -> str:
    """Several jobs (a sweep) as one line: how many are done, solving and queued."""
    count = {s: sum(1 for x in statuses if x.state == s) for s in ("done", "failed", "solving", "queued")}
    line = f"{count['done'] + count['failed']} of {len(statuses)} solved, {count['solving']} solving"
    queued = [x.ahead for x in statuses if x.state == "queued"]
    if queued:
        line += f", {len(queued)} queued ({min(queued)} what-if{'s' if min(queued) != 1 else ''} ahead of the first)"
    return line + "."

