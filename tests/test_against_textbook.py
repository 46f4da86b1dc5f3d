"""The whole pipeline (pruning, incumbent, bound tightening, MILP) against the textbook big-M
formulation of Bront, Mendez-Diaz & Vulcano (2009), solved to proven optimality with no
pruning at all, on instances large enough that pruning and tightening really bite (hundreds of
candidates, dozens kept) yet small enough for the textbook model to finish.
"""

import pytest

from benchmarks.bench_optimizer import textbook_big_m
from benchmarks.instances import synthetic
from pricing.optimizer.optimize import max_attach_rate, optimize
from pricing.domain.settings import Settings

CASES = [
    pytest.param(12, 12, 3, 0.3, id="12-skus-K3-slack"),
    pytest.param(12, 12, 3, 0.9, id="12-skus-K3-binding"),
    pytest.param(14, 5, 2, 0.6, id="14-skus-K2-binding"),
    pytest.param(16, 3, 4, 0.5, id="16-skus-K4"),
    pytest.param(16, 9, 4, 0.95, id="16-skus-K4-tight"),
]


@pytest.mark.parametrize("n_skus, seed, bundles, fraction", CASES)
def test_optimum_equals_the_textbook_formulations(n_skus, seed, bundles, fraction) -> None:
    base = synthetic(n_skus, seed=seed, settings=Settings(max_bundles=bundles, max_items=3, time_limit=120))
    best_attach, proven = max_attach_rate(base)
    assert proven
    problem = base.replace(settings=base.settings.replace(attach_rate=fraction * best_attach))

    ours = optimize(problem)
    reference = textbook_big_m(problem, time_limit=300)

    assert reference["status"] == "optimal", reference
    assert ours.status.value == "optimal", ours.diagnostics
    assert ours.diagnostics["candidates_after_pruning"] < ours.diagnostics["candidates"]
    assert ours.figures.attach_rate >= problem.settings.attach_rate - 1e-9
    assert ours.figures.margin_per_buyer == pytest.approx(reference["margin_per_buyer"], rel=2e-4)
