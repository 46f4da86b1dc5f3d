"""A signed-in session and when it ends: after ``idle_minutes`` without activity, and after
``absolute_hours`` in any case (:class:`pricing.access.settings.AccessSettings`)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from pricing.access.roles import Identity
from pricing.access.settings import AccessSettings

__all__ = ["Session", "expiry_reason"]


@dataclass(frozen=True)
class Session:
    """Who is signed in, since when and last seen when (seconds since the epoch)."""

    identity: Identity
    started_at: float
    last_seen: float
    must_change_password: bool = False

    @classmethod
    def start(cls, identity: Identity, now: float, must_change_password: bool = False) -> "Session":
        return cls(identity, now, now, must_change_password)

    def touched(self, now: float) -> "Session":
        return replace(self, last_seen=now)


def expiry_reason(session: Session, now: float, settings: AccessSettings) -> str | None:
    """Why ``session`` has ended at ``now`` (a sentence for the sign-in page), or None when it
    is still valid."""
    if now - session.started_at >= 3600 * settings.absolute_hours:
        return f"Your session ended after {settings.absolute_hours:g} hours; please sign in again."
    if now - session.last_seen >= 60 * settings.idle_minutes:
        return f"Signed out after {settings.idle_minutes:g} minutes without activity; please sign in again."
    return None
