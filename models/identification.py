"""What a segment's offer history can and cannot tell apart, found before any Newton step, and
linear algebra that never trips over what it cannot.

The appeals, category means and market shifts carry a Gaussian prior, so the penalised
information is positive definite in their directions whatever the data. Only four directions
are left to the data alone: the intercept, the price coefficient, the span bonus and a common
shift of every appeal (the segment's mean appeal, which trades off against the intercept and
the bundle size). Their design columns are ``1``, ``-price``, ``zones - 1`` and ``|S|``; a
column that is a linear combination of the columns kept before it is not identified.

The price coefficient needs more: prices must vary apart from the composition. A price that is
a linear function of the SKUs in the bundle up to rounding (one discount on every offer: what
varies apart from the composition is under 1% of the prices' size) is explained
by the appeals just as well; only the prior would then choose the split, so the price effect is
declared not identified.

Fixed values (documented in ``docs/demand.md``): span bonus 0 (the intercept carries the
common span), segment mean appeal 0 (the intercept carries the common appeal level), price
coefficient the fallback the caller gives (by default 0: price-blind demand, loudly warned),
and, for a segment in which nobody took a bundle, the intercept at ``log(0.5 / buyers)`` (half
a taker).
"""

from __future__ import annotations

import numpy as np

__all__ = ["unidentified", "guarded_solve", "guarded_inverse", "weak_directions", "RELATIVE_TOL"]

# a column whose residual, after the columns kept before it, is below this share of its own
# norm is a linear combination of them (values ~1e-16 come from rounding; 1e-9 leaves room)
RELATIVE_TOL = 1e-9
# prices are rounded (to a whole CNY, or down to ..9): a price that is a linear function of the
# composition up to that rounding carries no usable price variation. Below 1% of the prices'
# own size, what is left is rounding, not an experiment.
PRICE_TOL = 0.01
# eigenvalues of the information below this share of the largest are treated as zero
_EIGEN_TOL = 1e-10


def unidentified(design) -> dict[str, str]:
    """Parameters the data of one segment cannot identify, with the reason in plain words.

    Keys among ``intercept``, ``price_coef``, ``span_bonus``, ``mean_appeal`` and
    ``market:<region>`` (a market without rows in this segment is handled by the caller).
    """
    out: dict[str, str] = {}
    if design.taken.sum() == 0:
        reason = "nobody in this segment took any bundle in the history"
        return {p: reason for p in ("intercept", "price_coef", "span_bonus", "mean_appeal")}
    price = design.price
    composition = np.column_stack([np.ones(len(price)), design.incidence, design.zone_count - 1.0])
    if _residual_share(composition, price) <= PRICE_TOL:
        out["price_coef"] = (
            "prices never varied apart from the bundle's composition beyond rounding (the same "
            "discount off the same list prices), so the data cannot tell a price effect from the SKUs' appeal"
        )
    sizes = design.incidence.sum(axis=1)
    candidates = [("intercept", np.ones(len(price)))]
    if "price_coef" not in out:
        candidates.append(("price_coef", price))
    candidates += [("mean_appeal", sizes), ("span_bonus", design.zone_count - 1.0)]
    kept: list[np.ndarray] = []
    for name, column in candidates:
        if kept and _residual_share(np.column_stack(kept), column) <= RELATIVE_TOL:
            out[name] = _collinear_reason(name, sizes, design.zone_count)
        else:
            kept.append(column)
    return out


def _residual_share(columns: np.ndarray, target: np.ndarray) -> float:
    """Norm of ``target`` not explained by least squares on ``columns``, over its own norm."""
    norm = float(np.linalg.norm(target))
    if norm == 0.0:
        return 0.0
    scale = np.linalg.norm(columns, axis=0)
    scale[scale == 0] = 1.0
    coef, *_ = np.linalg.lstsq(columns / scale, target / norm, rcond=None)
    return float(np.linalg.norm(target / norm - (columns / scale) @ coef))


def _collinear_reason(name: str, sizes: np.ndarray, zones: np.ndarray) -> str:
    if name == "span_bonus":
        spans = sorted({int(z) for z in zones})
        if len(spans) == 1:
            return f"every offered bundle spans the same number of zones ({spans[0]})"
        return "the number of zones a bundle spans moves in step with its size or price"
    if name == "mean_appeal":
        return ("a shift of every SKU's appeal is indistinguishable from the intercept"
                + (f" (every bundle had {int(sizes[0])} SKUs)" if len(set(sizes)) == 1 else ""))
    if name == "price_coef":
        return "the price moves in step with the bundle size or span, never on its own"
    return "its design column is a combination of the others"


def _eigen(h: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Eigenvalues, eigenvectors, and the mask of those clearly above zero."""
    values, vectors = np.linalg.eigh(0.5 * (h + h.T))
    top = float(np.max(np.abs(values))) if values.size else 0.0
    keep = values > max(top * _EIGEN_TOL, 1e-300)
    return values, vectors, keep


def guarded_solve(h: np.ndarray, g: np.ndarray) -> np.ndarray:
    """``h^+ g`` on the well-determined eigen-directions of symmetric ``h`` (0 along the rest)."""
    values, vectors, keep = _eigen(h)
    v = vectors[:, keep]
    return v @ ((v.T @ g) / values[keep])


def guarded_inverse(h: np.ndarray) -> np.ndarray:
    """Pseudo-inverse of symmetric ``h``, dropping eigenvalues below 1e-10 of the largest."""
    values, vectors, keep = _eigen(h)
    v = vectors[:, keep]
    return (v / values[keep]) @ v.T


def weak_directions(h: np.ndarray, names: list[str], loading: float = 0.1) -> list[str]:
    """Names whose coordinate loads (above ``loading``) on an eigen-direction of ``h`` with
    (near-)zero curvature: what a collinearity missed by :func:`unidentified` leaves free."""
    values, vectors, keep = _eigen(h)
    weak = vectors[:, ~keep]
    if weak.size == 0:
        return []
    return [n for n, row in zip(names, np.abs(weak)) if row.max() > loading]
