"""The trade-off page (pricing managers): best expected margin against the attach target.

Every point is a what-if queued with everyone else's (:mod:`pricing.app.jobs`): the points solve
in parallel on the workers, the page shows how far the sweep is and draws the curve when the
last point is in.
"""

from __future__ import annotations

from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from models.errors import InputError
from pages import goals as goal_panel
from pages import progress
from pages.common import base_problem, pct, require_page, submit
from pricing.access import Identity, Permission
from pricing.app import WhatIfRun, target_grid, tradeoff_curve
from pricing.app.jobs import SolveFailed
from pricing.domain.problem import Problem


def start_sweep(folder: Path, base: Problem, good: WhatIfRun, targets: list[float], identity: Identity) -> None:
    """Queue one what-if per target (the other controls as in the last good run)."""
    catalog = st.session_state.get("good_catalog")
    jobs = [submit(folder, base, good.whatif.replace(attach_rate=t), catalog, identity.username) for t in targets]
    st.session_state.sweep_jobs = (good.whatif, targets, jobs)
    st.session_state.curve_error = None


def finish_sweep() -> None:
    """While the sweep's points solve, their status; when all are in, the curve."""
    state = st.session_state
    pending = state.get("sweep_jobs")
    if pending is None:
        return
    whatif, targets, jobs = pending
    if not all(job.over for job in jobs):
        progress.watch(jobs, "The curve")
        return
    state.sweep_jobs = None
    by_target = dict(zip(targets, jobs))
    try:
        state.curve = (whatif, tradeoff_curve(targets, lambda target: by_target[target].answer()))
    except SolveFailed as exc:
        state.curve_error = str(exc)


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
    identity = require_page(Permission.WHATIF)
    st.title("Trade-off curve")
    state = st.session_state
    good: WhatIfRun | None = state.get("good")
    if good is None:
        st.info("Run a what-if first (What-if page): the curve sweeps the attach target with its other controls.")
        return
    folder, _, base = base_problem()
    whatif = good.whatif
    st.write("Best expected margin at each attach target, all other controls as in the last good run. "
             "Each point is a full optimization, solved in turn with everyone's what-ifs; points already "
             "proven come back at once, and a point the time limit cut short says so in its note.")
    low, high = st.slider("Targets (%)", 1.0, 40.0, (5.0, 25.0), 0.5, key="sweep_range")
    points = st.slider("Points", 3, 12, 6, key="sweep_points")
    if st.button("Draw the curve", key="sweep"):
        try:
            start_sweep(folder, base, good, target_grid(low / 100, high / 100, points, whatif.attach_rate), identity)
        except InputError as exc:
            state.curve_error = f"Bad input: {exc}"
        except SolveFailed as exc:
            state.curve_error = str(exc)
    finish_sweep()
    if state.get("curve_error"):
        st.error(state.curve_error)
    curve = state.get("curve")
    if curve is not None:
        swept, frame = curve
        if swept != whatif:
            st.caption("The curve below was drawn for earlier controls; draw it again to update.")
        draw(swept, frame)
    st.subheader("Margin against each goal")
    goal_panel.sweep(lambda goal, level: submit(folder, base, whatif.replace(**{goal: level}),
                                                state.get("good_catalog"), identity.username))


if __name__ == "__main__":
    render()
