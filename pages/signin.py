"""The sign-in page: user name and password (embedded users), or the company's identity provider.
The submitted form is checked by :func:`pages.session.gate` at the start of the next run (in
``app.py``, which then shows the person's own pages, and again here)."""

from __future__ import annotations

import streamlit as st

from pages.session import ERROR, NOTICE, gate, oidc_config, users
from pricing.access.users import FIRST_ADMIN


def _first_start_hint() -> None:
    listed = users().list_users()
    if len(listed) == 1 and listed[0].username == FIRST_ADMIN and listed[0].last_sign_in is None:
        st.info(f"First start: sign in as **{FIRST_ADMIN}** with the one-time password printed in the terminal "
                "that runs the app (lost it? `python -m pricing users reset-password admin`).")


def _embedded() -> None:
    _first_start_hint()
    with st.form("signin"):
        st.text_input("User name", key="signin_user", autocomplete="username")
        st.text_input("Password", type="password", key="signin_password", autocomplete="current-password")
        st.form_submit_button("Sign in", type="primary", key="signin_submit")


def _provider(oidc) -> None:
    refused = st.session_state.pop("signin_refused", None)
    if refused:
        st.error(f"Signed in, but not let in: {refused}")
        if st.button("Sign out of the identity provider", key="oidc_logout"):
            st.logout()
        return
    for provider in oidc.providers:
        label = "Sign in with the company account" if provider == "default" else f"Sign in with {provider}"
        if st.button(label, type="primary", key=f"login_{provider}"):
            st.login(None if provider == "default" else provider)


def render() -> None:
    st.title("SU7 bundle pricing")
    st.caption("Sign in to see prices, run what-ifs, or review and approve sheets, as your role allows.")
    for key, show in ((NOTICE, st.info), (ERROR, st.error)):
        message = st.session_state.pop(key, None)
        if message:
            show(message)
    oidc = oidc_config()
    if oidc is None:
        _embedded()
    else:
        _provider(oidc)


if __name__ == "__main__":
    signed_in = gate()
    if signed_in is None:
        render()
    else:  # reached only when this script runs without the router (Streamlit's AppTest re-runs a page alone)
        st.success(f"Signed in as {signed_in.identity.label}.")
