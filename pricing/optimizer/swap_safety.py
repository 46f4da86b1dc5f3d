"""When the pruning's swap stays safe under the goals and coefficient draws.

The pruning (:mod:`pricing.optimizer.pruning`) drops candidate ``c`` when ``K`` SKU sets hold a
candidate ``d`` that beats it in a swap, whatever the rest of the offer. With goals and draws the
swap must also keep every goal in every draw. This module gives the extra condition on a pair
``(d, c)`` as a function the pruning applies to each block of pairs; ``docs/formulation.md``
section 7 proves it:

- **Each draw's attach rate.** With no other goal, the share-weighted worst case over the rest
  of the offer of the draw's attach-rate change is ``>= 0`` (:func:`_attach_kept`); with other
  goals, ``v_d >= v_c`` in every segment of every draw (their per-segment test needs it).
- **A goal with per-sale weight ``g``** (margin rate, devices), under the model and in each draw:
  in every segment the worst case over the rest of the offer of the change of
  ``sum_b P(b) g_b`` is ``>= 0``. As for the margin, the change falls as the rest's value per
  buyer ``R`` rises (given ``v_d >= v_c``), so its worst case is at ``R = R_bar``, an upper bound
  on what ``K - 1`` bundles yield; its numerator is then linear in the rest's odds
  ``D in [1, D_bar]`` and its minimum lies at an end.

The offer rules (SKU use, shared SKUs, price gap) break the plain count itself: a dominator may
conflict with the rest of the offer. Under them (:func:`pruning_is_safe` false) nothing is
pruned: the root LP's bound (:mod:`pricing.optimizer.bound_fixing`) does the dropping.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from pricing.optimizer.segment_bounds import SetGroups, offer_bounds, per_set_max

__all__ = ["pruning_is_safe", "swap_condition"]


def pruning_is_safe(has_offer_rules: bool) -> bool:
    """False under an offer rule that ties bundles to each other: then the plain count of
    :mod:`pricing.optimizer.pruning` is unsafe and every candidate goes to the solve."""
    return not has_offer_rules


def swap_condition(attractions: Sequence[np.ndarray], goal_weights: Sequence[np.ndarray], set_id: np.ndarray,
                   max_bundles: int, check_attraction: bool, *, shares: np.ndarray | None = None,
                   pairwise: bool = False) -> Callable[[np.ndarray, np.ndarray], np.ndarray] | None:
    """The extra condition on (reference, candidate) pairs, or ``None`` when there is none.

    Parameters
    ----------
    attractions : (candidates, segments) arrays: each is one coefficient world (the model's own
        and each draw) in which every goal must hold.
    goal_weights : (candidates,) per-sale weights of the goals other than the attach target.
    set_id : (candidates,) SKU set of each candidate.
    max_bundles : K.
    check_attraction : require ``v_d >= v_c`` in every segment of every world (the attach rate
        in each draw); the model's own world is checked by the pruning itself.
    shares : (segments,) segment shares: with them and no goal but the attach target, each draw's
        condition is the share-weighted one (:func:`_attach_kept`) instead of ``v_d >= v_c`` in
        every segment.
    pairwise : return ``f(d, c) -> (pairs,) mask`` over index arrays of equal length (the
        pruning under offer rules) instead of ``f(refs, part) -> (refs, part) mask``.
    """
    if not goal_weights and not check_attraction:
        return None
    worlds = []
    for v in attractions:
        per_goal = []
        for g in goal_weights:
            bounds = offer_bounds(v, g, set_id, max_bundles)
            per_goal.append((g, v * (g[:, None] - bounds.margin[None, :]), bounds.odds))
        worlds.append((v, per_goal))
    # Without other goals a draw only needs its attach rate kept: the share-weighted test.
    weighted = [(v, _rest_odds(v, set_id, max_bundles)) for v in attractions[1:]] \
        if check_attraction and not goal_weights and shares is not None else None

    def pairs_ok(d: np.ndarray, c: np.ndarray) -> np.ndarray:
        """The condition on pairs ``(d[i], c[i])``; index arrays that broadcast give a grid."""
        ok = np.ones(np.broadcast_shapes(d.shape, c.shape), dtype=bool)
        if weighted is not None:
            for v, odds in weighted:
                ok &= _attach_kept(v[d], v[c], odds, shares)
            return ok
        for v, per_goal in worlds:
            for s in range(v.shape[1]):
                vd, vc = v[d, s], v[c, s]
                if check_attraction:
                    ok &= vd >= vc
                for g, at_bound, odds in per_goal:
                    slope = at_bound[d, s] - at_bound[c, s]
                    cross = vd * vc * (g[d] - g[c])
                    ok &= np.minimum(slope + cross, slope * odds[s] + cross) >= 0.0
        return ok

    if pairwise:
        return pairs_ok
    return lambda ref, part: pairs_ok(ref[:, None], part[None, :])


def _rest_odds(attraction: np.ndarray, set_id: np.ndarray, max_bundles: int) -> np.ndarray:
    """(segments,) most odds ``1 + sum v`` the other ``K - 1`` bundles of an offer can have."""
    n_sets = int(set_id.max()) + 1 if len(set_id) else 0
    odds = np.ones(attraction.shape[1])
    groups = SetGroups.of(set_id)
    for s in range(attraction.shape[1]):
        best = per_set_max(attraction[:, s], set_id, n_sets, groups)
        odds[s] += np.sort(best[np.isfinite(best)])[::-1][:max(max_bundles - 1, 0)].sum()
    return odds


def _attach_kept(vd: np.ndarray, vc: np.ndarray, odds: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """Mask: swapping ``c`` for ``d`` keeps the share-weighted attach rate of one coefficient
    world whatever the rest of the offer (``vd``, ``vc``: (..., segments) attractions).

    Segment ``s``'s attach rate changes by ``D (v_d - v_c) / ((D + v_d)(D + v_c))`` with ``D`` in
    ``[1, odds_s]`` the rest's odds. Where ``v_d >= v_c`` the least change is at an end of that
    range (``D / ((D + a)(D + b))`` rises then falls); where ``v_d < v_c`` the worst is at
    ``D = sqrt(v_d v_c)`` clipped to the range. The segments' worst cases, weighted by their
    shares, must not sum below 0 (taken apart, they bound any common rest from below).
    """
    gap = vd - vc

    def change(odd):
        return odd * gap / ((odd + vd) * (odd + vc))

    rising = np.minimum(change(1.0), change(odds))
    falling = change(np.clip(np.sqrt(vd * vc), 1.0, odds))
    worst = np.where(gap >= 0, rising, falling) * shares
    gain, loss = np.where(worst > 0, worst, 0.0).sum(axis=-1), np.where(worst < 0, worst, 0.0).sum(axis=-1)
    return (loss == 0) | (gain + loss > 1e-12 * (gain - loss))
