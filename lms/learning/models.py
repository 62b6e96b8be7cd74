"""Lesson progress: sections a learner marked done, modules they completed, and objectives
credited to them from another programme that teaches them alike."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column

from lms.core.timeutil import now_utc
from lms.extensions import db


class SectionProgress(db.Model):
    __tablename__ = "section_progress"
    __table_args__ = (UniqueConstraint("user_id", "section_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("lesson_sections.id"), index=True)
    completed_at: Mapped[datetime] = mapped_column(default=now_utc)


class ModuleCompletion(db.Model):
    """A module is completed when every live section of its lesson is done and its knowledge
    check (the module's live assessment, if it has one) is passed, in either order.

    `self_attested` marks the completions made before that rule, with the removed "I have
    studied every objective" button: they are kept as history, and count for nothing (no gate,
    no progress). Promotions and certificates recorded on them stand."""

    __tablename__ = "module_completions"
    __table_args__ = (UniqueConstraint("user_id", "module_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id"), index=True)
    completed_at: Mapped[datetime] = mapped_column(default=now_utc)
    self_attested: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    #: Set when every objective was credited from other programmes (see lms.learning.credit):
    #: where the credit came from, as the learner reads it.
    credited_from: Mapped[str | None] = mapped_column(String(300))


class EquivalenceMember(db.Model):
    """One objective of an equivalence (curricula/equivalences.yaml): objectives of different
    programmes taught alike. Derived from the file and replaced on each load; learner credits
    name the equivalence and the objectives themselves, not these rows."""

    __tablename__ = "equivalence_members"
    __table_args__ = (UniqueConstraint("equivalence", "objective_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    equivalence: Mapped[str] = mapped_column(String(80), index=True)
    objective_id: Mapped[int] = mapped_column(ForeignKey("objectives.id"), index=True)
    #: The major version of the objective's programme the equivalence was judged for.
    programme_major: Mapped[int]


class ObjectiveCredit(db.Model):
    """An objective credited to a learner from work in another programme: the mapped
    objective's sections done and its questions answered right in a passed attempt. Counts
    only while both programmes keep the major versions it was granted under."""

    __tablename__ = "objective_credits"
    __table_args__ = (UniqueConstraint("user_id", "objective_id", "target_major"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: The objective credited, and the one whose mastery earned it.
    objective_id: Mapped[int] = mapped_column(ForeignKey("objectives.id"), index=True)
    source_objective_id: Mapped[int] = mapped_column(ForeignKey("objectives.id"))
    equivalence: Mapped[str] = mapped_column(String(80))
    target_major: Mapped[int]
    source_major: Mapped[int]
    #: The sections done and the passed attempt behind the credit.
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    credited_at: Mapped[datetime] = mapped_column(default=now_utc)
