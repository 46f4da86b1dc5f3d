"""The signed-in session of one browser tab: who, checked on every run (expiry, removal, a new
role), with sign-in through the embedded users or the company's identity provider.

Both ``app.py`` (to choose the pages) and every page (:func:`pages.common.require_page`, so a page
never relies on having been reached through the router) pass through :func:`gate`. It is cheap and
idempotent within a run: a submitted password is taken out of the session state when it is read,
so it is checked once.
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace

import streamlit as st

from models.errors import InputError
from pricing.access import (
    AccessDenied, AccessSettings, OidcConfig, Session, UserDirectory, default_store_dir, expiry_reason,
)
from pricing.access.users import FIRST_ADMIN

__all__ = ["SESSION", "NOTICE", "ERROR", "oidc_config", "access_settings", "gate", "sign_out", "announce_first_admin",
           "users"]

SESSION = "session"
NOTICE = "signin_notice"
ERROR = "signin_error"


def oidc_config() -> OidcConfig | None:
    """The identity provider's configuration from ``st.secrets`` (None: embedded users).
    Raises :class:`pricing.access.OidcConfigError` when ``[auth]`` is there but unusable."""
    try:
        secrets = {k: st.secrets[k] for k in st.secrets}
    except FileNotFoundError:
        return None
    return OidcConfig.from_secrets(secrets)


def access_settings() -> AccessSettings:
    return AccessSettings.from_toml()


def users(settings: AccessSettings | None = None) -> UserDirectory:
    return UserDirectory(default_store_dir(), settings or access_settings())


@st.cache_resource(show_spinner=False)
def announce_first_admin(folder: str) -> bool:
    """Once per server and store: with no user at all, create ``admin`` with a one-time password
    and print it to the terminal running the app (never to a page). True when one was created."""
    password = UserDirectory(folder).bootstrap_admin()
    if password is None:
        return False
    print("\n".join([
        "", "=" * 72, "bundle pricing: first start. No user existed, so an administrator was created:",
        f"    user name:          {FIRST_ADMIN}", f"    one-time password:  {password}",
        "Sign in with these in the app; you will choose your own password at once.",
        "Add people on the Users page, or: python -m pricing users add NAME --role ROLE", "=" * 72, ""]),
        file=sys.stderr, flush=True)
    return True


def sign_out(message: str | None = None, oidc: OidcConfig | None = None) -> None:
    """Forget everything this tab held (results included: the next person sees none of it)."""
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    if message:
        st.session_state[NOTICE] = message
    if oidc is not None and st.user.is_logged_in:
        st.logout()


def _sentence(exc: Exception) -> str:
    text = str(exc)
    return text[:1].upper() + text[1:]


def _take_sign_in(settings: AccessSettings) -> None:
    """Check a submitted user name and password (once: the password leaves the state here)."""
    state = st.session_state
    password = state.pop("signin_password", None)
    if not state.get("signin_submit") or password is None:
        return
    try:
        signed = users(settings).authenticate(state.get("signin_user", ""), password)
    except AccessDenied as exc:
        state[ERROR] = _sentence(exc)
        return
    state[SESSION] = Session.start(signed.identity, time.time(), signed.must_change)


def _take_new_password(settings: AccessSettings) -> None:
    state = st.session_state
    session = state.get(SESSION)
    fields = [state.pop(k, None) for k in ("pw_old", "pw_new", "pw_again")]
    if session is None or not state.get("pw_submit") or None in fields:
        return
    old, new, again = fields
    if new != again:
        state[ERROR] = "The two new passwords differ."
        return
    try:
        users(settings).change_own_password(session.identity.username, old, new)
    except (InputError, AccessDenied) as exc:
        state[ERROR] = _sentence(exc)
        return
    state[SESSION] = replace(session, must_change_password=False)


def _oidc_session(oidc: OidcConfig, session: Session | None, now: float) -> Session | None:
    if not st.user.is_logged_in:
        return None
    try:  # the role map is read on every run, so a change to it applies at once
        identity = oidc.identity(st.user.to_dict())
    except AccessDenied as exc:
        st.session_state["signin_refused"] = str(exc)
        return None
    if session is None or session.identity.username != identity.username:
        return Session.start(identity, now)
    return replace(session, identity=identity)


def gate() -> Session | None:
    """This run's session after taking a submitted sign-in or new password and checking expiry,
    removal and role; None when signed out (the reason kept in ``st.session_state[NOTICE]``)."""
    settings, oidc = access_settings(), oidc_config()
    if oidc is None:
        _take_sign_in(settings)
        _take_new_password(settings)
    now = time.time()
    session: Session | None = st.session_state.get(SESSION)
    if oidc is not None:
        session = _oidc_session(oidc, session, now)
    if session is None:
        st.session_state.pop(SESSION, None)
        return None
    reason = expiry_reason(session, now, settings)
    if reason is None and session.identity.source == "embedded":
        fresh = users(settings).identity(session.identity.username)
        if fresh is None:
            reason = "Your account was removed; ask an admin."
        else:
            session = replace(session, identity=fresh)  # a new role applies on the next click
    if reason is not None:
        sign_out(reason, oidc)
        return None
    session = session.touched(now)
    st.session_state[SESSION] = session
    return session
