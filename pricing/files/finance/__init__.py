"""The finance pack: the workbook finance reads, prints and signs (one market for ``optimize``, every
market for the monthly run).

Owns the rows a market contributes (``rows``: changes against the prices in force, rounded the way
they are shown), the thresholds and their exceptions (``checks``), and the sheets (``workbook``
with ``cover``, ``appendix`` and ``style``). May import ``pricing.files`` (cells, approval, sheet),
``pricing.optimizer``, ``pricing.domain`` and ``models``; nothing above ``pricing.files``.
"""

from pricing.files.finance.rows import MarketResult, PriceInForce, RunInfo, in_force_from_sheet, run_identifier
from pricing.files.finance.workbook import write_finance_workbook

__all__ = ["MarketResult", "PriceInForce", "RunInfo", "in_force_from_sheet", "run_identifier",
           "write_finance_workbook"]
