"""The embedded user directory: people, their role and Argon2 password hash, in the store file.

Every change (added, removed, new role, new password, locked) is appended to the trail in the same
transaction, with the user's resulting state (role, a fingerprint of the password hash, whether
the password must be changed), so ``audit verify`` and each sign-in can tell a users row edited
behind the app's back. Failed sign-ins are counted per typed name (known or not, so the lock does
not reveal which names exist), slowed, and locked for a while after a few.
"""

from __future__ import annotations

import re
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from models.errors import InputError
from pricing.access import audit
from pricing.access.database import connect, default_store_dir, transaction
from pricing.access.passwords import (
    check_password_rule, dummy_hash, hash_password, one_time_password, verify_password,
)
from pricing.access.roles import AccessDenied, Identity, Permission, Role, require
from pricing.access.settings import AccessSettings

__all__ = ["Operator", "UserInfo", "SignIn", "SignInFailed", "AccountLocked", "UserDirectory", "FIRST_ADMIN"]

FIRST_ADMIN = "admin"
_NAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")


@dataclass(frozen=True)
class Operator:
    """Someone at this machine's terminal with the store file in hand (the ``users`` command):
    trusted to manage users, and named in the trail as ``console:<name>``."""

    name: str

    @property
    def username(self) -> str:
        return f"console:{self.name}"


@dataclass(frozen=True)
class UserInfo:
    username: str
    role: Role
    must_change: bool
    created_at: str
    last_sign_in: str | None
    locked_until: float


@dataclass(frozen=True)
class SignIn:
    """A successful sign-in: who, and whether they must pick a new password before anything else."""

    identity: Identity
    must_change: bool


class SignInFailed(AccessDenied):
    """Wrong user name or password (the message never says which)."""


class AccountLocked(AccessDenied):
    """Too many failed sign-ins: refused until ``until`` (seconds since the epoch)."""

    def __init__(self, message: str, until: float):
        super().__init__(message)
        self.until = until


def _clean_name(username: str) -> str:
    name = str(username).strip().lower()
    if not _NAME.match(name):
        raise InputError("user name", "must be 2 to 64 characters: lower-case letters, digits, '.', '_', '@', '-', "
                         f"starting with a letter or digit; got {str(username)[:80]!r}")
    return name


def _actor_name(actor: Identity | Operator) -> str:
    if isinstance(actor, Operator):
        return actor.username
    return require(actor, Permission.MANAGE_USERS).username


