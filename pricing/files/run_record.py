"""The run record (``run.json``), the summary people read, and writing a run's outputs."""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from models.history import price_warnings
from models.uncertainty import offer_bands
from pricing.optimizer.optimize import OptimizationResult
from pricing.domain.problem import input_hashes
from pricing.files.approval import ApprovalState
from pricing.files.atomic import dump_json, publish_files
from pricing.files.finance.rows import MarketResult, RunInfo
from pricing.files.sheet import PriceSheet
from pricing.files.finance.workbook import write_finance_workbook

__all__ = ["summary", "offer_warnings", "goal_lines", "run_record", "write_run", "write_workbook", "format_summary",
           "OUTPUT_FILES", "DEFAULT_MARKET"]

OUTPUT_FILES = ("price_sheet.csv", "price_sheet.xlsx", "run.json")
# What the workbook calls the market of a one-off optimize run, whose run.json names none.
DEFAULT_MARKET = "All SU7 buyers"


def offer_warnings(result: OptimizationResult) -> list[str]:
    """Plain-word cautions about the chosen offer: SKUs whose demand the history never measured,
    and prices or discounts far outside what the history saw."""
    fit = dict(result.problem.model.fit)
    skus = {sku for bundle in result.offer.bundles for sku in bundle.skus}
    out = [w for w in fit.get("warnings", []) if isinstance(w, str) and any(sku in w for sku in skus)]
    if fit.get("price_range"):
        out += price_warnings(fit, list(result.figures.prices), list(result.figures.list_total))
    return out


def summary(result: OptimizationResult) -> dict[str, Any]:
    """Headline figures of a run: CNY a month for money, shares of car buyers for rates.

    The ``*_p05``/``*_p95`` band and ``prob_target_met`` come from draws of the demand
    coefficients (when the model carries their covariance); they are absent otherwise.
    """
    f = result.figures
    s = result.problem.settings
    bands = offer_bands(result.problem.model, result.problem.catalog, result.offer, f.buyers, s.attach_rate) or {}
    if "prob_target_met" in result.goals:
        # Measured on 2,000 fresh draws, every goal at once (the band's 500 draws check attach only).
        bands["prob_target_met"] = result.goals["prob_target_met"]
    return {
        "status": result.status.value,
        "proven_optimal": result.proven_optimal,
        "gap": _finite_or_none(result.gap),
        "bundles": len(result.offer),
        "attach_rate": f.attach_rate,
        "attach_target": s.attach_rate,
        "margin": f.margin,
        "margin_upper_bound": None if _finite_or_none(result.bound) is None else result.bound * f.buyers,
        "baseline_margin": f.baseline_margin,
        "total_margin": f.total_margin,
        "total_revenue": f.total_revenue,
        "margin_rate": f.margin_rate,
        "baseline_margin_rate": f.baseline_margin_rate,
        "margin_rate_change_points": f.margin_rate_change_points,
        "devices_per_buyer": f.devices_per_buyer,
        "baseline_devices_per_buyer": f.baseline_devices,
        "buyers": f.buyers,
        **{k: v for k, v in bands.items() if k != "draws"},
        **_goal_summary(result.goals),
    }


def _goal_summary(goals: dict[str, Any]) -> dict[str, Any]:
    """Flat summary entries for the goals other than the attach target, and the confidence asked."""
    out: dict[str, Any] = {}
    for name in ("margin_rate_points", "devices_per_buyer"):
        for key, value in (goals.get(name) or {}).items():
            out[f"goal_{name}_{key}"] = value
    if goals.get("target_confidence"):
        out["target_confidence"] = goals["target_confidence"]
        out["scenario_draws"] = goals.get("scenario_draws")
    return out


