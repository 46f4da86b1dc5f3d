"""The market simulator against its own true model: take rates, segment mix, reproducibility and
common random numbers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from models.demand import DemandModel, Segment
from models.errors import InputError
from models.history import HISTORY_COLUMNS, History
from models.simulator import MarketSimulator

ZONES = {"C1": "car", "C2": "car", "H1": "home", "H2": "home", "W1": "human"}


def small_truth(price_coef=(0.004, 0.002), size_coef=(-0.2, 0.1), span=(0.3, 0.0)) -> DemandModel:
    """Two segments whose take rates differ clearly (so a mix-up would show)."""
    appeal = [{"C1": 0.9, "C2": 0.2, "H1": 1.1, "H2": 0.4, "W1": 0.7},
              {"C1": 0.1, "C2": 1.0, "H1": 0.3, "H2": 1.2, "W1": -0.2}]
    return DemandModel(tuple(
        Segment(name, share, intercept, pc, appeal[k], sc, sb)
        for k, (name, share, intercept, pc, sc, sb) in enumerate(
            zip(("A", "B"), (0.65, 0.35), (-1.5, -2.0), price_coef, size_coef, span))
    ))


OFFERS = [
    pytest.param([("C1", "H1"), ("C2", "H2", "W1"), ("W1",)], [400.0, 650.0, 120.0], id="three-bundles-mixed-sizes"),
    pytest.param([("C1", "H1", "W1")], [300.0], id="one-bundle-all-zones"),
    pytest.param([("H1", "H2"), ("C1",), ("C2", "W1"), ("C1", "H2")], [500.0, 80.0, 260.0, 900.0],
                 id="four-bundles-single-zone-ones"),
]


def exact_rates(truth: DemandModel, bundles, prices) -> np.ndarray:
    """The logit by hand: (bundles, segments)."""
    out = np.empty((len(bundles), len(truth.segments)))
    for s, seg in enumerate(truth.segments):
        u = np.array([seg.intercept + sum(seg.appeal[k] for k in b) + seg.size_coef * (len(b) - 1)
                      + seg.span_bonus * (len({ZONES[k] for k in b}) - 1) - seg.price_coef * p
                      for b, p in zip(bundles, prices)])
        out[:, s] = np.exp(u) / (1.0 + np.exp(u).sum())
    return out


@pytest.mark.parametrize("bundles, prices", OFFERS)
def test_take_rates_are_the_logit_of_the_truth(bundles, prices):
    truth = small_truth()
    sim = MarketSimulator(truth, ZONES, seed=3)
    np.testing.assert_allclose(sim.take_rates("M", bundles, prices), exact_rates(truth, bundles, prices), rtol=1e-12)


@pytest.mark.parametrize("bundles, prices", OFFERS)
def test_drawn_take_up_passes_a_chi_square_test_against_the_true_rates(bundles, prices):
    """Pooled over 300 months of 4,000 buyers, each segment's counts (bundles + no bundle) fit the
    true multinomial: the chi-square p-value would be tiny if the inversion were off by one
    bundle or a segment used another's probabilities."""
    truth = small_truth()
    sim = MarketSimulator(truth, ZONES, seed=11)
    rates = exact_rates(truth, bundles, prices)
    counts = np.zeros((len(bundles), 2))
    buyers = np.zeros(2)
    for month in range(300):
        draw = sim.draw(month, "M", 4000)
        counts += sim.observe(draw, bundles, prices)
        buyers += draw.segment_buyers
    for s in range(2):
        observed = np.append(counts[:, s], buyers[s] - counts[:, s].sum())
        expected = buyers[s] * np.append(rates[:, s], 1.0 - rates[:, s].sum())
        assert stats.chisquare(observed, expected).pvalue > 1e-3, (s, observed, expected)
    shares = buyers / buyers.sum()
    assert abs(shares[0] - 0.65) < 4 * np.sqrt(0.65 * 0.35 / buyers.sum())


def test_the_same_seed_draws_the_same_month_and_another_seed_does_not():
    truth = small_truth()
    bundles, prices = [("C1", "H1"), ("C2", "W1")], [400.0, 250.0]
    first = MarketSimulator(truth, ZONES, seed=5).history_rows(MarketSimulator(truth, ZONES, 5).draw(2, "M", 3000),
                                                               "2027-01", bundles, prices)
    again = MarketSimulator(truth, ZONES, seed=5)
    second = again.history_rows(again.draw(2, "M", 3000), "2027-01", bundles, prices)
    other = MarketSimulator(truth, ZONES, seed=6)
    third = other.history_rows(other.draw(2, "M", 3000), "2027-01", bundles, prices)
    assert first.equals(second)
    assert not first["taken"].equals(third["taken"])


def test_common_random_numbers_every_offer_faces_the_same_buyers():
    """The draw of a (month, market) does not depend on what is offered, and the same offer made
    twice observes the same counts; a slightly dearer bundle loses buyers, never gains any."""
    sim = MarketSimulator(small_truth(), ZONES, seed=9)
    draw = sim.draw(4, "M", 5000)
    same = sim.draw(4, "M", 5000)
    np.testing.assert_array_equal(draw.segment_buyers, same.segment_buyers)
    cheap = sim.observe(draw, [("C1", "H1")], [400.0])
    dear = sim.observe(same, [("C1", "H1")], [440.0])
    assert (dear <= cheap).all() and dear.sum() < cheap.sum()
    np.testing.assert_array_equal(sim.observe(draw, [("C1", "H1")], [400.0]), cheap)


def test_history_rows_are_a_valid_history():
    sim = MarketSimulator(small_truth(), ZONES, seed=1)
    draw = sim.draw(0, "North", 2500)
    rows = sim.history_rows(draw, "2027-03", [("C1", "H1"), ("W1",)], [399.0, 99.0])
    assert tuple(rows.columns) == HISTORY_COLUMNS
    assert len(rows) == 2 * 2
    history = History(rows.assign(row=range(2, 2 + len(rows))))
    cells = history.cells()
    assert cells["buyers"].sum() == 2500
    assert (cells["taken"] <= cells["buyers"]).all()


def test_market_truths_override_the_default_model():
    base = small_truth()
    dear = small_truth(price_coef=(0.02, 0.02))
    sim = MarketSimulator(base, ZONES, seed=0, market_truths={"South": dear})
    north = sim.take_rates("North", [("C1", "H1")], [400.0])
    south = sim.take_rates("South", [("C1", "H1")], [400.0])
    assert (south < north).all()


@pytest.mark.parametrize("seed", [-1, 1.5, True], ids=["negative", "fraction", "bool"])
def test_a_bad_seed_is_refused(seed):
    with pytest.raises(InputError, match="seed must be a whole number >= 0"):
        MarketSimulator(small_truth(), ZONES, seed=seed)


def test_an_offer_with_an_unknown_sku_is_refused():
    sim = MarketSimulator(small_truth(), ZONES, seed=0)
    with pytest.raises(InputError, match="SKU 'X9' of the offer has no zone"):
        sim.take_rates("M", [("C1", "X9")], [100.0])
