"""One market of a monthly run as a task: plain inputs in, plain outputs (file bytes) out.

A task may run in this process, in a local worker process or on a remote Dask worker that does
not share our disk, so it receives the input files' bytes and returns the output files' bytes;
the run writes them (``pricing.runs.monthly.store``). Nothing here touches the run folder.
"""

from __future__ import annotations

import tempfile
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

__all__ = ["MarketJob", "MarketOutcome", "solve_market", "WRITTEN", "UNREACHABLE", "FAILED", "NO_OFFER"]

WRITTEN, UNREACHABLE, FAILED, NO_OFFER = "written", "target_unreachable", "failed", "no_offer"


@dataclass(frozen=True)
class MarketJob:
    """Everything one market's solve reads.

    ``files`` maps an input name (``catalog.csv``, ``model.json``, ``last_sheet.csv``) to its
    bytes; ``settings`` is a :class:`pricing.domain.settings.Settings` (its ``buyers`` already set
    to the market's); ``data_dir`` is recorded in ``run.json``.
    """

    market: str
    month: str
    buyers: float
    settings: Any
    files: dict[str, bytes]
    data_dir: str
    last_sheet_name: str = ""


@dataclass(frozen=True)
class MarketOutcome:
    """What a task returns: status, the output files' bytes (when written), the headline figures,
    one line of words, and the seconds the task took (in the worker)."""

    market: str
    status: str
    message: str
    seconds: float
    files: dict[str, bytes] = field(default_factory=dict)
    headline: dict[str, Any] = field(default_factory=dict)
    best_attach: float | None = None


def solve_market(job: MarketJob, shared: dict[str, bytes] | None = None) -> MarketOutcome:
    """Optimize one market with its own buyers and its own demand (``model.for_market``).

    ``shared`` holds input files every market reads (catalog, model), sent to each worker once;
    ``job.files`` the market's own (its last approved sheet).

    Never raises for a market's own trouble: an input error or an unexpected exception becomes a
    ``failed`` outcome with its message, so one market never stops the others.
    """
    start = time.perf_counter()
    if shared:
        job = replace(job, files={**shared, **job.files})
    try:
        return _solve(job, start)
    except Exception as exc:  # noqa: BLE001 - one market's failure is reported, not raised
        detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return MarketOutcome(job.market, FAILED, f"failed: {detail}", time.perf_counter() - start)


def _solve(job: MarketJob, start: float) -> MarketOutcome:
    from models.demand import DemandModel
    from models.errors import InputError
    from pricing.domain.catalog import Catalog
    from pricing.domain.last_sheet import read_last_prices
    from pricing.domain.problem import Problem
    from pricing.files.run_record import summary, write_run
    from pricing.optimizer.optimize import InfeasibleTarget, optimize

    with tempfile.TemporaryDirectory(prefix="market-") as tmp:
        folder = Path(tmp)
        for name, content in job.files.items():
            (folder / name).write_bytes(content)
        try:
            catalog = Catalog.from_csv(folder / "catalog.csv")
            model = DemandModel.from_json(folder / "model.json").for_market(job.market)
            last = read_last_prices(folder / "last_sheet.csv", catalog) if "last_sheet.csv" in job.files else {}
            problem = Problem(catalog, model, job.settings, last, folder)
        except InputError as exc:
            return MarketOutcome(job.market, FAILED, f"bad input: {exc}", time.perf_counter() - start)
        try:
            result = optimize(problem)
        except InfeasibleTarget as exc:
            return MarketOutcome(job.market, UNREACHABLE, str(exc), time.perf_counter() - start,
                                 best_attach=exc.best_attach)
        if not result.status.is_ok:
            return MarketOutcome(job.market, NO_OFFER, f"the solver stopped with status {result.status.value} "
                                 "and no feasible offer (a longer time_limit may help)", time.perf_counter() - start)
        headline = summary(result)
        out = folder / "out"
        extra = {"market": job.market, "month": job.month, "period": job.month, "data_dir": job.data_dir,
                 "last_sheet": job.last_sheet_name or None}
        written = write_run(result, out, extra_record=extra, headline=headline)
        files = {p.name: p.read_bytes() for p in written}
    proof = "proven optimal" if result.proven_optimal else f"NOT proven optimal ({result.status.value})"
    message = (f"attach {headline['attach_rate']:.2%} (target {headline['attach_target']:.2%}), "
               f"margin {headline['margin']:,.0f} CNY a month, {proof}")
    return MarketOutcome(job.market, WRITTEN, message, time.perf_counter() - start, files, headline)
