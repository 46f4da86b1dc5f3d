"""Resources guarded before anything is allocated, and one time budget for a whole command.

- The candidate count is known exactly from the catalog and the rules (checked against the
  enumeration itself over varied catalogs and rules), and a space beyond the documented limits
  is refused with exit 2 naming the settings to change, before any candidate is built.
- ``time_limit`` is a budget for the whole command: a solve gets what is left of it.
- Every HiGHS status maps to one of ours; PuLP's missing entries (kMemoryLimit) are no KeyError.
"""

from __future__ import annotations

import contextlib
import io
import importlib
import itertools
import re
import sys
import time
from pathlib import Path

import highspy
import numpy as np
import pytest

from models.demand import DemandModel, Segment
from models.errors import InputError
from pricing.cli.main import main
from pricing.domain.catalog import ZONES, Catalog
from pricing.domain.limits import MAX_CANDIDATES, check_candidate_limits, estimate_candidates
from pricing.domain.problem import Problem
from pricing.domain.settings import Settings
from pricing.optimizer import budget
from pricing.optimizer.candidates import build_candidates
from pricing.optimizer.milp import OfferMilp
from pricing.optimizer.status import SolveStatus

from conftest import DATA


def random_catalog(seed: int, n: int) -> Catalog:
    """``n`` SKUs over a few categories per zone, some inactive."""
    rng = np.random.default_rng(seed)
    zones = [ZONES[i] for i in rng.integers(0, 3, n)]
    categories = [f"{z}-c{rng.integers(0, 3)}" for z in zones]
    price = rng.uniform(100, 3000, n).round()
    return Catalog(tuple(f"S{i}" for i in range(n)), tuple(f"SKU {i}" for i in range(n)), tuple(categories),
                   tuple(zones), price, (price * 0.7).round(), np.full(n, 0.01), rng.random(n) > 0.15)


def model_for(catalog: Catalog, segments: int = 2) -> DemandModel:
    appeal = {s: 0.3 for s in catalog.skus}
    return DemandModel(tuple(Segment(f"s{k}", 1.0 / segments, -2.0, 0.001, appeal) for k in range(segments)))


def brute_force_sets(catalog: Catalog, settings: Settings) -> int:
    """Count rule-abiding SKU sets by listing every subset (small catalogs only)."""
    eligible = [i for i in range(len(catalog)) if catalog.active[i] and catalog.skus[i] not in settings.banned]
    count = 0
    for size in range(settings.min_items, settings.max_items + 1):
        for combo in itertools.combinations(eligible, size):
            cats = [catalog.categories[i] for i in combo]
            if settings.one_per_category and len(set(cats)) < len(cats):
                continue
            if all(any(catalog.zones[i] == z for i in combo) for z in settings.required_zones):
                count += 1
    return count


RULES = [
    pytest.param(dict(), id="defaults"),
    pytest.param(dict(min_items=1, max_items=1, required_zones=()), id="singles"),
    pytest.param(dict(max_items=5, one_per_category=False), id="any-category-mix"),
    pytest.param(dict(min_items=3, max_items=5, required_zones=("car", "home", "human")), id="three-zones"),
    pytest.param(dict(required_zones=("human",), banned=("S1", "S2")), id="banned"),
    pytest.param(dict(min_items=1, max_items=6, required_zones=(), one_per_category=False), id="everything"),
]


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("rules", RULES)
def test_set_count_is_exact(seed: int, rules: dict) -> None:
    catalog = random_catalog(seed, 13)
    settings = Settings(**rules)
    estimate = estimate_candidates(catalog, settings, 2)
    assert estimate.sets == brute_force_sets(catalog, settings)
    built = build_candidates(catalog, model_for(catalog), settings)
    assert built.n_sets == estimate.sets
    assert len(built) <= estimate.candidates == estimate.sets * (len(settings.discounts) + 1)


def test_shipped_catalog_counts_match_the_enumeration() -> None:
    problem = Problem.load(DATA)
    for max_items in (2, 3, 4):
        settings = problem.settings.replace(max_items=max_items)
        cands = build_candidates(problem.catalog, problem.model, settings, problem.last_prices)
        assert estimate_candidates(problem.catalog, settings, 4).sets == cands.n_sets


def test_a_space_beyond_the_limit_is_refused_naming_the_settings() -> None:
    problem = Problem.load(DATA)
    settings = problem.settings.replace(max_items=10, one_per_category=False, required_zones=())
    with pytest.raises(InputError, match=r"too many candidates: with max_items = 10 .* above the limit of "
                                         r"3,000,000 candidates .*lower \[offer\] max_items \(--max-items\)"):
        check_candidate_limits(problem.catalog, settings, 4)
    with pytest.raises(InputError, match="too many candidates"):
        problem.replace(settings=settings)  # a what-if is refused the same way


