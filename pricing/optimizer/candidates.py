"""Candidate bundles: every SKU set the composition rules allow, at every ladder price.

A *set* is a composition (distinct SKUs); a *candidate* is a set at one price. Arrays over sets
and over candidates are kept side by side; ``Candidates.set_id`` maps each candidate to its set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from models.demand import DemandModel
from models.errors import InputError
from pricing.domain.catalog import ZONES, Catalog
from pricing.domain.settings import Settings

__all__ = ["Candidates", "build_candidates", "ladder_price", "charm_price"]


def charm_price(value: np.ndarray) -> np.ndarray:
    """Round down to the nearest whole CNY ending in 9: 2,512.3 -> 2,509; 2,500 -> 2,499; 2,509 -> 2,509."""
    cents = np.round(np.asarray(value, dtype=float), 6)  # a product like 2519.0000000001 stays 2519
    return np.floor((cents + 1.0) / 10.0) * 10.0 - 1.0


def ladder_price(list_total: np.ndarray, discount: float, rounding: str) -> np.ndarray:
    """``round(list_total * (1 - discount))`` in CNY; ``none`` keeps the exact value (to the fen)."""
    raw = np.asarray(list_total, dtype=float) * (1.0 - discount)
    if rounding == "charm":
        return charm_price(raw)
    return np.round(raw, 2)


@dataclass(frozen=True, eq=False)
class Candidates:
    """All (composition, price) candidates of one problem.

    Per set (rows = sets): ``members`` (sets, max_items) catalog indices padded with -1,
    ``list_total`` and ``unit_cost_total`` (CNY), ``composition_utility`` (sets, segments).
    Per candidate: ``set_id``, ``price`` (CNY), ``margin`` (incremental margin of one sale, CNY),
    ``attraction`` ``exp(u)`` (candidates, segments), ``last_price`` (NaN where the set was not
    on the last approved sheet).
    """

    catalog: Catalog
    members: np.ndarray
    list_total: np.ndarray
    unit_cost_total: np.ndarray
    displaced_cost_total: np.ndarray
    composition_utility: np.ndarray
    pin_mask: np.ndarray
    set_id: np.ndarray
    price: np.ndarray
    margin: np.ndarray
    attraction: np.ndarray
    last_price: np.ndarray

    @property
    def n_sets(self) -> int:
        return int(self.members.shape[0])

    def __len__(self) -> int:
        return int(self.set_id.shape[0])

    def skus_of(self, candidate: int) -> tuple[str, ...]:
        row = self.members[self.set_id[candidate]]
        return tuple(self.catalog.skus[i] for i in row if i >= 0)

    def set_members(self, set_index: int) -> list[int]:
        return [int(i) for i in self.members[set_index] if i >= 0]



def _compositions(catalog: Catalog, settings: Settings, eligible: np.ndarray) -> np.ndarray:
    """Sets of eligible catalog indices that follow the size, zone and category rules: (sets, max_items).

    Rows come in the order of ``itertools.combinations`` (by size, then lexicographic), built a
    column at a time with numpy: every prefix is extended by each larger index, and a prefix that
    already holds two SKUs of one category is dropped before it is extended.
    """
    category_code = {c: k for k, c in enumerate(sorted(set(catalog.categories)))}
    categories = np.array([category_code[c] for c in catalog.categories])
    zone_code = np.array([ZONES.index(z) for z in catalog.zones])
    width = settings.max_items
    one_per_category = settings.one_per_category
    blocks = []
    position = np.arange(len(eligible))
    prefixes = position[:, None]  # positions into ``eligible``, ascending within a row
    for size in range(1, min(settings.max_items, len(eligible)) + 1):
        if size > 1:
            prefixes = _extend(prefixes, len(eligible), categories[eligible] if one_per_category else None)
        if size < settings.min_items:
            continue
        combos = eligible[prefixes]
        keep = np.ones(len(combos), dtype=bool)
        zones = zone_code[combos]
        for zone in settings.required_zones:
            keep &= (zones == ZONES.index(zone)).any(axis=1)
        combos = combos[keep]
        padded = np.full((len(combos), width), -1, dtype=np.int64)
        padded[:, :size] = combos
        blocks.append(padded)
    if not blocks:
        return np.empty((0, width), dtype=np.int64)
    return np.concatenate(blocks)


def _extend(prefixes: np.ndarray, n: int, category: np.ndarray | None) -> np.ndarray:
    """Each row of ``prefixes`` followed by every position after its last one, in order; rows
    that would repeat a category are left out when ``category`` (per position) is given."""
    last = prefixes[:, -1]
    counts = n - 1 - last
    rows = np.repeat(np.arange(len(prefixes)), counts)
    # position appended: last + 1, last + 2, ... for each row
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    added = last[rows] + 1 + offsets
    if category is not None:
        fresh = (category[prefixes[rows]] != category[added][:, None]).all(axis=1)
        rows, added = rows[fresh], added[fresh]
    return np.concatenate([prefixes[rows], added[:, None]], axis=1)


def build_candidates(
    catalog: Catalog,
    model: DemandModel,
    settings: Settings,
    last_prices: Mapping[frozenset[str], float] | None = None,
) -> Candidates:
    """Enumerate every rule-abiding composition at every ladder price that passes the margin
    floor and the stability rule.

    Parameters
    ----------
    catalog : the whole catalog; inactive and banned SKUs are left out here.
    model : demand model; must give an appeal to every eligible SKU in every segment.
    settings : offer rules and price ladder.
    last_prices : price (CNY) of each SKU set on the last approved sheet.

    Raises
    ------
    InputError
        A pinned or banned SKU that the catalog does not hold, or a pinned SKU that is inactive.
    """
    eligible = _eligible(catalog, settings)
    model.check_covers([catalog.skus[i] for i in eligible])
    members = _compositions(catalog, settings, eligible)
    sets = _SetFigures.of(members, catalog, model, settings, eligible)
    last_price_of_set = _last_price_of_set(members, catalog, dict(last_prices or {}))
    set_id, price, last = _priced(sets, last_price_of_set, settings)
    return Candidates(
        catalog=catalog,
        members=members,
        list_total=sets.list_total,
        unit_cost_total=sets.unit_cost_total,
        displaced_cost_total=sets.displaced_total,
        composition_utility=sets.composition_utility,
        pin_mask=sets.pin_mask,
        set_id=set_id,
        price=price,
        margin=price - sets.displaced_total[set_id],
        attraction=model.attraction(sets.composition_utility[set_id], price),
        last_price=last,
    )


def _eligible(catalog: Catalog, settings: Settings) -> np.ndarray:
    """Catalog indices of the active SKUs that are not banned; pins and bans checked."""
    for key in ("pinned", "banned"):
        for sku in getattr(settings, key):
            if sku not in catalog.skus:
                raise InputError(settings.source, f"[offer] {key}: SKU {sku!r} is not in the catalog")
    for sku in settings.pinned:
        if not catalog.active[catalog.skus.index(sku)]:
            raise InputError(settings.source, f"[offer] pinned: SKU {sku!r} is inactive in the catalog")
    banned = {catalog.skus.index(s) for s in settings.banned}
    return np.array([i for i in range(len(catalog)) if catalog.active[i] and i not in banned], dtype=np.int64)


@dataclass(frozen=True)
class _SetFigures:
    """Per SKU set (rows of ``members``): list total, unit cost and displaced standalone margin
    (CNY), pinned SKUs held (bit mask), and utility before price (sets x segments)."""

    list_total: np.ndarray
    unit_cost_total: np.ndarray
    displaced_total: np.ndarray
    pin_mask: np.ndarray
    composition_utility: np.ndarray

    @classmethod
    def of(cls, members: np.ndarray, catalog: Catalog, model: DemandModel, settings: Settings,
           eligible: np.ndarray) -> "_SetFigures":
        """Sums over each set's members, gathered from per-SKU rows; the padding (-1) reads a
        row of zeros, so no (sets x SKUs) incidence matrix is formed."""
        valid = members >= 0
        safe = np.where(valid, members, len(catalog))  # the extra zero row
        zone_code = np.array([ZONES.index(z) for z in catalog.zones] + [-1])
        zone_counts = sum((zone_code[safe] == z).any(axis=1).astype(int) for z in range(len(ZONES)))
        pin_mask = np.zeros(len(members), dtype=np.int64)
        for bit, sku in enumerate(settings.pinned):
            pin_mask |= (members == catalog.skus.index(sku)).any(axis=1).astype(np.int64) << bit
        # Eligible SKUs only: the model need not cover inactive ones.
        appeal_rows = np.zeros((len(catalog) + 1, len(model.segments)))
        appeal_rows[eligible] = model.appeal_matrix([catalog.skus[i] for i in eligible])
        composition_utility = (
            model.intercepts[None, :]
            + _member_sum(appeal_rows, safe)
            + np.outer(valid.sum(axis=1) - 1.0, model.size_coefs)
            + np.outer(zone_counts - 1.0, model.span_bonuses)
        )

        def total(per_sku: np.ndarray) -> np.ndarray:
            return _member_sum(np.append(np.asarray(per_sku, dtype=float), 0.0), safe)

        return cls(total(catalog.list_price), total(catalog.unit_cost), total(catalog.displaced_cost),
                   pin_mask, composition_utility)


def _member_sum(per_sku: np.ndarray, safe: np.ndarray) -> np.ndarray:
    """``sum_k per_sku[safe[:, k]]`` over the member columns: (sets,) or (sets, segments)."""
    out = per_sku[safe[:, 0]].copy()
    for k in range(1, safe.shape[1]):
        out += per_sku[safe[:, k]]
    return out


def _last_price_of_set(members: np.ndarray, catalog: Catalog,
                       last_prices: Mapping[frozenset[str], float]) -> np.ndarray:
    """Last approved price (CNY) of each SKU set, NaN for a set not on the last sheet."""
    out = np.full(len(members), np.nan)
    index = {sku: i for i, sku in enumerate(catalog.skus)}
    for key, price in (last_prices or {}).items():
        if any(sku not in index for sku in key) or len(key) > members.shape[1]:
            continue
        row = np.full(members.shape[1], -1, dtype=np.int64)
        row[:len(key)] = sorted(index[sku] for sku in key)  # rows hold ascending indices
        match = np.flatnonzero((members == row[None, :]).all(axis=1))
        if len(match):
            out[match[0]] = price
    return out


def _priced(sets: _SetFigures, last_price_of_set: np.ndarray,
            settings: Settings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(set, price, last price) of every candidate: each ladder price and the last approved
    price of each set, one candidate per distinct (set, price), filtered by the margin floor and
    the stability band."""
    n_sets = len(last_price_of_set)
    # One row per set: each ladder price and the last approved price (or -inf), sorted high to low.
    table = np.full((n_sets, len(settings.discounts) + 1), -np.inf)
    for k, d in enumerate(settings.discounts):
        table[:, k] = ladder_price(sets.list_total, d, settings.rounding)
    on_sheet = ~np.isnan(last_price_of_set)
    table[on_sheet, -1] = last_price_of_set[on_sheet]
    table = -np.sort(-table, axis=1)
    # One candidate per (set, price): rounding can make two discounts land on one price.
    first = np.isfinite(table)
    first[:, 1:] &= table[:, 1:] != table[:, :-1]
    set_id = np.nonzero(first)[0]
    price = table[first]

    keep = price > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        keep &= (price - sets.unit_cost_total[set_id]) >= settings.min_margin * price - 1e-9
    last = last_price_of_set[set_id]
    on_sheet_mask = ~np.isnan(last)
    band = settings.max_change * np.where(on_sheet_mask, last, 0.0) + 1e-9
    keep &= ~on_sheet_mask | (np.abs(price - np.where(on_sheet_mask, last, 0.0)) <= band)
    return set_id[keep], price[keep], last[keep]
