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
yields in segment ``s``; its numerator is linear in ``D``, in ``[1, D_s]`` (:func:`offer_bounds`).
"""

from __future__ import annotations

import time

import numpy as np

from pricing.optimizer.segment_bounds import OfferBounds, SetGroups, offer_bounds, per_set_max, segment_margin_bounds

__all__ = ["OfferBounds", "SetGroups", "PairTest", "offer_bounds", "segment_margin_bounds", "dominated", "per_set_max",
           "margin_swap_gains"]


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


def _margin_hits(ref: np.ndarray, part: np.ndarray, attraction: np.ndarray, margin: np.ndarray,
                 value_at_bound: np.ndarray, bounds: OfferBounds, shares: np.ndarray,
                 allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pairs of :func:`_dominates_margin` among those ``allowed`` (a (refs, part) mask), as
    (ref positions, part positions).

    Same formula, element by element in the same order, so the same answer to the last bit; but
    the margin test runs only on the pairs that pass the cheap attraction test, segment by
    segment, which few do.
    """
    # Dense for the first two segments (cheap compares), gathered after: few pairs are left.
    more = allowed.copy()
    for s in range(min(2, attraction.shape[1])):
        more &= attraction[ref, s][:, None] >= attraction[part, s][None, :]
    rows, cols = np.nonzero(more)
    for s in range(2, attraction.shape[1]):
        keep = attraction[ref[rows], s] >= attraction[part[cols], s]
        rows, cols = rows[keep], cols[keep]
    hit = margin_swap_gains(ref[rows], part[cols], attraction, margin, value_at_bound, bounds, shares)
    return rows[hit], cols[hit]