def run_cli(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, err.getvalue()


@pytest.mark.parametrize(("flags", "pattern"), [
    pytest.param(["--max-items", "1000000"], r"max_items: must be a whole number from 1 to 10, got 1000000",
                 id="max-items-million"),
    pytest.param(["--max-items", "10", "--any-category-mix", "--required-zones", ""],
                 r"too many candidates: with max_items = 10 the rules allow [\d,]+ SKU sets", id="max-items-10"),
])
def test_cli_refuses_before_building_anything(tmp_path: Path, monkeypatch, flags, pattern) -> None:
    def never(*args, **kwargs):
        raise AssertionError("candidates were built for a refused run")

    monkeypatch.setattr(sys.modules["pricing.optimizer.optimize"], "build_candidates", never)
    out = tmp_path / "out"
    code, err = run_cli(["optimize", "--data", str(DATA), "--out", str(out), *flags])
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("bad input: ")
    assert re.search(pattern, err), err
    assert not out.exists()


def clock(wall):
    """A stand-in for the ``time`` module of ``budget``: real ``perf_counter``, chosen wall clock."""
    return type("Clock", (), {"perf_counter": staticmethod(time.perf_counter), "time": staticmethod(wall)})


def test_solve_gets_what_is_left_of_the_command_budget(monkeypatch) -> None:
    started = 1_000_000.0
    settings = budget.command_deadline(Settings(time_limit=60), started)
    assert settings.deadline == started + 60 and settings == Settings(time_limit=60)  # not a setting
    monkeypatch.setattr(budget, "time", clock(lambda: started + 45.0))  # 45 s spent before the solve
    left = budget.solve_deadline(settings) - time.perf_counter()
    assert 14.9 < left <= 15.0
    monkeypatch.setattr(budget, "time", clock(lambda: started + 75.0))  # over budget: a token solve
    assert budget.solve_deadline(settings) - time.perf_counter() <= budget.MIN_SOLVE_SECONDS
    assert budget.solve_deadline(Settings(time_limit=7)) - time.perf_counter() == pytest.approx(7, abs=0.01)


def test_cli_hands_the_solver_the_remaining_budget(tmp_path: Path, monkeypatch) -> None:
    """The whole command shares ``time_limit``: with 50 s 'spent' before the MILP, it gets <= 10 s."""
    seen: list[float] = []
    real_solve = OfferMilp.solve
    real_time = time.time

    def solve(self, time_limit, rel_gap, start=None):
        seen.append(time_limit)
        return real_solve(self, time_limit, rel_gap, start)

    monkeypatch.setattr(OfferMilp, "solve", solve)
    monkeypatch.setattr(budget, "time", clock(lambda: real_time() + 50.0))  # the CLI's own clock is real
    code, err = run_cli(["optimize", "--data", str(DATA), "--out", str(tmp_path / "out"), "--time-limit", "60",
                         "--max-items", "3"])
    assert code in (0, 3), err
    assert seen and max(seen) <= 10.0


def test_every_highs_status_is_mapped_without_key_error(monkeypatch) -> None:
    """HiGHS stopping on its memory limit (PuLP's table lacks it) ends as our ERROR, not a KeyError."""
    catalog = random_catalog(4, 8)
    settings = Settings(max_items=2, required_zones=())
    cands = build_candidates(catalog, model_for(catalog), settings)
    milp = OfferMilp(cands.attraction, cands.margin, cands.set_id, cands.pin_mask[cands.set_id],
                     np.array([0.5, 0.5]), 2, 0.0, 0, "margin")
    every = [getattr(highspy.HighsModelStatus, n) for n in dir(highspy.HighsModelStatus) if n.startswith("k")]
    for status in every:
        monkeypatch.setattr(highspy.Highs, "getModelStatus", lambda self, s=status: s)
        result = milp.solve(5.0, 1e-4)
        assert isinstance(result.status, SolveStatus)
        if status == highspy.HighsModelStatus.kMemoryLimit:
            assert result.status is SolveStatus.ERROR


def test_limit_constants_are_the_documented_ones() -> None:
    readme = (DATA.parent / "README.md").read_text(encoding="utf-8")
    assert f"{MAX_CANDIDATES:,}" in readme and "2 GiB" in readme


def test_spent_says_whether_the_command_deadline_has_passed(monkeypatch) -> None:
    """The token second of ``solve_deadline`` lies ahead even past the deadline; ``spent`` is what
    tells a solve that it starts late (a clock-free check once compared ``perf_counter`` with
    that token deadline, and was never true)."""
    settings = budget.command_deadline(Settings(time_limit=60), 1_000_000.0)
    monkeypatch.setattr(budget, "time", clock(lambda: 1_000_059.0))
    assert not budget.spent(settings)
    monkeypatch.setattr(budget, "time", clock(lambda: 1_000_061.0))
    assert budget.spent(settings)
    assert not budget.spent(Settings(time_limit=60))  # no command deadline: each solve its own limit


def test_a_late_solve_over_a_large_pool_with_no_offer_builds_no_program(monkeypatch) -> None:
    """Past the command's deadline, with no incumbent from the searches, a solve over the
    37,808 shipped candidates returns "no solution" with a valid bound at once: building the
    program for a token MILP took 0.6 s a solve and found nothing (a goal's explanation ran
    several such solves past a 10 s limit)."""
    from pricing.optimizer.pool import Pool
    from pricing.optimizer.pool_solve import solve_pool
    from pricing.optimizer.space import Space

    base = Problem.load(DATA)
    problem = base.replace(settings=budget.command_deadline(base.settings.replace(devices_per_buyer=1.1),
                                                            time.time() - 120))
    cands = build_candidates(problem.catalog, problem.model, problem.settings, problem.last_prices)
    space = Space.of(problem, cands)
    keep = space.keep("margin", goals=space.goals)
    pool = space.pool("margin", keep, goals=space.goals)
    assert len(pool.margin) > 2_000

    def never(*args, **kwargs):
        raise AssertionError("a program was built after the deadline")

    monkeypatch.setattr(Pool, "incumbent", lambda self, widen=True: None)
    monkeypatch.setattr(Pool, "milp", never)
    solved = solve_pool(pool)
    assert solved.status is SolveStatus.NO_SOLUTION and not solved.chosen
    # The proven optimum under this goal is 1,314,439 CNY a month for 28,000 buyers (README).
    assert solved.bound >= 1_314_439 / 28_000


def test_highs_never_holds_more_candidates_than_its_cap(monkeypatch) -> None:
    """With the cap on what HiGHS may hold set to 100, the shipped problem under the default
    rules (the priced bound leaves 609 of 37,808 candidates) is answered without HiGHS ever
    holding more: the start comes from solves over the best offered bounds, and the answer is
    that start, not proven, with the priced bound (the MILP over what the priced drop left took
    70 s past a 4 s limit at ``--max-items 5``)."""
    from pricing.optimizer import bound_fixing, conic_cuts, pool_solve, root_reduction
    from pricing.optimizer.optimize import optimize

    cap = 100
    monkeypatch.setattr(root_reduction, "HIGHS_POOL", cap)
    monkeypatch.setattr(pool_solve, "HIGHS_POOL", cap)
    held: list[int] = []

    def spy(method):
        def wrapped(self, *args, **kwargs):
            held.append(len(self.z))
            return method(self, *args, **kwargs)
        return wrapped

    for name in ("solve", "tightened_bounds", "solved_relaxation"):
        monkeypatch.setattr(OfferMilp, name, spy(getattr(OfferMilp, name)))
    real_cuts = conic_cuts.separate_conic_cuts

    def cuts(milp, *args, **kwargs):
        held.append(len(milp.z))
        return real_cuts(milp, *args, **kwargs)

    monkeypatch.setattr(root_reduction, "separate_conic_cuts", cuts)
    monkeypatch.setattr(bound_fixing, "separate_conic_cuts", cuts)
    result = optimize(Problem.load(DATA))
    assert held and max(held) <= cap, max(held)
    assert result.status is SolveStatus.TIME_LIMIT
    optimum = 1_338_265 / 28_000  # the proven default offer (README)
    assert result.bound >= optimum
    assert result.figures.margin_per_buyer == pytest.approx(optimum, rel=0.02)


def test_a_library_call_shares_one_time_limit_across_its_solves(monkeypatch) -> None:
    """``optimize`` without a command's deadline sets one when it starts: every solve of the call
    (here the confidence rounds on the shipped data, two solves) gets what is left of the one
    ``time_limit``, not a fresh one each (with a 60 s limit that call ran 95 to 114 s)."""
    from pricing.domain.problem import Problem
    from pricing.optimizer import pool_solve

    problem = Problem.load(DATA)
    problem = problem.replace(settings=problem.settings.replace(target_confidence=0.9, time_limit=3.0))
    seen: list[float | None] = []
    real = pool_solve.solve_pool

    def spy(pool, **kwargs):
        seen.append(pool.settings.deadline)
        return real(pool, **kwargs)

    monkeypatch.setattr(importlib.import_module("pricing.optimizer.optimize"), "solve_pool", spy)
    before = time.time()
    result = importlib.import_module("pricing.optimizer.optimize").optimize(problem)
    assert len(seen) >= 2
    assert len(set(seen)) == 1 and seen[0] is not None
    assert before + 3.0 <= seen[0] <= time.time() + 3.0
    assert problem.settings.deadline is None  # the caller's problem is left as it was
    assert result.problem.settings.deadline is None  # a solve started from the result gets its own
