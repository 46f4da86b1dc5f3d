"""The optimizer against the closed forms of single-segment logit pricing.

With one segment, single-SKU "bundles" (each SKU its own category, no standalone sales so the
incremental margin is ``p - c``), ``K = n`` and prices free on a fine ladder, the problem is the
multi-product logit pricing problem of Li & Huh (2011) and Gallego & Wang (2014): with utilities
``a_i - b p_i`` every markup equals ``(1 + W(x)) / b``, ``x = sum exp(a_i - b c_i - 1)``, profit per
customer is ``W(x) / b`` and the purchase probability ``W / (1 + W)``. With a purchase floor
``A > W / (1 + W)`` the markups stay equal at ``ln(S (1 - A) / A) / b``, ``S = sum exp(a_i - b c_i)``,
and profit is ``A`` times that markup. In the spec's model: intercept 0, appeal ``a_i``,
``price_coef = b``.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import lambertw

from models.demand import DemandModel, Segment
from pricing.domain.catalog import Catalog
from pricing.optimizer.optimize import optimize
from pricing.domain.problem import Problem
from pricing.domain.settings import Settings

SKUS = ("A", "B", "C")


def lambert_w(x: float) -> float:
    value = complex(lambertw(x))
    assert abs(value.imag) < 1e-12
    return value.real


def free_markup(appeal: np.ndarray, cost: np.ndarray, b: float) -> tuple[float, float]:
    """(equal markup CNY, Lambert W value) of the unconstrained optimum."""
    w = lambert_w(float(np.exp(appeal - b * cost - 1.0).sum()))
    return (1.0 + w) / b, w


def floor_markup(appeal: np.ndarray, cost: np.ndarray, b: float, attach: float) -> float:
    """Equal markup (CNY) of the optimum with purchase probability at least ``attach``."""
    s = float(np.exp(appeal - b * cost).sum())
    return float(np.log(s * (1.0 - attach) / attach) / b)


def make_problem(appeal, cost, b, list_price, discounts, attach_rate=0.0, time_limit=30.0) -> Problem:
    n = len(appeal)
    catalog = Catalog(
        skus=SKUS[:n], names=tuple(f"Product {s}" for s in SKUS[:n]), categories=tuple(f"cat_{s}" for s in SKUS[:n]),
        zones=("car", "home", "human")[:n], list_price=np.asarray(list_price, float),
        unit_cost=np.asarray(cost, float), standalone_rate=np.zeros(n), active=np.ones(n, bool),
    )
    model = DemandModel((Segment("only", 1.0, 0.0, b, dict(zip(SKUS, map(float, appeal)))),))
    settings = Settings(
        max_bundles=n, min_items=1, max_items=1, required_zones=(), one_per_category=True,
        discounts=tuple(discounts), rounding="none", min_margin=0.0, max_change=0.1,
        attach_rate=attach_rate, buyers=1000.0, time_limit=time_limit, rel_gap=1e-4,
    )
    return Problem(catalog, model, settings)


def ladder(low: float, high: float, step: float) -> tuple[float, ...]:
    count = int(round((high - low) / step))
    return tuple(round(low + k * step, 6) for k in range(count + 1))


def prices_by_sku(result) -> np.ndarray:
    price = {bundle.skus[0]: bundle.price for bundle in result.offer.bundles}
    return np.array([price[s] for s in SKUS])


INSTANCES = [
    pytest.param(np.array([1.2, 0.8, 0.5]), np.array([300.0, 500.0, 800.0]), 0.004, id="cheap-accessories"),
    pytest.param(np.array([2.5, 1.9, 2.2]), np.array([900.0, 1400.0, 1100.0]), 0.0015, id="home-devices"),
    pytest.param(np.array([0.3, 0.3, 0.3]), np.array([200.0, 200.0, 200.0]), 0.01, id="identical-skus"),
]


@pytest.mark.parametrize(("appeal", "cost", "b"), INSTANCES)
def test_free_prices_have_equal_lambert_w_markups(appeal, cost, b) -> None:
    markup, w = free_markup(appeal, cost, b)
    # List prices put the optimum at a 60% discount; the ladder runs 45%..75% in 0.5-point steps.
    list_price = np.round((cost + markup) / 0.4)
    problem = make_problem(appeal, cost, b, list_price, ladder(0.45, 0.75, 0.005))
    step = 0.005 * list_price  # CNY between neighbouring ladder prices of each SKU

    result = optimize(problem)

    assert result.status.value == "optimal"
    profit = result.figures.margin_per_buyer
    assert profit <= w / b + 1e-9  # the continuous optimum bounds every ladder offer
    # Profit is flat at the optimum: a price off by at most one step costs second order.
    assert profit >= w / b - len(cost) * b * float(step.max()) ** 2
    assert np.all(np.abs(prices_by_sku(result) - (cost + markup)) <= step)
    assert result.figures.attach_rate == pytest.approx(w / (1.0 + w), abs=b * float(step.max()))


@pytest.mark.parametrize(("appeal", "cost", "b"), INSTANCES)
def test_attach_floor_gives_equal_log_markups(appeal, cost, b) -> None:
    markup, w = free_markup(appeal, cost, b)
    s = float(np.exp(appeal - b * cost).sum())
    top = s / (1.0 + s)  # attach rate with every price at cost (min_margin 0)
    attach = w / (1.0 + w) + 0.5 * (top - w / (1.0 + w))
    floor = floor_markup(appeal, cost, b, attach)
    assert 0 < floor < markup
    list_price = np.round((cost + markup) / 0.4)
    low = 1.0 - (cost + 0.5 * floor) / list_price  # deepest discount: half the floor markup
    problem = make_problem(appeal, cost, b, list_price, ladder(0.45, round(float(low.max()), 3), 0.005),
                           attach_rate=attach)
    step = 0.005 * list_price

    result = optimize(problem)

    assert result.status.value == "optimal"
    assert result.figures.attach_rate >= attach - 1e-6
    profit = result.figures.margin_per_buyer
    assert profit <= attach * floor + 1e-9
    assert profit >= attach * floor - len(cost) * b * float(step.max()) ** 2


def test_fine_ladder_over_every_discount_is_proven() -> None:
    """The brief's ladder: every discount 0.000 .. 0.999 in 0.001 steps, list prices well above the
    optimum. One segment, three SKUs, three bundles: small enough that a proof is expected."""
    appeal, cost, b = np.array([1.2, 0.8, 0.5]), np.array([300.0, 500.0, 800.0]), 0.004
    markup, w = free_markup(appeal, cost, b)
    list_price = np.round((cost + markup) * 3)
    problem = make_problem(appeal, cost, b, list_price, ladder(0.0, 0.999, 0.001), time_limit=20.0)
    step = 0.001 * list_price

    result = optimize(problem)

    profit = result.figures.margin_per_buyer
    assert profit <= w / b + 1e-9
    assert profit >= w / b - len(cost) * b * float(step.max()) ** 2
    assert np.all(np.abs(prices_by_sku(result) - (cost + markup)) <= step)
    assert result.status.value == "optimal", result.diagnostics
