"""The thresholds finance checks a price sheet against, and the words the cover uses for proof and
goals. Pure data: ``pricing.files.finance.workbook`` writes it.

Each rule of :data:`RULES` is documented (label, threshold, where the threshold comes from) and
listed on the workbook's Definitions sheet; every line breaking one becomes an
:class:`ExceptionLine`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Mapping

from pricing.files.finance.rows import ChangeLine, MarketResult

__all__ = ["ExceptionLine", "GoalLine", "RULES", "exceptions", "goals_of", "proof_in_words", "target_confidence"]

# rule label -> how its threshold is set (shown on the Definitions sheet)
RULES = {
    "Price change beyond the stability limit": "|new price / price in force - 1| above [price] max_change",
    "Margin below the floor": "(new price - unit cost) / new price below [price] min_margin",
    "Price below unit cost": "new price below the bundle's unit cost (sum of its SKUs' unit_cost)",
    "SKU never offered in the history": "a bundle holds a SKU the demand fit never saw offered: its appeal is "
                                        "an assumption (run.json warnings)",
    "SKU rarely offered in the history": "a bundle holds a SKU offered in only a few market-months (run.json warnings)",
    "Caution from the demand fit": "any other warning of the run (prices or discounts outside the history)",
    "Target probability below the asked confidence": "probability a target is met (prob_target_met, from draws "
                                                     "of the demand coefficients) below [goals] target_confidence",
    "Goal not met": "a goal's reached value short of its required value (run.json goals)",
    "Result not proven optimal": "the solver stopped before proving the offer optimal within [solver] rel_gap",
    "No sheet: target unreachable": "a market of the monthly run has no new sheet because no offer within the "
                                    "rules reaches [target] attach_rate; value: the best reachable attach rate",
    "No sheet: the market failed": "a market of the monthly run has no new sheet because its solve failed (bad "
                                   "input, lost worker, no offer in time); the next run retries it",
}

_GOAL_LABELS = {
    "attach_rate": "Attach rate",
    "margin_rate_points": "IoT gross margin rate, points above no bundles",
    "devices_per_buyer": "Connected devices per car buyer",
}
_STATUS_WORDS = {
    "optimal": "proven optimal", "time_limit": "stopped by the time limit", "infeasible": "no offer meets the rules",
    "no_solution": "stopped before any offer was found", "error": "the solver failed",
}


@dataclass(frozen=True)
class ExceptionLine:
    """One breach: ``value`` and ``threshold`` are numbers in ``unit`` (``fraction``, ``change``
    (a signed fraction), ``money``, ``points``, ``number``) or text (``unit`` ``text``)."""

    market: str
    bundle: str
    rule: str
    value: float | str
    threshold: float | str
    unit: str
    note: str = ""


@dataclass(frozen=True)
class GoalLine:
    """A goal of the run: ``required`` and ``reached`` in ``unit``; ``met`` None when unknown;
    ``probability`` the share of coefficient draws meeting it (None: not asked)."""

    market: str
    name: str
    label: str
    required: float | None
    reached: float | None
    met: bool | None
    probability: float | None
    unit: str


def _settings(record: Mapping[str, Any], section: str, key: str) -> Any:
    return (record.get("settings") or {}).get(section, {}).get(key)


def target_confidence(record: Mapping[str, Any]) -> float | None:
    """The probability the targets were asked to hold with (``[goals] target_confidence``), if any."""
    value = _settings(record, "goals", "target_confidence")
    return None if value is None else float(value)


def proof_in_words(record: Mapping[str, Any]) -> str:
    """Whether the offer is proven optimal, and how far from the best it could be, in words."""
    gap = record.get("gap")
    gap = None if gap is None or not math.isfinite(float(gap)) else max(float(gap), 0.0)
    if record.get("proven_optimal"):
        if gap is None or gap < 1e-6:
            return "Proven optimal: no offer under the rules does better (the solver closed the gap)"
        bound = "less than 0.01%" if gap < 1e-4 else f"at most {gap:.2%}"
        return f"Proven optimal: no offer under the rules does better by more than {bound}"
    status = _STATUS_WORDS.get(str(record.get("status")), str(record.get("status")))
    if gap is None:
        return f"NOT proven optimal ({status}); how far from the best is unknown"
    return f"NOT proven optimal ({status}): the best offer under the rules could be up to {gap:.2%} better"


def goals_of(market: MarketResult) -> list[GoalLine]:
    """The run's goals (``run.json`` ``goals``), or, when it has none, the attach target alone."""
    record = market.record
    goals = record.get("goals")
    if not isinstance(goals, Mapping) or not goals:
        goals = {"attach_rate": {"required": record.get("attach_target"), "reached": record.get("attach_rate"),
                                 "probability": record.get("prob_target_met") if target_confidence(record) else None}}
    out = []
    for name, goal in goals.items():
        goal = goal if isinstance(goal, Mapping) else {}
        required, reached = _float(goal.get("required")), _float(goal.get("reached"))
        met = goal.get("met")
        if met is None and required is not None and reached is not None:
            met = reached >= required - 1e-12
        unit = "fraction" if name == "attach_rate" else "points" if name.endswith("points") else "number"
        label = _GOAL_LABELS.get(name, name.replace("_", " ").capitalize())
        out.append(GoalLine(market.market, name, label, required, reached, None if met is None else bool(met),
                            _float(goal.get("probability")), unit))
    return out


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def exceptions(market: MarketResult, lines: list[ChangeLine]) -> list[ExceptionLine]:
    """Every line of one market that breaks a rule of :data:`RULES`, run-level rules first."""
    record, name = market.record, market.market
    out = []
    if not record.get("proven_optimal"):
        gap = _float(record.get("gap"))
        out.append(ExceptionLine(name, "", "Result not proven optimal", gap if gap is not None else "no bound",
                                 _float(_settings(record, "solver", "rel_gap")) or "proof", "fraction",
                                 proof_in_words(record)))
    confidence = target_confidence(record)
    for goal in goals_of(market):
        if goal.met is False:
            out.append(ExceptionLine(name, "", "Goal not met", goal.reached, goal.required, goal.unit, goal.label))
        if confidence is not None and goal.probability is not None and goal.probability < confidence:
            out.append(ExceptionLine(name, "", "Target probability below the asked confidence", goal.probability,
                                     confidence, "fraction", goal.label))
    out += _line_exceptions(market, lines)
    out += _warning_exceptions(market, lines)
    return out


