"""Candidates: the price ladder and its rounding, compositions against an itertools brute force,
the margin floor and the stability band."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from models.demand import DemandModel, Segment
from models.errors import InputError
from pricing.optimizer.candidates import build_candidates, charm_price, ladder_price
from pricing.domain.catalog import Catalog
from pricing.domain.settings import Settings


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(2512.3, 2509.0, id="spec-2512.3"),
        pytest.param(2500.0, 2499.0, id="spec-2500"),
        pytest.param(2509.0, 2509.0, id="spec-2509"),
        pytest.param(2509.999, 2509.0, id="just-below-2510"),
        pytest.param(2519.0000000001, 2519.0, id="noise-above-a-9"),
        pytest.param(2518.9999999999, 2519.0, id="noise-below-a-9"),
        pytest.param(2510.0, 2509.0, id="round-ten"),
        pytest.param(9.0, 9.0, id="nine"),
        pytest.param(19.5, 19.0, id="nineteen-and-a-half"),
    ],
)
def test_charm_rounding(value: float, expected: float) -> None:
    assert charm_price(np.array([value]))[0] == expected


@pytest.mark.parametrize(
    ("list_total", "discount", "expected"),
    [
        # the float product misses the exact value by one ulp: 958.9999999999999 must stay 959
        pytest.param(1370.0, 0.30, 959.0, id="959-from-958.9999999999999"),
        pytest.param(2570.0, 0.30, 1799.0, id="1799-from-1798.9999999999998"),
        pytest.param(1000.0, 0.07, 929.0, id="930-from-929.9999999999999"),
        pytest.param(1000.0, 0.18, 819.0, id="820-from-820.0000000000001"),
        pytest.param(2799.0, 0.10, 2519.0, id="2519.1"),
    ],
)
def test_ladder_price_charm_with_float_products(list_total: float, discount: float, expected: float) -> None:
    assert ladder_price(np.array([list_total]), discount, "charm")[0] == expected


def test_ladder_price_none_keeps_the_exact_value_to_the_fen() -> None:
    got = ladder_price(np.array([2799.0, 1234.5, 1370.0]), 0.1, "none")
    np.testing.assert_array_equal(got, [2519.1, 1111.05, 1233.0])
    assert ladder_price(np.array([1370.0]), 0.3, "none")[0] == 959.0


# -- a small catalog for composition and price rules -------------------------------------------
SKUS = ("C1", "C2", "C3", "H1", "H2", "U1", "U2", "X1")
CATEGORIES = ("cam", "cam", "charger", "charger", "lock", "band", "watch", "lock")
ZONE_OF = ("car", "car", "car", "home", "home", "human", "human", "home")
LIST = np.array([699.0, 549.0, 299.0, 2199.0, 1299.0, 249.0, 1299.0, 999.0])
COST = np.array([552.0, 445.0, 233.0, 1810.0, 1050.0, 190.0, 1040.0, 800.0])
ACTIVE = np.array([True, True, True, True, True, True, True, False])


def catalog() -> Catalog:
    return Catalog(SKUS, tuple(f"name {s}" for s in SKUS), CATEGORIES, ZONE_OF, LIST, COST,
                   np.full(len(SKUS), 0.01), ACTIVE)


def model() -> DemandModel:
    appeal = {s: 0.1 * k for k, s in enumerate(SKUS) if ACTIVE[k]}
    return DemandModel((Segment("a", 0.6, -2.0, 0.001, appeal, -0.1, 0.3),
                        Segment("b", 0.4, -1.0, 0.0005, appeal, 0.0, 0.0)))


def brute_force_sets(settings: Settings) -> set[frozenset[str]]:
    banned = set(settings.banned)
    eligible = [k for k in range(len(SKUS)) if ACTIVE[k] and SKUS[k] not in banned]
    out = set()
    for size in range(settings.min_items, settings.max_items + 1):
        for combo in itertools.combinations(eligible, size):
            if settings.one_per_category and len({CATEGORIES[k] for k in combo}) < size:
                continue
            if not all(any(ZONE_OF[k] == z for k in combo) for z in settings.required_zones):
                continue
            out.add(frozenset(SKUS[k] for k in combo))
    return out


def sets_of(cands) -> set[frozenset[str]]:
    return {frozenset(cands.catalog.skus[i] for i in row if i >= 0) for row in cands.members}


RULES = [
    pytest.param(dict(), id="defaults"),
    pytest.param(dict(min_items=1, max_items=1, required_zones=()), id="singles"),
    pytest.param(dict(min_items=1, max_items=4, required_zones=()), id="any-size-no-zones"),
    pytest.param(dict(one_per_category=False), id="category-mix"),
    pytest.param(dict(one_per_category=False, min_items=1, max_items=5, required_zones=()), id="everything"),
    pytest.param(dict(required_zones=("car", "home", "human"), max_items=3), id="all-zones"),
    pytest.param(dict(required_zones=("human",), min_items=2, max_items=2), id="human-pairs"),
    pytest.param(dict(banned=("H1", "C1")), id="bans"),
    pytest.param(dict(min_items=3, max_items=4, banned=("U1",)), id="large-with-ban"),
    pytest.param(dict(min_items=7, max_items=8, one_per_category=False, required_zones=()), id="more-than-eligible"),
]


@pytest.mark.parametrize("rules", RULES)
def test_compositions_match_brute_force(rules: dict) -> None:
    settings = Settings(min_margin=-10.0, **rules)
    cands = build_candidates(catalog(), model(), settings)
    got = sets_of(cands)
    assert got == brute_force_sets(settings)
    assert cands.n_sets == len(got)  # no set listed twice
    assert "X1" not in {s for key in got for s in key}  # inactive
    for key in got:
        assert not key & set(settings.banned)


def test_every_set_gets_every_distinct_ladder_price() -> None:
    settings = Settings(discounts=(0.0, 0.001, 0.002, 0.10), rounding="charm", min_margin=-10.0,
                        required_zones=(), min_items=1, max_items=2)
    cands = build_candidates(catalog(), model(), settings)
    for k in range(cands.n_sets):
        total = float(sum(LIST[i] for i in cands.set_members(k)))
        expected = {float(charm_price(np.array([total * (1 - d)]))[0]) for d in settings.discounts}
        got = cands.price[cands.set_id == k]
        assert sorted(got) == sorted(expected)  # rounding collisions removed, nothing else
        assert len(set(got)) == len(got)
    # C1 alone, list 699: 699 -> 699; 698.301 and 697.602 both -> 689; 629.1 -> 629
    single = [k for k in range(cands.n_sets) if cands.set_members(k) == [0]][0]
    assert sorted(cands.price[cands.set_id == single]) == [629.0, 689.0, 699.0]


def test_margin_floor() -> None:
    discounts = (0.0, 0.05, 0.10, 0.15, 0.20, 0.25)
    for floor in (-0.5, 0.0, 0.1, 0.15, 0.2):
        settings = Settings(discounts=discounts, rounding="none", min_margin=floor)
        cands = build_candidates(catalog(), model(), settings)
        unit_cost = cands.unit_cost_total[cands.set_id]
        assert np.all(cands.price - unit_cost >= floor * cands.price - 1e-9)
        # and nothing above the floor was dropped
        everything = build_candidates(catalog(), model(), Settings(discounts=discounts, rounding="none",
                                                                     min_margin=-10.0))
        ok = everything.price - everything.unit_cost_total[everything.set_id] >= floor * everything.price - 1e-9
        assert len(cands) == int(ok.sum())


def test_margin_floor_boundary_is_kept() -> None:
    # C1 + H1: list 2898, cost 2362. At list price the margin rate is exactly 536 / 2898, the
    # floor: kept. At 20% off (2318.4) the margin is negative: dropped.
    floor = (2898.0 - 2362.0) / 2898.0
    settings = Settings(discounts=(0.0, 0.2), rounding="none", min_margin=floor, min_items=2, max_items=2)
    cands = build_candidates(catalog(), model(), settings)
    key = frozenset({"C1", "H1"})
    prices = [cands.price[c] for c in range(len(cands)) if frozenset(cands.skus_of(c)) == key]
    assert prices == [2898.0]


def test_stability_band_keeps_the_last_price_and_ladder_prices_within_it() -> None:
    # C1 + H1 (list 2898) was on the last sheet at 2650; max change 5%: band [2517.5, 2782.5].
    settings = Settings(discounts=(0.0, 0.05, 0.08, 0.10, 0.12, 0.15), rounding="charm", min_margin=0.0,
                        max_change=0.05, min_items=2, max_items=2)
    last = {frozenset({"C1", "H1"}): 2650.0, frozenset({"C2", "H2"}): 1700.0, frozenset({"C1", "C2"}): 999.0}
    cands = build_candidates(catalog(), model(), settings, last)
    by_set: dict[frozenset, list[float]] = {}
    for c in range(len(cands)):
        by_set.setdefault(frozenset(cands.skus_of(c)), []).append(float(cands.price[c]))
    # ladder: 2898->2889, 2753.1->2749, 2666.16->2659, 2608.2->2599, 2550.24->2549, 2463.3->2459
    assert sorted(by_set[frozenset({"C1", "H1"})]) == [2549.0, 2599.0, 2650.0, 2659.0, 2749.0]
    # C2 + H2 (list 1848, last 1700, band [1615, 1785]): ladder 1848->1839, 1755.6->1749,
    # 1700.16->1699, 1663.2->1659, 1626.24->1619, 1570.8->1569
    assert sorted(by_set[frozenset({"C2", "H2"})]) == [1619.0, 1659.0, 1699.0, 1700.0, 1749.0]
    # a set without a last price keeps its whole ladder; C1 + C2 breaks the zone rule: ignored
    assert len(by_set[frozenset({"C3", "H2"})]) == 6
    assert frozenset({"C1", "C2"}) not in by_set
    last_of = {frozenset(cands.skus_of(c)): cands.last_price[c] for c in range(len(cands))}
    assert last_of[frozenset({"C1", "H1"})] == 2650.0
    assert np.isnan(last_of[frozenset({"C3", "H2"})])


def test_last_price_below_the_margin_floor_is_not_offered() -> None:
    settings = Settings(discounts=(0.0,), rounding="none", min_margin=0.1, max_change=0.5, min_items=2,
                        max_items=2)
    cands = build_candidates(catalog(), model(), settings, {frozenset({"C1", "H1"}): 2400.0})  # cost 2362
    prices = [cands.price[c] for c in range(len(cands)) if frozenset(cands.skus_of(c)) == {"C1", "H1"}]
    assert prices == [2898.0]


def test_candidate_margin_and_attraction() -> None:
    settings = Settings(discounts=(0.1,), rounding="none", min_margin=-10.0)
    cands = build_candidates(catalog(), model(), settings)
    m = model()
    for c in range(len(cands)):
        members = cands.set_members(cands.set_id[c])
        displaced = sum(COST[i] + 0.01 * (LIST[i] - COST[i]) for i in members)
        assert cands.margin[c] == pytest.approx(cands.price[c] - displaced, abs=1e-9)
        zones = len({ZONE_OF[i] for i in members})
        for s, seg in enumerate(m.segments):
            u = (seg.intercept + sum(seg.appeal[SKUS[i]] for i in members) + seg.size_coef * (len(members) - 1)
                 + seg.span_bonus * (zones - 1) - seg.price_coef * cands.price[c])
            assert cands.attraction[c, s] == pytest.approx(np.exp(u), rel=1e-12)


@pytest.mark.parametrize(
    ("rules", "pattern"),
    [
        pytest.param(dict(pinned=("NOPE",)), r"\[offer\] pinned: SKU 'NOPE' is not in the catalog", id="pin-unknown"),
        pytest.param(dict(banned=("NOPE",)), r"\[offer\] banned: SKU 'NOPE' is not in the catalog", id="ban-unknown"),
        pytest.param(dict(pinned=("X1",)), r"\[offer\] pinned: SKU 'X1' is inactive in the catalog", id="pin-inactive"),
    ],
)
def test_pin_and_ban_errors(rules: dict, pattern: str) -> None:
    with pytest.raises(InputError, match=pattern):
        build_candidates(catalog(), model(), Settings(**rules))


def test_pin_mask_marks_sets_holding_pinned_skus() -> None:
    settings = Settings(pinned=("H2", "U1"), min_margin=-10.0)
    cands = build_candidates(catalog(), model(), settings)
    for k in range(cands.n_sets):
        held = {SKUS[i] for i in cands.set_members(k)}
        assert bool(cands.pin_mask[k] & 1) == ("H2" in held)
        assert bool(cands.pin_mask[k] & 2) == ("U1" in held)
