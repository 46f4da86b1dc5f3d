"""The what-if app: pricing managers move the controls and see the best bundles; finance reviews
and approves the sheet.

A thin shell: it reads the controls, calls :mod:`pricing.app.whatif` and :mod:`pricing.app.scenarios`,
and shows what they return. Data folder: ``$BUNDLE_PRICING_DATA`` (default ``data/``); saved
scenarios and decisions: ``$BUNDLE_PRICING_STORE`` (default ``scenarios/``).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from models.errors import InputError
from pricing.domain.problem import DEFAULT_DATA, Problem
from pricing.files.run_record import offer_warnings, summary
from pricing.app.scenarios import ScenarioStore
from pages.backtest import render as backtest_page
from pricing.domain.settings import Settings
from pricing.app import (
    WhatIf, WhatIfRun, approved_sheet, bundle_table, compare_bundles, compare_totals, format_total, review_table,
    run_whatif, shares_from_percent, sheet_files, target_grid, tradeoff_curve,
)

DATA_ENV = "BUNDLE_PRICING_DATA"
LAST_APPROVED = "Last approved sheet"
_INPUT_FILES = ("catalog.csv", "model.json", "last_sheet.csv")

MONEY = st.column_config.NumberColumn(format="%,.0f")
PERCENT = st.column_config.NumberColumn(format="%.2f%%")


def data_dir() -> Path:
    return Path(os.environ.get(DATA_ENV) or DEFAULT_DATA)


def _fingerprint(folder: Path) -> tuple:
    """Changes whenever an input file does (an approval rewrites last_sheet.csv)."""
    out = []
    for name in _INPUT_FILES:
        path = folder / name
        out.append((name, path.stat().st_mtime_ns, path.stat().st_size) if path.exists() else (name,))
    return tuple(out)


@st.cache_resource(show_spinner=False, max_entries=4)
def load_problem(folder: str, fingerprint: tuple) -> Problem:
    return Problem.load(folder, Settings.from_toml())


@st.cache_resource(show_spinner=False, max_entries=128)
def solve(_base: Problem, base_key: tuple, whatif: WhatIf, _catalog_csv: bytes | None) -> WhatIfRun:
    """One what-if, cached by the data's fingerprint and the controls (results are read-only)."""
    return run_whatif(_base, whatif, _catalog_csv)


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


# -- the controls -------------------------------------------------------------------------------
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
        run = st.form_submit_button("Run", type="primary", width="stretch")
    raw = dict(attach_rate=target / 100, max_bundles=bundles, price_sensitivity=sensitivity,
               cost_change_pct=float(cost), deepest_discount=None if deepest == ladder[-1] else deepest,
               min_margin=floor / 100, buyers=float(buyers), pinned=tuple(pinned), banned=tuple(banned))
    return raw, mix, (upload.getvalue() if upload is not None else None), run


def to_whatif(base: Problem, raw: dict, mix: list[float], catalog_csv: bytes | None) -> WhatIf:
    """The controls as a :class:`WhatIf`; raises :class:`InputError` for a bad segment mix."""
    return WhatIf.from_settings(base.settings).replace(
        **raw, segment_shares=shares_from_percent(mix, base.model.shares),
        catalog_digest=None if catalog_csv is None else hashlib.sha256(catalog_csv).hexdigest(),
    )


def run_current(base: Problem, base_key: tuple, raw: dict, mix: list[float], catalog_csv: bytes | None) -> None:
    """Solve the controls; keep the last good answer on screen when the input is bad or the
    target unreachable."""
    state = st.session_state
    state.error = None
    try:
        whatif = to_whatif(base, raw, mix, catalog_csv)
        with st.spinner("Optimizing the offer… (a combination already run comes back at once)"):
            outcome = solve(base, base_key, whatif, catalog_csv)
    except InputError as exc:
        state.error = f"Bad input: {exc}"
        return
    if outcome.unreachable is not None:
        state.error = f"Target unreachable: {outcome.unreachable}"
        return
    state.good, state.good_catalog = outcome, catalog_csv


