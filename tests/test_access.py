"""Users, sign-in, lockout, sessions and the identity provider's configuration (pricing.access)."""

import sqlite3

import pytest

from models.errors import InputError
from pricing.access import (
    AccessDenied, AccessSettings, AccountLocked, Identity, OidcConfig, OidcConfigError, Operator, Role, RoleMap,
    Session, SignInFailed, UserDirectory, expiry_reason, verify,
)
from pricing.access.audit import entries
from pricing.access.database import connect
from pricing.access.passwords import check_password_rule, hash_password, verify_password

from tests.fast_hashing import fast_hashing  # noqa: F401  (a fixture)

ME = Operator("tester")
PASSWORD = "correct horse 42"


class Clock:
    """A clock the test moves by hand; ``sleep`` records the waits instead of waiting."""

    def __init__(self):
        self.now, self.waits = 1_000_000.0, []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.waits.append(seconds)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture(autouse=True)
def _cheap_hashes(request):
    if "shipped_hashing" not in request.keywords:
        request.getfixturevalue("fast_hashing")


@pytest.fixture
def users(tmp_path, clock):
    return UserDirectory(tmp_path, AccessSettings(max_failures=3, lockout_minutes=15, delay_seconds=0.5,
                                                  max_delay_seconds=1.0), clock=clock, sleep=clock.sleep)


@pytest.mark.shipped_hashing
def test_passwords_are_argon2id_hashes_never_stored_plain(users, tmp_path):
    users.add("wang.fang", "finance", PASSWORD, ME)
    (stored,) = sqlite3.connect(tmp_path / "store.sqlite").execute("SELECT password_hash FROM users").fetchone()
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$") and PASSWORD not in stored  # RFC 9106
    assert verify_password(stored, PASSWORD) and not verify_password(stored, PASSWORD + "x")
    assert verify_password("not a hash", PASSWORD) is False


def test_sign_in_gives_the_identity_and_asks_for_a_new_password(users):
    users.add("Wang.Fang", Role.FINANCE, PASSWORD, ME)
    signed = users.authenticate(" wang.fang ", PASSWORD)
    assert signed.identity == Identity("wang.fang", Role.FINANCE, "wang.fang", "embedded")
    assert signed.must_change
    users.change_own_password("wang.fang", PASSWORD, "a brand new phrase 7")
    assert not users.authenticate("wang.fang", "a brand new phrase 7").must_change
    with pytest.raises(SignInFailed, match="wrong user name or password"):
        users.authenticate("wang.fang", PASSWORD)


def test_failed_sign_ins_are_slowed_then_locked_and_the_lock_survives_a_restart(users, tmp_path, clock):
    users.add("li.lei", "manager", PASSWORD, ME)
    for left in (2, 1):
        with pytest.raises(SignInFailed, match=rf"\({left} more failed tr"):
            users.authenticate("li.lei", "guess")
    assert clock.waits == [0.5, 1.0]  # doubling, capped at max_delay_seconds
    with pytest.raises(AccountLocked, match="locked for 15 minutes"):
        users.authenticate("li.lei", "guess")
    restarted = UserDirectory(tmp_path, users.settings, clock=clock, sleep=clock.sleep)
    with pytest.raises(AccountLocked, match="locked for another 15 minute"):
        restarted.authenticate("li.lei", PASSWORD)  # even the right password
    clock.now += 15 * 60 + 1
    assert restarted.authenticate("li.lei", PASSWORD).identity.role is Role.MANAGER
    kinds = [e.kind for e in entries(connect(tmp_path))]
    assert kinds == ["user_added", "account_locked"]
    assert verify(tmp_path).intact


def test_unknown_names_are_answered_and_locked_like_known_ones(users, clock):
    """The answer does not tell which names exist."""
    for _ in range(2):
        with pytest.raises(SignInFailed, match="wrong user name or password"):
            users.authenticate("nobody", "guess")
    with pytest.raises(AccountLocked):
        users.authenticate("nobody", "guess")


def test_a_reset_lifts_the_lock(users):
    users.add("li.lei", "manager", PASSWORD, ME)
    for _ in range(3):
        with pytest.raises(AccessDenied):
            users.authenticate("li.lei", "guess")
    users.reset_password("li.lei", "another phrase 99", ME)
    assert users.authenticate("li.lei", "another phrase 99").must_change


def test_a_users_row_edited_outside_the_app_cannot_sign_in(users, tmp_path):
    users.add("li.lei", "manager", PASSWORD, ME)
    with sqlite3.connect(tmp_path / "store.sqlite") as con:
        con.execute("UPDATE users SET role = 'finance' WHERE username = 'li.lei'")
    with pytest.raises(AccessDenied, match="does not match the audit trail"):
        users.authenticate("li.lei", PASSWORD)
    report = verify(tmp_path)
    assert not report.intact and "user 'li.lei'" in report.problem


def test_first_start_creates_one_admin_with_a_one_time_password(users):
    password = users.bootstrap_admin()
    assert password and len(password) >= 16
    assert users.bootstrap_admin() is None  # only when there is no user at all
    signed = users.authenticate("admin", password)
    assert signed.identity.role is Role.ADMIN and signed.must_change


