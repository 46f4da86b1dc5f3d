"""The demand fit against known answers: simulated data from known coefficients, a direct
likelihood, a bootstrap, and the holdout on the shipped history."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.fit import SegmentLogitFit
from models.validation import holdout_check
from models.history import price_warnings
from models.history import History
from pricing.domain.catalog import Catalog
from pricing.domain.offer import Bundle, Offer, evaluate_offer

DATA = Path(__file__).resolve().parent.parent / "data"

SMALL_CATALOG = pd.DataFrame(
    [
        ("C1", "dash cam A", "dash_cam", "car", "700", "550", "0.02", "true"),
        ("C2", "dash cam B", "dash_cam", "car", "550", "440", "0.02", "true"),
        ("C3", "charger", "charger", "car", "300", "230", "0.03", "true"),
        ("H1", "vacuum A", "vacuum", "home", "1700", "1370", "0.01", "true"),
        ("H2", "vacuum B", "vacuum", "home", "4000", "3150", "0.01", "true"),
        ("H3", "lock", "lock", "home", "1600", "1260", "0.01", "true"),
        ("W1", "band", "band", "human", "250", "200", "0.04", "true"),
        ("W2", "watch", "watch", "human", "1000", "790", "0.02", "true"),
    ],
    columns=["sku", "name", "category", "zone", "list_price", "unit_cost", "standalone_rate", "active"],
)
TRUE_APPEAL = {"C1": 0.9, "C2": 0.7, "C3": 0.6, "H1": 0.8, "H2": 1.1, "H3": 0.7, "W1": 0.5, "W2": 0.8}
TRUTH = {"intercept": -3.6, "price_coef": 0.0010, "span_bonus": 0.35}


@pytest.fixture(scope="module")
def small_catalog() -> Catalog:
    return Catalog.from_frame(SMALL_CATALOG)


def simulate(catalog: Catalog, seed: int, *, months: int = 12, regions: int = 3, buyers: int = 3000,
             never: tuple[str, ...] = (), segments: dict | None = None) -> History:
    """Offers of 4 random bundles per market-month, take-up drawn from the segment logit with
    known coefficients (``segments``: name -> (intercept, price_coef, span_bonus, appeal))."""
    rng = np.random.default_rng(seed)
    segments = segments or {"S": (TRUTH["intercept"], TRUTH["price_coef"], TRUTH["span_bonus"], TRUE_APPEAL)}
    skus = [s for s in catalog.skus if s not in never]
    price = dict(zip(catalog.skus, catalog.list_price))
    zone = dict(zip(catalog.skus, catalog.zones))
    category = dict(zip(catalog.skus, catalog.categories))
    rows = []
    for t in range(months):
        month = f"{2024 + t // 12}-{t % 12 + 1:02d}"
        for g in range(regions):
            bundles: list[tuple[str, ...]] = []
            while len(bundles) < 4:
                size = int(rng.integers(2, 4))
                pick = tuple(sorted(rng.choice(skus, size=size, replace=False)))
                if len({category[k] for k in pick}) == size and set(pick) not in [set(b) for b in bundles]:
                    bundles.append(pick)
            prices = [round(sum(price[k] for k in b) * (1 - rng.uniform(0.0, 0.3))) for b in bundles]
            for name, (intercept, beta, span, appeal) in segments.items():
                u = np.array([
                    intercept + sum(appeal[k] for k in b) + span * (len({zone[k] for k in b}) - 1) - beta * p
                    for b, p in zip(bundles, prices)
                ])
                e = np.exp(u)
                p_take = np.append(e, 1.0) / (1.0 + e.sum())
                taken = rng.multinomial(buyers, p_take)
                for b, p, y in zip(bundles, prices, taken):
                    rows.append((month, f"R{g}", name, str(buyers), "|".join(b), str(p), str(y)))
    frame = pd.DataFrame(rows, columns=["month", "region", "segment", "buyers", "skus", "price", "taken"])
    return History.from_frame(frame, catalog.skus)


@pytest.fixture(scope="module")
def shipped():
    catalog = Catalog.from_csv(DATA / "catalog.csv")
    history = History.from_csv(DATA / "history.csv", catalog.skus)
    return catalog, history


# -- estimator habits ----------------------------------------------------------------------
def test_constructor_stores_settings_and_fit_returns_self(small_catalog):
    est = SegmentLogitFit(appeal_prior_sd=0.3)
    assert vars(est) == {"appeal_prior_sd": 0.3, "category_prior_sd": 1.0, "market_prior_sd": 0.25,
                         "fallback_price_coef": 0.0, "rare_offers": 12, "max_iter": 200, "tol": 1e-8}
    with pytest.raises(RuntimeError, match="not fitted"):
        est.to_model()
    assert est.fit(simulate(small_catalog, 0), small_catalog) is est
    assert all(e.converged for e in est.segments_)


@pytest.mark.parametrize("setting", [pytest.param({"appeal_prior_sd": 0}, id="zero-prior"),
                                     pytest.param({"category_prior_sd": -1.0}, id="negative-prior")])
def test_bad_setting_is_an_input_error(small_catalog, setting):
    from models.errors import InputError

    with pytest.raises(InputError, match="must be a number > 0"):
        SegmentLogitFit(**setting).fit(simulate(small_catalog, 0, months=2), small_catalog)


# -- recovery of known coefficients --------------------------------------------------------
def test_recovers_price_coefficient_within_5_percent(small_catalog):
    history = simulate(small_catalog, 1, months=24, regions=4, buyers=8000)
    est = SegmentLogitFit().fit(history, small_catalog).segment("S")
    assert est.value("price_coef") == pytest.approx(TRUTH["price_coef"], rel=0.05)
    assert est.value("span_bonus") == pytest.approx(TRUTH["span_bonus"], abs=0.05)


def test_shipped_history_recovers_ground_truth(shipped, data_dir):
    """The shipped history was drawn from ground_truth.json: every segment's price coefficient
    lies in its 95% interval, and the well-measured ones within 5%."""
    catalog, history = shipped
    truth = {s["name"]: s for s in json.loads((data_dir / "ground_truth.json").read_text())["segments"]}
    fit = SegmentLogitFit().fit(history, catalog)
    for est in fit.segments_:
        low, high = est.interval("price_coef")
        assert low <= truth[est.name]["price_coef"] <= high, est.name
    for name in ("SU7 Standard", "SU7 Pro", "SU7 Max"):  # Ultra: 12% of buyers, its standard error is ~13%
        assert fit.segment(name).value("price_coef") == pytest.approx(truth[name]["price_coef"], rel=0.05)


def test_95_percent_intervals_cover_the_truth(small_catalog):
    """Over 30 seeds, at least 90% of the intervals of intercept, price and span cover the truth."""
    covered = total = 0
    for seed in range(30):
        est = SegmentLogitFit().fit(simulate(small_catalog, 100 + seed), small_catalog).segment("S")
        for param, true in TRUTH.items():
            low, high = est.interval(param)
            covered += low <= true <= high
            total += 1
    assert covered / total >= 0.90


def test_standard_errors_agree_with_a_parametric_bootstrap(small_catalog):
    history = simulate(small_catalog, 7)
    fit = SegmentLogitFit().fit(history, small_catalog)
    est = fit.segment("S")
    probabilities = fit.predict_take_rates(history, small_catalog)
    cells = list(history.frame.groupby(["month", "region"]).groups.values())
    rng = np.random.default_rng(1000)
    estimates = []
    for _ in range(150):  # same offers, take-up redrawn from the fitted model
        frame = history.frame.copy()
        for idx in cells:
            p = probabilities[idx]
            frame.loc[idx, "taken"] = rng.multinomial(int(frame.loc[idx[0], "buyers"]), np.append(p, 1 - p.sum()))[:-1]
        refit = SegmentLogitFit().fit(History(frame), small_catalog).segment("S")
        estimates.append([refit.value(p) for p in TRUTH])
    boot_sd = np.std(estimates, axis=0, ddof=1)
    analytic = np.array([est.std_error[est.params.index(p)] for p in TRUTH])
    np.testing.assert_allclose(analytic, boot_sd, rtol=0.2)


# -- likelihood -------------------------------------------------------------------------------
def test_log_likelihood_matches_a_direct_computation(shipped):
    """sum over cells of taken * log P(bundle) + no-bundle buyers * log P(none), with P from the
    written model through the product's own offer evaluation."""
    catalog, history = shipped
    fit = SegmentLogitFit().fit(history, catalog)
    model = fit.to_model()
    direct = 0.0
    for (month, region), cell in history.frame.groupby(["month", "region"]):
        offer = Offer(tuple(Bundle(skus, price) for skus, price in
                            cell.drop_duplicates("skus")[["skus", "price"]].itertuples(index=False)))
        take = evaluate_offer(offer, catalog, model.for_market(region), 1.0).take_rate  # (bundles, segments)
        position = {skus: b for b, skus in enumerate(b.skus for b in offer.bundles)}
        for s, name in enumerate(model.names):
            rows = cell[cell["segment"] == name]
            taken = rows["taken"].to_numpy(float)
            p = take[[position[k] for k in rows["skus"]], s]
            direct += taken @ np.log(p) + (rows["buyers"].iloc[0] - taken.sum()) * math.log(1 - p.sum())
    assert fit.log_likelihood_ == pytest.approx(direct, rel=1e-9)
    assert fit.rho_squared_ == pytest.approx(1 - fit.log_likelihood_ / fit.log_likelihood_null_)
    assert 0 < fit.rho_squared_ < 1


