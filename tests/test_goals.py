"""Goals (IoT gross-margin rate, devices per buyer) with offer rules, against brute force.

Each instance draws an attach target, some offer rules and one or both goals, each of a kind:
``slack`` (met by the best offer without it), ``binding`` (between that offer's value and the
most any offer reaches) or ``unreachable`` (above the most any offer reaches under the target and
rules). The optimizer must return the enumerated optimum, or say the goal is out of reach with
the enumerated best value.
"""

from __future__ import annotations

import numpy as np
import pytest

from goal_enumeration import baseline, enumerate_offers, keeps_rules, offer_key
from pricing.domain.offer import baseline_figures
from pricing.optimizer.goals import goal_set
from pricing.optimizer.optimize import GoalsOutOfReach, InfeasibleTarget, optimize
from test_bruteforce import make_instance

N_INSTANCES = 130
KINDS = ("slack", "binding", "unreachable")
GOAL_NAMES = ("margin_rate_points", "devices_per_buyer")


def _instance(seed: int):
    """A brute-force instance (from the shared generator) whose no-bundle revenue is positive."""
    for attempt in range(20):
        inst, cands, _ = make_instance(10_000 + 97 * seed + attempt)
        if baseline(inst)[1] > 0 and cands:
            return inst, cands
    raise RuntimeError("no instance with standalone revenue")


def _level(kind: str, values: np.ndarray, at_best: float, slack_below: float) -> float:
    top = float(values.max())
    if kind == "binding" and top - at_best > 1e-3:
        return at_best + 0.5 * (top - at_best)
    if kind == "unreachable":
        return top + max(0.05, 0.1 * abs(top))
    return at_best - slack_below


def _pose(seed: int):
    rng = np.random.default_rng(seed)
    inst, cands = _instance(seed)
    rules = dict(max_bundles_per_sku=int(rng.integers(1, 3)) if rng.random() < 0.4 else None,
                 max_shared_skus=int(rng.integers(0, 2)) if rng.random() < 0.4 else None,
                 min_price_gap=float(rng.choice([0.05, 0.15])) if rng.random() < 0.4 else None)
    offers = enumerate_offers(inst, cands, rules["max_bundles_per_sku"], rules["max_shared_skus"],
                              rules["min_price_gap"])
    base_ok = offers.rules_ok.copy()
    target = 0.0
    if rng.random() < 0.6 and base_ok.any():
        best = int(np.flatnonzero(base_ok)[np.argmax(offers.margin[base_ok])])
        target = 0.5 * float(offers.attach[best])
    base_ok &= offers.attach >= target - 1e-12
    names = [n for n in GOAL_NAMES if rng.random() < 0.6] or [GOAL_NAMES[seed % 2]]
    kinds = {n: KINDS[(seed + i) % 3] for i, n in enumerate(names)}
    goals = {}
    if base_ok.any():
        best = int(np.flatnonzero(base_ok)[np.argmax(offers.margin[base_ok])])
        for n in names:
            values = offers.points if n == "margin_rate_points" else offers.devices
            goals[n] = _level(kinds[n], values[base_ok], float(values[best]), 0.01)
    settings = inst.problem.settings.replace(attach_rate=target, **rules, **goals)
    return inst, cands, offers, base_ok, settings, rules, goals


@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed{s}") for s in range(N_INSTANCES)])
def test_goals_and_rules_match_enumeration(seed: int) -> None:
    inst, cands, offers, base_ok, settings, rules, goals = _pose(seed)
    problem = inst.problem.replace(settings=settings)
    feasible = base_ok.copy()
    if "margin_rate_points" in goals:
        feasible &= offers.points >= goals["margin_rate_points"]
    if "devices_per_buyer" in goals:
        feasible &= offers.devices >= goals["devices_per_buyer"]

    if not base_ok.any():
        with pytest.raises(InfeasibleTarget) as info:
            optimize(problem)
        assert not isinstance(info.value, GoalsOutOfReach)
        top = float(offers.attach[offers.rules_ok].max()) if offers.rules_ok.any() else 0.0
        assert info.value.best_attach == pytest.approx(top, abs=1e-6)
        return
    if not feasible.any():
        with pytest.raises(GoalsOutOfReach) as info:
            optimize(problem)
        for reach in info.value.reach:
            values = offers.points if reach.name == "margin_rate_points" else offers.devices
            assert reach.best == pytest.approx(float(values[base_ok].max()), abs=1e-5), reach
        out = [r for r in info.value.reach if r.best < r.required]
        assert bool(out) == any(float((offers.points if n == "margin_rate_points" else offers.devices)[base_ok].max())
                                < v for n, v in goals.items())
        return

    result = optimize(problem)
    assert result.proven_optimal
    assert result.figures.margin_per_buyer == pytest.approx(float(offers.margin[feasible].max()), rel=1e-4, abs=1e-7)
    lookup = {(frozenset(c[1]), round(c[2], 4)): i for i, c in enumerate(cands)}
    chosen = tuple(sorted(lookup[offer_key(problem, b)] for b in result.offer.bundles))
    assert keeps_rules(inst, cands, chosen, rules["max_bundles_per_sku"], rules["max_shared_skus"],
                       rules["min_price_gap"])
    if "margin_rate_points" in goals:
        assert result.figures.margin_rate_change_points >= goals["margin_rate_points"] - 1e-6
        assert result.goals["margin_rate_points"]["reached"] == pytest.approx(
            result.figures.margin_rate_change_points, abs=1e-9)
    if "devices_per_buyer" in goals:
        assert result.figures.devices_per_buyer >= goals["devices_per_buyer"] - 1e-9
        assert result.goals["devices_per_buyer"]["reached"] == pytest.approx(result.figures.devices_per_buyer, abs=1e-9)


