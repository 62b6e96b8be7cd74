"""Account operations: create and update users, invitations, password resets, sign-in checks.

Plain functions over models; the caller commits. Views, the CLI and the importer all use these.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, has_request_context, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from lms.accounts.models import AuthToken, Role, RoleName, User
from lms.accounts.passwords import hash_password
from lms.audit.operations import record
from lms.core.timeutil import as_utc, now_utc
from lms.extensions import db
from lms.mail.outbox import queue

INVITATION = "invitation"
PASSWORD_RESET = "password-reset"  # noqa: S105 (a purpose name, not a password)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def roles_by_name(names: set[str] | list[str]) -> list[Role]:
    wanted = set(names)
    roles = list(db.session.scalars(select(Role).where(Role.name.in_(wanted))))
    missing = wanted - {role.name for role in roles}
    if missing:
        raise ValueError(f"unknown role(s): {', '.join(sorted(missing))}")
    return sorted(roles, key=lambda role: role.name)


def ensure_roles() -> None:
    """Create the four roles if they are missing (idempotent)."""
    existing = set(db.session.scalars(select(Role.name)))
    descriptions = {
        RoleName.LEARNER: "Takes programmes: lessons, assessments, demonstrations.",
        RoleName.MANAGER: "Runs cohorts: enrols learners, grades, reads the cohort dashboard.",
        RoleName.LEADER: "Reads the adoption-success reports across the organisation.",
        RoleName.ADMIN: "Manages users, roles, teams, curricula, tokens and data.",
    }
    for name, description in descriptions.items():
        if name.value not in existing:
            db.session.add(Role(name=name.value, description=description))
    db.session.flush()


def set_roles(user: User, names: set[str], *, reason: str | None = None) -> bool:
    """Give `user` exactly the roles `names`; audited when anything changes."""
    before = user.role_names
    if before == set(names):
        return False
    user.roles = roles_by_name(names)
    record(
        "user.roles_changed",
        target=user,
        reason=reason,
        before=sorted(before),
        after=sorted(names),
    )
    return True


def deactivate(user: User, *, reason: str | None = None) -> None:
    user.active = False
    user.rotate_session_token()  # signs them out everywhere
    record("user.deactivated", target=user, reason=reason)


def reactivate(user: User, *, reason: str | None = None) -> None:
    user.active = True
    record("user.reactivated", target=user, reason=reason)


def set_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    user.rotate_session_token()


# --- e-mailed links -----------------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="lms.auth-token")


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _max_age(purpose: str) -> timedelta:
    hours = current_app.config[
        "LMS_INVITATION_MAX_AGE_HOURS"
        if purpose == INVITATION
        else "LMS_PASSWORD_RESET_MAX_AGE_HOURS"
    ]
    return timedelta(hours=hours)


def issue_link_token(user: User, purpose: str) -> str:
    """A signed token for an e-mailed link; earlier unused tokens for the same purpose lapse."""
    now = now_utc()
    for token in db.session.scalars(
        select(AuthToken).where(
            AuthToken.user_id == user.id, AuthToken.purpose == purpose, AuthToken.used_at.is_(None)
        )
    ):
        token.used_at = now
    secret = secrets.token_urlsafe(24)
    row = AuthToken(
        user=user,
        purpose=purpose,
        secret_hash=_hash_secret(secret),
        expires_at=now + _max_age(purpose),
    )
    db.session.add(row)
    db.session.flush()
    return _serializer().dumps({"t": row.id, "s": secret, "p": purpose})


@dataclass(frozen=True)
class TokenCheck:
    token: AuthToken | None
    problem: str | None


def check_link_token(signed: str, purpose: str) -> TokenCheck:
    """The token row behind a link, or why the link cannot be used."""
    invalid = "This link is not valid. Ask for a new one."
    try:
        data = _serializer().loads(signed, max_age=int(_max_age(purpose).total_seconds()))
    except BadSignature:
        return TokenCheck(None, invalid)
    if not isinstance(data, dict) or data.get("p") != purpose:
        return TokenCheck(None, invalid)
    row = db.session.get(AuthToken, data.get("t"))
    if row is None or row.purpose != purpose:
        return TokenCheck(None, invalid)
    if not hmac.compare_digest(row.secret_hash, _hash_secret(str(data.get("s", "")))):
        return TokenCheck(None, invalid)
    if row.used_at is not None:
        return TokenCheck(None, "This link has already been used. Ask for a new one.")
    if as_utc(row.expires_at) < now_utc():
        return TokenCheck(None, "This link has expired. Ask for a new one.")
    if not row.user.active:
        return TokenCheck(None, "This account is deactivated. Ask an administrator.")
    return TokenCheck(row, None)


def redeem_link_token(token: AuthToken, password: str) -> User:
    token.used_at = now_utc()
    user = token.user
    set_password(user, password)
    record(f"user.{token.purpose.replace('-', '_')}_redeemed", target=user, actor=user)
    return user


def send_invitation(user: User) -> None:
    signed = issue_link_token(user, INVITATION)
    link = _external_url("accounts.accept_invitation", signed)
    hours = current_app.config["LMS_INVITATION_MAX_AGE_HOURS"]
    queue(
        user.email,
        f"You are invited to {current_app.config['LMS_ORGANISATION_NAME']}'s learning platform",
        f"Hello {user.name},\n\nAn account has been created for you. Choose a password to "
        f"sign in:\n\n{link}\n\nThe link works once and expires in {hours} hours.\n",
        user_id=user.id,
    )


def send_password_reset(user: User) -> None:
    signed = issue_link_token(user, PASSWORD_RESET)
    link = _external_url("accounts.reset_password", signed)
    hours = current_app.config["LMS_PASSWORD_RESET_MAX_AGE_HOURS"]
    queue(
        user.email,
        "Reset your password",
        f"Hello {user.name},\n\nSomeone asked to reset the password of this account. If it was "
        f"you, choose a new password here:\n\n{link}\n\nThe link works once and expires in "
        f"{hours} hours. If it was not you, ignore this message.\n",
        user_id=user.id,
    )


def _external_url(endpoint: str, token: str) -> str:
    base = current_app.config["LMS_BASE_URL"].rstrip("/")
    if has_request_context():
        return base + url_for(endpoint, token=token)
    # The command line (`flask users import`) has no request to build the URL from.
    return base + current_app.url_map.bind("localhost").build(endpoint, {"token": token})
