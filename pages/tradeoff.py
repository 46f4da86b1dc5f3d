"""The trade-off page (pricing managers): best expected margin against the attach target."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from pages import goals as goal_panel
from pages.common import base_problem, pct, require_page, solve
from pricing.access import Permission
from pricing.app import WhatIfRun, target_grid, tradeoff_curve


def sweep(whatif, base, base_key, targets: list[float]) -> pd.DataFrame:
    """The curve over ``targets``, every point a full solve (cached), with a progress bar."""
    bar = st.progress(0.0, "Sweeping the target…")

    def one(target: float):
        outcome = solve(base, base_key, whatif.replace(attach_rate=target), st.session_state.good_catalog)
        if outcome.unreachable is not None:
            raise outcome.unreachable
        return outcome.result

    def progress(i: int, target: float) -> None:
        bar.progress(i / len(targets), f"Target {pct(target)} ({i + 1} of {len(targets)})")

    frame = tradeoff_curve(targets, one, progress)
    bar.empty()
    return frame


def draw(swept, frame: pd.DataFrame) -> None:
    plot = frame.assign(target_pct=100 * frame["target"])
    line = alt.Chart(plot[plot["reachable"]]).mark_line(point=True).encode(
        x=alt.X("target_pct:Q", title="attach-rate target (%)"),
        y=alt.Y("margin:Q", title="expected incremental IoT margin (CNY/month)"),
        tooltip=["target_pct", "margin", "attach_rate", "note"],
    )
    marker = alt.Chart(pd.DataFrame({"x": [100 * swept.attach_rate]})).mark_rule(color="red", strokeDash=[4, 4]).encode(x="x:Q")
    st.altair_chart(line + marker, width="stretch")
    st.caption(f"Red dashed line: the current target, {pct(swept.attach_rate)}.")
    percent = frame.assign(**{c: 100 * frame[c] for c in ("target", "attach_rate", "margin_rate")})
    st.dataframe(percent, hide_index=True, width="stretch", column_config={
        "target": st.column_config.NumberColumn("target", format="%.2f%%"),
        "attach_rate": st.column_config.NumberColumn("attach rate", format="%.2f%%"),
        "margin": st.column_config.NumberColumn("margin CNY/month", format="%,.0f"),
        "margin_rate": st.column_config.NumberColumn("IoT margin rate", format="%.2f%%"),
        "proven_optimal": "proven optimal"})


def render() -> None:
    require_page(Permission.WHATIF)
    st.title("Trade-off curve")
    state = st.session_state
    good: WhatIfRun | None = state.get("good")
    if good is None:
        st.info("Run a what-if first (What-if page): the curve sweeps the attach target with its other controls.")
        return
    _, base_key, base = base_problem()
    whatif = good.whatif
    st.write("Best expected margin at each attach target, all other controls as in the last good run. "
             "Each point is a full, proven optimization; points already run come back at once.")
    low, high = st.slider("Targets (%)", 1.0, 40.0, (5.0, 25.0), 0.5, key="sweep_range")
    points = st.slider("Points", 3, 12, 6, key="sweep_points")
    if st.button("Draw the curve", key="sweep"):
        state.curve = (whatif, sweep(whatif, base, base_key, target_grid(low / 100, high / 100, points,
                                                                          whatif.attach_rate)))
    curve = state.get("curve")
    if curve is not None:
        swept, frame = curve
        if swept != whatif:
            st.caption("The curve below was drawn for earlier controls; draw it again to update.")
        draw(swept, frame)
    st.subheader("Margin against each goal")
    goal_panel.sweep(lambda goal, level: _solved(base, base_key, whatif.replace(**{goal: level})))


def _solved(base, base_key: tuple, whatif):
    outcome = solve(base, base_key, whatif, st.session_state.get("good_catalog"))
    if outcome.unreachable is not None:
        raise outcome.unreachable
    return outcome.result


if __name__ == "__main__":
    render()
