"""The what-if page (pricing managers): the sidebar controls, the best offer for them, why each
bundle is there, the sheet's downloads, and saving the result as a scenario."""

from __future__ import annotations

import hashlib
from pathlib import Path

import streamlit as st

from models.errors import InputError
from pages import goals as goal_panel
from pages import progress
from pages.common import base_problem, pct, require_page, sentence, store, submit
from pricing.access import AccessDenied, Identity, Permission
from pricing.app import WhatIf, WhatIfRun, bundle_table, sheet_files, shares_from_percent
from pricing.app.jobs import SolveFailed, longer_limit
from pricing.domain.problem import Problem
from pricing.files.run_record import offer_warnings, summary

def controls(base: Problem) -> tuple[dict, list[float], bytes | None, bool]:
    """The sidebar form: the settings it changes, the segment mix (percent), an uploaded catalog
    and whether Run was pressed."""
    s = base.settings
    active = [sku for sku, on in zip(base.catalog.skus, base.catalog.active) if on]
    names = dict(zip(base.catalog.skus, base.catalog.names))
    ladder = sorted(s.discounts)
    with st.sidebar.form("controls"):
        st.header("What-if controls")
        target = st.slider("Attach-rate target (%)", 1.0, 40.0, 100 * s.attach_rate, 0.5, key="target")
        bundles = st.slider("Bundles offered, at most", 1, 8, s.max_bundles, key="bundles")
        sensitivity = st.slider("Price sensitivity (× every segment's price coefficient)", 0.5, 2.0, 1.0, 0.05,
                                key="sensitivity")
        cost = st.slider("Unit-cost change (%)", -20, 20, 0, 1, key="cost")
        deepest = st.select_slider("Deepest discount", options=ladder, value=ladder[-1],
                                   format_func=lambda d: f"{d:.0%}", key="deepest")
        floor = st.slider("Margin floor (%)", 0.0, 30.0, 100 * s.min_margin, 0.5, key="floor")
        buyers = st.number_input("Car buyers a month", 1000, 500000, int(s.buyers), 1000, key="buyers")
        with st.expander("Segment mix (% of buyers, must sum to 100)"):
            mix = [st.number_input(seg.name, 0.0, 100.0, round(100 * seg.share, 2), 1.0, key=f"mix_{i}")
                   for i, seg in enumerate(base.model.segments)]
        label = lambda sku: f"{sku} · {names[sku]}"  # noqa: E731
        pinned = st.multiselect("SKUs pinned in", active, default=list(s.pinned), format_func=label, key="pinned")
        banned = st.multiselect("SKUs banned", active, default=list(s.banned), format_func=label, key="banned")
        upload = st.file_uploader("Replace the catalog (catalog.csv)", type=["csv"], key="catalog")
        rules_and_goals = goal_panel.controls(s)
        run = st.form_submit_button("Run", type="primary", width="stretch")
    raw = dict(attach_rate=target / 100, max_bundles=bundles, price_sensitivity=sensitivity,
               cost_change_pct=float(cost), deepest_discount=None if deepest == ladder[-1] else deepest,
               min_margin=floor / 100, buyers=float(buyers), pinned=tuple(pinned), banned=tuple(banned),
               **rules_and_goals)
    return raw, mix, (upload.getvalue() if upload is not None else None), run


def to_whatif(base: Problem, raw: dict, mix: list[float], catalog_csv: bytes | None) -> WhatIf:
    """The controls as a :class:`WhatIf`; raises :class:`InputError` for a bad segment mix."""
    return WhatIf.from_settings(base.settings).replace(
        **raw, segment_shares=shares_from_percent(mix, base.model.shares),
        catalog_digest=None if catalog_csv is None else hashlib.sha256(catalog_csv).hexdigest(),
    )


