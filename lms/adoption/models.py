"""Platforms and their features (loaded from curricula/features.yaml), which modules teach each
feature, and the names platforms export for them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

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
