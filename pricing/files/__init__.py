"""The files people exchange, written safely: price sheets (``sheet``), run records (``run_record``),
the finance workbook (``workbook`` with its rows, checks, cover, appendices and styles), approvals
as files (``approval``), ERP price records and their formats (``erp``, ``erp_formats``, ``erp_run``),
sets of files published in one atomic step and checked by their manifest (``atomic``) and cells no spreadsheet runs as formulas (``cells``).

Input readers live beside the object they build (``pricing.domain``); this package writes what a
solve produced. May import ``pricing.optimizer``, ``pricing.domain`` and ``models``.
"""

from pricing.files.approval import ApprovalState, approval_of, write_approval
from pricing.files.atomic import (
    MANIFEST, OutputsIncomplete, clear_leftovers, dump_json, publish_files, verify_outputs, write_outputs,
)
from pricing.files.cells import neutralize_formula
from pricing.files.erp import ApprovedPrice, ExportConfig, PriceRecord, apply, bundle_item, plan, read_records
from pricing.files.erp_formats import FORMATS, components_csv, render
from pricing.files.finance_rows import MarketResult, PriceInForce, RunInfo, run_identifier
from pricing.files.run_record import (
    OUTPUT_FILES, format_summary, offer_warnings, run_record, summary, write_run, write_workbook,
)
from pricing.files.sheet import PriceSheet
from pricing.files.workbook import write_finance_workbook

__all__ = ["dump_json", "write_outputs", "publish_files", "verify_outputs", "clear_leftovers", "MANIFEST",
           "OutputsIncomplete", "neutralize_formula", "OUTPUT_FILES", "format_summary", "offer_warnings",
           "run_record", "summary", "write_run", "write_workbook", "PriceSheet", "ApprovalState", "approval_of",
           "write_approval", "ApprovedPrice", "ExportConfig", "PriceRecord", "apply", "bundle_item", "plan",
           "read_records", "FORMATS", "components_csv", "render", "MarketResult", "PriceInForce", "RunInfo",
           "run_identifier", "write_finance_workbook"]
