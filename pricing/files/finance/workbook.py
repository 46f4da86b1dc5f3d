"""The workbook finance reads, prints and signs: a cover, a changes table per market, the
exceptions, the definitions, then the full sheet, elasticities and settings as appendices.

Every number is stored as a number (rates as fractions shown as %, money with its currency's
number format), every text cell is formula-safe, and every sheet prints landscape on A4, one
page wide, with its header rows repeated, DRAFT in the page header until the sheet is approved,
and "page X of Y", the sheet's name and the run identifier in the footer.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Sequence

import xlsxwriter

from pricing.files.approval import ApprovalState
from pricing.files.finance.checks import RULES, ExceptionLine, exceptions
from pricing.files.finance.rows import ChangeLine, MarketResult, RunInfo, change_lines, money_round
from pricing.files.finance.appendix import write_definitions, write_detail, write_elasticities, write_settings
from pricing.files.finance.cover import write_cover
from pricing.files.finance.style import Styles, print_setup, row_height, safe

__all__ = ["write_finance_workbook", "CHANGE_COLUMNS", "EXCEPTION_COLUMNS", "sheet_names"]

# (label, width, style of the cells) of the changes table, in order.
CHANGE_COLUMNS = (
    ("Bundle", 8, "text"), ("Composition", 46, "wrap"), ("Price in force", 14, "money"), ("New price", 14, "money"),
    ("Change", 13, "signed_money"), ("Change %", 9, "signed_pct"), ("Unit cost", 14, "money"),
    ("Margin % before", 9, "pct1"), ("Margin % after", 9, "pct1"), ("Expected units a month", 10, "units"),
    ("Expected margin a month", 16, "money"), ("Flag", 16, "wrap"),
)
EXCEPTION_COLUMNS = (("Market", 12), ("Bundle", 8), ("Rule", 34), ("Value", 16), ("Threshold", 16), ("Note", 70))
_TITLE_ROWS = 3  # title, subtitle, blank: the table header is on row 4


def write_finance_workbook(path: Path, markets: Sequence[MarketResult], run: RunInfo,
                           approval: ApprovalState = ApprovalState(),
                           extra_exceptions: Sequence[ExceptionLine] = ()) -> None:
    """Write the finance workbook of one run to ``path`` (an ``.xlsx``; the caller renames it
    into place).

    Parameters
    ----------
    markets : one :class:`MarketResult` per market, in the order the workbook shows them.
    run : the run's period, identifier, who ran it and when, and its input hashes.
    approval : the decision on the sheet (draft by default); the page header says DRAFT, or
        REJECTED, until it is approved.
    extra_exceptions : lines about markets that are not in ``markets`` (a monthly run's market
        without a sheet: target unreachable, failed), listed first on the Exceptions sheet and
        counted on the cover; each names a rule of :data:`RULES`.
    """
    if not markets:
        raise ValueError("a finance workbook needs at least one market")
    options = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    names = sheet_names([m.market for m in markets])
    lines = {m.market: change_lines(m) for m in markets}
    unknown = sorted({e.rule for e in extra_exceptions} - set(RULES))
    if unknown:
        raise ValueError(f"exception rules not in RULES: {', '.join(unknown)}")
    breaches = [*extra_exceptions, *(e for m in markets for e in exceptions(m, lines[m.market]))]
    with xlsxwriter.Workbook(str(path), options) as book:
        _set_properties(book, run)
        styles = Styles(book, markets[0].currency)
        header = _page_header(run, markets, approval)
        write_cover(book.add_worksheet("Cover"), styles, markets, run, approval, breaches)
        for k, market in enumerate(markets, start=1):
            sheet = book.add_worksheet(names[market.market]["changes"])
            flagged = {e.bundle for e in breaches if e.market == market.market and e.bundle}
            _write_changes(sheet, styles, market, lines[market.market], run, flagged, f"Changes_{k}")
        _write_exceptions(book.add_worksheet("Exceptions"), styles, breaches)
        write_definitions(book.add_worksheet("Definitions"), styles)
        for market in markets:
            write_detail(book.add_worksheet(names[market.market]["detail"]), styles, market)
            if market.elasticities:
                write_elasticities(book.add_worksheet(names[market.market]["elasticities"]), styles, market)
        write_settings(book.add_worksheet("Settings"), styles, markets)
        for sheet in book.worksheets():
            print_setup(sheet, header, run.run_id)


def sheet_names(markets: Sequence[str]) -> dict[str, dict[str, str]]:
    """Sheet names per market (``Changes North``, ``Bundles North``, ``Elasticities North``):
    characters Excel forbids removed, cut to its 31 characters, made unique."""
    out: dict[str, dict[str, str]] = {}
    used: set[str] = set()
    single = len(markets) == 1
    for market in markets:
        clean = re.sub(r"[\[\]:*?/\\']", " ", market).strip() or "market"
        names = {}
        for kind, prefix in (("changes", "Changes"), ("detail", "Bundles"), ("elasticities", "Elasticities")):
            base = prefix if single else f"{prefix} {clean}"[:31].rstrip()
            name, k = base, 2
            while name.lower() in used:
                name = f"{base[:27]} ({k})"
                k += 1
            used.add(name.lower())
            names[kind] = name
        out[market] = names
    return out


def _set_properties(book, run: RunInfo) -> None:
    # A fixed creation time (the run's) keeps the file's bytes the same for the same run.
    try:
        created = dt.datetime.fromisoformat(run.run_at).astimezone(dt.timezone.utc).replace(tzinfo=None)
    except ValueError:
        created = dt.datetime(2000, 1, 1)
    book.set_properties({"title": "Bundle prices for finance review", "subject": run.period or "one-off run",
                         "comments": f"run {run.run_id}", "created": created})


def _page_header(run: RunInfo, markets: Sequence[MarketResult], approval: ApprovalState) -> str:
    def esc(text: str) -> str:
        return text.replace("&", "&&")

    markets_text = ", ".join(m.market for m in markets)
    if len(markets_text) > 60:
        markets_text = f"{len(markets)} markets"
    left = esc(f"Bundle prices {run.period or '(no period)'}, {markets_text}")
    if approval.is_approved:
        centre = '&"-,Bold"' + esc(f"APPROVED by {approval.by}"[:80])
    else:
        centre = '&"-,Bold"&14' + ("REJECTED" if approval.state == "rejected" else "DRAFT - not approved")
    return f"&L{left}&C{centre}&R{esc(markets[0].currency)}"


def _write_changes(sheet, styles: Styles, market: MarketResult, lines: list[ChangeLine], run: RunInfo,
                   flagged: set[str], table_name: str) -> None:
    cur = market.currency
    sheet.write_string(0, 0, safe(f"Changes against the prices in force: {market.market}"
                                  f"{', ' + run.period if run.period else ''}"), styles["title"])
    sheet.write_string(1, 0, safe(f"Money in {cur}; expected units and margin are per month for "
                                  f"{_buyers(market)} car buyers. Price in force: the last approved sheet."),
                       styles["note"])
    head = _TITLE_ROWS
    for j, (label, width, _) in enumerate(CHANGE_COLUMNS):
        sheet.set_column(j, j, width)
    sheet.set_row(head, row_height([(label, width) for label, width, _ in CHANGE_COLUMNS]))
    last = head + len(lines)
    if lines:
        sheet.add_table(head, 0, last, len(CHANGE_COLUMNS) - 1, {
            "name": table_name, "style": "Table Style Light 9", "autofilter": True,
            "columns": [{"header": label, "header_format": styles["header"]} for label, _, _ in CHANGE_COLUMNS],
        })
    else:
        for j, (label, _, _) in enumerate(CHANGE_COLUMNS):
            sheet.write_string(head, j, label, styles["header"])
        sheet.write_string(head + 1, 0, "No bundles on this sheet and none in force.", styles["note"])
        last = head + 1
    for i, line in enumerate(lines, start=head + 1):
        values = (line.bundle, line.composition + "\n" + " | ".join(line.skus), line.price_in_force, line.new_price,
                  line.change, line.change_pct, line.unit_cost, line.margin_before, line.margin_after, line.units,
                  line.margin_month, line.kind + (": see Exceptions" if line.bundle and line.bundle in flagged else ""))
        for j, ((_, _, style), value) in enumerate(zip(CHANGE_COLUMNS, values)):
            styles.write(sheet, i, j, value, style)
        sheet.set_row(i, row_height([(values[1], CHANGE_COLUMNS[1][1]), (values[-1], CHANGE_COLUMNS[-1][1])]))
    total_row = last + 1
    sheet.write_string(total_row, 0, "Total", styles["total_text"])
    sheet.write_string(total_row, 1, "all bundles on the new sheet (sum of the rounded lines above)",
                       styles["total_text"])
    units = sum(line.units for line in lines if line.units is not None)
    margin = money_round(sum(line.margin_month for line in lines if line.margin_month is not None), cur)
    for j in range(2, len(CHANGE_COLUMNS)):
        label = CHANGE_COLUMNS[j][0]
        if label == "Expected units a month":
            sheet.write_number(total_row, j, units, styles["total_units"])
        elif label == "Expected margin a month":
            sheet.write_number(total_row, j, margin, styles["total_money"])
        else:
            sheet.write_blank(total_row, j, None, styles["total_text"])
    sheet.freeze_panes(head + 1, 0)
    sheet.repeat_rows(head)


def _buyers(market: MarketResult) -> str:
    buyers = market.record.get("buyers")
    return f"{float(buyers):,.0f}" if isinstance(buyers, (int, float)) else "the forecast"


def _write_exceptions(sheet, styles: Styles, breaches: list[ExceptionLine]) -> None:
    sheet.write_string(0, 0, "Exceptions: lines that break a documented threshold", styles["title"])
    sheet.write_string(1, 0, "Each rule and its threshold is defined on the Definitions sheet.", styles["note"])
    head = _TITLE_ROWS
    for j, (label, width) in enumerate(EXCEPTION_COLUMNS):
        sheet.set_column(j, j, width)
        sheet.write_string(head, j, label, styles["header"])
    if not breaches:
        sheet.write_string(head + 1, 0, "No exceptions: every line is within the documented thresholds.",
                           styles["note"])
    for i, e in enumerate(breaches, start=head + 1):
        style = {"change": "signed_pct", "fraction": "pct", "money": "money", "points": "points"}.get(e.unit, "number")
        sheet.write_string(i, 0, safe(e.market), styles["text"])
        sheet.write_string(i, 1, safe(e.bundle), styles["text"])
        sheet.write_string(i, 2, safe(e.rule), styles["wrap"])
        for j, value in ((3, e.value), (4, e.threshold)):
            styles.write(sheet, i, j, value, style if isinstance(value, (int, float)) else "wrap")
        sheet.write_string(i, 5, safe(e.note), styles["wrap"])
        sheet.set_row(i, row_height([(e.note, EXCEPTION_COLUMNS[5][1]), (e.rule, EXCEPTION_COLUMNS[2][1]),
                                     *((str(v), 16) for v in (e.value, e.threshold) if isinstance(v, str))]))
    if breaches:
        sheet.autofilter(head, 0, head + len(breaches), len(EXCEPTION_COLUMNS) - 1)
    sheet.freeze_panes(head + 1, 0)
    sheet.repeat_rows(head)
