"""Runs over many markets and months: the monthly run and the backtest of the monthly loop.

Owns the jobs an analyst schedules: ``refit`` (the library behind ``python -m pricing fit``),
``drift`` (last approved sheet against the take-up that arrived since), ``monthly`` (one month,
every market, resumable, locked, with a manifest), ``cluster`` (the Dask client the fan-out and
the app share) and ``review`` (listing runs and deciding on a market's sheet); and the backtest
(``backtest``: policies, the month-by-month loop, the pure per-market solve ``solve_offer``), its
inputs (``backtest_inputs``), figures (``backtest_metrics``) and files and pictures
(``backtest_output``). It may import ``models``, ``pricing.domain``, ``pricing.optimizer``,
``pricing.files`` and ``pricing.access``; never ``pricing.app``, ``pricing.cli`` or Streamlit.

``backtest_output`` is not imported here: it loads matplotlib, which only the writers need.
"""

from pricing.runs.backtest import POLICIES, BacktestConfig, BacktestResult, Decision, run_backtest, solve_offer
from pricing.runs.backtest_inputs import BacktestInputs

__all__ = ["POLICIES", "BacktestConfig", "BacktestResult", "Decision", "run_backtest", "solve_offer",
           "BacktestInputs"]
