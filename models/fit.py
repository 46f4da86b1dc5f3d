"""Fitting the segment logit of the spec to the offer history (the check is ``models.validation``).

For each segment separately (the segments share no coefficient), the buyers of a cell (month,
region, segment) choose one of the bundles offered or no bundle, so the grouped take-up counts
have the multinomial log-likelihood::

    LL = sum_cells [ sum_b taken_b * u_b - buyers * log(1 + sum_b exp(u_b)) ]
    u_b = intercept + market[region] + sum_{i in S_b} appeal[i] + span_bonus * (zones_b - 1)
          - price_coef * price_b

``size_coef`` is not fitted: with one appeal per SKU, adding ``d`` to every appeal and taking
``d`` from ``size_coef`` and the intercept leaves every utility unchanged, so the data cannot
tell it apart from the appeals. It is written as 0 and the appeals carry it (an appeal is the
SKU's worth inside a bundle).

Gaussian priors (ridge penalties) pull what the data say little about toward a default::

    appeal[i] ~ N(category_mean[c(i)], appeal_prior_sd^2)
    category_mean[c] ~ N(segment_mean, category_prior_sd^2)
    segment_mean ~ N(0, 2^2)                     (weak: keeps it finite when takers are few)
    market[r] ~ N(0, market_prior_sd^2)          (a market's shift of the segment's intercept)
    sum_r buyers_r * market[r] / sum_r buyers_r ~ N(0, 0.01^2)   (the intercept is the average market)

with the category and segment means estimated with the rest. A SKU offered often is barely
moved; a SKU never offered gets its category's mean (or the segment's, for a category never
offered), and its standard error is about the prior's spread. A market with few buyers keeps a
shift near 0. The estimate is the posterior mode; standard errors come from the observed
information (the Hessian of the penalised negative log-likelihood), i.e. the Laplace
approximation of the posterior.

Before the first Newton step, :func:`models.identification.unidentified` finds what a segment's
data cannot identify; those parameters are fixed (values in that module's notes), warned about,
and reported with a standard error of ``NaN`` (``null`` in ``model.json``). Every linear solve
is guarded (pseudo-inverse on the well-determined directions), so a singular information matrix
never stops the fit.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
from scipy import optimize, stats

from models import fit_report
from models.demand import DemandModel, Segment
from models.errors import InputError
from models.history import History
from models.identification import guarded_inverse, unidentified, weak_directions
from models.likelihood import PRICE_SCALE, Design, null_log_likelihood, penalised_objective, polish

__all__ = ["SegmentLogitFit", "SegmentEstimate"]

_Z95 = float(stats.norm.ppf(0.975))
MARKET_CENTRE_WEIGHT = 1.0e4
# A weak prior on the segment's mean appeal: it keeps the common appeal level (which trades off
# against the intercept) finite when a segment's history says almost nothing about it (a handful
# of takers), and barely moves it otherwise (a pull of mean / 4 against thousands of buyers).
MEAN_APPEAL_PRIOR_SD = 2.0
_NOT_FITTED = "this SegmentLogitFit is not fitted yet; call fit(history, catalog) first"


@dataclass(frozen=True)
class SegmentEstimate:
    """One segment's fitted utility coefficients and their uncertainty.

    ``params`` names the entries: ``intercept``, ``price_coef`` (utility per CNY), ``span_bonus``,
    ``appeal:<sku>`` for every catalog SKU and ``market:<region>`` for every region of the
    history. ``covariance`` is their joint covariance (the category and segment means of the
    prior are integrated out); a fixed parameter has variance 0 there. ``not_identified`` maps a
    parameter the data cannot identify (fixed, or left free only along a flat direction) to the
    reason; its standard error is ``NaN``.
    """

    name: str
    share: float
    params: tuple[str, ...]
    estimate: np.ndarray
    covariance: np.ndarray
    log_likelihood: float
    log_likelihood_null: float
    offers: dict[str, int]
    buyers: int
    takers: int
    iterations: int
    converged: bool
    not_identified: Mapping[str, str] = field(default_factory=dict)
    market_rows: Mapping[str, int] = field(default_factory=dict)

    @property
    def std_error(self) -> np.ndarray:
        """Standard errors (``NaN`` for what is not identified), in the units of ``params``."""
        se = np.sqrt(np.clip(np.diag(self.covariance), 0.0, None))
        return np.array([np.nan if p in self.not_identified else v for p, v in zip(self.params, se)])

    def identified(self, param: str) -> bool:
        return param not in self.not_identified

    def value(self, param: str) -> float:
        return float(self.estimate[self.params.index(param)])

    def interval(self, param: str) -> tuple[float, float]:
        """95% interval (normal approximation); ``(nan, nan)`` when not identified."""
        k = self.params.index(param)
        half = _Z95 * self.std_error[k]
        return float(self.estimate[k] - half), float(self.estimate[k] + half)


class SegmentLogitFit:
    """Penalised maximum-likelihood fit of the spec's segment logit, one segment at a time.

    Parameters
    ----------
    appeal_prior_sd : spread of a SKU's appeal around its category's mean (utility units).
        Smaller pulls rarely offered SKUs harder toward their category.
    category_prior_sd : spread of category means around the segment's mean appeal.
    market_prior_sd : spread of a market's shift of the intercept around 0 (utility units; 0.25
        means a market is rarely more than about 50% above or below the average take-up).
    fallback_price_coef : price coefficient (utility per CNY) used for a segment whose history
        cannot identify one: a number for every segment, or segment name -> number (missing
        names get 0, price-blind demand). The fit command passes the current model's values.
    rare_offers : a SKU offered in fewer cells than this in a segment is reported as rare.
    max_iter : Newton (trust-region) iterations per segment, at most.
    tol : convergence tolerance: the optimiser's gradient tolerance, and the largest Newton
        decrement (log-likelihood still to gain) accepted at the end.

    Attributes
    ----------
    segments_ : tuple of :class:`SegmentEstimate`, in the order of the history.
    skus_ : catalog SKUs, the order of the appeals.
    months_, regions_ : months and regions (markets) used.
    log_likelihood_, log_likelihood_null_, rho_squared_ : fit statistics summed over segments;
        the null model gives every bundle of a segment one common utility.
    data_sha256_ : hash of the history file.
    price_range_ : (lowest, highest) bundle price in the history, CNY.
    discount_range_ : (lowest, highest) discount off the list total, as shares.
    fit_seconds_ : wall time of :meth:`fit`.
    """

    def __init__(
        self,
        appeal_prior_sd: float = 0.5,
        category_prior_sd: float = 1.0,
        market_prior_sd: float = 0.25,
        fallback_price_coef: float | Mapping[str, float] = 0.0,
        rare_offers: int = 12,
        max_iter: int = 200,
        tol: float = 1e-8,
    ) -> None:
        self.appeal_prior_sd = appeal_prior_sd
        self.category_prior_sd = category_prior_sd
        self.market_prior_sd = market_prior_sd
        self.fallback_price_coef = fallback_price_coef
        self.rare_offers = rare_offers
        self.max_iter = max_iter
        self.tol = tol

    # -- fitting --------------------------------------------------------------------------
    def fit(self, history: History, catalog) -> "SegmentLogitFit":
        """Fit every segment of ``history``; returns ``self``.

        Raises
        ------
        InputError
            If a setting is out of range or a history SKU is not in ``catalog``.
        """
        for name in ("appeal_prior_sd", "category_prior_sd", "market_prior_sd"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise InputError("fit settings", f"{name} must be a number > 0, got {value!r}")
        start = time.perf_counter()
        self.skus_ = tuple(catalog.skus)
        self.categories_ = tuple(catalog.categories)
        self.regions_ = history.regions
        category_names = tuple(dict.fromkeys(catalog.categories))
        category_of = np.array([category_names.index(c) for c in catalog.categories])
        penalty = self._penalty_matrix(len(self.skus_), len(self.regions_), category_of, len(category_names))
        shares = history.segment_shares()
        estimates = []
        for name in history.segments:
            frame = history.frame[history.frame["segment"] == name].reset_index(drop=True)
            design = Design(frame, catalog, self.regions_)
            estimates.append(self._fit_segment(name, shares[name], design, penalty))
        self.segments_ = tuple(estimates)
        self.months_ = history.months
        self.data_sha256_ = history.sha256
        self.n_rows_ = len(history.frame)
        self.log_likelihood_ = float(sum(e.log_likelihood for e in estimates))
        self.log_likelihood_null_ = float(sum(e.log_likelihood_null for e in estimates))
        self.rho_squared_ = 1.0 - self.log_likelihood_ / self.log_likelihood_null_
        self.price_range_ = history.price_range()
        list_total = fit_report.list_totals(history.frame, catalog)
        discount = 1.0 - history.frame["price"].to_numpy(float) / list_total
        self.discount_range_ = (float(discount.min()), float(discount.max()))
        self.fit_seconds_ = time.perf_counter() - start
        return self

    def _penalty_matrix(self, n_skus: int, n_markets: int, category_of: np.ndarray, n_categories: int) -> np.ndarray:
        """``Q`` of the negative log prior ``0.5 theta' Q theta`` over the full parameter vector
        ``[intercept, price, span, appeals, markets, category means, segment mean]``."""
        n = 3 + n_skus + n_markets + n_categories + 1
        q = np.zeros((n, n))
        a0, m0, c0, mu = 3, 3 + n_skus, 3 + n_skus + n_markets, n - 1

        def tie(i: int, j: int, weight: float) -> None:  # adds weight * (theta_i - theta_j)^2
            q[i, i] += weight
            q[j, j] += weight
            q[i, j] -= weight
            q[j, i] -= weight

        for i, c in enumerate(category_of):
            tie(a0 + i, c0 + c, 1.0 / self.appeal_prior_sd**2)
        for c in range(n_categories):
            tie(c0 + c, mu, 1.0 / self.category_prior_sd**2)
        for g in range(n_markets):
            q[m0 + g, m0 + g] += 1.0 / self.market_prior_sd**2
        q[mu, mu] += 1.0 / MEAN_APPEAL_PRIOR_SD**2
        return q

    def _centre_markets(self, penalty: np.ndarray, design: Design) -> np.ndarray:
        """Hold the buyer-weighted mean of the market shifts at 0 (a penalty of weight
        ``MARKET_CENTRE_WEIGHT``, i.e. a spread of 0.01), so the intercept is the average market's
        level, measured by the data, and each shift is a deviation from it."""
        total = design.market_buyers.sum()
        if total <= 0:
            return penalty
        weights = design.market_buyers / total
        m0 = 3 + len(self.skus_)
        block = slice(m0, m0 + len(weights))
        out = penalty.copy()
        out[block, block] += MARKET_CENTRE_WEIGHT * np.outer(weights, weights)
        return out

    def _fixed(self, name: str, design: Design, n: int) -> tuple[dict[int, float], dict[str, str]]:
        """Positions in the full parameter vector held fixed, their values, and the reasons
        (keyed by reported parameter name)."""
        reasons = unidentified(design)
        fixed: dict[int, float] = {}
        if "intercept" in reasons:
            fixed[0] = math.log(0.5 / max(design.buyers.sum(), 1.0))
        if "price_coef" in reasons:
            fallback = self.fallback_price_coef
            value = fallback.get(name, 0.0) if isinstance(fallback, Mapping) else fallback
            fixed[1] = float(value) * PRICE_SCALE
        if "span_bonus" in reasons:
            fixed[2] = 0.0
        if "mean_appeal" in reasons:
            fixed[n - 1] = 0.0
        m0 = 3 + len(self.skus_)
        lone = int((design.market_rows > 0).sum()) <= 1
        for g, region in enumerate(self.regions_):
            if design.market_rows[g] == 0:
                fixed[m0 + g] = 0.0
                reasons[f"market:{region}"] = "no rows of this segment in this market"
            elif lone:
                fixed[m0 + g] = 0.0
                reasons[f"market:{region}"] = "the only market of this segment: its level is the intercept"
        return fixed, reasons

    def _fit_segment(self, name: str, share: float, design: Design, penalty: np.ndarray) -> SegmentEstimate:
        n_u, n = design.x.shape[1], penalty.shape[0]
        penalty = self._centre_markets(penalty, design)
        fixed, reasons = self._fixed(name, design, n)
        free = np.array([k for k in range(n) if k not in fixed])
        base = np.zeros(n)
        for k, v in fixed.items():
            base[k] = v
        attach = max(design.taken.sum() / design.buyers.sum(), 1e-6)
        if 0 not in fixed:
            base[0] = math.log(attach / len(design.taken) * design.n_cells)

        objective, hessian, full = penalised_objective(design, penalty, base, free)
        result = optimize.minimize(
            objective, base[free], jac=True, hess=hessian, method="trust-exact",
            options={"gtol": self.tol, "maxiter": self.max_iter},
        )
        z, decrement = polish(objective, hessian, result.x, self.tol)
        theta, h = full(z), hessian(z)
        params = ("intercept", "price_coef", "span_bonus", *(f"appeal:{s}" for s in self.skus_),
                  *(f"market:{r}" for r in self.regions_))
        names = [params[k] if k < n_u else "" for k in free]
        for weak in weak_directions(h, names):
            if weak:
                reasons.setdefault(weak, "collinear with other parameters in this history (a flat direction "
                                         "of the likelihood)")
        covariance_full = np.zeros((n, n))
        covariance_full[np.ix_(free, free)] = guarded_inverse(h)
        scale = np.ones(n_u)
        scale[1] = 1.0 / PRICE_SCALE
        covariance = covariance_full[:n_u, :n_u] * np.outer(scale, scale)
        return SegmentEstimate(
            name=name, share=share, params=params, estimate=theta[:n_u] * scale,
            covariance=0.5 * (covariance + covariance.T),
            log_likelihood=design.log_likelihood(theta[:n_u]), log_likelihood_null=null_log_likelihood(design),
            offers={s: int(k) for s, k in zip(self.skus_, design.offers)},
            buyers=int(design.buyers.sum()), takers=int(design.taken.sum()),
            iterations=int(result.nit), converged=decrement <= max(self.tol, 1e-6),
            not_identified=reasons,
            market_rows={r: int(k) for r, k in zip(self.regions_, design.market_rows)},
        )

    # -- using the fit --------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "segments_"):
            raise RuntimeError(_NOT_FITTED)

    def segment(self, name: str) -> SegmentEstimate:
        self._check_fitted()
        for est in self.segments_:
            if est.name == name:
                return est
        raise KeyError(f"no fitted segment {name!r}")

    def to_model(self, currency: str = "CNY") -> DemandModel:
        """The fitted :class:`DemandModel` (``size_coef`` = 0, see the module notes; a negative
        price coefficient is written as 0, the spec's floor, and reported in :meth:`warnings`).
        Each segment's ``market_intercepts`` holds the markets whose shift was estimated."""
        self._check_fitted()
        segments = []
        for est in self.segments_:
            appeal = {s: est.value(f"appeal:{s}") for s in self.skus_}
            markets = {r: est.value(f"market:{r}") for r in self.regions_ if est.identified(f"market:{r}")}
            segments.append(Segment(
                name=est.name, share=est.share, intercept=est.value("intercept"),
                price_coef=max(est.value("price_coef"), 0.0), appeal=appeal,
                size_coef=0.0, span_bonus=est.value("span_bonus"), market_intercepts=markets,
            ))
        return DemandModel(tuple(segments), currency, self.fit_summary())

    def predict_take_rates(self, history: History, catalog) -> np.ndarray:
        """Predicted share of each history row's cell buyers taking that row's bundle
        (aligned with ``history.frame``); markets the fit did not see get no shift."""
        self._check_fitted()
        out = np.empty(len(history.frame))
        for name in history.segments:
            mask = (history.frame["segment"] == name).to_numpy()
            est = self.segment(name)
            beta = est.estimate.copy()
            beta[1] *= PRICE_SCALE
            design = Design(history.frame[mask].reset_index(drop=True), catalog, self.regions_)
            out[mask] = design.probabilities(beta)
        return out

    def coefficient_table(self) -> list[dict[str, Any]]:
        """Coefficients with standard errors and 95% intervals, one dict per (segment, parameter);
        ``None`` for the standard error and interval of what is not identified."""
        self._check_fitted()
        return fit_report.coefficient_table(self.segments_)

    def warnings(self) -> list[str]:
        """Plain-words cautions: what the data cannot identify, SKUs never or rarely offered,
        price effects the data do not show, markets with little data."""
        self._check_fitted()
        return fit_report.warnings(self)

    def fit_summary(self) -> dict[str, Any]:
        """The ``fit`` section of ``model.json`` (see ``docs/demand.md``)."""
        self._check_fitted()
        return fit_report.fit_summary(self)
