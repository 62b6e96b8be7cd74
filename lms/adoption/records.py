"""Records behind the business metrics, per team: the process inventory (the steps of the
framework's four workflow procedures, each manual or automated, with its history), the campaign
log, integration checkpoints per domain, metric baselines, snapshots, and endorsements."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.timeutil import now_utc
from lms.extensions import db


class ProcessStep(db.Model):
    """One step of one workflow procedure (framework.yaml) as a team runs it."""

    __tablename__ = "process_steps"
    __table_args__ = (UniqueConstraint("team_id", "procedure", "step_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    procedure: Mapped[str] = mapped_column(String(80))
    step_number: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))

    team = relationship("OrgUnit")
    changes: Mapped[list[ProcessStepChange]] = relationship(
        back_populates="step", order_by="ProcessStepChange.changed_on"
    )


class ProcessStepChange(db.Model):
    """A step became manual or automated on a date, and who said so. A step with no change
    recorded is manual (the state before any automation)."""

    __tablename__ = "process_step_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("process_steps.id"), index=True)
    automated: Mapped[bool]
    changed_on: Mapped[date]
    note: Mapped[str | None] = mapped_column(String(500))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=now_utc)

    step: Mapped[ProcessStep] = relationship(back_populates="changes")


class CampaignLog(db.Model):
    """One campaign a team ran: hours spent, cost, attributed revenue and its chosen KPI."""

    __tablename__ = "campaign_logs"
    __table_args__ = (
        UniqueConstraint("team_id", "campaign", "launched_on"),
        CheckConstraint("hours_spent >= 0", name="hours_not_negative"),
        CheckConstraint("cost >= 0", name="cost_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    campaign: Mapped[str] = mapped_column(String(200))
    launched_on: Mapped[date] = mapped_column(index=True)
    hours_spent: Mapped[float]
    cost: Mapped[float] = mapped_column(Numeric(14, 2, asdecimal=False))
    attributed_revenue: Mapped[float] = mapped_column(Numeric(14, 2, asdecimal=False))
    kpi_name: Mapped[str | None] = mapped_column(String(80))
    kpi_value: Mapped[float | None]
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=now_utc)

    team = relationship("OrgUnit")


class IntegrationCheckpoint(db.Model):
    """One integration item of one domain (framework.yaml) for a team: planned or achieved."""

    __tablename__ = "integration_checkpoints"
    __table_args__ = (
        UniqueConstraint("team_id", "domain", "item"),
        CheckConstraint("status IN ('planned', 'achieved')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    domain: Mapped[str] = mapped_column(String(30))
    item: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10), default="planned")
    achieved_on: Mapped[date | None]
    evidence: Mapped[str | None] = mapped_column(Text)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(default=now_utc)

    team = relationship("OrgUnit")


class MetricBaseline(db.Model):
    """The period a team's business metrics are compared against (before the programme)."""

    __tablename__ = "metric_baselines"
    __table_args__ = (UniqueConstraint("team_id", "metric"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    metric: Mapped[str] = mapped_column(String(60))
    period_start: Mapped[date]
    period_end: Mapped[date]
    note: Mapped[str | None] = mapped_column(String(500))


class MetricSnapshot(db.Model):
    """A metric's value on a date for a scope (the organisation, a team, a region, a cohort),
    stored nightly for trends. `value` is None when the metric could not be computed. `basis`
    is how many units (learners, pairs, campaigns...: `BASIS_UNITS` of the metric registry) the
    value rests on; None on rows stored before it was recorded."""

    __tablename__ = "metric_snapshots"
    __table_args__ = (UniqueConstraint("metric", "scope", "scope_id", "as_of"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    metric: Mapped[str] = mapped_column(String(60), index=True)
    scope: Mapped[str] = mapped_column(String(20))
    scope_id: Mapped[int] = mapped_column(default=0)
    as_of: Mapped[date] = mapped_column(index=True)
    value: Mapped[float | None]
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(300))
    basis: Mapped[int | None]
    computed_at: Mapped[datetime] = mapped_column(default=now_utc)


class Endorsement(db.Model):
    """Peer recognition: one colleague endorses another's work."""

    __tablename__ = "endorsements"
    __table_args__ = (CheckConstraint("endorser_id <> endorsee_id", name="not_self"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    endorser_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    endorsee_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    note: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=now_utc, index=True)
