"""A small data folder for monthly-run tests: a random catalog of 8 SKUs, a history drawn from a
known truth with market differences, a model fitted on all but the last two months (so the run
refits and has new take-up to check drift on), volumes for one month and a last approved sheet."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from models.synthetic import OfferDesign, random_truth, simulate_history
from pricing.runs.refit import FitSettings, refit

MONTH = "2025-01"
CONFIG = """
[offer]
max_bundles = 3
min_items = 2
max_items = 3
required_zones = ["car", "home"]
one_per_category = true
[price]
discounts = [0.05, 0.10, 0.20]
rounding = "charm"
min_margin = 0.08
max_change = 0.10
[target]
attach_rate = 0.01
[market]
buyers = 28000
[solver]
time_limit = 30
rel_gap = 1e-4
"""


def make_data(folder: Path, markets: int = 3, seed: int = 5, extra_markets: int = 0) -> Path:
    """Write catalog.csv, history.csv, model.json (fitted on the first 6 of 8 months),
    volumes.csv (``MONTH``: the history's markets plus ``extra_markets`` unseen ones),
    last_sheet.csv and settings.toml into ``folder``; returns it."""
    rng = np.random.default_rng(seed)
    truth = random_truth(rng, n_skus=8, zones=("car", "home", "human"), regions=markets, segments=2, market_sd=0.4)
    frame = simulate_history(truth, OfferDesign(months=8, sizes=(2, 3), first_month=(2024, 5)), rng)
    folder.mkdir(parents=True, exist_ok=True)
    truth.catalog.to_csv(folder / "catalog.csv", index=False)
    early = frame[frame["month"] < "2024-11"]
    early.to_csv(folder / "history.csv", index=False)
    refit(folder, folder / "model.json", FitSettings(holdout_months=1))
    for name in ("validation.json", "validation.txt"):
        (folder / name).unlink()
    frame.to_csv(folder / "history.csv", index=False)
    regions = list(truth.regions) + [f"City{k}" for k in range(extra_markets)]
    volumes = pd.DataFrame({"month": MONTH, "region": regions,
                            "buyers": [str(3000 + 500 * k) for k in range(len(regions))]})
    volumes.to_csv(folder / "volumes.csv", index=False)
    last = frame[(frame["month"] == "2024-12") & (frame["region"] == truth.regions[0])].drop_duplicates("skus")
    sheet = pd.DataFrame({"bundle_id": [f"B{k + 1}" for k in range(len(last))], "skus": last["skus"].to_numpy(),
                          "price": last["price"].to_numpy()})
    sheet.to_csv(folder / "last_sheet.csv", index=False)
    (folder / "settings.toml").write_text(CONFIG, encoding="utf-8")
    return folder