# -- the category prior ---------------------------------------------------------------------
def test_never_offered_sku_takes_its_category_prior_and_is_flagged(small_catalog):
    history = simulate(small_catalog, 3, never=("C2",))
    fit = SegmentLogitFit().fit(history, small_catalog)
    est = fit.segment("S")
    sibling = est.value("appeal:C1")  # C2's only category mate
    segment_mean = np.mean([est.value(f"appeal:{k}") for k in small_catalog.skus if k != "C2"])
    assert min(sibling, segment_mean) < est.value("appeal:C2") < max(sibling, segment_mean)
    assert est.std_error[est.params.index("appeal:C2")] > 0.4  # about the prior's spread, not data
    tight = SegmentLogitFit(appeal_prior_sd=0.01).fit(history, small_catalog).segment("S")
    assert tight.value("appeal:C2") == pytest.approx(tight.value("appeal:C1"), abs=0.01)
    assert any("C2 was never offered" in w and "dash_cam" in w for w in fit.warnings())


def test_warns_when_the_price_effect_is_not_significant(small_catalog):
    flat = {"S": (-3.0, 0.0, 0.3, TRUE_APPEAL)}
    fit = SegmentLogitFit().fit(simulate(small_catalog, 5, months=3, regions=1, buyers=300, segments=flat),
                                small_catalog)
    assert any("does not show clearly that a higher price lowers take-up" in w for w in fit.warnings())
    assert fit.to_model().segments[0].price_coef >= 0


