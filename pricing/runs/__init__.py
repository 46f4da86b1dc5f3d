"""Runs over many markets and months: the backtest of the monthly loop on a simulated market.

Owns the backtest (``backtest``: policies, the month-by-month loop, the pure per-market solve
``solve_offer``), its inputs (``backtest_inputs``), figures (``backtest_metrics``) and files and
pictures (``backtest_output``). May import ``pricing.access``, ``pricing.files``,
``pricing.optimizer``, ``pricing.domain`` and ``models``; never the app, the command line or
Streamlit.

``backtest_output`` is not imported here: it loads matplotlib, which only the writers need.
"""

from pricing.runs.backtest import POLICIES, BacktestConfig, BacktestResult, Decision, run_backtest, solve_offer
from pricing.runs.backtest_inputs import BacktestInputs

__all__ = ["POLICIES", "BacktestConfig", "BacktestResult", "Decision", "run_backtest", "solve_offer",
           "BacktestInputs"]
