"""What-if analysis for the app: modified problems, their solves, and the trade-off curve. Pure
functions on library objects; no I/O beyond a temporary folder for reading an uploaded catalog
with the same checks (and messages) as the CLI.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from models.errors import InputError
from pricing.domain.catalog import Catalog
from pricing.domain.last_sheet import read_last_prices
from pricing.domain.problem import Problem
from pricing.domain.settings import Settings
from pricing.files.run_record import run_record, summary, write_workbook
from pricing.files.sheet import PriceSheet
from pricing.optimizer.optimize import InfeasibleTarget, OptimizationResult, optimize

__all__ = [
    "WhatIf", "WhatIfRun", "shares_from_percent", "run_whatif", "sheet_files", "apply_whatif", "problem_with_catalog",
    "target_grid", "tradeoff_curve", "goal_tradeoff_curve", "GOAL_SWEEPS",
]

_EPS = 1e-9
RULE_AND_GOAL_KEYS = ("max_bundles_per_sku", "max_shared_skus", "min_price_gap", "margin_rate_points",
                      "devices_per_buyer", "target_confidence")


@dataclass(frozen=True)
class WhatIf:
    """The app's controls: changes to apply to the shipped problem. Hashable, so a result can be
    cached by it.

    ``price_sensitivity`` multiplies every segment's price coefficient; ``cost_change_pct`` changes
    every unit cost (percent, 5 = +5%); ``deepest_discount`` cuts the price ladder (fraction, None
    keeps it whole); ``segment_shares`` replaces the segment mix (fractions summing to 1, in the
    model's segment order; None keeps it); ``catalog_digest`` names an uploaded catalog.
    """

    attach_rate: float = 0.15
    max_bundles: int = 5
    price_sensitivity: float = 1.0
    cost_change_pct: float = 0.0
    deepest_discount: float | None = None
    min_margin: float = 0.08
    buyers: float = 28000.0
    segment_shares: tuple[float, ...] | None = None
    pinned: tuple[str, ...] = ()
    banned: tuple[str, ...] = ()
    catalog_digest: str | None = None
    # Offer rules and goals, as in Settings (None: off).
    max_bundles_per_sku: int | None = None
    max_shared_skus: int | None = None
    min_price_gap: float | None = None
    margin_rate_points: float | None = None
    devices_per_buyer: float | None = None
    target_confidence: float | None = None

    def __post_init__(self) -> None:
        for name in ("pinned", "banned"):
            object.__setattr__(self, name, tuple(sorted(getattr(self, name))))
        if self.segment_shares is not None:
            object.__setattr__(self, "segment_shares", tuple(float(x) for x in self.segment_shares))

    @classmethod
    def from_settings(cls, settings: Settings) -> "WhatIf":
        """The controls at the settings' values: no change at all."""
        return cls(attach_rate=settings.attach_rate, max_bundles=settings.max_bundles,
                   min_margin=settings.min_margin, buyers=float(settings.buyers),
                   pinned=settings.pinned, banned=settings.banned,
                   **{k: getattr(settings, k) for k in RULE_AND_GOAL_KEYS})

    def replace(self, **changes: Any) -> "WhatIf":
        values = asdict(self)
        values.update(changes)
        return WhatIf(**values)

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "WhatIf":
        values = dict(raw)
        if values.get("segment_shares") is not None:
            values["segment_shares"] = tuple(values["segment_shares"])
        return cls(**values)


def shares_from_percent(percent: Sequence[float], current: Sequence[float], decimals: int = 2) -> tuple[float, ...] | None:
    """Segment shares from a control in percent shown to ``decimals`` places.

    ``None`` when every entry still shows its current share (the model's exact shares are kept);
    otherwise the entries as fractions, rescaled to sum exactly to 1.

    Raises
    ------
    InputError
        Entries that do not sum to 100% (within what the rounding of the display can explain).
    """
    percent = [float(x) for x in percent]
    if all(abs(p - round(100 * c, decimals)) < 1e-9 for p, c in zip(percent, current)):
        return None
    total = sum(percent)
    if abs(total - 100.0) > len(percent) * 0.5 * 10 ** -decimals + 1e-9:
        raise InputError("segment mix", f"shares must sum to 100%, got {total:.2f}%")
    return tuple(p / total for p in percent)


def apply_whatif(base: Problem, whatif: WhatIf) -> Problem:
    """A copy of ``base`` with the what-if's changes; ``base`` is not written on.

    Raises
    ------
    InputError
        A control out of range (the message names the control and the value).
    """
    ladder = base.settings.discounts
    if whatif.deepest_discount is not None:
        ladder = tuple(d for d in ladder if d <= whatif.deepest_discount + _EPS)
        if not ladder:
            raise InputError("deepest discount", f"must be at least the smallest discount on the ladder "
                                                 f"({min(base.settings.discounts):.0%}), got {whatif.deepest_discount:.0%}")
    settings = base.settings.replace(
        attach_rate=whatif.attach_rate, max_bundles=whatif.max_bundles, min_margin=whatif.min_margin,
        buyers=whatif.buyers, pinned=whatif.pinned, banned=whatif.banned, discounts=ladder,
    )
    # Settings.replace skips None; here None turns a rule or goal off, so set them directly.
    settings = dataclasses.replace(settings, **{k: getattr(whatif, k) for k in RULE_AND_GOAL_KEYS})
    model = base.model
    if whatif.price_sensitivity != 1.0:
        model = model.with_price_sensitivity(whatif.price_sensitivity)
    if whatif.segment_shares is not None:
        model = model.with_shares(whatif.segment_shares)
    catalog = base.catalog.with_cost_change(whatif.cost_change_pct) if whatif.cost_change_pct else base.catalog
    return base.replace(settings=settings, model=model, catalog=catalog)


def problem_with_catalog(base: Problem, catalog_csv: bytes) -> Problem:
    """``base`` with an uploaded ``catalog.csv``, read with the CLI's checks and messages.

    Raises
    ------
    InputError
        The first file, row and column that break a rule, or a SKU the model or the last
        approved sheet cannot match.
    """
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "catalog.csv"
        path.write_bytes(catalog_csv)
        catalog = Catalog.from_csv(path)
    last_prices: Mapping[frozenset[str], float] = {}
    if base.data_dir is not None and (base.data_dir / "last_sheet.csv").exists():
        last_prices = read_last_prices(base.data_dir / "last_sheet.csv", catalog)
    return base.replace(catalog=catalog, last_prices=last_prices)


@dataclass(frozen=True, eq=False)
class WhatIfRun:
    """One what-if solved: the result, or the unreachable target; ``seconds`` spent in the library."""

    whatif: WhatIf
    result: OptimizationResult | None
    unreachable: InfeasibleTarget | None
    seconds: float


def run_whatif(base: Problem, whatif: WhatIf, catalog_csv: bytes | None = None,
               solve: Callable[[Problem], OptimizationResult] = optimize) -> WhatIfRun:
    """Apply ``whatif`` (and an uploaded catalog) to ``base`` and solve.

    An unreachable target is an answer, kept in ``unreachable``; bad input raises.

    Raises
    ------
    InputError
        A control out of range or an uploaded catalog that breaks a rule.
    """
    start = time.perf_counter()
    problem = problem_with_catalog(base, catalog_csv) if catalog_csv is not None else base
    problem = apply_whatif(problem, whatif)
    try:
        result, unreachable = solve(problem), None
    except InfeasibleTarget as exc:
        result, unreachable = None, exc
    return WhatIfRun(whatif, result, unreachable, time.perf_counter() - start)


def sheet_files(result: OptimizationResult) -> tuple[str, bytes]:
    """The price sheet as the CLI writes it: CSV text and the finance workbook's ``.xlsx`` bytes (draft)."""
    sheet = PriceSheet(result.offer, result.figures, result.problem.catalog)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "price_sheet.xlsx"
        write_workbook(path, result, run_record(result, headline=summary(result)))
        xlsx = path.read_bytes()
    return sheet.to_csv_text(), xlsx


# -- the trade-off curve ------------------------------------------------------------------------
def target_grid(low: float, high: float, points: int, current: float) -> list[float]:
    """``points`` evenly spaced attach targets from ``low`` to ``high`` (shares), plus ``current``."""
    if not (0 <= low < high < 1) or points < 2:
        raise InputError("target sweep", f"needs 0 <= low < high < 1 and at least 2 points, got "
                                         f"{low:g} to {high:g} in {points} points")
    grid = {round(float(x), 4) for x in np.linspace(low, high, points)}
    grid.add(round(float(current), 4))
    return sorted(grid)


def tradeoff_curve(targets: Sequence[float], solve: Callable[[float], OptimizationResult],
                   progress: Callable[[int, float], None] | None = None) -> pd.DataFrame:
    """Best expected margin (CNY a month) at each attach target.

    ``solve(target)`` returns the optimization at that target or raises
    :class:`InfeasibleTarget`; unreachable targets get an empty margin and the highest
    reachable attach rate. ``progress(i, target)`` is called before each solve.
    """
    rows = []
    for i, target in enumerate(targets):
        if progress is not None:
            progress(i, target)
        try:
            result = solve(target)
        except InfeasibleTarget as exc:
            rows.append({"target": target, "attach_rate": None, "margin": None, "margin_rate": None,
                         "proven_optimal": exc.proven, "reachable": False,
                         "note": f"unreachable: at most {exc.best_attach:.2%}"})
            continue
        f = result.figures
        rows.append({"target": target, "attach_rate": f.attach_rate, "margin": f.margin,
                     "margin_rate": f.margin_rate, "proven_optimal": result.proven_optimal, "reachable": True,
                     "note": "proven optimal" if result.proven_optimal else f"not proven ({result.status.value})"})
    return pd.DataFrame(rows, columns=["target", "attach_rate", "margin", "margin_rate", "proven_optimal",
                                       "reachable", "note"])


# Goals the margin can be swept against: (setting, label, unit).
GOAL_SWEEPS = {
    "attach_rate": ("attach target", "share of car buyers"),
    "margin_rate_points": ("IoT gross-margin rate change", "points"),
    "devices_per_buyer": ("connected devices per car buyer", "devices"),
}


def goal_tradeoff_curve(goal: str, levels: Sequence[float], solve: Callable[[str, float], OptimizationResult],
                        progress: Callable[[int, float], None] | None = None) -> pd.DataFrame:
    """Best expected margin (CNY a month) at each required level of one goal.

    ``goal`` is a key of :data:`GOAL_SWEEPS`; ``solve(goal, level)`` returns the optimization with
    that goal set to ``level`` (the other settings unchanged) or raises
    :class:`InfeasibleTarget` (its subclass ``GoalsOutOfReach`` for goals other than the attach
    target). Out-of-reach levels get an empty margin and the reason.
    """
    if goal not in GOAL_SWEEPS:
        raise InputError("goal sweep", f"goal must be one of {', '.join(GOAL_SWEEPS)}, got {goal!r}")
    rows = []
    for i, level in enumerate(levels):
        if progress is not None:
            progress(i, level)
        try:
            result = solve(goal, level)
        except InfeasibleTarget as exc:
            rows.append({"goal": goal, "required": level, "reached": None, "margin": None, "margin_rate_points": None,
                         "proven_optimal": exc.proven, "reachable": False, "note": str(exc)})
            continue
        f = result.figures
        reached = {"attach_rate": f.attach_rate, "margin_rate_points": f.margin_rate_change_points,
                   "devices_per_buyer": f.devices_per_buyer}[goal]
        rows.append({"goal": goal, "required": level, "reached": reached, "margin": f.margin,
                     "margin_rate_points": f.margin_rate_change_points, "proven_optimal": result.proven_optimal,
                     "reachable": True,
                     "note": "proven optimal" if result.proven_optimal else f"not proven ({result.status.value})"})
    return pd.DataFrame(rows, columns=["goal", "required", "reached", "margin", "margin_rate_points",
                                       "proven_optimal", "reachable", "note"])
