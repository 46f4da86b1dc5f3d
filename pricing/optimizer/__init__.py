"""The exact optimizer: a ``Problem`` in, a proven (or honestly unproven) offer out.

The pipeline, one module a step: ``candidates`` (every composition and ladder price the rules
allow), ``pruning`` (safe dominance: drops only what no optimum needs), ``incumbent`` (a good offer
to start from), ``milp`` (the mixed-integer program, solved by HiGHS through PuLP), ``status`` (the
solver's own status and gap, mapped in one table) and ``optimize`` (the call that runs them).
May import ``pricing.domain`` and ``models``; never files, the app, runs or the command line.
"""

from pricing.optimizer.optimize import InfeasibleTarget, OptimizationResult, max_attach_rate, optimize
from pricing.optimizer.status import SolveStatus

__all__ = ["InfeasibleTarget", "OptimizationResult", "max_attach_rate", "optimize", "SolveStatus"]