@pytest.mark.parametrize("call, error, message", [
    pytest.param(lambda u: u.add("x", "finance", PASSWORD, ME), InputError, "user name: must be 2 to 64", id="short-name"),
    pytest.param(lambda u: u.add("bo b", "finance", PASSWORD, ME), InputError, "user name", id="space-in-name"),
    pytest.param(lambda u: u.add("li.lei", "finance", PASSWORD, ME), InputError, "'li.lei' already exists", id="exists"),
    pytest.param(lambda u: u.add("bob", "finance", "short", ME), InputError, "at least 12 characters", id="short-pw"),
    pytest.param(lambda u: u.add("bob", "finance", "aaaaaaaaaaaaaa", ME), InputError, "4 different", id="one-char-pw"),
    pytest.param(lambda u: u.add("bobby", "finance", "bobby-password", ME), InputError, "user name", id="name-in-pw"),
    pytest.param(lambda u: u.remove("root", ME), InputError, "'root' is the last admin", id="last-admin-removed"),
    pytest.param(lambda u: u.set_role("root", "viewer", ME), InputError, "last admin", id="last-admin-demoted"),
    pytest.param(lambda u: u.remove("ghost", ME), InputError, "no user named 'ghost'", id="unknown"),
    pytest.param(lambda u: u.add("bob", "finance", PASSWORD, Identity("li.lei", Role.MANAGER)), AccessDenied,
                 "only admin may manage users", id="manager-adds-user"),
    pytest.param(lambda u: u.set_role("li.lei", "finance", Identity("li.lei", Role.FINANCE)), AccessDenied,
                 "only admin may manage users", id="finance-promotes"),
])
def test_bad_user_changes_are_refused_and_leave_no_trace(users, tmp_path, call, error, message):
    users.add("root", "admin", PASSWORD, ME)
    users.add("li.lei", "manager", PASSWORD, ME)
    before = [(u.username, u.role) for u in users.list_users()]
    with pytest.raises(error, match=message):
        call(users)
    assert [(u.username, u.role) for u in users.list_users()] == before
    assert verify(tmp_path).entries == 2


def test_an_admin_in_the_app_manages_users_and_each_change_is_trailed(users, tmp_path):
    users.add("root", "admin", PASSWORD, ME)
    admin = Identity("root", Role.ADMIN)
    users.add("zhao", "viewer", PASSWORD, admin)
    users.set_role("zhao", "manager", admin)
    users.reset_password("zhao", "fresh phrase 123", admin)
    users.remove("zhao", admin)
    trail = [(e.actor, e.kind, e.subject) for e in entries(connect(tmp_path))]
    assert trail == [("console:tester", "user_added", "user:root"), ("root", "user_added", "user:zhao"),
                     ("root", "role_changed", "user:zhao"), ("root", "password_reset", "user:zhao"),
                     ("root", "user_removed", "user:zhao")]
    assert users.identity("zhao") is None


def test_sessions_end_when_idle_and_after_the_absolute_limit():
    settings = AccessSettings(idle_minutes=30, absolute_hours=8)
    session = Session.start(Identity("li.lei", Role.MANAGER), now=0.0)
    assert expiry_reason(session, 29 * 60, settings) is None
    assert "30 minutes without activity" in expiry_reason(session, 30 * 60, settings)
    busy = session
    for minute in range(0, 8 * 60, 20):  # active every 20 minutes
        assert expiry_reason(busy, minute * 60, settings) is None
        busy = busy.touched(minute * 60)
    assert "ended after 8 hours" in expiry_reason(busy, 8 * 3600, settings)


@pytest.mark.parametrize("text, message", [
    pytest.param("[sign_in]\nmax_failures = 0\n", "max_failures must be > 0", id="zero"),
    pytest.param("[sign_in]\nmax_failures = 'five'\n", "max_failures must be a number", id="text"),
    pytest.param("[sessions]\nidle = 5\n", "unknown key 'idle'", id="unknown-key"),
    pytest.param("[session]\nidle_minutes = 5\n", r"unknown section \[session\]", id="unknown-section"),
    pytest.param("[sessions\n", "cannot read", id="broken-toml"),
])
def test_bad_access_settings_are_one_clear_line(tmp_path, text, message):
    path = tmp_path / "access.toml"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        AccessSettings.from_toml(path)


def test_access_settings_file_overrides_defaults(tmp_path, monkeypatch):
    path = tmp_path / "access.toml"
    path.write_text("[sessions]\nidle_minutes = 5\n[sign_in]\nmax_failures = 3\n")
    monkeypatch.setenv("BUNDLE_PRICING_ACCESS_CONFIG", str(path))
    assert AccessSettings.from_toml() == AccessSettings(max_failures=3, idle_minutes=5)


def test_password_rule():
    check_password_rule("a long enough phrase")
    assert hash_password("x" * 20) != hash_password("x" * 20)  # salted


# -- the identity provider ------------------------------------------------------------------------
SECRET = "s" * 16 + "0123456789abcdef"
AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": SECRET, "client_id": "pricing",
        "client_secret": "xyz", "server_metadata_url": "https://login.example.com/.well-known/openid-configuration"}
