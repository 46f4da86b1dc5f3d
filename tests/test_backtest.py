"""The backtest on a tiny simulated market: the oracle against brute-force enumeration, no policy
above the oracle, reproducibility from the seed, failures kept and counted, and the command's
bad input."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest

from tests.fast_hashing import fast_hashing  # noqa: F401  (a fixture)
from tests.test_app import go, shared_data, sign_in, team  # noqa: F401  (fixtures and helpers)

import models.fit
from models.demand import DemandModel, Segment
from models.errors import InputError
from models.simulator import MarketSimulator
from pricing.cli.main import main
from pricing.domain.offer import Bundle, Offer
from pricing.domain.settings import Settings
from pricing.runs.backtest.loop import BacktestConfig, Decision, run_backtest, solve_offer, thompson_model
from pricing.runs.backtest.inputs import BacktestInputs, read_volumes
from pricing.runs.backtest.metrics import coefficient_errors, price_churn
from pricing.runs.backtest.output import BACKTEST_FILES, write_backtest

# sku: (category, zone, list price CNY, unit cost CNY, standalone rate)
CATALOG = {
    "C1": ("dash_cam", "car", 400, 300, 0.02),
    "C2": ("charger", "car", 300, 200, 0.01),
    "H1": ("ev_charger", "home", 1500, 1200, 0.01),
    "H2": ("camera", "home", 250, 170, 0.02),
    "W1": ("band", "human", 200, 140, 0.02),
}
APPEAL = ({"C1": 0.9, "C2": 0.3, "H1": 1.2, "H2": 0.5, "W1": 0.6},
          {"C1": 0.2, "C2": 0.9, "H1": 0.4, "H2": 1.1, "W1": -0.1})
SETTINGS = Settings(max_bundles=2, min_items=2, max_items=3, required_zones=("car", "home"), discounts=(0.05, 0.15),
                    rounding="none", min_margin=0.0, max_change=0.1, attach_rate=0.05, time_limit=30.0, rel_gap=1e-9)
HISTORY_MONTHS = ("2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10")
MARKETS = {"North": 3000, "South": 2000}


def truth() -> DemandModel:
    return DemandModel((Segment("A", 0.6, -2.2, 0.003, APPEAL[0], -0.2, 0.3),
                        Segment("B", 0.4, -2.6, 0.0015, APPEAL[1], 0.1, 0.0)))


def _ladder(skus) -> list[float]:
    total = sum(CATALOG[s][2] for s in skus)
    return [total * (1 - d) for d in SETTINGS.discounts]


def _allowed_sets() -> list[tuple[str, ...]]:
    """Every SKU set the rules allow: 2-3 SKUs, a car and a home SKU (categories all differ here)."""
    out = []
    for size in (2, 3):
        for skus in itertools.combinations(CATALOG, size):
            zones = {CATALOG[s][1] for s in skus}
            if {"car", "home"} <= zones:
                out.append(skus)
    return out


def write_instance(folder: Path, seed: int = 7) -> Path:
    """A data folder: catalog, truth, six months of history drawn from the truth on random offers,
    a last sheet priced on the ladder, and a three-month volume forecast."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["sku,name,category,zone,list_price,unit_cost,standalone_rate,active"]
    lines += [f"{s},{s} name,{c},{z},{lp},{uc},{r},true" for s, (c, z, lp, uc, r) in CATALOG.items()]
    (folder / "catalog.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "ground_truth.json").write_text(json.dumps(truth().to_dict()), encoding="utf-8")
    rng = np.random.default_rng(seed)
    sim = MarketSimulator(truth(), {s: v[1] for s, v in CATALOG.items()}, seed)
    sets = list(itertools.combinations(CATALOG, 2)) + list(itertools.combinations(CATALOG, 3))
    rows = ["month,region,segment,buyers,skus,price,taken"]
    for t, month in enumerate(HISTORY_MONTHS):
        for market, buyers in MARKETS.items():
            chosen = [sets[i] for i in rng.choice(len(sets), size=3, replace=False)]
            prices = [round(sum(CATALOG[s][2] for s in b) * (1 - rng.uniform(0, 0.3))) for b in chosen]
            frame = sim.history_rows(sim.draw(100 + t, market, buyers), month, chosen, prices)
            rows += [f"{r.month},{r.region},{r.segment},{r.buyers},{'|'.join(r.skus)},{r.price:.0f},{r.taken}"
                     for r in frame.itertuples()]
    (folder / "history.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    sheet = [("C1", "H2"), ("C2", "H1", "W1")]
    (folder / "last_sheet.csv").write_text(
        "skus,price\n" + "".join(f"{'|'.join(b)},{_ladder(b)[0]!r}\n" for b in sheet), encoding="utf-8")
    volumes = ["month,region,buyers"] + [f"{m},{market},{b + 10 * i}" for i, m in enumerate(("2026-11", "2026-12"))
                                         for market, b in MARKETS.items()]
    (folder / "volumes.csv").write_text("\n".join(volumes) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def instance(tmp_path_factory) -> BacktestInputs:
    return BacktestInputs.load(write_instance(tmp_path_factory.mktemp("tiny")), SETTINGS)


@pytest.fixture(scope="module")
def result(instance):
    return run_backtest(instance, BacktestConfig(months=4, seed=2))


def brute_force_best_margin_per_buyer() -> float:
    """Enumerate every offer of at most 2 bundles from the ladder, the logit by hand."""
    model = truth()
    candidates = []
    for skus in _allowed_sets():
        cost = sum(CATALOG[s][3] for s in skus)
        displaced = sum(CATALOG[s][3] + CATALOG[s][4] * (CATALOG[s][2] - CATALOG[s][3]) for s in skus)
        zones = len({CATALOG[s][1] for s in skus})
        for price in _ladder(skus):
            if (price - cost) / price < SETTINGS.min_margin:
                continue
            u = [seg.intercept + sum(seg.appeal[s] for s in skus) + seg.size_coef * (len(skus) - 1)
                 + seg.span_bonus * (zones - 1) - seg.price_coef * price for seg in model.segments]
            candidates.append((frozenset(skus), price - displaced, np.exp(u)))
    best = -math.inf
    for size in (1, 2):
        for offer in itertools.combinations(candidates, size):
            if len({c[0] for c in offer}) < size:
                continue
            attraction = np.array([c[2] for c in offer])
            take = attraction / (1.0 + attraction.sum(axis=0))
            if take.sum(axis=0) @ model.shares < SETTINGS.attach_rate:
                continue
            best = max(best, float((take.T @ np.array([c[1] for c in offer])) @ model.shares))
    return best


def test_the_oracle_is_the_enumerated_optimum_and_no_policy_beats_it(result):
    markets = result.markets
    oracle = markets[markets["policy"] == "oracle"]
    np.testing.assert_allclose(oracle["true_margin"] / oracle["buyers"], brute_force_best_margin_per_buyer(),
                               rtol=1e-7)
    assert (markets["true_margin"] <= markets["oracle_margin"] * (1 + 1e-9)).all()
    assert set(markets["policy"]) == {"oracle", "loop", "thompson", "static"}
    # the static sheet is the last approved one, every month
    static = markets[markets["policy"] == "static"]
    assert (static["price_changes"] == 0).all() and static["offer"].nunique() == 1


def test_monthly_figures_add_up(result):
    monthly = result.monthly
    np.testing.assert_allclose(monthly["regret"], monthly["oracle_margin"] - monthly["true_margin"])
    oracle = monthly[monthly["policy"] == "oracle"]
    assert (oracle["regret"] == 0).all() and (oracle["cum_share_of_oracle"] == 1).all()
    loop = monthly[monthly["policy"] == "loop"]
    np.testing.assert_allclose(loop["cum_share_of_oracle"].iloc[-1],
                               loop["true_margin"].sum() / loop["oracle_margin"].sum())
    assert len(monthly) == 4 * 4 and (monthly["markets"] == 2).all()
    # buyers follow volumes.csv and hold its last forecast after it ends
    assert list(monthly.loc[monthly["policy"] == "oracle", "buyers"]) == [5000, 5020, 5020, 5020]


def test_a_backtest_is_bit_for_bit_reproducible_from_its_seed(instance, tmp_path):
    config = BacktestConfig(months=3, seed=4)
    first = write_backtest(run_backtest(instance, config), tmp_path / "a")
    write_backtest(run_backtest(instance, config), tmp_path / "b")
    assert sorted(p.name for p in first) == sorted(BACKTEST_FILES)
    for name in ("backtest.csv", "regret.png", "coefficient_error.png"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    write_backtest(run_backtest(instance, BacktestConfig(months=3, seed=5)), tmp_path / "c")
    assert (tmp_path / "a" / "backtest.csv").read_bytes() != (tmp_path / "c" / "backtest.csv").read_bytes()


def test_a_failed_fit_keeps_the_previous_model_and_is_counted(instance, monkeypatch):
    real_fit = models.fit.SegmentLogitFit.fit
    calls = {"n": 0}

    def flaky(self, history, catalog):
        calls["n"] += 1
        if calls["n"] > 1:  # the first fit (shipped history) works, every refit fails
            raise np.linalg.LinAlgError("singular information matrix")
        return real_fit(self, history, catalog)

    monkeypatch.setattr(models.fit.SegmentLogitFit, "fit", flaky)
    out = run_backtest(instance, BacktestConfig(months=3, seed=1, policies=("loop",)))
    loop = out.monthly[out.monthly["policy"] == "loop"]
    assert list(loop["fit_failed"]) == [0, 1, 1] and list(loop["fit_failures_total"]) == [0, 1, 2]
    # the kept model is the first one: its coefficient error does not move
    assert loop["appeal_rmse"].nunique() == 1


def test_a_solve_without_an_offer_keeps_the_previous_offer(instance):
    def no_offer_for_policies(problem):
        if problem.model is instance.truth:
            return solve_offer(problem)
        return Decision(None, "target_unreachable")

    out = run_backtest(instance, BacktestConfig(months=2, seed=1, policies=("loop", "static")),
                       solver=no_offer_for_policies)
    loop = out.markets[out.markets["policy"] == "loop"]
    static = out.markets[out.markets["policy"] == "static"]
    assert (loop["fallback"] == 1).all() and (loop["status"] == "target_unreachable").all()
    assert list(loop["offer"]) == list(static["offer"])
    np.testing.assert_allclose(loop["true_margin"].to_numpy(), static["true_margin"].to_numpy())
    # same offer, same buyers (common random numbers): the same realised take-up
    np.testing.assert_allclose(loop["realised_margin"].to_numpy(), static["realised_margin"].to_numpy())


def test_thompson_draws_centre_on_the_fitted_coefficients(instance):
    fitted = models.fit.SegmentLogitFit().fit(instance.history, instance.catalog).to_model()
    skus = tuple(instance.catalog.skus)
    draws = [thompson_model(fitted, skus, seed) for seed in range(400)]
    for s, seg in enumerate(fitted.segments):
        appeals = np.array([[d.segments[s].appeal[k] for k in skus] for d in draws])
        entry = fitted.fit["segments"][seg.name]
        se = np.array([entry["std_error"][entry["params"].index(f"appeal:{k}")] for k in skus], dtype=float)
        assert (np.abs(appeals.mean(axis=0) - [seg.appeal[k] for k in skus]) < 4 * se / np.sqrt(400)).all()
        np.testing.assert_allclose(appeals.std(axis=0, ddof=1), se, rtol=0.2)
        assert all(d.segments[s].price_coef >= 0 for d in draws)
    without_covariance = DemandModel(fitted.segments)
    assert thompson_model(without_covariance, skus, 0) is without_covariance


def test_coefficient_error_ignores_what_the_data_cannot_identify():
    true = truth()
    assert coefficient_errors(true, true, tuple(CATALOG), ("W1",)) == {
        "price_coef_error_pct": 0.0, "appeal_rmse": 0.0, "untested_appeal_rmse": 0.0}
    # every appeal up by 0.4 and size_coef down by 0.4: the same utilities, no error
    shifted = DemandModel(tuple(Segment(s.name, s.share, s.intercept, s.price_coef * 1.1,
                                        {k: a + 0.4 for k, a in s.appeal.items()}, s.size_coef - 0.4, s.span_bonus)
                                for s in true.segments))
    errors = coefficient_errors(shifted, true, tuple(CATALOG))
    assert errors["appeal_rmse"] == pytest.approx(0.0, abs=1e-12)
    assert errors["price_coef_error_pct"] == pytest.approx(10.0)
    assert math.isnan(errors["untested_appeal_rmse"])


@pytest.mark.parametrize("offer, previous, expected", [
    pytest.param([("a", 100.0), ("b", 200.0)], [("a", 100.0), ("b", 200.0)], (0, 0.0), id="unchanged"),
    pytest.param([("a", 110.0), ("b", 200.0)], [("a", 100.0), ("b", 200.0)], (1, 5.0), id="one-price-moved"),
    pytest.param([("a", 100.0), ("c", 50.0)], [("a", 100.0), ("b", 200.0)], (1, 0.0), id="one-new-bundle"),
    pytest.param([("c", 50.0)], None, (1, 0.0), id="no-previous-offer"),
])
def test_price_churn(offer, previous, expected):
    def make(pairs):
        return Offer(tuple(Bundle((sku,), price) for sku, price in pairs))

    assert price_churn(make(offer), make(previous) if previous is not None else None) == pytest.approx(expected)


@pytest.mark.parametrize("args, message", [
    pytest.param(["--months", "0"], "--months: must be a whole number >= 1, got 0", id="zero-months"),
    pytest.param(["--seed", "-3"], "--seed: must be a whole number >= 0, got -3", id="negative-seed"),
    pytest.param(["--policy", "loop,greedy"], "unknown policy 'greedy'", id="unknown-policy"),
    pytest.param(["--markets", "Mars"], "market 'Mars' is not in volumes.csv", id="unknown-market"),
    pytest.param(["--months", "two"], "invalid int value: 'two'", id="months-not-a-number"),
    pytest.param(["--truth", "missing.json"], "missing.json: file not found", id="missing-truth"),
    pytest.param(["--buyers", "1000"], "--buyers: the backtest takes each market's car buyers from volumes.csv",
                 id="buyers-flag"),
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(args, message, tmp_path, capsys):
    data = write_instance(tmp_path / "data")
    out = tmp_path / "out"
    code = main(["backtest", "--data", str(data), "--out", str(out), *args])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert message in err and len(err.splitlines()) == 1, err
    assert not out.exists()


@pytest.mark.parametrize("text, message", [
    pytest.param("month,region,buyers\n2026-13,North,10\n", "row 2, column month: must be a month YYYY-MM",
                 id="month-13"),
    pytest.param("month,region,buyers\n2026-11,North,1.5\n", "row 2, column buyers: must be a whole number",
                 id="fractional-buyers"),
    pytest.param("month,region,buyers\n2026-11,North,10\n2026-11,North,12\n", "row 3, column month: month 2026-11 "
                 "of region 'North' appears twice", id="duplicate"),
])
def test_bad_volumes_name_the_row_and_column(text, message, tmp_path):
    path = tmp_path / "volumes.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        read_volumes(path)


def test_the_backtest_page_shows_the_written_run(instance, team, tmp_path, monkeypatch):
    from pricing.app.backtest_view import policy_summary

    folder = tmp_path / "bt"
    result = run_backtest(instance, BacktestConfig(months=2, seed=3))
    write_backtest(result, folder)
    monkeypatch.setenv("BUNDLE_PRICING_BACKTEST", str(folder))
    at = go(sign_in(team["viewer"]), "pages/backtest.py")
    shown = at.dataframe[0].value
    expected = policy_summary(result.monthly)
    assert list(shown["policy"]) == ["oracle", "loop", "thompson", "static"]
    np.testing.assert_allclose(shown["% of oracle"], expected["% of oracle"], rtol=1e-5)
    assert len(at.get("image")) == 2
    monkeypatch.setenv("BUNDLE_PRICING_BACKTEST", str(tmp_path / "nowhere"))
    at.run()
    assert "no backtest.csv here" in at.info[0].value


def test_a_market_draws_the_same_buyers_whichever_markets_run_beside_it(instance):
    both = run_backtest(instance, BacktestConfig(months=2, seed=6, policies=("static",))).markets
    alone = run_backtest(instance.select_markets(["South"]), BacktestConfig(months=2, seed=6,
                                                                             policies=("static",))).markets
    south = both[both["market"] == "South"].reset_index(drop=True)
    np.testing.assert_array_equal(south["realised_margin"], alone["realised_margin"])
