"""The pricing team's vocabulary, frozen: what goes into a solve and what an offer is.

Owns the ``Catalog`` (SKUs and their reader), the ``Settings`` (rules, targets, solver limits and
their TOML reader), the last approved sheet's prices (``last_sheet``), the car-buyer forecast
(``volumes``), the ``Problem`` that binds
them to a demand model, and the ``Offer`` with its exact figures (margin, attach rate, elasticities).
May import ``models`` only; everything else in ``pricing`` builds on it.
"""

from pricing.domain.catalog import ZONES, Catalog
from pricing.domain.last_sheet import SHEET_COLUMNS, read_last_prices
from pricing.domain.offer import Bundle, Offer, OfferFigures, evaluate_offer
from pricing.domain.problem import DEFAULT_DATA, Problem, input_hashes
from pricing.domain.settings import Settings
from pricing.domain.volumes import Volumes, read_volumes

__all__ = [
    "ZONES", "Catalog", "SHEET_COLUMNS", "read_last_prices", "Bundle", "Offer", "OfferFigures", "evaluate_offer",
    "DEFAULT_DATA", "Problem", "input_hashes", "Settings", "Volumes", "read_volumes",
]
