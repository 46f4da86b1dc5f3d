"""The demand model of the spec: a mixture of multinomial logits over buyer segments.

For segment ``s`` and a bundle with SKU set ``S`` and price ``p`` (CNY)::

    u_s = intercept_s + sum_{i in S} appeal_s[i] + size_coef_s * (|S| - 1)
          + span_bonus_s * (zones in S - 1) - price_coef_s * p

and no bundle has utility 0. ``DemandModel`` holds the coefficients; :mod:`models.mnl` turns
utilities into choice probabilities, attach rates, margins and elasticities.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping, Sequence

import numpy as np

from models.errors import InputError, clip, quote
from models.fit_section import check_fit_section
from models.tables import read_text

__all__ = ["Segment", "DemandModel", "UTILITY_CLIP"]

# exp() of a utility below -UTILITY_CLIP is zero for every purpose here (e^-500 ~ 1e-217);
# clipping keeps numpy from raising on underflow or overflow.
UTILITY_CLIP = 500.0

_SHARE_TOLERANCE = 1e-6

# Documented ranges of the coefficients (README, "Input limits"): a utility term beyond +-100
# means a take rate of exactly 0 or 1 (e^100 ~ 1e43), and a price coefficient of 1 per CNY
# already makes a 50 CNY change decisive; anything beyond is a broken file.
MAX_UTILITY = 100.0
MAX_PRICE_COEF = 1.0


@dataclass(frozen=True)
class Segment:
    """One group of car buyers with its own share and demand coefficients.

    ``price_coef`` is in utility per CNY and is >= 0 (demand never rises with price).
    ``market_intercepts`` maps a market (region) to its shift of ``intercept`` (utility units),
    for the markets where the fit estimated one; other markets use ``intercept`` as it is.
    """

    name: str
    share: float
    intercept: float
    price_coef: float
    appeal: Mapping[str, float]
    size_coef: float = 0.0
    span_bonus: float = 0.0
    market_intercepts: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "appeal", MappingProxyType(dict(self.appeal)))
        object.__setattr__(self, "market_intercepts", MappingProxyType(dict(self.market_intercepts)))

    def to_dict(self) -> dict[str, Any]:
        out = {
            "name": self.name,
            "share": self.share,
            "intercept": self.intercept,
            "price_coef": self.price_coef,
            "size_coef": self.size_coef,
            "span_bonus": self.span_bonus,
            "appeal": dict(self.appeal),
        }
        if self.market_intercepts:
            out["market_intercepts"] = dict(self.market_intercepts)
        return out


@dataclass(frozen=True)
class DemandModel:
    """A mixture of multinomial logits: segments with shares summing to 1.

    Arrays returned by the methods are oriented with segments as the last axis.
    """

    segments: tuple[Segment, ...]
    currency: str = "CNY"
    fit: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "segments", tuple(self.segments))
        object.__setattr__(self, "fit", MappingProxyType(dict(self.fit)))

    # -- vectors over segments ------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.segments)

    @property
    def shares(self) -> np.ndarray:
        """Segment shares of car buyers, shape (segments,), summing to 1."""
        return np.array([s.share for s in self.segments], dtype=float)

    @property
    def intercepts(self) -> np.ndarray:
        return np.array([s.intercept for s in self.segments], dtype=float)

    @property
    def price_coefs(self) -> np.ndarray:
        """Utility lost per CNY of price, shape (segments,)."""
        return np.array([s.price_coef for s in self.segments], dtype=float)

    @property
    def size_coefs(self) -> np.ndarray:
        return np.array([s.size_coef for s in self.segments], dtype=float)

    @property
    def span_bonuses(self) -> np.ndarray:
        return np.array([s.span_bonus for s in self.segments], dtype=float)

    def appeal_matrix(self, skus: Sequence[str]) -> np.ndarray:
        """Appeals aligned to ``skus``: shape (len(skus), segments).

        Raises
        ------
        InputError
            If a SKU has no appeal in some segment.
        """
        out = np.empty((len(skus), len(self.segments)))
        for j, seg in enumerate(self.segments):
            for i, sku in enumerate(skus):
                if sku not in seg.appeal:
                    raise InputError(
                        "model.json",
                        f"segment {quote(seg.name)} has no appeal for active SKU {quote(sku)}; "
                        "every active SKU needs an appeal in every segment",
                    )
                out[i, j] = seg.appeal[sku]
        return out

    # -- utilities ------------------------------------------------------------------------
    def composition_utility(self, incidence: np.ndarray, zone_counts: np.ndarray, skus: Sequence[str]) -> np.ndarray:
        """Utility of each SKU set before price: shape (sets, segments).

        Parameters
        ----------
        incidence : (sets, len(skus)) array of 0/1, which SKUs each set holds.
        zone_counts : (sets,) number of distinct zones in each set.
        skus : the SKU codes that the incidence columns stand for.
        """
        incidence = np.asarray(incidence, dtype=float)
        sizes = incidence.sum(axis=1)
        return (
            self.intercepts[None, :]
            + incidence @ self.appeal_matrix(skus)
            + np.outer(sizes - 1.0, self.size_coefs)
            + np.outer(np.asarray(zone_counts, dtype=float) - 1.0, self.span_bonuses)
        )

    def utility(self, composition_utility: np.ndarray, prices: np.ndarray) -> np.ndarray:
        """Full utility ``u = composition_utility - price_coef * price``: shape (bundles, segments).

        ``prices`` is in CNY, shape (bundles,).
        """
        return np.asarray(composition_utility, float) - np.outer(np.asarray(prices, float), self.price_coefs)

    def attraction(self, composition_utility: np.ndarray, prices: np.ndarray) -> np.ndarray:
        """``exp(u)``, the logit attraction of each bundle: shape (bundles, segments)."""
        return np.exp(np.clip(self.utility(composition_utility, prices), -UTILITY_CLIP, UTILITY_CLIP))

    def with_price_sensitivity(self, factor: float) -> "DemandModel":
        """A copy with every segment's price coefficient multiplied by ``factor`` (>= 0)."""
        if not (factor >= 0 and math.isfinite(factor)):
            raise InputError("price sensitivity", f"must be a finite number >= 0, got {quote(factor)}")
        segs = tuple(
            replace(s, price_coef=s.price_coef * factor) for s in self.segments
        )
        return DemandModel(segs, self.currency, self.fit)

    def with_shares(self, shares: Sequence[float]) -> "DemandModel":
        """A copy with new segment shares (same order as ``segments``), validated to sum to 1."""
        shares = [float(x) for x in shares]
        if len(shares) != len(self.segments):
            raise InputError("segment mix", f"expected {len(self.segments)} shares, got {len(shares)}")
        segs = tuple(
            replace(s, share=w) for s, w in zip(self.segments, shares)
        )
        model = DemandModel(segs, self.currency, self.fit)
        _check_shares(model, "segment mix")
        return model

    @property
    def markets(self) -> tuple[str, ...]:
        """Markets with an estimated intercept shift in some segment, sorted."""
        return tuple(sorted({m for s in self.segments for m in s.market_intercepts}))

    def for_market(self, market: str | None) -> "DemandModel":
        """The plain model of one market: each segment's intercept plus its shift for ``market``
        (0 where none was estimated, e.g. a market the history never saw), no market table.

        The optimizer needs nothing else: it prices one market with the returned model.
        """
        segs = tuple(
            replace(s, intercept=s.intercept + float(s.market_intercepts.get(market, 0.0)) if market else s.intercept,
                    market_intercepts={})
            for s in self.segments
        )
        return DemandModel(segs, self.currency, self.fit)

    # -- files ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": "mnl_mixture",
            "currency": self.currency,
            "segments": [s.to_dict() for s in self.segments],
        }
        if self.fit:
            out["fit"] = dict(self.fit)
        return out

    @classmethod
    def from_dict(cls, raw: Any, source: str = "model.json") -> "DemandModel":
        """Validate and build a model from the parsed ``model.json``.

        Raises
        ------
        InputError
            Naming the segment and field that break a rule.
        """
        if not isinstance(raw, dict):
            raise InputError(source, f"must be a JSON object, got {type(raw).__name__}")
        if raw.get("kind", "mnl_mixture") != "mnl_mixture":
            raise InputError(source, f"field kind: must be 'mnl_mixture', got {quote(raw.get('kind'))}")
        raw_segments = raw.get("segments")
        if not isinstance(raw_segments, list) or not raw_segments:
            raise InputError(source, f"field segments: must be a non-empty list of segments, got {quote(raw_segments)}")
        segments: list[Segment] = []
        for k, seg in enumerate(raw_segments):
            segments.append(_segment_from_dict(seg, f"segments[{k}]", source))
            if segments[-1].name in {s.name for s in segments[:-1]}:
                raise InputError(source, f"segments[{k}].name: segment {quote(segments[-1].name)} appears twice")
        currency = raw.get("currency", "CNY")
        if not isinstance(currency, str) or not 0 < len(currency) <= 8:
            raise InputError(source, f"field currency: must be a currency code such as 'CNY', got {quote(currency)}")
        fit = raw.get("fit", {})
        check_fit_section(fit, source)
        model = cls(tuple(segments), currency, fit)
        _check_shares(model, source)
        return model

    @classmethod
    def from_json(cls, path: str | Path) -> "DemandModel":
        """Read and validate ``model.json`` (UTF-8, a byte-order mark accepted).

        Raises
        ------
        InputError
            For a missing, unreadable or malformed file, or a field that breaks a rule.
        """
        path = Path(path)
        text = read_text(path, "the demand model in JSON")
        try:
            raw = json.loads(text, parse_constant=_no_constant)
        except json.JSONDecodeError as exc:
            raise InputError(path.name, f"not valid JSON ({clip(exc.msg)}, column {exc.colno})", row=exc.lineno) from None
        except (ValueError, RecursionError) as exc:
            raise InputError(path.name, f"not valid JSON ({clip(str(exc))})") from None
        return cls.from_dict(raw, path.name)

    def check_covers(self, skus: Sequence[str]) -> None:
        """Raise :class:`InputError` unless every SKU in ``skus`` has an appeal in every segment."""
        self.appeal_matrix(skus)


