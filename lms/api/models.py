"""API tokens: personal (acting as their owner) or service (for integrations), with scopes.

The token is shown once: `lms_<key>_<secret>`. Only the secret's SHA-256 is stored (the secret is
32 random bytes, so a slow hash adds nothing); the key finds the row. xAPI clients send the key
and secret as HTTP Basic user name and password.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.timeutil import now_utc
from lms.extensions import db

SCOPES = {
    "read": "Read reports and records",
    "usage:write": "Send platform usage (JSON API and xAPI statements)",
    "metrics:write": "Send process, campaign and integration records",
}


class ApiToken(db.Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    #: "personal" acts as its owner; "service" stands for an integration an admin set up.
    kind: Mapped[str] = mapped_column(String(10))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    owner = relationship("User")

    @property
    def active(self) -> bool:
        return self.revoked_at is None
