"""Safe pruning under the price gap alone: whole dominating SKU sets as units.

With no SKU rule, a bundle ``b`` of the rest of an offer blocks a dominator ``d`` of ``c`` only
by holding ``d``'s SKU set or by a price within ``g`` of ``d``'s (``docs/formulation.md`` 7.1,
items 1 and 4). So every SKU set holding a dominator of ``c`` is a unit: ``K - 1`` bundles block
at most ``K - 1`` of them by their sets, and by price only units whose every dominator price lies
in their windows. Bin the log price ratio to ``c``'s in bins of width ``2 ln(1 + g)`` on each side
of 0: a window (open, that wide, never holding ``c``'s price) meets at most two bins, so the
windows cover at most the ``2 (K - 1)`` fullest bins of the units' representatives (the lowest
dominator price of each set); a unit with a dominator at exactly ``c``'s price is never covered.
``c`` goes once its units outnumber ``K - 1`` plus that.

The dominating sets are searched as in :func:`pricing.optimizer.pruning.dominated`: reference
sets in blocks, best score first, until ``patience`` blocks in a row prune nothing.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from pricing.optimizer.pruning import PairTest, _reference_sets

__all__ = ["price_gap_dominated"]


def price_gap_dominated(attraction: np.ndarray, margin: np.ndarray, set_id: np.ndarray, pin_mask: np.ndarray,
                        price: np.ndarray, shares: np.ndarray, max_bundles: int, min_price_gap: float, *,
                        objective: str = "margin",
                        may_replace: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
                        block: int = 8, patience: int = 40, chunk_cells: int = 262_144) -> np.ndarray:
    """(candidates,) mask of candidates some optimal offer under the price gap does without.

    Parameters are those of :func:`pricing.optimizer.rule_pruning.rule_dominated`;
    ``min_price_gap`` is ``g`` (share of the lower price), ``block``, ``patience`` and
    ``chunk_cells`` trade time for pruning as in :func:`pricing.optimizer.pruning.dominated`.
    """
    n = len(margin)
    pruned = np.zeros(n, dtype=bool)
    rest = max_bundles - 1
    if n == 0 or rest < 0:
        return pruned
    test = PairTest(attraction, margin, set_id, pin_mask, max_bundles, shares, objective, may_replace, chunk_cells)
    score = (test.value_at_bound if objective == "margin" else attraction) @ test.shares
    width = 2.0 * math.log1p(min_price_gap) + 1e-9  # a conflict window, rounding included, meets <= 2 bins
    log_price = np.log(price)
    offset = int(math.ceil((log_price.max() - log_price.min()) / width)) + 1
    units = np.zeros(n, dtype=np.int64)
    bins = np.zeros((n, 2 * offset + 1), dtype=np.int32)
    order, by_set, starts = _reference_sets(score, set_id, 20_000)
    alive, idle = np.arange(n), 0
    for first in range(0, len(order), block):
        refs = [by_set[starts[g]:starts[g + 1]] for g in order[first:first + block]]
        ref_row = np.repeat(np.arange(len(refs)), [len(r) for r in refs])
        ref_idx = np.concatenate(refs)
        for rows, cols in test.pairs(ref_idx, alive):
            _count_units(units, bins, ref_row[rows], alive[cols], ref_idx[rows], price, width, offset, len(refs))
        # Blocked at most: one set per bundle, plus the 2 (K - 1) fullest bins by price.
        covered = np.sort(bins[alive], axis=1)[:, bins.shape[1] - 2 * rest:].sum(axis=1) if rest else 0
        newly = units[alive] > rest + covered
        pruned[alive[newly]] = True
        alive = alive[~newly]
        idle = 0 if newly.any() else idle + 1
        if len(alive) == 0 or idle >= patience:
            break
    return pruned


def _count_units(units: np.ndarray, bins: np.ndarray, ref_set: np.ndarray, c: np.ndarray, d: np.ndarray,
                 price: np.ndarray, width: float, offset: int, n_refs: int) -> None:
    """Add the (reference set, candidate) units of dominating pairs ``(d, c)``: one unit each, its
    representative (the lowest dominator price) binned unless some dominator has ``c``'s price."""
    if not len(c):
        return
    key = c.astype(np.int64) * n_refs + ref_set
    order = np.argsort(key, kind="stable")
    key, c, d = key[order], c[order], d[order]
    starts = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]]))
    ratio = np.log(price[d] / price[c])
    same = np.maximum.reduceat((price[d] == price[c]).astype(np.int8), starts) > 0
    low = np.minimum.reduceat(ratio, starts)
    owner = c[starts]
    np.add.at(units, owner, 1)
    exposed = ~same
    # Bins [k w, (k + 1) w) right of 0 and mirrored left of it: a window meets at most two.
    index = np.where(low > 0, np.floor(low / width), -1.0 - np.floor(-low / width)).astype(np.int64) + offset
    np.add.at(bins, (owner[exposed], index[exposed]), 1)
