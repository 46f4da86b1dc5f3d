"""Bundle pricing: which SKUs go into each bundle, at what price, proven optimal.

Subpackages, from the bottom up (each imports only those below it; ``docs/architecture.md``):
``domain`` (catalog, settings, problem, offer), ``optimizer`` (candidates, pruning, MILP, status),
``files`` (sheets, run records, atomic writes), ``access`` (users, roles, the audit trail, approvals),
``app`` (the app's library) and ``cli`` (the command line). The demand model lives in the top-level ``models`` package, below all of them.
"""

from models.exports import lazy_exports

# Each public name and the module it comes from, loaded on first use.
_WHERE = {
    "Bundle": "pricing.domain",
    "Catalog": "pricing.domain",
    "Offer": "pricing.domain",
    "OfferFigures": "pricing.domain",
    "Problem": "pricing.domain",
    "Settings": "pricing.domain",
    "evaluate_offer": "pricing.domain",
    "PriceSheet": "pricing.files",
    "InfeasibleTarget": "pricing.optimizer",
    "OptimizationResult": "pricing.optimizer",
    "SolveStatus": "pricing.optimizer",
    "max_attach_rate": "pricing.optimizer",
    "optimize": "pricing.optimizer",
}

__all__ = [
    "Catalog", "Bundle", "Offer", "OfferFigures", "evaluate_offer", "InfeasibleTarget", "OptimizationResult",
    "max_attach_rate", "optimize", "Problem", "Settings", "PriceSheet", "SolveStatus",
]

__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
