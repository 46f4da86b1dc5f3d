"""A mixed-integer linear program held as numpy arrays and handed to HiGHS in one call.

Columns come in named groups (``offer``, ``take``, ...), each an array of indices; rows come in
named groups, one per business rule (``max_bundles``, ``one_price_per_set``, ...), each a block
of sparse rows in compressed form. Nothing here knows about bundles: :mod:`milp` states the
offer program with it.

Why not PuLP: PuLP makes a Python object per variable and per coefficient, and on the shipped
instance building the model that way took longer than HiGHS took to solve it
(``docs/benchmarks.md``). The same rows as arrays cost a few milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import highspy
import numpy as np

__all__ = ["rows_of_sums", "LinearModel", "RowBlock", "INF", "lp_from_coo", "quiet_highs", "scaling_for",
           "UNSCALED_SPAN", "UNSCALED_MAX_COLUMNS"]

INF = highspy.kHighsInf
# HiGHS scales a program's rows and columns before its simplex unless every entry lies in [0.2, 5].
# Ours are built scaled (takes over attraction, attach rates over the largest attraction, the
# objective over its largest coefficient); where the nonzero entries and costs span at most this
# ratio, HiGHS's scaling only costs time. Measured (docs/benchmarks.md): on the shipped data
# (span 280) the default run was 12% faster without it; on the RS2 families (spans 3e4 to 2e7)
# 14% slower, so they keep it. Large programs keep it too: HiGHS's first steps do not look at
# the clock, and unscaled they ran longer: a MILP over 5,000 candidates (25,000 columns; the
# narrowing start under ``max_bundles_per_sku = 1, max_shared_skus = 0``) ended 7 s past a 60 s
# limit, scaled within it. Every program of the shipped default run has under 3,100 columns.
UNSCALED_SPAN = 1e3
UNSCALED_MAX_COLUMNS = 10_000


@dataclass(frozen=True)
class RowBlock:
    """Rows of one business rule: ``lower <= A x <= upper`` with ``A`` in compressed row form
    (``starts`` has one entry per row plus the end)."""

    name: str
    lower: np.ndarray
    upper: np.ndarray
    starts: np.ndarray
    index: np.ndarray
    value: np.ndarray

    def __len__(self) -> int:
        return len(self.lower)


def rows_from_dense(name: str, cols: np.ndarray, vals: np.ndarray, lower, upper) -> RowBlock:
    """A block whose rows have the same number of entries: ``cols`` and ``vals`` are (rows,
    width); entries with a zero value are dropped."""
    cols, vals = np.atleast_2d(np.asarray(cols, dtype=np.int64)), np.atleast_2d(np.asarray(vals, dtype=float))
    n_rows = cols.shape[0]
    keep = vals != 0.0
    counts = keep.sum(axis=1)
    starts = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    return RowBlock(name, np.broadcast_to(np.asarray(lower, dtype=float), (n_rows,)).copy(),
                    np.broadcast_to(np.asarray(upper, dtype=float), (n_rows,)).copy(),
                    starts, cols[keep], vals[keep])


def rows_from_lists(name: str, rows: list[tuple[np.ndarray, np.ndarray]], lower, upper) -> RowBlock:
    """A block of rows of any length: ``rows`` holds one (column indices, values) pair per row."""
    n_rows = len(rows)
    counts = np.fromiter((len(c) for c, _ in rows), dtype=np.int64, count=n_rows)
    starts = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    index = np.concatenate([np.asarray(c, dtype=np.int64) for c, _ in rows]) if n_rows else np.zeros(0, np.int64)
    value = np.concatenate([np.asarray(v, dtype=float) for _, v in rows]) if n_rows else np.zeros(0)
    return RowBlock(name, np.broadcast_to(np.asarray(lower, dtype=float), (n_rows,)).copy(),
                    np.broadcast_to(np.asarray(upper, dtype=float), (n_rows,)).copy(), starts, index, value)


def rows_of_sums(name: str, columns: list[np.ndarray], lower, upper) -> RowBlock:
    """A block of rows ``lower <= sum of the columns listed <= upper``, one row per array of
    column indices (no per-row value arrays: 12,000 of them took 0.02 s)."""
    counts = np.fromiter((len(c) for c in columns), dtype=np.int64, count=len(columns))
    starts = np.zeros(len(columns) + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    index = np.concatenate(columns).astype(np.int64) if columns else np.zeros(0, np.int64)
    return RowBlock(name, np.broadcast_to(np.asarray(lower, dtype=float), (len(columns),)).copy(),
                    np.broadcast_to(np.asarray(upper, dtype=float), (len(columns),)).copy(), starts, index,
                    np.ones(len(index)))


class LinearModel:
    """Columns and row blocks of one maximisation program."""

    def __init__(self) -> None:
        self.col_groups: list[tuple[str, int, int]] = []  # (name, first index, count)
        self._low: list[np.ndarray] = []
        self._high: list[np.ndarray] = []
        self._integer: list[np.ndarray] = []
        self.n_col = 0
        self.cost = np.zeros(0)
        self.blocks: list[RowBlock] = []

    # -- building ---------------------------------------------------------------------------
    def add_columns(self, name: str, low, high, integer: bool = False) -> np.ndarray:
        """Add a group of columns shaped like ``low``; returns their indices in that shape."""
        low = np.asarray(low, dtype=float)
        high = np.broadcast_to(np.asarray(high, dtype=float), low.shape)
        first, count = self.n_col, low.size
        self.col_groups.append((name, first, count))
        self._low.append(low.ravel())
        self._high.append(np.array(high, dtype=float).ravel())
        self._integer.append(np.full(count, integer))
        self.n_col += count
        self.cost = np.concatenate([self.cost, np.zeros(count)])
        return np.arange(first, first + count, dtype=np.int64).reshape(low.shape)

    def add(self, block: RowBlock) -> None:
        if len(block):
            self.blocks.append(block)

    @property
    def n_row(self) -> int:
        return sum(len(b) for b in self.blocks)

    def col_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return np.concatenate(self._low) if self._low else np.zeros(0), \
            np.concatenate(self._high) if self._high else np.zeros(0)

    # -- to HiGHS ---------------------------------------------------------------------------
    def to_highs(self, *, integer: bool = True) -> highspy.Highs:
        """A fresh, silent ``highspy.Highs`` holding the program (as an LP when ``integer`` is
        false: its relaxation)."""
        lp = highspy.HighsLp()
        low, high = self.col_bounds()
        lp.num_col_, lp.num_row_ = self.n_col, self.n_row
        lp.col_cost_, lp.col_lower_, lp.col_upper_ = self.cost, low, high
        lp.sense_ = highspy.ObjSense.kMaximize
        if self.blocks:
            lp.row_lower_ = np.concatenate([b.lower for b in self.blocks])
            lp.row_upper_ = np.concatenate([b.upper for b in self.blocks])
            starts, offset = [], 0
            for b in self.blocks:
                starts.append(b.starts[:-1] + offset)
                offset += int(b.starts[-1])
            lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
            lp.a_matrix_.start_ = np.concatenate(starts + [np.array([offset])]).astype(np.int32)
            lp.a_matrix_.index_ = np.concatenate([b.index for b in self.blocks]).astype(np.int32)
            lp.a_matrix_.value_ = np.concatenate([b.value for b in self.blocks])
        if integer and any(i.any() for i in self._integer):
            kinds = np.concatenate(self._integer)
            lp.integrality_ = [highspy.HighsVarType.kInteger if k else highspy.HighsVarType.kContinuous
                               for k in kinds]
        highs = quiet_highs()
        _pass(highs, lp)
        return highs

    def coo(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The rows as coordinates: (entry rows, entry columns, values, row lower, row upper)."""
        rows, offset = [], 0
        for b in self.blocks:
            rows.append(np.repeat(np.arange(offset, offset + len(b)), np.diff(b.starts)))
            offset += len(b)
        if not self.blocks:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0), np.zeros(0), np.zeros(0)
        return (np.concatenate(rows), np.concatenate([b.index for b in self.blocks]),
                np.concatenate([b.value for b in self.blocks]), np.concatenate([b.lower for b in self.blocks]),
                np.concatenate([b.upper for b in self.blocks]))

    def row_names(self) -> list[str]:
        return [f"{b.name}_{k}" for b in self.blocks for k in range(len(b))]

    def col_names(self) -> list[str]:
        return [f"{name}_{k}" for name, _, count in self.col_groups for k in range(count)]

    def write_lp(self, path: str | Path) -> None:
        """Write the program in LP format with each row and column named by its group."""
        highs = self.to_highs()
        for k, name in enumerate(self.col_names()):
            highs.passColName(k, name)
        for k, name in enumerate(self.row_names()):
            highs.passRowName(k, name)
        highs.writeModel(str(path))


