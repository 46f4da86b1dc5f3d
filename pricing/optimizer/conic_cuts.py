"""Outer-approximation cuts of the conic reformulation of each segment's no-bundle share.

Sen, Atamtürk & Kaminsky (2018) write segment ``s``'s logit with its odds
``w_s = 1 + sum_c v_cs z_c`` (linear in the offer) and two convex relations that every offer
satisfies with equality::

    t_cs * w_s >= z_c ** 2        (t_cs = x0_s z_c, the take share over the attraction)
    x0_s * w_s >= 1

Both are rotated second-order cones. HiGHS has no cones, so they enter as their tangent planes,
linear and valid at every point (the functions ``z**2 / w`` and ``1 / w`` are convex for
``w > 0``). At slope ``a > 0`` (a guess of ``x0_s``)::

    t_cs >= 2 a z_c - a**2 w_s        (tight when z_c = 1 and x0_s = a, or z_c = 0 and a = 0)
    x0_s >= 2 a - a**2 w_s            (tight when x0_s = a)

With an offer fixed (``z`` binary) both hold, so no offer is cut off, whatever other linear
rules the program carries. What they remove is the relaxation's habit of letting each segment
keep only the bundles it likes: a bundle offered at a fraction ``z`` must take at least
``z**2 / w`` of every segment's shares.

Rows are scaled so that their coefficients are of order one: the odds are carried as
``omega_s = w_s * ref_s`` with ``ref_s`` a reference no-bundle share, and a cut at slope ``a`` is
divided by ``a``.

The cuts are found in rounds at the root: solve the LP relaxation with HiGHS, add the tangent at
the LP point of every relation it violates, and repeat while the bound moves.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import highspy
import numpy as np

from pricing.optimizer.lagrangian_bound import LOCAL_BLOCKS, joining, local_rows, offered_gains

__all__ = ["OuterCuts", "separate_conic_cuts"]

# A relation is cut when its scaled violation (in units of z) exceeds this.
_VIOLATION = 1e-6


@dataclass
class OuterCuts:
    """Tangent cuts found so far, for one set of candidates.

    ``reference`` (segments,): the share ``ref_s`` that scales the odds variable. ``take_cuts``:
    (candidate, segment, slope) triples; ``share_cuts``: (segment, slope) pairs. ``root_bounds``:
    the LP bound (objective units, per buyer) after each round, the first without cuts.
    """

    reference: np.ndarray
    take_cand: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    take_seg: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    take_slope: np.ndarray = field(default_factory=lambda: np.zeros(0))
    share_seg: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    share_slope: np.ndarray = field(default_factory=lambda: np.zeros(0))
    root_bounds: list[float] = field(default_factory=list)
    # The LP relaxation holding every cut, as last solved to optimality (``None`` if the last
    # round was not): its duals bound what any offer can reach (``bound_fixing``).
    final_lp: highspy.Highs | None = field(default=None, repr=False, compare=False)
    # Which of that LP's rows are candidates' own ``LOCAL_BLOCKS`` rows (``None``: its first rows
    # are the program's, read from its blocks).
    final_local: np.ndarray | None = field(default=None, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.take_slope) + len(self.share_slope)

    def subset(self, keep: np.ndarray) -> "OuterCuts":
        """The cuts of the candidates at positions ``keep`` (renumbered) and the share cuts;
        no root bounds and no LP (those were of the larger program)."""
        keep = np.asarray(keep, dtype=np.int64)
        where = np.full(int(self.take_cand.max(initial=-1)) + 1, -1, dtype=np.int64)
        inside = keep[keep < len(where)]
        where[inside] = np.flatnonzero(keep < len(where))
        mine = where[self.take_cand] >= 0 if len(self.take_cand) else np.zeros(0, dtype=bool)
        return OuterCuts(self.reference.copy(), where[self.take_cand[mine]], self.take_seg[mine],
                         self.take_slope[mine], self.share_seg.copy(), self.share_slope.copy())

    def extend(self, cand, seg, slope, share_seg, share_slope) -> None:
        self.take_cand = np.concatenate([self.take_cand, cand])
        self.take_seg = np.concatenate([self.take_seg, seg])
        self.take_slope = np.concatenate([self.take_slope, slope])
        self.share_seg = np.concatenate([self.share_seg, share_seg])
        self.share_slope = np.concatenate([self.share_slope, share_slope])

    # -- rows, in any solver's (index, coefficient) form ------------------------------------
    def odds_rows(self, attraction: np.ndarray, z_index, omega_index):
        """``omega_s - ref_s sum_c v_cs z_c = ref_s`` for each segment: (lower, upper, indices, values)."""
        rows = []
        for s in range(attraction.shape[1]):
            ref = float(self.reference[s])
            nz = np.flatnonzero(attraction[:, s] > 0)
            idx = [omega_index(s)] + [z_index(int(c)) for c in nz]
            val = [1.0] + list(-ref * attraction[nz, s])
            rows.append((ref, ref, idx, val))
        return rows

    def cut_rows(self, sigma: np.ndarray, t_index, z_index, alpha_index, omega_index, start: int = 0,
                 share_start: int = 0):
        """The tangent rows from position ``start`` (take cuts) and ``share_start`` (share cuts) on:
        (lower, upper, indices, values), each ``>=``."""
        rows = []
        for c, s, a in zip(self.take_cand[start:], self.take_seg[start:], self.take_slope[start:]):
            c, s, a = int(c), int(s), float(a)
            # (t - 2 a z + a^2 w) / a >= 0 with w = omega / ref
            rows.append((0.0, highspy.kHighsInf, [t_index(c, s), z_index(c), omega_index(s)],
                         [1.0 / a, -2.0, a / float(self.reference[s])]))
        for s, a in zip(self.share_seg[share_start:], self.share_slope[share_start:]):
            s, a = int(s), float(a)
            # (x0 - 2 a + a^2 w) / a >= 0 with x0 = 1 - sigma alpha
            rows.append((2.0 - 1.0 / a, highspy.kHighsInf, [alpha_index(s), omega_index(s)],
                         [-float(sigma[s]) / a, a / float(self.reference[s])]))
        return rows


def _add_rows(highs: highspy.Highs, rows) -> None:
    if not rows:
        return
    lower = np.array([r[0] for r in rows], dtype=float)
    upper = np.array([r[1] for r in rows], dtype=float)
    starts = np.cumsum([0] + [len(r[2]) for r in rows[:-1]]).astype(np.int32)
    index = np.concatenate([np.asarray(r[2], dtype=np.int32) for r in rows])
    value = np.concatenate([np.asarray(r[3], dtype=float) for r in rows])
    highs.addRows(len(rows), lower, upper, len(index), starts, index, value)


def separate_conic_cuts(milp, *, rounds: int = 8, cuts: OuterCuts | None = None, min_gain: float = 1e-5,
                        max_cuts_per_round: int = 20_000, deadline: float = float("inf"),
                        active: np.ndarray | None = None) -> OuterCuts:
    """Add tangent cuts at the LP relaxation's point in up to ``rounds`` rounds.

    Parameters
    ----------
    milp : :class:`pricing.optimizer.milp.OfferMilp` holding no cuts yet; its model is not changed.
    cuts : cuts already known (valid whatever the bounds), added before the first round.
    min_gain : stop when a round lowers the bound by less than this share of it.
    max_cuts_per_round : the most violated ones are kept beyond this.
    deadline : ``time.perf_counter()`` value after which no new round starts.
    active : optional (candidates,) mask. Each LP is then solved over these candidates, the
        others held at zero, and every held candidate whose offer would raise the bound
        (:func:`lagrangian_bound.offered_gains`) joins until none would: the full LP's bound
        from smaller LPs (column generation). The bound recorded is the Lagrangian one, valid
        whatever was held.

    Returns
    -------
    :class:`OuterCuts` with every cut found and the LP bound after each round (CNY per buyer
    for the margin objective).
    """
    if milp.omega is not None:
        raise ValueError("separate cuts on a model that holds none yet; add them afterwards")
    if cuts is None:
        # Reference share: the geometric middle of x0's bounds, so omega stays of order one.
        cuts = OuterCuts(np.sqrt(milp.x0_low * milp.x0_high))
    lp = _CutLp(milp, cuts, active)
    previous = None
    for _ in range(rounds + 1):
        x = lp.solve(deadline)
        cuts.final_lp = None if x is None else lp.highs
        cuts.final_local = None if x is None else lp.local_rows()
        if x is None:
            break
        bound = cuts.root_bounds[-1]
        if previous is not None and previous - bound <= min_gain * max(abs(bound), 1e-12):
            break
        previous = bound
        if len(cuts.root_bounds) > rounds or time.perf_counter() > deadline:
            break
        if not lp.separate(x, max_cuts_per_round):
            break
    return cuts


class _CutLp:
    """The LP relaxation of ``milp`` in HiGHS, with the odds columns and the cuts of ``cuts``."""

    def __init__(self, milp, cuts: OuterCuts, active: np.ndarray | None = None):
        self.milp, self.cuts = milp, cuts
        n, n_seg = milp.attraction.shape
        self.highs = highs = milp._relaxation()
        # Which candidates' own rows the LP holds (the others join with theirs) and which of its
        # rows are own ``LOCAL_BLOCKS`` rows, for the bound (``lagrangian_bound.offered_gains``).
        self.own_in_lp = np.asarray(milp.has_own_rows, dtype=bool).copy()
        self.local = [local_rows(milp, highs.getNumRow())]
        self.n_col = highs.getNumCol()
        self.z_col = np.asarray(milp.z, dtype=np.int64)
        self.t_col = np.asarray(milp.t, dtype=np.int64).reshape(n, n_seg)
        self.held = np.zeros(n, dtype=bool) if active is None else ~np.asarray(active, dtype=bool)
        if self.held.any():
            self._set_upper(np.flatnonzero(self.held), offered=False)
        self.alpha_col = np.asarray(milp.alpha, dtype=np.int64)
        # omega_s = w_s ref_s lies in [ref / high, ref / low].
        low_w, high_w = cuts.reference / milp.x0_high * (1.0 - 1e-6), cuts.reference / milp.x0_low * (1.0 + 1e-6)
        highs.addCols(n_seg, np.zeros(n_seg), low_w, high_w, 0, np.zeros(0, dtype=np.int32),
                      np.zeros(0, dtype=np.int32), np.zeros(0))
        self._append(cuts.odds_rows(milp.attraction, self._z, self._omega))
        self.done = (0, 0)
        self._add_new_cuts()

    def _omega(self, s):
        return self.n_col + s

    def _z(self, c):
        return int(self.z_col[c])

    def _t(self, c, s):
        return int(self.t_col[c, s])

    def _alpha(self, s):
        return int(self.alpha_col[s])

    def _add_new_cuts(self) -> None:
        cuts = self.cuts
        self._append(cuts.cut_rows(self.milp.sigma, self._t, self._z, self._alpha, self._omega, *self.done))
        self.done = (len(cuts.take_slope), len(cuts.share_slope))

    def _append(self, rows) -> None:
        """Add ``rows`` (none of them a candidate's own) to the LP."""
        _add_rows(self.highs, rows)
        self.local.append(np.zeros(len(rows), dtype=bool))

    def local_rows(self) -> np.ndarray:
        """(LP rows,) mask of the candidates' own ``LOCAL_BLOCKS`` rows."""
        return np.concatenate(self.local)

    def _bring_in(self, cands: np.ndarray) -> None:
        """Offer the held candidates ``cands`` again: their own rows first, when the LP lacks
        them, then their column bounds."""
        new = cands[~self.own_in_lp[cands]]
        for block in self.milp.own_rows(new) if len(new) else ():
            self.highs.addRows(len(block), block.lower, block.upper, len(block.index),
                               block.starts[:-1].astype(np.int32), block.index.astype(np.int32), block.value)
            self.local.append(np.full(len(block), block.name in LOCAL_BLOCKS))
        self.own_in_lp[new] = True
        self._set_upper(cands, offered=True)
        self.held[cands] = False

    def _set_upper(self, cands: np.ndarray, offered: bool) -> None:
        """Give candidates ``cands`` their program's column bounds back, or hold them at zero."""
        cols = np.concatenate([self.z_col[cands], self.t_col[cands].ravel()]).astype(np.int32)
        upper = np.concatenate([np.ones(len(cands)), self.milp.take_high[cands].ravel()]) if offered \
            else np.zeros(len(cols))
        self.highs.changeColsBounds(len(cols), cols, np.zeros(len(cols)), upper)

    def solve(self, deadline: float = float("inf")) -> np.ndarray | None:
        """Run the LP (warm from the last basis; while candidates are held, again with those
        that would raise the bound), record its bound, return the column values; ``None`` when
        it is not solved (or not by ``deadline``, a ``time.perf_counter()`` value)."""
        while True:
            self.highs.setOptionValue("time_limit", max(min(deadline - time.perf_counter(), 1e9), 1e-3))
            self.highs.run()
            if self.highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                return None
            bound = self.highs.getInfo().objective_function_value
            if not self.held.any():
                break
            gains = offered_gains(self.highs, self.milp, self.local_rows())
            if gains is None:  # no usable duals: bring every candidate in
                self._bring_in(np.flatnonzero(self.held))
                continue
            bound, gain = gains
            more = joining(self.held, bound, gain)
            if not len(more):
                break
            self._bring_in(more)
        self.cuts.root_bounds.append(bound * self.milp.objective_scale)
        return np.asarray(self.highs.getSolution().col_value)

    def separate(self, x: np.ndarray, max_cuts: int) -> bool:
        """Add the tangents at ``x`` of every relation it violates; False when none is."""
        milp, cuts, n_seg = self.milp, self.cuts, len(self.alpha_col)
        z, t = np.clip(x[self.z_col], 0.0, 1.0), x[self.t_col]
        w = x[self.n_col:self.n_col + n_seg] / cuts.reference
        x0 = 1.0 - milp.sigma * x[self.alpha_col]
        slope = z[:, None] / w[None, :]  # tangent at the LP point: a = z / w
        violation = z[:, None] - np.divide(t, slope, out=np.zeros_like(t), where=slope > 0)
        # A tangent at a tiny slope cuts almost nothing and scales badly (coefficient 1 / a).
        cand, seg = np.nonzero((violation > _VIOLATION) & (slope > 1e-3 * milp.x0_low[None, :]))
        if len(cand) > max_cuts:
            worst = np.argsort(-violation[cand, seg])[:max_cuts]
            cand, seg = cand[worst], seg[worst]
        share_seg = np.flatnonzero(1.0 - x0 * w > _VIOLATION)
        if len(cand) == 0 and len(share_seg) == 0:
            return False
        cuts.extend(cand, seg, slope[cand, seg], share_seg, 1.0 / w[share_seg])
        self._add_new_cuts()
        return True
