"""Demand: the mixture-of-logits model, its choice maths, and fitting it to offer history.

The bottom layer: owns the ``DemandModel`` and its file format (``demand``), the choice
probabilities every other part uses (``mnl``), the offer history and its reader (``history``,
``tables``), the documented input ranges (``limits``) and the `fit` section's checks
(``fit_section``), the fit (``fit``, ``likelihood``; what a history cannot identify in
``identification``; its words and ``model.json`` section in ``fit_report``) and its holdout check
(``validation``), coefficient draws (``uncertainty``), and random histories from known truths
(``synthetic``), and the package facades' loading on first use (``exports``). It imports nothing
from ``pricing``, nor Streamlit.

``models.fit`` and ``models.validation`` are not imported here: they load scipy, which the
optimizer and the app do not need; import them as ``from models.fit import SegmentLogitFit``.
"""

from models.demand import DemandModel, Segment
from models.errors import InputError, clip, quote
from models.history import History, price_warnings
from models.uncertainty import offer_bands

__all__ = ["DemandModel", "Segment", "InputError", "quote", "clip", "History", "price_warnings", "offer_bands"]