class UserDirectory:
    """Users of ``<folder>/store.sqlite`` (default ``$BUNDLE_PRICING_STORE``).

    ``clock`` and ``sleep`` are injectable so that lockout and slowing can be tested without waiting.
    """

    def __init__(self, folder: str | Path | None = None, settings: AccessSettings | None = None,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep):
        self.folder = Path(folder) if folder is not None else default_store_dir()
        self.settings = settings if settings is not None else AccessSettings.from_toml()
        self.clock, self.sleep = clock, sleep

    def _connect(self) -> sqlite3.Connection:
        return connect(self.folder)

    # -- reading ----------------------------------------------------------------------------
    def list_users(self) -> list[UserInfo]:
        con = self._connect()
        try:
            rows = con.execute("SELECT u.username, u.role, u.must_change, u.created_at, u.last_sign_in, "
                               "COALESCE(f.locked_until, 0) FROM users u LEFT JOIN sign_in_failures f "
                               "ON f.username = u.username ORDER BY u.username").fetchall()
        finally:
            con.close()
        return [UserInfo(r[0], Role(r[1]), bool(r[2]), r[3], r[4], float(r[5])) for r in rows]

    def count(self) -> int:
        return len(self.list_users())

    def identity(self, username: str) -> Identity | None:
        """The user's identity as the store has it now (None when removed): a signed-in session
        re-reads it on every page, so a removal or a new role takes effect at once."""
        con = self._connect()
        try:
            row = con.execute("SELECT role FROM users WHERE username = ?", (username,)).fetchone()
        finally:
            con.close()
        return None if row is None else Identity(username, Role(row[0]), username, "embedded")

    # -- changes ----------------------------------------------------------------------------
    def _record(self, con: sqlite3.Connection, actor: str, kind: str, username: str) -> None:
        row = con.execute("SELECT role, password_hash, must_change FROM users WHERE username = ?",
                          (username,)).fetchone()
        state = None if row is None else {"role": row[0], "password": audit.fingerprint(row[1]),
                                          "must_change": bool(row[2])}
        audit.append(con, actor, kind, f"user:{username}", {"state": state})

    def _load(self, con: sqlite3.Connection, username: str) -> tuple:
        row = con.execute("SELECT role, password_hash, must_change FROM users WHERE username = ?",
                          (username,)).fetchone()
        if row is None:
            raise InputError("user", f"no user named {username!r}")
        return row

    def _admins_left_without(self, con: sqlite3.Connection, username: str) -> int:
        return con.execute("SELECT COUNT(*) FROM users WHERE role = 'admin' AND username != ?", (username,)).fetchone()[0]

    def add(self, username: str, role: Role | str, password: str, actor: Identity | Operator,
            must_change: bool = True) -> UserInfo:
        """Add a user. ``must_change``: the password is a temporary one the user replaces at
        their first sign-in (the default when an admin sets it)."""
        who, name, role = _actor_name(actor), _clean_name(username), Role(role)
        check_password_rule(password, name)
        hashed = hash_password(password)
        con = self._connect()
        try:
            with transaction(con):
                if con.execute("SELECT 1 FROM users WHERE username = ?", (name,)).fetchone():
                    raise InputError("user", f"{name!r} already exists (use set-role or reset-password)")
                con.execute("INSERT INTO users (username, role, password_hash, must_change, created_at) "
                            "VALUES (?, ?, ?, ?, ?)", (name, role.value, hashed, int(must_change), audit.now_utc()))
                con.execute("DELETE FROM sign_in_failures WHERE username = ?", (name,))
                self._record(con, who, "user_added", name)
        finally:
            con.close()
        return next(u for u in self.list_users() if u.username == name)

    def remove(self, username: str, actor: Identity | Operator) -> None:
        who, name = _actor_name(actor), _clean_name(username)
        con = self._connect()
        try:
            with transaction(con):
                role = self._load(con, name)[0]
                if role == Role.ADMIN.value and self._admins_left_without(con, name) == 0:
                    raise InputError("user", f"{name!r} is the last admin; add another admin first")
                con.execute("DELETE FROM users WHERE username = ?", (name,))
                self._record(con, who, "user_removed", name)
        finally:
            con.close()

    def set_role(self, username: str, role: Role | str, actor: Identity | Operator) -> None:
        who, name, role = _actor_name(actor), _clean_name(username), Role(role)
        con = self._connect()
        try:
            with transaction(con):
                old = self._load(con, name)[0]
                if old == Role.ADMIN.value and role != Role.ADMIN and self._admins_left_without(con, name) == 0:
                    raise InputError("user", f"{name!r} is the last admin; add another admin first")
                con.execute("UPDATE users SET role = ? WHERE username = ?", (role.value, name))
                self._record(con, who, "role_changed", name)
        finally:
            con.close()

    def reset_password(self, username: str, password: str, actor: Identity | Operator, must_change: bool = True) -> None:
        """Set a new (temporary, by default) password and lift a lock."""
        who, name = _actor_name(actor), _clean_name(username)
        check_password_rule(password, name)
        hashed = hash_password(password)
        con = self._connect()
        try:
            with transaction(con):
                self._load(con, name)
                con.execute("UPDATE users SET password_hash = ?, must_change = ? WHERE username = ?",
                            (hashed, int(must_change), name))
                con.execute("DELETE FROM sign_in_failures WHERE username = ?", (name,))
                self._record(con, who, "password_reset", name)
        finally:
            con.close()

    def change_own_password(self, username: str, old_password: str, new_password: str) -> None:
        """The signed-in user replaces their password (required after a reset)."""
        name = _clean_name(username)
        if new_password == old_password:
            raise InputError("new password", "must differ from the current one")
        check_password_rule(new_password, name)
        self.authenticate(name, old_password)
        hashed = hash_password(new_password)
        con = self._connect()
        try:
            with transaction(con):
                self._load(con, name)
                con.execute("UPDATE users SET password_hash = ?, must_change = 0 WHERE username = ?", (hashed, name))
                self._record(con, name, "password_changed", name)
        finally:
            con.close()

    def bootstrap_admin(self) -> str | None:
        """On a store with no user at all, create :data:`FIRST_ADMIN` with a one-time password
        (to be changed at first sign-in) and return it; None when there are users already."""
        password = one_time_password()
        hashed = hash_password(password)
        con = self._connect()
        try:
            with transaction(con):
                if con.execute("SELECT COUNT(*) FROM users").fetchone()[0]:
                    return None
                con.execute("INSERT INTO users (username, role, password_hash, must_change, created_at) "
                            "VALUES (?, 'admin', ?, 1, ?)", (FIRST_ADMIN, hashed, audit.now_utc()))
                self._record(con, "system:first-start", "user_added", FIRST_ADMIN)
        finally:
            con.close()
        return password

    # -- signing in -------------------------------------------------------------------------
    def authenticate(self, username: str, password: str) -> SignIn:
        """Check a user name and password.

        Raises
        ------
        AccountLocked
            Too many failed tries lately (the password is not even checked).
        SignInFailed
            Wrong name or password, after a wait that doubles with each consecutive failure.
        AccessDenied
            The users row does not match the trail (edited outside the app).
        """
        name = str(username).strip().lower()[:64]
        con = self._connect()
        try:
            self._refuse_if_locked(con, name)
            row = con.execute("SELECT role, password_hash, must_change FROM users WHERE username = ?",
                              (name,)).fetchone()
            ok = verify_password(row[1] if row else dummy_hash(), password) and row is not None
            if not ok:
                self._fail(con, name, row is not None)
            with transaction(con):
                con.execute("DELETE FROM sign_in_failures WHERE username = ?", (name,))
                con.execute("UPDATE users SET last_sign_in = ? WHERE username = ?", (audit.now_utc(), name))
            entry = audit.latest_about(con, f"user:{name}")
        finally:
            con.close()
        state = {"role": row[0], "password": audit.fingerprint(row[1]), "must_change": bool(row[2])}
        if entry is None or entry.details.get("state") != state:
            raise AccessDenied(f"the account record of {name!r} does not match the audit trail; "
                               "ask an admin to run: python -m pricing audit verify")
        return SignIn(Identity(name, Role(row[0]), name, "embedded"), bool(row[2]))

    def _refuse_if_locked(self, con: sqlite3.Connection, name: str) -> None:
        row = con.execute("SELECT locked_until FROM sign_in_failures WHERE username = ?", (name,)).fetchone()
        if row is not None and row[0] > self.clock():
            minutes = max(1, round((row[0] - self.clock()) / 60))
            raise AccountLocked(f"too many failed sign-ins: locked for another {minutes} minute(s); "
                                "an admin can lift it with reset-password", row[0])

    def _fail(self, con: sqlite3.Connection, name: str, known: bool) -> None:
        """Count a failure (locking at the limit), wait, and raise."""
        s = self.settings
        with transaction(con):
            row = con.execute("SELECT failures FROM sign_in_failures WHERE username = ?", (name,)).fetchone()
            failures = (row[0] if row else 0) + 1
            locked_until = self.clock() + 60 * s.lockout_minutes if failures >= s.max_failures else 0.0
            con.execute("INSERT OR REPLACE INTO sign_in_failures (username, failures, locked_until) VALUES (?, ?, ?)",
                        (name, 0 if locked_until else failures, locked_until))
            if locked_until and known:
                self._record(con, "system:sign-in", "account_locked", name)
        self.sleep(s.delay_after(failures))
        if locked_until:
            raise AccountLocked(f"too many failed sign-ins: locked for {s.lockout_minutes:g} minutes; "
                                "an admin can lift it with reset-password", locked_until)
        left = int(s.max_failures) - failures
        raise SignInFailed(f"wrong user name or password ({left} more failed tr{'y' if left == 1 else 'ies'} "
                           f"lock the account for {s.lockout_minutes:g} minutes)")
