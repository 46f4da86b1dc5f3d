"""What the app shows of a backtest written by ``python -m pricing backtest``: its monthly table,
a per-policy summary and its pictures, read back from the output folder."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from models.errors import InputError
from pricing.runs.backtest.metrics import MONTHLY_COLUMNS

__all__ = ["BacktestView", "read_backtest", "policy_summary"]


@dataclass(frozen=True, eq=False)
class BacktestView:
    """A written backtest: ``monthly`` (``backtest.csv``), ``meta`` (``backtest.json``) and the
    PNG bytes of ``regret.png`` and ``coefficient_error.png``."""

    folder: Path
    monthly: pd.DataFrame
    meta: Mapping[str, Any]
    regret_png: bytes
    coefficient_png: bytes


def read_backtest(folder: str | Path) -> BacktestView:
    """Read a backtest output folder.

    Raises
    ------
    InputError
        If the folder or one of its files is missing, or ``backtest.csv`` lacks a column.
    """
    folder = Path(folder)
    names = ("backtest.csv", "backtest.json", "regret.png", "coefficient_error.png")
    for name in names:
        if not (folder / name).is_file():
            raise InputError(str(folder), f"no {name} here; run `python -m pricing backtest --out {folder}` first")
    monthly = pd.read_csv(folder / "backtest.csv")
    missing = [c for c in MONTHLY_COLUMNS if c not in monthly.columns]
    if missing:
        raise InputError("backtest.csv", f"missing column(s) {', '.join(missing)}", row=1)
    try:
        meta = json.loads((folder / "backtest.json").read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError("backtest.json", f"not valid JSON ({exc})") from None
    return BacktestView(folder, monthly, meta, (folder / "regret.png").read_bytes(),
                        (folder / "coefficient_error.png").read_bytes())


def policy_summary(monthly: pd.DataFrame) -> pd.DataFrame:
    """One row per policy over the whole run: margin (CNY), share of the oracle's and change
    against the static sheet (%), regret (CNY), market-months missing the attach target, price
    changes per bundle per month, failed fits and fallbacks."""
    totals = monthly.groupby("policy", sort=False).agg(
        margin=("true_margin", "sum"), oracle=("oracle_margin", "sum"), regret=("regret", "sum"),
        realised=("realised_margin", "sum"), target_missed=("target_missed_markets", "sum"),
        churn=("churn_per_bundle", "mean"), fit_failures=("fit_failed", "sum"), fallbacks=("fallback_markets", "sum"))
    static = totals["margin"].get("static")
    out = pd.DataFrame({
        "policy": totals.index,
        "true expected margin, CNY": totals["margin"].to_numpy(),
        "realised margin, CNY": totals["realised"].to_numpy(),
        "% of oracle": (100 * totals["margin"] / totals["oracle"]).to_numpy(),
        "vs static, %": (100 * (totals["margin"] / static - 1)).to_numpy() if static else float("nan"),
        "regret, CNY": totals["regret"].to_numpy(),
        "market-months below target": totals["target_missed"].astype(int).to_numpy(),
        "price changes per bundle-month": totals["churn"].to_numpy(),
        "failed fits": totals["fit_failures"].astype(int).to_numpy(),
        "offers kept (no solve)": totals["fallbacks"].astype(int).to_numpy(),
    })
    return out
