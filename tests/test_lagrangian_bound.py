"""The LP bound that drops candidates before the MILP (``pricing/optimizer/lagrangian_bound.py``).

Checked against enumeration of every offer of small random pools: no offer holding a candidate
is worth more than that candidate's offered bound (under the rules' bounds, under bounds
tightened against an incumbent, with conic cuts, with offer rules); and the whole optimizer,
which drops candidates that way, still finds the enumerated optimum.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from pricing.optimizer.lagrangian_bound import beaten_by, offered_bounds, offered_gains
from pricing.optimizer.conic_cuts import separate_conic_cuts
from pricing.optimizer.milp import OfferMilp
from pricing.optimizer.offer_rules import offer_rules_of
from pricing.optimizer.optimize import InfeasibleTarget, optimize
from tests.test_bruteforce import make_instance, pick_target


def random_pool(rng: np.random.Generator):
    """Candidates over random SKU sets (one to three SKUs of six, one to three prices each)."""
    n_sets = int(rng.integers(3, 7))
    sets: list[tuple[int, ...]] = []
    while len(sets) < n_sets:
        size = int(rng.integers(1, 4))
        members = tuple(sorted(rng.choice(6, size=size, replace=False).tolist()))
        if members not in sets:
            sets.append(members)
    set_id = np.concatenate([np.full(int(rng.integers(1, 4)), g) for g in range(n_sets)])[:11]
    n, n_seg = len(set_id), int(rng.integers(1, 5))
    attraction = np.exp(rng.normal(-1.0, 1.5, size=(n, n_seg)))
    margin = rng.uniform(-30.0, 300.0, size=n) if rng.random() < 0.3 else rng.uniform(5.0, 300.0, size=n)
    shares = rng.dirichlet(np.ones(n_seg))
    sku_sets = np.full((n, 3), -1)
    for c, g in enumerate(set_id):
        sku_sets[c, :len(sets[g])] = sets[g]
    prices = rng.uniform(100.0, 1000.0, size=n)
    return set_id, attraction, margin, shares, sku_sets, prices


def every_offer(set_id: np.ndarray, k: int):
    n = len(set_id)
    for size in range(1, k + 1):
        for offer in itertools.combinations(range(n), size):
            if len({int(set_id[c]) for c in offer}) == size:
                yield list(offer)


def value_and_attach(attraction, margin, shares, offer):
    v = attraction[offer]
    take = v / (1.0 + v.sum(axis=0))
    return float((take * margin[offer, None]).sum(axis=0) @ shares), float(take.sum(axis=0) @ shares)


def check_bound(highs, milp, offers, level: float) -> int:
    """Every offer worth at least ``level`` is within the total bound and each of its
    candidates' offered bounds; returns how many candidates the bound drops at ``level``."""
    bounds = offered_bounds(highs, milp)
    assert bounds is not None
    total, offered = (b * milp.objective_scale for b in bounds)
    for offer, value in offers:
        if value < level:
            continue
        tol = 1e-7 * max(1.0, abs(value))
        assert value <= total + tol
        for c in offer:
            assert value <= offered[c] + tol, (offer, c, value, offered[c])
    return int(beaten_by(highs, milp, level / milp.objective_scale).sum())


