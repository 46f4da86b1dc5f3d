"""Offer rules (each SKU in at most m bundles, shared SKUs, price gap) against brute force, and the
clique rows against the pairwise rule they stand for."""

from __future__ import annotations

import re

import itertools

import numpy as np
import pytest

from pricing.domain.settings import DEFAULT_CONFIG

from goal_enumeration import enumerate_offers, keeps_rules, offer_key
from pricing.domain.settings import Settings
from pricing.optimizer.offer_rules import _shared_cliques, offer_rules_of
from pricing.optimizer.optimize import GoalsOutOfReach, InfeasibleTarget, optimize
from test_bruteforce import make_instance

N_INSTANCES = 90
TARGETS = ("none", "slack", "binding", "unreachable")


def _rules(rng: np.random.Generator) -> dict:
    rules = dict(max_bundles_per_sku=int(rng.integers(1, 3)) if rng.random() < 0.5 else None,
                 max_shared_skus=int(rng.integers(0, 3)) if rng.random() < 0.5 else None,
                 min_price_gap=float(rng.choice([0.02, 0.1, 0.3])) if rng.random() < 0.5 else None)
    if all(v is None for v in rules.values()):
        rules["min_price_gap"] = 0.1
    return rules


@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed{s}-{TARGETS[s % 4]}") for s in range(N_INSTANCES)])
def test_rules_match_enumeration(seed: int) -> None:
    rng = np.random.default_rng(seed)
    inst, cands, _ = make_instance(50_000 + seed)
    rules = _rules(rng)
    offers = enumerate_offers(inst, cands, rules["max_bundles_per_sku"], rules["max_shared_skus"],
                              rules["min_price_gap"])
    ok = offers.rules_ok
    kind = TARGETS[seed % 4]
    best_free = int(np.flatnonzero(ok)[np.argmax(offers.margin[ok])])
    top = float(offers.attach[ok].max())
    target = {"none": 0.0, "slack": 0.5 * float(offers.attach[best_free]),
              "binding": 0.5 * (float(offers.attach[best_free]) + top), "unreachable": min(top + 0.02, 0.99)}[kind]
    problem = inst.problem.replace(settings=inst.problem.settings.replace(attach_rate=target, **rules))
    feasible = ok & (offers.attach >= target)
    if not feasible.any():
        with pytest.raises(InfeasibleTarget) as info:
            optimize(problem)
        assert not isinstance(info.value, GoalsOutOfReach)
        assert info.value.best_attach == pytest.approx(top, abs=1e-6)
        return
    result = optimize(problem)
    assert result.proven_optimal
    assert result.figures.margin_per_buyer == pytest.approx(float(offers.margin[feasible].max()), rel=1e-4, abs=1e-7)
    lookup = {(frozenset(c[1]), round(c[2], 4)): i for i, c in enumerate(cands)}
    chosen = tuple(lookup[offer_key(problem, b)] for b in result.offer.bundles)
    assert keeps_rules(inst, cands, chosen, rules["max_bundles_per_sku"], rules["max_shared_skus"],
                       rules["min_price_gap"])


@pytest.mark.parametrize("seed", range(25))
def test_clique_rows_state_exactly_the_pairwise_rules(seed: int) -> None:
    """Two candidates conflict (share more than s SKUs, or prices closer than g) exactly when
    some clique row holds both; SKU-use rows list exactly each SKU's holders."""
    rng = np.random.default_rng(seed)
    n, n_skus, width = int(rng.integers(2, 40)), int(rng.integers(3, 9)), int(rng.integers(1, 5))
    sets = np.full((n, width), -1)
    for c in range(n):
        size = int(rng.integers(1, min(width, n_skus) + 1))
        sets[c, :size] = np.sort(rng.choice(n_skus, size, replace=False))
    prices = np.round(rng.uniform(100, 300, n), int(rng.integers(0, 2)))
    shared, gap, per_sku = int(rng.integers(0, 3)), float(rng.choice([0.01, 0.05, 0.2])), int(rng.integers(1, 3))
    rules = offer_rules_of(sets, prices, per_sku, shared, gap)
    together_share = {frozenset((int(a), int(b))) for row in rules.shared_rows for a, b in itertools.combinations(row, 2)}
    together_price = {frozenset((int(a), int(b))) for row in rules.price_rows for a, b in itertools.combinations(row, 2)}
    for a, b in itertools.combinations(range(n), 2):
        common = len(set(sets[a][sets[a] >= 0]) & set(sets[b][sets[b] >= 0]))
        same_set = set(sets[a][sets[a] >= 0]) == set(sets[b][sets[b] >= 0])
        if not same_set:  # one price per set covers these already
            assert (frozenset((a, b)) in together_share) == (common > shared), (a, b)
        low, high = sorted((prices[a], prices[b]))
        assert (frozenset((a, b)) in together_price) == bool(high < low * (1 + gap)), (a, b)
    for row in rules.per_sku_rows:
        sku = set.intersection(*(set(sets[c][sets[c] >= 0]) for c in row))
        assert sku, "a SKU-use row whose members hold no common SKU"


