"""The optimizer against brute-force enumeration of every offer on small random instances.

The enumeration below follows the spec's rules with its own arithmetic (exact fractions for the
price ladder, the margin floor and the stability band; plain logit formulas for the figures)
and shares no code with the library beyond the objects used to pose the problem.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pytest

from models.demand import DemandModel, Segment
from pricing.domain.catalog import Catalog
from pricing.optimizer.optimize import InfeasibleTarget, optimize
from pricing.domain.problem import Problem
from pricing.domain.settings import Settings

ZONE_NAMES = ("car", "home", "human")
DISCOUNT_CHOICES = ("0", "0.05", "0.08", "0.1", "0.12", "0.15", "0.2", "0.25", "0.3")
MIN_MARGIN_CHOICES = ("-0.2", "0", "0.1", "0.15", "0.2")
MAX_CHANGE_CHOICES = ("0.05", "0.1", "0.2")
MAX_OFFERS = 60_000  # offers enumerated per instance, at most
N_INSTANCES = 300
TARGET_KINDS = ("slack", "binding", "unreachable")


@dataclass
class Instance:
    problem: Problem
    # brute-force view
    list_price: list[int]
    unit_cost: list[int]
    standalone_rate: list[float]
    categories: list[str]
    zones: list[str]
    active: list[bool]
    shares: list[float]
    intercept: list[float]
    price_coef: list[float]
    size_coef: list[float]
    span_bonus: list[float]
    appeal: list[list[float]]  # [segment][sku]
    settings: dict
    last_prices: dict[frozenset[int], int]


def charm(value: Fraction) -> int:
    """Largest whole CNY ending in 9 that is <= value."""
    whole = math.floor(value)
    while whole % 10 != 9:
        whole -= 1
    return whole


def allowed_sets(inst: Instance) -> list[tuple[int, ...]]:
    s = inst.settings
    eligible = [i for i in range(len(inst.list_price)) if inst.active[i] and i not in s["banned"]]
    out = []
    for size in range(s["min_items"], s["max_items"] + 1):
        for combo in itertools.combinations(eligible, size):
            cats = [inst.categories[i] for i in combo]
            if s["one_per_category"] and len(set(cats)) < len(cats):
                continue
            zones = {inst.zones[i] for i in combo}
            if any(z not in zones for z in s["required_zones"]):
                continue
            out.append(combo)
    return out


def candidate_prices(inst: Instance, combo: tuple[int, ...]) -> list[Fraction]:
    s = inst.settings
    total = sum(inst.list_price[i] for i in combo)
    cost = sum(inst.unit_cost[i] for i in combo)
    prices = set()
    for d in s["discounts"]:
        raw = total * (1 - Fraction(d))
        prices.add(Fraction(charm(raw)) if s["rounding"] == "charm" else raw)
    last = inst.last_prices.get(frozenset(combo))
    if last is not None:
        band = Fraction(s["max_change"]) * last
        prices = {p for p in prices if abs(p - last) <= band} | {Fraction(last)}
    floor = Fraction(s["min_margin"])
    return sorted(p for p in prices if p > 0 and (p - cost) >= floor * p)


def enumerate_candidates(inst: Instance):
    """(set index, SKU set, price, incremental margin, attraction per segment) of every candidate."""
    sets = allowed_sets(inst)
    rows = []
    for k, combo in enumerate(sets):
        displaced = sum(
            inst.unit_cost[i] + inst.standalone_rate[i] * (inst.list_price[i] - inst.unit_cost[i]) for i in combo
        )
        n_zones = len({inst.zones[i] for i in combo})
        for p in candidate_prices(inst, combo):
            price = float(p)
            attraction = []
            for s in range(len(inst.shares)):
                u = (inst.intercept[s] + sum(inst.appeal[s][i] for i in combo)
                     + inst.size_coef[s] * (len(combo) - 1) + inst.span_bonus[s] * (n_zones - 1)
                     - inst.price_coef[s] * price)
                attraction.append(math.exp(u))
            rows.append((k, combo, price, price - displaced, attraction))
    return rows


def count_offers(n: int, k: int) -> int:
    return sum(math.comb(n, j) for j in range(k + 1))


def enumerate_offers(inst: Instance, cands):
    """Every offer of <= K candidates with distinct sets that covers the pins, with its attach
    rate and margin per buyer. Returns (offers as tuples, attach array, margin array)."""
    s = inst.settings
    pinned = set(s["pinned"])
    shares = np.array(inst.shares)
    offers, attach, margin = [], [], []
    for size in range(0, s["max_bundles"] + 1):
        for combo in itertools.combinations(range(len(cands)), size):
            if len({cands[c][0] for c in combo}) < size:
                continue
            if pinned and not pinned <= {i for c in combo for i in cands[c][1]}:
                continue
            offers.append(combo)
            attach_s = np.zeros(len(shares))
            margin_s = np.zeros(len(shares))
            for seg in range(len(shares)):
                denom = 1.0 + sum(cands[c][4][seg] for c in combo)
                for c in combo:
                    take = cands[c][4][seg] / denom
                    attach_s[seg] += take
                    margin_s[seg] += take * cands[c][3]
            attach.append(float(attach_s @ shares))
            margin.append(float(margin_s @ shares))
    return offers, np.array(attach), np.array(margin)


def make_instance(seed: int, scale: str = "realistic") -> tuple[Instance, list, tuple]:
    """A random instance small enough to enumerate, with its candidates and offers.

    ``scale="realistic"`` gives attach rates of a few percent up to about half of the buyers, as
    in the shipped data; ``"tiny"`` gives utilities so low that attach rates are 1e-6 .. 1e-2.
    """
    rng = np.random.default_rng(seed)
    if scale == "realistic":
        intercept_range, appeal_range, coef_range = (-2.5, 0.0), (-0.3, 1.2), (0.0002, 0.0012)
    else:
        intercept_range, appeal_range, coef_range = (-4.0, -1.0), (-0.5, 1.5), (0.0005, 0.004)
    while True:
        n = int(rng.integers(5, 8))
        n_cat = int(rng.integers(3, 6))
        categories = [f"cat{int(c)}" for c in rng.integers(0, n_cat, n)]
        zones = [ZONE_NAMES[int(z)] for z in rng.integers(0, 3, n)]
        list_price = [int(x) for x in rng.integers(100, 3000, n)]
        unit_cost = [int(round(lp * rng.uniform(0.4, 0.85))) for lp in list_price]
        standalone = [0.0 if rng.random() < 0.3 else round(float(rng.uniform(0, 0.05)), 4) for _ in range(n)]
        active = [True] * n
        if rng.random() < 0.2:
            active[int(rng.integers(n))] = False
        n_seg = int(rng.integers(1, 4))
        raw_shares = rng.dirichlet(np.ones(n_seg))
        shares = [float(x) for x in raw_shares[:-1]]
        shares.append(1.0 - sum(shares))
        intercept = [float(rng.uniform(*intercept_range)) for _ in range(n_seg)]
        price_coef = [0.0 if rng.random() < 0.15 else float(rng.uniform(*coef_range)) for _ in range(n_seg)]
        size_coef = [float(rng.uniform(-0.5, 0.3)) for _ in range(n_seg)]
        span_bonus = [float(rng.uniform(0, 0.6)) for _ in range(n_seg)]
        appeal = [[float(rng.uniform(*appeal_range)) for _ in range(n)] for _ in range(n_seg)]
        min_items = int(rng.integers(1, 3))
        max_items = int(rng.integers(min_items, 4))
        n_req = int(rng.integers(0, 3))
        required = tuple(sorted(rng.choice(ZONE_NAMES, n_req, replace=False).tolist()))
        discounts = tuple(sorted(rng.choice(DISCOUNT_CHOICES, int(rng.integers(2, 5)), replace=False).tolist(),
                                 key=float))
        settings = dict(
            max_bundles=int(rng.integers(1, 4)),
            min_items=min_items,
            max_items=max_items,
            required_zones=required,
            one_per_category=bool(rng.random() < 0.7),
            discounts=discounts,
            rounding=str(rng.choice(["none", "charm"])),
            min_margin=str(rng.choice(MIN_MARGIN_CHOICES)),
            max_change=str(rng.choice(MAX_CHANGE_CHOICES)),
            pinned=(),
            banned=(),
        )
        act = [i for i in range(n) if active[i]]
        if rng.random() < 0.2:
            settings["banned"] = (int(rng.choice(act)),)
        if rng.random() < 0.2:
            choices = [i for i in act if i not in settings["banned"]]
            settings["pinned"] = (int(rng.choice(choices)),)
        inst = Instance(None, list_price, unit_cost, standalone, categories, zones, active, shares, intercept,
                        price_coef, size_coef, span_bonus, appeal, settings, {})
        sets = allowed_sets(inst)
        if not sets:
            continue
        if rng.random() < 0.4:
            for k in rng.choice(len(sets), min(len(sets), int(rng.integers(1, 3))), replace=False):
                combo = sets[int(k)]
                total = sum(list_price[i] for i in combo)
                inst.last_prices[frozenset(combo)] = int(round(total * rng.uniform(0.72, 1.0)))
            if rng.random() < 0.3:  # a set the rules no longer allow: ignored
                inst.last_prices[frozenset(range(n))] = 999
        cands = enumerate_candidates(inst)
        if count_offers(len(cands), settings["max_bundles"]) > MAX_OFFERS:
            continue
        offers = enumerate_offers(inst, cands)
        if not offers[0]:  # the pin cannot be met: a different question
            continue
        break

    skus = [f"S{i}" for i in range(n)]
    catalog = Catalog(
        skus=tuple(skus), names=tuple(f"Product {i}" for i in range(n)), categories=tuple(categories),
        zones=tuple(zones), list_price=np.array(list_price, float), unit_cost=np.array(unit_cost, float),
        standalone_rate=np.array(standalone, float), active=np.array(active, bool),
    )
    model = DemandModel(segments=tuple(
        Segment(name=f"seg{s}", share=shares[s], intercept=intercept[s], price_coef=price_coef[s],
                appeal={skus[i]: appeal[s][i] for i in range(n)}, size_coef=size_coef[s], span_bonus=span_bonus[s])
        for s in range(n_seg)
    ))
    lib_settings = Settings(
        max_bundles=settings["max_bundles"], min_items=min_items, max_items=max_items, required_zones=required,
        one_per_category=settings["one_per_category"], pinned=tuple(skus[i] for i in settings["pinned"]),
        banned=tuple(skus[i] for i in settings["banned"]), discounts=tuple(float(d) for d in discounts),
        rounding=settings["rounding"], min_margin=float(settings["min_margin"]),
        max_change=float(settings["max_change"]), attach_rate=0.0, buyers=1000.0, time_limit=30.0, rel_gap=1e-4,
    )
    last = {frozenset(skus[i] for i in key): float(p) for key, p in inst.last_prices.items()}
    inst.problem = Problem(catalog, model, lib_settings, last)
    return inst, cands, offers


def pick_target(kind: str, attach: np.ndarray, margin: np.ndarray) -> float:
    best_margin_attach = float(attach[np.argmax(margin)])
    top = float(attach.max())
    if kind == "slack":
        return 0.5 * best_margin_attach
    if kind == "binding":
        if top - best_margin_attach < 1e-4:
            return 0.5 * best_margin_attach  # the margin optimum already has the top attach rate
        return best_margin_attach + 0.5 * (top - best_margin_attach)
    return min(top + 0.02, 0.5 * (top + 1.0))


CASES = [
    pytest.param(seed, TARGET_KINDS[seed % 3], "realistic", id=f"seed{seed}-{TARGET_KINDS[seed % 3]}")
    for seed in range(N_INSTANCES)
]
# Instances whose attach rates are tiny (1e-6 .. 1e-2 of buyers): the solver's tolerances are then
# coarse against the take shares. These seeds failed once (a wrong "optimal" proof, or a gap the
# solver could not certify on an instance it solved in milliseconds); kept as regressions.
TINY_CASES = [
    pytest.param(seed, kind, "tiny", id=f"tiny-seed{seed}-{kind}")
    for seed, kind in ((21, "slack"), (22, "binding"), (78, "slack"), (93, "slack"), (132, "slack"),
                       (193, "binding"), (3, "slack"), (4, "binding"), (5, "unreachable"))
]


@pytest.mark.parametrize(("seed", "kind", "scale"), CASES + TINY_CASES)
def test_optimizer_matches_enumeration(seed: int, kind: str, scale: str) -> None:
    inst, cands, (offers, attach, margin) = make_instance(seed, scale)
    target = pick_target(kind, attach, margin)
    problem = inst.problem.replace(settings=inst.problem.settings.replace(attach_rate=target))
    feasible = attach >= target - 1e-9

    if not feasible.any():
        with pytest.raises(InfeasibleTarget) as info:
            optimize(problem)
        assert info.value.best_attach == pytest.approx(float(attach.max()), abs=1e-6)
        return

    best = float(margin[feasible].max())
    result = optimize(problem)
    assert result.status.value == "optimal"
    assert result.proven_optimal
    got = result.figures.margin_per_buyer
    assert got == pytest.approx(best, rel=1e-4, abs=1e-7)
    assert result.figures.attach_rate >= target - 1e-6

    # The offer itself lies in the enumerated space: each bundle is an enumerated candidate, the
    # sets are distinct, at most K of them, and the pins are covered.
    skus = problem.catalog.skus
    lookup = {(frozenset(c[1]), round(c[2], 4)): c for c in cands}
    chosen = []
    for bundle in result.offer.bundles:
        key = (frozenset(skus.index(s) for s in bundle.skus), round(bundle.price, 4))
        assert key in lookup, f"bundle {bundle} is not a rule-abiding candidate"
        chosen.append(lookup[key])
    assert len(chosen) <= inst.settings["max_bundles"]
    assert len({frozenset(c[1]) for c in chosen}) == len(chosen)
    held = {i for c in chosen for i in c[1]}
    assert set(inst.settings["pinned"]) <= held
    # Recompute the offer's figures with the plain formulas.
    shares = np.array(inst.shares)
    take = np.array([[c[4][s] for s in range(len(shares))] for c in chosen]).reshape(len(chosen), len(shares))
    take = take / (1.0 + take.sum(axis=0))
    assert float(take.sum(axis=0) @ shares) == pytest.approx(result.figures.attach_rate, rel=1e-9, abs=1e-12)
    plain_margin = float((take * np.array([c[3] for c in chosen])[:, None]).sum(axis=0) @ shares) if chosen else 0.0
    assert plain_margin == pytest.approx(got, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed{s}") for s in range(40)])
def test_the_bound_without_an_lp_is_above_every_offer(seed: int) -> None:
    """The bound a run out of time reports when no LP was solved (each segment's best on its
    own, weighted by share) is at least every enumerated offer's margin per buyer."""
    from pricing.optimizer.candidates import build_candidates
    from pricing.optimizer.pool_solve import _separable_bound
    from pricing.optimizer.space import Space

    inst, _, offers = make_instance(60_000 + seed, "realistic" if seed % 3 else "tiny")
    problem = inst.problem
    cands = build_candidates(problem.catalog, problem.model, problem.settings, problem.last_prices)
    space = Space.of(problem, cands)
    pool = space.pool("margin", np.arange(len(cands)), goals=space.goals)
    best = max(offers[2])
    bound = _separable_bound(pool)
    assert bound >= best - 1e-9 * max(1.0, abs(best))
    # and it is a bound, not a number pushed out of the way: no buyer yields more than the best unit margin
    assert bound <= max(float(pool.margin.max()), 0.0) + 1e-9


