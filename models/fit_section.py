"""Checking the ``fit`` section of ``model.json`` before any work.

The section is written by ``python -m pricing fit`` and read after the solve (warnings, the
price range of the history, coefficient covariances for the uncertainty band). A wrong type
there used to surface as a traceback once the whole solve had run; every field that is read is
checked here, when the model is loaded, with a message naming the field and what it must be.
Fields nobody reads (method, notes, holdout figures) may hold anything JSON allows.
"""

from __future__ import annotations

import math
from typing import Any

from models.errors import InputError, quote

__all__ = ["check_fit_section"]


def check_fit_section(fit: Any, source: str = "model.json") -> None:
    """Raise :class:`InputError` unless ``fit`` is an object whose read fields have the right types.

    Checked: ``warnings`` (list of text), ``months`` and ``regions`` (lists of text),
    ``price_range`` and ``discount_range`` (``{"min": x, "max": y}``, finite, ``min <= max``;
    prices > 0 CNY, discounts in [-1, 1]), and per segment in ``segments``: ``params`` (list of
    text), ``estimate`` and ``std_error`` (lists of finite numbers as long as ``params``; a standard
    error is null for a parameter the history cannot identify) and
    ``covariance`` (a square matrix of finite numbers of that size).
    """
    if not isinstance(fit, dict):
        raise InputError(source, f"field fit: must be an object when present, got {quote(fit)}")
    for key in ("warnings", "months", "regions"):
        if key in fit and not _texts(fit[key]):
            raise InputError(source, f"field fit.{key}: must be a list of text, got {quote(fit[key])}")
    if fit.get("price_range") is not None:
        _range(fit["price_range"], "fit.price_range", source, 0.0, math.inf, low_open=True)
    if fit.get("discount_range") is not None:
        _range(fit["discount_range"], "fit.discount_range", source, -1.0, 1.0)
    segments = fit.get("segments")
    if segments is None:
        return
    if not isinstance(segments, dict):
        raise InputError(source, f"field fit.segments: must be an object of segment -> fit figures, got {quote(segments)}")
    for name, entry in segments.items():
        _segment_entry(entry, f"fit.segments[{quote(name)}]", source)


def _texts(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


MAX_COVARIANCE = 1e4


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _range(value: Any, where: str, source: str, low: float, high: float, *, low_open: bool = False) -> None:
    if not isinstance(value, dict) or not _number(value.get("min")) or not _number(value.get("max")):
        raise InputError(source, f"field {where}: must be {{\"min\": number, \"max\": number}}, got {quote(value)}")
    lo, hi = value["min"], value["max"]
    if lo > hi or hi > high or lo < low or (low_open and lo == low):
        raise InputError(source, f"field {where}: must have {low:g} {'<' if low_open else '<='} min <= max <= "
                                 f"{high:g}, got {quote(value)}")


def _segment_entry(entry: Any, where: str, source: str) -> None:
    if not isinstance(entry, dict):
        raise InputError(source, f"field {where}: must be an object, got {quote(entry)}")
    if not any(key in entry for key in ("params", "estimate", "std_error", "covariance")):
        return
    params = entry.get("params")
    if not _texts(params):
        raise InputError(source, f"field {where}.params: must be a list of parameter names, got {quote(params)}")
    size = len(params)
    for key, may_be_null in (("estimate", False), ("std_error", True)):
        if key in entry:
            values = entry[key]
            # A parameter the history cannot identify has no standard error: null, said in not_identified.
            ok = isinstance(values, list) and len(values) == size and all(
                _number(v) or (may_be_null and v is None) for v in values)
            if not ok:
                what = "finite numbers (null for a parameter not identified)" if may_be_null else "finite numbers"
                raise InputError(source, f"field {where}.{key}: must be a list of {size} {what}, got {quote(values)}")
    if "covariance" in entry:
        cov = entry["covariance"]
        # Coefficients lie within +-100, so no (co)variance of them exceeds 1e4 in size; a larger
        # one is a broken file, and would overflow the coefficient draws.
        square = isinstance(cov, list) and len(cov) == size and all(
            isinstance(row, list) and len(row) == size and all(_number(v) and abs(v) <= MAX_COVARIANCE for v in row)
            for row in cov
        )
        if not square:
            raise InputError(source, f"field {where}.covariance: must be a {size} x {size} matrix of finite numbers "
                                     f"of size at most {MAX_COVARIANCE:g}, got {quote(cov)}")
