"""Content reports: a learner reports a lesson section or a question of their result, and
admins work through the queue.

A learner who may not report an attempt item (not theirs, or not submitted) gets a 404, so ids
reveal nothing; the queue and closing are for admins only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from lms.assessments.models import AttemptItem, QuestionVersion
from lms.assessments.questions import public_view, question_type
from lms.core.paging import paginate
from lms.curricula.models import LessonSection, Module, Programme
from lms.extensions import db
from lms.feedback import operations
from lms.feedback.forms import CloseForm, QueueFilterForm, ReportForm
from lms.feedback.models import ContentReport
from lms.security import roles_required, signed_in

bp = Blueprint("feedback", __name__)


def _live_section(programme_slug: str, module_slug: str, section_slug: str) -> LessonSection:
    section = db.session.scalar(
        select(LessonSection)
        .join(Module, Module.id == LessonSection.module_id)
        .join(Programme, Programme.id == Module.programme_id)
        .where(
            Programme.slug == programme_slug,
            Programme.retired_at.is_(None),
            Module.slug == module_slug,
            Module.retired_at.is_(None),
            LessonSection.slug == section_slug,
            LessonSection.retired_at.is_(None),
        )
        .options(selectinload(LessonSection.module).selectinload(Module.programme))
    )
    if section is None:
        abort(404)
    return section


def _module_page(section: LessonSection) -> str:
    module = section.module
    return url_for("learning.module", programme_slug=module.programme.slug, module_slug=module.slug)


@bp.route(
    "/learn/<programme_slug>/<module_slug>/sections/<section_slug>/report",
    methods=["GET", "POST"],
)
@signed_in
def report_section(programme_slug: str, module_slug: str, section_slug: str) -> Any:
    section = _live_section(programme_slug, module_slug, section_slug)
    form = ReportForm()
    # Back to the report's status under the section, so the learner sees what became of it.
    back = f"{_module_page(section)}#flag-section-{section.id}"
    if form.validate_on_submit():
        return _send(
            lambda: operations.report_section(current_user, section, form.comment.data), back
        )
    existing = operations.section_reports(current_user.id, [section]).get(section.id)
    return render_template(
        "feedback/report.html",
        form=form,
        what=f"the section “{section.title}”",
        context=f"{section.module.title} · {section.module.programme.title}",
        back=back,
        existing=existing,
    )


def _send(report: Callable[[], object], back: str) -> Response:
    """Record a report (or say why not) and go back to where its status shows."""
    try:
        report()
    except operations.ReportRefused as refusal:
        db.session.rollback()
        flash(str(refusal), "error")
        return redirect(back)
    db.session.commit()
    flash("Thank you: your report is with the content team. Its status shows here.", "success")
    return redirect(back)


def _own_submitted_item(item_id: int) -> AttemptItem:
    item = db.session.get(
        AttemptItem,
        item_id,
        options=[
            selectinload(AttemptItem.attempt),
            selectinload(AttemptItem.question_version).selectinload(QuestionVersion.question),
        ],
    )
    if item is None or not operations.may_report_item(current_user, item):
        abort(404)
    return item


@bp.route("/attempt-items/<int:item_id>/report", methods=["GET", "POST"])
@signed_in
def report_question(item_id: int) -> Any:
    item = _own_submitted_item(item_id)
    form = ReportForm()
    result = url_for("assessments.result", attempt_id=item.attempt_id)
    back = f"{result}#flag-item-{item.id}"
    if form.validate_on_submit():
        return _send(
            lambda: operations.report_question(current_user, item, form.comment.data), back
        )
    existing = operations.item_reports(current_user.id, [item]).get(item.id)
    return render_template(
        "feedback/report.html",
        form=form,
        what=f"question {item.position}",
        context=item.attempt.assessment.title,
        prompt=public_view(item.snapshot).get("prompt"),
        back=back,
        existing=existing,
    )


# --- the admins' queue --------------------------------------------------------------------------


@bp.route("/admin/content-reports")
@roles_required("admin")
def queue() -> str:
    form = QueueFilterForm(request.args)
    form.validate()
    status = "closed" if form.status.data == "closed" else "open"
    page = paginate(
        operations.queue_statement(operations.QueueFilter(status=status)),
        request.args.get("page", 1, type=int) or 1,
        per_page=25,
    )
    return render_template(
        "feedback/queue.html",
        form=form,
        page=page,
        status=status,
        links={report.id: content_link(report) for report in page.items},
    )


def content_link(report: ContentReport) -> str | None:
    """Where the reported content is read: the section on its module page, or the module page
    (or the assessment, for a pre- or post-test) of the question."""
    if report.section is not None and report.module is not None:
        page = url_for(
            "learning.module",
            programme_slug=report.programme.slug,
            module_slug=report.module.slug,
        )
        return f"{page}#section-{report.section.slug}"
    if report.module is not None:
        return url_for(
            "learning.module", programme_slug=report.programme.slug, module_slug=report.module.slug
        )
    if report.question is not None:
        return url_for("assessments.overview", assessment_id=report.question.assessment_id)
    return None


@bp.route("/admin/content-reports/<int:report_id>", methods=["GET", "POST"])
@roles_required("admin")
def report(report_id: int) -> Any:
    report = db.get_or_404(ContentReport, report_id)
    form = CloseForm()
    if report.is_open and form.validate_on_submit():
        try:
            operations.close(report, current_user, form.note.data)
        except operations.ReportRefused as refusal:
            db.session.rollback()
            form.note.errors = [str(refusal)]
        else:
            db.session.commit()
            flash("Report closed. The learner sees your note beside the content.", "success")
            return redirect(url_for("feedback.queue"))
    question: dict[str, Any] | None = None
    if report.attempt_item is not None:
        snapshot = report.attempt_item.snapshot
        question = {
            "view": public_view(snapshot),
            "key": question_type(snapshot["type"]).describe_key(snapshot),
            "explanation": snapshot.get("explanation"),
        }
    return render_template(
        "feedback/report_admin.html",
        report=report,
        form=form,
        link=content_link(report),
        question=question,
    )
