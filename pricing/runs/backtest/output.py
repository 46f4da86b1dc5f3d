"""Writing a backtest: ``backtest.csv``, ``backtest_markets.csv``, ``backtest.json`` and the pictures.

Every file is written aside and renamed into place only when all of them are ready
(:func:`pricing.files.atomic.write_outputs`). Text cells that a spreadsheet could run as a
formula are neutralised. Pictures use matplotlib's Agg backend (no display needed).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from pricing.files.atomic import dump_json, write_outputs
from pricing.files.cells import neutralize_formula
from pricing.runs.backtest.loop import BacktestResult

__all__ = ["write_backtest", "regret_figure", "coefficient_figure", "BACKTEST_FILES"]

BACKTEST_FILES = ("backtest.csv", "backtest_markets.csv", "backtest.json", "regret.png", "coefficient_error.png")

# One colour per policy, the same in every picture.
_COLOURS = {"oracle": "#444444", "loop": "#1f77b4", "thompson": "#d62728", "static": "#2ca02c"}


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object:
            safe[column] = safe[column].map(lambda v: neutralize_formula(v) if isinstance(v, str) else v)
    return safe.to_csv(index=False, lineterminator="\n", float_format="%.6g").encode("utf-8")


def _figure_bytes(draw: Callable[[object], None]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 6.5), dpi=110, layout="constrained")
    draw(figure)
    buffer = io.BytesIO()
    # no timestamp in the file, so the same run writes the same bytes
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def regret_figure(monthly: pd.DataFrame) -> bytes:
    """PNG: regret by month and cumulative margin lost, both in % of the oracle's margin, per policy.

    The axes are linear below 0.1% and logarithmic above (matplotlib's ``symlog``), so the
    static sheet's tens of percent and a learning policy's tenths share one picture. A negative
    regret is a month whose offer misses the attach target, which the oracle may not.
    """
    def draw(figure) -> None:
        top, bottom = figure.subplots(2, 1, sharex=True)
        for policy, rows in monthly.groupby("policy", sort=False):
            colour = _COLOURS.get(str(policy))
            months = rows["month_index"] + 1
            top.plot(months, rows["regret_pct"], marker="o", ms=3, label=policy, color=colour)
            bottom.plot(months, 100 * (1 - rows["cum_share_of_oracle"]), marker="o", ms=3, label=policy, color=colour)
        for axis in (top, bottom):
            axis.set_yscale("symlog", linthresh=0.1)
            axis.axhline(0, color="black", lw=0.6)
            axis.grid(alpha=0.3)
        top.set_ylabel("regret, % of oracle's margin")
        top.set_title("Margin lost against the oracle (true expected margin, all markets)")
        top.legend(loc="best")
        lowest = float((100 * (1 - monthly["cum_share_of_oracle"])).min())
        bottom.set_ylim(bottom=min(1.2 * lowest, -0.02))
        bottom.set_ylabel("cumulative margin lost, %")
        bottom.set_xlabel("simulated month")
    return _figure_bytes(draw)


def coefficient_figure(monthly: pd.DataFrame) -> bytes:
    """PNG: each policy's fitted coefficients against the truth by month (price coefficient
    error in %, appeal RMSE in utility units, overall and for SKUs untested in the history)."""
    def draw(figure) -> None:
        axes = figure.subplots(3, 1, sharex=True)
        panels = (("price_coef_error_pct", "price coefficient error, % (RMS)"),
                  ("appeal_rmse", "appeal RMSE, utility"),
                  ("untested_appeal_rmse", "appeal RMSE of untested SKUs"))
        for axis, (column, label) in zip(axes, panels):
            for policy, rows in monthly.groupby("policy", sort=False):
                if np.isfinite(rows[column].to_numpy(float)).any():
                    axis.plot(rows["month_index"] + 1, rows[column], marker="o", ms=3, label=policy,
                              color=_COLOURS.get(str(policy)))
            axis.set_ylabel(label)
            axis.set_ylim(bottom=0)
            axis.grid(alpha=0.3)
        axes[0].set_title("Each policy's fit on its own history, against the true model")
        axes[0].legend(loc="best")
        axes[-1].set_xlabel("simulated month (the fit uses the history up to the month before)")
    return _figure_bytes(draw)


def write_backtest(result: BacktestResult, out_dir: Path) -> list[Path]:
    """Write every file of :data:`BACKTEST_FILES` into ``out_dir``, all or none."""
    files = {
        "backtest.csv": _csv_bytes(result.monthly),
        "backtest_markets.csv": _csv_bytes(result.markets),
        "backtest.json": dump_json(dict(result.meta)).encode("utf-8"),
        "regret.png": regret_figure(result.monthly),
        "coefficient_error.png": coefficient_figure(result.monthly),
    }
    return write_outputs(Path(out_dir), {name: (lambda path, data=data: path.write_bytes(data))
                                         for name, data in files.items()})
