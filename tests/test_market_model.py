"""Per-market demand in model.json: the format loads (with and without markets), for_market shifts
each segment's intercept, and bad market entries are one clear input error."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from models.demand import DemandModel
from models.errors import InputError
from tests.conftest import DATA


@pytest.fixture(scope="module")
def raw() -> dict:
    return json.loads((DATA / "model.json").read_text())


def test_for_market_adds_each_segments_shift_and_nothing_else(raw):
    model = DemandModel.from_dict(raw)
    assert model.markets == ("East", "North", "South", "West")
    north = model.for_market("North")
    shifts = np.array([s.market_intercepts["North"] for s in model.segments])
    np.testing.assert_allclose(north.intercepts, model.intercepts + shifts)
    np.testing.assert_array_equal(north.price_coefs, model.price_coefs)
    assert all(not s.market_intercepts for s in north.segments)
    unknown = model.for_market("Chengdu")  # a market the history never saw: the average market
    np.testing.assert_array_equal(unknown.intercepts, model.intercepts)
    again = DemandModel.from_dict(model.to_dict())
    assert again.segments[0].market_intercepts == model.segments[0].market_intercepts


def test_a_model_written_before_market_effects_still_loads(raw):
    old = copy.deepcopy(raw)
    for segment in old["segments"]:
        segment.pop("market_intercepts")
    model = DemandModel.from_dict(old)
    assert model.markets == () and "market_intercepts" not in model.to_dict()["segments"][0]
    np.testing.assert_array_equal(model.for_market("North").intercepts, model.intercepts)


@pytest.mark.parametrize("value, match", [
    pytest.param([0.1], "market_intercepts: must be an object of market -> number, got list", id="list"),
    pytest.param({"North": "high"}, "market_intercepts of 'North': must be a finite number, got 'high'", id="text"),
    pytest.param({"North": True}, "market_intercepts of 'North': must be a finite number", id="bool"),
])
def test_bad_market_entries_are_input_errors(raw, value, match):
    bad = copy.deepcopy(raw)
    bad["segments"][1]["market_intercepts"] = value
    with pytest.raises(InputError, match=match):
        DemandModel.from_dict(bad)
