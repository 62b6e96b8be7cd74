"""Platforms and their features (loaded from curricula/features.yaml), which modules teach each
feature, and the names platforms export for them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.timeutil import now_utc
from lms.extensions import db

feature_modules = Table(
    "feature_modules",
    db.metadata,
    Column("feature_id", ForeignKey("features.id", ondelete="CASCADE"), primary_key=True),
    Column("module_id", ForeignKey("modules.id"), primary_key=True),
)


class Platform(db.Model):
    __tablename__ = "platforms"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    retired_at: Mapped[datetime | None]

    features: Mapped[list[Feature]] = relationship(
        back_populates="platform", order_by="Feature.position"
    )


class Feature(db.Model):
    __tablename__ = "features"

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id"), index=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    iri: Mapped[str] = mapped_column(String(400), unique=True)
    retired_at: Mapped[datetime | None]

    platform: Mapped[Platform] = relationship(back_populates="features")
    modules = relationship("Module", secondary=feature_modules, lazy="selectin")


class FeatureAlias(db.Model):
    """A name a platform uses for a feature: from the catalogue, or mapped by an admin."""

    __tablename__ = "feature_aliases"
    __table_args__ = (UniqueConstraint("platform_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id"))
    #: Case-folded, so matching ignores case.
    name: Mapped[str] = mapped_column(String(200))
    feature_id: Mapped[int] = mapped_column(ForeignKey("features.id"), index=True)
    #: "catalogue" (from features.yaml) or "admin" (mapped on the held-rows page).
    source: Mapped[str] = mapped_column(String(20), default="catalogue")


class UsageEvent(db.Model):
    """Use of one feature by one person at one time (`count` uses), from any ingestion path.
    `event_key` (the sender's event id, or a hash of the row) makes ingestion idempotent."""

    __tablename__ = "usage_events"
    __table_args__ = (
        Index("ix_usage_events_user_feature_time", "user_id", "feature_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_key: Mapped[str] = mapped_column(String(200), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    feature_id: Mapped[int] = mapped_column(ForeignKey("features.id"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    count: Mapped[int] = mapped_column(default=1)
    #: "csv", "api", "xapi" (and the file or token behind it in `source_ref`).
    source: Mapped[str] = mapped_column(String(10))
    source_ref: Mapped[str | None] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(default=now_utc)


class HeldUsage(db.Model):
    """A usage row naming a feature the catalogue does not know: held, not dropped, and
    replayed into `usage_events` when an admin maps the name to a feature."""

    __tablename__ = "held_usage"
    __table_args__ = (Index("ix_held_usage_platform_name", "platform_id", "feature_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_key: Mapped[str] = mapped_column(String(200), unique=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id"))
    #: Case-folded name as sent.
    feature_name: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    occurred_at: Mapped[datetime]
    count: Mapped[int]
    source: Mapped[str] = mapped_column(String(10))
    source_ref: Mapped[str | None] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(default=now_utc)


class ImportJob(db.Model):
    """A large upload processed in the background; its state is kept here for the progress
    bar, whichever worker (an RQ worker or a thread) runs it."""

    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    filename: Mapped[str] = mapped_column(String(255))
    #: queued, running, done, failed
    status: Mapped[str] = mapped_column(String(10), default="queued")
    total_rows: Mapped[int] = mapped_column(default=0)
    processed_rows: Mapped[int] = mapped_column(default=0)
    accepted: Mapped[int] = mapped_column(default=0)
    duplicates: Mapped[int] = mapped_column(default=0)
    held: Mapped[int] = mapped_column(default=0)
    problems: Mapped[list[Any]] = mapped_column(JSON, default=list)
    problem_count: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(String(500))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    finished_at: Mapped[datetime | None]
    #: The upload itself, until processed (deleted when the job finishes).
    payload: Mapped[str | None] = mapped_column(Text)

    @property
    def fraction(self) -> float:
        return self.processed_rows / self.total_rows if self.total_rows else 0.0


class XapiStatement(db.Model):
    """Statements received at /xapi/statements, kept by id as an LRS keeps them."""

    __tablename__ = "xapi_statements"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    statement: Mapped[dict[str, Any]] = mapped_column(JSON)
    stored_at: Mapped[datetime] = mapped_column(default=now_utc)
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"))
    #: The person it is about, when the actor matched one (for export and erasure).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