@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed{s}") for s in range(20)])
def test_pruning_out_of_time_keeps_everything_the_full_pruning_keeps(seed: int) -> None:
    """Stopped by its deadline after the first block, the pruning drops only what the full
    search drops too (it is safe at every stopping point)."""
    from pricing.optimizer.candidates import build_candidates
    from pricing.optimizer.pool import reduce_candidates

    inst, _, offers = make_instance(61_000 + seed)
    problem = inst.problem
    cands = build_candidates(problem.catalog, problem.model, problem.settings, problem.last_prices)
    shares, k = problem.model.shares, problem.settings.max_bundles
    full = set(reduce_candidates(cands, shares, k, "margin").tolist())
    early = set(reduce_candidates(cands, shares, k, "margin", deadline=0.0).tolist())
    assert full <= early


def test_pruning_reads_its_deadline() -> None:
    """With its deadline already past, the pruning stops after its first block: on this instance
    the full search drops 50 of 67 candidates, the stopped one only 39."""
    from pricing.optimizer.candidates import build_candidates
    from pricing.optimizer.pool import reduce_candidates

    problem = make_instance(61_018)[0].problem
    cands = build_candidates(problem.catalog, problem.model, problem.settings, problem.last_prices)
    shares, k = problem.model.shares, problem.settings.max_bundles
    full = reduce_candidates(cands, shares, k, "margin")
    early = reduce_candidates(cands, shares, k, "margin", deadline=0.0)
    assert len(cands) == 67 and len(full) == 17 and len(early) == 28
