"""Bands of attach rate and margin from coefficient draws, against known answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from models.demand import DemandModel, Segment
from models.uncertainty import offer_bands
from pricing.domain.catalog import Catalog
from pricing.domain.offer import Bundle, Offer, evaluate_offer

DATA = Path(__file__).resolve().parent.parent / "data"
OFFER = Offer((
    Bundle(("CAR-DC-4K", "HOME-EVC-7"), 2399.0),
    Bundle(("CAR-AIR-2", "HOME-SPK-PRO", "HUM-BAND-9"), 799.0),
    Bundle(("CAR-WLC-50", "HOME-CAM-C700"), 599.0),
))


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.from_csv(DATA / "catalog.csv")


def one_segment_model(catalog: Catalog, price_sd: float) -> DemandModel:
    """One segment whose only uncertain coefficient is the price coefficient."""
    skus = catalog.skus
    params = ["intercept", "price_coef", "span_bonus", *(f"appeal:{k}" for k in skus)]
    cov = np.zeros((len(params), len(params)))
    cov[1, 1] = price_sd**2
    seg = Segment("All", 1.0, -3.5, 0.001, {k: 0.7 for k in skus}, size_coef=-0.2, span_bonus=0.3)
    fit = {"segments": {"All": {"params": params, "covariance": cov.tolist()}}}
    return DemandModel((seg,), "CNY", fit)


def test_no_covariance_gives_none(catalog):
    model = DemandModel.from_json(DATA / "ground_truth.json")
    assert offer_bands(model, catalog, OFFER, 28000, 0.15) is None


def test_zero_covariance_collapses_to_the_point_figures(catalog):
    model = one_segment_model(catalog, 0.0)
    bands = offer_bands(model, catalog, OFFER, 28000, 0.05, n_draws=50)
    point = evaluate_offer(OFFER, catalog, model, 28000)
    for key in ("attach_p05", "attach_p50", "attach_p95"):
        assert bands[key] == pytest.approx(point.attach_rate, rel=1e-12)
    for key in ("margin_p05", "margin_p50", "margin_p95"):
        assert bands[key] == pytest.approx(point.margin, rel=1e-12)
    assert bands["prob_target_met"] == (1.0 if point.attach_rate >= 0.05 else 0.0)
    assert bands["draws"] == 50


def test_bands_are_the_offer_at_the_price_coefficient_quantiles(catalog):
    """Attach rate falls as the price coefficient rises, so its 5th percentile is the attach rate
    at the coefficient's 95th percentile (and the reverse)."""
    sd = 0.0002
    model = one_segment_model(catalog, sd)
    bands = offer_bands(model, catalog, OFFER, 28000, 0.15, n_draws=20000, seed=3)
    z = stats.norm.ppf(0.95)

    def attach_at(beta: float) -> float:
        return evaluate_offer(OFFER, catalog, model.with_price_sensitivity(beta / 0.001), 28000).attach_rate

    assert bands["attach_p05"] == pytest.approx(attach_at(0.001 + z * sd), rel=0.01)
    assert bands["attach_p95"] == pytest.approx(attach_at(0.001 - z * sd), rel=0.01)
    assert bands["attach_p50"] == pytest.approx(attach_at(0.001), rel=0.005)
    share_above = stats.norm.cdf(0.0)  # target = the median attach rate: met in half the draws
    half = offer_bands(model, catalog, OFFER, 28000, attach_at(0.001), n_draws=20000, seed=3)
    assert half["prob_target_met"] == pytest.approx(share_above, abs=0.015)


def test_fitted_model_bands_bracket_the_point_estimate_and_repeat_with_the_seed(catalog):
    model = DemandModel.from_json(DATA / "model.json")
    point = evaluate_offer(OFFER, catalog, model, 28000)
    bands = offer_bands(model, catalog, OFFER, 28000, 0.15, n_draws=500, seed=0)
    assert bands["attach_p05"] < point.attach_rate < bands["attach_p95"]
    assert bands["margin_p05"] < point.margin < bands["margin_p95"]
    assert bands["attach_p50"] == pytest.approx(point.attach_rate, rel=0.02)
    assert bands == offer_bands(model, catalog, OFFER, 28000, 0.15, n_draws=500, seed=0)