def ask(folder: Path, base: Problem, whatif: WhatIf, catalog_csv: bytes | None, identity: Identity,
        time_limit: float | None = None) -> None:
    """Queue the what-if (returns at once; a proven answer already known is there at once)."""
    state = st.session_state
    state.error, state.retry = None, None
    try:
        state.job = submit(folder, base, whatif, catalog_csv, identity.username, time_limit)
    except InputError as exc:
        state.error = f"Bad input: {exc}"
    except SolveFailed as exc:
        state.error = str(exc)


def run_current(folder: Path, base: Problem, raw: dict, mix: list[float], catalog_csv: bytes | None,
                identity: Identity) -> None:
    """Queue the controls' what-if; a bad segment mix is one line and nothing is queued."""
    try:
        whatif = to_whatif(base, raw, mix, catalog_csv)
    except InputError as exc:
        st.session_state.error = f"Bad input: {exc}"
        return
    ask(folder, base, whatif, catalog_csv, identity)


def collect() -> None:
    """Take a finished job's answer: the new good result, or the reason there is none (the last
    good answer stays on screen). An answer the time limit cut short offers a re-solve."""
    state = st.session_state
    job = state.get("job")
    if job is None or not job.over:
        return
    state.job = None
    if job.error is not None:
        state.error = job.error
        return
    outcome = job.run
    if not job.proven:
        state.retry = (job.whatif, job.catalog_csv, longer_limit(job.time_limit))
    if outcome.unreachable is not None:
        state.error = f"Target unreachable: {outcome.unreachable}"
        return
    state.good, state.good_catalog = outcome, job.catalog_csv
    state.good_sheet = None if job.sheet is None else (outcome, job.sheet)


def sheet_of(good: WhatIfRun) -> tuple[str, bytes]:
    """The answer's CSV text and workbook: built by the worker, else here once per answer."""
    state = st.session_state
    kept = state.get("good_sheet")
    if kept is None or kept[0] is not good:
        kept = state.good_sheet = (good, sheet_files(good.result))
    return kept[1]


def offer_resolve(folder: Path, base: Problem, identity: Identity) -> None:
    """The re-solve button for an answer the time limit cut short."""
    retry = st.session_state.get("retry")
    if retry is None:
        return
    whatif, catalog_csv, limit = retry
    if st.button(f"Re-solve with a longer time limit ({limit:,.0f} s)", key="resolve"):
        ask(folder, base, whatif, catalog_csv, identity, limit)
        st.rerun()


def headline(good: WhatIfRun) -> None:
    """The five figures, whether the answer is proven, the uncertainty band and any warnings."""
    result = good.result
    f, target = result.figures, result.problem.settings.attach_rate
    cols = st.columns(5)
    cols[0].metric("Expected IoT margin (CNY/month)", f"{f.margin:,.0f}")
    cols[1].metric("Attach rate", pct(f.attach_rate), f"{100 * (f.attach_rate - target):+.2f} pts vs target {pct(target)}")
    cols[2].metric("IoT gross-margin rate", pct(f.margin_rate), f"{f.margin_rate_change_points:+.2f} pts vs no bundles")
    cols[3].metric("Connected devices per buyer", f"{f.devices_per_buyer:.3f}",
                   f"{f.devices_per_buyer - f.baseline_devices:+.3f} vs no bundles")
    gap = "n/a" if result.gap is None else f"{result.gap:.2e}"
    cols[4].metric("Optimality", "Proven" if result.proven_optimal else "Not proven", f"gap {gap}", delta_color="off",
                   delta_arrow="off")
    seconds = f"library call {good.seconds:.2f} s"
    if result.proven_optimal:
        st.success(f"Proven optimal within a relative gap of {gap} · {seconds}")
    else:
        st.warning(f"NOT proven optimal (status {result.status.value}); gap {gap} · {seconds} · the time limit of "
                   f"{result.problem.settings.time_limit:,.0f} s stopped the proof. This answer is not kept for "
                   "anyone else; re-solve with a longer limit for a proven one.")
    figures = summary(result)
    if "attach_p05" in figures:
        st.caption(
            f"90% band from the demand fit's uncertainty: attach {pct(figures['attach_p05'])} to "
            f"{pct(figures['attach_p95'])}, margin {figures['margin_p05']:,.0f} to {figures['margin_p95']:,.0f} "
            f"CNY/month; the target is met with probability {figures['prob_target_met']:.0%}."
        )
    goal_panel.render(result.goals)
    for warning in offer_warnings(result):
        st.warning(warning)


