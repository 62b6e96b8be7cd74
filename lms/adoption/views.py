"""Usage data for managers and admins: upload a CSV (large ones run in the background with a
progress bar), and map feature names the catalogue does not know (their rows replay)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from lms.adoption import jobs
from lms.adoption.forms import MapNameForm, UsageUploadForm
from lms.adoption.models import Feature, ImportJob, Platform
from lms.adoption.usage import held_names, ingest, map_name, people_for, read_csv
from lms.audit.operations import record
from lms.core.forms import choices
from lms.extensions import db
from lms.security import roles_required

bp = Blueprint("adoption", __name__)


@bp.route("/usage/import", methods=["GET", "POST"])
@roles_required("manager", "admin")
def import_usage() -> str | Response:
    form = UsageUploadForm()
    report = None
    if form.validate_on_submit():
        raw = form.file.data.read()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            form.file.errors.append(
                f"The file is not UTF-8 text (byte {error.start}); save it as CSV UTF-8."
            )
        else:
            filename = form.file.data.filename or "upload.csv"
            rows, problems = read_csv(text)
            if len(rows) > jobs.BACKGROUND_FROM_ROWS and not problems:
                job = ImportJob(
                    kind="usage",
                    filename=filename,
                    payload=text,
                    total_rows=len(rows),
                    created_by_id=current_user.id,
                )
                db.session.add(job)
                record("usage.import_started", target=job, rows=len(rows), file=filename)
                db.session.commit()
                jobs.start(job)
                return redirect(url_for("adoption.job", job_id=job.id))
            report = ingest(
                rows, source="csv", source_ref=filename, people=people_for(current_user)
            )
            report.problems[:0] = problems
            record(
                "usage.imported",
                target_type="usage",
                source=filename,
                rows=report.rows,
                recorded=report.accepted,
                held=report.held,
                refused=len(report.problems),
            )
            db.session.commit()
            flash(
                f"Import finished: {report.summary()}.", "warning" if report.problems else "success"
            )
    return render_template(
        "adoption/import_usage.html",
        form=form,
        report=report,
        background_from=jobs.BACKGROUND_FROM_ROWS,
    )


@bp.route("/jobs/<int:job_id>")
@roles_required("manager", "admin")
def job(job_id: int) -> Any:
    found = db.get_or_404(ImportJob, job_id)
    if found.created_by_id != current_user.id and not current_user.has_role("admin"):
        abort(404)  # as if it did not exist (JSON for the progress poller, a page otherwise)
    if request.accept_mimetypes.best == "application/json":
        return jsonify(jobs.as_dict(found))
    return render_template("adoption/job.html", job=found)


@bp.route("/unmapped", methods=["GET", "POST"])
@roles_required("admin")
def unmapped() -> str | Response:
    features = list(
        db.session.scalars(
            select(Feature).where(Feature.retired_at.is_(None)).order_by(Feature.name)
        )
    )
    form = MapNameForm()
    form.feature_id.choices = choices(
        [("", "Choose a feature…")] + [(str(f.id), f.name) for f in features]
    )
    if form.validate_on_submit():
        if not form.platform_id.data.isdecimal():
            abort(400)
        platform = db.get_or_404(Platform, int(form.platform_id.data))
        feature = db.get_or_404(Feature, int(form.feature_id.data))
        if feature.platform_id != platform.id:
            abort(400)  # a name one platform sends means a feature of that platform
        replayed = map_name(platform, form.name.data, feature)
        db.session.commit()
        flash(
            f"“{form.name.data}” now means {feature.name}; {replayed} held rows recorded.",
            "success",
        )
        return redirect(url_for("adoption.unmapped"))
    return render_template(
        "adoption/unmapped.html", held=held_names(), features=features, form=form
    )
