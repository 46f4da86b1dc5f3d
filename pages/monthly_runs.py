"""Monthly runs, market by market: pick a run and a market, read its sheet, approve it.

One ``render()``; the logic is :mod:`pricing.runs.review`. Run folders: ``$BUNDLE_PRICING_RUNS``
(default ``runs/``); data folder (where an approval writes ``last_sheets/<market>.csv``):
``$BUNDLE_PRICING_DATA`` (default ``data/``).
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from pricing.domain.problem import DEFAULT_DATA
from pricing.runs.review import ApprovalError, approve_market, list_runs, load_market

RUNS_ENV = "BUNDLE_PRICING_RUNS"
DATA_ENV = "BUNDLE_PRICING_DATA"


def render() -> None:
    """The monthly-runs review: run and market pickers, the market's figures and sheet, approval."""
    runs_dir = Path(os.environ.get(RUNS_ENV) or "runs")
    data_dir = Path(os.environ.get(DATA_ENV) or DEFAULT_DATA)
    st.subheader("Monthly runs: review and approve market by market")
    runs = list_runs(runs_dir)
    if not runs:
        st.info(f"No monthly runs in {runs_dir}. The analyst's `python -m pricing monthly --month YYYY-MM` writes them.")
        return
    run = runs[st.selectbox("Run", range(len(runs)), format_func=lambda k: runs[k].label, key="monthly_run")]
    markets = list(run.markets)
    market = st.selectbox("Market", markets, key="monthly_market",
                          format_func=lambda m: f"{m} ({run.markets[m]}{', approved' if m in run.approved else ''})")
    try:
        result = load_market(run.folder, market)
    except FileNotFoundError:
        st.warning(f"{market} has no folder in this run (it failed; the next monthly run retries it).")
        return
    st.write(result.record.get("message", ""))
    if result.sheet is None:
        return
    cols = st.columns(4)
    cols[0].metric("Attach rate", f"{result.run.get('attach_rate', 0):.2%}")
    cols[1].metric("Incremental margin (CNY/month)", f"{result.run.get('margin', 0):,.0f}")
    cols[2].metric("Car buyers", f"{result.record.get('buyers', 0):,.0f}")
    cols[3].metric("Proven optimal", "yes" if result.run.get("proven_optimal") else "no")
    st.dataframe(result.sheet, hide_index=True, width="stretch")
    if not result.intact:
        st.error("These files do not match the hashes the run recorded: they were changed after the run.")
    _approval(run.folder, market, data_dir, result.approval)


def _approval(folder: Path, market: str, data_dir: Path, approval: dict | None) -> None:
    if approval:
        st.success(f"Approved by {approval['approver']} at {approval['approved_at']}: "
                   f"it is {market}'s last approved sheet ({approval['written_to']}).")
    with st.form(f"approve_{market}"):
        approver = st.text_input("Your name", key=f"approver_{market}")
        note = st.text_input("Note (optional)", key=f"note_{market}")
        if st.form_submit_button(f"Approve {market}'s sheet"):
            try:
                path = approve_market(folder, market, data_dir, approver, note)
            except ApprovalError as exc:
                st.error(str(exc))
            else:
                st.success(f"Approved: {path} is now {market}'s last approved sheet; next month's run reads it.")


if __name__ == "__main__":  # as a page of Streamlit's own multipage app
    render()
