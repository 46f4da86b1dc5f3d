"""What the finance workbook says, before any cell is written: one market's result, the run's
metadata, the changes against the prices in force, and the lines that break a threshold.

Pure data (pandas and dataclasses); ``pricing.files.finance.workbook`` lays it out in cells. Money is in
the market's currency, rounded to its minor unit line by line, so that totals are the sums of the
figures a reader sees; rates and changes are fractions (0.05 = 5%).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from models.errors import InputError
from pricing.domain.last_sheet import SHEET_COLUMNS
from pricing.files.approval import ApprovalState, approval_of
from pricing.files.sheet import PriceSheet
from pricing.optimizer.optimize import OptimizationResult

__all__ = ["PriceInForce", "MarketResult", "RunInfo", "ChangeLine", "change_lines", "run_identifier",
           "money_round", "round_half_up", "read_record", "in_force_from_sheet", "CURRENCY_DECIMALS"]

# Minor units of ISO 4217 currencies this product may price in (CNY is the shipped one).
CURRENCY_DECIMALS = {"CNY": 2, "HKD": 2, "USD": 2, "EUR": 2, "GBP": 2, "JPY": 0, "KRW": 0, "SGD": 2}


def round_half_up(value: float, digits: int) -> float:
    """``value`` rounded half away from zero at ``digits`` decimals, as a spreadsheet and a
    controller round (Python's ``round`` sends 0.5 to the even neighbour and trips on 2.675)."""
    exact = Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return float(exact) + 0.0  # + 0.0: no "-0.00"


def money_round(value: float, currency: str) -> float:
    """``value`` rounded to the currency's minor unit (CNY: fen, 2 decimals), half away from zero."""
    return round_half_up(value, CURRENCY_DECIMALS.get(currency, 2))


@dataclass(frozen=True)
class PriceInForce:
    """A bundle of the last approved sheet: its SKUs, its price, and (when known) its name and
    unit cost (money in the market's currency)."""

    skus: tuple[str, ...]
    price: float
    name: str = ""
    unit_cost_total: float | None = None


@dataclass(frozen=True)
class MarketResult:
    """One market's result as the workbook needs it.

    ``sheet`` holds the price sheet rows (the spec's :data:`SHEET_COLUMNS`); ``record`` is the
    run's ``run.json`` dict; ``in_force`` the last approved prices (``None``: take them from the
    sheet's ``last_price`` column, which then cannot show withdrawn bundles); ``elasticities``
    pairs of (title, bundles x bundles table) when the solve's figures are at hand; ``approval``
    this market's own decision, when markets are decided one by one (the cover shows each).
    """

    market: str
    sheet: pd.DataFrame
    record: Mapping[str, Any]
    in_force: tuple[PriceInForce, ...] | None = None
    elasticities: tuple[tuple[str, pd.DataFrame], ...] = ()
    currency: str = "CNY"
    approval: ApprovalState | None = None

    @classmethod
    def from_result(cls, market: str, result: OptimizationResult, record: Mapping[str, Any]) -> "MarketResult":
        """From a solve: the sheet, elasticities by segment, and the problem's last approved prices."""
        sheet = PriceSheet(result.offer, result.figures, result.problem.catalog)
        catalog = result.problem.catalog
        names = dict(zip(catalog.skus, catalog.names))
        costs = dict(zip(catalog.skus, map(float, catalog.unit_cost)))
        in_force = tuple(
            PriceInForce(tuple(sorted(skus)), float(price), " + ".join(names.get(s, s) for s in sorted(skus)),
                         sum(costs[s] for s in skus) if all(s in costs for s in skus) else None)
            for skus, price in result.problem.last_prices.items()
        )
        tables = [("All buyers (weighted by takers)", sheet.elasticity_table())]
        tables += [(f"Segment {name}", sheet.elasticity_table(name)) for name in result.figures.segment_names]
        return cls(market, sheet.frame, dict(record), in_force, tuple(tables), str(record.get("currency", "CNY")))

    @classmethod
    def from_run_dir(cls, run_dir: Path, market: str | None = None,
                     in_force: tuple[PriceInForce, ...] | None = None) -> "MarketResult":
        """From a run folder's ``price_sheet.csv`` and ``run.json`` (market: ``run.json``'s
        ``market``, else the folder's name)."""
        run_dir = Path(run_dir)
        record = read_record(run_dir / "run.json")
        sheet = pd.read_csv(run_dir / "price_sheet.csv", dtype={"bundle_id": str, "name": str, "skus": str},
                            keep_default_na=False, na_values={c: [""] for c in SHEET_COLUMNS[3:]})
        missing = [c for c in SHEET_COLUMNS if c not in sheet.columns]
        if missing:
            raise InputError("price_sheet.csv", f"missing columns {', '.join(missing)}", row=1)
        name = market or str(record.get("market") or run_dir.name)
        return cls(name, sheet, record, in_force, (), str(record.get("currency", "CNY")), approval_of(run_dir))


def in_force_from_sheet(path: Path) -> tuple[PriceInForce, ...]:
    """The prices in force from a last approved sheet (``last_sheet.csv``: ``skus`` and ``price``,
    with ``name`` and ``unit_cost_total`` when it has them). ``Problem.load`` has validated the
    file already when it came from ``--data``; this reader only says which file and row is bad."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    for column in ("skus", "price"):
        if column not in frame.columns:
            raise InputError(Path(path).name, f"missing column {column}", row=1)
    out = []
    for n, row in enumerate(frame.to_dict("records"), start=2):
        try:
            price = float(row["price"])
            cost = float(row["unit_cost_total"]) if row.get("unit_cost_total") else None
        except ValueError:
            raise InputError(Path(path).name, "price and unit_cost_total must be numbers", row=n) from None
        skus = tuple(s.strip() for s in row["skus"].split("|") if s.strip())
        out.append(PriceInForce(skus, price, str(row.get("name") or ""), cost))
    return tuple(out)


def read_record(path: Path) -> dict[str, Any]:
    """``run.json`` as a dict; :class:`InputError` naming the file when it is not one."""
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(Path(path).name, f"not found in {Path(path).parent}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(Path(path).name, f"must be JSON ({exc})") from None
    if not isinstance(record, dict):
        raise InputError(Path(path).name, "must be a JSON object")
    return record


@dataclass(frozen=True)
class RunInfo:
    """The run a workbook reports: ``period`` (``YYYY-MM``, or empty for a one-off optimize),
    ``run_id``, who ran it and when (ISO 8601), and the SHA-256 of each input file."""

    run_id: str
    period: str = ""
    run_by: str = ""
    run_at: str = ""
    input_hashes: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_record(cls, record: Mapping[str, Any], run_by: str | None = None, period: str | None = None) -> "RunInfo":
        return cls(
            run_id=run_identifier(record),
            period=period if period is not None else str(record.get("period") or ""),
            run_by=run_by if run_by is not None else str(record.get("run_by") or ""),
            run_at=str(record.get("created_at") or ""),
            input_hashes=dict(record.get("inputs") or {}),
        )


def run_identifier(record: Mapping[str, Any]) -> str:
    """``run.json``'s ``run_id`` when it has one, else one derived from it: the creation time and
    the first 8 hex digits of a SHA-256 over its input hashes and settings (same run, same id)."""
    if record.get("run_id"):
        return str(record["run_id"])
    created = str(record.get("created_at") or "")
    try:
        stamp = dt.datetime.fromisoformat(created).astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    except ValueError:
        stamp = "undated"
    basis = json.dumps({"inputs": record.get("inputs") or {}, "settings": record.get("settings") or {},
                        "created_at": created}, sort_keys=True)
    return f"run-{stamp}-{hashlib.sha256(basis.encode()).hexdigest()[:8]}"


@dataclass(frozen=True)
class ChangeLine:
    """One line of the changes table. Money rounded to the currency's minor unit; ``change_pct``,
    ``margin_before`` and ``margin_after`` are fractions rounded to 4 decimals (0.01 %);
    ``units`` whole units a month. ``None``: not applicable (a new bundle has no price in force,
    a withdrawn one no new price)."""

    bundle: str
    composition: str
    skus: tuple[str, ...]
    price_in_force: float | None
    new_price: float | None
    change: float | None
    change_pct: float | None
    unit_cost: float | None
    margin_before: float | None
    margin_after: float | None
    units: float | None
    margin_month: float | None
    kind: str  # New, Price up, Price down, Unchanged, Withdrawn


def _number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    number = float(value)
    return None if math.isnan(number) else number


def change_lines(market: MarketResult) -> list[ChangeLine]:
    """The sheet's bundles against the prices in force, then the withdrawn bundles (in force,
    not on the new sheet). Matching is by SKU set, in any order."""
    cur = market.currency
    in_force = {frozenset(p.skus): p for p in market.in_force} if market.in_force is not None else {}
    lines, seen = [], set()
    for row in market.sheet.to_dict("records"):
        skus = tuple(s for s in str(row["skus"]).split("|") if s)
        key = frozenset(skus)
        seen.add(key)
        if market.in_force is None:
            old = _number(row.get("last_price"))
        else:  # the prices in force given are the whole truth: a set not among them is new
            old = in_force[key].price if key in in_force else None
        old = None if old is None else money_round(old, cur)
        new = money_round(row["price"], cur)
        cost = money_round(row["unit_cost_total"], cur)
        change = None if old is None else money_round(new - old, cur)
        kind = "New" if old is None else "Unchanged" if change == 0 else "Price up" if change > 0 else "Price down"
        lines.append(ChangeLine(
            bundle=str(row["bundle_id"]), composition=str(row["name"]), skus=skus, price_in_force=old,
            new_price=new, change=change, change_pct=None if old is None else round_half_up(change / old, 4),
            unit_cost=cost, margin_before=None if old is None else round_half_up((old - cost) / old, 4),
            margin_after=round_half_up((new - cost) / new, 4), units=round_half_up(row["expected_units"], 0),
            margin_month=money_round(row["expected_margin"], cur), kind=kind,
        ))
    for p in sorted(market.in_force or (), key=lambda p: sorted(p.skus)):
        if frozenset(p.skus) in seen:
            continue
        old = money_round(p.price, cur)
        cost = None if p.unit_cost_total is None else money_round(p.unit_cost_total, cur)
        lines.append(ChangeLine(
            bundle="", composition=p.name or " + ".join(p.skus), skus=tuple(p.skus), price_in_force=old,
            new_price=None, change=None, change_pct=None, unit_cost=cost,
            margin_before=None if cost is None else round_half_up((old - cost) / old, 4), margin_after=None,
            units=None, margin_month=None, kind="Withdrawn",
        ))
    return lines