def margin_swap_gains(d: np.ndarray, c: np.ndarray, attraction: np.ndarray, margin: np.ndarray,
                      value_at_bound: np.ndarray, bounds: OfferBounds, shares: np.ndarray) -> np.ndarray:
    """(pairs,) mask over pairs ``(d[i], c[i])`` already at least as attractive in every segment:
    swapping ``c`` for ``d`` strictly raises the margin whatever the rest of the offer, or the two
    are identical and ``d`` comes first (the test of :func:`_dominates_margin`, pair by pair)."""
    md, mc = margin[d], margin[c]
    margin_gap = md - mc
    same = margin_gap == 0
    gain = np.zeros(len(d))
    scale = np.zeros(len(d))
    # Attractions as small as the model allows (utility -100: 4e-44) make products that round to
    # zero, which is what they are worth here.
    with np.errstate(under="ignore"):
        for s, (w, odds) in enumerate(zip(shares, bounds.odds)):
            vd, vc = attraction[d, s], attraction[c, s]
            same &= vd == vc
            hd, hc = value_at_bound[d, s], value_at_bound[c, s]
            slope = hd - hc
            cross = vd * vc * margin_gap
            worst = np.minimum(slope + cross, slope * odds + cross)
            gain += w * np.where(worst >= 0, worst / ((odds + vd) * (odds + vc)), worst / ((1.0 + vd) * (1.0 + vc)))
            scale += w * (np.abs(hd) + np.abs(hc))
    return (gain > 1e-12 * scale + 1e-300) | (same & (d < c))


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
    chunk_cells: int = 262_144,
    compiled: bool | None = None,
    may_replace=None,
    deadline: float | None = None,
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
        comparisons are held in memory at once (small enough to stay in cache); they trade time
        and memory for pruning, never correctness.
    compiled : use the compiled loop (:mod:`pricing.optimizer.pruning_kernel`) for the margin
        test: ``None`` decides by size (from 200,000 candidates, when numba is installed).
        Either way the mask is the same.
    may_replace : optional ``f(d, c) -> bool mask`` over pairs ``(d[i], c[i])``: whose swap keeps
        the goals and draws (:mod:`pricing.optimizer.swap_safety`), asked of dominating pairs
        only; with it the numpy test runs (the compiled loop has no such hook).
    deadline : ``time.perf_counter()`` value after which no new block of reference sets is
        tried, once at most ``_STOP_BELOW`` candidates are left (a pool the solver can still
        take). Stopping early is safe (what is dropped by then stays dropped for a reason); it
        only leaves more candidates.

    Returns
    -------
    (candidates,) boolean mask, True where the candidate can be dropped.
    """
    n = len(margin)
    if n == 0:
        return np.zeros(0, dtype=bool)
    test = PairTest(attraction, margin, set_id, pin_mask, max_bundles, shares, objective, may_replace, chunk_cells)
    kernel = _compiled_kernel(n, False if may_replace is not None else compiled) if objective == "margin" else None
    if kernel is not None:
        def block_test(ref_idx: np.ndarray, ref_row: np.ndarray, n_block: int, alive: np.ndarray) -> np.ndarray:
            return kernel(ref_idx, ref_row, n_block, alive, attraction, margin, test.value_at_bound, test.bounds.odds,
                          test.shares, test.pins)
    else:
        def block_test(ref_idx: np.ndarray, ref_row: np.ndarray, n_block: int, alive: np.ndarray) -> np.ndarray:
            """(sets of the block, alive) mask of the sets holding a dominator."""
            hit_any = np.zeros((n_block, len(alive)), dtype=bool)
            for rows, cols in test.pairs(ref_idx, alive):
                hit_any[ref_row[rows], cols] = True
            return hit_any

    return _prune(block_test, score, set_id, max_bundles, block, max_reference_sets, patience, deadline)


class PairTest:
    """The dominance test of :func:`dominated` over (reference, candidate) pairs, pins and
    ``may_replace`` included, run in cache-sized chunks; shared by the pruning under offer rules.
    ``bounds`` and ``value_at_bound`` are the rest-of-offer bounds (margin objective only)."""

    def __init__(self, attraction: np.ndarray, margin: np.ndarray, set_id: np.ndarray, pin_mask: np.ndarray,
                 max_bundles: int, shares: np.ndarray, objective: str, may_replace=None, chunk_cells: int = 262_144):
        self.attraction, self.shares = attraction, np.asarray(shares, dtype=float)
        self.pins, self.may_replace, self.chunk_cells = pin_mask[set_id], may_replace, chunk_cells
        self.bounds = self.value_at_bound = None
        if objective == "margin":
            self.bounds = offer_bounds(attraction, margin, set_id, max_bundles)
            self.value_at_bound = attraction * (margin[:, None] - self.bounds.margin[None, :])
            self._test = lambda ref, part, allowed: _margin_hits(ref, part, attraction, margin, self.value_at_bound,
                                                                 self.bounds, self.shares, allowed)
        else:
            self._test = lambda ref, part, allowed: np.nonzero(_dominates_attach(ref, part, attraction) & allowed)

    def pairs(self, ref_idx: np.ndarray, alive: np.ndarray):
        """Yield ``(rows, cols)`` chunk by chunk: ``ref_idx[rows]`` may replace ``alive[cols]``."""
        pins = self.pins
        step = max(1, self.chunk_cells // max(1, len(ref_idx) * self.attraction.shape[1]))
        for lo in range(0, len(alive), step):
            part = alive[lo:lo + step]
            allowed = (pins[ref_idx][:, None] & pins[part][None, :]) == pins[part][None, :]
            rows, cols = self._test(ref_idx, part, allowed)
            if self.may_replace is not None and len(rows):  # on the few dominating pairs only
                keep = self.may_replace(ref_idx[rows], part[cols])
                rows, cols = rows[keep], cols[keep]
            yield rows, lo + cols


def _prune(block_test, score: np.ndarray, set_id: np.ndarray, max_bundles: int, block: int,
           max_reference_sets: int, patience: int, deadline: float | None = None) -> np.ndarray:
    """The search of :func:`dominated`: reference sets in blocks, best score first; a candidate
    is dropped once ``block_test`` has found dominators in ``max_bundles`` distinct sets."""
    n = len(score)
    pruned = np.zeros(n, dtype=bool)
    counts = np.zeros(n, dtype=np.int64)
    order, by_set, starts = _reference_sets(score, set_id, max_reference_sets)
    alive = np.arange(n)
    idle = 0
    for first in range(0, len(order), block):
        sets = order[first:first + block]
        refs = [by_set[starts[g]:starts[g + 1]] for g in sets]
        ref_row = np.repeat(np.arange(len(sets)), [len(r) for r in refs])
        ref_idx = np.concatenate(refs)
        hit_any = block_test(ref_idx, ref_row, len(sets), alive)
        # A candidate beaten by K distinct sets can always be swapped out (docs/formulation.md).
        counts[alive] += hit_any.sum(axis=0)
        newly = counts[alive] >= max_bundles
        pruned[alive[newly]] = True
        alive = alive[~newly]
        idle = 0 if newly.any() else idle + 1
        if len(alive) == 0 or idle >= patience:
            break
        if deadline is not None and len(alive) <= _STOP_BELOW and time.perf_counter() > deadline:
            break  # out of time: the long tail of the search is left undone
    return pruned


# Past its deadline the pruning stops only once this few candidates are left (the first blocks cut
# a million to a few thousand in about a second; a bigger pool would cost the solver more).
_STOP_BELOW = 20_000
# From this many candidates the compiled dominance loop pays for numba's import and first compile.
_COMPILED_FROM = 200_000


def _compiled_kernel(n: int, compiled: bool | None):
    """The compiled block test, or ``None`` for numpy (too small, not wanted, or no numba)."""
    if compiled is False or (compiled is None and n < _COMPILED_FROM):
        return None
    try:
        from pricing.optimizer.pruning_kernel import block_hits
    except ImportError:  # numba is optional: numpy gives the same mask
        if compiled:
            raise
        return None
    return block_hits


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
