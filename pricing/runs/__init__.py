"""The monthly run: refit on new history, drift check, every market optimized, versioned run folders.

Owns the jobs an analyst schedules: ``refit`` (the library behind ``python -m pricing fit``),
``drift`` (last approved sheet against the take-up that arrived since), ``monthly`` (one month,
every market, resumable, locked, with a manifest), ``cluster`` (the Dask client the fan-out and
the app share) and ``review`` (listing runs and approving a market's sheet). It may import
``models``, ``pricing.domain``, ``pricing.optimizer``, ``pricing.files`` and ``pricing.access``;
never ``pricing.app``, ``pricing.cli`` or Streamlit.
"""

__all__: list[str] = []