def bundles(good: WhatIfRun) -> None:
    """The bundles table and one line per bundle on why it is there."""
    table = bundle_table(good.result)
    segment_cols = [c for c in table.columns if c.startswith("take ")]
    shown = table.drop(columns=["why"])
    shown[["take_rate", *segment_cols]] *= 100  # shares shown as percent
    st.dataframe(
        shown, hide_index=True, width="stretch",
        column_config={
            "bundle_id": "bundle", "name": st.column_config.TextColumn("products", width="medium"),
            "skus": st.column_config.TextColumn("SKUs", width="medium"),
            "price": st.column_config.NumberColumn("price CNY", format="%,.0f"),
            "discount_pct": st.column_config.NumberColumn("discount", format="%.1f%%"),
            "unit_margin": st.column_config.NumberColumn("unit margin", format="%,.0f"),
            "margin_pct": st.column_config.NumberColumn("margin", format="%.1f%%"),
            "take_rate": st.column_config.NumberColumn("take rate", format="%.2f%%"),
            "expected_units": st.column_config.NumberColumn("units/month", format="%,.0f"),
            "expected_margin": st.column_config.NumberColumn("margin CNY/month", format="%,.0f"),
            "elasticity": st.column_config.NumberColumn("own elasticity", format="%.2f"),
            **{c: st.column_config.NumberColumn(c, format="%.2f%%") for c in segment_cols},
        },
    )
    st.markdown("**Why each bundle is there**")
    st.markdown("\n".join(f"- **{row.bundle_id}** ({row.skus}): {row.why}" for row in table.itertuples()))


def downloads_and_save(good: WhatIfRun, folder: Path, identity: Identity) -> None:
    """The sheet's downloads (the CLI's CSV byte for byte) and the form saving it as a scenario."""
    result = good.result
    csv_text, xlsx = sheet_of(good)
    left, right, _ = st.columns([1, 1, 3])
    left.download_button("Price sheet (.xlsx)", xlsx, "price_sheet.xlsx",
                         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="dl_xlsx")
    right.download_button("Price sheet (.csv)", csv_text.encode("utf-8"), "price_sheet.csv", "text/csv", key="dl_csv")
    scenarios = store()
    with st.form("save_scenario", clear_on_submit=False):
        name = st.text_input("Save these settings and this result as a scenario named", key="scenario_name")
        if st.form_submit_button("Save scenario"):
            try:
                scenarios.save(name, good.whatif.to_dict(), result.problem.settings.to_dict(), summary(result),
                               csv_text, folder, identity)
                st.success(f"Saved scenario {name.strip()!r} as {identity.username} in {scenarios.path}")
            except (InputError, AccessDenied) as exc:
                st.error(sentence(exc))


def render() -> None:
    identity = require_page(Permission.WHATIF)
    st.title("What-if")
    folder, _, base = base_problem()
    state = st.session_state
    raw, mix, catalog_csv, pressed = controls(base)
    if pressed or not state.get("started"):
        state.started = True
        run_current(folder, base, raw, mix, catalog_csv, identity)
    collect()
    job = state.get("job")
    if job is not None:
        progress.watch([job], "Your what-if")
    if state.get("error"):
        st.error(state.error)
    offer_resolve(folder, base, identity)
    good: WhatIfRun | None = state.get("good")
    if good is None:
        if job is None:
            st.info("Set the controls in the sidebar and press Run.")
        return
    if state.get("error") or job is not None:
        st.caption("Still showing the last good result below.")
    headline(good)
    st.subheader("The bundles")
    bundles(good)
    downloads_and_save(good, folder, identity)


if __name__ == "__main__":
    render()