def _finite_or_none(value: float | None) -> float | None:
    # Stopped early, HiGHS may have no finite bound yet: then there is no gap to report (and
    # JSON and spreadsheets take no infinities).
    return value if value is not None and math.isfinite(value) else None


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for package in ("pulp", "highspy", "numpy", "pandas", "scipy", "xlsxwriter"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[package] = metadata.version(package)
    return out


def run_record(result: OptimizationResult, extra_inputs: dict[str, Path] | None = None,
               headline: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything ``run.json`` holds: status, proof, figures, settings, input hashes, versions.

    ``headline`` is ``summary(result)`` when the caller has it already (its band takes 500 draws).
    """
    f = result.figures
    record = dict(headline if headline is not None else summary(result))
    record.update({
        "solve_seconds": result.diagnostics.get("solve_seconds"),
        "attach_by_segment": dict(zip(f.segment_names, map(float, f.attach_by_segment))),
        "segment_shares": dict(zip(f.segment_names, map(float, f.shares))),
        "settings": result.problem.settings.to_dict(),
        "goals": result.goals,
        "warnings": offer_warnings(result),
        "diagnostics": result.diagnostics,
        "inputs": input_hashes(result.problem.data_dir, extra_inputs),
        "data_dir": None if result.problem.data_dir is None else str(result.problem.data_dir),
        "versions": _versions(),
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    })
    return record


def write_workbook(path: Path, result: OptimizationResult, record: dict[str, Any], run_by: str | None = None) -> None:
    """The finance workbook of one solve (one market, draft) at ``path``: ``price_sheet.xlsx``."""
    market = MarketResult.from_result(str(record.get("market") or DEFAULT_MARKET), result, record)
    write_finance_workbook(Path(path), [market], RunInfo.from_record(record, run_by=run_by), ApprovalState())


def goal_lines(result: OptimizationResult) -> list[str]:
    """One line per goal other than the attach target: required, reached, binding, probability."""
    out = []
    labels = {"margin_rate_points": ("IoT gross-margin rate goal", "{:+.2f} points"),
              "devices_per_buyer": ("Devices per car buyer goal", "{:.3f}")}
    for name, (label, fmt) in labels.items():
        goal = result.goals.get(name)
        if goal:
            prob = f", met in {goal['probability_met']:.0%} of draws" if "probability_met" in goal else ""
            out.append(f"{label}: {fmt.format(goal['reached'])} (required {fmt.format(goal['required'])}"
                       f"{', binding' if goal['binds'] else ''}{prob})")
    if result.goals.get("target_confidence"):
        out.append(f"Confidence asked: {result.goals['target_confidence']:.0%}; every goal met together in "
                   f"{result.goals.get('prob_target_met', float('nan')):.1%} of "
                   f"{result.goals.get('probability_draws', 0):,} fresh draws "
                   f"(imposed in {result.goals.get('scenario_draws', 0)} draws)")
    return out


def write_run(result: OptimizationResult, out_dir: Path, extra_inputs: dict[str, Path] | None = None,
              extra_record: dict[str, Any] | None = None, headline: dict[str, Any] | None = None,
              run_by: str | None = None) -> list[Path]:
    """Write ``price_sheet.csv``, ``price_sheet.xlsx`` (the finance workbook, draft) and ``run.json``
    as one set, published in one atomic step with a ``manifest.json`` of their SHA-256
    (:func:`pricing.files.atomic.publish_files`): a reader sees the previous complete set or this
    one, never a mix. ``run_by`` names who ran it on the workbook's cover.

    Raises ``ValueError`` if the result has no offer to write (check ``result.status.is_ok``).
    """
    if not result.status.is_ok:
        raise ValueError(f"no price sheet for a run with status {result.status.value}")
    sheet = PriceSheet(result.offer, result.figures, result.problem.catalog)
    headline = headline if headline is not None else summary(result)
    record = run_record(result, extra_inputs, headline)
    record.update(extra_record or {})
    return publish_files(Path(out_dir), {
        "price_sheet.csv": sheet.write_csv,
        "price_sheet.xlsx": lambda p: write_workbook(p, result, record, run_by),
        "run.json": lambda p: p.write_text(dump_json(record), encoding="utf-8"),
    }, meta={"kind": "price_sheet", "status": result.status.value, "proven_optimal": result.proven_optimal})


def format_summary(result: OptimizationResult, headline: dict[str, Any] | None = None) -> str:
    """A readable summary for the terminal (``headline``: ``summary(result)`` if already made)."""
    f = result.figures
    s = headline if headline is not None else summary(result)
    gap = "" if s["gap"] is None else f" (gap {s['gap']:.2e})" if result.proven_optimal else f", gap {s['gap']:.2%}"
    proof = f"proven optimal{gap}" if result.proven_optimal else f"NOT proven optimal: {s['status']}{gap}"
    lines = [
        f"Status: {proof}",
        f"Attach rate: {f.attach_rate:.2%} (target {s['attach_target']:.2%})",
        f"Expected incremental IoT gross margin: {f.margin:,.0f} CNY a month for {f.buyers:,.0f} car buyers",
        f"IoT gross margin: {f.total_margin:,.0f} CNY (no bundles: {f.baseline_margin:,.0f}); "
        f"rate {f.margin_rate:.2%} ({f.margin_rate_change_points:+.2f} points)",
        f"Connected devices per car buyer: {f.devices_per_buyer:.3f} (no bundles: {f.baseline_devices:.3f})",
        "",
    ]
    sheet = PriceSheet(result.offer, f, result.problem.catalog).frame
    for row in sheet.itertuples(index=False):
        lines.append(
            f"{row.bundle_id}  {row.price:>9,.0f} CNY  -{row.discount_pct:.1f}%  margin {row.margin_pct:.1f}%  "
            f"take {row.take_rate:.2%}  {row.expected_units:,.0f} units  {row.skus}"
        )
    if "attach_p05" in s:
        lines.insert(2, f"  90% band from the demand fit: attach {s['attach_p05']:.2%} to {s['attach_p95']:.2%}, "
                        f"margin {s['margin_p05']:,.0f} to {s['margin_p95']:,.0f} CNY; "
                        f"P(target met) {s['prob_target_met']:.0%}")
    lines[2:2] = goal_lines(result)
    for warning in offer_warnings(result):
        lines.append(f"Warning: {warning}")
    d = result.diagnostics
    lines.append("")
    pruned = ("no pruning under offer rules" if result.problem.settings.has_offer_rules
              else f"{d.get('candidates_after_pruning', 0):,} after safe pruning")
    lines.append(
        f"{d.get('candidates', 0):,} candidates ({d.get('sku_sets', 0):,} SKU sets), {pruned}, "
        f"{d.get('candidates_after_bound', d.get('candidates_after_pruning', 0)):,} after the LP bound; "
        f"solved in {d.get('total_seconds', 0):.2f} s"
    )
    return "\n".join(lines)
