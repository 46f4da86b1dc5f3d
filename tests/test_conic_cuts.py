"""Conic tangent cuts and dominance ordering rows (issue 10): valid for every offer, active on
hard instances, and the proven optimum still equals brute-force enumeration."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from benchmarks.hard_instances import HardFamily, rs2_problem, rs2_revenues
from pricing.optimizer.conic_cuts import OuterCuts
from pricing.optimizer.optimize import optimize
from pricing.optimizer.ordering import dominance_pairs


def cut_activities(cuts: OuterCuts, attraction: np.ndarray, chosen: np.ndarray, sigma: np.ndarray):
    """Each cut row's (activity, lower bound) at the exact point of offer ``chosen`` (0/1 per candidate)."""
    n, n_seg = attraction.shape
    x0 = 1.0 / (1.0 + chosen @ attraction)
    values = {}
    for c in range(n):
        values[("z", c)] = float(chosen[c])
        for s in range(n_seg):
            values[("t", c, s)] = float(x0[s] * chosen[c])
    for s in range(n_seg):
        values[("a", s)] = float((1.0 - x0[s]) / sigma[s])
        values[("w", s)] = float(cuts.reference[s] / x0[s])
    rows = cuts.cut_rows(sigma, lambda c, s: ("t", c, s), lambda c: ("z", c), lambda s: ("a", s),
                         lambda s: ("w", s))
    rows += cuts.odds_rows(attraction, lambda c: ("z", c), lambda s: ("w", s))
    return [(sum(values[i] * v for i, v in zip(idx, val)), low, high) for low, high, idx, val in rows]


@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed{s}") for s in range(6)])
def test_tangent_cuts_hold_at_every_offer(seed: int) -> None:
    """The tangent rows at arbitrary slopes never cut off an offer: checked at every offer of a
    small random instance, with the odds row included."""
    rng = np.random.default_rng(seed)
    n, n_seg = int(rng.integers(3, 7)), int(rng.integers(1, 4))
    attraction = np.exp(rng.normal(0.0, 2.0, size=(n, n_seg)))
    sigma = attraction.max(axis=0)
    cuts = OuterCuts(rng.uniform(0.01, 1.0, n_seg))
    k = 40
    cuts.extend(rng.integers(0, n, k), rng.integers(0, n_seg, k), rng.uniform(1e-4, 1.0, k),
                rng.integers(0, n_seg, k), rng.uniform(1e-4, 1.0, k))
    for bits in itertools.product((0, 1), repeat=n):
        for activity, low, high in cut_activities(cuts, attraction, np.array(bits, dtype=float), sigma):
            assert activity >= low - 1e-9 * max(1.0, abs(low)), (bits, activity, low)
            assert activity <= high + 1e-9 * max(1.0, abs(high))


def brute_force(problem) -> float:
    """Best margin per buyer over every offer of at most K single-SKU bundles (one price each)."""
    v = np.exp(np.array([[seg.intercept + seg.appeal[s] for seg in problem.model.segments]
                         for s in problem.catalog.skus]))
    margin = problem.catalog.list_price
    shares = problem.model.shares
    best = 0.0
    n, k = len(margin), problem.settings.max_bundles
    for size in range(1, k + 1):
        for offer in itertools.combinations(range(n), size):
            idx = list(offer)
            take = v[idx] / (1.0 + v[idx].sum(axis=0))
            best = max(best, float((take * margin[idx, None]).sum(axis=0) @ shares))
    return best


CASES = [pytest.param(n, m, card, seed, id=f"{n}x{m}-{'K' + str(card) if card else 'nolimit'}-seed{seed}")
         for (n, m, card) in [(9, 3, None), (10, 4, 0.3), (11, 2, 0.5), (8, 6, None)] for seed in range(3)]


@pytest.mark.parametrize(("n", "m", "card", "seed"), CASES)
def test_rs2_like_instances_equal_brute_force(n: int, m: int, card, seed: int) -> None:
    problem = rs2_problem(HardFamily(n, m, card), seed, time_limit=60)
    with_cuts = optimize(problem)
    without = optimize(problem, cut_rounds=0, ordering_rows=False)
    best = brute_force(problem)
    for result in (with_cuts, without):
        assert result.status.value == "optimal", result.diagnostics
        assert result.figures.margin_per_buyer == pytest.approx(best, rel=1e-6)
        assert result.bound >= best * (1 - 1e-6)
    # Neither root bound is below the optimum; over the same candidates the cut one is never
    # looser (the runs may drop different candidates before tightening: bound_fixing).
    root_cut = with_cuts.diagnostics["root_bound_margin_per_buyer"]
    root_plain = without.diagnostics["root_bound_margin_per_buyer"]
    for root in (root_cut, root_plain):
        assert root is None or root >= best * (1 - 1e-7)
    same = all(r.diagnostics["candidates_after_bound"] == r.diagnostics["candidates_after_pruning"]
               for r in (with_cuts, without))
    if root_cut is not None and root_plain is not None and same:
        assert root_cut <= root_plain * (1 + 1e-7)


def test_cuts_are_active_on_a_hard_instance() -> None:
    """On a 50-product, 5-segment RS2-like instance the cuts are found and lower the root bound."""
    problem = rs2_problem(HardFamily(50, 5), 0, time_limit=120)
    result = optimize(problem)
    plain = optimize(problem, cut_rounds=0, ordering_rows=False)
    assert result.status.value == "optimal" and plain.status.value == "optimal"
    assert result.diagnostics["conic_cuts"] > 0
    assert result.figures.margin_per_buyer == pytest.approx(plain.figures.margin_per_buyer, rel=1e-6)
    assert result.diagnostics["root_bound_margin_per_buyer"] < plain.diagnostics["root_bound_margin_per_buyer"]


def test_ordering_rows_chain_copies_by_price() -> None:
    """Products of one half of an RS2 instance differ only by price: each is dominated by the
    next dearer one, so the rows pair every product with a dearer one of its half."""
    problem = rs2_problem(HardFamily(12, 3), 1)
    v = np.exp(np.array([[seg.intercept + seg.appeal[s] for seg in problem.model.segments]
                         for s in problem.catalog.skus]))
    margin = problem.catalog.list_price
    pairs = dominance_pairs(v, margin, np.arange(12), np.zeros(12, dtype=np.int64), 12, problem.model.shares)
    half = (12 + 1) // 2
    dominated = {int(c) for c, _ in pairs}
    assert {c for c in range(12) if c not in (0, half)} <= dominated
    for c, d in pairs:
        assert np.all(v[d] >= v[c])
        if (c < half) == (d < half):  # same half: same attraction, so only a dearer copy dominates
            assert margin[d] > margin[c]
    assert np.all(np.diff(rs2_revenues(12)) < 0)


def test_a_run_over_its_time_limit_answers_honestly() -> None:
    """A large hard instance with a tiny time limit: an offer, a proven bound above it, a gap,
    and ``optimal`` only if the gap says so."""
    problem = rs2_problem(HardFamily(100, 10), 4, time_limit=0.5)
    result = optimize(problem)
    assert result.status.value in ("optimal", "time_limit")
    assert len(result.offer.bundles) > 0
    assert result.bound is not None  # the root LP's bound when HiGHS had none
    assert result.bound >= result.figures.margin_per_buyer * (1 - 1e-9)
    assert result.gap == pytest.approx(
        (result.bound - result.figures.margin_per_buyer) / result.figures.margin_per_buyer, abs=1e-9)
    if result.status.value == "optimal":
        assert result.gap <= problem.settings.rel_gap
