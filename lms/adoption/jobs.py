"""Background imports: a large upload is processed off the request, on an RQ worker over
Redis when one is configured (LMS_JOB_QUEUE=rq), otherwise in a thread of the web process. Either
way the job's state lives in `import_jobs`, which the progress page reads."""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask, current_app

from lms.accounts.models import User
from lms.adoption.models import ImportJob
from lms.adoption.usage import IngestReport, ingest, people_for, read_csv
from lms.audit.operations import record
from lms.core.timeutil import now_utc
from lms.extensions import db

#: Uploads with more rows than this run in the background.
BACKGROUND_FROM_ROWS = 2000
PROGRESS_EVERY = 1000
MAX_PROBLEMS_KEPT = 500


def start(job: ImportJob) -> None:
    """Hand the committed job to a worker."""
    app = current_app._get_current_object()
    if app.config.get("LMS_JOB_QUEUE") == "rq" and app.config.get("LMS_REDIS_URL"):
        from redis import Redis
        from rq import Queue

        queue = Queue(
            app.config.get("LMS_JOB_QUEUE_NAME", "lms"),
            connection=Redis.from_url(app.config["LMS_REDIS_URL"]),
        )
        queue.enqueue(run_in_new_app, job.id)
        return
    thread = threading.Thread(target=_run_in_thread, args=(app, job.id), daemon=True)
    thread.start()
    if app.config.get("TESTING"):
        thread.join()  # tests read the finished job straight away


def _run_in_thread(app: Flask, job_id: int) -> None:
    with app.app_context():
        run(job_id)
        db.session.remove()


def run_in_new_app(job_id: int) -> None:
    """Entry point for an RQ worker (`rq worker lms`), which runs with the web app's
    environment (DATABASE_URL, SECRET_KEY, ...)."""
    from lms import create_app

    with create_app().app_context():
        try:
            run(job_id)
        finally:
            # Each job builds its own app: close its connections rather than leave them open.
            db.session.remove()
            db.engine.dispose()


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
