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

from pricing.access.approvals import DECISIONS, Approvals, Decision, FourEyesViolation, StaleReview, Subject
from pricing.access.audit import ChainReport, TrailEntry, verify
from pricing.access.database import STORE_ENV, default_store_dir
from pricing.access.oidc import OidcConfig, OidcConfigError, RoleMap
from pricing.access.roles import AccessDenied, Identity, Permission, Role, parse_role, require
from pricing.access.sessions import Session, expiry_reason
from pricing.access.settings import AccessSettings
from pricing.access.users import AccountLocked, Operator, SignIn, SignInFailed, UserDirectory, UserInfo

__all__ = [
    "DECISIONS", "Approvals", "Decision", "FourEyesViolation", "StaleReview", "Subject",
    "ChainReport", "TrailEntry", "verify", "STORE_ENV", "default_store_dir",
    "OidcConfig", "OidcConfigError", "RoleMap",
    "AccessDenied", "Identity", "Permission", "Role", "parse_role", "require",
    "Session", "expiry_reason", "AccessSettings",
    "AccountLocked", "Operator", "SignIn", "SignInFailed", "UserDirectory", "UserInfo",
]
