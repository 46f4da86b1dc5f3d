"""The app's entry: sign-in first, then the pages the signed-in person's role allows.

A thin shell: it checks the sign-in configuration and the session (:func:`pages.session.gate`),
then hands over to ``st.navigation`` with one page script per job under ``pages/``; each page
checks the session again itself (:func:`pages.common.require_page`). Data folder:
``$BUNDLE_PRICING_DATA`` (default ``data/``); users, scenarios, decisions and the audit trail:
``$BUNDLE_PRICING_STORE`` (default ``scenarios/``). With an ``[auth]`` section in
``.streamlit/secrets.toml`` people sign in through the company's identity provider instead of the
embedded users.
"""

from __future__ import annotations

import streamlit as st

from models.errors import InputError
from pages.common import warm_up
from pages.session import access_settings, announce_first_admin, gate, oidc_config
from pricing.access import OidcConfigError, Role, default_store_dir

_PAGE = {
    "whatif": ("pages/whatif.py", "What-if", ":material/tune:"),
    "tradeoff": ("pages/tradeoff.py", "Trade-off curve", ":material/show_chart:"),
    "scenarios": ("pages/scenarios.py", "Scenarios", ":material/compare_arrows:"),
    "review": ("pages/review.py", "Review & approve", ":material/fact_check:"),
    "users": ("pages/users.py", "Users", ":material/group:"),
    "sheets": ("pages/sheets.py", "Price sheets", ":material/table:"),
    "monthly": ("pages/monthly_runs.py", "Monthly runs", ":material/calendar_month:"),
    "backtest": ("pages/backtest.py", "Backtest", ":material/insights:"),
}
# Each role's pages, its landing page first.
ROLE_PAGES: dict[Role, tuple[str, ...]] = {
    Role.VIEWER: ("sheets", "monthly", "backtest"),
    Role.MANAGER: ("whatif", "tradeoff", "scenarios", "sheets", "monthly", "backtest"),
    Role.FINANCE: ("review", "monthly", "sheets", "backtest"),
    Role.ADMIN: ("users", "sheets", "monthly", "backtest"),
}


def main() -> None:
    st.set_page_config(page_title="SU7 bundle pricing", page_icon="🚗", layout="wide")
    try:
        oidc = oidc_config()
        access_settings()
    except (OidcConfigError, InputError) as exc:
        st.error(f"Sign-in is not configured correctly: {exc}")
        st.stop()
    if oidc is None:
        announce_first_admin(str(default_store_dir()))
    warm_up()  # the solve pool starts with the server's first page, before anyone can ask for a what-if
    session = gate()
    if session is None:
        st.navigation([st.Page("pages/signin.py", title="Sign in", url_path="signin", default=True)],
                      position="hidden").run()
    elif session.must_change_password:
        st.navigation([st.Page("pages/password.py", title="Choose your password", url_path="password",
                               default=True)], position="hidden").run()
    else:
        st.navigation([st.Page(_PAGE[name][0], title=_PAGE[name][1], icon=_PAGE[name][2], url_path=name,
                               default=i == 0)
                       for i, name in enumerate(ROLE_PAGES[session.identity.role])]).run()


# Streamlit runs this file as __main__. The solve pool's worker processes start with
# multiprocessing's "spawn", which imports the parent's __main__ again as __mp_main__: there this
# must not draw a page, nor start a pool of its own.
if __name__ == "__main__":
    main()
