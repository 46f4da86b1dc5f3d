"""A fast incumbent: greedy construction then swap search, evaluated exactly.

The offer it finds is handed to the solver as a starting point and kept as a fallback; it is
never reported as optimal on its own.
"""

from __future__ import annotations

import numpy as np

__all__ = ["local_search", "lagrangian_search"]


def _score(numer: np.ndarray, denom: np.ndarray, covered: np.ndarray, shares: np.ndarray, target: float,
           all_pins: int, penalty: float, goal_numer: np.ndarray | None = None,
           goal_levels: np.ndarray | None = None) -> np.ndarray:
    """Margin per buyer, less a penalty for attach (and goal) shortfall and for each pinned SKU left out.

    ``numer``/``denom`` have shape (options, segments): ``sum v m`` and ``1 + sum v``;
    ``goal_numer`` (options, segments, goals) ``sum v g`` of each goal's per-sale weight ``g``
    scaled to at most 1 in size, and ``goal_levels`` (goals,) their levels on that scale.
    """
    margin = (numer / denom) @ shares
    attach = (1.0 - 1.0 / denom) @ shares
    missing = _pins_missing(np.atleast_1d(covered), int(all_pins))
    shortfall = np.maximum(target - attach, 0.0)
    if goal_numer is not None and goal_levels is not None and len(goal_levels):
        reached = np.einsum("osg,s->og", goal_numer / denom[:, :, None], shares)
        shortfall = shortfall + np.maximum(goal_levels[None, :] - reached, 0.0).sum(axis=1)
    return margin - penalty * (shortfall * 100.0 + missing)


def _pins_missing(covered: np.ndarray, all_pins: int) -> np.ndarray:
    """How many of the pinned SKUs (bits of ``all_pins``) each bit mask of ``covered`` leaves out,
    bit by bit in numpy (a Python count per option took 11 s of a 45 s explanation over 37,808
    candidates)."""
    if not all_pins:
        return np.zeros(len(covered))
    left = np.bitwise_and(np.bitwise_not(covered.astype(np.int64)), all_pins)
    return sum(((left >> bit) & 1) for bit in range(all_pins.bit_length())).astype(float)


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
    compatible=None,
    goals: tuple[np.ndarray, np.ndarray] | None = None,
) -> list[int]:
    """Candidates of a good offer: at most ``max_bundles``, distinct sets, attach >= target if it can.

    Parameters
    ----------
    attraction : (candidates, segments) ``exp(u)``.
    margin : (candidates,) incremental margin of one sale, CNY.
    pin_mask : (candidates,) bit mask of the pinned SKUs each candidate holds.
    shares : (segments,) segment shares.

    start : an offer to improve instead of building one greedily from nothing.
    compatible : optional ``f(members) -> (candidates,) mask`` of the candidates the offer rules
        let join ``members``.
    goals : optional ``(weights (candidates, goals), levels (goals,))`` of goals other than the
        attach target, whose shortfall is penalised like the target's.

    Returns
    -------
    Candidate indices (possibly empty). Feasibility is checked by the caller.
    """
    if attraction.shape[0] == 0:
        return []
    search = _SwapSearch(attraction, margin, set_id, pin_mask, shares, max_bundles, target, all_pins,
                         compatible, goals)
    chosen, current = search.greedy(list(start or []))
    for _ in range(max_rounds):
        moves = search.moves(chosen)
        if not moves:
            break
        score, members = max(moves, key=lambda move: move[0])
        if score <= current + 1e-9:
            break
        chosen, current = members, score
    return chosen


