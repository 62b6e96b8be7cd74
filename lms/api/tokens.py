"""Issuing, checking and revoking API tokens; reading them from a request (Bearer or Basic)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from flask import Request
from sqlalchemy import select

from lms.api.models import SCOPES, ApiToken
from lms.audit.operations import record
from lms.core.timeutil import now_utc
from lms.extensions import db

PREFIX = "lms"


class TokenError(ValueError):
    pass


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    #: The whole token, shown to its owner once and never stored.
    plain: str


def allowed_scopes(user) -> set[str]:
    """What a user may give a personal token: only what their roles let them do anyway."""
    scopes = {"read"} if user.has_role("manager", "leader", "admin") else set()
    if user.has_role("manager", "admin"):
        scopes |= {"usage:write", "metrics:write"}
    return scopes


def issue(owner, name: str, scopes: list[str], kind: str = "personal") -> IssuedToken:
    unknown = set(scopes) - SCOPES.keys()
    if unknown or not scopes:
        raise TokenError(f"choose scopes from {', '.join(SCOPES)}")
    if kind == "personal" and not set(scopes) <= allowed_scopes(owner):
        raise TokenError("a personal token cannot do more than its owner")
    key = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    token = ApiToken(
        name=name.strip() or "Unnamed token",
        kind=kind,
        owner=owner,
        key=key,
        secret_hash=_hash(secret),
        scopes=sorted(set(scopes)),
    )
    db.session.add(token)
    db.session.flush()
    record("api_token.issued", target=token, kind=kind, scopes=token.scopes, name=token.name)
    return IssuedToken(token, f"{PREFIX}_{key}_{secret}")


def revoke(token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = now_utc()
        record("api_token.revoked", target=token, name=token.name)


def _check(key: str, secret: str) -> ApiToken | None:
    token = db.session.scalar(select(ApiToken).where(ApiToken.key == key))
    if token is None or not hmac.compare_digest(token.secret_hash, _hash(secret)):
        return None
    if token.revoked_at is not None or not token.owner.active:
        return None
    return token


def from_request(request: Request) -> ApiToken | None:
    """The token a request carries: `Authorization: Bearer lms_<key>_<secret>`, or HTTP Basic
    with the key as user name and the secret as password (what xAPI clients send)."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        parts = value.split("_", 2)
        if len(parts) != 3 or parts[0] != PREFIX:
            return None
        return _touch(_check(parts[1], parts[2]))
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return None
        key, _, secret = decoded.partition(":")
        if key.startswith(f"{PREFIX}_"):  # the whole token pasted as the user name
            parts = key.split("_", 2)
            if len(parts) == 3:
                key, secret = parts[1], parts[2]
        return _touch(_check(key, secret))
    return None


def _touch(token: ApiToken | None) -> ApiToken | None:
    if token is not None:
        token.last_used_at = now_utc()
    return token
