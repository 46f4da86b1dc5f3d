"""Approved prices as ERP price records: end-and-insert records with effective dates and no overlaps
(``records``), the SAP, Odoo and Dynamics 365 column profiles (``formats``), the checks a run folder
must pass before anything is exported (``run_checks``: approved, hashes intact) and the export of one
market's run (``export``). May import ``pricing.files`` (approval, atomic writes, cells),
``pricing.domain`` and ``models``; nothing above ``pricing.files``. ``docs/export.md`` is the contract.
"""

from pricing.files.erp.formats import FORMATS, components_csv, render
from pricing.files.erp.records import ApprovedPrice, ExportConfig, PriceRecord, apply, bundle_item, plan, read_records

__all__ = ["FORMATS", "components_csv", "render", "ApprovedPrice", "ExportConfig", "PriceRecord", "apply",
           "bundle_item", "plan", "read_records"]
