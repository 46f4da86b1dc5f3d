"""The pruning under offer rules (``pricing/optimizer/rule_pruning.py``) against brute force.

On 240 random small instances with offer rules (SKU use, shared SKUs, price gap, alone and
together) and an attach target that is absent, slack, binding or out of reach, the best offer
over the candidates the pruning keeps must be the best over all candidates, found by enumerating
every offer; for an unreachable target, the highest attach rate. The pieces of the argument are
checked on their own: the blocking capacity by hand, the price-window cover against trying every
placement, the neighbour sets against set arithmetic.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from goal_enumeration import enumerate_offers
from pricing.optimizer.candidates import build_candidates
from pricing.optimizer.rule_pruning import RuleLimits, _window_cover, blocking_capacity, neighbour_sets
from pricing.optimizer.space import Space
from test_bruteforce import make_instance

N_INSTANCES = 240
TARGETS = ("none", "slack", "binding", "unreachable")


def _rules(rng: np.random.Generator) -> dict:
    """Each rule on with probability 0.6, at least one on; values that bind on small instances."""
    rules = dict(max_bundles_per_sku=int(rng.integers(1, 3)) if rng.random() < 0.6 else None,
                 max_shared_skus=int(rng.integers(0, 3)) if rng.random() < 0.6 else None,
                 min_price_gap=float(rng.choice([0.01, 0.05, 0.2])) if rng.random() < 0.6 else None)
    if all(v is None for v in rules.values()):
        key, value = [("max_bundles_per_sku", 1), ("max_shared_skus", 0), ("min_price_gap", 0.05)][int(rng.integers(3))]
        rules[key] = value
    return rules


def _pose(seed: int, rules: dict | None = None):
    """An instance, its rules, a target of the seed's kind, every offer, and the kept candidates
    as positions in the brute-force candidate list."""
    rng = np.random.default_rng(seed)
    inst, cands, _ = make_instance(70_000 + seed, scale="tiny" if seed % 7 == 6 else "realistic")
    rules = _rules(rng) if rules is None else rules
    offers = enumerate_offers(inst, cands, rules["max_bundles_per_sku"], rules["max_shared_skus"],
                              rules["min_price_gap"])
    ok = offers.rules_ok
    kind = TARGETS[seed % 4]
    best_free = int(np.flatnonzero(ok)[np.argmax(offers.margin[ok])])
    top = float(offers.attach[ok].max())
    target = {"none": 0.0, "slack": 0.5 * float(offers.attach[best_free]),
              "binding": 0.5 * (float(offers.attach[best_free]) + top), "unreachable": min(top + 0.02, 0.99)}[kind]
    problem = inst.problem.replace(settings=inst.problem.settings.replace(attach_rate=target, **rules))
    lib = build_candidates(problem.catalog, problem.model, problem.settings, problem.last_prices)
    space = Space.of(problem, lib)
    objective = "attach" if kind == "unreachable" else "margin"
    keep = space.keep(objective, goals=space.goals if objective == "margin" else None)
    lookup = {(frozenset(c[1]), round(float(c[2]), 4)): i for i, c in enumerate(cands)}
    kept = {lookup[(frozenset(lib.set_members(int(lib.set_id[i]))), round(float(lib.price[i]), 4))] for i in keep}
    return offers, target, kind, kept, len(lib)


@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed{s}-{TARGETS[s % 4]}") for s in range(N_INSTANCES)])
def test_pruning_under_rules_keeps_an_optimal_offer(seed: int) -> None:
    _check_an_optimum_kept(*_pose(seed))


@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed{s}-{TARGETS[s % 4]}") for s in range(1000, 1060)])
def test_price_gap_alone_keeps_an_optimal_offer(seed: int) -> None:
    """The price gap alone prunes with whole dominating sets (``price_gap_pruning.py``)."""
    gap = (0.01, 0.05, 0.2, 0.5)[seed // 4 % 4]
    _check_an_optimum_kept(*_pose(seed, dict(max_bundles_per_sku=None, max_shared_skus=None, min_price_gap=gap)))


def _check_an_optimum_kept(offers, target, kind, kept, _) -> None:
    only_kept = np.array([all(c in kept for c in combo) for combo in offers.members])
    ok = offers.rules_ok & (offers.attach >= target)
    if kind == "unreachable" or not ok.any():
        # The highest attach rate under the rules, over kept candidates and over all.
        allowed = offers.rules_ok
        assert float(offers.attach[allowed & only_kept].max()) == pytest.approx(float(offers.attach[allowed].max()),
                                                                                rel=1e-12, abs=1e-15)
        return
    assert (ok & only_kept).any(), "every optimal offer lost"
    assert float(offers.margin[ok & only_kept].max()) == pytest.approx(float(offers.margin[ok].max()),
                                                                        rel=1e-12, abs=1e-15)


def test_pruning_under_rules_prunes_on_many_instances() -> None:
    """Not vacuous: on a share of the instances the rules pruning removes candidates."""
    pruned = []
    for seed in range(0, N_INSTANCES, 6):
        offers, _, _, kept, n = _pose(seed)
        pruned.append(n - len(kept))
    assert np.mean(np.array(pruned) > 0) >= 0.3, pruned


@pytest.mark.parametrize(("items", "shared", "per_sku", "expected"), [
    pytest.param(4, 1, 2, 3.0, id="recommended-2-1"),
    pytest.param(4, 2, 3, 2.0, id="looser-3-2"),
    pytest.param(4, None, 2, 2.0, id="sku-use-only"),
    pytest.param(4, 1, None, 3.0, id="shared-only"),
    pytest.param(4, 0, None, 4.0, id="nothing-shared"),
    pytest.param(4, None, None, 1.0, id="price-gap-only"),
    pytest.param(3, 1, 1, 3.0, id="sku-once"),
    pytest.param(2, 2, None, 1.0, id="share-cannot-bind"),
])
def test_blocking_capacity_by_hand(items, shared, per_sku, expected) -> None:
    """One bundle b sharing k SKUs with c has items - k SKUs outside c; a unit it blocks by
    sharing needs max(1, s + 1 - k) of them, by SKU use m, by equal sets all of them. E.g. for
    (4, s=1, m=2): k=1 gives 3 / 1 = 3, k=0 gives 4 / min(2, 2) = 2, so 3."""
    assert blocking_capacity(RuleLimits(5, items, per_sku, shared, 0.05)) == expected


@pytest.mark.parametrize("seed", range(30))
def test_window_cover_is_the_best_placement(seed: int) -> None:
    """The dynamic program against every placement of windows starting at a point (a best one
    does), none spanning 0."""
    rng = np.random.default_rng(seed)
    n_rows, n_units = 6, int(rng.integers(1, 9))
    log_ratio = np.round(rng.normal(0, 0.15, (n_rows, n_units)), 3)
    exposed = (rng.random((n_rows, n_units)) < 0.8) & (log_ratio != 0)
    width, windows = float(rng.choice([0.02, 0.1, 0.3])), int(rng.integers(1, 4))
    got = _window_cover(log_ratio, exposed, width, windows)
    for r in range(n_rows):
        points = sorted(float(v) for v, e in zip(log_ratio[r], exposed[r]) if e)
        best = 0
        for starts in itertools.combinations_with_replacement(points, windows) if points else [()]:
            covered = {i for i, p in enumerate(points) for a in starts
                       if a <= p < (min(a + width, 0.0) if a < 0 else a + width)}
            best = max(best, len(covered))
        assert got[r] == best, (r, points)


@pytest.mark.parametrize("seed", range(10))
def test_neighbour_sets_are_one_swap_or_one_addition(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_skus, width = int(rng.integers(3, 9)), int(rng.integers(1, 5))
    sets = {frozenset(rng.choice(n_skus, int(rng.integers(1, min(width, n_skus) + 1)), replace=False).tolist())
            for _ in range(40)}
    sets = sorted(sets, key=sorted)
    members = np.full((len(sets), width), -1)
    for g, s in enumerate(sets):
        members[g, :len(s)] = sorted(s)
    g, h, x = neighbour_sets(members, n_skus)
    got = set(zip(g.tolist(), h.tolist(), x.tolist()))
    expected = {(a, a, -1) for a in range(len(sets))}
    for a, b in itertools.product(range(len(sets)), repeat=2):
        new = sets[b] - sets[a]
        if len(new) == 1 and len(sets[a] - sets[b]) <= 1:
            expected.add((a, b, next(iter(new))))
    assert got == expected