def test_price_warnings_flag_prices_far_outside_history():
    fit = {"price_range": {"min": 500, "max": 6000}, "discount_range": {"min": 0.0, "max": 0.3}}
    assert price_warnings(fit, [900, 5000], [1000, 5500]) == []
    lines = price_warnings(fit, [9000, 300], [9500, 2000])
    assert len(lines) == 3 and "9,000 CNY is far outside" in lines[0] and "discount of 85%" in lines[2]


# -- validation on the shipped data -----------------------------------------------------------
def test_holdout_beats_the_naive_baseline_on_shipped_history(shipped):
    catalog, history = shipped
    check = holdout_check(history, catalog)
    assert check["months_held_out"] == list(history.months[-3:])
    assert check["take_rate_mae"]["model"] < check["take_rate_mae"]["naive"]
    assert check["attach_rate_mae"]["model"] < check["attach_rate_mae"]["naive"]
    assert len(check["markets"]) == 3 * len(history.regions)


def test_shipped_model_is_the_fit_of_the_shipped_history(shipped, data_dir):
    catalog, history = shipped
    shipped_model = json.loads((data_dir / "model.json").read_text())
    assert shipped_model["fit"]["data_sha256"] == history.sha256
    model = SegmentLogitFit().fit(history, catalog).to_model()
    for seg, raw in zip(model.segments, shipped_model["segments"]):
        assert seg.price_coef == pytest.approx(raw["price_coef"], rel=1e-6)
        assert set(raw["appeal"]) == set(catalog.skus)  # every SKU, the inactive one too
