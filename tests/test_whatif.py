"""What-if functions against known answers: hand-sized problems whose bindings and prices can be
worked out on paper, and the CLI's own sheet for the downloads."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.errors import InputError
from pricing.cli import main as cli_main
from pricing.optimizer.optimize import InfeasibleTarget, optimize
from pricing.domain.problem import Problem
from pricing.domain.settings import Settings
from pricing.app import (
    WhatIf, apply_whatif, approved_sheet, compare_bundles, compare_totals, explain_bundles, review_table,
    run_whatif, sheet_files, target_grid, tradeoff_curve,
)

CATALOG = """sku,name,category,zone,list_price,unit_cost,standalone_rate,active
CAR-A,Car thing A,dash_cam,car,1000,850,0.01,true
HOME-B,Home thing B,charger,home,1000,850,0.01,true
CAR-C,Car thing C,inflator,car,300,200,0.02,true
HOME-D,Home thing D,camera,home,400,300,0.02,true
"""


def _model(price_coef: float = 0.002) -> dict:
    appeal = {"CAR-A": 1.0, "HOME-B": 1.0, "CAR-C": 0.5, "HOME-D": 0.5}
    return {"kind": "mnl_mixture", "currency": "CNY", "segments": [
        {"name": "Pro", "share": 0.6, "intercept": -1.0, "price_coef": price_coef, "appeal": appeal},
        {"name": "Max", "share": 0.4, "intercept": -1.5, "price_coef": price_coef / 2, "appeal": appeal},
    ]}


def tiny(tmp_path: Path, last_sheet: str | None = None, **settings) -> Problem:
    """Four SKUs; with min_items = max_items = 2 and car + home required, four possible bundles."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "catalog.csv").write_text(CATALOG)
    (tmp_path / "model.json").write_text(json.dumps(_model()))
    if last_sheet is not None:
        (tmp_path / "last_sheet.csv").write_text(last_sheet)
    base = dict(max_bundles=1, min_items=2, max_items=2, discounts=(0.05, 0.10), attach_rate=0.0,
                min_margin=0.08, max_change=0.10, buyers=1000)
    base.update(settings)
    return Problem.load(tmp_path, Settings(**base))


def test_apply_whatif_changes_only_what_it_says(tmp_path):
    base = tiny(tmp_path)
    whatif = WhatIf.from_settings(base.settings).replace(
        price_sensitivity=1.5, cost_change_pct=10.0, deepest_discount=0.05, segment_shares=(0.5, 0.5),
        attach_rate=0.2, max_bundles=3, min_margin=0.1, buyers=5000.0, pinned=("CAR-A",), banned=("HOME-D",))
    problem = apply_whatif(base, whatif)
    np.testing.assert_allclose(problem.model.price_coefs, 1.5 * base.model.price_coefs)
    np.testing.assert_allclose(problem.catalog.unit_cost, 1.1 * base.catalog.unit_cost)
    np.testing.assert_allclose(problem.model.shares, [0.5, 0.5])
    s = problem.settings
    assert (s.discounts, s.attach_rate, s.max_bundles, s.min_margin, s.buyers) == ((0.05,), 0.2, 3, 0.1, 5000.0)
    assert (s.pinned, s.banned) == (("CAR-A",), ("HOME-D",))
    # the base problem is not written on
    assert base.settings.discounts == (0.05, 0.10) and base.model.shares.tolist() == [0.6, 0.4]
    assert apply_whatif(base, WhatIf.from_settings(base.settings)).settings == base.settings


@pytest.mark.parametrize("change, message", [
    pytest.param(dict(deepest_discount=0.01), r"deepest discount: must be at least the smallest discount on the ladder \(5%\)", id="deepest"),
    pytest.param(dict(segment_shares=(0.5, 0.6)), r"segment mix: segment shares must sum to 1, got 1.1", id="mix"),
    pytest.param(dict(cost_change_pct=-100.0), r"unit-cost change: must be a percentage above -100", id="cost"),
    pytest.param(dict(price_sensitivity=-1.0), r"price sensitivity: must be a finite number >= 0", id="sensitivity"),
])
def test_bad_controls_name_the_control(tmp_path, change, message):
    base = tiny(tmp_path)
    with pytest.raises(InputError, match=message):
        apply_whatif(base, WhatIf.from_settings(base.settings).replace(**change))


def test_margin_floor_and_ladder_top_bind(tmp_path):
    # A + B: list 2000, cost 1700. Ladder: 5% -> 1,899 (margin 10.5%), 10% -> 1,799 (margin 5.5%),
    # so with an 8% floor only 1,899 is allowed: capped by the ladder above, by the floor below.
    problem = tiny(tmp_path, banned=("CAR-C", "HOME-D"))
    result = optimize(problem)
    assert [b.price for b in result.offer.bundles] == [1899.0]
    (line,) = explain_bundles(result)
    assert "the ladder's smallest discount caps the price" in line
    assert "a deeper discount (1,799 CNY) would break the 8% margin floor" in line
    assert "(100%)" in line  # the one bundle brings all the attach and all the margin


