"""The exact optimizer: a ``Problem`` in, a proven (or honestly unproven) offer out.

The pipeline, one module a step: ``candidates`` (every composition and ladder price the rules
allow), ``pruning`` (safe dominance: drops only what no optimum needs, on the bounds of ``segment_bounds``), ``incumbent`` (a good offer
to start from), ``milp`` (the mixed-integer program, built as arrays by ``lp_arrays`` and solved by HiGHS), ``status`` (the
solver's own status and gap, mapped in one table) and ``optimize`` (the call that runs them).
``goals``, ``offer_rules`` and ``milp_goals`` add the company's goals, the offer rules and
coefficient draws as rows; ``swap_safety`` says when the pruning stays safe under them;
``lagrangian_bound`` and ``bound_fixing`` drop, from the root LPs' duals, the candidates no good
offer holds (under offer rules, the only reduction); ``space`` and ``pool`` hold one problem's
search space and one solve over a pool of candidates.
May import ``pricing.domain`` and ``models``; never files, the app, runs or the command line.
"""

from pricing.optimizer.optimize import GoalsOutOfReach, InfeasibleTarget, OptimizationResult, max_attach_rate, optimize
from pricing.optimizer.status import SolveStatus

__all__ = ["GoalsOutOfReach", "InfeasibleTarget", "OptimizationResult", "max_attach_rate", "optimize", "SolveStatus"]