def test_margin_rate_row_is_the_rate_multiplied_out() -> None:
    """Hand-computed: one SKU, one bundle, one segment.

    Standalone: rate 0.1, list 1,000, cost 600, so per buyer m0 = 40, R0 = 100, r0 = 40%.
    A bundle of that SKU at price 900 has incremental margin 900 - 600 - 40 = 260 and revenue
    change 900 - 100 = 800 per sale. With take share P the rate is (40 + 260 P) / (100 + 800 P).
    The goal "+X points" (rho = 0.4 + X/100) as a row: P (260 - rho 800) >= 100 X / 100.
    """
    from pricing.domain.catalog import Catalog
    from pricing.domain.settings import Settings

    catalog = Catalog(skus=("A",), names=("a",), categories=("c",), zones=("car",), list_price=np.array([1000.0]),
                      unit_cost=np.array([600.0]), standalone_rate=np.array([0.1]), active=np.array([True]))
    assert baseline_figures(catalog) == pytest.approx((40.0, 100.0, 0.1))
    members = np.array([[0]])
    for points in (-5.0, 0.0, 3.0):
        goals = goal_set(catalog, members, np.array([0]), np.array([900.0]), np.array([260.0]),
                         Settings(min_items=1, required_zones=(), margin_rate_points=points, attach_rate=0.0))
        (goal,) = goals.goals
        rho = 0.4 + points / 100
        assert goal.weight[0] == pytest.approx(260.0 - rho * 800.0)
        assert goal.level == pytest.approx(points)
        for take in (0.0, 0.01, 0.05, 0.2):
            rate_ok = (40 + 260 * take) / (100 + 800 * take) >= rho - 1e-12
            row_ok = take * goal.weight[0] >= goal.level - 1e-12
            assert rate_ok == row_ok, (points, take)
        # The take share that meets it exactly: (40 + 260 P) = rho (100 + 800 P).
        exact = (rho * 100 - 40) / (260 - rho * 800) if rho * 800 != 260 else None
        if exact is not None and exact > 0:
            assert (40 + 260 * exact) / (100 + 800 * exact) == pytest.approx(rho)
            assert exact * goal.weight[0] == pytest.approx(goal.level)


def test_devices_goal_counts_what_evaluate_offer_counts(data_dir) -> None:
    """On the shipped data with a slack devices goal, the program's devices figure (baseline plus
    take shares times per-sale weights) equals ``OfferFigures.devices_per_buyer`` and a sum by hand."""
    from pricing.domain.problem import Problem

    problem = Problem.load(data_dir)
    result = optimize(problem.replace(settings=problem.settings.replace(devices_per_buyer=0.5)))
    figures = result.figures
    catalog = problem.catalog
    rate = catalog.standalone_rate
    by_hand = rate[catalog.active.astype(bool)].sum()
    for b, bundle in enumerate(result.offer.bundles):
        idx = [catalog.skus.index(s) for s in bundle.skus]
        by_hand += figures.take_rate_overall[b] * (len(idx) - rate[idx].sum())
    assert figures.devices_per_buyer == pytest.approx(by_hand, rel=1e-12)
    assert result.goals["devices_per_buyer"]["reached"] == pytest.approx(by_hand, rel=1e-12)
    assert result.goals["devices_per_buyer"]["required"] == 0.5
    assert result.goals["devices_per_buyer"]["binds"] is False


