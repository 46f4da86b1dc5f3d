"""Seeded generator of the shipped offer history (``history.csv``) and volume forecast (``volumes.csv``).

Run ``python data/generate_history.py`` from the repository root; the same seed writes the same
bytes. It reads ``data/ground_truth.json`` and ``data/catalog.csv``.

Ground truth
------------
Take-up is drawn from the spec's segment logit with the coefficients of ``ground_truth.json``
(hand-set, illustrative):

========== ===== ========= ========== ========= ==========
segment    share intercept price_coef size_coef span_bonus
========== ===== ========= ========== ========= ==========
SU7 Standard 0.42  -3.7     0.0012     -0.30     0.30
SU7 Pro      0.24  -4.2     0.0010     -0.25     0.35
SU7 Max      0.22  -4.7     0.0008     -0.20     0.40
SU7 Ultra    0.12  -5.4     0.0006     -0.15     0.45
========== ===== ========= ========== ========= ==========

plus one appeal per SKU and segment (0.05 to 1.55; premium SKUs appeal more to higher trims).
``price_coef`` is utility per CNY.

Design of the history
---------------------
- 27 months, 2024-08 to 2026-10, four regions (North, East, South, West: 27/31/24/18% of about
  28,000 SU7 buyers a month, with a mild season and 3% noise). Each region's buyers split into the
  four trims by a multinomial draw with the ground-truth shares.
- Each region and month shows 3 to 6 bundles (the same bundles and prices to every trim). About
  60% of last month's bundles stay; the rest are new draws of 2 to 4 SKUs, at most one per category,
  most with a car and a home SKU, some spanning one zone only or all three.
- Prices: list total less a discount drawn from 0-20%, charm-rounded (..9 CNY); in the 6.18 (June)
  and 11.11 (November) promotions every bundle gets 8-12 points more.
- SKU life cycle: the Air Purifier 3H is offered until 2025-04 and then discontinued (inactive in
  the catalog); the Air Purifier 4 Pro and Pad 7 Pro arrive in 2025-05, the Lock 2 Pro and Router
  BE7000 in 2025-11; Redmi Buds 6 Pro (just launched) was never offered, so its fitted appeal comes
  from the category prior.
- Take-up: one multinomial draw per (month, region, trim) over the bundles and "no bundle".

``volumes.csv`` is a forecast of car buyers by region for the three months after the history.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path

import numpy as np

SEED = 20260311
FIRST_MONTH = (2024, 8)
N_MONTHS = 27
REGIONS = {"North": 0.27, "East": 0.31, "South": 0.24, "West": 0.18}
BUYERS_PER_MONTH = 28_000
PROMO_MONTHS = {6: "6.18", 11: "11.11"}
# month index (0 = 2024-08) from which a SKU is offered, and until which (exclusive)
AVAILABLE_FROM = {"HOME-AP-4P": 9, "HUM-PAD-7P": 9, "HOME-LOCK-2P": 15, "HOME-RT-BE70": 15}
AVAILABLE_UNTIL = {"HOME-AP-3H": 9}
NEVER_OFFERED = {"HUM-BUDS-6P"}
ZONE_ORDER = ("car", "home", "human")


def month_label(index: int) -> str:
    y, m = FIRST_MONTH
    m0 = (y * 12 + m - 1) + index
    return f"{m0 // 12:04d}-{m0 % 12 + 1:02d}"


def charm(price: float) -> float:
    """Down to the nearest whole CNY ending in 9 (2,512.3 -> 2,509; 2,500 -> 2,499)."""
    whole = math.floor(price)
    return float(whole - ((whole - 9) % 10))


def read_catalog(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        row["list_price"] = float(row["list_price"])
    return rows


def draw_bundle(rng: np.random.Generator, catalog: list[dict], month: int) -> tuple[str, ...]:
    """2 to 4 available SKUs, at most one per category, mostly spanning car and home."""
    available = [
        r for r in catalog
        if r["sku"] not in NEVER_OFFERED
        and month >= AVAILABLE_FROM.get(r["sku"], 0)
        and month < AVAILABLE_UNTIL.get(r["sku"], N_MONTHS)
    ]
    size = int(rng.choice([2, 3, 4], p=[0.35, 0.4, 0.25]))
    by_zone = {z: [r for r in available if r["zone"] == z] for z in ZONE_ORDER}
    chosen: list[dict] = []
    if rng.random() < 0.75:  # the usual car + home core
        chosen = [by_zone["car"][rng.integers(len(by_zone["car"]))], by_zone["home"][rng.integers(len(by_zone["home"]))]]
    elif rng.random() < 0.5:  # a single-zone bundle
        zone = ZONE_ORDER[rng.integers(3)]
        available = by_zone[zone]
    while len(chosen) < size:
        pool = [r for r in available if r["category"] not in {c["category"] for c in chosen}]
        if not pool:
            break
        chosen.append(pool[rng.integers(len(pool))])
    order = {r["sku"]: i for i, r in enumerate(catalog)}
    return tuple(sorted((r["sku"] for r in chosen), key=order.__getitem__))


def utilities(truth: dict, catalog: list[dict], bundles: list[tuple[str, ...]], prices: np.ndarray) -> np.ndarray:
    """Ground-truth utility of each bundle: shape (bundles, segments)."""
    zone = {r["sku"]: r["zone"] for r in catalog}
    out = np.empty((len(bundles), len(truth["segments"])))
    for s, seg in enumerate(truth["segments"]):
        for b, skus in enumerate(bundles):
            out[b, s] = (
                seg["intercept"] + sum(seg["appeal"][k] for k in skus)
                + seg.get("size_coef", 0.0) * (len(skus) - 1)
                + seg.get("span_bonus", 0.0) * (len({zone[k] for k in skus}) - 1)
                - seg["price_coef"] * prices[b]
            )
    return out


def generate(data_dir: Path, seed: int = SEED) -> tuple[list[list], list[list]]:
    """Rows of ``history.csv`` and ``volumes.csv`` (without headers)."""
    rng = np.random.default_rng(seed)
    truth = json.loads((data_dir / "ground_truth.json").read_text(encoding="utf-8"))
    catalog = read_catalog(data_dir / "catalog.csv")
    list_price = {r["sku"]: r["list_price"] for r in catalog}
    names = [s["name"] for s in truth["segments"]]
    shares = np.array([s["share"] for s in truth["segments"]])
    shares = shares / shares.sum()
    history: list[list] = []
    current: dict[str, list[tuple[str, ...]]] = {region: [] for region in REGIONS}
    for t in range(N_MONTHS):
        label = month_label(t)
        month_of_year = int(label[5:])
        season = 1.0 + 0.08 * math.sin(2 * math.pi * (month_of_year - 3) / 12)
        promo = month_of_year in PROMO_MONTHS
        for region, weight in REGIONS.items():
            region_buyers = int(round(BUYERS_PER_MONTH * weight * season * math.exp(rng.normal(0, 0.03))))
            n_bundles = int(rng.integers(3, 7))
            kept = [
                b for b in current[region]
                if rng.random() < 0.6
                and all(t >= AVAILABLE_FROM.get(k, 0) and t < AVAILABLE_UNTIL.get(k, N_MONTHS) for k in b)
            ][:n_bundles]
            bundles = list(kept)
            tries = 0
            while len(bundles) < n_bundles and tries < 100:
                tries += 1
                candidate = draw_bundle(rng, catalog, t)
                if len(candidate) >= 2 and frozenset(candidate) not in {frozenset(b) for b in bundles}:
                    bundles.append(candidate)
            current[region] = bundles
            discounts = rng.uniform(0.0, 0.20, size=len(bundles)) + (rng.uniform(0.08, 0.12) if promo else 0.0)
            prices = np.array([
                charm(sum(list_price[k] for k in skus) * (1.0 - d)) for skus, d in zip(bundles, discounts)
            ])
            attraction = np.exp(utilities(truth, catalog, bundles, prices))
            probabilities = attraction / (1.0 + attraction.sum(axis=0, keepdims=True))
            segment_buyers = rng.multinomial(region_buyers, shares)
            for s, name in enumerate(names):
                p = np.append(probabilities[:, s], 1.0 - probabilities[:, s].sum())
                taken = rng.multinomial(segment_buyers[s], p)
                for b, skus in enumerate(bundles):
                    history.append([label, region, name, int(segment_buyers[s]), "|".join(skus),
                                    f"{prices[b]:.0f}", int(taken[b])])
    volumes: list[list] = []
    for t in range(N_MONTHS, N_MONTHS + 3):
        label = month_label(t)
        season = 1.0 + 0.08 * math.sin(2 * math.pi * (int(label[5:]) - 3) / 12)
        for region, weight in REGIONS.items():
            volumes.append([label, region, int(round(BUYERS_PER_MONTH * weight * season))])
    return history, volumes


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description="Write data/history.csv and data/volumes.csv from the ground truth.")
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parent)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    history, volumes = generate(args.data, args.seed)
    write_csv(args.data / "history.csv", ["month", "region", "segment", "buyers", "skus", "price", "taken"], history)
    write_csv(args.data / "volumes.csv", ["month", "region", "buyers"], volumes)
    print(f"wrote {len(history)} history rows and {len(volumes)} volume rows to {args.data}")


if __name__ == "__main__":
    main()
