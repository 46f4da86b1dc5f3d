"""The app's goals and offer-rules panel: controls, the goals of a result, and the goal sweep.

Self-contained Streamlit functions, hooked into ``app.py`` in three places (the controls form,
the what-if page, the trade-off page); the logic lives in ``pricing.app.whatif``.
"""

from __future__ import annotations

from typing import Any, Callable

import pandas as pd
import streamlit as st

from models.errors import InputError
from pages import progress
from pricing.app.jobs import Job, SolveFailed
from pricing.app.whatif import GOAL_SWEEPS, goal_tradeoff_curve
from pricing.domain.settings import Settings

__all__ = ["controls", "render", "sweep"]


def _optional(label: str, value: float | None, default: float, low: float, high: float, step: float, key: str):
    """A checkbox turning a setting on, and its value; ``None`` when off."""
    on = st.checkbox(label, value=value is not None, key=f"{key}_on")
    number = st.number_input(f"{label}: value", float(low), float(high), float(default if value is None else value),
                             float(step), key=key)
    return number if on else None


def controls(s: Settings) -> dict[str, Any]:
    """Widgets for the offer rules and the goals (call inside the controls form)."""
    with st.expander("Offer rules and goals"):
        per_sku = _optional("Bundles per SKU, at most", s.max_bundles_per_sku, 2, 1, 8, 1, "rule_sku")
        shared = _optional("SKUs two bundles may share, at most", s.max_shared_skus, 1, 0, 4, 1, "rule_shared")
        gap = _optional("Price gap between bundles (%)", None if s.min_price_gap is None else 100 * s.min_price_gap,
                        5, 0, 50, 1, "rule_gap")
        points = _optional("IoT margin rate: change at least (points)", s.margin_rate_points, 0, -20, 20, 0.5,
                           "goal_points")
        devices = _optional("Devices per car buyer, at least", s.devices_per_buyer, 1.1, 0, 5, 0.01, "goal_devices")
        confidence = _optional("Confidence the goals hold (%)", None if s.target_confidence is None
                               else 100 * s.target_confidence, 90, 50, 99, 1, "goal_confidence")
    return dict(max_bundles_per_sku=None if per_sku is None else int(per_sku),
                max_shared_skus=None if shared is None else int(shared),
                min_price_gap=None if gap is None else gap / 100, margin_rate_points=points,
                devices_per_buyer=devices, target_confidence=None if confidence is None else confidence / 100)


def render(goals: dict[str, Any]) -> None:
    """The goals of a result: required, reached, binding, and the probability each holds."""
    labels = {"attach_rate": ("Attach rate", "{:.2%}"), "margin_rate_points": ("IoT margin rate change (points)", "{:+.2f}"),
              "devices_per_buyer": ("Devices per car buyer", "{:.3f}")}
    rows = []
    for name, body in goals.items():
        if not isinstance(body, dict):
            continue
        label, fmt = labels.get(name, (name, "{:g}"))
        shown = {k: (fmt.format(body[k]) if isinstance(body.get(k), (int, float)) else "") for k in ("required", "reached")}
        probability = body.get("probability_met")
        rows.append({"goal": label, "required": shown["required"], "reached": shown["reached"],
                     "binds": "yes" if body.get("binds") else "no",
                     "probability met": "" if probability is None else f"{probability:.1%}"})
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    if "prob_target_met" in goals:
        st.caption(f"Every goal met together in {goals['prob_target_met']:.1%} of "
                   f"{goals.get('probability_draws', 0):,} fresh draws of the fitted coefficients.")


def sweep(submit: Callable[[str, float], Job]) -> None:
    """Margin against one goal's required level: ``submit(goal, level)`` queues that what-if; the
    levels solve in parallel on the workers and the table is drawn when the last is in."""
    state = st.session_state
    goal = st.selectbox("Sweep margin against", list(GOAL_SWEEPS), format_func=lambda g: GOAL_SWEEPS[g][0],
                        key="goal_sweep_goal")
    text = st.text_input(f"Levels ({GOAL_SWEEPS[goal][1]}, comma-separated)", "-2,-1,0,1,2,3", key="goal_sweep_levels")
    if st.button("Sweep", key="goal_sweep_run"):
        try:
            levels = [float(x) for x in text.split(",") if x.strip()]
        except ValueError:
            st.error(f"Levels must be numbers separated by commas, got {text!r}")
            return
        try:
            state.goal_sweep = (goal, levels, [submit(goal, level) for level in levels])
        except InputError as exc:
            st.error(f"Bad input: {exc}")
            return
        except SolveFailed as exc:
            st.error(str(exc))
            return
    pending = state.get("goal_sweep")
    if pending is not None:
        goal, levels, jobs = pending
        if not all(job.over for job in jobs):
            progress.watch(jobs, "The sweep")
            return
        state.goal_sweep = None
        try:
            state.goal_curve = goal_tradeoff_curve(goal, levels, lambda _, level: jobs[levels.index(level)].answer())
        except SolveFailed as exc:
            st.error(str(exc))
    frame = state.get("goal_curve")
    if frame is not None:
        st.line_chart(frame[frame["reachable"]], x="required", y="margin")
        st.dataframe(frame, hide_index=True, width="stretch")
