"""A content report: who flagged which piece of content, in which version, why, and how it was
closed.

The version is kept as the learner saw it (the programme's version, and for a question the
QuestionVersion number of their attempt item), so an admin can tell a report about text that
has since been fixed from one about what learners read today.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.timeutil import now_utc
from lms.extensions import db

KINDS = ("section", "question")


class ContentReport(db.Model):
    __tablename__ = "content_reports"
    __table_args__ = (
        # At most one open report per learner and piece of content, whatever the clicks.
        Index(
            "uq_content_reports_one_open",
            "user_id",
            "target",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
        Index("ix_content_reports_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: "section" or "question".
    kind: Mapped[str] = mapped_column(String(10))
    #: "section:<lesson section id>" or "question:<question id>": what one open report is per.
    target: Mapped[str] = mapped_column(String(40))
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    #: The programme's version when the learner reported (for a question: when they answered
    #: it is not kept by attempts, so this is the version at the time of the report).
    programme_version: Mapped[str] = mapped_column(String(20))
    #: None for a question of a programme's pre- or post-assessment.
    module_id: Mapped[int | None] = mapped_column(ForeignKey("modules.id"))
    section_id: Mapped[int | None] = mapped_column(ForeignKey("lesson_sections.id"))
    question_id: Mapped[int | None] = mapped_column(ForeignKey("questions.id"))
    #: The learner's attempt item: the question exactly as they were shown it.
    attempt_item_id: Mapped[int | None] = mapped_column(ForeignKey("attempt_items.id"))
    #: The QuestionVersion number the learner saw.
    question_version: Mapped[int | None]
    #: The section's or question's slug, as the curriculum files name it.
    content_slug: Mapped[str] = mapped_column(String(80))
    comment: Mapped[str] = mapped_column(Text, info={"personal": True})
    #: "open" or "closed".
    status: Mapped[str] = mapped_column(String(10), default="open")
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: What was done, in the closing admin's words; the learner reads it.
    resolution: Mapped[str | None] = mapped_column(Text)

    user = relationship("User", foreign_keys=[user_id])
    closed_by = relationship("User", foreign_keys=[closed_by_id])
    programme = relationship("Programme")
    module = relationship("Module")
    section = relationship("LessonSection")
    question = relationship("Question")
    attempt_item = relationship("AttemptItem")

    @property
    def is_open(self) -> bool:
        return self.status == "open"