def _line_exceptions(market: MarketResult, lines: list[ChangeLine]) -> list[ExceptionLine]:
    record, name = market.record, market.market
    max_change = _float(_settings(record, "price", "max_change"))
    floor = _float(_settings(record, "price", "min_margin"))
    out = []
    for line in lines:
        if line.new_price is None:
            continue
        label = line.bundle or line.composition
        if max_change is not None and line.change_pct is not None and abs(line.change_pct) > max_change + 1e-9:
            out.append(ExceptionLine(name, label, "Price change beyond the stability limit", line.change_pct,
                                     max_change, "change", "limit applies both ways (a cut or a rise)"))
        if floor is not None and line.margin_after is not None and line.margin_after < floor - 1e-9:
            out.append(ExceptionLine(name, label, "Margin below the floor", line.margin_after, floor, "fraction"))
        if line.unit_cost is not None and line.new_price < line.unit_cost:
            out.append(ExceptionLine(name, label, "Price below unit cost", line.new_price, line.unit_cost, "money"))
    return out


def _warning_exceptions(market: MarketResult, lines: list[ChangeLine]) -> list[ExceptionLine]:
    out = []
    for warning in market.record.get("warnings") or []:
        warning = str(warning)
        sku = re.match(r"SKU (\S+) was (never|offered)", warning)
        if sku is None:
            out.append(ExceptionLine(market.market, "", "Caution from the demand fit", "see note", "", "text", warning))
            continue
        rule = "SKU never offered in the history" if sku.group(2) == "never" else "SKU rarely offered in the history"
        holders = [line.bundle for line in lines if line.new_price is not None and sku.group(1) in line.skus]
        for bundle in holders or [""]:
            out.append(ExceptionLine(market.market, bundle, rule, sku.group(1), "offered in the history", "text",
                                     warning))
    return out
