"""The app's pages (Streamlit shells): one script per page, run by ``st.navigation`` from ``app.py``.

Each page holds layout only and calls the library (``pricing.app``, ``pricing.access``); the helpers
every page shares (data loading and caches, the signed-in session, formats) are in ``common`` and
``session``. Pages may import anything below them; nothing imports a page except ``app.py``.
"""
