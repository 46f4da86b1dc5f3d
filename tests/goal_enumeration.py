"""Brute force for the goals and offer rules: every offer of a small instance with its attach rate,
margin, IoT gross-margin rate change, devices per buyer, and whether it keeps the offer rules.

Plain formulas from the spec, sharing no code with the library beyond the instance generator of
``test_bruteforce.py`` (itself independent of the library's arithmetic).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from test_bruteforce import Instance


@dataclass
class Offers:
    """Every offer of at most K candidates with distinct sets covering the pins."""

    members: list[tuple[int, ...]]
    attach: np.ndarray
    margin: np.ndarray        # CNY per buyer
    points: np.ndarray        # margin-rate change, points
    devices: np.ndarray       # devices per buyer
    rules_ok: np.ndarray      # bool, under the rules given to enumerate()


def baseline(inst: Instance) -> tuple[float, float, float]:
    """(margin, revenue, devices) per car buyer from standalone sales of active SKUs."""
    m0 = sum(r * (lp - c) for r, lp, c, a in zip(inst.standalone_rate, inst.list_price, inst.unit_cost, inst.active)
             if a)
    r0 = sum(r * lp for r, lp, a in zip(inst.standalone_rate, inst.list_price, inst.active) if a)
    d0 = sum(r for r, a in zip(inst.standalone_rate, inst.active) if a)
    return m0, r0, d0


def keeps_rules(inst: Instance, cands, combo, per_sku: int | None, shared: int | None, gap: float | None) -> bool:
    sets = [set(cands[c][1]) for c in combo]
    if per_sku is not None:
        for sku in set().union(*sets) if sets else set():
            if sum(sku in s for s in sets) > per_sku:
                return False
    for a, b in itertools.combinations(range(len(combo)), 2):
        if shared is not None and len(sets[a] & sets[b]) > shared:
            return False
        if gap is not None:
            low, high = sorted((cands[combo[a]][2], cands[combo[b]][2]))
            if high < low * (1.0 + gap):
                return False
    return True


def enumerate_offers(inst: Instance, cands, per_sku=None, shared=None, gap=None) -> Offers:
    s = inst.settings
    pinned = set(s["pinned"])
    shares = np.array(inst.shares)
    m0, r0, d0 = baseline(inst)
    rate0 = m0 / r0
    rows = []
    for size in range(0, s["max_bundles"] + 1):
        for combo in itertools.combinations(range(len(cands)), size):
            if len({cands[c][0] for c in combo}) < size:
                continue
            if pinned and not pinned <= {i for c in combo for i in cands[c][1]}:
                continue
            attach = margin = revenue = devices = 0.0
            for seg in range(len(shares)):
                denom = 1.0 + sum(cands[c][4][seg] for c in combo)
                for c in combo:
                    k, skus, price, m, _ = cands[c]
                    take = shares[seg] * cands[c][4][seg] / denom
                    attach += take
                    margin += take * m
                    revenue += take * (price - sum(inst.standalone_rate[i] * inst.list_price[i] for i in skus))
                    devices += take * (len(skus) - sum(inst.standalone_rate[i] for i in skus))
            points = 100.0 * ((m0 + margin) / (r0 + revenue) - rate0)
            rows.append((combo, attach, margin, points, d0 + devices,
                         keeps_rules(inst, cands, combo, per_sku, shared, gap)))
    members, attach, margin, points, devices, ok = zip(*rows)
    return Offers(list(members), np.array(attach), np.array(margin), np.array(points), np.array(devices),
                  np.array(ok))


def offer_key(problem, bundle) -> tuple[frozenset[int], float]:
    skus = problem.catalog.skus
    return frozenset(skus.index(s) for s in bundle.skus), round(bundle.price, 4)
