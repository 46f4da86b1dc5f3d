"""Checking a demand fit: a holdout of the last months predicted by a fit on the rest, against a
naive baseline (last quarter's take rates)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from models.errors import InputError
from models.fit import SegmentLogitFit
from models.history import History

__all__ = ["holdout_check"]


def holdout_check(history: History, catalog, holdout_months: int = 3, **settings: Any) -> dict[str, Any]:
    """Fit on all but the last ``holdout_months`` months and predict their take-up.

    The naive baseline predicts each bundle's take rate from the quarter (3 months) before the
    holdout: the same SKU set's take rate in the same region and segment when it was offered
    then, else the average bundle's take rate there; and each market's attach rate as its
    attach rate in that quarter.

    Returns
    -------
    dict with ``months_fitted``, ``months_held_out``, ``take_rate_mae`` and ``attach_rate_mae``
    (each ``{"model": ..., "naive": ...}``, mean absolute errors in percentage points of car
    buyers, weighted by buyers) and ``markets`` (actual vs predicted attach rate per month and
    region, in percent).
    """
    months = history.months
    if len(months) < holdout_months + 3 + 1:
        raise InputError(
            history.source, f"a holdout check needs at least {holdout_months + 4} months, got {len(months)}"
        )
    train_months, test_months = months[:-holdout_months], months[-holdout_months:]
    train = history.select_months(train_months)
    test = history.select_months(test_months)
    model = SegmentLogitFit(**settings).fit(train, catalog)
    frame = test.frame.copy()
    frame["predicted"] = model.predict_take_rates(test, catalog)
    frame["actual"] = frame["taken"] / frame["buyers"]

    quarter = history.select_months(train_months[-3:]).frame.copy()
    frame["naive"] = _naive_take_rates(quarter, frame)
    w = frame["buyers"].to_numpy(float)

    def mae(column: str) -> float:
        return float(100.0 * np.average(np.abs(frame[column] - frame["actual"]), weights=w))

    markets = _market_attach_rates(frame, quarter)
    mw = markets["buyers"].to_numpy(float)
    return {
        "months_fitted": [train_months[0], train_months[-1]],
        "months_held_out": list(test_months),
        "baseline": "naive: last quarter's take rate (same bundle, region and segment; else the average bundle there)",
        "take_rate_mae": {"model": mae("predicted"), "naive": mae("naive"), "unit": "percentage points"},
        "attach_rate_mae": {
            "model": float(100 * np.average(np.abs(markets["model"] - markets["actual"]), weights=mw)),
            "naive": float(100 * np.average(np.abs(markets["naive"] - markets["actual"]), weights=mw)),
            "unit": "percentage points",
        },
        "markets": [
            {"month": m, "region": r, "buyers": int(b), "actual_pct": round(100 * a, 3),
             "model_pct": round(100 * p, 3), "naive_pct": round(100 * n, 3)}
            for m, r, b, a, p, n in zip(markets["month"], markets["region"], markets["buyers"],
                                         markets["actual"], markets["model"], markets["naive"])
        ],
    }


def _naive_take_rates(quarter: pd.DataFrame, frame: pd.DataFrame) -> list[float]:
    """The naive baseline's take rate for each row of ``frame``: the same SKU set's take rate in the
    same region and segment during ``quarter``, else the average bundle's there, else 0."""
    quarter = quarter.assign(key=quarter["skus"].map(frozenset))
    same_set = quarter.groupby(["region", "segment", "key"]).agg(t=("taken", "sum"), b=("buyers", "sum"))
    same_set_rate = (same_set["t"] / same_set["b"]).to_dict()
    any_set = quarter.groupby(["region", "segment"]).agg(t=("taken", "sum"), b=("buyers", "sum"))
    any_set_rate = (any_set["t"] / any_set["b"]).to_dict()
    return [
        same_set_rate.get((r, s, frozenset(k)), any_set_rate.get((r, s), 0.0))
        for r, s, k in zip(frame["region"], frame["segment"], frame["skus"])
    ]


def _market_attach_rates(frame: pd.DataFrame, quarter: pd.DataFrame) -> pd.DataFrame:
    """Per month and region of the held-out ``frame``: buyers and the actual, model and naive attach
    rates (shares of car buyers); naive is the region's attach rate during ``quarter``."""
    cells = frame.groupby(["month", "region", "segment"]).agg(
        buyers=("buyers", "first"), taken=("taken", "sum"), predicted=("predicted", "sum")
    ).reset_index()
    cells["predicted_takers"] = cells["predicted"] * cells["buyers"]
    markets = cells.groupby(["month", "region"]).agg(
        buyers=("buyers", "sum"), taken=("taken", "sum"), predicted_takers=("predicted_takers", "sum")
    ).reset_index()
    q_cells = quarter.groupby(["month", "region", "segment"]).agg(buyers=("buyers", "first"), taken=("taken", "sum"))
    q_markets = q_cells.groupby("region").sum()
    naive_attach = (q_markets["taken"] / q_markets["buyers"]).to_dict()
    markets["actual"] = markets["taken"] / markets["buyers"]
    markets["model"] = markets["predicted_takers"] / markets["buyers"]
    markets["naive"] = markets["region"].map(naive_attach)
    return markets
