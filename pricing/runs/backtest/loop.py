"""Does dynamic pricing pay? The monthly loop run on a simulated market, against an oracle.

Each simulated month, for each policy and market: the policy chooses an offer; the offer is
evaluated exactly under the TRUE model (the expected margin and attach rate finance would see
on average) and shown to the market simulator (:class:`models.simulator.MarketSimulator`),
whose take-up is appended to the policy's own history. Policies:

``oracle``
    Optimizes with the true model: the ceiling. It ignores the stability rule (which can only
    remove offers from the ladder), so its offer is the best any policy can make from the
    ladder, and it does not depend on history: solved once per distinct true model.
``loop``
    Today's monthly run: fit the demand model on the policy's history so far
    (:class:`models.fit.SegmentLogitFit`), optimize on the point estimate, within the stability
    rule against its own last offer in that market.
``thompson``
    The loop with Thompson sampling: optimize on one draw from the fitted coefficients'
    distribution (``models.uncertainty``), a fresh draw per market and month, so products the data
    know little about are tried in proportion to the chance that they are worth it.
``static``
    The last approved sheet, never changed.

Every policy faces the same buyers in a (month, market) (common random numbers, see the
simulator). A fit that fails keeps the policy's previous model (counted); a solve that gives no
offer keeps the market's previous offer (counted as a fallback). :func:`solve_offer` is a pure
function of its :class:`~pricing.domain.problem.Problem`, so the solves can be mapped over
workers.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from models.demand import DemandModel, Segment
from models.errors import InputError
from models.history import History
from models.simulator import MarketSimulator, market_key
from models.uncertainty import coefficient_draws
from pricing.domain.offer import Offer, evaluate_offer
from pricing.domain.problem import Problem
from pricing.optimizer.optimize import InfeasibleTarget, optimize
from pricing.runs.backtest.inputs import BacktestInputs, month_after
from pricing.runs.backtest.metrics import coefficient_errors, monthly_table, price_churn

__all__ = ["POLICIES", "BacktestConfig", "BacktestResult", "Decision", "solve_offer", "run_backtest",
           "thompson_model"]

POLICIES = ("oracle", "loop", "thompson", "static")
_FIT_ERRORS = (InputError, ValueError, ArithmeticError, np.linalg.LinAlgError)
_ORACLE_REL_GAP, _ORACLE_TIME_LIMIT = 1e-6, 300.0
_THOMPSON_STREAM = 1  # seed salt of the coefficient draws (the simulator's buyers use 0)


@dataclass(frozen=True)
class BacktestConfig:
    """What to run: ``months`` simulated months from ``seed``; ``policies`` (the oracle always
    runs: regret needs it)."""

    months: int = 24
    seed: int = 0
    policies: tuple[str, ...] = POLICIES

    def __post_init__(self) -> None:
        if isinstance(self.months, bool) or not isinstance(self.months, int) or self.months < 1:
            raise InputError("--months", f"must be a whole number >= 1, got {self.months!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise InputError("--seed", f"must be a whole number >= 0, got {self.seed!r}")
        unknown = [p for p in self.policies if p not in POLICIES]
        if unknown:
            raise InputError("--policy", f"unknown policy {unknown[0]!r}; expected some of {', '.join(POLICIES)}")
        ordered = tuple(p for p in POLICIES if p == "oracle" or p in self.policies)
        object.__setattr__(self, "policies", ordered)


@dataclass(frozen=True)
class Decision:
    """One policy's offer for one market and month, and what the solver said about it.

    ``status`` is the solver's (``optimal``, ``time_limit``) or ``fixed`` (static), ``kept``
    (no new offer: the previous one stays) or ``target_unreachable`` (the policy's model says
    the target cannot be reached; the previous offer stays). ``gap`` is the proven relative gap.
    """

    offer: Offer | None
    status: str
    gap: float | None = None
    seconds: float = 0.0


def solve_offer(problem: Problem) -> Decision:
    """Optimize ``problem``: a pure function (no I/O, no shared state), safe to map over workers."""
    start = time.perf_counter()
    try:
        result = optimize(problem)
    except InfeasibleTarget:
        return Decision(None, "target_unreachable", None, time.perf_counter() - start)
    seconds = time.perf_counter() - start
    if not result.status.is_ok:
        return Decision(None, result.status.value, None, seconds)
    return Decision(result.offer, result.status.value, result.gap, seconds)


def thompson_model(model: DemandModel, skus: tuple[str, ...], seed: int) -> DemandModel:
    """One draw of the coefficients from the fit's normal approximation, as a demand model.

    A drawn price coefficient below 0 is set to 0 (the model's floor). Without a stored
    covariance the point estimate itself is returned.
    """
    draws = coefficient_draws(model, skus, 1, seed)
    if draws is None:
        return model
    segments = tuple(
        Segment(seg.name, seg.share, float(draws["intercept"][0, s]), max(float(draws["price_coef"][0, s]), 0.0),
                {sku: float(draws["appeal"][0, i, s]) for i, sku in enumerate(skus)}, seg.size_coef,
                float(draws["span_bonus"][0, s]))
        for s, seg in enumerate(model.segments)
    )
    return DemandModel(segments, model.currency)


@dataclass(eq=False)
class _PolicyState:
    """What one policy carries from month to month."""

    name: str
    history: pd.DataFrame
    model: DemandModel
    last_offer: dict[str, Offer]
    fit_failures: int = 0
    fit_failed: bool = False
    errors: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """``monthly``: one row per policy and month (``backtest.csv``); ``markets``: one row per
    policy, month and market; ``meta``: the run's settings, seed, timings and counts."""

    monthly: pd.DataFrame
    markets: pd.DataFrame
    meta: Mapping[str, object]


class _Run:
    """The state of one backtest; :func:`run_backtest` is its only caller."""

    def __init__(self, inputs: BacktestInputs, config: BacktestConfig,
                 solver: Callable[[Problem], Decision]) -> None:
        self.inputs, self.config, self.solve = inputs, config, solver
        catalog = inputs.catalog
        self.skus = tuple(catalog.skus)
        self.active = tuple(s for s, a in zip(catalog.skus, catalog.active) if a)
        offered = {s for skus in inputs.history.frame["skus"] for s in skus}
        self.untested = tuple(s for s in self.active if s not in offered)
        self.simulator = MarketSimulator(inputs.truth, dict(zip(catalog.skus, catalog.zones)), config.seed)
        if "static" in config.policies and inputs.static_offer is None:
            raise InputError("last_sheet.csv", "the static policy needs the last approved sheet; none was found")
        self.solves = 0
        self.oracle: dict[str, Decision] = {}
        for market in inputs.markets:
            self.oracle[market] = self._oracle_decision(market)
        start_model = self._fit(inputs.history.frame)
        if start_model is None:
            raise InputError(inputs.history.source, "the demand model cannot be fitted on the shipped history")
        start_offer = inputs.static_offer or Offer(())
        self.states = [
            _PolicyState(name, inputs.history.frame, start_model, {m: start_offer for m in inputs.markets})
            for name in config.policies
        ]
        self.rows: list[dict] = []

    def _oracle_decision(self, market: str) -> Decision:
        truth = self.simulator.model_of(market)
        for other, decision in self.oracle.items():
            if self.simulator.model_of(other) is truth:
                return decision
        # one solve for the whole run: prove it tighter than the policies' so that a policy's
        # solve gap cannot show up as beating the ceiling
        settings = self.inputs.settings.replace(rel_gap=min(self.inputs.settings.rel_gap, _ORACLE_REL_GAP),
                                                time_limit=max(self.inputs.settings.time_limit, _ORACLE_TIME_LIMIT))
        decision = self.solve(Problem(self.inputs.catalog, truth, settings, {}))
        self.solves += 1
        if decision.offer is None:
            raise InputError("settings", f"no offer reaches the rules and target even under the true model "
                                         f"({decision.status}); the backtest has no ceiling to compare with")
        return decision

    def _fit(self, frame: pd.DataFrame) -> DemandModel | None:
        try:
            history = History(frame.reset_index(drop=True), self.inputs.history.source)
            from models.fit import SegmentLogitFit  # scipy loads here, not for every command

            return SegmentLogitFit().fit(history, self.inputs.catalog).to_model(self.inputs.truth.currency)
        except _FIT_ERRORS:
            return None

    def refit(self, state: _PolicyState, month_index: int) -> None:
        """Fit on the policy's history so far; a failed fit keeps the previous model."""
        state.fit_failed = False
        if month_index > 0:
            model = self._fit(state.history)
            if model is None:
                state.fit_failures += 1
                state.fit_failed = True
            else:
                state.model = model
        state.errors = coefficient_errors(state.model, self.inputs.truth, self.active, self.untested)

    def decide(self, state: _PolicyState, month_index: int) -> dict[str, Decision]:
        """Every market's offer of one policy in one month."""
        if state.name == "oracle":
            return {m: Decision(self.oracle[m].offer, self.oracle[m].status, self.oracle[m].gap)
                    for m in self.inputs.markets}
        if state.name == "static":
            return {m: Decision(self.inputs.static_offer, "fixed") for m in self.inputs.markets}
        memo: dict[frozenset, Decision] = {}
        out = {}
        for market in self.inputs.markets:
            last = state.last_offer[market]
            last_prices = {frozenset(b.skus): b.price for b in last.bundles}
            settings = self.inputs.settings.replace(buyers=float(self._buyers(market, month_index)))
            if state.name == "thompson":
                seed = np.random.SeedSequence([self.config.seed, _THOMPSON_STREAM, month_index, market_key(market)])
                model = thompson_model(state.model, self.skus, int(seed.generate_state(1)[0]))
                out[market] = self.solve(Problem(self.inputs.catalog, model, settings, last_prices))
                self.solves += 1
                continue
            # the offer does not depend on the buyers (the objective is per buyer): markets with
            # the same last offer share one solve
            key = frozenset(last_prices.items())
            if key in memo:
                out[market] = dataclasses.replace(memo[key], seconds=0.0)
                continue
            memo[key] = out[market] = self.solve(Problem(self.inputs.catalog, state.model, settings, last_prices))
            self.solves += 1
        return out

    def _buyers(self, market: str, month_index: int) -> int:
        return self.inputs.buyers(market, month_after(self.inputs.first_month, month_index))

    def step(self, month_index: int) -> None:
        """One simulated month for every policy and market."""
        month = month_after(self.inputs.first_month, month_index)
        markets = self.inputs.markets
        draws = {m: self.simulator.draw(month_index, m, self._buyers(m, month_index)) for m in markets}
        oracle = {m: evaluate_offer(self.oracle[m].offer, self.inputs.catalog, self.simulator.model_of(m),
                                    self._buyers(m, month_index)).margin for m in markets}
        for state in self.states:
            self.refit(state, month_index)
            decisions = self.decide(state, month_index)
            new_rows = []
            for market in markets:
                decision = decisions[market]
                previous = state.last_offer[market]
                offer = decision.offer if decision.offer is not None else previous
                observed = self.simulator.history_rows(draws[market], month, [b.skus for b in offer.bundles],
                                                       [b.price for b in offer.bundles])
                new_rows.append(observed)
                self._record(state, month_index, month, market, decision, offer, previous, observed, oracle[market])
                state.last_offer[market] = offer
            state.history = pd.concat([state.history, *new_rows], ignore_index=True)

    def _record(self, state: _PolicyState, month_index: int, month: str, market: str, decision: Decision,
                offer: Offer, previous: Offer, observed: pd.DataFrame, oracle_margin: float) -> None:
        buyers = self._buyers(market, month_index)
        figures = evaluate_offer(offer, self.inputs.catalog, self.simulator.model_of(market), buyers)
        # observed rows run over segments, then bundles: sum each bundle's takers over segments
        taken = observed["taken"].to_numpy().reshape(-1, len(offer)).sum(axis=0) if len(offer) else np.zeros(0)
        realised = float(taken @ figures.incremental_margin) if len(offer) else 0.0
        changes, moved = price_churn(offer, previous)
        self.rows.append({
            "policy": state.name, "month_index": month_index, "month": month, "market": market, "buyers": buyers,
            "true_margin": figures.margin, "oracle_margin": oracle_margin, "realised_margin": realised,
            "true_attach": figures.attach_rate, "realised_attach": float(taken.sum()) / buyers,
            "target_missed": int(figures.attach_rate < self.inputs.settings.attach_rate - 1e-9),
            "bundles": len(offer), "price_changes": changes, "mean_abs_price_change_pct": moved,
            "status": decision.status, "gap": decision.gap if decision.gap is not None else np.nan,
            "fallback": int(decision.offer is None),
            "unproven": int(decision.status not in ("optimal", "fixed")),
            "solve_seconds": decision.seconds, "fit_failed": int(state.fit_failed),
            "fit_failures_total": state.fit_failures, **state.errors,
            "offer": "; ".join(f"{'|'.join(b.skus)} @ {b.price:.0f}" for b in offer.bundles),
        })


def run_backtest(inputs: BacktestInputs, config: BacktestConfig,
                 solver: Callable[[Problem], Decision] = solve_offer,
                 progress: Callable[[int, int], None] | None = None) -> BacktestResult:
    """Run ``config.months`` simulated months of every policy on the same simulated market.

    Parameters
    ----------
    inputs : catalog, true model, settings (its ``time_limit`` and ``rel_gap`` are the backtest's
        solver limits), shipped history, last sheet and volumes.
    config : months, seed and policies.
    solver : the function that turns a problem into a decision (default :func:`solve_offer`).
    progress : called with (months done, months) after each month.

    Returns
    -------
    :class:`BacktestResult`; the same inputs, config and solver give the same figures (apart from
    the timing columns ``solve_seconds`` and ``meta['seconds']``).
    """
    start = time.perf_counter()
    run = _Run(inputs, config, solver)
    for t in range(config.months):
        run.step(t)
        if progress is not None:
            progress(t + 1, config.months)
    markets = pd.DataFrame(run.rows)
    monthly = monthly_table(markets, inputs.settings.attach_rate)
    meta = {
        "months": config.months, "seed": config.seed, "policies": list(config.policies),
        "markets": list(inputs.markets), "first_month": inputs.first_month,
        "history_months": list(inputs.history.months), "untested_skus": list(run.untested),
        "solves": run.solves, "seconds": round(time.perf_counter() - start, 1),
        "time_limit": inputs.settings.time_limit, "rel_gap": inputs.settings.rel_gap,
        "attach_target": inputs.settings.attach_rate,
    }
    return BacktestResult(monthly, markets, meta)
