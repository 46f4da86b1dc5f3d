"""Offer rules that tie the bundles of one offer to each other, as rows of the program.

Three rules, each off when its setting is ``None``:

- ``max_bundles_per_sku = m``: each SKU in at most ``m`` bundles: ``sum_{b holds i} z_b <= m``.
- ``max_shared_skus = s``: two bundles share at most ``s`` SKUs. Two SKU sets share more than
  ``s`` SKUs exactly when both hold a common ``(s + 1)``-subset, so one clique row per such
  subset, ``sum_{b holds T} z_b <= 1``, states every pairwise conflict with no pair rows.
- ``min_price_gap = g``: any two prices ``p1 <= p2`` with ``p2 - p1 < g p1`` conflict. The prices
  in ``[p, p (1 + g))`` conflict pairwise, and every conflicting pair lies in the window of its
  lower price, so one clique row per window (keeping only windows not inside the previous one)
  states the rule exactly.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

__all__ = ["OfferRules", "offer_rules_of"]


@dataclass(frozen=True)
class OfferRules:
    """The offer rules over a list of candidates.

    ``sku_sets``: (candidates, max_items) catalog indices of each candidate's SKUs, padded with -1;
    ``prices``: (candidates,) CNY. Each ``*_rows`` entry is an array of candidate positions whose
    ``z`` sum to at most the row's bound: ``per_sku_rows`` to ``max_bundles_per_sku``, the others to 1.
    """

    sku_sets: np.ndarray
    prices: np.ndarray
    max_bundles_per_sku: int | None
    max_shared_skus: int | None
    min_price_gap: float | None
    per_sku_rows: tuple[np.ndarray, ...]
    shared_rows: tuple[np.ndarray, ...]
    price_rows: tuple[np.ndarray, ...]
    incidence: np.ndarray  # (candidates, SKUs) 0/1, float32 for fast products

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.max_bundles_per_sku, self.max_shared_skus, self.min_price_gap))

    def subset(self, keep: np.ndarray) -> "OfferRules":
        """The same rules over the candidates at positions ``keep``."""
        keep = np.asarray(keep, dtype=np.int64)
        return offer_rules_of(self.sku_sets[keep], self.prices[keep], self.max_bundles_per_sku,
                              self.max_shared_skus, self.min_price_gap)

    def conflict(self, a: int, b: int) -> bool:
        """True when candidates ``a`` and ``b`` may not be offered together (pair rules only)."""
        if self.max_shared_skus is not None:
            common = set(self.sku_sets[a][self.sku_sets[a] >= 0]) & set(self.sku_sets[b][self.sku_sets[b] >= 0])
            if len(common) > self.max_shared_skus:
                return True
        if self.min_price_gap is not None:
            low, high = sorted((float(self.prices[a]), float(self.prices[b])))
            if high < low * (1.0 + self.min_price_gap):
                return True
        return False

    def allows(self, chosen) -> bool:
        """True when the offer ``chosen`` (candidate positions) keeps every rule."""
        chosen = list(chosen)
        if self.max_bundles_per_sku is not None and chosen:
            skus = self.sku_sets[chosen]
            counts = np.bincount(skus[skus >= 0])
            if counts.max(initial=0) > self.max_bundles_per_sku:
                return False
        return not any(self.conflict(a, b) for a, b in itertools.combinations(chosen, 2))

    def compatible_with(self, chosen) -> np.ndarray:
        """(candidates,) mask: the candidates that may join the offer ``chosen`` under every rule."""
        ok = np.ones(len(self.prices), dtype=bool)
        chosen = list(chosen)
        if not chosen:
            return ok
        held = self.incidence[chosen]
        if self.max_bundles_per_sku is not None:
            full = held.sum(axis=0) >= self.max_bundles_per_sku
            ok &= ~(self.incidence[:, full] > 0).any(axis=1)
        if self.max_shared_skus is not None:
            ok &= (self.incidence @ held.T <= self.max_shared_skus).all(axis=1)
        if self.min_price_gap is not None:
            p = self.prices[chosen][None, :]
            low, high = np.minimum(self.prices[:, None], p), np.maximum(self.prices[:, None], p)
            ok &= (high >= low * (1.0 + self.min_price_gap)).all(axis=1)
        return ok


def offer_rules_of(sku_sets: np.ndarray, prices: np.ndarray, max_bundles_per_sku: int | None,
                   max_shared_skus: int | None, min_price_gap: float | None) -> OfferRules:
    """The rules' rows over candidates with SKUs ``sku_sets`` (padded with -1) at ``prices`` (CNY)."""
    sku_sets = np.asarray(sku_sets)
    prices = np.asarray(prices, dtype=float)
    per_sku: list[np.ndarray] = []
    shared: list[np.ndarray] = []
    price_rows: list[np.ndarray] = []
    if max_bundles_per_sku is not None and len(sku_sets):
        for sku in np.unique(sku_sets[sku_sets >= 0]):
            holders = np.flatnonzero((sku_sets == sku).any(axis=1))
            if len(holders) > max_bundles_per_sku:
                per_sku.append(holders)
    if max_shared_skus is not None:
        shared = _shared_cliques(sku_sets, max_shared_skus + 1)
    if min_price_gap is not None and len(prices):
        price_rows = _price_cliques(prices, min_price_gap)
    n_skus = int(sku_sets.max()) + 1 if sku_sets.size and sku_sets.max() >= 0 else 0
    incidence = np.zeros((len(sku_sets), n_skus), dtype=np.float32)
    rows, cols = np.nonzero(sku_sets >= 0)
    incidence[rows, sku_sets[rows, cols]] = 1.0
    return OfferRules(sku_sets, prices, max_bundles_per_sku, max_shared_skus, min_price_gap,
                      tuple(per_sku), tuple(shared), tuple(price_rows), incidence)


