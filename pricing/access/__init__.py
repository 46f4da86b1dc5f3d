"""Who may use the app and what they may do, and the tamper-evident trail of what they did.

Owns the store file's opening rules (``database``: private file, WAL, ``BEGIN IMMEDIATE``), roles
and the signed-in :class:`Identity` (``roles``), Argon2 password hashing (``passwords``), the
embedded users with lockout (``users``), session expiry (``sessions``, ``settings``), sign-in
through a company's identity provider and its role map (``oidc``), the hash-chained trail
(``audit``) and finance's decisions with the last approved sheet derived from them
(``approvals``), generic over what is approved (a scenario, a market of a monthly run). May import
``pricing.files``, ``pricing.optimizer``, ``pricing.domain`` and ``models``; never ``streamlit``,
``pricing.runs``, ``pricing.app``, ``pricing.cli`` or the app's pages.
"""

from models.exports import lazy_exports

# Each public name and the module it comes from, loaded on first use.
_WHERE = {
    "DECISIONS": "pricing.access.approvals",
    "Approvals": "pricing.access.approvals",
    "Decision": "pricing.access.approvals",
    "FourEyesViolation": "pricing.access.approvals",
    "StaleReview": "pricing.access.approvals",
    "Subject": "pricing.access.approvals",
    "ChainReport": "pricing.access.audit",
    "TrailEntry": "pricing.access.audit",
    "verify": "pricing.access.audit",
    "STORE_ENV": "pricing.access.database",
    "default_store_dir": "pricing.access.database",
    "OidcConfig": "pricing.access.oidc",
    "OidcConfigError": "pricing.access.oidc",
    "RoleMap": "pricing.access.oidc",
    "AccessDenied": "pricing.access.roles",
    "Identity": "pricing.access.roles",
    "Permission": "pricing.access.roles",
    "Role": "pricing.access.roles",
    "parse_role": "pricing.access.roles",
    "require": "pricing.access.roles",
    "Session": "pricing.access.sessions",
    "expiry_reason": "pricing.access.sessions",
    "AccessSettings": "pricing.access.settings",
    "AccountLocked": "pricing.access.users",
    "Operator": "pricing.access.users",
    "SignIn": "pricing.access.users",
    "SignInFailed": "pricing.access.users",
    "UserDirectory": "pricing.access.users",
    "UserInfo": "pricing.access.users",
}

__all__ = [
    "DECISIONS", "Approvals", "Decision", "FourEyesViolation", "StaleReview", "Subject",
    "ChainReport", "TrailEntry", "verify", "STORE_ENV", "default_store_dir",
    "OidcConfig", "OidcConfigError", "RoleMap",
    "AccessDenied", "Identity", "Permission", "Role", "parse_role", "require",
    "Session", "expiry_reason", "AccessSettings",
    "AccountLocked", "Operator", "SignIn", "SignInFailed", "UserDirectory", "UserInfo",
]

__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
