"""Safe reductions of the candidate space: dominance that cannot remove an optimum.

The argument (``docs/formulation.md`` gives it in full): take any offer holding candidate ``c``
and swap ``c`` for candidate ``d`` of another SKU set not already in the offer. If ``d`` is at
least as attractive as ``c`` in every segment, no segment's attach rate falls. If, in addition,
the share-weighted change of margin is positive for *every* possible rest of the offer, the swap
strictly raises the objective. Then ``c`` is in no optimal offer as soon as such dominators
``d`` span at least ``K`` distinct SKU sets, because an offer of at most ``K`` bundles leaves
one of those sets free.

The margin change in segment ``s`` when the rest of the offer has margin ``N`` and odds
``D = 1 + sum v`` (so it yields ``R = N / D`` per buyer) is::

    [D (v_d (m_d - R) - v_c (m_c - R)) + v_d v_c (m_d - m_c)] / ((D + v_d)(D + v_c))

It falls as ``R`` grows (``v_d >= v_c``), so the worst case is ``R = R_s``, the most any offer
yields in segment ``s``; its numerator is linear in ``D``, which lies in ``[1, D_s]``. Both
bounds come from :func:`offer_bounds`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["OfferBounds", "offer_bounds", "segment_margin_bounds", "dominated", "per_set_max"]


def per_set_max(values: np.ndarray, set_id: np.ndarray, n_sets: int) -> np.ndarray:
    """Largest value of each set's candidates (``-inf`` for a set with none): shape (n_sets,)."""
    out = np.full(n_sets, -np.inf)
    np.maximum.at(out, set_id, values)
    return out


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
    for s in range(n_segments):
        v = attraction[:, s]
        lo, hi = 0.0, max(float(margin.max()), 0.0)
        for _ in range(iterations):
            r = 0.5 * (lo + hi)
            best = per_set_max(v * (margin - r), set_id, n_sets)
            top = np.partition(best, n_sets - k)[n_sets - k:] if k < n_sets else best
            if np.clip(top, 0.0, None).sum() >= r:
                lo = r
            else:
                hi = r
        bounds[s] = hi
    return bounds


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
        for s in range(n_seg):
            best = per_set_max(attraction[:, s], set_id, n_sets)
            best = np.sort(best[np.isfinite(best)])[::-1][:rest]  # sets with no candidate left are -inf
            odds[s] += best.sum()
    return OfferBounds(segment_margin_bounds(attraction, margin, set_id, n_sets, rest), odds)


def _dominates_margin(ref: np.ndarray, part: np.ndarray, attraction: np.ndarray, margin: np.ndarray,
                      value_at_bound: np.ndarray, bounds: OfferBounds, shares: np.ndarray) -> np.ndarray:
    """(refs, part) mask: swapping the candidate for the reference keeps every segment's attach
    and strictly raises margin whatever the rest of the offer (or the two are identical and the
    reference comes first). Computed segment by segment on dense (refs, part) arrays."""
    md, mc = margin[ref][:, None], margin[part][None, :]
    margin_gap = md - mc
    more_attractive = np.ones((len(ref), len(part)), dtype=bool)
    same = margin_gap == 0
    gain = np.zeros((len(ref), len(part)))
    scale = np.zeros((len(ref), len(part)))
    for s, (w, odds) in enumerate(zip(shares, bounds.odds)):
        vd, vc = attraction[ref, s][:, None], attraction[part, s][None, :]
        more_attractive &= vd >= vc
        same &= vd == vc
        hd, hc = value_at_bound[ref, s][:, None], value_at_bound[part, s][None, :]
        slope = hd - hc
        cross = vd * vc * margin_gap
        worst = np.minimum(slope + cross, slope * odds + cross)  # numerator at D = 1 and D = D_s
        gain += w * np.where(worst >= 0, worst / ((odds + vd) * (odds + vc)), worst / ((1.0 + vd) * (1.0 + vc)))
        scale += w * (np.abs(hd) + np.abs(hc))
    strictly_better = gain > 1e-12 * scale + 1e-300
    identical = same & (ref[:, None] < part[None, :])
    return more_attractive & (strictly_better | identical)


def _dominates_attach(ref: np.ndarray, part: np.ndarray, attraction: np.ndarray) -> np.ndarray:
    """(refs, part) mask: the reference is at least as attractive in every segment, strictly in
    one (or equal and first)."""
    vd, vc = attraction[ref][:, None, :], attraction[part][None, :, :]
    first = ref[:, None] < part[None, :]
    return (vd >= vc).all(axis=2) & ((vd > vc).any(axis=2) | first)


