"""A report built in the background: its progress for the progress page and, once built, the
file itself. The file is kept in the database, not on disk, because the web process that
serves it need not be the worker that built it (DESIGN.md section 9: processes share nothing but
the database); finished jobs are pruned after a day."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, deferred, mapped_column

from lms.core.timeutil import now_utc
from lms.extensions import db


class ReportJob(db.Model):
    __tablename__ = "report_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Which report (lms.reports.REPORTS): "leadership".
    kind: Mapped[str] = mapped_column(String(30))
    as_of: Mapped[date]
    #: queued, running, done, failed
    status: Mapped[str] = mapped_column(String(10), default="queued")
    step: Mapped[str | None] = mapped_column(String(120))
    steps_done: Mapped[int] = mapped_column(default=0)
    steps_total: Mapped[int] = mapped_column(default=1)
    error: Mapped[str | None] = mapped_column(String(500))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=now_utc, index=True)
    finished_at: Mapped[datetime | None]
    filename: Mapped[str | None] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(default=0)
    #: The PDF; deferred so that the progress page never loads it.
    content: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))

    @property
    def fraction(self) -> float:
        return min(1.0, self.steps_done / self.steps_total) if self.steps_total else 0.0

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")
