"""Who may do what: the four roles, the signed-in identity, and the one check every caller uses."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from models.errors import InputError

__all__ = ["Role", "Permission", "Identity", "AccessDenied", "ROLE_PERMISSIONS", "require", "parse_role"]


class Role(str, enum.Enum):
    """A person's one role. Roles are not ranked: an admin manages users but does not approve
    prices, and finance approves but does not manage users (separation of duties)."""

    VIEWER = "viewer"
    MANAGER = "manager"
    FINANCE = "finance"
    ADMIN = "admin"


class Permission(str, enum.Enum):
    READ = "read results and sheets"
    WHATIF = "run what-ifs and save scenarios"
    DECIDE = "approve or reject price sheets"
    MANAGE_USERS = "manage users"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.READ}),
    Role.MANAGER: frozenset({Permission.READ, Permission.WHATIF}),
    Role.FINANCE: frozenset({Permission.READ, Permission.DECIDE}),
    Role.ADMIN: frozenset({Permission.READ, Permission.MANAGE_USERS}),
}


class AccessDenied(PermissionError):
    """The signed-in person may not do this (wrong role, their own scenario, a locked account)."""


def parse_role(text: str, source: str = "role") -> Role:
    """``text`` as a :class:`Role`; :class:`models.errors.InputError` naming the roles otherwise."""
    try:
        return Role(str(text).strip().lower())
    except ValueError:
        raise InputError(source, f"must be one of {', '.join(r.value for r in Role)}, got {str(text)[:80]!r}") from None


@dataclass(frozen=True)
class Identity:
    """A signed-in person as the library sees them.

    ``username`` is the embedded user name or, through the company's identity provider, the
    e-mail address (lower case); ``source`` says which (``"embedded"`` or ``"oidc"``).
    """

    username: str
    role: Role
    display_name: str = ""
    source: str = "embedded"

    @property
    def label(self) -> str:
        name = self.display_name or self.username
        return f"{name} ({self.role.value})"

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]


def require(actor: Identity | None, permission: Permission) -> Identity:
    """Return ``actor`` when they hold ``permission``; raise :class:`AccessDenied` otherwise."""
    if not isinstance(actor, Identity):
        raise AccessDenied(f"signed-in identity required to {permission.value}; got {type(actor).__name__}")
    if not actor.can(permission):
        allowed = ", ".join(r.value for r, perms in ROLE_PERMISSIONS.items() if permission in perms)
        raise AccessDenied(f"{actor.username} has the role {actor.role.value}; only {allowed} may {permission.value}")
    return actor
