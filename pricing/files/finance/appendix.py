"""The finance workbook's reference sheets: the definitions of every label, the full price sheet
of each market (every field of the spec), its elasticities, and the run's settings."""

from __future__ import annotations

import math
from typing import Any, Sequence

from pricing.domain.last_sheet import SHEET_COLUMNS
from pricing.files.finance.checks import RULES
from pricing.files.finance.rows import MarketResult, money_round, round_half_up
from pricing.files.finance.cover import COVER_FIGURES
from pricing.files.finance.style import Styles, row_height, safe

__all__ = ["DEFINITIONS", "DETAIL_LABELS", "write_definitions", "write_detail", "write_elasticities",
           "write_settings"]

# spec field -> (label people read, style) on the Bundles sheet; *_pct fields are stored as fractions.
DETAIL_LABELS = {
    "bundle_id": ("Bundle", "text"), "name": ("Composition", "wrap"), "skus": ("SKUs", "wrap"),
    "items": ("Items", "count"), "list_total": ("List price total", "money"), "price": ("New price", "money"),
    "discount_pct": ("Discount off list", "pct"), "unit_cost_total": ("Unit cost", "money"),
    "unit_margin": ("Unit margin", "money"), "margin_pct": ("Margin % after", "pct"),
    "incremental_margin": ("Incremental margin per sale", "money"), "take_rate": ("Take rate", "share"),
    "expected_units": ("Expected units a month", "units1"), "expected_margin": ("Expected margin a month", "money"),
    "elasticity": ("Own-price elasticity", "elasticity"), "last_price": ("Price in force", "money"),
    "change_pct": ("Change %", "signed_pct"),
}
_DETAIL_WIDTHS = {"bundle_id": 7, "name": 34, "skus": 24, "items": 6}

_COVER_HOW = {
    "money": "from run.json, CNY a month, rounded to the minor unit",
    "pct": "from run.json, a share stored as a fraction", "pct1": "from run.json, a share stored as a fraction",
    "points": "from run.json, percentage points (100 x the change in the rate)",
    "devices": "from run.json, devices per car buyer", "count": "from run.json", "units": "from run.json",
}

# (label, field in the spec or run.json, how it is computed)
DEFINITIONS = (
    ("Bundle", "bundle_id", "B1, B2, ... in the order of the new sheet; empty for a withdrawn bundle"),
    ("Composition", "name", "the bundle's products joined by +; on Changes, its SKU codes below (skus)"),
    ("SKUs", "skus", "the bundle's SKU codes, joined by |"),
    ("Items", "items", "number of SKUs in the bundle"),
    ("List price total", "list_total", "sum of the SKUs' list_price"),
    ("Price in force", "last_price", "price of the same SKU set (in any order) on the last approved sheet"),
    ("New price", "price", "list total less a ladder discount, rounded as the rounding setting says (charm: "
                           "down to a whole price ending in 9)"),
    ("Change", "derived: price - last_price", "new price less price in force, both rounded to the minor unit"),
    ("Change %", "change_pct", "change / price in force, stored as a fraction (the CSV's change_pct is percent)"),
    ("Discount off list", "discount_pct", "1 - price / list total, stored as a fraction (CSV: percent)"),
    ("Unit cost", "unit_cost_total", "sum of the SKUs' unit_cost"),
    ("Unit margin", "unit_margin", "new price - unit cost"),
    ("Margin % before", "derived: (last_price - unit_cost_total) / last_price",
     "margin of the price in force at today's unit costs, a fraction"),
    ("Margin % after", "margin_pct", "(new price - unit cost) / new price, stored as a fraction (CSV: percent)"),
    ("Incremental margin per sale", "incremental_margin", "new price - unit cost - the standalone margin the "
                                                          "bundle replaces (the spec's m(b))"),
    ("Take rate", "take_rate", "share of all car buyers who take the bundle: each segment's logit choice "
                               "probability weighted by its share"),
    ("Expected units a month", "expected_units", "car buyers a month x take rate; whole units on Changes"),
    ("Expected margin a month", "expected_margin", "expected units x incremental margin per sale"),
    ("Own-price elasticity", "elasticity", "minus price_coef x price x (1 - take probability), weighted by each "
                                           "segment's takers"),
    ("Flag", "derived", "New, Price up, Price down, Unchanged or Withdrawn (in force, not on the new sheet); "
                        "': see Exceptions' when the line breaks a rule"),
    ("Total", "derived", "sum of the rounded lines shown above it"),
    ("Proof", "proven_optimal, gap, status", "whether the solver proved no offer under the rules is better, "
                                             "and by how much it could be (relative gap)"),
    *((label, key, _COVER_HOW[style]) for label, key, style in COVER_FIGURES),
    ("Required, Reached, Met", "goals.<name>.required / reached / met", "a goal's target, the offer's value "
                                                                        "and whether it meets it (run.json goals)"),
    ("Probability met", "goals.<name>.probability, prob_target_met", "share of draws of the demand "
                                                                    "coefficients in which the goal holds"),
    ("Asked confidence", "settings.goals.target_confidence", "the probability the targets were asked to hold with"),
    ("Approval", "approval.json: state, by, at, comment", "the decision on the sheet: draft until someone approves "
                                                          "or rejects exactly this price_sheet.csv (its SHA-256)"),
    ("Approval of this market", "approval.json in the market's run folder", "each market's own decision, when "
                                                                            "markets are decided one by one"),
    *((rule, "rule", threshold) for rule, threshold in RULES.items()),
)


