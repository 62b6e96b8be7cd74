"""Assessments and their questions (versioned), attempts with snapshots, extra-time grants.

A question's content lives in `QuestionVersion`: editing a question in its file makes a new
version, and an attempt's items keep the snapshot of exactly what the learner was shown, so a
past result never changes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.timeutil import now_utc
from lms.extensions import db


class Assessment(db.Model):
    __tablename__ = "assessments"
    __table_args__ = (UniqueConstraint("programme_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    #: The module it belongs to; None for a programme's pre- and post-assessment.
    module_id: Mapped[int | None] = mapped_column(ForeignKey("modules.id"), index=True)
    slug: Mapped[str] = mapped_column(String(80))
    #: "module", "pre" or "post".
    purpose: Mapped[str] = mapped_column(String(10), default="module")
    title: Mapped[str] = mapped_column(String(300))
    pass_mark: Mapped[float]
    attempts_allowed: Mapped[int | None]
    time_limit_minutes: Mapped[int | None]
    draw: Mapped[int | None]
    feedback: Mapped[str] = mapped_column(String(30), default="after-each-attempt")
    retired_at: Mapped[datetime | None]

    programme = relationship("Programme")
    module = relationship("Module")
    questions: Mapped[list[Question]] = relationship(
        back_populates="assessment", order_by="Question.position"
    )


class Question(db.Model):
    __tablename__ = "questions"
    __table_args__ = (UniqueConstraint("assessment_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"), index=True)
    slug: Mapped[str] = mapped_column(String(80))
    position: Mapped[int]
    retired_at: Mapped[datetime | None]

    assessment: Mapped[Assessment] = relationship(back_populates="questions")
    versions: Mapped[list[QuestionVersion]] = relationship(
        back_populates="question", order_by="QuestionVersion.number"
    )


class QuestionVersion(db.Model):
    __tablename__ = "question_versions"
    __table_args__ = (UniqueConstraint("question_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), index=True)
    number: Mapped[int]
    type: Mapped[str] = mapped_column(String(30))
    content_hash: Mapped[str] = mapped_column(String(64))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    question: Mapped[Question] = relationship(back_populates="versions")


class Attempt(db.Model):
    """One learner's go at an assessment. Graded on the server at submission."""

    __tablename__ = "attempts"
    __table_args__ = (
        UniqueConstraint("user_id", "assessment_id", "number"),
        # At most one attempt in progress per learner and assessment, even under a double
        # click or two tabs: the database refuses the second.
        Index(
            "uq_attempts_one_in_progress",
            "user_id",
            "assessment_id",
            unique=True,
            sqlite_where=text("status = 'in-progress'"),
            postgresql_where=text("status = 'in-progress'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"), index=True)
    number: Mapped[int]
    seed: Mapped[int]
    #: "in-progress", "submitted" (graded) or "expired" (graded after the time limit).
    status: Mapped[str] = mapped_column(String(12), default="in-progress")
    started_at: Mapped[datetime] = mapped_column(default=now_utc)
    deadline_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime | None]
    score: Mapped[float | None]
    max_score: Mapped[float | None]
    passed: Mapped[bool | None]

    assessment: Mapped[Assessment] = relationship()
    user = relationship("User")
    items: Mapped[list[AttemptItem]] = relationship(
        back_populates="attempt", order_by="AttemptItem.position"
    )

    @property
    def percent(self) -> float | None:
        if self.score is None or not self.max_score:
            return None
        return self.score / self.max_score


class AttemptItem(db.Model):
    """One question as shown in one attempt: its snapshot, the draft and the graded answer."""

    __tablename__ = "attempt_items"
    __table_args__ = (UniqueConstraint("attempt_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"), index=True)
    position: Mapped[int]
    question_version_id: Mapped[int] = mapped_column(ForeignKey("question_versions.id"))
    #: Text, options in the order shown, and the key for exactly that view.
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: The answer saved so far (kept across a closed tab); graded at submission.
    answer: Mapped[Any | None] = mapped_column(JSON)
    #: Fraction of the question's points earned, set at grading.
    credit: Mapped[float | None]

    attempt: Mapped[Attempt] = relationship(back_populates="items")
    question_version: Mapped[QuestionVersion] = relationship()


class ExtraTime(db.Model):
    """Minutes a manager granted one learner on top of an assessment's time limit."""

    __tablename__ = "extra_time_grants"
    __table_args__ = (UniqueConstraint("user_id", "assessment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"))
    minutes: Mapped[int]
    reason: Mapped[str] = mapped_column(String(500))
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
