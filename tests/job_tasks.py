"""Tasks the solve-queue tests hand to Dask workers in place of the real solve (importable by
the worker processes, which inherit the test process's ``sys.path``).

:func:`gated` waits until a file ``open`` exists in the request's ``data_dir`` (so a test decides
when a worker is busy), logs each call to ``calls.log`` there, and answers from the controls:
``buyers`` 999 is an answer the time limit cut short, 666 a worker error, anything else proven.
:func:`gated_solve` waits the same way, then runs the real solve; below a 100 s time limit it
reports the answer as stopped by the time limit (the real solve proved it).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from types import SimpleNamespace

from pricing.app.solve_task import SolveAnswer, SolveRequest, solve_request
from pricing.app.whatif import WhatIfRun
from pricing.optimizer.status import SolveStatus

UNPROVEN_BUYERS, FAILING_BUYERS = 999.0, 666.0


def wait_for_gate(folder: Path, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not (folder / "open").exists():
        if time.monotonic() > deadline:
            raise TimeoutError("the test never opened the gate")
        time.sleep(0.02)


def gated(request: SolveRequest) -> SolveAnswer:
    folder = Path(request.data_dir)
    started = time.time()
    wait_for_gate(folder)
    with open(folder / "calls.log", "a") as log:
        log.write(f"{request.whatif.buyers:g} {request.whatif.max_bundles} {started:.6f}\n")
    if request.whatif.buyers == FAILING_BUYERS:
        raise RuntimeError("the model blew up\non two lines")
    result = SimpleNamespace(proven_optimal=request.whatif.buyers != UNPROVEN_BUYERS)
    return SolveAnswer(WhatIfRun(request.whatif, result, None, 0.0), None, None, started, 0.0)


def gated_solve(request: SolveRequest) -> SolveAnswer:
    wait_for_gate(Path(request.data_dir))
    answer = solve_request(request)
    if answer.run is None or answer.run.result is None or request.time_limit >= 100:
        return answer
    result = dataclasses.replace(answer.run.result, status=SolveStatus.TIME_LIMIT)
    return dataclasses.replace(answer, run=dataclasses.replace(answer.run, result=result))
