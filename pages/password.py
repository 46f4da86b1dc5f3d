"""Choose a new password: shown instead of every other page while the password is a temporary one.
The submitted form is checked by :func:`pages.session.gate` at the start of the next run."""

from __future__ import annotations

import streamlit as st

from pages.session import ERROR, SESSION, gate
from pricing.access.passwords import MIN_PASSWORD_LENGTH


def render() -> None:
    session = st.session_state[SESSION]
    st.title("Choose your password")
    st.write(f"Signed in as **{session.identity.label}** with a temporary password: choose your own "
             f"(at least {MIN_PASSWORD_LENGTH} characters, not containing your user name) to go on.")
    error = st.session_state.pop(ERROR, None)
    if error:
        st.error(error)
    with st.form("new_password"):
        st.text_input("Temporary password", type="password", key="pw_old", autocomplete="current-password")
        st.text_input("New password", type="password", key="pw_new", autocomplete="new-password")
        st.text_input("New password again", type="password", key="pw_again", autocomplete="new-password")
        st.form_submit_button("Set password", type="primary", key="pw_submit")


if __name__ == "__main__":
    current = gate()
    if current is not None and current.must_change_password:
        render()
    elif current is not None:  # reached only without the router (AppTest re-runs a page alone)
        st.success("Password changed.")
