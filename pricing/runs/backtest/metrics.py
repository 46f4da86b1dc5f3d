"""The backtest's figures: coefficient error against the truth, price churn, monthly totals per
policy, and the summary over seeds.

Coefficient error is measured where the data can identify it. Next to per-SKU appeals and an
intercept, ``size_coef`` is not identified (adding ``d`` to every appeal and taking ``d`` from
``size_coef`` and the intercept changes no utility), so both models are compared after moving
``size_coef`` into the appeals: ``appeal + size_coef``.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from models.demand import DemandModel
from pricing.domain.offer import Offer

__all__ = ["coefficient_errors", "price_churn", "monthly_table", "seed_summary", "MONTHLY_COLUMNS"]

MONTHLY_COLUMNS = (
    "policy", "month_index", "month", "markets", "buyers",
    "true_margin", "oracle_margin", "regret", "regret_pct", "cum_margin", "cum_oracle_margin",
    "cum_share_of_oracle", "realised_margin", "true_attach", "attach_target", "target_missed_markets",
    "bundles", "price_changes", "churn_per_bundle", "mean_abs_price_change_pct",
    "price_coef_error_pct", "appeal_rmse", "untested_appeal_rmse",
    "fit_failed", "fit_failures_total", "fallback_markets", "unproven_markets", "max_gap",
)
# no timing in backtest.csv: the same seed writes the same bytes (timings are in backtest_markets.csv)


def coefficient_errors(fitted: DemandModel, truth: DemandModel, skus: Sequence[str],
                       untested: Sequence[str] = ()) -> dict[str, float]:
    """How far a fitted model is from the truth, per segment of the same name.

    Returns
    -------
    dict with ``price_coef_error_pct`` (root mean square over segments of the relative error of
    the price coefficient, in %), ``appeal_rmse`` (root mean square error of ``appeal +
    size_coef`` over ``skus`` and segments, utility units) and ``untested_appeal_rmse`` (the same
    over ``untested`` SKUs only; NaN when there are none).
    """
    fitted_by_name = {s.name: s for s in fitted.segments}
    price, appeal, appeal_untested = [], [], []
    for true in truth.segments:
        est = fitted_by_name[true.name]
        price.append((est.price_coef - true.price_coef) / true.price_coef if true.price_coef > 0 else math.nan)
        for sku in skus:
            error = (est.appeal[sku] + est.size_coef) - (true.appeal[sku] + true.size_coef)
            appeal.append(error)
            if sku in untested:
                appeal_untested.append(error)
    return {
        "price_coef_error_pct": 100.0 * _rms(price),
        "appeal_rmse": _rms(appeal),
        "untested_appeal_rmse": _rms(appeal_untested),
    }


def _rms(values: Sequence[float]) -> float:
    return float(np.sqrt(np.mean(np.square(values)))) if len(values) else math.nan


def price_churn(offer: Offer, previous: Offer | None) -> tuple[int, float]:
    """Price changes finance sees when ``offer`` replaces ``previous`` in one market.

    Returns
    -------
    (changes, mean_abs_change_pct): bundles of ``offer`` that are new or whose price moved, and
    the mean absolute price move (%) of the bundles that stay (0 when none stays).
    """
    before = {frozenset(b.skus): b.price for b in previous.bundles} if previous is not None else {}
    changes, moves = 0, []
    for bundle in offer.bundles:
        last = before.get(frozenset(bundle.skus))
        if last is None:
            changes += 1
            continue
        if bundle.price != last:
            changes += 1
        moves.append(abs(bundle.price / last - 1.0) * 100.0)
    return changes, float(np.mean(moves)) if moves else 0.0


def monthly_table(markets: pd.DataFrame, attach_target: float) -> pd.DataFrame:
    """One row per policy and month from the per-market rows, with running totals.

    ``markets`` holds one row per (policy, month, market) as the backtest records it.
    """
    grouped = markets.groupby(["policy", "month_index"], sort=False)
    out = grouped.agg(
        month=("month", "first"), markets=("market", "size"), buyers=("buyers", "sum"),
        true_margin=("true_margin", "sum"), oracle_margin=("oracle_margin", "sum"),
        realised_margin=("realised_margin", "sum"), target_missed_markets=("target_missed", "sum"),
        bundles=("bundles", "sum"), price_changes=("price_changes", "sum"),
        fallback_markets=("fallback", "sum"), unproven_markets=("unproven", "sum"),
        max_gap=("gap", "max"),
        price_coef_error_pct=("price_coef_error_pct", "first"), appeal_rmse=("appeal_rmse", "first"),
        untested_appeal_rmse=("untested_appeal_rmse", "first"), fit_failed=("fit_failed", "first"),
        fit_failures_total=("fit_failures_total", "first"),
    ).reset_index()
    weighted = markets.assign(attach_buyers=markets["true_attach"] * markets["buyers"],
                              moved=markets["mean_abs_price_change_pct"] * markets["bundles"])
    sums = weighted.groupby(["policy", "month_index"], sort=False)[["attach_buyers", "moved"]].sum().reset_index()
    out = out.merge(sums, on=["policy", "month_index"], how="left")
    out["true_attach"] = out["attach_buyers"] / out["buyers"]
    out["attach_target"] = attach_target
    out["regret"] = out["oracle_margin"] - out["true_margin"]
    out["regret_pct"] = 100.0 * out["regret"] / out["oracle_margin"]
    out = out.sort_values(["policy", "month_index"], kind="stable")
    out["cum_margin"] = out.groupby("policy", sort=False)["true_margin"].cumsum()
    out["cum_oracle_margin"] = out.groupby("policy", sort=False)["oracle_margin"].cumsum()
    out["cum_share_of_oracle"] = out["cum_margin"] / out["cum_oracle_margin"]
    out["churn_per_bundle"] = out["price_changes"] / out["bundles"].where(out["bundles"] > 0)
    out["mean_abs_price_change_pct"] = out["moved"] / out["bundles"].where(out["bundles"] > 0)
    order = {name: i for i, name in enumerate(dict.fromkeys(markets["policy"]))}
    out = out.sort_values(["month_index", "policy"], key=lambda col: col.map(order) if col.name == "policy" else col,
                          kind="stable")
    return out[list(MONTHLY_COLUMNS)].reset_index(drop=True)


def seed_summary(tables: Iterable[pd.DataFrame], level: float = 0.95) -> pd.DataFrame:
    """Per policy, the mean and a t-interval over seeds of each run's headline figures.

    Each table is one seed's ``backtest.csv``. Figures: cumulative share of the oracle's margin
    at the last month (%), total regret (CNY), margin against the static offer (%, when the run
    had it), months x markets missing the target, churn per bundle, and the last month's
    coefficient errors.
    """
    from scipy import stats  # scipy only where a summary is asked for

    rows = []
    for table in tables:
        last = table[table["month_index"] == table["month_index"].max()].set_index("policy")
        totals = table.groupby("policy", sort=False).agg(
            regret=("regret", "sum"), missed=("target_missed_markets", "sum"), churn=("churn_per_bundle", "mean"),
            margin=("true_margin", "sum"), fit_failures=("fit_failed", "sum"))
        static = totals["margin"].get("static")
        for policy, row in totals.iterrows():
            rows.append({
                "policy": policy,
                "share_of_oracle_pct": 100.0 * last.loc[policy, "cum_share_of_oracle"],
                "total_regret": row["regret"],
                "vs_static_pct": 100.0 * (row["margin"] / static - 1.0) if static else math.nan,
                "target_missed": row["missed"], "churn_per_bundle": row["churn"], "fit_failures": row["fit_failures"],
                "price_coef_error_pct_last": last.loc[policy, "price_coef_error_pct"],
                "appeal_rmse_last": last.loc[policy, "appeal_rmse"],
                "untested_appeal_rmse_last": last.loc[policy, "untested_appeal_rmse"],
            })
    frame = pd.DataFrame(rows)
    out = []
    for policy, group in frame.groupby("policy", sort=False):
        entry: dict[str, float | str] = {"policy": policy, "seeds": len(group)}
        for column in frame.columns.drop("policy"):
            values = group[column].to_numpy(float)
            mean = float(np.mean(values))
            half = (float(stats.t.ppf(0.5 + level / 2, len(values) - 1) * np.std(values, ddof=1) / np.sqrt(len(values)))
                    if len(values) > 1 else math.nan)
            entry[column] = mean
            entry[column + "_half_width"] = half
        out.append(entry)
    return pd.DataFrame(out)
