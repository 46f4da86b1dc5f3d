"""Safe pruning under the offer rules: dominators that no rest of the offer can all block.

The plain pruning (:mod:`pricing.optimizer.pruning`) swaps a candidate ``c`` for a dominator
``d`` and needs only that ``d``'s SKU set is free. Under the offer rules (SKU use, shared SKUs,
price gap) the rest ``R`` of the offer may also block ``d``. This module prunes ``c`` only when
its dominators are spread so widely that no rest of at most ``K - 1`` bundles, feasible together
with ``c``, can block them all (``docs/formulation.md`` section 7.1 proves it):

- A *unit* of ``c`` is a SKU ``x`` outside ``c`` such that some dominator's SKU set is ``c``'s
  with one SKU replaced by ``x`` or ``x`` added (new SKUs ``{x}``), or ``c``'s own set at
  another price (no new SKU). Units are disjoint in their new SKUs.
- Through the SKU rules one bundle ``b`` of the rest blocks at most
  :func:`blocking_capacity` units: each blocked unit uses up at least ``q`` of ``b``'s SKUs
  outside ``c``, ``q`` depending on how many SKUs ``b`` shares with ``c``.
- Through the price gap each bundle's price window (which never holds ``c``'s price) covers at
  most the largest number of units' representative prices that fit in one window; a
  dominator at exactly ``c``'s price is never blocked by price.

``c`` is dropped when its units outnumber what ``K - 1`` bundles can block. Repeated swaps
strictly raise ``(margin, -index)`` and keep every rule, so some optimal offer holds no dropped
candidate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from pricing.optimizer.price_gap_pruning import price_gap_dominated
from pricing.optimizer.pruning import margin_swap_gains
from pricing.optimizer.segment_bounds import offer_bounds

__all__ = ["RuleLimits", "blocking_capacity", "neighbour_sets", "rule_dominated"]

# Candidate pairs tested at once (memory: a few arrays of this many float64).
_CHUNK_PAIRS = 1_000_000
# Slack on log-price windows, far above float rounding of ln(p) and far below a ladder step.
_LOG_SLACK = 1e-7


@dataclass(frozen=True)
class RuleLimits:
    """The offer rules as the pruning needs them (``None``: rule off)."""

    max_bundles: int
    max_items: int
    max_bundles_per_sku: int | None
    max_shared_skus: int | None
    min_price_gap: float | None


def blocking_capacity(limits: RuleLimits) -> float:
    """Most units one bundle ``b`` can block through the SKU rules (same set, shared SKUs, SKU use).

    With ``k = |b ∩ c|`` (at most ``s`` when the shared-SKU rule is on) ``b`` has at most
    ``max_items - k`` SKUs outside ``c``. A unit it blocks by sharing needs ``max(1, s + 1 - k)``
    of them, a unit blocked by SKU use needs its SKU in ``m`` bundles, and one blocked by equal
    sets all of them; so ``b`` accounts for at most ``(max_items - k) / min(those)`` units,
    at least 1 (its own set).
    """
    s, m, items = limits.max_shared_skus, limits.max_bundles_per_sku, limits.max_items
    top_k = min(s, items - 1) if s is not None else items - 1
    best = 1.0
    for k in range(max(top_k, 0) + 1):
        outside = items - k
        needs = [float(outside)]
        if s is not None:
            needs.append(1.0 if k >= s else float(s + 1 - k))
        if m is not None:
            needs.append(float(m))
        best = max(best, outside / min(needs))
    return best


def _set_keys(rows: np.ndarray, n_skus: int) -> np.ndarray:
    """One int64 per SKU set (rows of catalog indices padded with -1, any order within a row)."""
    filled = np.where(rows >= 0, rows, n_skus)
    filled = np.sort(filled, axis=-1)
    base = n_skus + 1
    key = np.zeros(filled.shape[:-1], dtype=np.int64)
    for k in range(filled.shape[-1]):
        key = key * base + filled[..., k]
    return key


def neighbour_sets(members: np.ndarray, n_skus: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Pairs of SKU sets ``(g, h)`` with ``h`` = ``g`` with one SKU replaced by ``x`` or ``x``
    added (``x`` not in ``g``), and ``(g, g)`` with ``x = -1``.

    Returns ``(g, h, x)`` arrays, or ``None`` when the sets cannot be keyed in 63 bits (then the
    caller prunes nothing).
    """
    n_sets, width = members.shape
    if n_sets == 0 or width * math.log2(n_skus + 1) > 62:
        return None
    keys = _set_keys(members, n_skus)
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    holds = np.zeros((n_sets, n_skus), dtype=bool)
    rows, cols = np.nonzero(members >= 0)
    holds[rows, members[rows, cols]] = True
    g_all, h_all, x_all = [np.arange(n_sets)], [np.arange(n_sets)], [np.full(n_sets, -1)]
    for x in range(n_skus):
        outside = np.flatnonzero(~holds[:, x])
        for slot in range(width):
            changed = members[outside].copy()
            changed[:, slot] = x
            key = _set_keys(changed, n_skus)
            at = np.minimum(np.searchsorted(sorted_keys, key), n_sets - 1)
            found = sorted_keys[at] == key
            g_all.append(outside[found])
            h_all.append(order[at[found]])
            x_all.append(np.full(int(found.sum()), x))
    g, h, x = (np.concatenate(a) for a in (g_all, h_all, x_all))
    unique = np.unique(np.stack([g, h, x]), axis=1)  # several padding slots give the same growth
    return unique[0], unique[1], unique[2]


