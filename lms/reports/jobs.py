"""The leadership report's PDF built in the background, for organisations large enough that
building it takes more than a couple of seconds; the progress page reads the job's row."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, select

from lms.core.background import dispatch
from lms.core.timeutil import now_utc
from lms.extensions import db
from lms.organisation.models import Enrolment
from lms.reports.models import ReportJob

LEADERSHIP = "leadership"
#: Organisations with at least this many enrolments get their PDF in the background: from
#: about there, building it takes more than a few seconds (size M, 2,000 enrolments, about 4 s;
#: L about 7 s). LMS_REPORT_BACKGROUND_FROM_ENROLMENTS overrides it.
BACKGROUND_FROM_ENROLMENTS = 1000
#: Finished jobs (and their files) are deleted after this long: a report is rebuilt on demand.
KEEP_FOR = timedelta(days=1)


def runs_in_background() -> bool:
    """Whether the PDF of this organisation is built as a background job (one query)."""
    threshold = int(
        current_app.config.get("LMS_REPORT_BACKGROUND_FROM_ENROLMENTS", BACKGROUND_FROM_ENROLMENTS)
    )
    return (db.session.scalar(select(func.count(Enrolment.id))) or 0) >= threshold


def create(kind: str, as_of: date, user_id: int | None) -> ReportJob:
    """A queued job (flushed, not committed); finished jobs past `KEEP_FOR` are pruned."""
    db.session.execute(
        delete(ReportJob).where(
            ReportJob.created_at < now_utc() - KEEP_FOR, ReportJob.status.in_(("done", "failed"))
        )
    )
    job = ReportJob(kind=kind, as_of=as_of, created_by_id=user_id, steps_total=1)
    db.session.add(job)
    db.session.flush()
    return job


def start(job: ReportJob) -> None:
    """Hand the committed job to a worker."""
    dispatch("lms.reports.jobs.run", job.id)


def run(job_id: int) -> None:
    from lms.reports.paper import build_pdf, file_stem

    job = db.session.get(ReportJob, job_id)
    if job is None or job.status not in ("queued", "running"):
        return
    job.status = "running"
    db.session.commit()

    def progress(step: str, done: int, total: int) -> None:
        job.step, job.steps_done, job.steps_total = step, done, total
        db.session.commit()

    try:
        report, _, pdf = build_pdf(job.as_of, progress=progress)
        job.content = pdf
        job.size = len(pdf)
        job.filename = f"{file_stem(report)}.pdf"
        job.status = "done"
        job.step = "Done"
        job.steps_done = job.steps_total
    except Exception as error:  # noqa: BLE001 (the job must end in a state the page can show)
        current_app.logger.exception("report job %s failed", job_id)
        db.session.rollback()
        job = db.session.get(ReportJob, job_id)
        job.status = "failed"
        # The exception's text stays in the log: it may name hosts, paths or SQL.
        job.error = (
            f"it stopped at “{job.step or 'the start'}” ({type(error).__name__}); the server's "
            f"log holds the details of report job {job_id}"
        )[:500]
    job.finished_at = now_utc()
    db.session.commit()


def as_dict(job: ReportJob) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind,
        "as_of": job.as_of.isoformat(),
        "status": job.status,
        "step": job.step,
        "steps_done": job.steps_done,
        "steps_total": job.steps_total,
        "fraction": round(job.fraction, 3),
        "size": job.size,
        "error": job.error,
    }
