"""The grouped multinomial log-likelihood of one segment's offer history, and its information.

Rows are offered bundles; a cell (month, region) is one choice situation of that segment's buyers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize

from models.identification import guarded_solve

__all__ = ["PRICE_SCALE", "Design", "information", "null_log_likelihood", "penalised_objective", "polish"]

PRICE_SCALE = 1000.0  # the optimiser works in utility per 1,000 CNY, which keeps the Hessian well scaled


class Design:
    """One segment's rows as arrays. Rows = offered bundles of the segment's cells.

    Columns of ``x`` (the utility is ``x @ beta``): intercept, ``-price / PRICE_SCALE``,
    ``zones - 1``, one 0/1 column per catalog SKU, then one 0/1 column per market of ``regions``
    (the market's shift of the intercept; a market with no rows here has a column of zeros).
    """

    def __init__(self, frame: pd.DataFrame, catalog, regions: tuple[str, ...] = ()) -> None:
        index = {sku: i for i, sku in enumerate(catalog.skus)}
        zones = catalog.zones
        n_rows, n_skus = len(frame), len(catalog.skus)
        incidence = np.zeros((n_rows, n_skus))
        zone_count = np.empty(n_rows)
        for r, skus in enumerate(frame["skus"]):
            cols = [index[s] for s in skus]
            incidence[r, cols] = 1.0
            zone_count[r] = len({zones[c] for c in cols})
        cell_key = list(zip(frame["month"], frame["region"]))
        codes, uniques = pd.factorize(pd.Series(cell_key, dtype=object))
        self.cell = np.asarray(codes)
        self.n_cells = len(uniques)
        self.buyers = np.zeros(self.n_cells)
        self.buyers[self.cell] = frame["buyers"].to_numpy(float)
        self.taken = frame["taken"].to_numpy(float)
        self.price = frame["price"].to_numpy(float)
        region_index = {r: g for g, r in enumerate(regions)}
        market = np.zeros((n_rows, len(regions)))
        for r, region in enumerate(frame["region"]):
            if region in region_index:
                market[r, region_index[region]] = 1.0
        self.x = np.column_stack([
            np.ones(n_rows), -self.price / PRICE_SCALE, zone_count - 1.0, incidence, market,
        ])
        self.incidence = incidence
        self.zone_count = zone_count
        self.offers = incidence.sum(axis=0)
        self.market_rows = market.sum(axis=0)
        first_row = np.zeros(self.n_cells, dtype=int)
        first_row[self.cell[::-1]] = np.arange(n_rows)[::-1]
        self.market_buyers = self.buyers @ market[first_row] if n_rows else np.zeros(len(regions))

    def utility(self, beta: np.ndarray) -> np.ndarray:
        return self.x @ beta

    def probabilities(self, beta: np.ndarray) -> np.ndarray:
        """Take probability of each row's bundle within its cell."""
        u = np.clip(self.utility(beta), -500.0, 500.0)
        e = np.exp(u)
        denominator = 1.0 + np.bincount(self.cell, weights=e, minlength=self.n_cells)
        return e / denominator[self.cell]

    def log_likelihood(self, beta: np.ndarray) -> float:
        u = np.clip(self.utility(beta), -500.0, 500.0)
        log_denominator = np.log1p(np.bincount(self.cell, weights=np.exp(u), minlength=self.n_cells))
        return float(self.taken @ u - self.buyers @ log_denominator)


def information(design: Design, beta: np.ndarray) -> np.ndarray:
    """Observed (= expected) information of the grouped logit:
    ``sum_cells buyers * (X' diag(P) X - (X'P)(X'P)')``."""
    p = design.probabilities(beta)
    weight = design.buyers[design.cell] * p
    info = (design.x * weight[:, None]).T @ design.x
    mean_x = np.zeros((design.n_cells, design.x.shape[1]))
    np.add.at(mean_x, design.cell, design.x * p[:, None])
    info -= (mean_x * design.buyers[:, None]).T @ mean_x
    return info


def null_log_likelihood(design: Design) -> float:
    """Log-likelihood of one common utility for every bundle of the segment (McFadden's null)."""
    x = design.x
    one = np.zeros(x.shape[1])

    def negative(c: float) -> float:
        one[0] = c
        return -design.log_likelihood(one)

    best = optimize.minimize_scalar(negative, bounds=(-30.0, 10.0), method="bounded", options={"xatol": 1e-9})
    return -float(best.fun)


def penalised_objective(design: Design, penalty: np.ndarray, base: np.ndarray, free: np.ndarray):
    """The penalised negative log-likelihood ``-LL + 0.5 theta' Q theta`` over the free entries
    of ``theta`` (the rest held at ``base``): returns ``objective(z) -> (value, gradient)``,
    ``hessian(z)`` and ``full(z) -> theta``. ``theta`` starts with the utility coefficients (the
    columns of ``design.x``); the prior's extra means follow."""
    n_u, n = design.x.shape[1], penalty.shape[0]

    def full(z: np.ndarray) -> np.ndarray:
        theta = base.copy()
        theta[free] = z
        return theta

    def objective(z: np.ndarray):
        theta = full(z)
        u = np.clip(design.utility(theta[:n_u]), -500.0, 500.0)
        e = np.exp(u)
        sums = np.bincount(design.cell, weights=e, minlength=design.n_cells)
        p = e / (1.0 + sums)[design.cell]
        ll = design.taken @ u - design.buyers @ np.log1p(sums)
        grad = np.zeros(n)
        grad[:n_u] = -(design.taken - design.buyers[design.cell] * p) @ design.x
        qt = penalty @ theta
        return float(-ll + 0.5 * theta @ qt), (grad + qt)[free]

    def hessian(z: np.ndarray) -> np.ndarray:
        h = penalty.copy()
        h[:n_u, :n_u] += information(design, full(z)[:n_u])
        return h[np.ix_(free, free)]

    return objective, hessian, full


def polish(objective, hessian, z: np.ndarray, tol: float) -> tuple[np.ndarray, float]:
    """One guarded Newton step if the optimiser stopped short; returns the point and the Newton
    decrement (the log-likelihood still to gain), which does not depend on the data's size."""
    grad = objective(z)[1]
    decrement = float(grad @ guarded_solve(hessian(z), grad))
    if decrement > tol:
        step = z - guarded_solve(hessian(z), grad)
        new_grad = objective(step)[1]
        new_decrement = float(new_grad @ guarded_solve(hessian(step), new_grad))
        if objective(step)[0] <= objective(z)[0]:
            return step, new_decrement
    return z, decrement
