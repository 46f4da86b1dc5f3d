"""Sign-in and session settings: how many failed tries lock an account, for how long, and when a
session ends.

Defaults are below; ``$BUNDLE_PRICING_ACCESS_CONFIG`` may name a TOML file that overrides them::

    [sign_in]
    max_failures = 5          # consecutive failed sign-ins before the account locks
    lockout_minutes = 15      # how long it stays locked
    delay_seconds = 1.0       # wait after a failed try, doubling with each further failure ...
    max_delay_seconds = 8.0   # ... up to this
    [sessions]
    idle_minutes = 30         # signed out after this long without a click
    absolute_hours = 12       # and after this long in any case
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from models.errors import InputError

__all__ = ["AccessSettings", "ACCESS_CONFIG_ENV"]

ACCESS_CONFIG_ENV = "BUNDLE_PRICING_ACCESS_CONFIG"
_SECTIONS = {"sign_in": ("max_failures", "lockout_minutes", "delay_seconds", "max_delay_seconds"),
             "sessions": ("idle_minutes", "absolute_hours")}


@dataclass(frozen=True)
class AccessSettings:
    """Lockout and session limits. Times in the units their names say."""

    max_failures: int = 5
    lockout_minutes: float = 15.0
    delay_seconds: float = 1.0
    max_delay_seconds: float = 8.0
    idle_minutes: float = 30.0
    absolute_hours: float = 12.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value == value:
                raise InputError("access settings", f"{f.name} must be a number, got {str(value)[:80]!r}")
            if value < 0 or (f.name in ("max_failures", "idle_minutes", "absolute_hours") and value <= 0):
                raise InputError("access settings", f"{f.name} must be > 0, got {value}")
        if int(self.max_failures) != self.max_failures:
            raise InputError("access settings", f"max_failures must be a whole number, got {self.max_failures}")

    def delay_after(self, failures: int) -> float:
        """Seconds to wait after the ``failures``-th consecutive failed sign-in (doubling)."""
        if failures <= 0 or self.delay_seconds == 0:
            return 0.0
        return min(self.max_delay_seconds, self.delay_seconds * 2 ** (failures - 1))

    @classmethod
    def from_toml(cls, path: str | Path | None = None) -> "AccessSettings":
        """The defaults, overridden by ``path`` or ``$BUNDLE_PRICING_ACCESS_CONFIG`` when given."""
        path = path if path is not None else os.environ.get(ACCESS_CONFIG_ENV)
        if not path:
            return cls()
        name = Path(path).name
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise InputError(name, f"cannot read the access settings: {str(exc)[:120]}") from None
        values = {}
        for section, body in raw.items():
            if section not in _SECTIONS or not isinstance(body, dict):
                raise InputError(name, f"unknown section [{section}]; expected {', '.join(_SECTIONS)}")
            for key, value in body.items():
                if key not in _SECTIONS[section]:
                    raise InputError(name, f"[{section}] unknown key {key!r}; expected {', '.join(_SECTIONS[section])}")
                values[key] = value
        return cls(**values)
