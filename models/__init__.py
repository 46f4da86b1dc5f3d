"""Demand: the mixture-of-logits model, its choice maths, and fitting it to offer history.

``models.fit`` (the estimator) is not imported here: it loads scipy, which the optimizer and the
app do not need; import it as ``from models.fit import SegmentLogitFit``.
"""

from models.demand import DemandModel, Segment
from models.errors import InputError
from models.history import History, price_warnings
from models.uncertainty import offer_bands

__all__ = ["DemandModel", "Segment", "InputError", "History", "price_warnings", "offer_bands"]
