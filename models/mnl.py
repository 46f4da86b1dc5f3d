"""Choice maths of the logit mixture: probabilities, attach rate, margin and elasticities.

All functions are vectorised. Orientation: rows are the bundles of one offer, columns are
segments; a leading axis, where present, runs over offers.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "choice_probabilities",
    "attach_rate",
    "attach_by_segment",
    "margin_per_buyer",
    "own_price_elasticity",
    "cross_price_elasticity",
    "weight_by_takers",
]


def choice_probabilities(attraction: np.ndarray) -> np.ndarray:
    """``P_s(b | A) = exp(u_s(b)) / (1 + sum_{a in A} exp(u_s(a)))``.

    Parameters
    ----------
    attraction : (..., bundles, segments) array of ``exp(u)``, the bundles offered together.

    Returns
    -------
    (..., bundles, segments) array of take probabilities (share of the segment's buyers).
    """
    attraction = np.asarray(attraction, dtype=float)
    return attraction / (1.0 + attraction.sum(axis=-2, keepdims=True))


def attach_by_segment(probabilities: np.ndarray) -> np.ndarray:
    """Share of each segment's buyers who take some bundle: shape (..., segments)."""
    return np.asarray(probabilities).sum(axis=-2)


def attach_rate(probabilities: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """Share of all car buyers who take a bundle: ``sum_s w_s sum_b P_s(b)``."""
    return attach_by_segment(probabilities) @ np.asarray(shares, dtype=float)


def margin_per_buyer(probabilities: np.ndarray, shares: np.ndarray, margins: np.ndarray) -> np.ndarray:
    """Expected incremental margin per car buyer (CNY): ``sum_s w_s sum_b P_s(b) m(b)``.

    ``margins`` has shape (..., bundles): the incremental margin of one sale, CNY.
    """
    probabilities = np.asarray(probabilities, dtype=float)
    per_segment = np.einsum("...bs,...b->...s", probabilities, np.asarray(margins, dtype=float))
    return per_segment @ np.asarray(shares, dtype=float)


def own_price_elasticity(probabilities: np.ndarray, prices: np.ndarray, price_coefs: np.ndarray) -> np.ndarray:
    """``-price_coef_s * p_b * (1 - P_s(b))`` for each bundle and segment: shape (bundles, segments)."""
    probabilities = np.asarray(probabilities, dtype=float)
    return -np.outer(np.asarray(prices, float), np.asarray(price_coefs, float)) * (1.0 - probabilities)


def cross_price_elasticity(probabilities: np.ndarray, prices: np.ndarray, price_coefs: np.ndarray) -> np.ndarray:
    """Elasticity of bundle ``b``'s take rate to bundle ``a``'s price: ``price_coef_s * p_a * P_s(a)``.

    Returns an array of shape (bundles b, bundles a, segments); the diagonal holds the own-price
    elasticity, so the matrix reads as a full elasticity table.
    """
    probabilities = np.asarray(probabilities, dtype=float)
    prices = np.asarray(prices, float)
    price_coefs = np.asarray(price_coefs, float)
    n = probabilities.shape[0]
    cross = np.broadcast_to(
        (prices[:, None] * price_coefs[None, :] * probabilities)[None, :, :], (n, n, probabilities.shape[1])
    ).copy()
    own = own_price_elasticity(probabilities, prices, price_coefs)
    idx = np.arange(n)
    cross[idx, idx, :] = own
    return cross


def weight_by_takers(per_segment: np.ndarray, probabilities: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """Average a per-segment figure over segments, weighted by each segment's takers of the bundle.

    ``per_segment`` has shape (bundles, segments) or (bundles, bundles, segments); the weight of
    segment ``s`` for bundle ``b`` is ``w_s P_s(b)``. A bundle nobody takes gets the plain
    share-weighted average.
    """
    probabilities = np.asarray(probabilities, dtype=float)
    shares = np.asarray(shares, dtype=float)
    takers = probabilities * shares[None, :]
    totals = takers.sum(axis=1, keepdims=True)
    weights = np.where(totals > 0, takers / np.where(totals > 0, totals, 1.0), shares[None, :])
    per_segment = np.asarray(per_segment, dtype=float)
    if per_segment.ndim == 2:
        return (per_segment * weights).sum(axis=1)
    return (per_segment * weights[:, None, :]).sum(axis=2)
