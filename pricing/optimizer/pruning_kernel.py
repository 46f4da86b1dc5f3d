"""The dominance test of :mod:`pricing.optimizer.pruning` as a compiled loop, for large catalogs.

Numba compiles the loop behind :func:`block_hits` on first use (cached on disk afterwards). It
evaluates the same formula as ``pruning._margin_hits``, element by element and in the same
order, with no fast-math, so it returns the same answer to the last bit; what it saves is the temporaries and
the pairs it never needs to look at: a candidate already beaten by a set skips that set's other
prices, and a pair stops at the first segment where the reference is less attractive.

Importing this module imports numba (about half a second); ``pruning`` does so only for catalogs
large enough to earn it, and falls back to numpy when numba is not installed.
"""

from __future__ import annotations

import threading

import numba
import numpy as np

__all__ = ["block_hits"]

# Numba's default thread pool ("workqueue") aborts the process when two Python threads launch
# parallel kernels at once, and the app solves in several threads: one launch at a time.
_LAUNCH = threading.Lock()


def block_hits(ref_idx, ref_row, n_sets, part, attraction, margin, value_at_bound, odds, shares, pins):
    """(n_sets, len(part)) mask: some candidate of set ``k`` (``ref_row == k``) dominates ``part[j]``.

    Parameters follow ``pruning.dominated``: ``attraction`` and ``value_at_bound`` (candidates,
    segments), ``margin`` (candidates,), ``odds`` and ``shares`` (segments,), ``pins``
    (candidates,) bit masks a dominator must cover.
    """
    with _LAUNCH:
        return _block_hits(ref_idx, ref_row, n_sets, part, attraction, margin, value_at_bound, odds, shares, pins)


@numba.njit(parallel=True, cache=True, nogil=True)
def _block_hits(ref_idx, ref_row, n_sets, part, attraction, margin, value_at_bound, odds, shares, pins):  # pragma: no cover - compiled
    """The compiled loop of :func:`block_hits`."""
    n_seg = attraction.shape[1]
    out = np.zeros((n_sets, len(part)), dtype=np.bool_)
    for j in numba.prange(len(part)):
        c = part[j]
        for r in range(len(ref_idx)):
            g = ref_row[r]
            if out[g, j]:
                continue
            d = ref_idx[r]
            if (pins[d] & pins[c]) != pins[c]:
                continue
            more = True
            for s in range(n_seg):
                if not attraction[d, s] >= attraction[c, s]:
                    more = False
                    break
            if not more:
                continue
            margin_gap = margin[d] - margin[c]
            same = margin_gap == 0
            gain = 0.0
            scale = 0.0
            for s in range(n_seg):
                vd = attraction[d, s]
                vc = attraction[c, s]
                same = same and vd == vc
                hd = value_at_bound[d, s]
                hc = value_at_bound[c, s]
                slope = hd - hc
                cross = vd * vc * margin_gap
                low = slope + cross
                high = slope * odds[s] + cross
                worst = low if low <= high else high
                if worst >= 0:
                    term = worst / ((odds[s] + vd) * (odds[s] + vc))
                else:
                    term = worst / ((1.0 + vd) * (1.0 + vc))
                gain += shares[s] * term
                scale += shares[s] * (abs(hd) + abs(hc))
            if gain > 1e-12 * scale + 1e-300 or (same and d < c):
                out[g, j] = True
    return out