def test_stability_band_binds(tmp_path):
    # Last approved at 1,850 with a 2% band [1,813, 1,887]: both ladder prices fall outside,
    # so the bundle keeps 1,850; the band stops 1,899 above.
    sheet = "skus,price\nCAR-A|HOME-B,1850\n"
    problem = tiny(tmp_path, last_sheet=sheet, banned=("CAR-C", "HOME-D"), max_change=0.02)
    result = optimize(problem)
    assert [b.price for b in result.offer.bundles] == [1850.0]
    (line,) = explain_bundles(result)
    assert "the stability band (±2% of the last approved 1,850 CNY) stops a higher price" in line


def test_deepest_discount_binds_and_pins_are_named(tmp_path):
    # C + D only (list 700, cost 500) on a one-step ladder: 10% -> 629, above the floor, is both
    # the top and the bottom of the ladder.
    problem = tiny(tmp_path, banned=("CAR-A", "HOME-B"), discounts=(0.10,), pinned=("HOME-D",))
    (line,) = explain_bundles(optimize(problem))
    assert "smallest discount caps the price" in line and "already sits at the deepest discount" in line
    assert "Carries pinned HOME-D." in line


def test_tradeoff_curve_marks_unreachable_targets():
    class Fake:
        def __init__(self, target):
            self.figures = type("F", (), {"attach_rate": target, "margin": 1000 * (1 - target), "margin_rate": 0.2})()
            self.proven_optimal, self.status = True, None

    def solve(target):
        if target > 0.3:
            raise InfeasibleTarget(target, 0.3)
        return Fake(target)

    seen = []
    frame = tradeoff_curve([0.1, 0.2, 0.4], solve, lambda i, t: seen.append((i, t)))
    assert seen == [(0, 0.1), (1, 0.2), (2, 0.4)]
    assert frame["reachable"].tolist() == [True, True, False]
    assert frame["margin"].iloc[:2].tolist() == pytest.approx([900, 800])
    assert frame["note"].iloc[2] == "unreachable: at most 30.00%"


def test_tradeoff_curve_on_a_real_problem_never_rises(tmp_path):
    base = tiny(tmp_path, max_bundles=2, min_margin=0.0)
    targets = target_grid(0.05, 0.6, 4, current=0.1)
    assert targets == [0.05, 0.1, 0.2333, 0.4167, 0.6]
    frame = tradeoff_curve(targets, lambda t: optimize(base.replace(settings=base.settings.replace(attach_rate=t))))
    reachable = frame[frame["reachable"]]
    assert len(reachable) >= 3
    assert (np.diff(reachable["margin"].to_numpy()) <= 1e-6).all()  # a tighter target never pays more
    assert (reachable["attach_rate"] >= reachable["target"] - 1e-6).all()


def test_target_grid_rejects_an_empty_range():
    with pytest.raises(InputError, match="target sweep: needs 0 <= low < high < 1"):
        target_grid(0.2, 0.1, 5, 0.15)


def test_run_whatif_keeps_unreachable_as_an_answer(tmp_path):
    base = tiny(tmp_path)
    run = run_whatif(base, WhatIf.from_settings(base.settings).replace(attach_rate=0.9))
    assert run.result is None and run.unreachable is not None
    assert "attach target 90.00% cannot be reached" in str(run.unreachable)


def test_uploaded_catalog_gives_the_cli_message(tmp_path, capsys):
    base = tiny(tmp_path / "a")
    broken = CATALOG.replace("CAR-C,Car thing C,inflator,car,300,200", "CAR-C,Car thing C,inflator,car,300,-2.5")
    folder = tmp_path / "b"
    folder.mkdir()
    (folder / "catalog.csv").write_text(broken)
    (folder / "model.json").write_text(json.dumps(_model()))
    assert cli_main(["optimize", "--data", str(folder), "--out", str(tmp_path / "out")]) == 2
    cli_line = capsys.readouterr().err.strip().removeprefix("bad input: ")
    with pytest.raises(InputError) as caught:
        run_whatif(base, WhatIf.from_settings(base.settings), broken.encode())
    assert str(caught.value) == cli_line == "catalog.csv row 4, column unit_cost: must be >= 0, got '-2.5'"


def test_downloads_are_the_cli_sheet(tmp_path):
    problem = tiny(tmp_path, max_bundles=2)
    csv_text, xlsx = sheet_files(optimize(problem))
    config = tmp_path / "run.toml"
    config.write_text('[offer]\nmax_bundles = 2\nmin_items = 2\nmax_items = 2\nrequired_zones = ["car", "home"]\n'
                      'one_per_category = true\n[price]\ndiscounts = [0.05, 0.10]\nrounding = "charm"\n'
                      'min_margin = 0.08\nmax_change = 0.10\n[target]\nattach_rate = 0.0\n[market]\nbuyers = 1000\n'
                      '[solver]\ntime_limit = 60\nrel_gap = 1e-4\n')
    assert cli_main(["optimize", "--data", str(tmp_path), "--config", str(config), "--out", str(tmp_path / "out")]) == 0
    assert csv_text == (tmp_path / "out" / "price_sheet.csv").read_text()
    import openpyxl
    from io import BytesIO
    ours = openpyxl.load_workbook(BytesIO(xlsx))
    theirs = openpyxl.load_workbook(tmp_path / "out" / "price_sheet.xlsx")
    assert ours.sheetnames == theirs.sheetnames
    for name in ("Changes", "Bundles", "Exceptions", "Elasticities", "Settings"):
        rows = lambda book: [list(r) for r in book[name].iter_rows(values_only=True)]  # noqa: E731
        assert rows(ours) == rows(theirs), name