# -- pages --------------------------------------------------------------------------------------
def whatif_page(store: ScenarioStore, folder: Path) -> None:
    state = st.session_state
    if state.get("error"):
        st.error(state.error)
    good: WhatIfRun | None = state.get("good")
    if good is None:
        st.info("Set the controls in the sidebar and press Run.")
        return
    if state.get("error"):
        st.caption("Still showing the last good result below.")
    result = good.result
    f, target = result.figures, result.problem.settings.attach_rate
    cols = st.columns(5)
    cols[0].metric("Expected IoT margin (CNY/month)", f"{f.margin:,.0f}")
    cols[1].metric("Attach rate", _pct(f.attach_rate), f"{100 * (f.attach_rate - target):+.2f} pts vs target {_pct(target)}")
    cols[2].metric("IoT gross-margin rate", _pct(f.margin_rate), f"{f.margin_rate_change_points:+.2f} pts vs no bundles")
    cols[3].metric("Connected devices per buyer", f"{f.devices_per_buyer:.3f}",
                   f"{f.devices_per_buyer - f.baseline_devices:+.3f} vs no bundles")
    gap = "n/a" if result.gap is None else f"{result.gap:.2e}"
    cols[4].metric("Optimality", "Proven" if result.proven_optimal else "Not proven", f"gap {gap}", delta_color="off",
                   delta_arrow="off")
    seconds = f"library call {good.seconds:.2f} s"
    if result.proven_optimal:
        st.success(f"Proven optimal within a relative gap of {gap} · {seconds}")
    else:
        st.warning(f"NOT proven optimal (status {result.status.value}); gap {gap} · {seconds}")
    headline = summary(result)
    if "attach_p05" in headline:
        st.caption(
            f"90% band from the demand fit's uncertainty: attach {_pct(headline['attach_p05'])} to "
            f"{_pct(headline['attach_p95'])}, margin {headline['margin_p05']:,.0f} to {headline['margin_p95']:,.0f} "
            f"CNY/month; the target is met with probability {headline['prob_target_met']:.0%}."
        )
    for warning in offer_warnings(result):
        st.warning(warning)

    st.subheader("The bundles")
    table = bundle_table(result)
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

    csv_text, xlsx = sheet_files(result)
    left, right, _ = st.columns([1, 1, 3])
    left.download_button("Price sheet (.xlsx)", xlsx, "price_sheet.xlsx",
                         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="dl_xlsx")
    right.download_button("Price sheet (.csv)", csv_text.encode("utf-8"), "price_sheet.csv", "text/csv", key="dl_csv")

    with st.form("save_scenario", clear_on_submit=False):
        name = st.text_input("Save these settings and this result as a scenario named", key="scenario_name")
        if st.form_submit_button("Save scenario"):
            try:
                store.save(name, good.whatif.to_dict(), result.problem.settings.to_dict(), summary(result),
                           csv_text, folder)
                st.success(f"Saved scenario {name.strip()!r} in {store.path}")
            except InputError as exc:
                st.error(str(exc))