ROLES = {"finance": ["Wang.Fang@example.com", "group:finance-approvers"], "manager": ["group:pricing"],
         "viewer": ["@example.com"], "admin": ["it.ops@example.com"]}


def test_no_auth_section_means_embedded_users():
    assert OidcConfig.from_secrets({}) is None
    assert OidcConfig.from_secrets({"roles": ROLES}) is None


def test_a_good_configuration_is_read():
    config = OidcConfig.from_secrets({"auth": AUTH, "roles": ROLES})
    assert config.providers == ("default",)
    named = {"redirect_uri": AUTH["redirect_uri"], "cookie_secret": SECRET,
             "okta": {k: AUTH[k] for k in ("client_id", "client_secret", "server_metadata_url")}}
    assert OidcConfig.from_secrets({"auth": named, "roles": ROLES}).providers == ("okta",)


@pytest.mark.parametrize("email, groups, role", [
    pytest.param("wang.fang@example.com", [], Role.FINANCE, id="exact-email-case-folded"),
    pytest.param("WANG.FANG@example.com", ["pricing"], Role.FINANCE, id="email-beats-group"),
    pytest.param("chen@example.com", ["pricing"], Role.MANAGER, id="group"),
    pytest.param("chen@example.com", ["finance-approvers", "other"], Role.FINANCE, id="one-known-group"),
    pytest.param("chen@example.com", [], Role.VIEWER, id="domain"),
    pytest.param("it.ops@example.com", [], Role.ADMIN, id="admin"),
])
def test_role_map(email, groups, role):
    config = OidcConfig.from_secrets({"auth": AUTH, "roles": ROLES})
    identity = config.identity({"email": email, "groups": groups, "name": "Someone", "is_logged_in": True})
    assert identity == Identity(email.lower(), role, "Someone", "oidc")


@pytest.mark.parametrize("user, message", [
    pytest.param({"email": "x@other.org"}, "x@other.org is not given a role", id="no-role"),
    pytest.param({"email": "chen@example.com", "groups": ["pricing", "finance-approvers"]},
                 "groups of several roles", id="two-roles"),
    pytest.param({"name": "no mail"}, "no e-mail address", id="no-email"),
    pytest.param({"email": "chen@example.com", "email_verified": False}, "not verified", id="unverified"),
])
def test_role_map_refuses(user, message):
    config = OidcConfig.from_secrets({"auth": AUTH, "roles": ROLES})
    with pytest.raises(AccessDenied, match=message):
        config.identity(user)


def test_groups_claim_can_be_renamed():
    config = OidcConfig.from_secrets({"auth": AUTH, "roles": {**ROLES, "groups_claim": "roles"}})
    assert config.identity({"email": "chen@corp.cn", "roles": "pricing"}).role is Role.MANAGER


@pytest.mark.parametrize("auth, roles, message", [
    pytest.param({k: v for k, v in AUTH.items() if k != "redirect_uri"}, ROLES, "missing redirect_uri", id="no-redirect"),
    pytest.param({**AUTH, "redirect_uri": "http://localhost:8501/callback"}, ROLES, "must end with /oauth2callback",
                 id="redirect-path"),
    pytest.param({**AUTH, "redirect_uri": "localhost:8501/oauth2callback"}, ROLES, "absolute http", id="relative"),
    pytest.param({**AUTH, "cookie_secret": "short"}, ROLES, "at least 32 characters", id="short-secret"),
    pytest.param({k: v for k, v in AUTH.items() if k != "client_secret"}, ROLES, "missing client_secret",
                 id="no-client-secret"),
    pytest.param({**AUTH, "server_metadata_url": "http://login.example.com/x"}, ROLES, "must use https",
                 id="plain-http-provider"),
    pytest.param({"redirect_uri": AUTH["redirect_uri"], "cookie_secret": SECRET}, ROLES, "names no provider",
                 id="no-provider"),
    pytest.param({**AUTH, "my_idp": {"client_id": "a"}}, ROLES, "does not allow '_'", id="underscore"),
    pytest.param(AUTH, None, r"\[roles\] is missing or empty", id="no-roles"),
    pytest.param(AUTH, {"boss": ["a@b.cn"]}, "unknown role 'boss'", id="unknown-role"),
    pytest.param(AUTH, {"finance": "a@b.cn"}, "must be a list", id="not-a-list"),
    pytest.param(AUTH, {"finance": ["a@b.cn"], "viewer": ["A@b.cn"]}, "listed under both finance and viewer",
                 id="two-roles"),
    pytest.param(AUTH, {"finance": ["nobody"]}, "is not an e-mail", id="bad-member"),
])
def test_bad_configuration_is_refused_with_what_to_fix(auth, roles, message):
    secrets = {"auth": auth} if roles is None else {"auth": auth, "roles": roles}
    with pytest.raises(OidcConfigError, match=message):
        OidcConfig.from_secrets(secrets)


def test_role_map_alone():
    assert RoleMap.from_table({"viewer": ["@a.cn"]}).role_for("x@a.cn") is Role.VIEWER