@pytest.mark.parametrize("seed", range(20))
def test_an_lp_answer_rounds_to_an_offer_that_keeps_every_rule(seed: int) -> None:
    """``Pool.rounded`` (the incumbent's start from an LP answer) takes the largest ``z`` first
    and never two prices of one set, more than K bundles, or a pair or SKU count a rule forbids."""
    from pricing.optimizer.candidates import build_candidates
    from pricing.optimizer.space import Space

    rng = np.random.default_rng(seed)
    inst, _, _ = make_instance(70_000 + seed)
    problem = inst.problem.replace(settings=inst.problem.settings.replace(**_rules(rng)))
    cands = build_candidates(problem.catalog, problem.model, problem.settings, problem.last_prices)
    space = Space.of(problem, cands)
    pool = space.pool("margin", space.keep("margin", goals=space.goals), goals=space.goals)
    z = np.where(rng.random(len(pool.margin)) < 0.5, rng.random(len(pool.margin)), 0.0)
    offer = list(pool.rounded(z))
    assert len(offer) <= problem.settings.max_bundles
    assert len(set(pool.set_id[offer].tolist())) == len(offer)
    assert all(z[c] > 0 for c in offer)
    if offer:
        assert z[offer[0]] == z.max()
    if pool.rules is not None:
        assert pool.rules.allows(offer)


@pytest.mark.parametrize("seed", range(10))
def test_clique_rows_do_not_depend_on_how_skus_are_numbered(seed: int) -> None:
    """SKU numbers too large for one integer key per set (the rows then go through
    ``np.unique(axis=0)``) give the same rows as small ones."""
    rng = np.random.default_rng(seed)
    n, width = int(rng.integers(2, 60)), 4
    sets = np.full((n, width), -1)
    for c in range(n):
        size = int(rng.integers(1, width + 1))
        sets[c, :size] = np.sort(rng.choice(7, size, replace=False))
    renumber = np.sort(rng.choice(2**40, 7, replace=False))
    wide = np.where(sets >= 0, renumber[np.maximum(sets, 0)], -1)
    for size in range(1, width + 1):
        small = sorted(tuple(row) for row in _shared_cliques(sets, size))
        large = sorted(tuple(row) for row in _shared_cliques(wide, size))
        assert small == large


def test_settings_flags_and_toml_keys_round_trip(tmp_path) -> None:
    path = tmp_path / "s.toml"
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")  # a settings file sets every key of the spec
    for key, value in (("max_bundles_per_sku", "2"), ("max_shared_skus", "1"), ("min_price_gap", "0.1"),
                       ("margin_rate_points", "3"), ("devices_per_buyer", "1.1"), ("target_confidence", "0.9")):
        text = re.sub(rf"^(# )?{key} = [^ ]+", f"{key} = {value}", text, flags=re.M)
    path.write_text(text)
    s = Settings.from_toml(path)
    assert (s.max_bundles_per_sku, s.max_shared_skus, s.min_price_gap) == (2, 1, 0.1)
    assert (s.margin_rate_points, s.devices_per_buyer, s.target_confidence) == (3, 1.1, 0.9)
    assert s.to_dict()["goals"] == {"margin_rate_points": 3, "devices_per_buyer": 1.1, "target_confidence": 0.9}
    assert s.has_offer_rules


@pytest.mark.parametrize(("key", "value", "message"), [
    pytest.param("max_bundles_per_sku", 0, r"\[offer\] max_bundles_per_sku: must be a whole number from 1 to 500", id="sku-use"),
    pytest.param("max_shared_skus", -1, r"\[offer\] max_shared_skus: must be a whole number from 0 to 10", id="shared"),
    pytest.param("min_price_gap", 1.5, r"\[price\] min_price_gap: must be a number in \[0, 1\)", id="gap"),
    pytest.param("target_confidence", 1.0, r"\[goals\] target_confidence: must be a number in \(0, 1\)", id="conf"),
    pytest.param("devices_per_buyer", -2, r"\[goals\] devices_per_buyer: must be a number in \[0, 1000\]", id="dev"),
])
def test_bad_rule_and_goal_values_name_the_key(key, value, message) -> None:
    from models.errors import InputError

    with pytest.raises(InputError, match=message):
        Settings().replace(**{key: value})


def test_a_target_only_the_lp_reaches_is_answered_unreachable_in_seconds() -> None:
    """Under the default offer rules the shipped offers reach at most 20.21% attach while the LP
    relaxation reaches more: a 25% target once kept the MILP searching all 37,808 candidates for
    the whole time limit and ended with no offer (no exception: this test failed). The offer of
    highest attach rate, solved for when the searches find none, answers it as unreachable, proven."""
    from pricing.domain.problem import Problem

    base = Problem.load()
    assert base.settings.has_offer_rules  # the shipped defaults
    problem = base.replace(settings=base.settings.replace(attach_rate=0.25, time_limit=30))
    with pytest.raises(InfeasibleTarget) as info:
        optimize(problem)
    assert info.value.proven
    assert info.value.best_attach == pytest.approx(0.2021, abs=5e-4)
    reachable = optimize(base.replace(settings=base.settings.replace(attach_rate=0.20)))
    assert reachable.proven_optimal and reachable.figures.attach_rate >= 0.20
