"""Monthly runs, market by market (everyone signed in): pick a run and a market, read its figures
and sheet, download the month's finance workbook; finance approves or rejects each market as the
signed-in reviewer; an approved market's sheet downloads as ERP price records.

One ``render()``; the logic is :mod:`pricing.runs.monthly.review` (decisions), :mod:`pricing.runs.monthly.workbook`
(the workbook) and :mod:`pricing.files.erp.export` (the export). Run folders:
``$BUNDLE_PRICING_RUNS`` (default ``runs/``); data folder (where an approval writes
``last_sheets/<market>.csv``): ``$BUNDLE_PRICING_DATA`` (default ``data/``).
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from models.errors import InputError
from pages.common import data_dir, require_page, sentence, store
from pages.review import trail_status
from pricing.access import AccessDenied, Approvals, Identity, Permission, verify
from pricing.files.approval import approval_of
from pricing.files.erp.export import export_run
from pricing.files.erp.formats import FORMATS
from pricing.runs.monthly.review import ApprovalError, MarketResult, RunSummary, decide_market, list_runs, load_market
from pricing.runs.monthly.workbook import month_workbook

RUNS_ENV = "BUNDLE_PRICING_RUNS"
_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@st.cache_data(show_spinner="Building the month's workbook…", max_entries=16)
def _workbook(folder: str, decisions: tuple) -> bytes | None:
    """The month's workbook, rebuilt when a market's decision changes (``decisions``)."""
    return month_workbook(Path(folder))


def _decided(run: RunSummary, market: str) -> str:
    record = run.approved.get(market)
    return f", {record['decision']}" if record and "decision" in record else ", approved" if record else ""


def render() -> None:
    identity = require_page(Permission.READ)
    st.title("Monthly runs")
    runs_dir = Path(os.environ.get(RUNS_ENV) or "runs")
    approvals = store().approvals
    runs = list_runs(runs_dir, approvals)
    if not runs:
        st.info(f"No monthly runs in {runs_dir}. The analyst's `python -m pricing monthly --month YYYY-MM` writes them.")
        return
    done = st.session_state.pop("monthly_decided", None)
    if done:
        st.success(done)
    run = runs[st.selectbox("Run", range(len(runs)), format_func=lambda k: runs[k].label, key="monthly_run")]
    for note in run.notes:
        st.warning(sentence(note))
    try:
        book = _workbook(str(run.folder), tuple(sorted((m, r.get("decided_at", "")) for m, r in run.approved.items())))
    except InputError as exc:
        st.error(f"The month's workbook cannot be built: {exc}")
        book = b""
    if book is None:
        st.info("No market of this run has a sheet, so there is no finance workbook.")
    elif book:
        st.download_button(f"Finance workbook {run.month} (.xlsx)", book, f"finance_{run.month}.xlsx", _MIME,
                           key="dl_month_workbook")
    market = st.selectbox("Market", list(run.markets), key="monthly_market",
                          format_func=lambda m: f"{m} ({run.markets[m]}{_decided(run, m)})")
    try:
        result = load_market(run.folder, market)
    except FileNotFoundError:
        st.warning(f"{market} has no folder in this run (it failed; the next monthly run retries it).")
        return
    st.write(result.record.get("message", ""))
    if result.sheet is None:
        return
    _figures(result)
    if not result.intact:
        st.error("These files do not match the hashes the run recorded: they were changed after the run.")
    _decision(run, result, identity, approvals)
    _export(result)


def _figures(result: MarketResult) -> None:
    cols = st.columns(4)
    cols[0].metric("Attach rate", f"{result.run.get('attach_rate', 0):.2%}")
    cols[1].metric("Incremental margin (CNY/month)", f"{result.run.get('margin', 0):,.0f}")
    cols[2].metric("Car buyers", f"{result.record.get('buyers', 0):,.0f}")
    cols[3].metric("Proven optimal", "yes" if result.run.get("proven_optimal") else "no")
    st.dataframe(result.sheet, hide_index=True, width="stretch")


def _decision(run: RunSummary, result: MarketResult, identity: Identity, approvals: Approvals) -> None:
    market, record = result.market, result.approval
    if record and "decision" in record:
        st.markdown(f"**{record['decision'].capitalize()}** by {record['actor']} ({record['role']}) at "
                    f"{record['decided_at'][:19].replace('T', ' ')} UTC: “{record['comment']}”"
                    + (f" It is {market}'s last approved sheet ({record['written_to']})."
                       if record.get("written_to") else ""))
    else:
        st.caption(f"{market}: not decided yet.")
    if not identity.can(Permission.DECIDE):
        return
    report = verify(approvals.folder)
    trail_status(report)
    own = bool(run.run_by) and run.run_by == identity.username
    if own:
        st.info("You ran this month: four eyes, so another finance reviewer must approve it.")
    with st.form(f"decide_{market}", clear_on_submit=True):
        st.markdown(f"Deciding on **{market}** as **{identity.label}**")
        comment = st.text_area("Why (required)", key=f"comment_{market}")
        approve, reject = st.columns(2)
        approved = approve.form_submit_button("Approve", type="primary", disabled=not report.intact or own)
        rejected = reject.form_submit_button("Reject", disabled=not report.intact)
    if not (approved or rejected):
        return
    try:
        decided = decide_market(run.folder, market, data_dir(), "approved" if approved else "rejected", identity,
                                comment, approvals, result.sheet_sha256).decision
    except (ApprovalError, InputError, AccessDenied) as exc:
        st.error(sentence(exc))
        return
    if decided.publish_error:
        st.warning(decided.publish_error)
    st.session_state.monthly_decided = (
        f"Approved {market}: {decided.written_to} is now its last approved sheet; next month's run reads it."
        if approved else f"Rejected {market}; recorded.")
    st.rerun()


def _export(result: MarketResult) -> None:
    st.subheader("ERP export")
    try:
        state = approval_of(result.folder)
    except InputError as exc:
        st.error(sentence(exc))
        return
    if not state.is_approved:
        st.caption(f"Only an approved sheet is exported ({state.state} now).")
        return
    fmt = st.selectbox("ERP format", sorted(FORMATS), key=f"erp_format_{result.market}")
    try:
        done = export_run(result.folder, fmt)
    except InputError as exc:
        st.error(sentence(exc))
        return
    counts = done.counts()
    st.caption(f"{len(done.records)} record(s) for {done.config.price_list} from {done.config.valid_from} "
               f"({counts['create']} create, {counts['update']} update, {counts['end']} end) against no records in "
               "force; with last period's records, use `python -m pricing export --in-force`.")
    stem = f"{result.market}_{fmt}"
    left, mid, right = st.columns(3)
    left.download_button(f"Records ({fmt})", done.records_text.encode("utf-8"), f"{stem}.csv", "text/csv",
                         key="dl_erp_records")
    mid.download_button("Components", done.components_text.encode("utf-8"), f"{stem}.components.csv", "text/csv",
                        key="dl_erp_components")
    right.download_button("Records in force after", done.in_force_text.encode("utf-8"), f"{stem}.in_force.csv",
                          "text/csv", key="dl_erp_in_force")


if __name__ == "__main__":
    render()
