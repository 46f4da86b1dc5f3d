"""Sign-in through the company's identity provider (Streamlit's ``st.login``): the configuration
read from ``.streamlit/secrets.toml`` and checked before the app starts, and the role map.

``[auth]`` is Streamlit's own section (``redirect_uri``, ``cookie_secret``, and ``client_id``,
``client_secret``, ``server_metadata_url`` either in it or in one ``[auth.<provider>]`` table per
provider). ``[roles]`` is ours: each role lists who holds it, by e-mail address, by group
(``"group:<name>"``, read from the ID token's ``groups`` claim or the claim named by
``groups_claim``) or by e-mail domain (``"@example.com"``). An exact address wins over a group, a
group over a domain; someone matching two roles at the same level, or none, is refused.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from typing import Any, Mapping
from urllib.parse import urlparse

from pricing.access.roles import AccessDenied, Identity, Role

__all__ = ["OidcConfigError", "RoleMap", "OidcConfig", "PROVIDER_KEYS", "MIN_COOKIE_SECRET"]

PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")
SHARED_KEYS = ("redirect_uri", "cookie_secret", "expose_tokens")
MIN_COOKIE_SECRET = 32


class OidcConfigError(ValueError):
    """``.streamlit/secrets.toml`` does not describe a usable sign-in; the message says what to fix."""


def _url(value: Any, where: str, *, https: bool) -> str:
    parsed = urlparse(str(value))
    local = parsed.hostname in ("localhost", "127.0.0.1")
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise OidcConfigError(f"{where} must be an absolute http(s) URL, got {str(value)[:80]!r}")
    if https and parsed.scheme != "https" and not local:
        raise OidcConfigError(f"{where} must use https (only localhost may use http), got {str(value)[:80]!r}")
    return str(value)


@dataclass(frozen=True)
class RoleMap:
    """Who holds which role: exact addresses, groups and domains, each mapped to one role."""

    emails: Mapping[str, Role] = field(default_factory=dict)
    groups: Mapping[str, Role] = field(default_factory=dict)
    domains: Mapping[str, Role] = field(default_factory=dict)
    groups_claim: str = "groups"

    @classmethod
    def from_table(cls, table: Mapping[str, Any], source: str = "[roles]") -> "RoleMap":
        if not isinstance(table, Mapping) or not table:
            raise OidcConfigError(f"{source} is missing or empty: list who holds each role, e.g. "
                                  'finance = ["wang.fang@example.com", "group:finance"]')
        found: dict[str, dict[str, Role]] = {"emails": {}, "groups": {}, "domains": {}}
        claim = "groups"
        for key, members in table.items():
            if key == "groups_claim":
                claim = str(members)
                continue
            try:
                role = Role(key)
            except ValueError:
                raise OidcConfigError(f"{source} unknown role {key!r}; expected {', '.join(r.value for r in Role)} "
                                      "(or groups_claim)") from None
            if isinstance(members, str) or not isinstance(members, (list, tuple)):
                raise OidcConfigError(f"{source} {key} must be a list of e-mails, \"group:<name>\" or "
                                      f"\"@domain\", got {str(members)[:80]!r}")
            for member in members:
                kind, name = cls._classify(str(member).strip(), f"{source} {key}")
                if name in found[kind] and found[kind][name] != role:
                    raise OidcConfigError(f"{source}: {member!r} is listed under both {found[kind][name].value} and "
                                          f"{role.value}; give it one role")
                found[kind][name] = role
        return cls(found["emails"], found["groups"], found["domains"], claim)

    @staticmethod
    def _classify(member: str, where: str) -> tuple[str, str]:
        if member.startswith("group:") and len(member) > 6:
            return "groups", member[6:]
        if member.startswith("@") and "." in member[1:]:
            return "domains", member[1:].lower()
        if "@" in member[1:-1] and " " not in member:
            return "emails", member.lower()
        raise OidcConfigError(f"{where}: {member[:80]!r} is not an e-mail, \"group:<name>\" or \"@domain\"")

    def role_for(self, email: str, groups: list[str] | tuple[str, ...] = ()) -> Role:
        """The role of a person signed in as ``email`` in ``groups``; :class:`AccessDenied` when
        they match none, or two at the same level."""
        email = email.strip().lower()
        if email in self.emails:
            return self.emails[email]
        by_group = {self.groups[g]: g for g in groups if g in self.groups}
        if len(by_group) > 1:
            listed = ", ".join(f"{g} -> {r.value}" for r, g in sorted(by_group.items()))
            raise AccessDenied(f"{email} is in groups of several roles ({listed}); the role map must give one role")
        if by_group:
            return next(iter(by_group))
        domain = email.rpartition("@")[2]
        if domain in self.domains:
            return self.domains[domain]
        raise AccessDenied(f"{email} is not given a role in [roles] of .streamlit/secrets.toml; ask an admin")


@dataclass(frozen=True)
class OidcConfig:
    """A checked ``[auth]`` section with its provider names and the ``[roles]`` map."""

    providers: tuple[str, ...]
    role_map: RoleMap

    @classmethod
    def from_secrets(cls, secrets: Mapping[str, Any]) -> "OidcConfig | None":
        """The configuration in ``secrets`` (``st.secrets`` or a parsed ``secrets.toml``); None
        when it has no ``[auth]`` section (the embedded users are used then).

        Raises
        ------
        OidcConfigError
            A missing or malformed key, a short cookie secret, a missing role map, or Authlib
            not installed.
        """
        auth = secrets.get("auth") if isinstance(secrets, Mapping) else None
        if auth is None:
            return None
        where = ".streamlit/secrets.toml [auth]"
        if not isinstance(auth, Mapping):
            raise OidcConfigError(f"{where} must be a table")
        for key in ("redirect_uri", "cookie_secret"):
            if not str(auth.get(key, "")).strip():
                raise OidcConfigError(f"{where} is missing {key}")
        redirect = _url(auth["redirect_uri"], f"{where} redirect_uri", https=False)
        if not urlparse(redirect).path.endswith("/oauth2callback"):
            raise OidcConfigError(f"{where} redirect_uri must end with /oauth2callback, got {redirect[:80]!r}")
        if len(str(auth["cookie_secret"])) < MIN_COOKIE_SECRET:
            raise OidcConfigError(f"{where} cookie_secret must be a random string of at least {MIN_COOKIE_SECRET} "
                                  "characters (python -c 'import secrets; print(secrets.token_hex(32))')")
        providers = cls._providers(auth, where)
        if importlib.util.find_spec("authlib") is None:
            raise OidcConfigError("signing in with an identity provider needs Authlib: pip install 'Authlib>=1.3.2'")
        return cls(providers, RoleMap.from_table(secrets.get("roles"), "[roles]"))

    @staticmethod
    def _providers(auth: Mapping[str, Any], where: str) -> tuple[str, ...]:
        named = {k: v for k, v in auth.items() if isinstance(v, Mapping)}
        top = {k: auth[k] for k in PROVIDER_KEYS if k in auth}
        sections = ({"default": top} if top else {}) | {k: v for k, v in named.items()}
        if not sections:
            raise OidcConfigError(f"{where} names no provider: add {', '.join(PROVIDER_KEYS)} to it, or an "
                                  "[auth.<provider>] table with them")
        for name, section in sections.items():
            label = where if name == "default" else f".streamlit/secrets.toml [auth.{name}]"
            if "_" in name:
                raise OidcConfigError(f"{label}: Streamlit does not allow '_' in a provider name")
            missing = [k for k in PROVIDER_KEYS if not str(section.get(k, "")).strip()]
            if missing:
                raise OidcConfigError(f"{label} is missing {', '.join(missing)}")
            _url(section["server_metadata_url"], f"{label} server_metadata_url", https=True)
        return tuple(sections)

    def identity(self, user: Mapping[str, Any]) -> Identity:
        """The :class:`Identity` of a signed-in ``st.user``; :class:`AccessDenied` without a
        verified e-mail or without a role."""
        email = str(user.get("email") or "").strip().lower()
        if not email:
            raise AccessDenied("the identity provider sent no e-mail address; add the 'email' scope")
        if user.get("email_verified") is False:
            raise AccessDenied(f"the identity provider says {email} is not verified")
        raw_groups = user.get(self.role_map.groups_claim) or ()
        groups = [raw_groups] if isinstance(raw_groups, str) else [str(g) for g in raw_groups]
        role = self.role_map.role_for(email, groups)
        return Identity(email, role, str(user.get("name") or email), "oidc")
