"""The ERP export's file formats: the canonical CSV, SAP condition records, Odoo price-list items
and Dynamics 365 trade-agreement journal lines, and the bundles' components file.

Every profile is plain CSV (UTF-8, comma, ``\\n``), rows in a fixed order, amounts as plain
decimals with the currency's decimals, so the same records always give the same bytes; text
cells are formula-safe. The columns each system expects, and where they come from, are in
``docs/export.md`` (written from the systems' documentation, not checked against live systems).
"""

from __future__ import annotations

import re
from typing import Callable, Sequence

from pricing.files.erp.records import ApprovedPrice, ExportConfig, PriceRecord, csv_text, records_csv

__all__ = ["FORMATS", "SAP_COLUMNS", "ODOO_COLUMNS", "D365_COLUMNS", "COMPONENT_COLUMNS", "render",
           "components_csv"]

SAP_COLUMNS = ("ACTION", "KSCHL", "VKORG", "VTWEG", "MATNR", "KBETR", "KONWA", "KPEIN", "KMEIN", "DATAB", "DATBI",
               "RUN_ID")
ODOO_COLUMNS = ("id", "pricelist_id", "applied_on", "product_tmpl_id", "compute_price", "fixed_price",
                "min_quantity", "date_start", "date_end")
D365_COLUMNS = ("JournalNum", "LineNum", "Relation", "AccountCode", "AccountRelation", "ItemCode", "ItemRelation",
                "UnitId", "Currency", "Amount", "PriceUnit", "QuantityAmountFrom", "QuantityAmountTo", "FromDate",
                "ToDate", "SearchAgain", "Action", "RunId")
COMPONENT_COLUMNS = ("item", "description", "component_sku", "quantity", "unit_of_measure", "price_list", "market",
                     "run_id")


def _amount(record: PriceRecord) -> str:
    return format(record.amount, "f")  # plain decimal point, never an exponent


def _sap(records: Sequence[PriceRecord], config: ExportConfig) -> str:
    # SAP dates in the internal DATS form YYYYMMDD (ISO 8601 basic); 99991231 is SAP's open end.
    return csv_text(SAP_COLUMNS, [
        (r.action, config.sap_condition_type, config.sap_sales_org, config.sap_distribution_channel, r.item,
         _amount(r), r.currency, str(r.pricing_unit), r.unit_of_measure, r.valid_from.strftime("%Y%m%d"),
         r.last_day.strftime("%Y%m%d"), r.run_id)
        for r in records
    ])


def _external_id(record: PriceRecord) -> str:
    # One external id per record (key and first day): an "end" line updates the row its "create"
    # or "update" line made, which is how Odoo's import changes existing records.
    raw = f"{record.price_list}_{record.market}_{record.item}_{record.valid_from:%Y%m%d}"
    return "bundle_pricing.price_" + re.sub(r"[^a-z0-9_]", "_", raw.lower())


def _odoo(records: Sequence[PriceRecord], config: ExportConfig) -> str:
    return csv_text(ODOO_COLUMNS, [
        (_external_id(r), r.price_list, "1_product", r.item, "fixed", _amount(r), str(r.pricing_unit),
         r.valid_from.isoformat(), "" if r.valid_to is None else r.valid_to.isoformat())
        for r in records
    ])


def _d365(records: Sequence[PriceRecord], config: ExportConfig) -> str:
    return csv_text(D365_COLUMNS, [
        (config.d365_journal, str(n), "Price (sales)", "All", "", "Table", r.item, r.unit_of_measure, r.currency,
         _amount(r), str(r.pricing_unit), "0", "0", r.valid_from.isoformat(),
         "" if r.valid_to is None else r.valid_to.isoformat(), "Yes", r.action, r.run_id)
        for n, r in enumerate(records, start=1)
    ])


FORMATS: dict[str, Callable[[Sequence[PriceRecord], ExportConfig], str]] = {
    "csv": lambda records, config: records_csv(records),
    "sap": _sap,
    "odoo": _odoo,
    "d365": _d365,
}


def render(records: Sequence[PriceRecord], config: ExportConfig, fmt: str) -> str:
    """``records`` in the format ``fmt`` (one of :data:`FORMATS`)."""
    return FORMATS[fmt](records, config)


def components_csv(prices: Sequence[ApprovedPrice], config: ExportConfig) -> str:
    """Each bundle as its own item with its component SKUs, one of each (a bundle is a set of
    distinct SKUs), sorted by item then SKU."""
    rows = [
        (p.item, p.name, sku, "1", config.unit_of_measure, config.price_list, config.market, config.run_id)
        for p in sorted(prices, key=lambda p: p.item) for sku in sorted(p.skus)
    ]
    return csv_text(COMPONENT_COLUMNS, rows)

