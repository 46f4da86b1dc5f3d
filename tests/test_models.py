"""The logit-mixture maths against direct formulas and finite differences; model validation."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest

from models import mnl
from models.demand import DemandModel, Segment
from models.errors import InputError

from conftest import DATA

SEEDS = [pytest.param(seed, id=f"seed{seed}") for seed in range(6)]


def random_offer(seed: int):
    """(attraction (bundles, segments), prices CNY, price coefs, shares, margins CNY)."""
    rng = np.random.default_rng(seed)
    n_bundles, n_segments = int(rng.integers(1, 6)), int(rng.integers(1, 5))
    attraction = np.exp(rng.uniform(-4.0, 1.0, (n_bundles, n_segments)))
    prices = rng.uniform(200.0, 4000.0, n_bundles)
    coefs = rng.uniform(0.0, 0.003, n_segments)
    shares = rng.dirichlet(np.ones(n_segments))
    margins = rng.uniform(-50.0, 800.0, n_bundles)
    return attraction, prices, coefs, shares, margins


def direct_probabilities(attraction: np.ndarray) -> np.ndarray:
    n_bundles, n_segments = attraction.shape
    out = np.zeros_like(attraction)
    for s in range(n_segments):
        denominator = 1.0 + sum(attraction[a, s] for a in range(n_bundles))
        for b in range(n_bundles):
            out[b, s] = attraction[b, s] / denominator
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_probabilities_attach_and_margin_match_direct_formulas(seed: int) -> None:
    attraction, _, _, shares, margins = random_offer(seed)
    take = mnl.choice_probabilities(attraction)
    expected = direct_probabilities(attraction)
    np.testing.assert_allclose(take, expected, rtol=1e-12)
    no_bundle = 1.0 / (1.0 + attraction.sum(axis=0))
    np.testing.assert_allclose(mnl.attach_by_segment(take), 1.0 - no_bundle, rtol=1e-12)
    attach = sum(shares[s] * sum(expected[b, s] for b in range(len(margins))) for s in range(len(shares)))
    assert float(mnl.attach_rate(take, shares)) == pytest.approx(attach, rel=1e-12)
    margin = sum(shares[s] * expected[b, s] * margins[b] for s in range(len(shares)) for b in range(len(margins)))
    assert float(mnl.margin_per_buyer(take, shares, margins)) == pytest.approx(margin, rel=1e-12)


def test_probabilities_broadcast_over_offers() -> None:
    attraction = np.stack([random_offer(1)[0][:1, :1], random_offer(2)[0][:1, :1]])
    take = mnl.choice_probabilities(attraction)
    assert take.shape == (2, 1, 1)
    np.testing.assert_allclose(take[:, 0, 0], attraction[:, 0, 0] / (1.0 + attraction[:, 0, 0]))


def take_at(utility: np.ndarray, prices: np.ndarray, coefs: np.ndarray) -> np.ndarray:
    """Take probabilities (bundles, segments) with utilities ``utility - coef * price``."""
    return direct_probabilities(np.exp(utility - np.outer(prices, coefs)))


@pytest.mark.parametrize("seed", SEEDS)
def test_elasticities_match_finite_differences(seed: int) -> None:
    attraction, prices, coefs, shares, _ = random_offer(seed)
    base_utility = np.log(attraction) + np.outer(prices, coefs)  # utility before price
    take = take_at(base_utility, prices, coefs)
    own = mnl.own_price_elasticity(take, prices, coefs)
    cross = mnl.cross_price_elasticity(take, prices, coefs)
    n = len(prices)
    for a in range(n):
        h = 1e-4 * prices[a]
        up, down = prices.copy(), prices.copy()
        up[a] += h
        down[a] -= h
        # d log P_b / d log p_a, central difference
        slope = (np.log(take_at(base_utility, up, coefs)) - np.log(take_at(base_utility, down, coefs))) / (
            np.log(up[a]) - np.log(down[a]))
        for b in range(n):
            np.testing.assert_allclose(cross[b, a], slope[b], rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(own[a], slope[a], rtol=1e-6, atol=1e-9)


def test_overall_elasticity_weighted_by_takers() -> None:
    attraction, prices, coefs, shares, _ = random_offer(3)
    take = mnl.choice_probabilities(attraction)
    own = mnl.own_price_elasticity(take, prices, coefs)
    overall = mnl.weight_by_takers(own, take, shares)
    for b in range(len(prices)):
        takers = shares * take[b]
        assert overall[b] == pytest.approx(float(own[b] @ takers / takers.sum()), rel=1e-12)
    # Overall own elasticity is the elasticity of the overall take rate in its own price.
    base_utility = np.log(attraction) + np.outer(prices, coefs)
    for b in range(len(prices)):
        h = 1e-4 * prices[b]
        up, down = prices.copy(), prices.copy()
        up[b] += h
        down[b] -= h
        rate_up = float(take_at(base_utility, up, coefs)[b] @ shares)
        rate_down = float(take_at(base_utility, down, coefs)[b] @ shares)
        slope = (math.log(rate_up) - math.log(rate_down)) / (math.log(up[b]) - math.log(down[b]))
        assert overall[b] == pytest.approx(slope, rel=1e-6)


def test_price_blind_segment_has_zero_elasticity() -> None:
    take = mnl.choice_probabilities(np.array([[0.5, 0.2]]))
    own = mnl.own_price_elasticity(take, np.array([1000.0]), np.array([0.0, 0.001]))
    assert own[0, 0] == 0.0
    assert own[0, 1] == pytest.approx(-1.0 * (1 - take[0, 1]))


def test_composition_utility_follows_the_spec() -> None:
    seg = Segment("s", 1.0, -2.0, 0.001, {"a": 0.5, "b": 0.25, "c": -0.1}, size_coef=-0.3, span_bonus=0.4)
    model = DemandModel((seg,))
    incidence = np.array([[1, 1, 0], [1, 1, 1], [0, 0, 1]])
    zones = np.array([2, 3, 1])
    got = model.composition_utility(incidence, zones, ["a", "b", "c"])[:, 0]
    expected = [-2.0 + 0.75 - 0.3 + 0.4, -2.0 + 0.65 - 0.6 + 0.8, -2.0 - 0.1]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    attraction = model.attraction(got[:, None], np.array([1000.0, 2000.0, 500.0]))[:, 0]
    np.testing.assert_allclose(attraction, np.exp(np.array(expected) - 0.001 * np.array([1000.0, 2000.0, 500.0])))


# -- validation -------------------------------------------------------------------------------
def shipped() -> dict:
    return json.loads((DATA / "model.json").read_text(encoding="utf-8"))


def broken(change) -> dict:
    raw = copy.deepcopy(shipped())
    change(raw)
    return raw


def _set(path, value):
    def change(raw):
        target = raw
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


def _delete(path):
    def change(raw):
        target = raw
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
    return change


BAD_MODELS = [
    pytest.param([1, 2], r"^model\.json: must be a JSON object, got list$", id="not-an-object"),
    pytest.param(broken(_set(["kind"], "nested_logit")), r"field kind: must be 'mnl_mixture', got 'nested_logit'",
                 id="wrong-kind"),
    pytest.param(broken(_set(["segments"], [])), r"field segments: must be a non-empty list", id="no-segments"),
    pytest.param(broken(_set(["segments", 0, "name"], "")), r"segments\[0\]\.name: must be a non-empty string",
                 id="empty-name"),
    pytest.param(broken(_set(["segments", 1, "name"], "SU7 Standard")),
                 r"segments\[1\]\.name: segment 'SU7 Standard' appears twice", id="duplicate-name"),
    pytest.param(broken(_set(["segments", 0, "share"], -0.1)),
                 r"segment 'SU7 Standard', field share: must be >= 0, got -0\.1", id="negative-share"),
    pytest.param(broken(_set(["segments", 0, "share"], 0.5)), r"segment shares must sum to 1, got 1\.0797",
                 id="shares-not-one"),
    pytest.param(broken(_set(["segments", 1, "price_coef"], -0.002)),
                 r"segment 'SU7 Pro', field price_coef: must be >= 0 \(demand cannot rise with price\), got -0\.002",
                 id="negative-price-coef"),
    pytest.param(broken(_set(["segments", 1, "price_coef"], "cheap")),
                 r"segment 'SU7 Pro', field price_coef: must be a finite number, got 'cheap'", id="text-price-coef"),
    pytest.param(broken(_delete(["segments", 2, "intercept"])),
                 r"segment 'SU7 Max', field intercept: must be a finite number, got None", id="missing-intercept"),
    pytest.param(broken(_set(["segments", 0, "size_coef"], True)),
                 r"segment 'SU7 Standard', field size_coef: must be a finite number, got True", id="bool-size-coef"),
    pytest.param(broken(_set(["segments", 3, "appeal"], [0.1])),
                 r"segment 'SU7 Ultra', field appeal: must be an object", id="appeal-not-object"),
    pytest.param(broken(_set(["segments", 3, "appeal", "CAR-DC-4K"], "high")),
                 r"segment 'SU7 Ultra', appeal of 'CAR-DC-4K': must be a finite number, got 'high'", id="text-appeal"),
    pytest.param(broken(_set(["segments", 3, "appeal", "CAR-DC-4K"], float("nan"))),
                 r"appeal of 'CAR-DC-4K': must be a finite number, got nan", id="nan-appeal"),
    pytest.param(broken(_set(["fit"], "yesterday")), r"field fit: must be an object", id="fit-not-object"),
]


@pytest.mark.parametrize(("raw", "pattern"), BAD_MODELS)
def test_from_dict_rejects_with_a_clear_message(raw, pattern: str) -> None:
    with pytest.raises(InputError, match=pattern):
        DemandModel.from_dict(raw)


def test_from_dict_accepts_the_shipped_model_and_defaults() -> None:
    model = DemandModel.from_dict(shipped())
    assert model.shares.sum() == pytest.approx(1.0)
    raw = broken(_delete(["segments", 0, "size_coef"]))
    raw["segments"][0].pop("span_bonus")
    model = DemandModel.from_dict(raw)
    assert model.segments[0].size_coef == 0.0 and model.segments[0].span_bonus == 0.0
    zero = broken(_set(["segments", 0, "price_coef"], 0))
    assert DemandModel.from_dict(zero).segments[0].price_coef == 0.0  # price-blind is allowed
    again = DemandModel.from_dict(model.to_dict())
    assert again.to_dict() == model.to_dict()


def test_missing_appeal_is_named() -> None:
    raw = broken(_delete(["segments", 2, "appeal", "HOME-EVC-7"]))
    model = DemandModel.from_dict(raw)
    with pytest.raises(InputError, match=r"segment 'SU7 Max' has no appeal for active SKU 'HOME-EVC-7'"):
        model.check_covers(["CAR-DC-4K", "HOME-EVC-7"])


def test_with_price_sensitivity_and_shares() -> None:
    model = DemandModel.from_dict(shipped())
    doubled = model.with_price_sensitivity(2.0)
    np.testing.assert_allclose(doubled.price_coefs, 2 * model.price_coefs)
    with pytest.raises(InputError, match=r"price sensitivity: must be a finite number >= 0, got -1"):
        model.with_price_sensitivity(-1.0)
    with pytest.raises(InputError, match=r"segment mix: segment shares must sum to 1, got 0\.9"):
        model.with_shares([0.3, 0.3, 0.2, 0.1])
    with pytest.raises(InputError, match=r"segment mix: expected 4 shares, got 2"):
        model.with_shares([0.5, 0.5])
