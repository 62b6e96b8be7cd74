"""Organisation, organisation units (regions and the teams within them), cohorts, enrolments."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Column, ForeignKey, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.timeutil import now_utc
from lms.extensions import db


class Organisation(db.Model):
    """The one organisation this installation serves: its clock and calendar."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    #: ISO weekday numbers (Monday = 1) that are working days, comma-separated.
    working_weekdays: Mapped[str] = mapped_column(String(20), default="1,2,3,4,5")

    holidays: Mapped[list[Holiday]] = relationship(
        back_populates="organisation", order_by="Holiday.day", cascade="all, delete-orphan"
    )

    @property
    def weekdays(self) -> frozenset[int]:
        """Working days as Python weekday numbers (Monday = 0)."""
        return frozenset(int(d) - 1 for d in self.working_weekdays.split(",") if d.strip())


class Holiday(db.Model):
    __tablename__ = "holidays"
    __table_args__ = (UniqueConstraint("organisation_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    day: Mapped[date]
    name: Mapped[str] = mapped_column(String(120))

    organisation: Mapped[Organisation] = relationship(back_populates="holidays")


class OrgUnit(db.Model):
    """A region, or a team inside a region."""

    __tablename__ = "org_units"
    __table_args__ = (
        CheckConstraint("kind IN ('region', 'team')", name="kind"),
        UniqueConstraint("kind", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(120))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))

    parent: Mapped[OrgUnit | None] = relationship(remote_side=[id], lazy="joined")

    @property
    def region(self) -> OrgUnit | None:
        return self if self.kind == "region" else self.parent


cohort_programmes = Table(
    "cohort_programmes",
    db.metadata,
    Column("cohort_id", ForeignKey("cohorts.id", ondelete="CASCADE"), primary_key=True),
    Column("programme_id", ForeignKey("programmes.id"), primary_key=True),
)


class Cohort(db.Model):
    """A group of learners that starts together, with a manager and the programmes it takes."""

    __tablename__ = "cohorts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    start_date: Mapped[date]
    due_date: Mapped[date | None]
    manager_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    manager = relationship("User", lazy="joined")
    programmes = relationship("Programme", secondary=cohort_programmes, lazy="selectin")


class Enrolment(db.Model):
    """One learner in one programme through a cohort: the unit with an adoption stage."""

    __tablename__ = "enrolments"
    __table_args__ = (
        UniqueConstraint("user_id", "programme_id", "cohort_id"),
        CheckConstraint("status IN ('active', 'withdrawn', 'completed')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), index=True)
    start_date: Mapped[date]
    status: Mapped[str] = mapped_column(String(12), default="active")
    withdrawn_at: Mapped[datetime | None]
    withdrawal_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    #: The adoption stage the enrolment is in; it starts in the first.
    stage_id: Mapped[str] = mapped_column(
        ForeignKey("stages.id"), default="initial", server_default="initial"
    )
    #: Kept by the stage engine (after each graded event and by `flask stages refresh`):
    #: on-track, at-risk, overdue (windowed stages) or active, inactive (open-ended ones), or
    #: waiting-for-content in any stage whose gate cannot be met for missing content.
    stage_status: Mapped[str | None] = mapped_column(String(20), index=True)
    status_reason: Mapped[str | None] = mapped_column(String(300))
    gate_met: Mapped[int] = mapped_column(default=0, server_default="0")
    gate_total: Mapped[int] = mapped_column(default=0, server_default="0")
    status_refreshed_at: Mapped[datetime | None]

    user = relationship("User")
    programme = relationship("Programme")
    cohort = relationship(Cohort)
    promotions = relationship(
        "StagePromotion", back_populates="enrolment", order_by="StagePromotion.promoted_at"
    )
    pauses = relationship("ClockPause", back_populates="enrolment", order_by="ClockPause.id")
    extensions = relationship("WindowExtension", back_populates="enrolment")
    exemptions = relationship("Exemption", back_populates="enrolment")
