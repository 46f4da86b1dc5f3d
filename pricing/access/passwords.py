"""Password hashing (Argon2id through argon2-cffi), the password rule, and one-time passwords."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from models.errors import InputError

__all__ = ["hash_password", "verify_password", "needs_rehash", "check_password_rule", "one_time_password",
           "MIN_PASSWORD_LENGTH", "dummy_hash"]

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # Argon2 takes any length; this bounds the work a sign-in can ask for
# argon2-cffi's defaults (RFC 9106's second recommendation: 64 MiB, 3 passes, 4 lanes).
_HASHER = PasswordHasher()
_DUMMY_HASHES: dict[int, str] = {}


def dummy_hash() -> str:
    """A hash of a random password with the current parameters, verified against when the user
    name is unknown, so an unknown name costs the same time as a wrong password and timing does
    not tell which names exist.

    Made on first use, not at import: one Argon2 hash costs about 0.2 s, which every command
    (``optimize`` included) paid at start-up when it was a module constant."""
    key = id(_HASHER)
    if key not in _DUMMY_HASHES:
        _DUMMY_HASHES[key] = _HASHER.hash(secrets.token_urlsafe(16))
    return _DUMMY_HASHES[key]


def hash_password(password: str) -> str:
    """The Argon2id hash of ``password`` (salt and parameters inside the returned string)."""
    return _HASHER.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash``; False (never an exception) for a wrong
    password or a damaged hash."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    try:
        return _HASHER.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


def check_password_rule(password: str, username: str = "") -> None:
    """Raise :class:`InputError` unless ``password`` is at least :data:`MIN_PASSWORD_LENGTH`
    characters, not all one character, and not the user name."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError("password", f"must be at least {MIN_PASSWORD_LENGTH} characters, got {len(password)}")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InputError("password", f"must be at most {MAX_PASSWORD_LENGTH} characters, got {len(password)}")
    if len(set(password)) < 4:
        raise InputError("password", "must use at least 4 different characters")
    if username and username.lower() in password.lower():
        raise InputError("password", "must not contain the user name")


def one_time_password() -> str:
    """A random password for a first sign-in (about 95 bits), to be changed at once."""
    return secrets.token_urlsafe(12)
