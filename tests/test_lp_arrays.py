"""The array-built program (``pricing.optimizer.lp_arrays``) against truths written apart from it:
a dense matrix built cell by cell, a knapsack solved by enumeration, an LP with a closed form,
and the offer MILP's rows read back row by row against the formulation."""

from __future__ import annotations

import itertools

import highspy
import numpy as np
import pytest

from pricing.optimizer.highs import run_mip
from pricing.optimizer.lp_arrays import INF, LinearModel, rows_from_dense, rows_from_lists
from pricing.optimizer.milp import OfferMilp
from pricing.optimizer.status import SolveStatus


def _dense(highs: highspy.Highs) -> np.ndarray:
    lp = highs.getLp()
    a = np.zeros((lp.num_row_, lp.num_col_))
    start, index, value = (np.asarray(x) for x in (lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_))
    rowwise = lp.a_matrix_.format_ == highspy.MatrixFormat.kRowwise
    for k in range((lp.num_row_ if rowwise else lp.num_col_)):
        for p in range(start[k], start[k + 1]):
            if rowwise:
                a[k, index[p]] = value[p]
            else:
                a[index[p], k] = value[p]
    return a


def test_blocks_give_the_matrix_written_cell_by_cell() -> None:
    rng = np.random.default_rng(3)
    model = LinearModel()
    x = model.add_columns("x", np.zeros((3, 2)), 1.0)
    y = model.add_columns("y", np.zeros(2), 5.0, integer=True)
    cols = np.stack([x[:, 0], x[:, 1], np.full(3, y[0])], axis=1)
    vals = rng.normal(size=(3, 3))
    vals[1, 2] = 0.0  # dropped, not stored
    model.add(rows_from_dense("dense", cols, vals, -INF, np.arange(3.0)))
    model.add(rows_from_lists("ragged", [(np.array([y[1]]), np.array([2.0])), (x.ravel(), np.ones(6))], 1.0, INF))
    expected = np.zeros((5, 8))
    for r in range(3):
        for k in range(3):
            expected[r, cols[r, k]] += vals[r, k]
    expected[3, y[1]] = 2.0
    expected[4, x.ravel()] = 1.0
    highs = model.to_highs()
    assert np.allclose(_dense(highs), expected)
    lp = highs.getLp()
    assert list(lp.row_upper_[:3]) == [0.0, 1.0, 2.0] and list(lp.row_lower_[3:]) == [1.0, 1.0]
    assert list(lp.integrality_) == [highspy.HighsVarType.kContinuous] * 6 + [highspy.HighsVarType.kInteger] * 2
    assert model.row_names() == ["dense_0", "dense_1", "dense_2", "ragged_0", "ragged_1"]


def test_knapsack_matches_enumeration() -> None:
    rng = np.random.default_rng(11)
    for _ in range(20):
        n = int(rng.integers(3, 9))
        value, weight = rng.uniform(1, 10, n), rng.uniform(1, 10, n)
        capacity = float(weight.sum() * rng.uniform(0.2, 0.8))
        model = LinearModel()
        take = model.add_columns("take", np.zeros(n), 1.0, integer=True)
        model.cost[take] = value
        model.add(rows_from_dense("capacity", take[None, :], weight[None, :], -INF, capacity))
        run = run_mip(model.to_highs(), mip_rel_gap=0.0)
        best = max(value[list(s)].sum() for k in range(n + 1) for s in itertools.combinations(range(n), k)
                   if weight[list(s)].sum() <= capacity)
        assert run.status is SolveStatus.OPTIMAL
        assert float(value @ run.values[take]) == pytest.approx(best, rel=1e-9)
        assert run.dual_bound == pytest.approx(best, rel=1e-6)


def test_relaxation_is_the_fractional_knapsack() -> None:
    """As an LP the knapsack's optimum is Dantzig's greedy closed form."""
    value, weight, capacity = np.array([6.0, 10.0, 12.0]), np.array([1.0, 2.0, 3.0]), 5.0
    model = LinearModel()
    take = model.add_columns("take", np.zeros(3), 1.0, integer=True)
    model.cost[take] = value
    model.add(rows_from_dense("capacity", take[None, :], weight[None, :], -INF, capacity))
    highs = model.to_highs(integer=False)
    highs.run()
    assert highs.getInfo().objective_function_value == pytest.approx(6 + 10 + 12 * 2 / 3)


