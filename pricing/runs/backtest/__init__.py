"""The backtest of the monthly loop on a simulated market, against an oracle.

Owns the policies and the month-by-month loop (``loop``: fit on the history so far, optimize every
market, offer, observe, append; ``solve_offer`` is the pure per-market solve), its inputs
(``inputs``), its figures (``metrics``: regret, share of the oracle, churn, coefficient error) and
its files and pictures (``output``, which loads matplotlib and so is not imported here). May import
``pricing.runs`` (``refit``), ``pricing.files``, ``pricing.optimizer``, ``pricing.domain`` and
``models``; never the app, the command line or Streamlit.
"""

from pricing.runs.backtest.inputs import BacktestInputs
from pricing.runs.backtest.loop import POLICIES, BacktestConfig, BacktestResult, Decision, run_backtest, solve_offer

__all__ = ["POLICIES", "BacktestConfig", "BacktestResult", "Decision", "run_backtest", "solve_offer",
           "BacktestInputs"]