def tradeoff_page(base: Problem, base_key: tuple) -> None:
    state = st.session_state
    good: WhatIfRun | None = state.get("good")
    if good is None:
        st.info("Run a what-if first: the curve sweeps the attach target with its other controls.")
        return
    whatif = good.whatif
    st.write("Best expected margin at each attach target, all other controls as in the last good run. "
             "Each point is a full, proven optimization; points already run come back at once.")
    low, high = st.slider("Targets (%)", 1.0, 40.0, (5.0, 25.0), 0.5, key="sweep_range")
    points = st.slider("Points", 3, 12, 6, key="sweep_points")
    if st.button("Draw the curve", key="sweep"):
        targets = target_grid(low / 100, high / 100, points, whatif.attach_rate)
        bar = st.progress(0.0, "Sweeping the target…")

        def one(target: float):
            outcome = solve(base, base_key, whatif.replace(attach_rate=target), state.good_catalog)
            if outcome.unreachable is not None:
                raise outcome.unreachable
            return outcome.result

        def progress(i: int, target: float) -> None:
            bar.progress(i / len(targets), f"Target {_pct(target)} ({i + 1} of {len(targets)})")

        state.curve = (whatif, tradeoff_curve(targets, one, progress))
        bar.empty()
    curve = state.get("curve")
    if curve is None:
        return
    swept, frame = curve
    if swept != whatif:
        st.caption("The curve below was drawn for earlier controls; draw it again to update.")
    plot = frame.assign(target_pct=100 * frame["target"])
    line = alt.Chart(plot[plot["reachable"]]).mark_line(point=True).encode(
        x=alt.X("target_pct:Q", title="attach-rate target (%)"),
        y=alt.Y("margin:Q", title="expected incremental IoT margin (CNY/month)"),
        tooltip=["target_pct", "margin", "attach_rate", "note"],
    )
    marker = alt.Chart(pd.DataFrame({"x": [100 * swept.attach_rate]})).mark_rule(color="red", strokeDash=[4, 4]).encode(x="x:Q")
    st.altair_chart(line + marker, width="stretch")
    st.caption(f"Red dashed line: the current target, {_pct(swept.attach_rate)}.")
    percent = frame.assign(**{c: 100 * frame[c] for c in ("target", "attach_rate", "margin_rate")})
    st.dataframe(percent, hide_index=True, width="stretch", column_config={
        "target": st.column_config.NumberColumn("target", format="%.2f%%"),
        "attach_rate": st.column_config.NumberColumn("attach rate", format="%.2f%%"),
        "margin": st.column_config.NumberColumn("margin CNY/month", format="%,.0f"),
        "margin_rate": st.column_config.NumberColumn("IoT margin rate", format="%.2f%%"),
        "proven_optimal": "proven optimal"})


def _side(store: ScenarioStore, base: Problem, choice: str) -> tuple[pd.DataFrame, dict]:
    if choice == LAST_APPROVED:
        return approved_sheet(base)
    scenario = store.load(choice)
    return scenario.sheet, {k: scenario.summary.get(k) for k in ("attach_rate", "margin", "total_margin", "margin_rate",
                                                                   "margin_rate_change_points", "devices_per_buyer",
                                                                   "bundles")}


def scenarios_page(store: ScenarioStore, base: Problem) -> None:
    names = store.names()
    st.write(f"Saved scenarios are kept in `{store.path}`.")
    if not names:
        st.info("No saved scenario yet: run a what-if and save it on the What-if tab.")
        return
    left, right = st.columns(2)
    a = left.selectbox("Scenario A", names, key="cmp_a")
    b = right.selectbox("Compare with", [LAST_APPROVED] + names, key="cmp_b")
    sheet_a, totals_a = _side(store, base, a)
    sheet_b, totals_b = _side(store, base, b)
    labels = ("A", "B")
    st.caption(f"A = {a}; B = {b}" + (" (re-read with today's catalog and model; bundles with SKUs no longer active left out)"
                                          if b == LAST_APPROVED else ""))
    st.subheader("Totals")
    totals = compare_totals(totals_a, totals_b, labels)
    for col in ("A", "B"):
        totals[col] = [format_total(k, v) for k, v in zip(totals["key"], totals[col])]
    totals["difference"] = [
        "" if d is None or pd.isna(d) else (f"{100 * d:+.2f} pts" if k in ("attach_rate", "margin_rate")
                                            else format_total(k, d) if k == "margin_rate_change_points"
                                            else f"{d:+,.3f}" if k == "devices_per_buyer" else f"{d:+,.0f}")
        for k, d in zip(totals["key"], totals["difference"])]
    st.dataframe(totals.drop(columns=["key"]), hide_index=True, width="stretch")
    st.subheader("Bundle by bundle")
    by_bundle = compare_bundles(sheet_a, sheet_b, labels)
    for col in ("take_rate A", "take_rate B"):
        by_bundle[col] *= 100  # shares shown as percent
    st.dataframe(by_bundle, hide_index=True, width="stretch", column_config={
        "skus": "SKUs", "name": st.column_config.TextColumn("products", width="medium"),
        "price A": MONEY, "price B": MONEY, "price change %": PERCENT,
        "take_rate A": st.column_config.NumberColumn("take rate A", format="%.2f%%"),
        "take_rate B": st.column_config.NumberColumn("take rate B", format="%.2f%%"),
        "expected_margin A": st.column_config.NumberColumn("margin CNY/month A", format="%,.0f"),
        "expected_margin B": st.column_config.NumberColumn("margin CNY/month B", format="%,.0f")})


