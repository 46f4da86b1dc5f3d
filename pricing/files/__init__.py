"""The files people exchange, written safely: price sheets (``sheet``), run records (``run_record``),
approvals as files (``approval``), sets of files published in one atomic step and checked by their
manifest (``atomic``), cells no spreadsheet runs as formulas (``cells``), and two subpackages: the
finance pack finance signs (``finance/``) and the ERP export of approved prices (``erp/``).

Input readers live beside the object they build (``pricing.domain``); this package writes what a
solve produced. May import ``pricing.optimizer``, ``pricing.domain`` and ``models``.
"""

from pricing.files.approval import ApprovalState, approval_of, write_approval
from pricing.files.atomic import (
    MANIFEST, OutputsIncomplete, clear_leftovers, dump_json, publish_files, verify_outputs, write_outputs,
)
from pricing.files.cells import neutralize_formula
from pricing.files.erp.records import ApprovedPrice, ExportConfig, PriceRecord, apply, bundle_item, plan, read_records
from pricing.files.erp.formats import FORMATS, components_csv, render
from pricing.files.finance.rows import MarketResult, PriceInForce, RunInfo, run_identifier
from pricing.files.run_record import (
    OUTPUT_FILES, format_summary, offer_warnings, run_record, summary, write_run, write_workbook,
)
from pricing.files.sheet import PriceSheet
from pricing.files.finance.workbook import write_finance_workbook

__all__ = ["dump_json", "write_outputs", "publish_files", "verify_outputs", "clear_leftovers", "MANIFEST",
           "OutputsIncomplete", "neutralize_formula", "OUTPUT_FILES", "format_summary", "offer_warnings",
           "run_record", "summary", "write_run", "write_workbook", "PriceSheet", "ApprovalState", "approval_of",
           "write_approval", "ApprovedPrice", "ExportConfig", "PriceRecord", "apply", "bundle_item", "plan",
           "read_records", "FORMATS", "components_csv", "render", "MarketResult", "PriceInForce", "RunInfo",
           "run_identifier", "write_finance_workbook"]
