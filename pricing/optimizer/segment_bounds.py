"""Bounds on what an offer can yield, segment by segment, with no solver.

``segment_margin_bounds``: the most margin per buyer each segment can give over offers of at
most ``K`` bundles (Dinkelbach's identity, bisection); ``offer_bounds``: the same for the rest of
an offer once one bundle is set aside, plus its most odds. The pruning's worst cases rest on them
(:mod:`pricing.optimizer.pruning`), and so does the bound a run out of time reports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["OfferBounds", "SetGroups", "offer_bounds", "segment_margin_bounds", "per_set_max"]


def per_set_max(values: np.ndarray, set_id: np.ndarray, n_sets: int, groups: "SetGroups | None" = None) -> np.ndarray:
    """Largest value of each set's candidates (``-inf`` for a set with none): shape (n_sets,).

    ``groups`` (from :meth:`SetGroups.of`) saves the grouping when called many times on one
    ``set_id``."""
    groups = groups if groups is not None else SetGroups.of(set_id)
    out = np.full(n_sets, -np.inf)
    if len(groups.starts):
        ordered = values if groups.order is None else values[groups.order]
        out[groups.present] = np.maximum.reduceat(ordered, groups.starts)
    return out


@dataclass(frozen=True)
class SetGroups:
    """Candidates grouped by set: ``order`` (``None`` when ``set_id`` is already sorted), and for
    each set present, its id and the start of its run in that order."""

    order: np.ndarray | None
    present: np.ndarray
    starts: np.ndarray

    @classmethod
    def of(cls, set_id: np.ndarray) -> "SetGroups":
        set_id = np.asarray(set_id)
        order = None
        if len(set_id) > 1 and (set_id[1:] < set_id[:-1]).any():
            order = np.argsort(set_id, kind="stable")
            set_id = set_id[order]
        if len(set_id) == 0:
            return cls(order, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
        starts = np.flatnonzero(np.concatenate([[True], set_id[1:] != set_id[:-1]]))
        return cls(order, set_id[starts], starts)


def segment_margin_bounds(
    attraction: np.ndarray, margin: np.ndarray, set_id: np.ndarray, n_sets: int, max_bundles: int, *, iterations: int = 60
) -> np.ndarray:
    """Upper bound on the margin per buyer (CNY) each segment can give, over offers of at most
    ``max_bundles`` bundles of distinct sets, ignoring every other rule and the other segments.

    For one segment, an offer yields at least ``r`` iff ``sum_b v_b (m_b - r) >= r``
    (Dinkelbach's identity), and the best left side is the sum of the ``K`` largest positive
    per-set maxima of ``v (m - r)``; bisection on ``r`` finds the single-segment optimum.

    Returns
    -------
    (segments,) array, CNY per car buyer.
    """
    n_segments = attraction.shape[1]
    bounds = np.zeros(n_segments)
    if len(margin) == 0 or max_bundles <= 0:
        return bounds
    k = min(max_bundles, n_sets)
    groups = SetGroups.of(set_id)
    order = groups.order if groups.order is not None else np.arange(len(margin))
    by_set, margin_by_set = set_id[order], margin[order]
    for s in range(n_segments):
        v = attraction[:, s]

        def exact_total(r: float, v=v) -> float:
            """The sum as first written (all sets, partition order): decides near-ties, so that
            the bound is the same to the last bit whatever the shortcut."""
            best = per_set_max(v * (margin - r), set_id, n_sets, groups)
            top = np.partition(best, n_sets - k)[n_sets - k:] if k < n_sets else best
            return float(np.clip(top, 0.0, None).sum())

        bounds[s] = _single_segment_bound(v[order], margin_by_set, by_set, k, iterations, exact_total)
    return bounds


def _top_sum(values: np.ndarray, set_id: np.ndarray, k: int) -> tuple[float, float]:
    """Sum of the ``k`` largest positive per-set maxima of ``values`` (candidates sorted by set),
    added largest first, and the ``k``-th largest maximum (``-inf`` with fewer than ``k`` sets)."""
    if len(values) == 0:
        return 0.0, -np.inf
    starts = np.flatnonzero(np.concatenate([[True], set_id[1:] != set_id[:-1]]))
    best = np.maximum.reduceat(values, starts)
    if len(best) > k:
        best = np.partition(best, len(best) - k)[len(best) - k:]
    kth = float(best.min()) if len(best) >= k else -np.inf
    return float(np.sort(np.clip(best, 0.0, None))[::-1].sum()), kth


def _single_segment_bound(v: np.ndarray, margin: np.ndarray, set_id: np.ndarray, k: int, iterations: int,
                          exact_total) -> float:
    """Bisection of :func:`segment_margin_bounds` for one segment (candidates sorted by set).

    Only candidates that can still be among a set maximum in the top ``k`` are kept: at any
    ``r`` in ``[lo, hi]`` a candidate's value ``v (m - r)`` is at most its value at ``lo``, and
    the ``k``-th largest set maximum is at least its value at ``hi`` (both monotone, also in
    floating point), so a candidate below that line at ``lo`` never counts again. The sum of
    the top values is added in another order than ``exact_total``'s, so where the two could round
    to different sides of ``r`` the decision is ``exact_total``'s.
    """
    lo, hi = 0.0, max(float(margin.max()), 0.0)
    exact: dict[float, float] = {}
    for _ in range(iterations):
        r = 0.5 * (lo + hi)
        total, _ = _top_sum(v * (margin - r), set_id, k)
        # Two orders of adding k non-negative terms differ by under 2 (k - 1) ulps of the total.
        if abs(total - r) <= 1e-15 * (k + 1) * max(abs(total), abs(r)):
            if r not in exact:
                exact[r] = exact_total(r)
            total = exact[r]
        if total >= r:
            lo = r
        else:
            hi = r
        _, kth_at_high = _top_sum(v * (margin - hi), set_id, k)
        live = v * (margin - lo) >= kth_at_high
        if not live.all():
            v, margin, set_id = v[live], margin[live], set_id[live]
    return hi


@dataclass(frozen=True)
class OfferBounds:
    """What the other bundles of an offer (at most ``K - 1``) can amount to, per segment.

    ``margin``: most margin per buyer they can yield (CNY); ``odds``: most ``1 + sum v``.
    """

    margin: np.ndarray
    odds: np.ndarray


def offer_bounds(attraction: np.ndarray, margin: np.ndarray, set_id: np.ndarray, max_bundles: int) -> OfferBounds:
    """Bounds on the rest of an offer once one bundle is set aside: ``K - 1`` other sets."""
    n_sets = int(set_id.max()) + 1 if len(set_id) else 0
    rest = max(max_bundles - 1, 0)
    n_seg = attraction.shape[1]
    odds = np.ones(n_seg)
    if rest and n_sets:
        groups = SetGroups.of(set_id)
        for s in range(n_seg):
            best = per_set_max(attraction[:, s], set_id, n_sets, groups)
            best = np.sort(best[np.isfinite(best)])[::-1][:rest]  # sets with no candidate left are -inf
            odds[s] += best.sum()
    return OfferBounds(segment_margin_bounds(attraction, margin, set_id, n_sets, rest), odds)
