"""The app's library: what the Streamlit pages call, with no Streamlit in it.

Owns what-ifs (a modified problem and its solve, the trade-off curve: ``whatif``), why each bundle
is there (``explain``), side-by-side comparisons and finance's review table (``compare``), the
store of saved scenarios and decisions (``scenarios``, signed and trailed through
``pricing.access``), and the solve queue that runs what-ifs on Dask worker processes (``jobs``,
the worker's side in ``solve_task``). May import ``pricing.runs`` (the Dask client),
``pricing.access``, ``pricing.files``, ``pricing.optimizer``, ``pricing.domain`` and ``models``;
never ``streamlit``, ``pricing.cli`` or ``app.py``.
"""

from pricing.app.compare import (
    TOTALS, approved_sheet, compare_bundles, compare_totals, format_total, review_table, totals_of,
)
from pricing.app.explain import bundle_table, explain_bundles
from pricing.app.scenarios import Decision, Scenario, ScenarioStore
from pricing.app.whatif import (
    WhatIf, WhatIfRun, apply_whatif, problem_with_catalog, run_whatif, shares_from_percent, sheet_files,
    target_grid, tradeoff_curve,
)

__all__ = [
    "TOTALS", "approved_sheet", "compare_bundles", "compare_totals", "format_total", "review_table", "totals_of",
    "bundle_table", "explain_bundles", "Decision", "Scenario", "ScenarioStore",
    "WhatIf", "WhatIfRun", "apply_whatif", "problem_with_catalog", "run_whatif", "shares_from_percent",
    "sheet_files", "target_grid", "tradeoff_curve",
]