def _no_constant(name: str) -> float:
    # JSON has no NaN or Infinity; Python's reader would accept them silently.
    raise ValueError(f"{name} is not a JSON number")


def _finite(value: Any, where: str, source: str, low: float = -MAX_UTILITY, high: float = MAX_UTILITY) -> float:
    """A JSON number (not a bool) in ``[low, high]``, else an :class:`InputError` naming ``where``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(source, f"{where}: must be a finite number, got {quote(value)}")
    if value < low:
        raise InputError(source, f"{where}: must be >= {low:g}, got {quote(value)}")
    if value > high:
        raise InputError(source, f"{where}: must be <= {high:g}, got {quote(value)}")
    return float(value)


def _segment_from_dict(seg: Any, where: str, source: str) -> Segment:
    """One segment of ``model.json``, every field checked (utilities within +-MAX_UTILITY)."""
    if not isinstance(seg, dict):
        raise InputError(source, f"{where}: must be an object, got {type(seg).__name__}")
    name = seg.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise InputError(source, f"{where}.name: must be a non-empty string of at most 200 characters, got {quote(name)}")
    field_of = f"segment {quote(name)}, field"
    price_coef = seg.get("price_coef")
    if isinstance(price_coef, (int, float)) and not isinstance(price_coef, bool) and price_coef < 0:
        raise InputError(
            source, f"{field_of} price_coef: must be >= 0 (demand cannot rise with price), got {quote(price_coef)}",
        )
    appeal = seg.get("appeal")
    if not isinstance(appeal, dict):
        raise InputError(source, f"{field_of} appeal: must be an object of SKU -> number, got {quote(appeal)}")
    return Segment(
        name=name,
        share=_finite(seg.get("share"), f"{field_of} share", source, 0.0, 1.0),
        intercept=_finite(seg.get("intercept"), f"{field_of} intercept", source),
        price_coef=_finite(price_coef, f"{field_of} price_coef", source, 0.0, MAX_PRICE_COEF),
        appeal={str(sku): _finite(a, f"segment {quote(name)}, appeal of {quote(sku)}", source) for sku, a in appeal.items()},
        size_coef=_finite(seg.get("size_coef", 0.0), f"{field_of} size_coef", source),
        span_bonus=_finite(seg.get("span_bonus", 0.0), f"{field_of} span_bonus", source),
        market_intercepts=_markets_from_dict(seg.get("market_intercepts", {}), name, source),
    )


def _check_shares(model: DemandModel, source: str) -> None:
    total = float(model.shares.sum())
    if abs(total - 1.0) > _SHARE_TOLERANCE:
        raise InputError(source, f"segment shares must sum to 1, got {total:.6g}")


def _markets_from_dict(markets: Any, name: str, source: str) -> dict[str, float]:
    """``market_intercepts`` of a segment: market name -> shift of the intercept (optional; a model
    written before market effects has none, and every market then uses the intercept)."""
    if markets is None:
        return {}
    if not isinstance(markets, dict):
        raise InputError(source, f"segment {quote(name)}, field market_intercepts: must be an object of "
                                 f"market -> number, got {type(markets).__name__}")
    for market, shift in markets.items():
        if isinstance(shift, bool) or not isinstance(shift, (int, float)) or not math.isfinite(shift):
            raise InputError(source, f"segment {quote(name)}, market_intercepts of {quote(market)}: must be a finite "
                                     f"number, got {quote(shift)}")
    return {str(m): float(v) for m, v in markets.items()}
