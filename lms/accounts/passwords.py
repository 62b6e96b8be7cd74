"""Password hashing (Argon2id) and the rules a new password must meet."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

MIN_LENGTH = 10

_DEFAULT = PasswordHasher()
# Tests and demo data at size L hash thousands of passwords; a cheaper setting keeps them quick.
_FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


#: Verified against when no account matches, so a miss costs what a real check costs.
DUMMY_HASH = _DEFAULT.hash("no account has this password")


def _hasher() -> PasswordHasher:
    return _FAST if current_app.config.get("LMS_FAST_PASSWORD_HASH") else _DEFAULT


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _DEFAULT.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: str, email: str = "") -> str | None:
    """Why `password` is not acceptable, or None when it is."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if email and password.lower() == email.lower():
        return "Do not use your e-mail address as your password."
    if len(set(password)) < 4:
        return "Use a password with more variety of characters."
    return None


def check_needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)
