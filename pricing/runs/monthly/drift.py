"""Drift check: did the take-up that arrived since the model was fitted stay inside the model's
predictive band?

For one market, the months of ``history.csv`` after the model's last fitted month are compared,
bundle by bundle (the bundles of the market's last approved sheet that were offered) and in total
(every bundle offered), with what the model predicted for exactly those offers. The 90%
predictive band combines the coefficient uncertainty (draws from the fit's covariance) and the
chance of who happens to buy (binomial draws of takers): an actual count outside it is flagged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from models.demand import UTILITY_CLIP, DemandModel
from models.history import History
from models.uncertainty import coefficient_draws

__all__ = ["DriftLine", "MarketDrift", "check_drift", "N_DRAWS"]

N_DRAWS = 400
_BAND = (5.0, 95.0)


@dataclass(frozen=True)
class DriftLine:
    """Actual against predicted takers of one bundle (or the market total) over the new months."""

    label: str
    skus: str
    price: float | None
    actual: int
    expected: float
    low: float
    high: float

    @property
    def flagged(self) -> bool:
        return not (self.low <= self.actual <= self.high)

    def words(self) -> str:
        if not self.flagged:
            verdict = "within the band"
        else:
            verdict = "ABOVE the band: more buyers than the model expects" if self.actual > self.high \
                else "BELOW the band: fewer buyers than the model expects"
        return (f"{self.label}: {self.actual:,} buyers took it, the model expected {self.expected:,.0f} "
                f"(90% band {self.low:,.0f} to {self.high:,.0f}), {verdict}.")


@dataclass(frozen=True)
class MarketDrift:
    """The drift check of one market; ``note`` says why nothing was checked, when so."""

    market: str
    months: tuple[str, ...]
    lines: tuple[DriftLine, ...] = ()
    total: DriftLine | None = None
    not_offered: tuple[str, ...] = ()
    note: str = ""
    sheet: str = ""

    @property
    def flagged(self) -> bool:
        return any(line.flagged for line in self.lines) or (self.total is not None and self.total.flagged)

    def text(self) -> str:
        if self.note:
            return f"{self.market}: {self.note}"
        head = (f"{self.market}, take-up of {', '.join(self.months)} against the demand model "
                f"(last approved sheet: {self.sheet}):")
        body = [f"  - {line.words()}" for line in self.lines]
        if self.not_offered:
            body.append(f"  - not offered in those months, so not checked: {', '.join(self.not_offered)}.")
        if self.total is not None:
            body.append(f"  - {self.total.words()}")
        verdict = ("  Verdict: take-up moved outside what the model predicts; read the flagged lines "
                   "before approving this month's prices." if self.flagged
                   else "  Verdict: take-up is in line with the model.")
        return "\n".join([head, *body, verdict])

    def to_dict(self) -> dict[str, Any]:
        def line(d: DriftLine) -> dict[str, Any]:
            return {"bundle": d.label, "skus": d.skus, "price": d.price, "actual": d.actual,
                    "expected": round(d.expected, 2), "band_low": round(d.low, 2),
                    "band_high": round(d.high, 2), "flagged": d.flagged}
        return {"market": self.market, "months": list(self.months), "flagged": self.flagged,
                "note": self.note or None, "sheet": self.sheet, "bundles": [line(d) for d in self.lines],
                "total": None if self.total is None else line(self.total),
                "not_offered": list(self.not_offered), "text": self.text()}


def check_drift(market: str, history: History, model: DemandModel, catalog: Any,
                sheet: dict[frozenset[str], tuple[str, float]], sheet_name: str, seed: int = 0) -> MarketDrift:
    """Compare the market's take-up since the model's last fitted month with its predictions.

    Parameters
    ----------
    market : the market (a ``region`` of the history).
    history : the whole offer history.
    model : the demand model that set the prices (before any refit); its ``fit.months`` says what
        it has seen, its covariance gives the band.
    catalog : :class:`pricing.domain.catalog.Catalog`.
    sheet : the market's last approved sheet: SKU set -> (bundle id, price in CNY).
    sheet_name : the file it came from, for the words.
    """
    seen = set(model.fit.get("months", [])) if model.fit else set()
    frame = history.frame[history.frame["region"] == market]
    new = frame[~frame["month"].isin(seen)]
    if frame.empty:
        return MarketDrift(market, (), note="no take-up of this market in history.csv; nothing to check.")
    if new.empty:
        return MarketDrift(market, (), note="no take-up arrived since the model was fitted "
                                           f"(history ends {frame['month'].max()}); nothing new to check.")
    expected, draws = _predicted_takers(new, model.for_market(market), catalog, seed)
    rng = np.random.default_rng(seed + 1)
    observed = np.rint(rng.binomial(np.broadcast_to(new["buyers"].to_numpy(int), draws.shape), np.clip(draws, 0, 1)))
    keys = new["skus"].map(frozenset).to_numpy()
    lines, missing = [], []
    for key, (bundle_id, price) in sheet.items():
        rows = np.array([k == key for k in keys])
        if not rows.any():
            missing.append(bundle_id)
            continue
        lines.append(_line(f"bundle {bundle_id} ({'|'.join(sorted(key))})", "|".join(sorted(key)), price,
                           new["taken"].to_numpy()[rows], expected[rows], observed[:, rows]))
    total = _line("all bundles offered", "", None, new["taken"].to_numpy(), expected, observed)
    return MarketDrift(market, tuple(sorted(new["month"].unique())), tuple(lines), total, tuple(missing),
                       sheet=sheet_name)


def _line(label: str, skus: str, price: float | None, actual: np.ndarray, expected: np.ndarray,
          observed: np.ndarray) -> DriftLine:
    sums = observed.sum(axis=1)
    low, high = np.percentile(sums, _BAND)
    return DriftLine(label, skus, price, int(actual.sum()), float(expected.sum()), float(low), float(high))


def _predicted_takers(rows: pd.DataFrame, model: DemandModel, catalog: Any, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Expected takers of each row (its segment's buyers times its take probability in its cell)
    and take probabilities under coefficient draws: ``(rows,)`` and ``(draws, rows)``."""
    skus = tuple(catalog.skus)
    index = {s: i for i, s in enumerate(skus)}
    zones = dict(zip(skus, catalog.zones))
    incidence = np.zeros((len(rows), len(skus)))
    for r, bundle in enumerate(rows["skus"]):
        incidence[r, [index[s] for s in bundle]] = 1.0
    size = incidence.sum(axis=1) - 1.0
    span = np.array([len({zones[s] for s in b}) - 1.0 for b in rows["skus"]])
    price = rows["price"].to_numpy(float)
    segment = np.array([model.names.index(s) if s in model.names else -1 for s in rows["segment"]])
    cells = pd.factorize(pd.Series(list(zip(rows["month"], rows["segment"])), dtype=object))[0]
    draws = coefficient_draws(model, skus, N_DRAWS, seed)
    mean = {"intercept": model.intercepts[None, :], "price_coef": model.price_coefs[None, :],
            "span_bonus": model.span_bonuses[None, :], "appeal": model.appeal_matrix(skus)[None, :, :]}
    if draws is None:  # no covariance in the model: the band is the binomial chance alone
        draws = mean
    valid = segment >= 0
    s = np.where(valid, segment, 0)

    def probabilities(coef: dict[str, np.ndarray]) -> np.ndarray:
        n = coef["intercept"].shape[0]
        appeal = np.einsum("ri,dis->drs", incidence, np.broadcast_to(coef["appeal"], (n, len(skus), len(model.names))))
        u = (coef["intercept"][:, s] + appeal[:, np.arange(len(rows)), s] + size * model.size_coefs[s]
             + span * coef["span_bonus"][:, s] - price * coef["price_coef"][:, s])
        e = np.exp(np.clip(u, -UTILITY_CLIP, UTILITY_CLIP)) * valid
        sums = np.zeros((n, cells.max() + 1))
        for d in range(n):
            sums[d] = np.bincount(cells, weights=e[d], minlength=cells.max() + 1)
        return e / (1.0 + sums[:, cells])

    buyers = rows["buyers"].to_numpy(float)
    expected = probabilities(mean)[0] * buyers
    return expected, probabilities(draws)
