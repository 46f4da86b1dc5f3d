"""Demand: the mixture-of-logits model, its choice maths, and fitting it to offer history."""

from models.demand import DemandModel, Segment
from models.errors import InputError
from models.fit import SegmentLogitFit, holdout_check
from models.history import History
from models.uncertainty import offer_bands

__all__ = ["DemandModel", "Segment", "InputError", "SegmentLogitFit", "holdout_check", "History", "offer_bands"]
