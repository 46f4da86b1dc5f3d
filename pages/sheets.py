"""The sheets page (everyone signed in): the last approved sheet and who approved it, and every
saved scenario's sheet, to read and download."""

from __future__ import annotations

import streamlit as st

from pages.common import data_dir, require_page, store
from pricing.access import Permission
from pricing.app.scenarios import read_sheet


_MONEY = {c: st.column_config.NumberColumn(label, format="%,.0f") for c, label in (
    ("list_total", "list total"), ("price", "price CNY"), ("unit_cost_total", "unit cost"), ("unit_margin", "unit margin"),
    ("incremental_margin", "incremental margin"), ("expected_units", "units/month"),
    ("expected_margin", "margin CNY/month"), ("last_price", "last price"))}
# The sheet's *_pct columns are in percent and take_rate is a share of buyers, as the CLI writes them.
COLUMNS = {"bundle_id": "bundle", "name": st.column_config.TextColumn("products", width="medium"),
           "skus": st.column_config.TextColumn("SKUs", width="medium"), **_MONEY,
           "discount_pct": st.column_config.NumberColumn("discount", format="%.2f%%"),
           "margin_pct": st.column_config.NumberColumn("margin", format="%.2f%%"),
           "take_rate": st.column_config.NumberColumn("take rate (share)", format="%.4f"),
           "elasticity": st.column_config.NumberColumn("own elasticity", format="%.2f"),
           "change_pct": st.column_config.NumberColumn("change", format="%+.2f%%")}


def show_sheet(frame) -> None:
    st.dataframe(frame, hide_index=True, width="stretch", column_config=COLUMNS)


def render() -> None:
    require_page(Permission.READ)
    st.title("Price sheets")
    scenarios = store()
    last = scenarios.last_approved()
    path = data_dir() / "last_sheet.csv"
    st.subheader("Last approved sheet")
    if last is not None:
        st.markdown(f"**{last.subject}**, approved by {last.actor} ({last.actor_role}) at "
                    f"{last.decided_at[:19].replace('T', ' ')} UTC: “{last.comment}”")
    if path.is_file():
        text = path.read_text(encoding="utf-8")
        show_sheet(read_sheet(text))
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
    show_sheet(scenario.sheet)
    st.download_button(f"{name} (.csv)", scenario.sheet_csv.encode("utf-8"), f"{name}.csv", "text/csv", key="dl_pick")


if __name__ == "__main__":
    render()