def lp_from_coo(cost: np.ndarray, col_lower: np.ndarray, col_upper: np.ndarray, row_lower: np.ndarray,
                row_upper: np.ndarray, row: np.ndarray, col: np.ndarray, value: np.ndarray) -> highspy.Highs:
    """A silent ``highspy.Highs`` holding the LP ``max cost.x`` with rows given as coordinates
    (``row``, ``col``, ``value``; rows numbered ``0 .. len(row_lower) - 1``)."""
    order = np.argsort(row, kind="stable")
    starts = np.zeros(len(row_lower) + 1, dtype=np.int64)
    np.cumsum(np.bincount(row, minlength=len(row_lower)), out=starts[1:])
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = len(cost), len(row_lower)
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = cost, col_lower, col_upper
    lp.row_lower_, lp.row_upper_ = row_lower, row_upper
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = starts.astype(np.int32)
    lp.a_matrix_.index_ = col[order].astype(np.int32)
    lp.a_matrix_.value_ = value[order]
    highs = quiet_highs()
    _pass(highs, lp)
    return highs


def quiet_highs() -> highspy.Highs:
    """A fresh ``highspy.Highs`` that prints nothing."""
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    return highs


def scaling_for(n_col: int, *values: np.ndarray) -> int:
    """HiGHS's ``simplex_scale_strategy`` for a program of ``n_col`` columns whose matrix entries
    and costs are ``values``: 0 (none) when it has at most ``UNSCALED_MAX_COLUMNS`` columns and
    their nonzero magnitudes span at most ``UNSCALED_SPAN``, else 1 (HiGHS's own choice)."""
    if n_col > UNSCALED_MAX_COLUMNS:
        return 1
    low, high = np.inf, 0.0
    for v in values:
        size = np.abs(np.asarray(v, dtype=float))
        size = size[size > 0]
        if len(size):
            low, high = min(low, float(size.min())), max(high, float(size.max()))
    return 0 if high <= UNSCALED_SPAN * low else 1


def _pass(highs: highspy.Highs, lp: highspy.HighsLp) -> None:
    """Hand ``lp`` to ``highs``, scaled as :func:`scaling_for` says; a refusal (a coefficient of
    1e15 or more, say) leaves HiGHS with an empty model, which must never pass for the program."""
    highs.setOptionValue("simplex_scale_strategy", scaling_for(lp.num_col_, lp.a_matrix_.value_, lp.col_cost_))
    if highs.passModel(lp) == highspy.HighsStatus.kError:
        raise RuntimeError(f"HiGHS refused the program ({lp.num_col_} columns, {lp.num_row_} rows): a coefficient, "
                           "bound or cost beyond what it represents; this is a bug")
