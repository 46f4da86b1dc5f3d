"""What every page shares: the data folder and its cached problem and solves, the store, formats,
and the guard each page opens with."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx

from models.errors import InputError
from pages import password, signin
from pages.session import gate, oidc_config, sign_out
from pricing.access import Identity, Permission
from pricing.app import WhatIf
from pricing.app.jobs import Job, SolveFailed, SolveQueue
from pricing.app.scenarios import ScenarioStore
from pricing.domain.problem import DEFAULT_DATA, Problem
from pricing.domain.settings import Settings

__all__ = ["DATA_ENV", "data_dir", "fingerprint", "load_problem", "solve_queue", "warm_up", "submit", "base_problem", "store", "pct", "MONEY",
           "PERCENT", "require_page", "sentence", "CONTROL_KEYS"]

DATA_ENV = "BUNDLE_PRICING_DATA"
_INPUT_FILES = ("catalog.csv", "model.json", "last_sheet.csv")
# Widget keys of the what-if controls, kept while another page is shown.
CONTROL_KEYS = ("target", "bundles", "sensitivity", "cost", "deepest", "floor", "buyers", "pinned", "banned",
                *(f"{key}{suffix}" for key in ("rule_sku", "rule_shared", "rule_gap", "goal_points", "goal_devices",
                                               "goal_confidence") for suffix in ("", "_on")))

MONEY = st.column_config.NumberColumn(format="%,.0f")
PERCENT = st.column_config.NumberColumn(format="%.2f%%")


def data_dir() -> Path:
    return Path(os.environ.get(DATA_ENV) or DEFAULT_DATA)


def fingerprint(folder: Path) -> tuple:
    """Changes whenever an input file does (an approval rewrites last_sheet.csv)."""
    out = []
    for name in _INPUT_FILES:
        path = folder / name
        out.append((name, path.stat().st_mtime_ns, path.stat().st_size) if path.exists() else (name,))
    return tuple(out)


@st.cache_resource(show_spinner=False, max_entries=4)
def load_problem(folder: str, fingerprint: tuple) -> Problem:
    return Problem.load(folder, Settings.from_toml())


@st.cache_resource(show_spinner=False)
def solve_queue() -> SolveQueue:
    """The server's one solve queue and its Dask workers (``$BUNDLE_PRICING_SCHEDULER``, else a
    local pool of ``$BUNDLE_PRICING_WORKERS`` processes, one per core by default)."""
    return SolveQueue.from_env()


_pool_starting = threading.Lock()
_pool_started = False


def warm_up() -> None:
    """Start the solve pool in the background on the server's first page view, so the first
    what-if does not wait for the workers to start (once per server process)."""
    global _pool_started
    with _pool_starting:
        if _pool_started:
            return
        _pool_started = True
    thread = threading.Thread(target=_start_pool, name="solve-pool-start", daemon=True)
    add_script_run_ctx(thread)
    thread.start()


def _start_pool() -> None:
    try:
        solve_queue()
    except Exception:  # noqa: BLE001 - the what-if page says what is wrong when it asks for the pool
        pass


def submit(folder: Path, base: Problem, whatif: WhatIf, catalog_csv: bytes | None, owner: str,
           time_limit: float | None = None) -> Job:
    """Queue one what-if (or join the same one queued, or get its proven answer); returns at once.

    Raises
    ------
    SolveFailed
        No solve pool: a scheduler nobody answers at, a bad worker count, workers that cannot start.
    InputError
        A time limit out of range.
    """
    try:
        queue = solve_queue()
    except Exception as exc:  # noqa: BLE001 - no pool (a scheduler gone, workers that cannot start): one line
        raise SolveFailed(f"The solve pool is not available: {exc}. Nothing was solved; tell whoever runs "
                          "the app.") from None
    return queue.submit(folder, base.settings, whatif, catalog_csv, time_limit, owner)


@st.cache_resource(show_spinner=False)
def catch_up_last_sheet(folder: str, store_folder: str) -> None:
    """Once per server: rewrite ``last_sheet.csv`` from the newest recorded approval, in case a
    server stopped between recording an approval and writing its sheet."""
    try:
        ScenarioStore(store_folder).approvals.publish(folder)
    except OSError as exc:  # best effort: a read-only data folder must not close the app
        print(f"bundle pricing: could not rewrite {folder}/last_sheet.csv from the store: {exc}", file=sys.stderr)


def base_problem() -> tuple[Path, tuple, Problem]:
    """The data folder, its cache key and its problem; a bad file is one line on the page, then stop."""
    folder = data_dir()
    try:
        catch_up_last_sheet(str(folder), str(store().folder))
        key = (str(folder), fingerprint(folder))
        return folder, key, load_problem(*key)
    except (InputError, OSError) as exc:
        st.error(f"Bad input: {exc}")
        st.stop()


def store() -> ScenarioStore:
    return ScenarioStore()


def sentence(message: object) -> str:
    """A library message as a sentence on the page (first letter up, the rest as written)."""
    text = str(message)
    return text[:1].upper() + text[1:]


def pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def _keep_controls() -> None:
    """Keep the what-if controls' values while another page is shown (Streamlit forgets the state
    of widgets that a run does not draw)."""
    state = st.session_state
    for key in [*CONTROL_KEYS, *(k for k in state if str(k).startswith("mix_"))]:
        if key in state:
            state[key] = state[key]


def _sidebar(identity: Identity) -> None:
    with st.sidebar:
        st.markdown(f"Signed in as **{identity.label}**")
        st.button("Sign out", key="sign_out", on_click=sign_out, args=("Signed out.", oidc_config()))


def require_page(permission: Permission) -> Identity:
    """Every page opens with this: the signed-in identity, when it holds ``permission``.

    Signed out, the sign-in form is drawn instead (and a temporary password's change form), then
    the run stops; a role without ``permission`` is refused on the page. Navigation only offers a
    role its own pages; this guards a page reached any other way.
    """
    session = gate()
    if session is None:
        signin.render()
        st.stop()
    if session.must_change_password:
        password.render()
        st.stop()
    identity = session.identity
    _keep_controls()
    _sidebar(identity)
    if not identity.can(permission):
        st.error(f"{identity.label} may not open this page: it is for those who may {permission.value}.")
        st.stop()
    return identity
