"""A fast incumbent: greedy construction then swap search, evaluated exactly.

The offer it finds is handed to the solver as a starting point and kept as a fallback; it is
never reported as optimal on its own.
"""

from __future__ import annotations

import numpy as np

__all__ = ["local_search", "lagrangian_search"]


def _score(numer: np.ndarray, denom: np.ndarray, covered: np.ndarray, shares: np.ndarray, target: float,
           all_pins: int, penalty: float) -> np.ndarray:
    """Margin per buyer, less a penalty for attach shortfall and for each pinned SKU left out.

    ``numer``/``denom`` have shape (options, segments): ``sum v m`` and ``1 + sum v``.
    """
    margin = (numer / denom) @ shares
    attach = (1.0 - 1.0 / denom) @ shares
    missing = np.array([bin(int(all_pins) & ~int(c)).count("1") for c in np.atleast_1d(covered)])
    return margin - penalty * (np.maximum(target - attach, 0.0) * 100.0 + missing)


def local_search(
    attraction: np.ndarray,
    margin: np.ndarray,
    set_id: np.ndarray,
    pin_mask: np.ndarray,
    shares: np.ndarray,
    max_bundles: int,
    target: float,
    all_pins: int = 0,
    *,
    start: list[int] | None = None,
    max_rounds: int = 100,
) -> list[int]:
    """Candidates of a good offer: at most ``max_bundles``, distinct sets, attach >= target if it can.

    Parameters
    ----------
    attraction : (candidates, segments) ``exp(u)``.
    margin : (candidates,) incremental margin of one sale, CNY.
    pin_mask : (candidates,) bit mask of the pinned SKUs each candidate holds.
    shares : (segments,) segment shares.

    start : an offer to improve instead of building one greedily from nothing.

    Returns
    -------
    Candidate indices (possibly empty). Feasibility is checked by the caller.
    """
    n, n_seg = attraction.shape
    if n == 0:
        return []
    vm = attraction * margin[:, None]
    penalty = 10.0 * max(float(np.abs(margin).max()), 1.0)
    chosen: list[int] = list(start or [])

    def totals(members: list[int]) -> tuple[np.ndarray, np.ndarray, int]:
        numer = vm[members].sum(axis=0) if members else np.zeros(n_seg)
        denom = 1.0 + (attraction[members].sum(axis=0) if members else np.zeros(n_seg))
        covered = 0
        for c in members:
            covered |= int(pin_mask[c])
        return numer, denom, covered

    def best_addition(members: list[int]) -> tuple[float, int]:
        numer, denom, covered = totals(members)
        used = set(set_id[members].tolist())
        allowed = ~np.isin(set_id, list(used)) if used else np.ones(n, dtype=bool)
        if not allowed.any():
            return -np.inf, -1
        idx = np.flatnonzero(allowed)
        scores = _score(numer[None, :] + vm[idx], denom[None, :] + attraction[idx],
                        covered | pin_mask[idx], shares, target, all_pins, penalty)
        k = int(np.argmax(scores))
        return float(scores[k]), int(idx[k])

    def value(members: list[int]) -> float:
        numer, denom, covered = totals(members)
        return float(_score(numer[None, :], denom[None, :], np.array([covered]), shares, target, all_pins, penalty)[0])

    current = value(chosen)
    while len(chosen) < max_bundles:
        score, c = best_addition(chosen)
        if c < 0 or score <= current + 1e-12:
            break
        chosen.append(c)
        current = score

    for _ in range(max_rounds):
        moves: list[tuple[float, list[int]]] = []
        for pos in range(len(chosen)):
            rest = chosen[:pos] + chosen[pos + 1:]
            score, c = best_addition(rest)  # swap chosen[pos] for the best other candidate
            if c >= 0:
                moves.append((score, rest + [c]))
            moves.append((value(rest), rest))  # or drop it
        if len(chosen) < max_bundles:
            score, c = best_addition(chosen)
            if c >= 0:
                moves.append((score, chosen + [c]))
        if not moves:
            break
        score, members = max(moves, key=lambda move: move[0])
        if score <= current + 1e-9:
            break
        chosen, current = members, score
    return chosen


def lagrangian_search(
    attraction: np.ndarray,
    margin: np.ndarray,
    set_id: np.ndarray,
    pin_mask: np.ndarray,
    shares: np.ndarray,
    max_bundles: int,
    target: float,
    all_pins: int = 0,
    *,
    steps: int = 12,
) -> list[list[int]]:
    """Offers near the attach target from a price on attach: search ``margin + lam`` unconstrained.

    A larger ``lam`` buys attach rate with margin. Bisection on ``lam`` finds the two offers on
    either side of the target; each then seeds the constrained swap search. Returns every offer
    found (the caller keeps the best feasible one).
    """
    if len(margin) == 0:
        return []

    def attach_of(offer: list[int]) -> float:
        if not offer:
            return 0.0
        v = attraction[offer]
        return float((1.0 - 1.0 / (1.0 + v.sum(axis=0))) @ shares)

    def solve_at(lam: float) -> list[int]:
        return local_search(attraction, margin + lam, set_id, pin_mask, shares, max_bundles, 0.0, all_pins)

    low_lam, high_lam = 0.0, 3.0 * max(float(np.abs(margin).max()), 1.0)
    below, above = solve_at(low_lam), solve_at(high_lam)
    found = [below, above]
    if attach_of(below) < target <= attach_of(above):
        for _ in range(steps):
            lam = 0.5 * (low_lam + high_lam)
            offer = solve_at(lam)
            found.append(offer)
            if attach_of(offer) >= target:
                high_lam, above = lam, offer
            else:
                low_lam, below = lam, offer
    for seed in (below, above):
        found.append(local_search(attraction, margin, set_id, pin_mask, shares, max_bundles, target, all_pins,
                                  start=seed))
    return found
