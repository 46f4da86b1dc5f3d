"""Safe reductions of the candidate space: bounds and dominance that cannot remove an optimum.

See ``docs/formulation.md`` for the proofs. In short, with ``R_s`` an upper bound on the margin
per buyer that segment ``s`` can yield from any offer, candidate ``d`` *dominates* ``c`` when
``v_ds >= v_cs`` in every segment, ``m_d >= m_c``, ``m_d >= max_s R_s`` and ``d`` holds every
pinned SKU that ``c`` holds. Swapping ``c`` for ``d`` in an offer then raises (weakly) the
attach rate and the margin of every segment. If the dominators of ``c`` span at least ``K``
distinct SKU sets, one of them is free in any offer of at most ``K`` bundles, so some optimal
offer does without ``c``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["segment_margin_bounds", "dominated", "per_set_max"]


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
    if len(margin) == 0:
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


def dominated(
    attraction: np.ndarray,
    margin: np.ndarray,
    set_id: np.ndarray,
    pin_mask: np.ndarray,
    max_bundles: int,
    margin_bounds: np.ndarray | None,
    score: np.ndarray,
    *,
    block: int = 32,
    max_reference_sets: int = 4000,
    chunk_cells: int = 40_000_000,
) -> np.ndarray:
    """Mark candidates that some optimal offer provably does without.

    Parameters
    ----------
    attraction : (candidates, segments) ``exp(u)``.
    margin : (candidates,) incremental margin of one sale, CNY. Pass zeros to prune for the
        attach rate alone.
    set_id : (candidates,) the SKU set of each candidate.
    pin_mask : (sets,) bit mask of the pinned SKUs each set holds.
    max_bundles : K.
    margin_bounds : (segments,) ``R_s`` from :func:`segment_margin_bounds`; ``None`` to prune
        for the attach rate alone (then only attraction counts).
    score : (candidates,) order in which SKU sets are tried as dominators (best first); any
        order is correct, a good one prunes sooner.
    block, max_reference_sets, chunk_cells : how many SKU sets are tried together, in all, and how
        many comparisons are held in memory at once; they trade time and memory for pruning, never
        correctness.

    Returns
    -------
    (candidates,) boolean mask, True where the candidate can be dropped.
    """
    n = len(margin)
    log_v = np.log(np.maximum(attraction, np.finfo(float).tiny))
    if margin_bounds is None:
        criteria = log_v
    else:
        # Every criterion is "larger is better": log attraction, margin, v (m - R) per segment.
        value_at_bound = attraction * (margin[:, None] - np.asarray(margin_bounds)[None, :])
        criteria = np.hstack([log_v, margin[:, None], value_at_bound])
    pins = pin_mask[set_id]
    pruned = np.zeros(n, dtype=bool)
    if n == 0:
        return pruned
    counts = np.zeros(n, dtype=np.int64)
    n_sets = int(set_id.max()) + 1
    set_score = per_set_max(score, set_id, n_sets)
    order = np.argsort(-set_score, kind="stable")
    order = order[np.isfinite(set_score[order])][:max_reference_sets]
    by_set = np.argsort(set_id, kind="stable")
    starts = np.searchsorted(set_id[by_set], np.arange(n_sets + 1))
    alive = np.arange(n)
    for first in range(0, len(order), block):
        sets = order[first:first + block]
        hit_any = np.zeros((len(sets), len(alive)), dtype=bool)
        refs = [by_set[starts[g]:starts[g + 1]] for g in sets]
        ref_row = np.repeat(np.arange(len(sets)), [len(r) for r in refs])
        ref_idx = np.concatenate(refs)
        ref_crit, ref_pins = criteria[ref_idx], pins[ref_idx]
        step = max(1, chunk_cells // max(1, len(ref_idx) * criteria.shape[1]))
        for lo in range(0, len(alive), step):
            part = alive[lo:lo + step]
            crit, pn = criteria[part], pins[part]
            ge = (ref_crit[:, None, :] >= crit[None, :, :]).all(axis=2)
            # Ties are broken by index so that two identical candidates do not prune each other.
            strict = (ref_crit[:, None, :] > crit[None, :, :]).any(axis=2) | (ref_idx[:, None] < part[None, :])
            hit = ge & strict & ((ref_pins[:, None] & pn[None, :]) == pn[None, :])
            sub = hit_any[:, lo:lo + step]
            np.logical_or.at(sub, ref_row, hit)
            hit_any[:, lo:lo + step] = sub
        counts[alive] += hit_any.sum(axis=0)
        newly = counts[alive] >= max_bundles
        pruned[alive[newly]] = True
        alive = alive[~newly]
        if len(alive) == 0:
            break
    return pruned
