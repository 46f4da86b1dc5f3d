"""Approved bundle prices as ERP price records with effective dates ("end and insert").

A record is one price of one bundle item in one price list and market, valid from one day to
another (both included). Records are identified by their key (price list, market, item) and
their first day. From the approved prices of a period and the records in force, :func:`plan`
says what to load:

- ``create``: a new record for a key with no record on the day before;
- ``update``: a new record for a key that had one (its price changed, or the previous record ran
  out the day before), or a replacement of the record with the same key and first day (the
  same period exported again, or a validity extended);
- ``end``: a record in force shortened to end the day before the new period (its price changed,
  or the bundle left the sheet).

:func:`apply` plays records onto a ledger and refuses any overlap of two records of one key, so
whatever is loaded, no key ever has two prices on one day. See ``docs/export.md``.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import hashlib
import io
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Iterable, Sequence

from models.errors import InputError
from pricing.files.cells import neutralize_formula
from pricing.files.finance.rows import CURRENCY_DECIMALS

__all__ = ["ApprovedPrice", "ExportConfig", "PriceRecord", "ACTIONS", "RECORD_COLUMNS", "OPEN_END", "bundle_item",
           "plan", "apply", "check_no_overlap", "records_csv", "read_records", "period_end", "money", "csv_text"]

ACTIONS = ("create", "update", "end")
OPEN_END = dt.date(9999, 12, 31)  # how the canonical file writes "no end date" (SAP's convention)
RECORD_COLUMNS = ("action", "price_list", "market", "item", "description", "amount", "currency", "pricing_unit",
                  "unit_of_measure", "valid_from", "valid_to", "run_id")


@dataclass(frozen=True)
class ApprovedPrice:
    """One bundle of an approved sheet: its SKUs, its price (exact, rounded to the export
    currency's minor unit, see :func:`money`), its name and its place on the sheet (``B1``...)."""

    skus: tuple[str, ...]
    price: Decimal
    name: str = ""
    bundle_id: str = ""

    @property
    def item(self) -> str:
        return bundle_item(self.skus)


@dataclass(frozen=True)
class ExportConfig:
    """What the records carry besides prices. ``open_ended``: records run until changed (valid
    to 9999-12-31) instead of to the period's last day. ``pricing_unit``: the amount is per that
    many ``unit_of_measure``. The ``sap_*`` and ``d365_*`` values only fill those profiles' columns."""

    price_list: str
    market: str
    valid_from: dt.date
    run_id: str
    currency: str = "CNY"
    open_ended: bool = False
    pricing_unit: int = 1
    unit_of_measure: str = "PC"
    sap_condition_type: str = "PR00"
    sap_sales_org: str = "1000"
    sap_distribution_channel: str = "10"
    d365_journal: str = ""

    @property
    def valid_to(self) -> dt.date | None:
        return None if self.open_ended else period_end(self.valid_from)


@dataclass(frozen=True)
class PriceRecord:
    """One price record; ``valid_to`` None means open-ended. ``amount`` is exact, in ``currency``."""

    action: str
    price_list: str
    market: str
    item: str
    amount: Decimal
    currency: str
    pricing_unit: int
    unit_of_measure: str
    valid_from: dt.date
    valid_to: dt.date | None
    run_id: str
    description: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.price_list, self.market, self.item)

    @property
    def last_day(self) -> dt.date:
        return self.valid_to or OPEN_END


def bundle_item(skus: Iterable[str]) -> str:
    """The bundle's item code, the same for the same SKU set in any order, month after month:
    ``BDL-`` and the first 10 hex digits of a SHA-256 of its sorted SKUs (never read as a number)."""
    digest = hashlib.sha256("|".join(sorted(skus)).encode("utf-8")).hexdigest()
    return "BDL-" + digest[:10].upper()


def period_end(day: dt.date) -> dt.date:
    """The last day of ``day``'s month."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def money(value: object, currency: str, source: str = "price", row: int | None = None) -> Decimal:
    """``value`` as an exact amount rounded half-up to the currency's minor unit (CNY: 2 decimals)."""
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise InputError(source, f"must be an amount, got {value!r}", row=row, column="price") from None
    if not amount.is_finite() or amount <= 0:
        raise InputError(source, f"must be an amount > 0, got {value!r}", row=row, column="price")
    return amount.quantize(Decimal(1).scaleb(-CURRENCY_DECIMALS.get(currency, 2)), rounding=ROUND_HALF_UP)


def plan(prices: Sequence[ApprovedPrice], in_force: Sequence[PriceRecord], config: ExportConfig) -> list[PriceRecord]:
    """The records that take the price list from ``in_force`` to ``prices`` from
    ``config.valid_from`` on, sorted by item, then first day, ``end`` before the record it makes room for.

    Raises :class:`InputError` when the records in force overlap, when a key already has a
    record starting after the new period's first day (periods must be exported in order), or when
    a bundle left the sheet after its record for this same period was exported.
    """
    check_no_overlap(in_force, source="records in force")
    start, end = config.valid_from, config.valid_to
    new = {p.item: p for p in prices}
    if len(new) != len(prices):
        raise InputError("price_sheet.csv", "the same SKU set appears twice on the approved sheet", column="skus")
    mine = [r for r in in_force if (r.price_list, r.market) == (config.price_list, config.market)]
    out: list[PriceRecord] = []
    for item in sorted(new.keys() | {r.item for r in mine}):
        history = sorted((r for r in mine if r.item == item), key=lambda r: r.valid_from)
        later = [r for r in history if r.valid_from > start]
        if later:
            raise InputError("records in force", f"item {item} already has a record from {later[0].valid_from}, "
                                                 f"after {start}: export periods in order")
        covering = next((r for r in history if r.valid_from <= start <= r.last_day), None)
        price = new.get(item)
        if price is None:
            if covering is not None:
                out.append(_ended(covering, start, config.run_id))
            continue
        record = PriceRecord("create", config.price_list, config.market, item, price.price,
                             config.currency, config.pricing_unit, config.unit_of_measure, start, end, config.run_id,
                             price.name)
        out += _replacing(covering, record, history)
    return out


