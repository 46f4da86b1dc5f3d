"""The cover of the finance workbook: what run this is, whether it is proven, what it reaches,
which goals it meets, what it was computed from, and whether it is approved."""

from __future__ import annotations

from typing import Any, Sequence

from pricing.files.approval import ApprovalState, readable_time
from pricing.files.finance.checks import ExceptionLine, goals_of, proof_in_words, target_confidence
from pricing.files.finance.rows import MarketResult, RunInfo, money_round
from pricing.files.finance.style import Styles, row_height, safe

__all__ = ["write_cover", "COVER_FIGURES"]

# (label, run.json key, style): the results block, one column per market.
COVER_FIGURES = (
    ("Bundles offered", "bundles", "count"),
    ("Attach rate", "attach_rate", "pct"),
    ("Attach target", "attach_target", "pct"),
    ("Attach rate, low end of the 90% band", "attach_p05", "pct"),
    ("Attach rate, high end of the 90% band", "attach_p95", "pct"),
    ("Probability the attach target is met", "prob_target_met", "pct1"),
    ("Expected incremental IoT gross margin a month", "margin", "money"),
    ("IoT gross margin a month with the offer", "total_margin", "money"),
    ("IoT gross margin a month without bundles", "baseline_margin", "money"),
    ("IoT gross margin rate with the offer", "margin_rate", "pct"),
    ("Change in IoT gross margin rate", "margin_rate_change_points", "points"),
    ("Connected devices per car buyer", "devices_per_buyer", "devices"),
    ("Car buyers a month", "buyers", "units"),
)
_MONEY_KEYS = {"margin", "total_margin", "baseline_margin"}


def write_cover(sheet: Any, styles: Styles, markets: Sequence[MarketResult], run: RunInfo,
                approval: ApprovalState, breaches: Sequence[ExceptionLine]) -> None:
    """Write the cover; columns: A labels, B onwards one per market."""
    width = max(len(markets), 5)  # the goals table uses five columns after the labels
    sheet.set_column(0, 0, 44)
    sheet.set_column(1, width, 22)
    sheet.write_string(0, 0, "Bundle prices for finance review", styles["title"])
    banner = "APPROVED" if approval.is_approved else "REJECTED" if approval.state == "rejected" else "DRAFT"
    sheet.write_string(1, 0, banner, styles["banner_ok" if approval.is_approved else "banner"])
    sheet.write_string(1, 1, safe(approval.in_words()), styles["bold"])
    facts = [
        ("Period", run.period or "none: a one-off run, not a monthly one"),
        ("Market(s)", ", ".join(m.market for m in markets)),
        ("Currency", f"{markets[0].currency}; money rounded to the minor unit, line by line"),
        ("Run identifier", run.run_id),
        ("Run by", run.run_by or "not recorded"),
        ("Run at", readable_time(run.run_at) or "not recorded"),
        ("Approval", approval.in_words()),
        ("Exceptions", f"{len(breaches)} line(s) break a threshold: see the Exceptions sheet" if breaches
         else "none: every line is within the documented thresholds"),
    ]
    row = 3
    for label, value in facts:
        sheet.write_string(row, 0, label, styles["label"])
        sheet.write_string(row, 1, safe(value), styles["text"])
        row += 1
    row = _results(sheet, styles, markets, row + 1)
    row = _goals(sheet, styles, markets, row + 1)
    _inputs(sheet, styles, markets, run, row + 1, width)
    sheet.repeat_rows(0)


def _results(sheet: Any, styles: Styles, markets: Sequence[MarketResult], row: int) -> int:
    sheet.write_string(row, 0, "Results by market", styles["section"])
    for j, market in enumerate(markets, start=1):
        sheet.write_string(row, j, safe(market.market), styles["section"])
    row += 1
    sheet.write_string(row, 0, "Proof", styles["label"])
    for j, market in enumerate(markets, start=1):
        sheet.write_string(row, j, safe(proof_in_words(market.record)), styles["wrap"])
    sheet.set_row(row, row_height([(proof_in_words(m.record), 22) for m in markets]))
    row += 1
    if any(m.approval is not None for m in markets):
        sheet.write_string(row, 0, "Approval of this market", styles["label"])
        for j, market in enumerate(markets, start=1):
            words = market.approval.in_words() if market.approval is not None else "not recorded"
            sheet.write_string(row, j, safe(words), styles["wrap"])
        sheet.set_row(row, row_height([(m.approval.in_words() if m.approval else "", 22) for m in markets]))
        row += 1
    for label, key, style in COVER_FIGURES:
        if all(market.record.get(key) is None for market in markets):
            continue
        sheet.write_string(row, 0, label, styles["label"])
        for j, market in enumerate(markets, start=1):
            value = market.record.get(key)
            if key in _MONEY_KEYS and isinstance(value, (int, float)):
                value = money_round(value, market.currency)
            styles.write(sheet, row, j, value if isinstance(value, (int, float)) else None, style)
        row += 1
    return row


def _goals(sheet: Any, styles: Styles, markets: Sequence[MarketResult], row: int) -> int:
    sheet.write_string(row, 0, "Goals", styles["section"])
    for j, label in enumerate(("Market", "Required", "Reached", "Met", "Probability met"), start=1):
        sheet.write_string(row, j, label, styles["section" if j == 1 else "section_right"])
    row += 1
    for market in markets:
        confidence = target_confidence(market.record)
        for goal in goals_of(market):
            style = {"fraction": "pct", "points": "points"}.get(goal.unit, "devices")
            sheet.write_string(row, 0, safe(goal.label), styles["label"])
            sheet.write_string(row, 1, safe(market.market), styles["text"])
            styles.write(sheet, row, 2, goal.required, style)
            styles.write(sheet, row, 3, goal.reached, style)
            met = "unknown" if goal.met is None else "yes" if goal.met else "NO"
            sheet.write_string(row, 4, met, styles["bold_right" if goal.met is False else "right"])
            if goal.probability is None:
                sheet.write_string(row, 5, "not asked" if confidence is None else "not computed", styles["note_right"])
            else:
                styles.write(sheet, row, 5, goal.probability, "pct1")
            row += 1
        if confidence is not None:
            sheet.write_string(row, 0, "Asked confidence", styles["label"])
            sheet.write_string(row, 1, safe(market.market), styles["text"])
            styles.write(sheet, row, 5, confidence, "pct1")
            row += 1
    return row


def _inputs(sheet: Any, styles: Styles, markets: Sequence[MarketResult], run: RunInfo, row: int,
            width: int) -> int:
    sheet.write_string(row, 0, "Input files (SHA-256 of their bytes)", styles["section"])
    sheet.write_string(row, 1, "", styles["section"])
    row += 1
    per_market = [dict(m.record.get("inputs") or {}) for m in markets]
    shared = dict(run.input_hashes) or (per_market[0] if per_market else {})
    rows = [(name, digest, "") for name, digest in sorted(shared.items())]
    for market, hashes in zip(markets, per_market):
        rows += [(name, digest, market.market) for name, digest in sorted(hashes.items())
                 if shared.get(name) != digest]
    for name, digest, market in rows:
        sheet.write_string(row, 0, safe(name + (f" ({market})" if market else "")), styles["label"])
        if width > 1:
            sheet.merge_range(row, 1, row, width, safe(digest), styles["mono"])
        else:
            sheet.write_string(row, 1, safe(digest), styles["mono"])
        row += 1
    if not rows:
        sheet.write_string(row, 0, "none recorded", styles["note"])
        row += 1
    return row