def test_goal_sweep_reports_margin_and_out_of_reach_levels() -> None:
    """The trade-off sweep over a goal: one row per level, reached values from the figures, and
    out-of-reach levels kept with the reason."""
    from types import SimpleNamespace

    from pricing.app.whatif import goal_tradeoff_curve
    from pricing.optimizer.space import GoalReach

    def solve(goal, level):
        if level > 1.0:
            raise GoalsOutOfReach(0.15, 0.3, [GoalReach(goal, level, 1.0, True)], None)
        figures = SimpleNamespace(attach_rate=0.2, margin=1000.0 * (2 - level), margin_rate_change_points=level + 0.1,
                                  devices_per_buyer=1.0)
        return SimpleNamespace(figures=figures, proven_optimal=True, status=SimpleNamespace(value="optimal"))

    frame = goal_tradeoff_curve("margin_rate_points", [-1.0, 0.0, 1.0, 2.0], solve)
    assert list(frame["reachable"]) == [True, True, True, False]
    assert list(frame["margin"][:3]) == [3000.0, 2000.0, 1000.0]
    assert list(frame["reached"][:3]) == pytest.approx([-0.9, 0.1, 1.1])
    assert "+2 points is out of reach" in frame["note"][3]
    with pytest.raises(Exception, match="goal must be one of"):
        goal_tradeoff_curve("profit", [1.0], solve)


def test_cli_unreachable_goal_exits_3_with_one_line_and_writes_nothing(data_dir, tmp_path, capsys) -> None:
    """Shipped data, a devices goal no offer reaches: exit 3, one line naming the best value."""
    from pricing.cli.exit_codes import EXIT_TARGET_UNREACHABLE
    from pricing.cli.main import main

    out = tmp_path / "out"
    code = main(["optimize", "--data", str(data_dir), "--out", str(out), "--devices-per-buyer", "5"])
    captured = capsys.readouterr()
    assert code == EXIT_TARGET_UNREACHABLE
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("goal unreachable: 5 devices per buyer is out of reach with this catalog: "
                               "at a 15% attach rate the most is 1.")
    assert not out.exists() or not any(out.iterdir())


def test_margin_rate_out_of_reach_without_target_is_zero_points_with_no_solve(monkeypatch) -> None:
    """Shipped data: every bundle's incremental margin is below the no-bundle rate times its
    incremental revenue, so with no attach target the best change is 0 points (the empty offer),
    proven by that alone (formulation section 6), and +3 points is out of reach before any solve
    of the goal program."""
    from pricing.domain.problem import Problem
    from pricing.optimizer import space as space_module

    problem = Problem.load()
    problem = problem.replace(settings=problem.settings.replace(attach_rate=0.0, margin_rate_points=3.0))
    goals = goal_set(problem.catalog, *_shipped_candidate_arrays(problem), problem.settings)
    rate0 = goals.baseline[0] / goals.baseline[1]
    assert float((goals.margin - rate0 * goals.revenue).max()) < 0  # the premise, checked
    solved_objectives = []
    real = space_module.Space.solve

    def spy(self, objective, **kwargs):
        solved_objectives.append((objective, kwargs.get("margin") is not None))
        return real(self, objective, **kwargs)

    monkeypatch.setattr(space_module.Space, "solve", spy)
    with pytest.raises(GoalsOutOfReach, match=r"\+3 points is out of reach with this catalog: at a 0% attach rate "
                                              r"the best change is \+0\.00 points$") as info:
        optimize(problem)
    (reach,) = info.value.reach
    assert reach.proven and reach.best == 0.0
    assert solved_objectives == [("attach", False)]  # only the highest attach rate was solved for


def _shipped_candidate_arrays(problem):
    from pricing.optimizer.candidates import build_candidates

    cands = build_candidates(problem.catalog, problem.model, problem.settings, problem.last_prices)
    return cands.members, cands.set_id, cands.price, cands.margin


def _priced_everywhere(monkeypatch) -> list[bool]:
    """Price every pool (``root_reduction.priced_start``, elastic coupling rows and the phase-one
    check) as if it were large, with the goal start's sub-solve over 3 candidates; returns the list that records, per pricing, whether it proved
    the pool empty."""
    from pricing.optimizer import bound_fixing, root_reduction

    verdicts: list[bool] = []

    def spy(pool, *args, **kwargs):
        priced = bound_fixing.price_relaxation(pool, *args, **kwargs)
        verdicts.append(priced is not None and priced.empty)
        return priced

    monkeypatch.setattr(root_reduction, "PRICED_POOL", 0)
    monkeypatch.setattr(root_reduction, "price_relaxation", spy)
    # The goal start's sub-solve over the best offered bounds, on pools this small too.
    monkeypatch.setattr(root_reduction, "GOAL_START_CANDIDATES", 3)
    return verdicts