def test_approved_sheet_is_reread_with_todays_model(tmp_path):
    problem = tiny(tmp_path, last_sheet="skus,price\nCAR-A|HOME-B,1850\nCAR-C|HOME-D,629\n")
    frame, totals = approved_sheet(problem)
    assert frame["price"].tolist() == [1850.0, 629.0]
    assert frame["change_pct"].tolist() == [0.0, 0.0]
    assert totals["bundles"] == 2
    assert totals["margin"] == pytest.approx(frame["expected_margin"].sum(), rel=1e-6)
    assert approved_sheet(tiny(tmp_path / "no_sheet"))[1] == {}
    retired = tiny(tmp_path / "retired", last_sheet="skus,price\nCAR-A|HOME-B,1850\nCAR-C|HOME-D,629\n")
    retired = retired.replace(catalog=retired.catalog.__class__(
        *(getattr(retired.catalog, f) for f in ("skus", "names", "categories", "zones", "list_price", "unit_cost",
                                                 "standalone_rate")), active=np.array([True, True, False, True])))
    assert approved_sheet(retired)[0]["skus"].tolist() == ["CAR-A|HOME-B"]


def test_compare_bundles_matches_sku_sets_in_any_order():
    a = pd.DataFrame({"skus": ["X|Y", "Z|W"], "name": ["xy", "zw"], "price": [100.0, 200.0],
                      "take_rate": [0.1, 0.2], "expected_margin": [10.0, 20.0]})
    b = pd.DataFrame({"skus": ["Y|X", "Q|R"], "name": ["xy", "qr"], "price": [110.0, 50.0],
                      "take_rate": [0.05, 0.3], "expected_margin": [8.0, 3.0]})
    out = compare_bundles(a, b, ("A", "B")).set_index("skus")
    assert out.loc["X|Y", "price change %"] == 10.0
    assert out.loc["X|Y", "in"] == "both"
    assert out.loc["W|Z", "in"] == "A only" and np.isnan(out.loc["W|Z", "price B"])
    assert out.loc["Q|R", "in"] == "B only"
    totals = compare_totals({"margin": 100.0, "attach_rate": 0.15}, {"margin": 80.0, "attach_rate": 0.2}, ("A", "B"))
    margin = totals.set_index("figure").loc["expected incremental IoT margin (CNY/month)"]
    assert (margin["A"], margin["B"], margin["difference"]) == (100.0, 80.0, -20.0)


def test_review_flags_rule_breaks_against_house_rules():
    sheet = pd.DataFrame({
        "bundle_id": ["B1", "B2", "B3"], "name": ["a", "b", "c"], "skus": ["X|Y", "Z|W", "U|V"], "items": [2, 2, 5],
        "price": [1000.0, 900.0, 500.0], "unit_cost_total": [950.0, 700.0, 400.0], "unit_margin": [50.0, 200.0, 100.0],
        "margin_pct": [5.0, 22.22, 20.0], "discount_pct": [5.0, 10.0, 10.0],
    })
    last = {frozenset({"X", "Y"}): 1000.0, frozenset({"Z", "W"}): 1000.0}
    out = review_table(sheet, last, Settings()).set_index("bundle_id")
    assert out.loc["B1", "flags"] == "margin 5.0% below the 8% floor"
    assert out.loc["B2", "change_pct"] == -10.0 and out.loc["B2", "flags"] == ""  # exactly at the limit
    assert out.loc["B3", "flags"] == "5 items, outside 2-4"
    assert out["flagged"].tolist() == [True, False, True]
    moved = review_table(sheet.assign(price=[1000.0, 880.0, 500.0]), last, Settings()).set_index("bundle_id")
    assert moved.loc["B2", "flags"] == "moves -12.0% against the last approved price, beyond ±10%"


@pytest.mark.parametrize("key, value, text", [
    pytest.param("attach_rate", 0.15124, "15.12%", id="rate"),
    pytest.param("margin", 1466316.4, "1,466,316", id="money"),
    pytest.param("margin_rate_change_points", -1.654, "-1.65", id="points"),
    pytest.param("devices_per_buyer", 1.0571, "1.057", id="devices"),
    pytest.param("bundles", 5, "5", id="count"),
    pytest.param("margin", None, "", id="missing"),
])
def test_format_total(key, value, text):
    from pricing.app import format_total
    assert format_total(key, value) == text
