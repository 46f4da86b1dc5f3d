"""The review page (finance): a saved result against the last approved sheet, the house rules
flagged, approve or reject as the signed-in reviewer, the decisions, and whether the trail holds."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from models.errors import InputError
from pages.common import base_problem, require_page, sentence, store
from pricing.access import AccessDenied, ChainReport, Identity, Permission, verify
from pricing.app import review_table
from pricing.app.scenarios import Scenario, ScenarioStore
from pricing.domain.problem import Problem

_ORDER = ["bundle_id", "flags", "price", "last_approved", "change_pct", "unit_cost_total", "unit_margin",
          "margin_pct", "discount_pct", "name", "skus"]


def trail_status(report: ChainReport) -> None:
    if report.intact:
        st.success(f"Audit trail intact: {report.entries} entries, each sealed with the hash of the one before "
                   f"(head #{report.head_seq} {report.head_hash[:16]}…).")
    else:
        st.error(f"Audit trail BROKEN at entry {report.broken_seq}: {report.problem}. Decisions are paused until "
                 "an admin has looked (python -m pricing audit verify).")


def review_rows(scenario: Scenario, base: Problem) -> None:
    rows = review_table(scenario.sheet, base.last_prices, base.settings)
    flagged = int(rows["flagged"].sum())
    if flagged:
        st.warning(f"{flagged} bundle(s) break a house rule or move beyond the ±{base.settings.max_change:.0%} "
                   "stability limit: see the flags column.")
    else:
        st.success("Every bundle follows the house rules and the stability limit.")
    styled = rows[_ORDER].style.apply(
        lambda r: ["background-color: #fde2e1" if rows.loc[r.name, "flagged"] else ""] * len(r), axis=1)
    st.dataframe(styled, hide_index=True, width="stretch", column_config={
        "bundle_id": "bundle", "flags": st.column_config.TextColumn("flags", width="medium"),
        "price": st.column_config.NumberColumn("price CNY", format="%,.0f"),
        "last_approved": st.column_config.NumberColumn("last approved", format="%,.0f"),
        "change_pct": st.column_config.NumberColumn("change", format="%+.2f%%"),
        "unit_cost_total": st.column_config.NumberColumn("unit cost", format="%,.0f"),
        "unit_margin": st.column_config.NumberColumn("unit margin", format="%,.0f"),
        "margin_pct": st.column_config.NumberColumn("margin", format="%.2f%%"),
        "discount_pct": st.column_config.NumberColumn("discount", format="%.2f%%"),
        "name": st.column_config.TextColumn("products", width="medium"), "skus": "SKUs"})


def decide_form(scenarios: ScenarioStore, scenario: Scenario, identity: Identity, folder, paused: bool) -> None:
    own = scenario.saved_by == identity.username
    if own:
        st.info("You saved this scenario: four eyes, so another finance reviewer must approve it.")
    with st.form("decide", clear_on_submit=True):  # a comment is never carried over to the next decision
        st.markdown(f"Deciding as **{identity.label}**")
        comment = st.text_area("Why (required)", key="comment")
        approve, reject = st.columns(2)
        approved = approve.form_submit_button("Approve", type="primary", disabled=paused or own)
        rejected = reject.form_submit_button("Reject", disabled=paused)
    if not (approved or rejected):
        return
    try:
        decision = scenarios.decide(scenario.name, "approved" if approved else "rejected", identity, comment, folder,
                                    scenario.sheet_sha256)
    except (InputError, AccessDenied) as exc:
        st.error(sentence(exc))
        return
    if decision.publish_error:
        st.warning(decision.publish_error)
    st.session_state.decided = (f"Approved {scenario.name!r}: {decision.written_to} is now the last approved sheet."
                                if approved else f"Rejected {scenario.name!r}; recorded.")
    st.rerun()  # reload the data: the new sheet moves the stability band


def history_table(scenarios: ScenarioStore) -> None:
    st.subheader("Decisions")
    history = scenarios.history()
    if not history:
        st.caption("No decision yet.")
        return
    st.dataframe(pd.DataFrame([{
        "scenario": d.subject, "decision": d.decision, "by": d.actor, "role": d.actor_role, "saved by": d.saved_by,
        "comment": d.comment, "decided at (UTC)": d.decided_at[:19].replace("T", " "), "trail entry": d.audit_seq,
    } for d in history]), hide_index=True, width="stretch")


def render() -> None:
    identity = require_page(Permission.DECIDE)
    st.title("Review & approve")
    folder, _, base = base_problem()
    scenarios = store()
    report = verify(scenarios.folder)
    trail_status(report)
    done = st.session_state.pop("decided", None)
    if done:
        st.success(done)
    last = scenarios.last_approved()
    if last is not None:
        st.markdown(f"Last approved: **{last.subject}** by {last.actor} ({last.actor_role}) at "
                    f"{last.decided_at[:19].replace('T', ' ')} UTC: “{last.comment}”")
    names = scenarios.names()
    if not names:
        st.info("No saved scenario to review yet.")
    else:
        name = st.selectbox("Saved result to review", names, key="review_pick")
        scenario = scenarios.load(name)
        st.caption(f"Saved by {scenario.saved_by or 'unknown (saved before sign-in)'} at "
                   f"{scenario.created_at[:19].replace('T', ' ')} UTC.")
        review_rows(scenario, base)
        decide_form(scenarios, scenario, identity, folder, paused=not report.intact)
    history_table(scenarios)


if __name__ == "__main__":
    render()