def _shared_cliques(sku_sets: np.ndarray, size: int) -> list[np.ndarray]:
    """One row per ``size``-subset of SKUs held by candidates of at least two SKU sets: the
    candidates holding it, ascending. Subsets are listed per distinct SKU set, in arrays (the
    shipped 37,808 candidates: 9,476 sets, 0.10 s in Python loops)."""
    if not len(sku_sets) or size > sku_sets.shape[1]:
        return []
    rows = np.sort(sku_sets, axis=1)  # padding (-1) first, SKUs ascending
    distinct, which = _distinct_rows(rows)
    subsets = np.concatenate([distinct[:, list(cols)] for cols in itertools.combinations(range(rows.shape[1]), size)])
    owner = np.tile(np.arange(len(distinct)), len(subsets) // max(len(distinct), 1))
    held = (subsets >= 0).all(axis=1)
    subsets, owner = subsets[held], owner[held]
    if not len(subsets):
        return []
    _, subset_id = _distinct_rows(subsets)
    counts = np.bincount(subset_id)
    shared = counts[subset_id] >= 2
    subset_id, owner = subset_id[shared], owner[shared]
    if not len(owner):
        return []
    # Each (subset, owning set) pair expands to the candidates of that set.
    by_set = np.argsort(which, kind="stable")
    first = np.searchsorted(which[by_set], np.arange(len(distinct) + 1))
    size_of = first[owner + 1] - first[owner]
    row_of = np.repeat(subset_id, size_of)
    offsets = np.arange(int(size_of.sum())) - np.repeat(np.cumsum(size_of) - size_of, size_of)
    member = by_set[np.repeat(first[owner], size_of) + offsets]
    order = np.lexsort((member, row_of))
    row_of, member = row_of[order], member[order]
    return np.split(member, np.flatnonzero(np.diff(row_of)) + 1)


def _distinct_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of a small-integer matrix (values >= -1) and each row's index among them,
    through one integer key per row when it fits in 63 bits (``np.unique(axis=0)`` sorts rows
    lexicographically, several times slower)."""
    base = int(rows.max(initial=0)) + 2
    if rows.shape[1] * np.log2(base) >= 62:
        distinct, which = np.unique(rows, axis=0, return_inverse=True)
        return distinct, which.ravel()
    key = np.zeros(len(rows), dtype=np.int64)
    for j in range(rows.shape[1]):
        key = key * base + (rows[:, j].astype(np.int64) + 1)
    _, first, which = np.unique(key, return_index=True, return_inverse=True)
    return rows[first], which.ravel()


def _price_cliques(prices: np.ndarray, gap: float) -> list[np.ndarray]:
    """Maximal windows ``[p, p (1 + g))`` of sorted prices holding at least two candidates."""
    order = np.argsort(prices, kind="stable")
    sorted_prices = prices[order]
    ends = np.searchsorted(sorted_prices, sorted_prices * (1.0 + gap), side="left")
    rows, last_end = [], 0
    for start, end in enumerate(ends):
        if end - start >= 2 and end > last_end:
            rows.append(order[start:end])
            last_end = end
    return rows
