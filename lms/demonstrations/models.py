"""Demonstration tasks (content), submissions with evidence files, grades, and the assessors a
cohort has besides its manager.

A learner's tries at a task are numbered submissions: a submission is a draft until sent, then
waits for grading; "needs work" closes it, and the learner resubmits as a new submission that
starts from the old one's evidence. Grades are never edited: a regrade adds a row and marks the
one it replaces as superseded, so the history stays.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.timeutil import now_utc
from lms.demonstrations.rubric import recorded_verdict
from lms.extensions import db


class DemonstrationTask(db.Model):
    __tablename__ = "demonstration_tasks"
    __table_args__ = (UniqueConstraint("programme_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    slug: Mapped[str] = mapped_column(String(80))
    position: Mapped[int]
    stage_id: Mapped[str] = mapped_column(ForeignKey("stages.id"))
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text)
    instructions: Mapped[str] = mapped_column(Text)
    #: Module slugs of the programme the task puts into practice.
    modules: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: The evidence items as in the file (id, kind, label, help, required, items, min_words).
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    #: {"levels": [...], "criteria": [{"id", "title", "points", "descriptors"}]}.
    rubric: Mapped[dict[str, Any]] = mapped_column(JSON)
    proficient_at: Mapped[float]
    #: Grades count only once a second assessor confirms them.
    moderated: Mapped[bool] = mapped_column(default=False)
    retired_at: Mapped[datetime | None]

    programme = relationship("Programme")
    stage = relationship("Stage")

    @property
    def max_points(self) -> int:
        return sum(max(c["points"]) for c in self.rubric["criteria"])


class Submission(db.Model):
    __tablename__ = "submissions"
    __table_args__ = (
        UniqueConstraint("user_id", "task_id", "number"),
        # One draft at a time per learner and task, whatever the clicks and tabs.
        Index(
            "uq_submissions_one_draft",
            "user_id",
            "task_id",
            unique=True,
            sqlite_where=text("status = 'draft'"),
            postgresql_where=text("status = 'draft'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("demonstration_tasks.id"), index=True)
    number: Mapped[int]
    #: draft, submitted (waiting for grading), moderation (first grade given, waiting for a
    #: second assessor), needs-work, proficient.
    status: Mapped[str] = mapped_column(String(12), default="draft", index=True)
    #: Answers by evidence id: text and links as strings, checklists as the ticked indexes.
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(default=now_utc)
    submitted_at: Mapped[datetime | None]
    graded_at: Mapped[datetime | None]

    task: Mapped[DemonstrationTask] = relationship()
    user = relationship("User")
    files: Mapped[list[EvidenceFile]] = relationship(
        back_populates="submission", order_by="EvidenceFile.id"
    )
    grades: Mapped[list[Grade]] = relationship(back_populates="submission", order_by="Grade.id")

    @property
    def current_grades(self) -> list[Grade]:
        return [g for g in self.grades if g.superseded_at is None]

    @property
    def final_grade(self) -> Grade | None:
        """The grade that decides: the moderation when the task is moderated."""
        wanted = "moderation" if self.task.moderated else "first"
        return next((g for g in self.current_grades if g.kind == wanted), None)

    @property
    def first_grade(self) -> Grade | None:
        return next((g for g in self.current_grades if g.kind == "first"), None)


class EvidenceFile(db.Model):
    """An uploaded file. Stored under a random name outside any static folder; a resubmission
    refers to the same stored file, so `stored_name` is not unique."""

    __tablename__ = "evidence_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    evidence_id: Mapped[str] = mapped_column(String(80))
    #: The name the learner gave, made safe for display and downloads.
    name: Mapped[str] = mapped_column(String(200), info={"personal": True})
    stored_name: Mapped[str] = mapped_column(String(80), index=True)
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(default=now_utc)

    submission: Mapped[Submission] = relationship(back_populates="files")


class Grade(db.Model):
    __tablename__ = "grades"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    assessor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: "first", or "moderation" by a second assessor.
    kind: Mapped[str] = mapped_column(String(12), default="first")
    #: Chosen level index per criterion id, and the comment per criterion.
    levels: Mapped[dict[str, int]] = mapped_column(JSON)
    comments: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    feedback: Mapped[str] = mapped_column(Text, default="")
    points: Mapped[int]
    max_points: Mapped[int]
    proficient: Mapped[bool]
    #: The rubric as graded, so a later edit of the file never changes a past grade.
    rubric: Mapped[dict[str, Any]] = mapped_column(JSON)
    proficient_at: Mapped[float]
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    superseded_at: Mapped[datetime | None]

    submission: Mapped[Submission] = relationship(back_populates="grades")
    assessor = relationship("User")

    @property
    def fraction(self) -> float:
        return self.points / self.max_points if self.max_points else 0.0

    @property
    def verdict(self) -> str:
        """The outcome, "proficient" or "needs work: " and why, from the rubric as graded."""
        return recorded_verdict(
            self.rubric,
            self.levels,
            self.points,
            self.max_points,
            self.proficient_at,
            self.proficient,
        )


class CohortAssessor(db.Model):
    """Someone besides the cohort's manager who may grade its learners' demonstrations."""

    __tablename__ = "cohort_assessors"
    __table_args__ = (UniqueConstraint("cohort_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    added_at: Mapped[datetime] = mapped_column(default=now_utc)

    cohort = relationship("Cohort")
    user = relationship("User")
