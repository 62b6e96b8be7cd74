"""Users, their roles, and the single-use tokens behind invitation and reset links."""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.timeutil import now_utc
from lms.extensions import db


class RoleName(StrEnum):
    LEARNER = "learner"
    MANAGER = "manager"
    LEADER = "leader"
    ADMIN = "admin"


user_roles = Table(
    "user_roles",
    db.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True),
)


class Role(db.Model):
    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(20), unique=True)
    description: Mapped[str] = mapped_column(String(200), default="")


def _new_session_token() -> str:
    return secrets.token_urlsafe(16)


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True, info={"personal": True})
    name: Mapped[str] = mapped_column(String(120), info={"personal": True})
    #: None until the user accepts an invitation and chooses a password.
    password_hash: Mapped[str | None] = mapped_column(String(255), info={"personal": True})
    active: Mapped[bool] = mapped_column(default=True)
    #: IANA time zone; None means the organisation's.
    time_zone: Mapped[str | None] = mapped_column(String(64))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    #: The id the user has in the marketing platforms, for matching usage data.
    external_id: Mapped[str | None] = mapped_column(String(120), unique=True)
    #: Part of the session identity: rotating it signs the user out everywhere.
    session_token: Mapped[str] = mapped_column(String(40), default=_new_session_token)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    last_login_at: Mapped[datetime | None]
    erased_at: Mapped[datetime | None]

    roles: Mapped[list[Role]] = relationship(secondary=user_roles, lazy="selectin")
    team = relationship("OrgUnit", lazy="joined")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users at sign-in.
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    def rotate_session_token(self) -> None:
        self.session_token = _new_session_token()

    @property
    def role_names(self) -> set[str]:
        return {role.name for role in self.roles}

    def has_role(self, *names: str) -> bool:
        return bool(self.role_names.intersection(names))

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class AuthToken(db.Model):
    """One e-mailed link (invitation or password reset). The link carries a signed token id and
    secret; only the secret's hash is stored, and `used_at` makes the link single-use."""

    __tablename__ = "auth_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()
