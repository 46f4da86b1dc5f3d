"""Hand-made market results for the finance workbook and the ERP export: figures chosen so that
every rule of the exceptions sheet is broken once in North and never in South, with money whose
rounding trips a sum of unrounded values."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd

from pricing.domain.last_sheet import SHEET_COLUMNS
from pricing.files.finance.rows import MarketResult, PriceInForce

HOSTILE = '=HYPERLINK("http://x","y")'
NEVER_OFFERED = ("SKU U1 was never offered to any segment's buyers in the history: its appeal (0.10) is the "
                 "average of its category (band), an assumption, not a measurement. Treat bundles with it as untested.")
PRICE_WARNING = "price 500 CNY is far outside the prices seen in the history (1,000 to 4,000 CNY): an extrapolation."


def sheet_row(bundle_id, name, skus, price, cost, last, units, margin, take=0.01):
    items = skus.count("|") + 1
    list_total = round(price * 1.1, 2)
    return {
        "bundle_id": bundle_id, "name": name, "skus": skus, "items": items, "list_total": list_total,
        "price": price, "discount_pct": round(100 * (1 - price / list_total), 2), "unit_cost_total": cost,
        "unit_margin": round(price - cost, 2), "margin_pct": round(100 * (price - cost) / price, 2),
        "incremental_margin": round(margin / units, 2), "take_rate": take, "expected_units": units,
        "expected_margin": margin, "elasticity": -2.1, "last_price": last,
        "change_pct": None if last is None else round(100 * (price - last) / last, 2),
    }


def north() -> MarketResult:
    rows = [
        # +8.94%: within the 10% limit; margin 17.5%
        sheet_row("B1", "Dash cam + Charger", "C1|H1", 2559.0, 2111.0, 2349.0, 336.5, 142434.845),
        # +25% (beyond the limit) and a 5% margin (below the 8% floor); a name that is a formula
        sheet_row("B2", HOSTILE, "C2|H1", 1000.0, 950.0, 800.0, 100.5, 1234.565),
        # new, below cost (and so below the floor), holds a SKU never offered
        sheet_row("B3", "Cam + Lock + Band", "C3|H2|U1", 500.0, 520.0, None, 10.25, -205.004),
    ]
    record = {
        "status": "time_limit", "proven_optimal": False, "gap": 0.0123, "bundles": 3, "attach_rate": 0.152,
        "attach_target": 0.15, "margin": 143464.405, "baseline_margin": 1000000.0, "total_margin": 1143464.405,
        "margin_rate": 0.2123, "margin_rate_change_points": 2.5, "devices_per_buyer": 0.61, "buyers": 7036.0,
        "period": "2026-12", "created_at": "2026-11-30T01:00:00+00:00",
        "settings": {"price": {"max_change": 0.10, "min_margin": 0.08}, "goals": {"target_confidence": 0.9},
                     "solver": {"rel_gap": 0.0001}, "offer": {"max_bundles": 5, "required_zones": ["car", "home"]}},
        "goals": {"attach_rate": {"required": 0.15, "reached": 0.152, "binds": True, "met": True, "probability": 0.71},
                  "margin_rate_points": {"required": 3.0, "reached": 2.5, "binds": False, "met": False}},
        "warnings": [NEVER_OFFERED, PRICE_WARNING],
        "inputs": {"catalog.csv": "a" * 64, "model.json": "b" * 64},
    }
    in_force = (PriceInForce(("H1", "C1"), 2349.0, "Dash cam + Charger", 2111.0),
                PriceInForce(("C2", "H1"), 800.0, HOSTILE, 950.0),
                PriceInForce(("C9", "H9"), 999.0, "Old bundle", 700.0))
    return MarketResult("North", pd.DataFrame(rows, columns=list(SHEET_COLUMNS)), record, in_force)


def south() -> MarketResult:
    rows = [sheet_row("B1", "Dash cam + Charger", "C1|H1", 2349.0, 2111.0, 2349.0, 200.4, 20000.004)]
    record = {
        "status": "optimal", "proven_optimal": True, "gap": 0.0, "bundles": 1, "attach_rate": 0.16,
        "attach_target": 0.15, "margin": 20000.0, "buyers": 6254.0, "period": "2026-12",
        "created_at": "2026-11-30T01:00:00+00:00",
        "settings": {"price": {"max_change": 0.10, "min_margin": 0.08}, "solver": {"rel_gap": 0.0001}},
        "warnings": [], "inputs": {"catalog.csv": "a" * 64, "model.json": "c" * 64},
    }
    return MarketResult("South", pd.DataFrame(rows, columns=list(SHEET_COLUMNS)), record, None)


def write_run_dir(folder: Path, market: MarketResult) -> Path:
    """A market's run folder as ``optimize`` writes it: ``price_sheet.csv`` and ``run.json``."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "price_sheet.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(SHEET_COLUMNS), lineterminator="\n")
        writer.writeheader()
        for row in market.sheet.to_dict("records"):
            writer.writerow({k: ("" if v is None or v != v else v) for k, v in row.items()})
    (folder / "run.json").write_text(json.dumps(dict(market.record), indent=2), encoding="utf-8")
    return folder
