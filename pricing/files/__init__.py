"""The files people exchange, written safely: price sheets (``sheet``), run records (``run_record``),
sets of files published in one atomic step and checked by their manifest (``atomic``) and cells
no spreadsheet runs as formulas (``cells``).

Input readers live beside the object they build (``pricing.domain``); this package writes what a
solve produced. May import ``pricing.optimizer``, ``pricing.domain`` and ``models``.
"""

from pricing.files.atomic import (
    MANIFEST, OutputsIncomplete, clear_leftovers, dump_json, publish_files, verify_outputs, write_outputs,
)
from pricing.files.cells import neutralize_formula
from pricing.files.run_record import OUTPUT_FILES, format_summary, offer_warnings, run_record, summary, write_run
from pricing.files.sheet import PriceSheet

__all__ = ["dump_json", "write_outputs", "publish_files", "verify_outputs", "clear_leftovers", "MANIFEST",
           "OutputsIncomplete", "neutralize_formula", "OUTPUT_FILES", "format_summary", "offer_warnings",
           "run_record", "summary", "write_run", "PriceSheet"]