@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed{s}") for s in range(120)])
def test_no_offer_beats_the_offered_bound(seed: int) -> None:
    rng = np.random.default_rng(seed)
    set_id, attraction, margin, shares, sku_sets, prices = random_pool(rng)
    k = int(rng.integers(1, 5))
    rules = None
    if seed % 3 == 1:
        rules = offer_rules_of(sku_sets, prices, int(rng.integers(1, 3)), int(rng.integers(0, 3)),
                               float(rng.choice([0.0, 0.1, 0.3])) or None)
    scored = [(o, *value_and_attach(attraction, margin, shares, o)) for o in every_offer(set_id, k)
              if rules is None or rules.allows(o)]
    top_attach = max(a for _, _, a in scored)
    target = float(rng.choice([0.0, 0.3, 0.8])) * top_attach
    feasible = [(o, v) for o, v, a in scored if a >= target]
    args = (attraction, margin, set_id, np.zeros(len(set_id), dtype=np.int64), shares, k, target)

    plain = OfferMilp(*args, rules=rules)
    highs = plain.model.to_highs(integer=False)
    highs.run()
    check_bound(highs, plain, feasible, -np.inf)

    # Tightened against an incumbent (a feasible offer, not the best): the bounds then hold for
    # offers at least as good as it, and so must the offered bounds.
    incumbent_value = sorted(v for _, v in feasible)[len(feasible) // 2]
    bounds = plain.tightened_bounds(incumbent_value)
    if bounds is None:  # nothing beats the incumbent: only offers worth exactly it may remain
        assert max(v for _, v in feasible) <= incumbent_value * (1 + 1e-7) + 1e-9
        return
    tight = OfferMilp(*args, no_bundle_bounds=bounds, rules=rules)
    highs = tight.model.to_highs(integer=False)
    highs.run()
    check_bound(highs, tight, feasible, incumbent_value)
    cuts = separate_conic_cuts(tight, rounds=3)
    if cuts.final_lp is not None:
        check_bound(cuts.final_lp, tight, feasible, incumbent_value)


def test_the_bound_drops_candidates_on_most_pools() -> None:
    """Guards the tests above against a bound too weak to drop anything (they would then pass
    with any valid but useless bound): at the best offer's value, on pools where the best offer
    leaves room, most candidates go."""
    dropped = total = 0
    for seed in range(40):
        rng = np.random.default_rng(1000 + seed)
        set_id, attraction, margin, shares, _, _ = random_pool(rng)
        margin = np.abs(margin) + 1.0
        k = int(rng.integers(1, 4))
        best = max(value_and_attach(attraction, margin, shares, o)[0] for o in every_offer(set_id, k))
        milp = OfferMilp(attraction, margin, set_id, np.zeros(len(set_id), dtype=np.int64), shares, k, 0.0)
        bounds = milp.tightened_bounds(best * (1 - 1e-6))
        if bounds is None:
            continue
        tight = OfferMilp(attraction, margin, set_id, np.zeros(len(set_id), dtype=np.int64), shares, k, 0.0,
                          no_bundle_bounds=bounds)
        cuts = separate_conic_cuts(tight, rounds=3)
        dropped += int(beaten_by(cuts.final_lp, tight, best * (1 - 1e-6) / tight.objective_scale).sum())
        total += len(set_id)
    assert dropped > 0.3 * total


@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed{s}") for s in range(0, 300, 5)])
def test_the_optimizer_dropping_candidates_matches_enumeration(seed: int) -> None:
    """The brute-force instances of ``test_bruteforce`` again, asking also that the optimum's
    proof went through the drop (the diagnostics say how many candidates it left)."""
    inst, _, (offers, attach, margin) = make_instance(seed, "realistic")
    target = pick_target("binding" if seed % 2 else "slack", attach, margin)
    problem = inst.problem.replace(settings=inst.problem.settings.replace(attach_rate=target))
    feasible = attach >= target - 1e-9
    if not feasible.any():
        with pytest.raises(InfeasibleTarget):
            optimize(problem)
        return
    result = optimize(problem)
    assert result.status.value == "optimal"
    assert result.figures.margin_per_buyer == pytest.approx(float(margin[feasible].max()), rel=1e-4, abs=1e-7)
    d = result.diagnostics
    assert d["candidates_after_bound"] <= d["candidates_after_pruning"]


def test_on_the_shipped_data_the_bound_leaves_few_candidates() -> None:
    """Strength, not only validity: a bound that kept each take free of its offer (plain reduced
    costs) dropped 8 of the 337 shipped candidates; this one leaves 14 (docs/benchmarks.md)."""
    from pricing.domain.problem import Problem

    result = optimize(Problem.load())
    d = result.diagnostics
    assert result.status.value == "optimal"
    assert d["candidates_after_bound"] <= 0.1 * d["candidates_after_pruning"]


@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed{s}") for s in range(0, 90, 3)])
def test_rules_match_enumeration_with_every_pool_priced_outside_the_lp(seed: int, monkeypatch) -> None:
    """``drop_by_pricing`` runs only on pools of over 2,000 candidates; run it on every pool of
    the offer-rule brute-force instances (every rule, targets none to unreachable)."""
    from pricing.optimizer import bound_fixing
    from test_offer_rules import test_rules_match_enumeration

    monkeypatch.setattr(bound_fixing, "PRICED_POOL", 0)
    test_rules_match_enumeration(seed)


@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed{s}") for s in range(1, 300, 10)])
def test_the_optimizer_matches_enumeration_with_every_pool_priced_outside_the_lp(seed: int, monkeypatch) -> None:
    from pricing.optimizer import bound_fixing

    monkeypatch.setattr(bound_fixing, "PRICED_POOL", 0)
    test_the_optimizer_dropping_candidates_matches_enumeration(seed)


def test_pricing_outside_the_lp_drops_most_of_a_large_rule_pool() -> None:
    """Strength on the shipped data under ``max_bundles_per_sku = 3, max_shared_skus = 2``: the
    rule pruning keeps 9,715 candidates and the priced drop (plain LP, no cuts) leaves under a
    tenth of them (650 when measured; the cut rounds after it leave 145)."""
    from pricing.domain.problem import Problem
    from pricing.optimizer import bound_fixing
    from pricing.optimizer.candidates import build_candidates
    from pricing.optimizer.space import Space

    base = Problem.load()
    problem = base.replace(settings=base.settings.replace(max_bundles_per_sku=3, max_shared_skus=2))
    cands = build_candidates(problem.catalog, problem.model, problem.settings, problem.last_prices)
    space = Space.of(problem, cands)
    keep = space.keep("margin", goals=space.goals)
    pool = space.pool("margin", keep, goals=space.goals)
    incumbent = pool.incumbent()
    work = bound_fixing.drop_by_pricing(bound_fixing.Reduced(pool, np.arange(len(keep)), incumbent), float("inf"))
    assert len(keep) > 5_000
    assert len(work.kept) < 0.1 * len(keep)
    assert set(np.asarray(incumbent).tolist()) <= set(work.kept.tolist())


@pytest.mark.parametrize("first", [0, 1])
@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed{s}") for s in range(0, 64, 4)])
def test_the_priced_bound_is_the_lp_bound_over_every_candidate(seed: int, first: int, monkeypatch) -> None:
    """``bound_fixing.price_relaxation`` hands HiGHS the candidates the duals ask for, with
    their own rows only, from ``first`` columns per bundle. On the goal brute-force instances
    (rules, targets, goals; every candidate in the pool), its bound is the LP relaxation's with
    HiGHS holding every candidate, or it proves the program empty only when that LP is; and
    each candidate's offered bound is at least that LP's with the candidate offered."""
    import highspy

    from pricing.optimizer import bound_fixing
    from pricing.optimizer.candidates import build_candidates
    from pricing.optimizer.space import Space
    from tests.test_goals import _pose

    monkeypatch.setattr(bound_fixing, "FIRST_COLUMNS_PER_BUNDLE", first)
    inst, _, _, _, settings, _, _ = _pose(seed)
    problem = inst.problem.replace(settings=settings)
    cands = build_candidates(problem.catalog, problem.model, problem.settings, problem.last_prices)
    space = Space.of(problem, cands)
    pool = space.pool("margin", np.arange(len(cands)), goals=space.goals)
    priced = bound_fixing.price_relaxation(pool, float("inf"))
    milp = pool.milp(with_draws=False)
    lp_bound = milp.relaxation_bound()
    assert priced is not None
    if lp_bound is None:
        return  # an empty LP: the pricing may or may not prove it (test_goals counts how often)
    assert not priced.empty
    assert priced.bound == pytest.approx(lp_bound, rel=1e-7, abs=1e-9)
    for c in range(len(cands)):
        highs = milp.solved_relaxation()
        highs.changeColBounds(int(milp.z[c]), 1.0, 1.0)
        highs.run()
        if highs.getModelStatus() == highspy.HighsModelStatus.kOptimal:
            offered = highs.getInfo().objective_function_value * milp.objective_scale
            assert offered <= priced.offered[c] + 1e-7 * max(1.0, abs(offered))


JOINED: list[int] = []


@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed{s}") for s in range(0, 64, 2)])
def test_cut_rounds_from_a_few_candidates_match_the_program_with_every_row(seed: int) -> None:
    """The first cut rounds (``bound_fixing.drop_before_tightening``) hold most candidates at
    zero and build their own rows only when the duals bring them in. The bounds of each round
    and every candidate's offered bound must be those of the same rounds over the program with
    every candidate's rows, and every offer the enumeration finds stays within them."""
    from pricing.optimizer import bound_fixing
    from pricing.optimizer.candidates import build_candidates
    from pricing.optimizer.space import Space
    from tests.test_goals import _pose

    inst, _, _, _, settings, _, _ = _pose(seed)
    problem = inst.problem.replace(settings=settings)
    cands = build_candidates(problem.catalog, problem.model, problem.settings, problem.last_prices)
    space = Space.of(problem, cands)
    pool = space.pool("margin", np.arange(len(cands)), goals=space.goals)
    active = bound_fixing.best_alone(pool, 1)
    whole = separate_conic_cuts(pool.milp(with_draws=False), rounds=2, active=active.copy())
    partial_milp = pool.milp(with_draws=False, own_rows=active)
    partial = separate_conic_cuts(partial_milp, rounds=2, active=active.copy())
    if whole.final_lp is None:
        assert partial.final_lp is None
        return
    assert partial.root_bounds == pytest.approx(whole.root_bounds, rel=1e-7, abs=1e-9)
    assert partial_milp.model.n_row < pool.milp(with_draws=False).model.n_row or active.all()
    JOINED.append(int(len(partial.final_local) > partial_milp.model.n_row + len(partial)
                      + 2 * pool.attraction.shape[1]))  # more rows than the program, cuts and odds
    total, gain = offered_gains(partial.final_lp, partial_milp, partial.final_local)
    whole_total, whole_gain = offered_gains(whole.final_lp, pool.milp(with_draws=False))
    assert total == pytest.approx(whole_total, rel=1e-6, abs=1e-9)
    offered = (total - np.maximum(gain, 0.0) + gain) * partial_milp.objective_scale
    for offer in every_offer(pool.set_id, pool.settings.max_bundles):
        if pool.good(offer):
            value = pool.value(offer)
            assert all(value <= offered[c] + 1e-7 * max(1.0, abs(value)) for c in offer)


def test_the_cut_rounds_above_bring_candidates_in() -> None:
    """Strength of the test above: on most of its instances the duals bring candidates in, so
    their own rows are built on the way (a run of it must come first)."""
    if not JOINED:
        pytest.skip("run with the test above")
    assert sum(JOINED) >= len(JOINED) // 2
