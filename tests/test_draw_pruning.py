"""Pruning with coefficient draws (target confidence) against brute force.

Each draw's attach target is kept through the share-weighted swap test
(``swap_safety._attach_kept``), weaker than ``v_d >= v_c`` in every segment of every draw. On
random instances (one to three segments, one to three bundles, with and without offer rules) the
best offer meeting the target under the model and in each of the draws, over the candidates the
pruning keeps, must be the best over all candidates, found by enumeration.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from models.demand import DemandModel, Segment
from pricing.domain.catalog import Catalog
from pricing.domain.problem import Problem
from pricing.domain.settings import Settings
from pricing.optimizer.candidates import build_candidates
from pricing.optimizer.space import Space
from pricing.optimizer.swap_safety import _attach_kept

ZONES = ("car", "home", "human")


def _problem(seed: int) -> Problem:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(4, 7))
    skus = tuple(f"S{i}" for i in range(n))
    list_price = rng.integers(200, 1500, n).astype(float)
    catalog = Catalog(skus=skus, names=skus, categories=tuple(f"c{i}" for i in range(n)),
                      zones=tuple(ZONES[int(z)] for z in rng.integers(0, 3, n)), list_price=list_price,
                      unit_cost=np.round(list_price * rng.uniform(0.4, 0.7, n)),
                      standalone_rate=np.round(rng.uniform(0.0, 0.03, n), 4), active=np.ones(n, bool))
    n_seg = int(rng.integers(1, 4))
    shares = rng.dirichlet(np.ones(n_seg))
    shares[-1] = 1.0 - shares[:-1].sum()
    params = ["intercept", "price_coef", "span_bonus", *(f"appeal:{k}" for k in skus)]
    segments, fit = [], {}
    for s in range(n_seg):
        sd = np.concatenate([[0.2, 0.0003, 0.1], rng.uniform(0.2, 1.2, n)])
        fit[f"seg{s}"] = {"params": params, "covariance": np.diag(sd**2).tolist()}
        segments.append(Segment(f"seg{s}", float(shares[s]), float(rng.uniform(-2.5, -0.5)),
                                float(rng.uniform(2e-4, 1.2e-3)), {k: float(rng.uniform(-0.3, 1.0)) for k in skus},
                                size_coef=float(rng.uniform(-0.4, 0.1)), span_bonus=float(rng.uniform(0, 0.5))))
    rules = {}
    if seed % 3 == 2:
        rules = dict(max_bundles_per_sku=1, min_price_gap=0.1)
    settings = Settings(max_bundles=int(rng.integers(1, 4)), min_items=1, max_items=int(rng.integers(1, 3)),
                        required_zones=(), one_per_category=False, discounts=(0.05, 0.15, 0.3), rounding="none",
                        min_margin=0.0, attach_rate=0.0, time_limit=60.0, **rules)
    return Problem(catalog, DemandModel(tuple(segments), "CNY", {"segments": fit}), settings)


def _attach(v: np.ndarray, shares: np.ndarray) -> float:
    return float(((v.sum(axis=0) / (1.0 + v.sum(axis=0))) * shares).sum())


def _margin(v: np.ndarray, m: np.ndarray, shares: np.ndarray) -> float:
    return float(((v / (1.0 + v.sum(axis=0))) * shares).sum(axis=1) @ m)


def _keeps_rules(problem: Problem, cands, combo) -> bool:
    s = problem.settings
    sets = [set(cands.set_members(int(cands.set_id[c]))) for c in combo]
    if s.max_bundles_per_sku is not None:
        for sku in set().union(*sets):
            if sum(sku in x for x in sets) > s.max_bundles_per_sku:
                return False
    if s.min_price_gap is not None:
        for a, b in itertools.combinations(combo, 2):
            low, high = sorted((cands.price[a], cands.price[b]))
            if high < low * (1 + s.min_price_gap):
                return False
    return True


@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed{s}") for s in range(60)])
def test_pruning_with_draws_keeps_an_optimal_offer(seed: int) -> None:
    problem = _problem(seed)
    cands = build_candidates(problem.catalog, problem.model, problem.settings)
    shares = problem.model.shares
    space = Space.of(problem, cands, n_draws=8, seed=seed)
    offers = [combo for size in range(1, problem.settings.max_bundles + 1)
              for combo in itertools.combinations(range(len(cands)), size)
              if len({int(cands.set_id[c]) for c in combo}) == size and _keeps_rules(problem, cands, combo)]
    nominal = np.array([_attach(cands.attraction[list(o)], shares) for o in offers])
    worst = np.array([min(_attach(v[list(o)], shares) for v in space.draws) for o in offers])
    margin = np.array([_margin(cands.attraction[list(o)], cands.margin[list(o)], shares) for o in offers])
    # A target between the draws' worst attach rates of offers: binding in some draw.
    target = float(np.quantile(np.minimum(nominal, worst), (0.3, 0.6, 0.85)[seed // 3 % 3]))
    problem = problem.replace(settings=problem.settings.replace(attach_rate=target))
    space = Space.of(problem, cands, n_draws=8, seed=seed)
    keep = set(space.keep("margin", goals=space.goals, with_draws=True).tolist())
    ok = (nominal >= target) & (worst >= target)
    kept = np.array([all(c in keep for c in o) for o in offers])
    assert (ok & kept).any()
    assert float(margin[ok & kept].max()) == pytest.approx(float(margin[ok].max()), rel=1e-12)


def test_weighted_attach_test_by_hand() -> None:
    """Two segments of equal share; d less attractive in one. With the rest's odds at most 3:
    segment 0 gains at least min(1 x 1 / (2 x 1.5), 3 x 1 / (4 x 3.5)) = 0.2143 (v_d = 1, v_c = 0.5
    ... here gap 0.5: 0.5 / 3 = 0.1667 at D = 1, 1.5 / 7 = 0.2143 at D = 3), segment 1 loses at
    most 0.1 x D / ((D + 0.4)(D + 0.5)) at D = max(1, sqrt(0.2)) = 1: 0.1 / 2.1 = 0.0476."""
    vd, vc = np.array([1.0, 0.4]), np.array([0.5, 0.5])
    odds, shares = np.array([3.0, 3.0]), np.array([0.5, 0.5])
    assert _attach_kept(vd, vc, odds, shares)
    # A loss above the least gain: segment 1 much less attractive.
    assert not _attach_kept(np.array([1.0, 0.05]), np.array([0.5, 1.0]), odds, shares)
    # Equal attractions keep the rate.
    assert _attach_kept(vc, vc, odds, shares)
