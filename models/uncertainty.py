"""How sure are we of an offer's figures? Bands from the fitted coefficients' uncertainty.

The fit (:mod:`models.fit`) stores, per segment, the covariance of the utility coefficients
(``intercept``, ``price_coef``, ``span_bonus``, ``appeal:<sku>``) in ``model.json``'s ``fit``
section. Drawing coefficient vectors from the normal distribution centred on the model's values
with that covariance, and recomputing the offer's attach rate and margin for each draw, gives
the range of outcomes the data leave open.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from models import mnl
from models.demand import UTILITY_CLIP, DemandModel

__all__ = ["offer_bands", "coefficient_draws"]


def coefficient_draws(model: DemandModel, skus: tuple[str, ...], n_draws: int, seed: int = 0) -> dict[str, np.ndarray] | None:
    """Draws of each segment's coefficients from their fitted distribution.

    Returns
    -------
    dict of arrays with draws as the first axis and segments as the last: ``intercept``,
    ``price_coef`` (utility per CNY), ``span_bonus`` (each ``(draws, segments)``) and
    ``appeal`` (``(draws, len(skus), segments)``); ``size_coef`` is the model's (not drawn).
    ``None`` if the model has no covariance for some segment.
    """
    stored = model.fit.get("segments") if model.fit else None
    if not isinstance(stored, dict):
        return None
    rng = np.random.default_rng(seed)
    n_seg = len(model.segments)
    intercept = np.empty((n_draws, n_seg))
    price = np.empty((n_draws, n_seg))
    span = np.empty((n_draws, n_seg))
    appeal = np.empty((n_draws, len(skus), n_seg))
    for s, seg in enumerate(model.segments):
        entry = stored.get(seg.name)
        if not isinstance(entry, dict) or "covariance" not in entry or "params" not in entry:
            return None
        params = list(entry["params"])
        wanted = ["intercept", "price_coef", "span_bonus", *(f"appeal:{k}" for k in skus)]
        if any(p not in params for p in wanted):
            return None
        index = [params.index(p) for p in wanted]
        cov = np.asarray(entry["covariance"], dtype=float)[np.ix_(index, index)]
        mean = np.array([seg.intercept, seg.price_coef, seg.span_bonus, *(seg.appeal[k] for k in skus)])
        # eigen-decomposition rather than Cholesky: a stored (rounded) covariance may be only
        # positive semi-definite
        values, vectors = np.linalg.eigh(0.5 * (cov + cov.T))
        root = vectors * np.sqrt(np.clip(values, 0.0, None))
        draws = mean + rng.standard_normal((n_draws, len(wanted))) @ root.T
        intercept[:, s], price[:, s], span[:, s] = draws[:, 0], draws[:, 1], draws[:, 2]
        appeal[:, :, s] = draws[:, 3:]
    return {"intercept": intercept, "price_coef": price, "span_bonus": span, "appeal": appeal}


def offer_bands(model: DemandModel, catalog: Any, offer: Any, buyers: float, target: float,
                n_draws: int = 500, seed: int = 0) -> dict[str, float] | None:
    """5th, 50th and 95th percentiles of an offer's attach rate and margin over coefficient draws.

    Parameters
    ----------
    model : the demand model; its ``fit`` section must hold each segment's coefficient covariance
        (as written by ``python -m pricing fit``). The draws centre on the model's own values.
    catalog : :class:`pricing.domain.catalog.Catalog` (zones, unit costs, standalone rates).
    offer : :class:`pricing.domain.offer.Offer`, its bundles' SKUs and prices (CNY).
    buyers : car buyers a month.
    target : attach-rate target, a share of car buyers.
    n_draws, seed : number of draws and the seed of the generator (same seed, same bands).

    Returns
    -------
    dict with ``attach_p05``, ``attach_p50``, ``attach_p95`` (shares of car buyers),
    ``margin_p05``, ``margin_p50``, ``margin_p95`` (expected incremental IoT gross margin, CNY a
    month for ``buyers``), ``prob_target_met`` (share of draws whose attach rate reaches
    ``target``) and ``draws``; ``None`` if the model carries no covariance.

    Notes
    -----
    Segment shares are the model's (not drawn). A drawn price coefficient may fall below 0 when
    the fit is imprecise; it is kept, since cutting it off would narrow the band.
    """
    skus = tuple(catalog.skus)
    draws = coefficient_draws(model, skus, int(n_draws), seed)
    if draws is None:
        return None
    bundles = list(offer.bundles)
    index = {sku: i for i, sku in enumerate(skus)}
    incidence = np.zeros((len(bundles), len(skus)))
    for b, bundle in enumerate(bundles):
        incidence[b, [index[k] for k in bundle.skus]] = 1.0
    zones = np.array(catalog.zones)
    zone_counts = np.array([len(set(zones[incidence[b] > 0])) for b in range(len(bundles))], dtype=float)
    prices = np.array([b.price for b in bundles], dtype=float)
    margins = prices - incidence @ np.asarray(catalog.displaced_cost, dtype=float)

    # utilities: (draws, bundles, segments)
    utility = (
        draws["intercept"][:, None, :]
        + np.einsum("bi,dis->dbs", incidence, draws["appeal"])
        + (incidence.sum(axis=1) - 1.0)[None, :, None] * model.size_coefs[None, None, :]
        + (zone_counts - 1.0)[None, :, None] * draws["span_bonus"][:, None, :]
        - prices[None, :, None] * draws["price_coef"][:, None, :]
    )
    take = mnl.choice_probabilities(np.exp(np.clip(utility, -UTILITY_CLIP, UTILITY_CLIP)))
    attach = mnl.attach_rate(take, model.shares)
    margin = float(buyers) * mnl.margin_per_buyer(take, model.shares, np.broadcast_to(margins, take.shape[:2]))
    a05, a50, a95 = np.percentile(attach, [5, 50, 95])
    m05, m50, m95 = np.percentile(margin, [5, 50, 95])
    return {
        "attach_p05": float(a05), "attach_p50": float(a50), "attach_p95": float(a95),
        "margin_p05": float(m05), "margin_p50": float(m50), "margin_p95": float(m95),
        "prob_target_met": float(np.mean(attach >= target)),
        "draws": int(n_draws),
    }