def _candidate_pairs(g: np.ndarray, h: np.ndarray, by_set: np.ndarray, starts: np.ndarray):
    """Every (candidate of ``g``, candidate of ``h``) pair of the set pairs, with the pair's row."""
    n_g, n_h = starts[g + 1] - starts[g], starts[h + 1] - starts[h]
    count = n_g * n_h
    row = np.repeat(np.arange(len(g)), count)
    local = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    c = by_set[starts[g][row] + local // n_h[row]]
    d = by_set[starts[h][row] + local % n_h[row]]
    return c, d, row


def rule_dominated(attraction: np.ndarray, margin: np.ndarray, set_id: np.ndarray, members: np.ndarray,
                   pin_mask: np.ndarray, price: np.ndarray, shares: np.ndarray, limits: RuleLimits, *,
                   objective: str = "margin",
                   may_replace: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """(candidates,) mask: candidates that some optimal offer under the offer rules does without.

    Parameters
    ----------
    attraction : (candidates, segments) ``exp(u)``.
    margin : (candidates,) per-sale weight of the objective (CNY for the margin).
    set_id : (candidates,) SKU set of each candidate; ``members`` (sets, max_items) its SKUs.
    pin_mask : (sets,) bit mask of the pinned SKUs of each set.
    price : (candidates,) CNY.
    shares : (segments,) segment shares.
    limits : K, the bundle size and the offer rules.
    objective : ``"margin"`` (strict gain whatever the rest of the offer) or ``"attach"``
        (attraction only, as for the highest reachable attach rate).
    may_replace : optional ``f(d, c) -> (pairs,) mask``: goals and draws the swap must keep
        (:func:`pricing.optimizer.swap_safety.swap_condition` with ``pairwise=True``).
    """
    n = len(margin)
    gap_only = limits.max_bundles_per_sku is None and limits.max_shared_skus is None and bool(limits.min_price_gap)
    extra = price_gap_dominated(attraction, margin, set_id, pin_mask, price, shares, limits.max_bundles,
                                float(limits.min_price_gap), objective=objective, may_replace=may_replace) \
        if gap_only and n else np.zeros(n, dtype=bool)
    n_skus = int(members.max()) + 1 if members.size and members.max() >= 0 else 0
    pairs = neighbour_sets(members, n_skus) if n else None
    if pairs is None:
        return extra
    g, h, x = pairs
    by_set = np.argsort(set_id, kind="stable")
    starts = np.searchsorted(set_id[by_set], np.arange(members.shape[0] + 1))
    test = _pair_test(attraction, margin, set_id, pin_mask, shares, limits.max_bundles, objective, may_replace)
    units = _Units(n, n_skus)
    done = np.concatenate([[0], np.cumsum((starts[g + 1] - starts[g]) * (starts[h + 1] - starts[h]))])
    lo = 0
    while lo < len(g):
        hi = max(int(np.searchsorted(done, done[lo] + _CHUNK_PAIRS, side="right")) - 1, lo + 1)
        c, d, row = _candidate_pairs(g[lo:hi], h[lo:hi], by_set, starts)
        hit = test(d, c)
        units.add(c[hit], x[lo:hi][row[hit]], price[d[hit]] == price[c[hit]], np.log(price[d[hit]] / price[c[hit]]))
        lo = hi
    # Each test is exact alone, candidate by candidate, so either one may drop a candidate.
    return units.prunable(limits) | extra


def _pair_test(attraction, margin, set_id, pin_mask, shares, max_bundles, objective, may_replace):
    """``f(d, c) -> mask``: ``d`` dominates ``c`` (the plain pruning's test) and may replace it."""
    pins = pin_mask[set_id]
    if objective == "margin":
        bounds = offer_bounds(attraction, margin, set_id, max_bundles)
        value_at_bound = attraction * (margin[:, None] - bounds.margin[None, :])

    def test(d: np.ndarray, c: np.ndarray) -> np.ndarray:
        ok = (pins[d] & pins[c]) == pins[c]
        ok &= (attraction[d] >= attraction[c]).all(axis=1)
        if objective == "margin":
            ok[ok] = margin_swap_gains(d[ok], c[ok], attraction, margin, value_at_bound, bounds, shares)
        else:
            ok &= (attraction[d] > attraction[c]).any(axis=1) | (d < c)
        if may_replace is not None and ok.any():
            ok[ok] = may_replace(d[ok], c[ok])
        return ok & (d != c)

    return test


class _Units:
    """Per candidate and unit (column ``x + 1``; column 0 is the candidate's own set): whether a
    dominator exists, whether one sits at the candidate's own price, and the log price ratios of
    the lowest and highest-priced dominators."""

    def __init__(self, n: int, n_skus: int):
        self.present = np.zeros((n, n_skus + 1), dtype=bool)
        self.same_price = np.zeros((n, n_skus + 1), dtype=bool)
        self.low = np.full((n, n_skus + 1), np.inf)
        self.high = np.full((n, n_skus + 1), -np.inf)

    def add(self, c: np.ndarray, x: np.ndarray, same_price: np.ndarray, log_ratio: np.ndarray) -> None:
        col = x + 1
        self.present[c, col] = True
        np.logical_or.at(self.same_price, (c, col), same_price)
        np.minimum.at(self.low, (c, col), log_ratio)
        np.maximum.at(self.high, (c, col), log_ratio)

    def prunable(self, limits: RuleLimits) -> np.ndarray:
        """Candidates whose units outnumber what ``K - 1`` bundles can block (section 7.1)."""
        rest = max(limits.max_bundles - 1, 0)
        n_units = self.present.sum(axis=1)
        sku_blocked = math.floor(rest * blocking_capacity(limits) + 1e-9)
        price_blocked = np.zeros(len(n_units), dtype=np.int64)
        if limits.min_price_gap and rest:
            width = 2.0 * math.log1p(limits.min_price_gap) + _LOG_SLACK
            exposed = self.present & ~self.same_price
            # Any representative price per unit gives a valid bound: keep the smaller of two.
            price_blocked = np.minimum(_window_cover(self.low, exposed, width, rest),
                                       _window_cover(self.high, exposed, width, rest))
        return n_units > sku_blocked + price_blocked


def _window_cover(log_ratio: np.ndarray, exposed: np.ndarray, width: float, windows: int) -> np.ndarray:
    """(candidates,) most exposed units whose representative (``log_ratio``, log of price over the
    candidate's) ``windows`` price windows of log-width ``width`` can cover, none holding 0.

    Exact for the representatives, by dynamic programming over them sorted: a best placement
    starts each window at a representative, and a window never spans 0 (it would hold the
    candidate's price, which every bundle of the rest is compatible with).
    """
    values = np.sort(np.where(exposed, log_ratio, np.inf), axis=1)
    out = np.zeros(len(values), dtype=np.int64)
    for lo in range(0, len(values), 4096):  # (rows, units, units) comparisons, a block at a time
        block = values[lo:lo + 4096]
        n_rows, n = block.shape
        end = np.where(block < 0, np.minimum(block + width, 0.0), block + width)
        after = (block[:, None, :] < end[:, :, None]).sum(axis=2)  # first point past each window
        after = np.where(np.isfinite(block), after, np.arange(n)[None, :])
        best = np.zeros((windows + 1, n_rows, n + 1), dtype=np.int64)
        rows = np.arange(n_rows)
        for i in range(n - 1, -1, -1):
            for j in range(1, windows + 1):
                take = after[:, i] - i + best[j - 1, rows, after[:, i]]
                best[j, :, i] = np.maximum(best[j, :, i + 1], take)
        out[lo:lo + 4096] = best[windows, :, 0]
    return out
