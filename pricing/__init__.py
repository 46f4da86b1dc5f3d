"""Bundle pricing: candidates, safe pruning, the MILP, price sheets and the command line."""

from pricing.catalog import Catalog
from pricing.offer import Bundle, Offer, OfferFigures, evaluate_offer
from pricing.optimize import InfeasibleTarget, OptimizationResult, max_attach_rate, optimize
from pricing.problem import Problem
from pricing.settings import Settings
from pricing.sheet import PriceSheet
from pricing.status import SolveStatus

__all__ = [
    "Catalog", "Bundle", "Offer", "OfferFigures", "evaluate_offer", "InfeasibleTarget", "OptimizationResult",
    "max_attach_rate", "optimize", "Problem", "Settings", "PriceSheet", "SolveStatus",
]