@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed{s}") for s in range(0, N_INSTANCES, 2)])
def test_goals_match_enumeration_with_every_pool_priced(seed: int, monkeypatch) -> None:
    """The brute-force instances above with every pool priced: the same answers, and no pool
    called empty (no offer keeps target, goals and pins) when enumeration finds an offer that does."""
    verdicts = _priced_everywhere(monkeypatch)
    test_goals_and_rules_match_enumeration(seed)
    _, _, offers, base_ok, _, _, goals = _pose(seed)
    feasible = base_ok.copy()
    for name, level in goals.items():
        feasible &= (offers.points if name == "margin_rate_points" else offers.devices) >= level
    assert verdicts
    if feasible.any():
        assert not any(verdicts)


def test_the_phase_one_check_proves_most_unreachable_goals_empty(monkeypatch) -> None:
    """Strength: a check that never fired would pass the test above. Over the instances whose
    goals no offer reaches, the first pricing of the solve proves the pool empty on most (51 of
    64 when written)."""
    fired = unreachable = 0
    for seed in range(N_INSTANCES):
        _, _, offers, base_ok, _, _, goals = _pose(seed)
        feasible = base_ok.copy()
        for name, level in goals.items():
            feasible &= (offers.points if name == "margin_rate_points" else offers.devices) >= level
        if not base_ok.any() or feasible.any():
            continue
        inst, _, _, _, settings, _, _ = _pose(seed)
        verdicts = _priced_everywhere(monkeypatch)
        with pytest.raises(GoalsOutOfReach):
            optimize(inst.problem.replace(settings=settings))
        unreachable += 1
        fired += bool(verdicts and verdicts[0])
    print(f"phase one fired on {fired} of {unreachable} unreachable instances")
    assert unreachable >= 10
    assert fired >= 0.5 * unreachable


def test_the_goal_start_finds_the_shipped_devices_optimum_the_swap_search_misses() -> None:
    """Strength of ``root_reduction.goal_start``: under the default rules with 1.1 devices per
    buyer, the swap searches start at 45.1 CNY a buyer; the sub-solve over the best offered bounds
    returns the proven optimum, 1,314,439 CNY a month for 28,000 buyers (README)."""
    from pricing.domain.problem import Problem
    from pricing.optimizer.bound_fixing import price_relaxation
    from pricing.optimizer.candidates import build_candidates
    from pricing.optimizer.pool_solve import solve_pool
    from pricing.optimizer.root_reduction import goal_start
    from pricing.optimizer.space import Space

    base = Problem.load()
    problem = base.replace(settings=base.settings.replace(devices_per_buyer=1.1))
    cands = build_candidates(problem.catalog, problem.model, problem.settings, problem.last_prices)
    space = Space.of(problem, cands)
    pool = space.pool("margin", space.keep("margin", goals=space.goals), goals=space.goals)
    priced = price_relaxation(pool, float("inf"))
    searched = pool.incumbent()
    started = goal_start(pool, priced, searched, float("inf"), solve_pool)
    assert pool.good(started)
    assert pool.value(searched) < 0.97 * 1_314_439 / 28_000
    assert pool.value(started) == pytest.approx(1_314_439 / 28_000, abs=0.01)


def test_the_priced_bound_is_the_lp_bound_when_no_first_column_holds_a_pin() -> None:
    """A pin none of the first LP's candidates holds (the pad, on the shipped data, under a
    margin-rate goal): its row must stay in the LP with its slack, so that its price calls in the
    candidates that keep it. Dropped as a row no held candidate touches, the LP ignored the pin
    and its bound, 46.16 CNY a buyer against the LP's 43.43, left 23,714 candidates instead of
    4,747. Priced from the first columns or from a search's offer, the bound is the same LP's."""
    from pricing.domain.problem import Problem
    from pricing.optimizer.bound_fixing import price_relaxation
    from pricing.optimizer.candidates import build_candidates
    from pricing.optimizer.space import Space

    base = Problem.load()
    problem = base.replace(settings=base.settings.replace(pinned=("HUM-PAD-7P",), margin_rate_points=-1.5))
    cands = build_candidates(problem.catalog, problem.model, problem.settings, problem.last_prices)
    space = Space.of(problem, cands)
    pool = space.pool("margin", space.keep("margin", goals=space.goals), goals=space.goals)
    searched = pool.incumbent()
    assert searched is not None and pool.good(searched)
    cold, warm = price_relaxation(pool, float("inf")), price_relaxation(pool, float("inf"), searched)
    assert not cold.empty and not warm.empty
    assert cold.bound == pytest.approx(warm.bound, rel=1e-7)
    assert cold.bound >= pool.value(searched)