def test_offer_rows_state_the_formulation() -> None:
    """Every row of the offer MILP at an offer's exact point: equalities hold, the McCormick
    rows hold, and the objective is the offer's margin per buyer (scaled)."""
    rng = np.random.default_rng(5)
    v = rng.uniform(0.05, 0.6, size=(7, 3))
    margin = rng.uniform(10, 90, 7)
    set_id = np.array([0, 0, 1, 2, 2, 3, 4])
    milp = OfferMilp(v, margin, set_id, np.zeros(7, dtype=np.int64), np.array([0.5, 0.3, 0.2]), 3, 0.1)
    lp = milp.model.to_highs().getLp()
    a = _dense(milp.model.to_highs())
    for offer in ([1, 3, 5], [0, 6], [2]):
        x = milp.start_values(offer)
        ax = a @ x
        assert np.all(ax >= np.asarray(lp.row_lower_) - 1e-9) and np.all(ax <= np.asarray(lp.row_upper_) + 1e-9)
        assert float(milp.model.cost @ x) * milp.objective_scale == pytest.approx(milp.value_of(offer), rel=1e-9)
    # Two prices of one set together break one_price_per_set, and only that group.
    x = milp.start_values([0, 1])
    broken = {name.rsplit("_", 1)[0] for name, ax, lo, hi in zip(milp.model.row_names(), a @ x, lp.row_lower_,
                                                               lp.row_upper_) if ax > hi + 1e-9 or ax < lo - 1e-9}
    assert broken == {"one_price_per_set", "one_price_per_set_share"}


def test_export_names_rows_by_rule(tmp_path) -> None:
    milp = OfferMilp(np.array([[0.2], [0.3]]), np.array([5.0, 7.0]), np.array([0, 1]), np.zeros(2, dtype=np.int64),
                     np.array([1.0]), 1, 0.0)
    milp.export_lp(tmp_path / "offer.lp")
    text = (tmp_path / "offer.lp").read_text()
    assert "max_bundles_0" in text and "take_le_offer_1" in text and "offer_1" in text


class _Stub:
    """A HiGHS that says "optimal" with an objective its own solution does not have (seen on
    near-degenerate bounds), or that tells the truth."""

    def __init__(self, reported: float) -> None:
        self.reported = reported

    def setOptionValue(self, name, value):  # noqa: N802 - HiGHS's names
        pass

    def run(self):
        pass

    def getModelStatus(self):  # noqa: N802
        return highspy.HighsModelStatus.kOptimal

    def getInfo(self):  # noqa: N802
        class Info:
            primal_solution_status = 2
            objective_function_value = self.reported
            mip_dual_bound = self.reported
            mip_node_count = 0
        return Info()

    def getSolution(self):  # noqa: N802
        class Solution:
            col_value = [1.0, 0.0]
        return Solution()

    def getLp(self):  # noqa: N802
        class Lp:
            col_cost_ = [3.0, 5.0]
        return Lp()


def test_an_optimal_status_with_an_objective_the_solution_lacks_is_an_error() -> None:
    assert run_mip(_Stub(3.0)).status is SolveStatus.OPTIMAL
    assert run_mip(_Stub(4.5)).status is SolveStatus.ERROR


def test_a_program_highs_refuses_is_an_error_not_an_empty_model() -> None:
    """HiGHS refuses coefficients of 1e15 and more and keeps an empty model; that must raise,
    never pass for the program (it did once, with a utility of 36 in model.json)."""
    model = LinearModel()
    x = model.add_columns("x", np.zeros(2), 1.0)
    model.cost[x] = 1.0
    model.add(rows_from_dense("huge", x[None, :], np.array([[1.0, 1e16]]), -INF, 1.0))
    with pytest.raises(RuntimeError, match="HiGHS refused the program"):
        model.to_highs()


def test_highs_scales_only_programs_whose_entries_span_more_than_the_threshold() -> None:
    """``scaling_for``: our programs are built scaled, so HiGHS's own scaling is turned off where
    the nonzero entries and costs span at most ``UNSCALED_SPAN`` (the shipped data's span 280),
    and kept where they span more (the RS2 families: 3e4 to 2e7). Zeros and signs do not count."""
    from pricing.optimizer.lp_arrays import UNSCALED_MAX_COLUMNS, UNSCALED_SPAN, lp_from_coo, scaling_for

    assert scaling_for(10, np.array([3.6e-3, -1.0, 0.0]), np.array([0.059, 1.0])) == 0
    assert scaling_for(10, np.array([1.0, UNSCALED_SPAN])) == 0
    assert scaling_for(10, np.array([1.0, 1.01 * UNSCALED_SPAN])) == 1
    assert scaling_for(10, np.array([1.0, 2.0]), np.array([1e-4])) == 1  # the costs count too
    assert scaling_for(10, np.zeros(3)) == 0
    assert scaling_for(UNSCALED_MAX_COLUMNS + 1, np.array([1.0, 2.0])) == 1  # large programs keep it
    narrow = lp_from_coo(np.array([1.0, 1.0]), np.zeros(2), np.ones(2), np.array([-INF]), np.array([1.5]),
                         np.array([0, 0]), np.array([0, 1]), np.array([1.0, 0.5]))
    wide = lp_from_coo(np.array([1.0, 1.0]), np.zeros(2), np.ones(2), np.array([-INF]), np.array([1.5]),
                       np.array([0, 0]), np.array([0, 1]), np.array([1.0, 1e-5]))
    assert narrow.getOptionValue("simplex_scale_strategy")[-1] == 0
    assert wide.getOptionValue("simplex_scale_strategy")[-1] == 1