def dominated(
    attraction: np.ndarray,
    margin: np.ndarray,
    set_id: np.ndarray,
    pin_mask: np.ndarray,
    max_bundles: int,
    shares: np.ndarray,
    score: np.ndarray,
    *,
    objective: str = "margin",
    block: int = 8,
    max_reference_sets: int = 20_000,
    patience: int = 40,
    chunk_cells: int = 20_000_000,
    may_replace=None,
) -> np.ndarray:
    """Mark candidates that no optimal offer holds (``objective="margin"``), or that some
    optimal offer does without (``objective="attach"``, where only attraction counts).

    Parameters
    ----------
    attraction : (candidates, segments) ``exp(u)``.
    margin : (candidates,) incremental margin of one sale, CNY.
    set_id : (candidates,) the SKU set of each candidate.
    pin_mask : (sets,) bit mask of the pinned SKUs each set holds; a dominator must hold every
        pinned SKU the candidate holds.
    max_bundles : K.
    shares : (segments,) segment shares.
    score : (candidates,) order in which SKU sets are tried as dominators (best first); any
        order is correct, a good one prunes sooner.
    block, max_reference_sets, patience, chunk_cells : how many SKU sets are tried together, in
        all, how many blocks in a row may prune nothing before the search stops, and how many pair
        comparisons are held in memory at once; they trade time and memory for pruning, never
        correctness.
    may_replace : optional ``f(refs, part) -> bool mask``, pairs whose swap keeps the goals and draws
        (:mod:`pricing.optimizer.swap_safety`).

    Returns
    -------
    (candidates,) boolean mask, True where the candidate can be dropped.
    """
    n = len(margin)
    pruned = np.zeros(n, dtype=bool)
    if n == 0:
        return pruned
    shares = np.asarray(shares, dtype=float)
    if objective == "margin":
        bounds = offer_bounds(attraction, margin, set_id, max_bundles)
        value_at_bound = attraction * (margin[:, None] - bounds.margin[None, :])

        def dominates(ref_idx: np.ndarray, part: np.ndarray) -> np.ndarray:
            return _dominates_margin(ref_idx, part, attraction, margin, value_at_bound, bounds, shares)
    else:
        def dominates(ref_idx: np.ndarray, part: np.ndarray) -> np.ndarray:
            return _dominates_attach(ref_idx, part, attraction)

    pins = pin_mask[set_id]
    counts = np.zeros(n, dtype=np.int64)
    order, by_set, starts = _reference_sets(score, set_id, max_reference_sets)
    alive = np.arange(n)
    idle = 0
    for first in range(0, len(order), block):
        sets = order[first:first + block]
        refs = [by_set[starts[g]:starts[g + 1]] for g in sets]
        ref_row = np.repeat(np.arange(len(sets)), [len(r) for r in refs])
        ref_idx = np.concatenate(refs)
        hit_any = np.zeros((len(sets), len(alive)), dtype=bool)
        step = max(1, chunk_cells // max(1, len(ref_idx) * attraction.shape[1]))
        for lo in range(0, len(alive), step):
            part = alive[lo:lo + step]
            hit = dominates(ref_idx, part)
            hit &= (pins[ref_idx][:, None] & pins[part][None, :]) == pins[part][None, :]
            hit &= True if may_replace is None else may_replace(ref_idx, part)
            sub = np.zeros((len(sets), len(part)), dtype=bool)
            np.logical_or.at(sub, ref_row, hit)
            hit_any[:, lo:lo + step] = sub
        # A candidate beaten by K distinct sets can always be swapped out (docs/formulation.md).
        counts[alive] += hit_any.sum(axis=0)
        newly = counts[alive] >= max_bundles
        pruned[alive[newly]] = True
        alive = alive[~newly]
        idle = 0 if newly.any() else idle + 1
        if len(alive) == 0 or idle >= patience:
            break
    return pruned


def _reference_sets(score: np.ndarray, set_id: np.ndarray,
                    max_reference_sets: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SKU sets to try as dominators, best score first (at most ``max_reference_sets``), and the
    candidates of each set: those of set ``g`` are ``by_set[starts[g]:starts[g + 1]]``."""
    n_sets = int(set_id.max()) + 1
    set_score = per_set_max(score, set_id, n_sets)
    order = np.argsort(-set_score, kind="stable")
    order = order[np.isfinite(set_score[order])][:max_reference_sets]
    by_set = np.argsort(set_id, kind="stable")
    starts = np.searchsorted(set_id[by_set], np.arange(n_sets + 1))
    return order, by_set, starts