def _ended(covering: PriceRecord, start: dt.date, run_id: str) -> PriceRecord:
    if covering.valid_from == start:
        raise InputError("records in force", f"item {covering.item} was exported from {start} and has left the "
                                             "sheet: the export does not delete records; remove it in the ERP")
    return replace(covering, action="end", valid_to=start - dt.timedelta(days=1), run_id=run_id)


def _replacing(covering: PriceRecord | None, record: PriceRecord, history: list[PriceRecord]) -> list[PriceRecord]:
    """What puts ``record``'s price in force, given the record ``covering`` its first day."""
    start = record.valid_from
    if covering is None:
        continued = any(r.last_day == start - dt.timedelta(days=1) for r in history)
        return [replace(record, action="update" if continued else "create")]
    if covering.amount == record.amount:
        if covering.valid_to is None or (record.valid_to is not None and covering.valid_to >= record.valid_to):
            return []  # the record in force already says this
        return [replace(covering, action="update", valid_to=record.valid_to, run_id=record.run_id)]
    if covering.valid_from == start:
        return [replace(record, action="update")]  # the same period again, with a new approved price
    return [_ended(covering, start, record.run_id), replace(record, action="update")]


def apply(ledger: Sequence[PriceRecord], records: Sequence[PriceRecord]) -> list[PriceRecord]:
    """Play ``records`` onto ``ledger`` (records identified by key and first day); the result,
    sorted. Raises ``ValueError`` on a record that cannot apply or an overlap it would make."""
    state = {(r.key, r.valid_from): r for r in ledger}
    for r in records:
        ident = (r.key, r.valid_from)
        if r.action not in ACTIONS:
            raise ValueError(f"unknown action {r.action!r}")
        if r.action == "create" and ident in state:
            raise ValueError(f"create of {r.item} from {r.valid_from}: that record exists already")
        if r.action == "end":
            if ident not in state:
                raise ValueError(f"end of {r.item} from {r.valid_from}: no such record")
            if r.last_day < r.valid_from:
                raise ValueError(f"end of {r.item}: it would end before it starts")
        state[ident] = r
    result = sorted(state.values(), key=lambda r: (r.key, r.valid_from))
    check_no_overlap(result, source="records after the export")
    return result


def check_no_overlap(records: Sequence[PriceRecord], source: str = "records") -> None:
    """Raise :class:`InputError` naming the first two records of one key whose days overlap."""
    ordered = sorted(records, key=lambda r: (r.key, r.valid_from))
    for a, b in zip(ordered, ordered[1:]):
        if a.key == b.key and b.valid_from <= a.last_day:
            raise InputError(source, f"two records of item {a.item} overlap: {a.valid_from} to {a.last_day} "
                                     f"and {b.valid_from} to {b.last_day}")


def records_csv(records: Sequence[PriceRecord]) -> str:
    """The canonical layout (:data:`RECORD_COLUMNS`): plain decimal amounts, ISO 8601 dates, an
    open end written as 9999-12-31, formula-safe text, ``\\n`` line ends. Same records, same text."""
    return csv_text(RECORD_COLUMNS, [
        (r.action, r.price_list, r.market, r.item, r.description, format(r.amount, "f"), r.currency,
         str(r.pricing_unit), r.unit_of_measure, r.valid_from.isoformat(), r.last_day.isoformat(), r.run_id)
        for r in records
    ])


def csv_text(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """CSV text with a header; every cell formula-safe text with one kind of line break; ``\n``
    line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([neutralize_formula(str(cell).replace("\r\n", "\n").replace("\r", "\n")) for cell in row])
    return buffer.getvalue()


def read_records(path: Path) -> list[PriceRecord]:
    """Records in the canonical layout (the ``*.in_force.csv`` an export writes, or an export
    in the ``csv`` format); :class:`InputError` naming the file, row and column on a bad cell."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, UnicodeDecodeError) as exc:
        raise InputError(path.name, f"cannot be read as UTF-8 text ({exc.__class__.__name__})") from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in RECORD_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InputError(path.name, f"missing columns {', '.join(missing)}", row=1)
    return [_record_of(row, path.name, n) for n, row in enumerate(reader, start=2)]


def _record_of(row: dict[str, str], source: str, n: int) -> PriceRecord:
    def day(column: str) -> dt.date:
        try:
            return dt.date.fromisoformat(row[column])
        except (TypeError, ValueError):
            raise InputError(source, f"must be a date YYYY-MM-DD, got {row[column]!r}", row=n, column=column) from None

    if row["action"] not in ACTIONS:
        raise InputError(source, f"must be one of {', '.join(ACTIONS)}, got {row['action']!r}", row=n, column="action")
    start, last = day("valid_from"), day("valid_to")
    if last < start:
        raise InputError(source, f"ends before it starts ({row['valid_from']})", row=n, column="valid_to")
    try:
        unit = int(row["pricing_unit"])
    except ValueError:
        raise InputError(source, f"must be a whole number, got {row['pricing_unit']!r}", row=n,
                         column="pricing_unit") from None
    return PriceRecord(row["action"], row["price_list"], row["market"], row["item"],
                       money(row["amount"], row["currency"], source, n), row["currency"], unit,
                       row["unit_of_measure"], start, None if last == OPEN_END else last, row["run_id"],
                       row["description"].removeprefix("'"))
