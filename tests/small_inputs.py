"""A small, valid input folder cut from the shipped data, for tests that run the CLI many times.

Eleven shipped SKUs (car, home and human zones, one or two per category), the shipped model.json
with its appeals narrowed to them (the fit section, with its covariances, kept as shipped), the
shipped last sheet's bundle that uses only these SKUs, the shipped volumes.csv, and a history of
six months in one region whose take-up follows the shipped model exactly (rounded), so that
``optimize`` solves in well under a second and ``fit`` converges quickly.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np

from conftest import DATA

SKUS = ("CAR-DC-4K", "CAR-WLC-50", "CAR-AIR-2", "CAR-VAC-MINI", "HOME-EVC-7", "HOME-CAM-C700", "HOME-SPK-PRO",
        "HOME-RT-BE36", "HUM-BAND-9", "HUM-BUDS-5", "HUM-PAD-7")
# Bundles offered in the history: (SKUs, discount off the list total).
OFFERED = ((("CAR-DC-4K", "HOME-CAM-C700", "HUM-BAND-9"), 0.08), (("CAR-WLC-50", "HOME-SPK-PRO"), 0.12),
           (("CAR-AIR-2", "HOME-EVC-7", "HUM-BUDS-5"), 0.05), (("CAR-VAC-MINI", "HOME-RT-BE36"), 0.15))
# A short solve: three bundles of two or three SKUs.
SETTINGS = """[offer]
max_bundles = 3
min_items = 2
max_items = 3
required_zones = ["car", "home"]
one_per_category = true
pinned = []
banned = []

[price]
discounts = [0.05, 0.10, 0.15, 0.20]
rounding = "charm"
min_margin = 0.05
max_change = 0.10

[target]
attach_rate = 0.05

[market]
buyers = 28000

[solver]
time_limit = 20
rel_gap = 1e-4
"""


def _csv(rows: list[list[object]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def write_small_data(folder: Path) -> Path:
    """Write the small input set into ``folder`` (created); returns ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    catalog = list(csv.reader((DATA / "catalog.csv").open(encoding="utf-8")))
    rows = [catalog[0]] + [r for r in catalog[1:] if r[0] in SKUS]
    (folder / "catalog.csv").write_text(_csv(rows), encoding="utf-8")
    price = {r[0]: float(r[4]) for r in rows[1:]}

    model = json.loads((DATA / "model.json").read_text(encoding="utf-8"))
    for seg in model["segments"]:
        seg["appeal"] = {k: v for k, v in seg["appeal"].items() if k in SKUS}
    (folder / "model.json").write_text(json.dumps(model, indent=1), encoding="utf-8")

    sheet = list(csv.reader((DATA / "last_sheet.csv").open(encoding="utf-8")))
    keep = [r for r in sheet[1:] if set(r[sheet[0].index("skus")].split("|")) <= set(SKUS)]
    (folder / "last_sheet.csv").write_text(_csv([sheet[0], *keep]), encoding="utf-8")
    (folder / "volumes.csv").write_bytes((DATA / "volumes.csv").read_bytes())
    (folder / "history.csv").write_text(_history(model, price), encoding="utf-8")
    (folder / "run.toml").write_text(SETTINGS, encoding="utf-8")
    return folder


def _history(model: dict, list_price: dict[str, float]) -> str:
    """Six months, one region: take-up = buyers x the shipped model's choice probabilities."""
    rows: list[list[object]] = [["month", "region", "segment", "buyers", "skus", "price", "taken"]]
    for month in ("2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06"):
        for seg in model["segments"]:
            buyers = int(round(8000 * seg["share"]))
            offers = [(skus, float(np.floor(sum(list_price[s] for s in skus) * (1 - d) / 10) * 10 - 1))
                      for skus, d in OFFERED]
            utility = [seg["intercept"] + sum(seg["appeal"][s] for s in skus) + seg.get("span_bonus", 0.0) *
                       (len({s.split("-")[0] for s in skus}) - 1) - seg["price_coef"] * p for skus, p in offers]
            attraction = np.exp(utility)
            share = attraction / (1.0 + attraction.sum())
            for (skus, p), q in zip(offers, share):
                rows.append([month, "North", seg["name"], buyers, "|".join(skus), f"{p:.0f}", int(round(buyers * q))])
    return _csv(rows)
