"""The scenarios page (pricing managers): two saved scenarios, or one against the last approved
sheet, side by side."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pages.common import MONEY, PERCENT, base_problem, require_page, store
from pricing.access import Permission
from pricing.app import approved_sheet, compare_bundles, compare_totals, format_total
from pricing.app.scenarios import ScenarioStore
from pricing.domain.problem import Problem

LAST_APPROVED = "Last approved sheet"
_TOTAL_KEYS = ("attach_rate", "margin", "total_margin", "margin_rate", "margin_rate_change_points",
               "devices_per_buyer", "bundles")


def side(scenarios: ScenarioStore, base: Problem, choice: str) -> tuple[pd.DataFrame, dict]:
    if choice == LAST_APPROVED:
        return approved_sheet(base)
    scenario = scenarios.load(choice)
    return scenario.sheet, {k: scenario.summary.get(k) for k in _TOTAL_KEYS}


def _difference(key: str, d) -> str:
    if d is None or pd.isna(d):
        return ""
    if key in ("attach_rate", "margin_rate"):
        return f"{100 * d:+.2f} pts"
    if key == "margin_rate_change_points":
        return format_total(key, d)
    return f"{d:+,.3f}" if key == "devices_per_buyer" else f"{d:+,.0f}"


def totals_table(totals_a: dict, totals_b: dict) -> None:
    totals = compare_totals(totals_a, totals_b, ("A", "B"))
    for col in ("A", "B"):
        totals[col] = [format_total(k, v) for k, v in zip(totals["key"], totals[col])]
    totals["difference"] = [_difference(k, d) for k, d in zip(totals["key"], totals["difference"])]
    st.dataframe(totals.drop(columns=["key"]), hide_index=True, width="stretch")


def bundle_by_bundle(sheet_a: pd.DataFrame, sheet_b: pd.DataFrame) -> None:
    by_bundle = compare_bundles(sheet_a, sheet_b, ("A", "B"))
    for col in ("take_rate A", "take_rate B"):
        by_bundle[col] *= 100  # shares shown as percent
    st.dataframe(by_bundle, hide_index=True, width="stretch", column_config={
        "skus": "SKUs", "name": st.column_config.TextColumn("products", width="medium"),
        "price A": MONEY, "price B": MONEY, "price change %": PERCENT,
        "take_rate A": st.column_config.NumberColumn("take rate A", format="%.2f%%"),
        "take_rate B": st.column_config.NumberColumn("take rate B", format="%.2f%%"),
        "expected_margin A": st.column_config.NumberColumn("margin CNY/month A", format="%,.0f"),
        "expected_margin B": st.column_config.NumberColumn("margin CNY/month B", format="%,.0f")})


def render() -> None:
    require_page(Permission.WHATIF)
    st.title("Scenarios")
    scenarios = store()
    names = scenarios.names()
    st.write(f"Saved scenarios are kept in `{scenarios.path}`.")
    if not names:
        st.info("No saved scenario yet: run a what-if and save it on the What-if page.")
        return
    _, _, base = base_problem()
    left, right = st.columns(2)
    a = left.selectbox("Scenario A", names, key="cmp_a")
    b = right.selectbox("Compare with", [LAST_APPROVED] + names, key="cmp_b")
    sheet_a, totals_a = side(scenarios, base, a)
    sheet_b, totals_b = side(scenarios, base, b)
    st.caption(f"A = {a}; B = {b}" + (" (re-read with today's catalog and model; bundles with SKUs no longer active "
                                          "left out)" if b == LAST_APPROVED else ""))
    st.subheader("Totals")
    totals_table(totals_a, totals_b)
    st.subheader("Bundle by bundle")
    bundle_by_bundle(sheet_a, sheet_b)


if __name__ == "__main__":
    render()
