"""The backtest page: does dynamic pricing pay? Shows a backtest written by
``python -m pricing backtest`` (folder: ``$BUNDLE_PRICING_BACKTEST``, default ``backtest/``).

One function, :func:`render`, so the app's navigation can host it; run as a page script it
renders itself.
"""

from __future__ import annotations

import os

import streamlit as st

from models.errors import InputError
from pages.common import require_page
from pricing.access import Permission
from pricing.app.backtest_view import policy_summary, read_backtest

BACKTEST_ENV = "BUNDLE_PRICING_BACKTEST"

_MONEY = st.column_config.NumberColumn(format="%,.0f")
_PCT = st.column_config.NumberColumn(format="%.2f")


def render() -> None:
    """Show the policies' summary, regret and coefficient error of one backtest folder."""
    require_page(Permission.READ)
    st.title("Backtest")
    st.caption("Does dynamic pricing pay? The monthly loop against an oracle that knows the true demand.")
    # The folder is the server's setting, not a box on the page: a signed-in user must not point
    # the server at any folder it can read.
    folder = os.environ.get(BACKTEST_ENV, "backtest")
    try:
        view = read_backtest(folder)
    except (InputError, OSError) as exc:
        st.info(f"No backtest to show: {exc}")
        return
    meta = view.meta
    st.caption(f"{meta.get('months')} simulated months from {meta.get('first_month')}, seed {meta.get('seed')}, "
               f"markets {', '.join(meta.get('markets', []))}; margins are true expected incremental margins "
               "under the simulator's true demand model.")
    summary = policy_summary(view.monthly)
    st.dataframe(summary, hide_index=True, width="stretch", column_config={
        "true expected margin, CNY": _MONEY, "realised margin, CNY": _MONEY, "regret, CNY": _MONEY,
        "% of oracle": _PCT, "vs static, %": _PCT})
    st.image(view.regret_png, caption="Regret by month and cumulative share of the oracle's margin")
    st.image(view.coefficient_png, caption="Each policy's fitted coefficients against the truth")
    with st.expander("Every figure by policy and month (backtest.csv)"):
        st.dataframe(view.monthly, hide_index=True, width="stretch")


if __name__ == "__main__":
    render()
