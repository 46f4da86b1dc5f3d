"""A simulated market: a true demand model turns each month's offer into take-up counts.

The simulator knows the truth (a :class:`~models.demand.DemandModel`, optionally one per market)
and draws what the buyers of one market and month do when shown an offer:

1. the market's car buyers split into segments by a multinomial draw with the true shares;
2. every buyer of segment ``s`` takes one bundle of the offer, or none, with the true logit
   probabilities ``P_s(b | A)``, independently of the others (so each segment's counts are a
   multinomial draw over the bundles and "no bundle").

Step 2 is drawn by inversion from one uniform number per buyer: the buyer takes "no bundle" when
``u < P_s(none)``, else the first bundle whose cumulative probability passes ``u``. The uniforms
of a (month, market) come from a generator seeded by ``(seed, month, market name)`` only, so every
offer shown in that month and market faces the same buyers with the same ``u`` (common random
numbers): two policies that make the same offer observe exactly the same counts, and two close
offers observe close counts. That is what lets a backtest compare policies on the same noise.

The output is in the layout of ``history.csv`` (one row per bundle and segment), ready to append
to an offer history.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from models import mnl
from models.demand import DemandModel
from models.errors import InputError

__all__ = ["MarketSimulator", "MarketDraw", "market_key"]

_BUYER_STREAM = 0  # salt of the generator seed, so future streams cannot collide with this one


def market_key(market: str) -> int:
    """A stable whole number for a market's name (CRC-32 of its UTF-8 bytes), for seeding: the
    same in every process, unlike ``hash``."""
    return zlib.crc32(market.encode("utf-8"))


@dataclass(frozen=True, eq=False)
class MarketDraw:
    """The buyers of one market and month: how many in each segment and one uniform per buyer.

    ``segment_buyers`` has shape (segments,); ``uniforms[s]`` holds ``segment_buyers[s]`` numbers
    in [0, 1).
    """

    month_index: int
    market: str
    segment_buyers: np.ndarray
    uniforms: tuple[np.ndarray, ...]


class MarketSimulator:
    """Draw take-up of offers from a true demand model, reproducibly from a seed.

    Parameters
    ----------
    truth : the true demand model of every market.
    zones : SKU -> zone (``car``, ``home``, ``human``) for every SKU an offer may hold; the number
        of distinct zones enters the utility through ``span_bonus``.
    seed : seed of every draw (an int >= 0).
    market_truths : optional market -> true model, for markets whose demand differs; their
        segments must have the same names and order as ``truth``'s.
    """

    def __init__(self, truth: DemandModel, zones: Mapping[str, str], seed: int,
                 market_truths: Mapping[str, DemandModel] | None = None) -> None:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise InputError("simulator", f"seed must be a whole number >= 0, got {seed!r}")
        self.truth = truth
        self.zones = dict(zones)
        self.seed = int(seed)
        self.market_truths = dict(market_truths or {})
        for market, model in self.market_truths.items():
            if model.names != truth.names:
                raise InputError("simulator", f"market {market!r}: segments {model.names} differ from {truth.names}")

    def model_of(self, market: str) -> DemandModel:
        """The true model of ``market``."""
        return self.market_truths.get(market, self.truth)

    # -- exact choice probabilities -------------------------------------------------------
    def take_rates(self, market: str, bundles: Sequence[Sequence[str]], prices: Sequence[float]) -> np.ndarray:
        """True take probability of each bundle in each segment: shape (bundles, segments).

        ``prices`` in CNY, aligned with ``bundles`` (each a sequence of SKU codes).
        """
        model = self.model_of(market)
        if len(bundles) == 0:
            return np.zeros((0, len(model.segments)))
        skus = list(dict.fromkeys(sku for bundle in bundles for sku in bundle))
        unknown = [s for s in skus if s not in self.zones]
        if unknown:
            raise InputError("simulator", f"SKU {unknown[0]!r} of the offer has no zone in the catalog")
        index = {sku: i for i, sku in enumerate(skus)}
        incidence = np.zeros((len(bundles), len(skus)))
        for b, bundle in enumerate(bundles):
            incidence[b, [index[s] for s in bundle]] = 1.0
        zone_counts = np.array([len({self.zones[s] for s in bundle}) for bundle in bundles], dtype=float)
        utility = model.composition_utility(incidence, zone_counts, skus)
        return mnl.choice_probabilities(model.attraction(utility, np.asarray(prices, dtype=float)))

    # -- random draws ---------------------------------------------------------------------
    def draw(self, month_index: int, market: str, buyers: int) -> MarketDraw:
        """The buyers of one market and month, the same whatever is offered to them.

        Parameters
        ----------
        month_index : 0 for the first simulated month.
        market : the market's name (part of the seed, so a market draws the same buyers whichever
            other markets run beside it).
        buyers : car buyers of the market that month (a whole number >= 0).
        """
        if int(buyers) != buyers or buyers < 0:
            raise InputError("simulator", f"buyers of {market!r} must be a whole number >= 0, got {buyers!r}")
        rng = np.random.default_rng([self.seed, _BUYER_STREAM, int(month_index), market_key(market)])
        shares = self.model_of(market).shares
        segment_buyers = rng.multinomial(int(buyers), shares / shares.sum())
        uniforms = tuple(rng.random(int(n)) for n in segment_buyers)
        return MarketDraw(int(month_index), market, segment_buyers, uniforms)

    def observe(self, draw: MarketDraw, bundles: Sequence[Sequence[str]], prices: Sequence[float]) -> np.ndarray:
        """Buyers of each segment who take each bundle: int array of shape (bundles, segments)."""
        probabilities = self.take_rates(draw.market, bundles, prices)
        counts = np.zeros((len(bundles), len(draw.segment_buyers)), dtype=np.int64)
        if len(bundles) == 0:
            return counts
        for s, uniforms in enumerate(draw.uniforms):
            p = probabilities[:, s]
            # upper edges of "no bundle" (first), then of each bundle but the last, in [0, 1]
            edges = (1.0 - p.sum()) + np.concatenate(([0.0], np.cumsum(p)[:-1]))
            choice = np.searchsorted(edges, uniforms, side="right")
            counts[:, s] = np.bincount(choice, minlength=len(bundles) + 1)[1:len(bundles) + 1]
        return counts

    def history_rows(self, draw: MarketDraw, month: str, bundles: Sequence[Sequence[str]],
                     prices: Sequence[float]) -> pd.DataFrame:
        """The month's take-up in ``history.csv``'s layout, one row per bundle and segment.

        Columns ``month, region, segment, buyers, skus, price, taken`` with ``skus`` as a tuple of
        SKU codes (as :class:`models.history.History` holds them), ``price`` in CNY.
        """
        counts = self.observe(draw, bundles, prices)
        names = self.model_of(draw.market).names
        rows = [
            (month, draw.market, name, int(draw.segment_buyers[s]), tuple(bundle), float(price), int(counts[b, s]))
            for s, name in enumerate(names)
            for b, (bundle, price) in enumerate(zip(bundles, prices))
        ]
        return pd.DataFrame(rows, columns=["month", "region", "segment", "buyers", "skus", "price", "taken"])
