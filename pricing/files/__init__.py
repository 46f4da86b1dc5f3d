"""The files people exchange, written safely: price sheets (``sheet``), run records (``run_record``),
approvals as files (``approval``), sets of files published in one atomic step and checked by their
manifest (``atomic``), cells no spreadsheet runs as formulas (``cells``), and two subpackages: the
finance pack finance signs (``finance/``) and the ERP export of approved prices (``erp/``).

Input readers live beside the object they build (``pricing.domain``); this package writes what a
solve produced. May import ``pricing.optimizer``, ``pricing.domain`` and ``models``.
"""

from models.exports import lazy_exports

# Each public name and the module it comes from, loaded on first use.
_WHERE = {
    "ApprovalState": "pricing.files.approval",
    "approval_of": "pricing.files.approval",
    "write_approval": "pricing.files.approval",
    "MANIFEST": "pricing.files.atomic",
    "OutputsIncomplete": "pricing.files.atomic",
    "clear_leftovers": "pricing.files.atomic",
    "dump_json": "pricing.files.atomic",
    "publish_files": "pricing.files.atomic",
    "verify_outputs": "pricing.files.atomic",
    "write_outputs": "pricing.files.atomic",
    "neutralize_formula": "pricing.files.cells",
    "ApprovedPrice": "pricing.files.erp.records",
    "ExportConfig": "pricing.files.erp.records",
    "PriceRecord": "pricing.files.erp.records",
    "apply": "pricing.files.erp.records",
    "bundle_item": "pricing.files.erp.records",
    "plan": "pricing.files.erp.records",
    "read_records": "pricing.files.erp.records",
    "FORMATS": "pricing.files.erp.formats",
    "components_csv": "pricing.files.erp.formats",
    "render": "pricing.files.erp.formats",
    "MarketResult": "pricing.files.finance.rows",
    "PriceInForce": "pricing.files.finance.rows",
    "RunInfo": "pricing.files.finance.rows",
    "run_identifier": "pricing.files.finance.rows",
    "OUTPUT_FILES": "pricing.files.run_record",
    "format_summary": "pricing.files.run_record",
    "offer_warnings": "pricing.files.run_record",
    "run_record": "pricing.files.run_record",
    "summary": "pricing.files.run_record",
    "write_run": "pricing.files.run_record",
    "write_workbook": "pricing.files.run_record",
    "PriceSheet": "pricing.files.sheet",
    "write_finance_workbook": "pricing.files.finance.workbook",
}

__all__ = ["dump_json", "write_outputs", "publish_files", "verify_outputs", "clear_leftovers", "MANIFEST",
           "OutputsIncomplete", "neutralize_formula", "OUTPUT_FILES", "format_summary", "offer_warnings",
           "run_record", "summary", "write_run", "write_workbook", "PriceSheet", "ApprovalState", "approval_of",
           "write_approval", "ApprovedPrice", "ExportConfig", "PriceRecord", "apply", "bundle_item", "plan",
           "read_records", "FORMATS", "components_csv", "render", "MarketResult", "PriceInForce", "RunInfo",
           "run_identifier", "write_finance_workbook"]

__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
