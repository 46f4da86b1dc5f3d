"""Runs over many markets and months: the monthly run (``monthly/``) and the backtest of the monthly
loop (``backtest/``), with what both share: the refit behind ``python -m pricing fit`` (``refit``)
and the Dask client the monthly fan-out and the app's solves use (``cluster``).

May import ``models``, ``pricing.domain``, ``pricing.optimizer``, ``pricing.files`` and
``pricing.access``; never ``pricing.app``, ``pricing.cli`` or Streamlit. Import the subpackages
directly (``pricing.runs.monthly.run``, ``pricing.runs.backtest``); nothing heavy loads here.
"""

__all__: list[str] = []
