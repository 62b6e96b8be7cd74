"""Background imports: a large upload is processed off the request, on an RQ worker over
Redis when one is configured (LMS_JOB_QUEUE=rq), otherwise in a thread of the web process. Either
way the job's state lives in `import_jobs`, which the progress page reads."""

from __future__ import annotations

from typing import Any

from lms.accounts.models import User
from lms.adoption.models import ImportJob
from lms.adoption.usage import IngestReport, ingest, people_for, read_csv
from lms.audit.operations import record
from lms.core import background
from lms.core.timeutil import now_utc
from lms.extensions import db

#: Uploads with more rows than this run in the background.
BACKGROUND_FROM_ROWS = 2000
PROGRESS_EVERY = 1000
MAX_PROBLEMS_KEPT = 500


def start(job: ImportJob) -> None:
    """Hand the committed job to a worker (lms.core.background: RQ or a thread)."""
    background.dispatch("lms.adoption.jobs.run", job.id)


def run_in_new_app(job_id: int) -> None:
    """What RQ workers ran before lms.core.background existed: jobs queued by an older release
    still name it."""
    background.run_in_new_app("lms.adoption.jobs.run", job_id)


def run(job_id: int) -> None:
    job = db.session.get(ImportJob, job_id)
    if job is None or job.status not in ("queued", "running"):
        return
    job.status = "running"
    db.session.commit()
    try:
        rows, header_problems = read_csv(job.payload or "")
        job.total_rows = len(rows)
        total = IngestReport(problems=list(header_problems))
        creator = db.session.get(User, job.created_by_id) if job.created_by_id else None
        people = people_for(creator)
        for start_at in range(0, len(rows), PROGRESS_EVERY):
            chunk = rows[start_at : start_at + PROGRESS_EVERY]
            total.merge(ingest(chunk, source="csv", source_ref=job.filename, people=people))
            _record(job, total, start_at + len(chunk))
            db.session.commit()
        job.status = "done"
    except Exception as error:  # noqa: BLE001 (the job must end in a state the page can show)
        db.session.rollback()
        job = db.session.get(ImportJob, job_id)
        job.status = "failed"
        job.error = str(error)[:500]
    job.finished_at = now_utc()
    job.payload = None
    record(
        "usage.imported",
        target=job,
        actor=db.session.get(User, job.created_by_id) if job.created_by_id else None,
        source=job.filename,
        status=job.status,
        rows=job.total_rows,
        recorded=job.accepted,
        held=job.held,
        refused=job.problem_count,
    )
    db.session.commit()


def _record(job: ImportJob, report: IngestReport, processed: int) -> None:
    job.processed_rows = processed
    job.accepted = report.accepted
    job.duplicates = report.duplicates
    job.held = report.held
    job.problem_count = len(report.problems)
    job.problems = [
        {"row": p.where, "reason": p.reason} for p in report.problems[:MAX_PROBLEMS_KEPT]
    ]


def as_dict(job: ImportJob) -> dict[str, Any]:
    return {
        "id": job.id,
        "status": job.status,
        "total_rows": job.total_rows,
        "processed_rows": job.processed_rows,
        "accepted": job.accepted,
        "duplicates": job.duplicates,
        "held": job.held,
        "problem_count": job.problem_count,
        "error": job.error,
    }