def review_page(store: ScenarioStore, base: Problem, folder: Path) -> None:
    last = store.last_approved()
    if last is not None:
        st.write(f"Last approved: **{last.scenario}** by {last.reviewer} at {last.decided_at} ({last.comment}).")
    names = store.names()
    if not names:
        st.info("No saved scenario to review yet.")
    else:
        name = st.selectbox("Saved result to review", names, key="review_pick")
        scenario = store.load(name)
        rows = review_table(scenario.sheet, base.last_prices, base.settings)
        flagged = int(rows["flagged"].sum())
        if flagged:
            st.warning(f"{flagged} bundle(s) break a house rule or move beyond the ±{base.settings.max_change:.0%} "
                       "stability limit: see the flags column.")
        else:
            st.success("Every bundle follows the house rules and the stability limit.")
        order = ["bundle_id", "flags", "price", "last_approved", "change_pct", "unit_cost_total", "unit_margin",
                 "margin_pct", "discount_pct", "name", "skus"]
        styled = rows[order].style.apply(
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
        with st.form("decide"):
            reviewer = st.text_input("Your name", key="reviewer")
            comment = st.text_area("Why", key="comment")
            approve, reject = st.columns(2)
            approved = approve.form_submit_button("Approve", type="primary")
            rejected = reject.form_submit_button("Reject")
        if approved or rejected:
            try:
                decision = store.decide(name, "approved" if approved else "rejected", reviewer, comment, folder)
            except InputError as exc:
                st.error(str(exc))
            else:
                if decision.written_to:
                    st.success(f"Approved: {decision.written_to} is now the last approved sheet.")
                else:
                    st.info(f"Rejected {name!r}; recorded.")
                st.rerun()  # reload the data: the new sheet moves the stability band
    st.subheader("Decisions")
    history = store.history()
    if history:
        st.dataframe(pd.DataFrame([vars(d) for d in history]), hide_index=True, width="stretch")
    else:
        st.caption("No decision yet.")


# -- the page -----------------------------------------------------------------------------------
def main() -> None:
    st.set_page_config(page_title="SU7 bundle pricing", page_icon="🚗", layout="wide")
    st.title("SU7 bundle pricing: what-if")
    folder = data_dir()
    try:
        key = (str(folder), _fingerprint(folder))
        base = load_problem(*key)
    except (InputError, OSError) as exc:
        st.error(f"Bad input: {exc}")
        st.stop()
    store = ScenarioStore()
    raw, mix, catalog_csv, pressed = controls(base)
    if pressed or not st.session_state.get("started"):
        st.session_state.started = True
        run_current(base, key, raw, mix, catalog_csv)
    tabs = st.tabs(["What-if", "Trade-off curve", "Scenarios", "Review & approve", "Backtest"])
    with tabs[0]:
        whatif_page(store, folder)
    with tabs[1]:
        tradeoff_page(base, key)
    with tabs[2]:
        scenarios_page(store, base)
    with tabs[3]:
        review_page(store, base, folder)
    with tabs[4]:
        backtest_page()


main()
