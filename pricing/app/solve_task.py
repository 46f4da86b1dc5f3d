"""One what-if solved on a Dask worker: the request (plain data), the answer, and the task.

The app's server never solves: it sends a :class:`SolveRequest` (the input files' bytes, the
settings, the what-if's controls) to a worker process, which rebuilds the problem, runs
:func:`pricing.app.whatif.run_whatif` and sends back a :class:`SolveAnswer`. The request carries
the files themselves rather than a path, so a worker on another machine needs no shared folder.

The time limit counts from the moment a worker starts the task: the command deadline
(``Settings.deadline``) is set there, never on the server, so time spent queued is not spent
from the solver's budget.
"""

from __future__ import annotations

import atexit
import dataclasses
import hashlib
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from models.errors import InputError
from pricing.app.whatif import WhatIf, WhatIfRun, run_whatif, sheet_files
from pricing.domain.problem import Problem
from pricing.domain.settings import Settings
from pricing.optimizer.budget import command_deadline

__all__ = ["SOLVE_INPUTS", "SolveRequest", "SolveAnswer", "solve_request", "read_inputs"]

# The data-folder files a solve reads (history.csv is the fit's, not the solve's).
SOLVE_INPUTS = ("catalog.csv", "model.json", "last_sheet.csv", "volumes.csv")
# Base problems a worker keeps loaded (one per data version seen recently).
_KEPT_BASES = 4


def read_inputs(folder: Path) -> tuple[tuple[str, bytes], ...]:
    """The bytes of each solve input present in ``folder`` (name, content), in a fixed order."""
    return tuple((name, (folder / name).read_bytes()) for name in SOLVE_INPUTS if (folder / name).is_file())


@dataclass(frozen=True, eq=False)
class SolveRequest:
    """Everything a worker needs for one what-if, as plain values.

    ``files``: (name, bytes) of the data folder's solve inputs; ``settings``: the server's
    settings; ``whatif``: the controls; ``catalog_csv``: an uploaded catalog or ``None``;
    ``time_limit``: seconds for this what-if (``None``: the settings' own); ``data_dir``: the
    server's data folder, written into the result so its run record names the real inputs.
    """

    files: tuple[tuple[str, bytes], ...]
    settings: Settings
    whatif: WhatIf
    catalog_csv: bytes | None = None
    time_limit: float | None = None
    data_dir: str | None = None

    def inputs_digest(self) -> str:
        """SHA-256 over the input files and the settings: the data version this request solves."""
        digest = hashlib.sha256(repr(sorted(self.settings.to_dict().items())).encode())
        for name, content in self.files:
            digest.update(name.encode() + b"\0" + hashlib.sha256(content).digest())
        return digest.hexdigest()


@dataclass(frozen=True, eq=False)
class SolveAnswer:
    """What a worker sends back: the run, or the bad input's message.

    An unreachable target travels as (class, args, attributes) because the optimizer's
    exceptions cannot be unpickled from their args alone; :meth:`to_run` rebuilds it.
    ``started`` is the worker's wall-clock time (``time.time()``) when it began the task,
    ``seconds`` the time the task took there. ``sheet``: the price sheet's CSV text and workbook
    bytes (:func:`pricing.app.whatif.sheet_files`), built here rather than on the app server when
    the worker sees the server's data folder (its run record hashes the files there).
    """

    run: WhatIfRun | None
    unreachable: tuple[type, tuple, dict] | None
    bad_input: str | None
    started: float
    seconds: float
    sheet: tuple[str, bytes] | None = None

    def to_run(self) -> WhatIfRun | None:
        """The :class:`WhatIfRun` as :func:`run_whatif` returned it (``None`` for bad input)."""
        if self.run is None or self.unreachable is None:
            return self.run
        cls, args, attributes = self.unreachable
        exc = cls.__new__(cls)
        exc.args = args
        exc.__dict__.update(attributes)
        return dataclasses.replace(self.run, unreachable=exc)


def solve_request(request: SolveRequest) -> SolveAnswer:
    """Solve one what-if on this worker (the Dask task; a top-level function of plain data).

    The time limit (``request.time_limit``, else the settings') starts now, on the worker.
    Bad input (an uploaded catalog or a control out of range) comes back as a message; any
    other error is raised, and the queue turns it into one line.
    """
    started = time.time()
    clock = time.perf_counter()
    try:
        base = _base_problem(request)
        settings = base.settings.replace(time_limit=request.time_limit)
        base = base.replace(settings=command_deadline(settings, started))
        run = run_whatif(base, request.whatif, request.catalog_csv)
    except InputError as exc:
        return SolveAnswer(None, None, str(exc), started, time.perf_counter() - clock)
    unreachable = None
    if run.unreachable is not None:
        exc = run.unreachable
        unreachable = (type(exc), exc.args, dict(exc.__dict__))
        run = dataclasses.replace(run, unreachable=None)
    sheet = None
    if run.result is not None and request.data_dir is not None:
        # The result names the server's data folder, not this worker's copy of it.
        problem = run.result.problem.replace(data_dir=Path(request.data_dir))
        run = dataclasses.replace(run, result=dataclasses.replace(run.result, problem=problem))
        if Path(request.data_dir).is_dir():
            sheet = sheet_files(run.result)
    return SolveAnswer(run, unreachable, None, started, time.perf_counter() - clock, sheet)


# -- the worker's copies of the data, one folder per data version --------------------------------
_bases: OrderedDict[str, tuple[Problem, Path]] = OrderedDict()
_bases_lock = threading.Lock()


def _base_problem(request: SolveRequest) -> Problem:
    """The request's base problem, read with the usual checks from a private copy of its files
    (kept while the same data version keeps coming: reading model.json is not free)."""
    digest = request.inputs_digest()
    with _bases_lock:
        if digest in _bases:
            _bases.move_to_end(digest)
            return _bases[digest][0]
        folder = Path(tempfile.mkdtemp(prefix="bundle-pricing-worker-"))
        try:
            for name, content in request.files:
                (folder / name).write_bytes(content)
            problem = Problem.load(folder, request.settings)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        _bases[digest] = (problem, folder)
        while len(_bases) > _KEPT_BASES:
            _, (_, old) = _bases.popitem(last=False)
            shutil.rmtree(old, ignore_errors=True)
        return problem


@atexit.register
def _remove_copies() -> None:
    for _, folder in _bases.values():
        shutil.rmtree(folder, ignore_errors=True)

