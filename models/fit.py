"""Fitting the segment logit of the spec to the offer history (the check is ``models.validation``).

For each segment separately (the segments share no coefficient), the buyers of a cell (month,
region, segment) choose one of the bundles offered or no bundle, so the grouped take-up counts
have the multinomial log-likelihood::

    LL = sum_cells [ sum_b taken_b * u_b - buyers * log(1 + sum_b exp(u_b)) ]
    u_b = intercept + sum_{i in S_b} appeal[i] + span_bonus * (zones_b - 1) - price_coef * price_b

``size_coef`` is not fitted: with one appeal per SKU, adding ``d`` to every appeal and taking
``d`` from ``size_coef`` and the intercept leaves every utility unchanged, so the data cannot
tell it apart from the appeals. It is written as 0 and the appeals carry it (an appeal is the
SKU's worth inside a bundle).

Appeals are pulled toward their category by a Gaussian prior (a ridge penalty)::

    appeal[i] ~ N(category_mean[c(i)], appeal_prior_sd^2)
    category_mean[c] ~ N(segment_mean, category_prior_sd^2)

with the category and segment means estimated with the rest. A SKU offered often is barely
moved; a SKU never offered gets its category's mean (or the segment's, for a category never
offered), and its standard error is about the prior's spread. The estimate is the posterior
mode; standard errors come from the observed information (the Hessian of the penalised
negative log-likelihood), i.e. the Laplace approximation of the posterior.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import optimize, stats

from models.demand import DemandModel, Segment
from models.errors import InputError
from models.history import History
from models.likelihood import PRICE_SCALE, Design, information, null_log_likelihood

__all__ = ["SegmentLogitFit", "SegmentEstimate"]

_Z95 = float(stats.norm.ppf(0.975))
_NOT_FITTED = "this SegmentLogitFit is not fitted yet; call fit(history, catalog) first"


@dataclass(frozen=True)
class SegmentEstimate:
    """One segment's fitted utility coefficients and their uncertainty.

    ``params`` names the entries: ``intercept``, ``price_coef`` (utility per CNY), ``span_bonus``
    and ``appeal:<sku>`` for every catalog SKU. ``covariance`` is their joint covariance (the
    category and segment means of the prior are integrated out).
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

    @property
    def std_error(self) -> np.ndarray:
        return np.sqrt(np.clip(np.diag(self.covariance), 0.0, None))

    def value(self, param: str) -> float:
        return float(self.estimate[self.params.index(param)])

    def interval(self, param: str) -> tuple[float, float]:
        """95% interval (normal approximation)."""
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
    rare_offers : a SKU offered in fewer cells than this in a segment is reported as rare.
    max_iter : Newton (trust-region) iterations per segment, at most.
    tol : convergence tolerance: the optimiser's gradient tolerance, and the largest Newton
        decrement (log-likelihood still to gain) accepted at the end.

    Attributes
    ----------
    segments_ : tuple of :class:`SegmentEstimate`, in the order of the history.
    skus_ : catalog SKUs, the order of the appeals.
    months_ : months used.
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
        rare_offers: int = 12,
        max_iter: int = 200,
        tol: float = 1e-8,
    ) -> None:
        self.appeal_prior_sd = appeal_prior_sd
        self.category_prior_sd = category_prior_sd
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
        for name in ("appeal_prior_sd", "category_prior_sd"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise InputError("fit settings", f"{name} must be a number > 0, got {value!r}")
        start = time.perf_counter()
        self.skus_ = tuple(catalog.skus)
        self.categories_ = tuple(catalog.categories)
        category_names = tuple(dict.fromkeys(catalog.categories))
        category_of = np.array([category_names.index(c) for c in catalog.categories])
        penalty = self._penalty_matrix(len(self.skus_), category_of, len(category_names))
        shares = history.segment_shares()
        estimates = []
        for name in history.segments:
            frame = history.frame[history.frame["segment"] == name].reset_index(drop=True)
            design = Design(frame, catalog)
            estimates.append(self._fit_segment(name, shares[name], design, penalty))
        self.segments_ = tuple(estimates)
        self.months_ = history.months
        self.regions_ = history.regions
        self.data_sha256_ = history.sha256
        self.n_rows_ = len(history.frame)
        self.log_likelihood_ = float(sum(e.log_likelihood for e in estimates))
        self.log_likelihood_null_ = float(sum(e.log_likelihood_null for e in estimates))
        self.rho_squared_ = 1.0 - self.log_likelihood_ / self.log_likelihood_null_
        self.price_range_ = history.price_range()
        list_total = _list_totals(history.frame, catalog)
        discount = 1.0 - history.frame["price"].to_numpy(float) / list_total
        self.discount_range_ = (float(discount.min()), float(discount.max()))
        self.fit_seconds_ = time.perf_counter() - start
        return self

    def _penalty_matrix(self, n_skus: int, category_of: np.ndarray, n_categories: int) -> np.ndarray:
        """``Q`` of the negative log prior ``0.5 theta' Q theta`` over the full parameter vector
        ``[intercept, price, span, appeals, category means, segment mean]``."""
        n = 3 + n_skus + n_categories + 1
        q = np.zeros((n, n))
        a0, c0, mu = 3, 3 + n_skus, n - 1
        wa, wc = 1.0 / self.appeal_prior_sd**2, 1.0 / self.category_prior_sd**2
        for i, c in enumerate(category_of):  # (appeal_i - m_c)^2 / sd_a^2
            ai, mc = a0 + i, c0 + c
            q[ai, ai] += wa
            q[mc, mc] += wa
            q[ai, mc] -= wa
            q[mc, ai] -= wa
        for c in range(n_categories):  # (m_c - mu)^2 / sd_c^2
            mc = c0 + c
            q[mc, mc] += wc
            q[mu, mu] += wc
            q[mc, mu] -= wc
            q[mu, mc] -= wc
        return q

    def _fit_segment(self, name: str, share: float, design: Design, penalty: np.ndarray) -> SegmentEstimate:
        n_u = design.x.shape[1]
        n = penalty.shape[0]

        def objective(theta: np.ndarray):
            beta = theta[:n_u]
            u = np.clip(design.utility(beta), -500.0, 500.0)
            e = np.exp(u)
            sums = np.bincount(design.cell, weights=e, minlength=design.n_cells)
            p = e / (1.0 + sums)[design.cell]
            ll = design.taken @ u - design.buyers @ np.log1p(sums)
            grad = np.zeros(n)
            grad[:n_u] = -(design.taken - design.buyers[design.cell] * p) @ design.x
            qt = penalty @ theta
            return float(-ll + 0.5 * theta @ qt), grad + qt

        def hessian(theta: np.ndarray) -> np.ndarray:
            h = penalty.copy()
            h[:n_u, :n_u] += information(design, theta[:n_u])
            return h

        theta0 = np.zeros(n)
        attach = max(design.taken.sum() / design.buyers.sum(), 1e-6)
        theta0[0] = math.log(attach / len(design.taken) * design.n_cells)
        result = optimize.minimize(
            objective, theta0, jac=True, hess=hessian, method="trust-exact",
            options={"gtol": self.tol, "maxiter": self.max_iter},
        )
        theta = result.x
        h = hessian(theta)
        grad = objective(theta)[1]
        # trust-exact can stop on rounding noise at the optimum; judge convergence by the Newton
        # decrement (the log-likelihood still to gain), which does not depend on the data's size.
        decrement = float(grad @ np.linalg.solve(h, grad))
        if decrement > self.tol:
            theta = theta - np.linalg.solve(h, grad)
            h = hessian(theta)
            grad = objective(theta)[1]
            decrement = float(grad @ np.linalg.solve(h, grad))
        covariance_full = np.linalg.inv(h)
        scale = np.ones(n_u)
        scale[1] = 1.0 / PRICE_SCALE
        estimate = theta[:n_u] * scale
        covariance = covariance_full[:n_u, :n_u] * np.outer(scale, scale)
        params = ("intercept", "price_coef", "span_bonus", *(f"appeal:{s}" for s in self.skus_))
        return SegmentEstimate(
            name=name,
            share=share,
            params=params,
            estimate=estimate,
            covariance=0.5 * (covariance + covariance.T),
            log_likelihood=design.log_likelihood(theta[:n_u]),
            log_likelihood_null=null_log_likelihood(design),
            offers={s: int(k) for s, k in zip(self.skus_, design.offers)},
            buyers=int(design.buyers.sum()),
            takers=int(design.taken.sum()),
            iterations=int(result.nit),
            converged=decrement <= max(self.tol, 1e-6),
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
        price coefficient is written as 0, the spec's floor, and reported in :meth:`warnings`)."""
        self._check_fitted()
        segments = []
        for est in self.segments_:
            appeal = {s: est.value(f"appeal:{s}") for s in self.skus_}
            segments.append(Segment(
                name=est.name, share=est.share, intercept=est.value("intercept"),
                price_coef=max(est.value("price_coef"), 0.0), appeal=appeal,
                size_coef=0.0, span_bonus=est.value("span_bonus"),
            ))
        return DemandModel(tuple(segments), currency, self.fit_summary())

    def predict_take_rates(self, history: History, catalog) -> np.ndarray:
        """Predicted share of each history row's cell buyers taking that row's bundle
        (aligned with ``history.frame``)."""
        self._check_fitted()
        out = np.empty(len(history.frame))
        for name in history.segments:
            mask = (history.frame["segment"] == name).to_numpy()
            est = self.segment(name)
            beta = est.estimate.copy()
            beta[1] *= PRICE_SCALE
            design = Design(history.frame[mask].reset_index(drop=True), catalog)
            out[mask] = design.probabilities(beta)
        return out

    def coefficient_table(self) -> list[dict[str, Any]]:
        """Coefficients with standard errors and 95% intervals, one dict per (segment, parameter)."""
        self._check_fitted()
        rows = []
        for est in self.segments_:
            for k, param in enumerate(est.params):
                low, high = est.interval(param)
                sku = param.split(":", 1)[1] if param.startswith("appeal:") else None
                rows.append({
                    "segment": est.name, "parameter": param, "estimate": float(est.estimate[k]),
                    "std_error": float(est.std_error[k]), "ci95_low": low, "ci95_high": high,
                    "offers": None if sku is None else est.offers[sku],
                })
        return rows

    def warnings(self) -> list[str]:
        """Plain-words cautions: SKUs never or rarely offered, price effects the data do not show."""
        self._check_fitted()
        out = []
        for i, sku in enumerate(self.skus_):
            never = [e.name for e in self.segments_ if e.offers[sku] == 0]
            rare = [e.name for e in self.segments_ if 0 < e.offers[sku] < self.rare_offers]
            if never:
                values = ", ".join(f"{e.value('appeal:' + sku):.2f}" for e in self.segments_ if e.name in never)
                who = "any segment's" if len(never) == len(self.segments_) > 1 else _join(never)
                out.append(
                    f"SKU {sku} was never offered to {who} buyers in the history: its appeal "
                    f"({values}) is the average of its category ({self.categories_[i]}), an assumption, "
                    "not a measurement. Treat bundles with it as untested."
                )
            if rare:
                counts = ", ".join(f"{e.offers[sku]}" for e in self.segments_ if e.name in rare)
                out.append(
                    f"SKU {sku} was offered to {_join(rare)} buyers in only {counts} market-months: its "
                    f"appeal is pulled toward its category ({self.categories_[i]}) and is uncertain."
                )
        for est in self.segments_:
            low, high = est.interval("price_coef")
            value = est.value("price_coef")
            if low <= 0.0:
                out.append(
                    f"{est.name}: the history does not show clearly that a higher price lowers take-up "
                    f"(price coefficient {value:.6f} per CNY, 95% interval {low:.6f} to {high:.6f}). "
                    "Prices chosen for this segment rest on weak evidence."
                    + (" The negative estimate is written as 0 in model.json." if value < 0 else "")
                )
            if not est.converged:
                out.append(f"{est.name}: the optimiser stopped before converging; the coefficients may be off.")
        return out

    def fit_summary(self) -> dict[str, Any]:
        """The ``fit`` section of ``model.json``: data, statistics, coefficients with their
        standard errors and covariance (what :mod:`models.uncertainty` draws from)."""
        self._check_fitted()
        return {
            "method": "penalised maximum likelihood of the segment logit on grouped take-up counts "
                      "(scipy trust-exact, analytic gradient and Hessian); standard errors from the "
                      "observed information",
            "source": "history.csv",
            "data_sha256": self.data_sha256_,
            "months": list(self.months_),
            "regions": list(self.regions_),
            "rows": self.n_rows_,
            "log_likelihood": self.log_likelihood_,
            "log_likelihood_null": self.log_likelihood_null_,
            "rho_squared": self.rho_squared_,
            "prior": {
                "appeal_sd": self.appeal_prior_sd,
                "category_sd": self.category_prior_sd,
                "note": "appeal ~ N(category mean, appeal_sd^2); category mean ~ N(segment mean, category_sd^2)",
            },
            "size_coef_note": "not identified next to per-SKU appeals: fixed at 0, the appeals carry it",
            "price_range": {"min": self.price_range_[0], "max": self.price_range_[1]},
            "discount_range": {"min": self.discount_range_[0], "max": self.discount_range_[1]},
            "seconds": round(self.fit_seconds_, 3),
            "segments": {
                est.name: {
                    "share": est.share,
                    "buyers": est.buyers,
                    "takers": est.takers,
                    "log_likelihood": est.log_likelihood,
                    "converged": est.converged,
                    "iterations": est.iterations,
                    "params": list(est.params),
                    "estimate": [_sig(v) for v in est.estimate],
                    "std_error": [_sig(v) for v in est.std_error],
                    "covariance": [[_sig(v) for v in row] for row in est.covariance],
                    "offers": est.offers,
                }
                for est in self.segments_
            },
            "warnings": self.warnings(),
        }


def _list_totals(frame: pd.DataFrame, catalog) -> np.ndarray:
    price = dict(zip(catalog.skus, catalog.list_price))
    return np.array([sum(price[s] for s in skus) for skus in frame["skus"]])


def _join(names: Sequence[str]) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _sig(value: float, digits: int = 8) -> float:
    return float(f"{float(value):.{digits}g}")
