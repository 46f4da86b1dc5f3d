"""The monthly run an analyst schedules: one month, every market, resumable, locked, versioned.

Owns the month's inputs and their hashes (``inputs``), the drift check (``drift``), one market as an
independent task (``market``), run folders with lock, revisions and manifest (``store``), the run
itself (``run``: refit, drift, fan-out on Dask, workbook, exit code), the month's finance pack
(``workbook``) and finance's decisions market by market (``review``). May import ``pricing.runs``
(``refit``, ``cluster``), ``pricing.access``, ``pricing.files``, ``pricing.optimizer``,
``pricing.domain`` and ``models``; never the app, the command line or Streamlit.
"""

__all__: list[str] = []
