"""The sheets page (everyone signed in): the last approved sheet and who approved it, and every
saved scenario's sheet, to read and download."""

from __future__ import annotations

import streamlit as st

from pages.common import data_dir, require_page, store
from pricing.access import Permission
from pricing.app.scenarios import read_sheet


def render() -> None:
    require_page(Permission.READ)
    st.title("Price sheets")
    scenarios = store()
    last = scenarios.last_approved()
    path = data_dir() / "last_sheet.csv"
    st.subheader("Last approved sheet")
    if last is not None:
        st.markdown(f"**{last.subject}**, approved by {last.actor} ({last.actor_role}) at "
                    f"{last.decided_at[:19].replace('T', ' ')} UTC: {last.comment}")
    if path.is_file():
        text = path.read_text(encoding="utf-8")
        st.dataframe(read_sheet(text), hide_index=True, width="stretch")
        st.download_button("Last approved sheet (.csv)", text.encode("utf-8"), "last_sheet.csv", "text/csv",
                           key="dl_last")
    else:
        st.info("No approved sheet yet.")
    names = scenarios.names()
    st.subheader("Saved scenarios")
    if not names:
        st.caption("None saved yet.")
        return
    name = st.selectbox("Scenario", names, key="sheet_pick")
    scenario = scenarios.load(name)
    st.caption(f"Saved by {scenario.saved_by or 'unknown'} at {scenario.created_at[:19].replace('T', ' ')} UTC.")
    st.dataframe(scenario.sheet, hide_index=True, width="stretch")
    st.download_button(f"{name} (.csv)", scenario.sheet_csv.encode("utf-8"), f"{name}.csv", "text/csv", key="dl_pick")


if __name__ == "__main__":
    render()
