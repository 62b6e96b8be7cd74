"""Lesson progress: sections a learner marked done, and modules they completed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, UniqueConstraint
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
