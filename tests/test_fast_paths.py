"""The faster candidates and pruning (issue 10) against the implementations they replace.

``_reference_pruning`` and ``_reference_candidates`` are the modules as they were before, kept
unchanged. On random inputs the new code must return the same pruning mask and the same
single-segment bounds to the last bit (numpy path and, when numba is installed, the compiled
loop), and the same candidates: same SKU sets in the same order, same prices; sums of per-SKU
figures may differ in the last bit (the old code summed through a matrix product).
"""

from __future__ import annotations

import importlib.util

import _reference_candidates as ref_candidates
import _reference_pruning as ref_pruning
import numpy as np
import pytest

from models.demand import DemandModel, Segment
from pricing.domain.catalog import ZONES, Catalog
from pricing.domain.settings import Settings
from pricing.optimizer import pruning
from pricing.optimizer.candidates import build_candidates

HAS_NUMBA = importlib.util.find_spec("numba") is not None


def random_pool(seed: int):
    """Candidates with varied sets (unsorted ids), segments, pins, ties and negative margins."""
    rng = np.random.default_rng(seed)
    n_sets = int(rng.integers(20, 400))
    per_set = rng.integers(1, 6, n_sets)
    set_id = np.repeat(np.arange(n_sets), per_set)
    rng.shuffle(set_id)
    n = len(set_id)
    n_seg = int(rng.integers(1, 5))
    base = rng.normal(-2.0, 1.5, size=(n_sets, n_seg))
    price_effect = rng.uniform(0.0, 2.0, size=n)
    attraction = np.exp(base[set_id] - price_effect[:, None] * rng.uniform(0.5, 1.5, n_seg)[None, :])
    margin = rng.normal(300.0, 200.0, n) + 100.0 * price_effect
    if n > 10:  # exact twins: the tie rule must decide them the same way
        twins = rng.choice(n, size=min(10, n // 5), replace=False)
        attraction[twins[1::2]] = attraction[twins[::2]][: len(twins[1::2])]
        margin[twins[1::2]] = margin[twins[::2]][: len(twins[1::2])]
    pin_mask = rng.integers(0, 4, n_sets) * (rng.random(n_sets) < 0.3)
    shares = rng.dirichlet(np.ones(n_seg))
    max_bundles = int(rng.integers(1, 6))
    return attraction, margin, set_id, pin_mask.astype(np.int64), max_bundles, shares


def score_for(attraction, margin, set_id, max_bundles, shares, objective):
    if objective == "attach":
        return attraction @ shares
    n_sets = int(set_id.max()) + 1
    bounds = ref_pruning.segment_margin_bounds(attraction, margin, set_id, n_sets, max_bundles)
    return (attraction * (margin[:, None] - bounds[None, :])) @ shares


@pytest.mark.parametrize("seed", [pytest.param(s, id=f"pool{s}") for s in range(12)])
def test_segment_bounds_are_the_same_to_the_last_bit(seed: int) -> None:
    attraction, margin, set_id, _, max_bundles, _ = random_pool(seed)
    n_sets = int(set_id.max()) + 1
    for k in (1, max_bundles, 2 * max_bundles):
        new = pruning.segment_margin_bounds(attraction, margin, set_id, n_sets, k)
        old = ref_pruning.segment_margin_bounds(attraction, margin, set_id, n_sets, k)
        np.testing.assert_array_equal(new, old)
        np.testing.assert_array_equal(pruning.per_set_max(margin, set_id, n_sets),
                                      ref_pruning.per_set_max(margin, set_id, n_sets))


@pytest.mark.parametrize("objective", ["margin", "attach"])
@pytest.mark.parametrize("seed", [pytest.param(s, id=f"pool{s}") for s in range(12)])
def test_pruning_mask_is_the_same(seed: int, objective: str) -> None:
    attraction, margin, set_id, pin_mask, max_bundles, shares = random_pool(seed)
    score = score_for(attraction, margin, set_id, max_bundles, shares, objective)
    # Small blocks and patience vary where the search stops, which must not change either.
    options = dict(objective=objective, block=int(2 + seed % 7), patience=int(3 + seed % 11))
    old = ref_pruning.dominated(attraction, margin, set_id, pin_mask, max_bundles, shares, score, **options)
    new = pruning.dominated(attraction, margin, set_id, pin_mask, max_bundles, shares, score, compiled=False,
                            chunk_cells=int(1000 + 997 * seed), **options)
    np.testing.assert_array_equal(new, old)
    if HAS_NUMBA and objective == "margin":
        compiled = pruning.dominated(attraction, margin, set_id, pin_mask, max_bundles, shares, score,
                                     compiled=True, **options)
        np.testing.assert_array_equal(compiled, old)


def random_problem(seed: int):
    rng = np.random.default_rng(1000 + seed)
    n = int(rng.integers(6, 15))
    skus = tuple(f"S{i}" for i in range(n))
    categories = tuple(f"c{int(c)}" for c in rng.integers(0, max(2, n // 2), n))
    zones = tuple(ZONES[int(z)] for z in rng.integers(0, 3, n))
    list_price = rng.integers(100, 3000, n).astype(float) + rng.choice([0.0, 0.5], n)
    cost = np.round(list_price * rng.uniform(0.4, 0.85, n), 1)
    active = rng.random(n) > 0.1
    catalog = Catalog(skus, tuple(f"name {s}" for s in skus), categories, zones, list_price, cost,
                      np.round(rng.uniform(0, 0.05, n), 4), active)
    n_seg = int(rng.integers(1, 4))
    shares = rng.dirichlet(np.ones(n_seg))
    shares[-1] = 1.0 - shares[:-1].sum()
    model = DemandModel(tuple(
        Segment(f"s{k}", float(shares[k]), float(rng.uniform(-3, 0)), float(rng.uniform(0, 0.002)),
                {s: float(rng.uniform(-0.5, 1.5)) for s in skus}, float(rng.uniform(-0.5, 0.3)),
                float(rng.uniform(0, 0.6)))
        for k in range(n_seg)))
    eligible = [s for s, a in zip(skus, active) if a]
    min_items = int(rng.integers(1, 3))
    settings = Settings(
        min_items=min_items, max_items=int(rng.integers(min_items, 5)),
        required_zones=tuple(sorted(rng.choice(ZONES, int(rng.integers(0, 3)), replace=False).tolist())),
        one_per_category=bool(rng.random() < 0.7), rounding=str(rng.choice(["none", "charm"])),
        discounts=tuple(sorted(rng.choice([0.0, 0.05, 0.1, 0.15, 0.2, 0.3], int(rng.integers(1, 5)),
                                          replace=False).tolist())),
        min_margin=float(rng.choice([-0.2, 0.0, 0.1])), max_change=float(rng.choice([0.05, 0.2])),
        pinned=tuple(rng.choice(eligible, 1).tolist()) if rng.random() < 0.3 and eligible else (),
    )
    last = {}
    for _ in range(int(rng.integers(0, 4))):
        size = int(rng.integers(1, 4))
        key = frozenset(rng.choice(skus, size, replace=False).tolist())
        last[key] = float(round(sum(list_price[skus.index(s)] for s in key) * rng.uniform(0.7, 1.0)))
    return catalog, model, settings, last


@pytest.mark.parametrize("seed", [pytest.param(s, id=f"catalog{s}") for s in range(25)])
def test_candidates_are_the_same(seed: int) -> None:
    catalog, model, settings, last = random_problem(seed)
    new = build_candidates(catalog, model, settings, last)
    old = ref_candidates.build_candidates(catalog, model, settings, last)
    for name in ("members", "set_id", "price", "pin_mask", "last_price"):
        np.testing.assert_array_equal(getattr(new, name), getattr(old, name), err_msg=name)
    for name in ("list_total", "unit_cost_total", "displaced_cost_total", "margin", "composition_utility",
                 "attraction"):
        np.testing.assert_allclose(getattr(new, name), getattr(old, name), rtol=1e-12, atol=1e-9, err_msg=name)
