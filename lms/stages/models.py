"""What happens to an enrolment's stage: promotions, clock pauses, window extensions and
requirement exemptions. Each manager action carries the reason that also goes to the audit log."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.timeutil import now_utc
from lms.extensions import db


class StagePromotion(db.Model):
    __tablename__ = "stage_promotions"
    __table_args__ = (UniqueConstraint("enrolment_id", "from_stage_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), index=True)
    from_stage_id: Mapped[str] = mapped_column(ForeignKey("stages.id"))
    to_stage_id: Mapped[str] = mapped_column(ForeignKey("stages.id"))
    promoted_at: Mapped[datetime] = mapped_column(default=now_utc)
    #: The stage-clock day (organisation calendar, pauses excluded) of the promotion.
    on_day: Mapped[int]
    #: The requirements met, each with what met it (attempt id and score, completion date...).
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    enrolment = relationship("Enrolment", back_populates="promotions")


class ClockPause(db.Model):
    """The stage clock stopped (leave, say) from `paused_on` until `resumed_on`."""

    __tablename__ = "clock_pauses"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), index=True)
    paused_on: Mapped[date]
    resumed_on: Mapped[date | None]
    reason: Mapped[str] = mapped_column(String(500))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    enrolment = relationship("Enrolment", back_populates="pauses")


class WindowExtension(db.Model):
    __tablename__ = "window_extensions"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), index=True)
    stage_id: Mapped[str] = mapped_column(ForeignKey("stages.id"))
    days: Mapped[int]
    reason: Mapped[str] = mapped_column(String(500))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    enrolment = relationship("Enrolment", back_populates="extensions")


class Exemption(db.Model):
    """A gate requirement a manager waived for one enrolment."""

    __tablename__ = "exemptions"
    __table_args__ = (UniqueConstraint("enrolment_id", "requirement"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), index=True)
    #: The requirement's key, "kind:ref", e.g. "assessment-passed:strategic-alignment-check".
    requirement: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(500))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    enrolment = relationship("Enrolment", back_populates="exemptions")


class ClockHold(db.Model):
    """The stage clock held because the gate cannot be met: a requirement of the current stage
    refers to content still in preparation (a module without a lesson, say). Kept by the engine,
    not by a manager: it opens when the engine first sees the gate blocked and is released on the
    day the content arrives. The days held do not count against the stage window."""

    __tablename__ = "clock_holds"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), index=True)
    stage_id: Mapped[str] = mapped_column(ForeignKey("stages.id"))
    held_from: Mapped[date]
    released_on: Mapped[date | None]
    #: What the learner waits for, in words ("“Automation Architecture” is in preparation").
    reason: Mapped[str] = mapped_column(String(500))
