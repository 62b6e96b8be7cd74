"""The leadership adoption-success report on the web, and its PDF: built in the request for a
small organisation, as a background job with a progress page for a large one.

Leaders and admins may read it. Managers may not: the report is the organisation's board
paper, with every team and cohort in it; their cohorts' figures are on /metrics. A background
job and its file belong to the person who asked for them.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

from flask import Blueprint, abort, jsonify, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from lms.extensions import db
from lms.metrics.views import percent
from lms.reports import jobs
from lms.reports.leadership import build_report
from lms.reports.models import ReportJob
from lms.reports.paper import build_pdf, file_stem, report_context
from lms.security import roles_required
from lms.stages.engine import organisation_today

bp = Blueprint("reports", __name__)
READERS = ("leader", "admin")


@bp.app_template_filter("percent")
def percent_filter(value: float | None) -> str:
    return percent(value)


def _pdf_response(content: bytes, filename: str) -> Any:
    response = send_file(
        BytesIO(content),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=filename,
    )
    # The organisation's figures: never kept in a shared cache.
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/reports/leadership")
@roles_required(*READERS)
def leadership() -> str:
    report = build_report()
    return render_template(
        "reports/leadership.html", background=jobs.runs_in_background(), **report_context(report)
    )


@bp.route("/reports/leadership/pdf", methods=["POST"])
@roles_required(*READERS)
def leadership_pdf() -> Any:
    if jobs.runs_in_background():
        job = jobs.create(jobs.LEADERSHIP, organisation_today(), current_user.id)
        db.session.commit()
        jobs.start(job)
        return redirect(url_for("reports.job", job_id=job.id))
    report, _, pdf = build_pdf()
    return _pdf_response(pdf, f"{file_stem(report)}.pdf")


def _own_job(job_id: int) -> ReportJob:
    job = db.session.get(ReportJob, job_id)
    if job is None or job.created_by_id != current_user.id:
        abort(404)
    return job


@bp.route("/reports/jobs/<int:job_id>")
@roles_required(*READERS)
def job(job_id: int) -> Any:
    found = _own_job(job_id)
    if request.accept_mimetypes.best == "application/json":
        return jsonify(jobs.as_dict(found))
    return render_template("reports/job.html", job=found)


@bp.route("/reports/jobs/<int:job_id>/download")
@roles_required(*READERS)
def download(job_id: int) -> Any:
    found = _own_job(job_id)
    if found.status != "done" or found.content is None:
        abort(404)
    return _pdf_response(found.content, found.filename or "adoption-success-report.pdf")
