"""Bundle pricing: which SKUs go into each bundle, at what price, proven optimal.

Subpackages, from the bottom up (each imports only those below it; ``docs/architecture.md``):
``domain`` (catalog, settings, problem, offer), ``optimizer`` (candidates, pruning, MILP, status),
``files`` (sheets, run records, atomic writes), ``access`` (users, roles, the audit trail, approvals),
``app`` (the app's library) and ``cli`` (the command line). The demand model lives in the top-level ``models`` package, below all of them.
"""

from pricing.domain import Bundle, Catalog, Offer, OfferFigures, Problem, Settings, evaluate_offer
from pricing.files import PriceSheet
from pricing.optimizer import InfeasibleTarget, OptimizationResult, SolveStatus, max_attach_rate, optimize

__all__ = [
    "Catalog", "Bundle", "Offer", "OfferFigures", "evaluate_offer", "InfeasibleTarget", "OptimizationResult",
    "max_attach_rate", "optimize", "Problem", "Settings", "PriceSheet", "SolveStatus",
]