class _SwapSearch:
    """Scores of offers and of one-candidate changes to them (see :func:`_score`)."""

    def __init__(self, attraction: np.ndarray, margin: np.ndarray, set_id: np.ndarray, pin_mask: np.ndarray,
                 shares: np.ndarray, max_bundles: int, target: float, all_pins: int, compatible=None,
                 goals: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        self.attraction, self.set_id, self.pin_mask, self.shares = attraction, set_id, pin_mask, shares
        self.max_bundles, self.target, self.all_pins = max_bundles, target, all_pins
        self.compatible = compatible
        self.vm = attraction * margin[:, None]
        self.penalty = 10.0 * max(float(np.abs(margin).max()), 1.0)
        self.vg, self.goal_levels = None, None
        if goals is not None and goals[0].shape[1]:
            scale = np.maximum(np.abs(goals[0]).max(axis=0), 1e-12)
            self.vg = attraction[:, :, None] * (goals[0] / scale)[:, None, :]
            self.goal_levels = goals[1] / scale

    def totals(self, members: list[int]) -> tuple[np.ndarray, np.ndarray, int]:
        n_seg = self.attraction.shape[1]
        numer = self.vm[members].sum(axis=0) if members else np.zeros(n_seg)
        denom = 1.0 + (self.attraction[members].sum(axis=0) if members else np.zeros(n_seg))
        covered = 0
        for c in members:
            covered |= int(self.pin_mask[c])
        return numer, denom, covered

    def goal_totals(self, members: list[int]) -> np.ndarray | None:
        """(segments, goals) ``sum v g`` of the offer, or ``None`` with no goal."""
        if self.vg is None:
            return None
        return self.vg[members].sum(axis=0) if members else np.zeros(self.vg.shape[1:])

    def best_addition(self, members: list[int]) -> tuple[float, int]:
        """Score of the best offer ``members + [c]`` over candidates ``c`` of sets not yet used."""
        numer, denom, covered = self.totals(members)
        used = set(self.set_id[members].tolist())
        allowed = ~np.isin(self.set_id, list(used)) if used else np.ones(len(self.set_id), dtype=bool)
        if self.compatible is not None:
            allowed &= self.compatible(members)
        if not allowed.any():
            return -np.inf, -1
        idx = np.flatnonzero(allowed)
        goal = self.goal_totals(members)
        scores = _score(numer[None, :] + self.vm[idx], denom[None, :] + self.attraction[idx],
                        covered | self.pin_mask[idx], self.shares, self.target, self.all_pins, self.penalty,
                        None if goal is None else goal[None] + self.vg[idx], self.goal_levels)
        k = int(np.argmax(scores))
        return float(scores[k]), int(idx[k])

    def value(self, members: list[int]) -> float:
        numer, denom, covered = self.totals(members)
        goal = self.goal_totals(members)
        return float(_score(numer[None, :], denom[None, :], np.array([covered]), self.shares, self.target,
                            self.all_pins, self.penalty, None if goal is None else goal[None],
                            self.goal_levels)[0])

    def greedy(self, chosen: list[int]) -> tuple[list[int], float]:
        """Add the best candidate while the score improves and room is left."""
        current = self.value(chosen)
        while len(chosen) < self.max_bundles:
            score, c = self.best_addition(chosen)
            if c < 0 or score <= current + 1e-12:
                break
            chosen = chosen + [c]
            current = score
        return chosen, current

    def moves(self, chosen: list[int]) -> list[tuple[float, list[int]]]:
        """Every offer one step from ``chosen``: a bundle swapped for the best other candidate,
        dropped, or (when room is left) the best candidate added; with its score."""
        moves: list[tuple[float, list[int]]] = []
        for pos in range(len(chosen)):
            rest = chosen[:pos] + chosen[pos + 1:]
            score, c = self.best_addition(rest)
            if c >= 0:
                moves.append((score, rest + [c]))
            moves.append((self.value(rest), rest))
        if len(chosen) < self.max_bundles:
            score, c = self.best_addition(chosen)
            if c >= 0:
                moves.append((score, chosen + [c]))
        return moves


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
    compatible=None,
    goals: tuple[np.ndarray, np.ndarray] | None = None,
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
        return local_search(attraction, margin + lam, set_id, pin_mask, shares, max_bundles, 0.0, all_pins,
                            compatible=compatible, goals=goals)

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
                                  start=seed, compatible=compatible, goals=goals))
    return found