def write_definitions(sheet: Any, styles: Styles) -> None:
    sheet.write_string(0, 0, "Definitions: each label, the spec's field, and how it is computed", styles["title"])
    sheet.write_string(1, 0, "Percentages are stored as fractions (0.05) and shown as % (5.00%).", styles["note"])
    for j, (label, width) in enumerate((("Label", 34), ("Field in the spec", 34), ("How it is computed", 90))):
        sheet.set_column(j, j, width)
        sheet.write_string(3, j, label, styles["header"])
    for i, (label, field, how) in enumerate(DEFINITIONS, start=4):
        sheet.write_string(i, 0, safe(label), styles["label"])
        sheet.write_string(i, 1, safe(field), styles["wrap"])
        sheet.write_string(i, 2, safe(how), styles["wrap"])
        sheet.set_row(i, row_height([(label, 34), (field, 34), (how, 90)]))
    sheet.freeze_panes(4, 0)
    sheet.repeat_rows(3)


def write_detail(sheet: Any, styles: Styles, market: MarketResult) -> None:
    """Every field of the spec's price sheet, under its label; *_pct as fractions."""
    sheet.write_string(0, 0, safe(f"Bundles on the new sheet, every field: {market.market}"), styles["title"])
    sheet.write_string(1, 0, safe(f"Money in {market.currency}; the same figures as price_sheet.csv."),
                       styles["note"])
    for j, field in enumerate(SHEET_COLUMNS):
        sheet.set_column(j, j, _DETAIL_WIDTHS.get(field, 13 if DETAIL_LABELS[field][1] == "money" else 10))
        sheet.write_string(3, j, DETAIL_LABELS[field][0], styles["header"])
    sheet.set_row(3, row_height([(label, _DETAIL_WIDTHS.get(f, 10)) for f, (label, _) in DETAIL_LABELS.items()]))
    rows = [_shown(row, market.currency) for row in market.sheet.to_dict("records")]
    for i, row in enumerate(rows, start=4):
        sheet.set_row(i, row_height([(str(row.get(f)), w) for f, w in _DETAIL_WIDTHS.items()]))
        for j, field in enumerate(SHEET_COLUMNS):
            styles.write(sheet, i, j, row[field], DETAIL_LABELS[field][1])
    total = 4 + len(rows)
    sheet.write_string(total, 0, "Total", styles["total_text"])
    units = round_half_up(sum(r["expected_units"] for r in rows), 1)
    margin = money_round(sum(r["expected_margin"] for r in rows), market.currency)
    for j, field in enumerate(SHEET_COLUMNS[1:], start=1):
        if field == "expected_units":
            sheet.write_number(total, j, units, styles["total_units1"])
        elif field == "expected_margin":
            sheet.write_number(total, j, margin, styles["total_money"])
        else:
            sheet.write_blank(total, j, None, styles["total_text"])
    sheet.freeze_panes(4, 2)
    sheet.repeat_rows(3)


