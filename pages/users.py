"""The users page (admins): who may sign in with which role, and the trail of every change."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from models.errors import InputError
from pages.common import require_page, sentence
from pages.session import oidc_config
from pages.session import users as user_directory
from pages.review import trail_status
from pricing.access import AccessDenied, Identity, Permission, Role, UserDirectory, verify
from pricing.access.audit import entries
from pricing.access.database import connect
from pricing.access.passwords import one_time_password

ROLES = [r.value for r in Role]


def _act(what, *args) -> bool:
    try:
        what(*args)
    except (InputError, AccessDenied) as exc:
        st.error(sentence(exc))
        return False
    return True


def users_table(users: UserDirectory) -> list[str]:
    listed = users.list_users()
    now = users.clock()
    st.dataframe(pd.DataFrame([{
        "user": u.username, "role": u.role.value, "must change password": u.must_change,
        "last sign-in (UTC)": (u.last_sign_in or "never")[:19].replace("T", " "),
        "locked until (UTC)": dt.datetime.fromtimestamp(u.locked_until, dt.timezone.utc).strftime("%H:%M")
        if u.locked_until > now else "",
    } for u in listed]), hide_index=True, width="stretch")
    return [u.username for u in listed]


def add_form(users: UserDirectory, admin: Identity) -> None:
    with st.form("add_user", clear_on_submit=True):
        st.markdown("**Add a user**")
        left, right = st.columns(2)
        name = left.text_input("User name", key="new_user")
        role = right.selectbox("Role", ROLES, key="new_role")
        if st.form_submit_button("Add user"):
            password = one_time_password()
            if _act(users.add, name, role, password, admin):
                st.session_state.one_time = (name.strip().lower(), password)
                st.rerun()


def change_forms(users: UserDirectory, admin: Identity, names: list[str]) -> None:
    left, middle, right = st.columns(3)
    with left.form("set_role"):
        st.markdown("**Change a role**")
        who = st.selectbox("User", names, key="role_user")
        role = st.selectbox("New role", ROLES, key="role_new")
        if st.form_submit_button("Change role") and _act(users.set_role, who, role, admin):
            st.session_state.done = f"{who} is now {role}."
            st.rerun()
    with middle.form("reset"):
        st.markdown("**Reset a password**")
        who = st.selectbox("User", names, key="reset_user")
        if st.form_submit_button("Reset password"):
            password = one_time_password()
            if _act(users.reset_password, who, password, admin):
                st.session_state.one_time = (who, password)
                st.rerun()
    with right.form("remove"):
        st.markdown("**Remove a user**")
        who = st.selectbox("User", names, key="remove_user")
        sure = st.checkbox("Yes, remove them", key="remove_sure")
        if st.form_submit_button("Remove user") and sure and _act(users.remove, who, admin):
            st.session_state.done = f"Removed {who}."
            st.rerun()


def trail(folder) -> None:
    st.subheader("Audit trail")
    trail_status(verify(folder))
    con = connect(folder)
    try:
        newest = entries(con, newest_first=True, limit=50)
    finally:
        con.close()
    st.dataframe(pd.DataFrame([{"#": e.seq, "at (UTC)": e.at[:19].replace("T", " "), "by": e.actor, "what": e.kind,
                                "about": e.subject, "hash": e.hash[:16]} for e in newest]),
                 hide_index=True, width="stretch")


def render() -> None:
    admin = require_page(Permission.MANAGE_USERS)
    st.title("Users")
    users = user_directory()
    state = st.session_state
    one_time = state.pop("one_time", None)
    if one_time:
        st.success(f"One-time password for **{one_time[0]}**: `{one_time[1]}`. Give it to them privately; it is "
                   "shown only now, and they choose their own at first sign-in.")
    done = state.pop("done", None)
    if done:
        st.success(done)
    if oidc_config() is not None:
        st.info("People sign in through the identity provider: their roles come from [roles] in "
                ".streamlit/secrets.toml. The users below are the embedded ones, used only without [auth].")
    names = users_table(users)
    add_form(users, admin)
    change_forms(users, admin, names)
    trail(users.folder)


if __name__ == "__main__":
    render()
