"""Ordering rows for the MILP from the dominance test of :mod:`pricing.optimizer.pruning`.

Pruning drops a candidate once dominators in ``K`` distinct SKU sets are found. A single
dominator of another set already says something: no optimal offer holds the candidate without
some candidate of that set, a row ``z_c <= sum_{e in set of d} z_e``. On families of near-copies
(the same attraction at several prices, as in the hard RS2 instances) these rows chain the copies
by price and leave the branch-and-bound a handful of nodes.

They rest on the same swap as pruning, so they are valid exactly where pruning is: any offer
rule that can forbid swapping ``c`` for ``d`` (a rule on how often a SKU is offered, on shared
SKUs or on price gaps) must switch them off, as it restricts pruning.
"""

from __future__ import annotations

import numpy as np

from pricing.optimizer.pruning import _dominates_margin
from pricing.optimizer.segment_bounds import offer_bounds

__all__ = ["dominance_pairs"]


def dominance_pairs(attraction: np.ndarray, margin: np.ndarray, set_id: np.ndarray, pins: np.ndarray,
                    max_bundles: int, shares: np.ndarray, *, per_candidate: int = 2,
                    chunk_cells: int = 4_000_000) -> np.ndarray:
    """(dominated, dominator) pairs of candidates of different SKU sets for the rows
    ``z_c <= sum of z over the dominator's set`` (margin objective).

    Every optimal offer satisfies them: an offer holding ``c`` but no candidate of ``d``'s set
    can swap ``c`` for ``d`` (same count of bundles, ``d`` holds ``c``'s pins, no segment's attach
    falls) and gains margin whatever the rest of the offer, or, for identical twins, ends at an
    optimum of lower index sum. The candidates given must include every candidate of any optimal
    offer (after safe pruning they do); the bounds on the rest of the offer are taken over them.
    Only the ``per_candidate`` dominators of lowest score (value at the bound) are kept per
    candidate: the rows then chain, and each dominated candidate costs few rows.

    Returns
    -------
    (pairs, 2) int array.
    """
    n = len(margin)
    if n == 0 or per_candidate <= 0:
        return np.zeros((0, 2), dtype=np.int64)
    shares = np.asarray(shares, dtype=float)
    bounds = offer_bounds(attraction, margin, set_id, max_bundles)
    value_at_bound = attraction * (margin[:, None] - bounds.margin[None, :])
    score = value_at_bound @ shares
    everyone = np.arange(n)
    out = []
    step = max(1, chunk_cells // max(1, n))
    for lo in range(0, n, step):
        part = everyone[lo:lo + step]
        hit = _dominates_margin(everyone, part, attraction, margin, value_at_bound, bounds, shares)
        hit &= set_id[:, None] != set_id[part][None, :]
        hit &= (pins[:, None] & pins[part][None, :]) == pins[part][None, :]
        ranked = np.where(hit, score[:, None], np.inf)
        take = min(per_candidate, n)
        best = np.argpartition(ranked, take - 1, axis=0)[:take] if take < n else np.argsort(ranked, axis=0)
        for row in best[:take]:
            ok = np.isfinite(ranked[row, np.arange(len(part))])
            out.append(np.stack([part[ok], row[ok]], axis=1))
    return np.concatenate(out) if out else np.zeros((0, 2), dtype=np.int64)