def _shown(row: dict[str, Any], currency: str) -> dict[str, Any]:
    """A sheet row as the Bundles sheet shows it: text as text, *_pct as fractions, money at the
    currency's minor unit, units at one decimal, so its total is the sum of what is shown."""
    out: dict[str, Any] = {}
    for field in SHEET_COLUMNS:
        value = row.get(field)
        style = DETAIL_LABELS[field][1]
        if field in ("bundle_id", "name", "skus"):
            value = str(value)
        elif value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
            value = None
        elif style == "money":
            value = money_round(value, currency)
        elif field.endswith("_pct"):
            value = round_half_up(float(value) / 100.0, 6)
        elif style == "units1":
            value = round_half_up(value, 1)
        else:
            value = float(value)
        out[field] = value
    return out


def write_elasticities(sheet: Any, styles: Styles, market: MarketResult) -> None:
    """Row b, column a: the elasticity of bundle b's take rate to bundle a's price."""
    sheet.set_column(0, 0, 34)
    sheet.write_string(0, 0, safe(f"Price elasticities: {market.market}"), styles["title"])
    row, breaks = 2, []
    size = len(market.elasticities[0][1]) + 3 if market.elasticities else 1
    per_page = max(1, 30 // size)  # whole blocks on a page: about 30 rows print on A4 landscape
    for k, (title, table) in enumerate(market.elasticities):
        if k and k % per_page == 0:
            breaks.append(row)
        sheet.write_string(row, 0, safe(title), styles["section"])
        sheet.write_string(row + 1, 0, "take rate of \\ price of", styles["header"])
        for j, col in enumerate(table.columns, start=1):
            sheet.write_string(row + 1, j, safe(col), styles["header_right"])
        for i, (idx, values) in enumerate(table.iterrows(), start=row + 2):
            sheet.write_string(i, 0, safe(idx), styles["bold"])
            for j, value in enumerate(values, start=1):
                sheet.write_number(i, j, float(value), styles["elasticity"])
        row += len(table) + 3
    sheet.set_h_pagebreaks(breaks)
    sheet.repeat_rows(0)


_SETTING_LABELS = {
    "max_bundles": "Most bundles in the offer", "min_items": "Fewest SKUs in a bundle",
    "max_items": "Most SKUs in a bundle", "required_zones": "Zones every bundle covers",
    "one_per_category": "At most one SKU per category", "pinned": "SKUs pinned in", "banned": "SKUs banned",
    "discounts": "Discount ladder", "rounding": "Price rounding", "min_margin": "Margin floor",
    "max_change": "Stability limit (largest price change)", "attach_rate": "Attach target",
    "buyers": "Car buyers a month", "time_limit": "Solver time limit (seconds)", "rel_gap": "Relative gap proven",
    "target_confidence": "Confidence asked for the targets", "margin_rate_points": "Margin rate goal (points)",
    "devices_per_buyer": "Devices per car buyer goal",
}
_SETTING_STYLES = {"min_margin": "pct", "max_change": "pct", "attach_rate": "pct", "rel_gap": "share",
                   "target_confidence": "pct1", "buyers": "units"}


def write_settings(sheet: Any, styles: Styles, markets: Sequence[MarketResult]) -> None:
    """The settings each market ran with: label, key in the settings file, value per market."""
    sheet.write_string(0, 0, "Settings the run used", styles["title"])
    sheet.set_column(0, 0, 40)
    sheet.set_column(1, 1, 26)
    sheet.set_column(2, 1 + len(markets), 30)
    for j, label in enumerate(("Setting", "Key in the settings file", *(m.market for m in markets))):
        sheet.write_string(2, j, safe(label), styles["header"])
    keys = []
    for market in markets:
        for section, body in (market.record.get("settings") or {}).items():
            keys += [(section, key) for key in body if (section, key) not in keys]
    for i, (section, key) in enumerate(keys, start=3):
        sheet.write_string(i, 0, _SETTING_LABELS.get(key, key.replace("_", " ").capitalize()), styles["label"])
        sheet.write_string(i, 1, safe(f"[{section}] {key}"), styles["text"])
        for j, market in enumerate(markets, start=2):
            value = (market.record.get("settings") or {}).get(section, {}).get(key)
            if isinstance(value, (list, tuple)):
                value = ", ".join(f"{v:.0%}" if key == "discounts" else str(v) for v in value) or "none"
            styles.write(sheet, i, j, value, _SETTING_STYLES.get(key, "text") if not isinstance(value, str)
                         else "wrap")
    sheet.repeat_rows(2)
