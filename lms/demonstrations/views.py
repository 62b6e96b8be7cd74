"""Demonstration pages: the task with its draft (learners), a submission with its grades, the
evidence file download, the assessor queue and grading screen, and naming assessors (admins).

Anyone who may not see a submission or file gets a 404, so ids reveal nothing.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response
from wtforms import (
    MultipleFileField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.validators import DataRequired, Email, Length, Optional

from lms.accounts.models import User
from lms.cohorts.operations import managed_cohorts
from lms.core.forms import CheckboxesField, choices
from lms.core.paging import paginate
from lms.curricula.models import Stage
from lms.demonstrations import files, operations
from lms.demonstrations.models import CohortAssessor, DemonstrationTask, EvidenceFile, Submission
from lms.extensions import db
from lms.organisation.models import Cohort
from lms.security import roles_required, signed_in

bp = Blueprint("demonstrations", __name__)


def _task(task_id: int) -> DemonstrationTask:
    task = db.session.get(DemonstrationTask, task_id)
    if task is None or not operations.is_enrolled(current_user, task):
        abort(404)
    return task


def _visible_submission(submission_id: int) -> Submission:
    submission = db.session.get(Submission, submission_id)
    if submission is None or not operations.may_view(current_user, submission):
        abort(404)
    return submission


def evidence_form(task: DemonstrationTask, submission: Submission | None) -> FlaskForm:
    """A form with one field per evidence item (`ev-<id>`), plus removal of uploaded files."""

    class EvidenceForm(FlaskForm):
        pass

    for item in task.evidence:
        name = f"ev-{item['id']}"
        label = item["label"] + ("" if item.get("required", True) else " (optional)")
        description = item.get("help") or ""
        if item["kind"] == "checklist":
            field = CheckboxesField(
                label,
                choices=choices((str(i), text) for i, text in enumerate(item["items"])),
                description=description,
                validate_choice=False,
            )
        elif item["kind"] == "text":
            words = item.get("min_words")
            if words:
                description = (description + f" At least {words} words.").strip()
            field = TextAreaField(
                label,
                validators=[Optional(), Length(max=20000)],
                description=description,
                render_kw={"rows": 10},
            )
        elif item["kind"] == "link":
            field = URLField(
                label, validators=[Optional(), Length(max=2000)], description=description
            )
        else:
            field = MultipleFileField(label, description=description)
        setattr(EvidenceForm, name, field)
    existing = submission.files if submission else []
    EvidenceForm.remove_files = CheckboxesField(
        "Remove these files",
        choices=choices((str(f.id), f.name) for f in existing),
        validate_choice=False,
    )
    data: dict[str, Any] = {}
    if submission is not None:
        for item in task.evidence:
            value = (submission.answers or {}).get(item["id"])
            if item["kind"] == "checklist":
                data[f"ev-{item['id']}"] = [str(i) for i in value or []]
            elif item["kind"] in ("text", "link"):
                data[f"ev-{item['id']}"] = value or ""
    return EvidenceForm(data=data) if request.method == "GET" else EvidenceForm()


@bp.route("/demonstrations/<int:task_id>", methods=["GET", "POST"])
@signed_in
def task(task_id: int) -> Any:
    task = _task(task_id)
    history = operations.submissions_of(current_user.id, task.id)
    draft = next((s for s in history if s.status == "draft"), None)
    last = history[-1] if history else None
    can_edit = draft is not None or (
        (last is None or last.status == "needs-work")
        and operations.is_active_learner(current_user, task)
    )
    form = evidence_form(task, draft or (last if last and last.status == "needs-work" else None))
    gaps: dict[str, str] = {}
    if request.method == "POST":
        if not can_edit:
            abort(409)
        if not form.validate():
            flash("The form could not be read; please try again.", "error")
            return redirect(url_for(".task", task_id=task.id))
        try:
            draft = operations.open_draft(current_user, task)
        except operations.DemonstrationError as problem:
            flash(str(problem), "error")
            return redirect(url_for(".task", task_id=task.id))
        values = {
            item["id"]: form[f"ev-{item['id']}"].data
            for item in task.evidence
            if item["kind"] != "file"
        }
        uploads = [
            operations.Upload(item["id"], upload.filename or "", upload.read())
            for item in task.evidence
            if item["kind"] == "file"
            for upload in request.files.getlist(f"ev-{item['id']}")
            if upload and upload.filename
        ]
        removals = [int(v) for v in form.remove_files.data or [] if str(v).isdigit()]
        if last is not None and last is not draft:
            # The form listed the previous submission's files; the new draft holds copies.
            names = {f.stored_name for f in last.files if f.id in removals}
            removals += [f.id for f in draft.files if f.stored_name in names]
        report = operations.save(draft, values, uploads, removals)
        for name, messages in report.problems.items():
            form[name].errors = list(messages)
        sending = request.form.get("action") == "submit"
        if sending and report.ok:
            try:
                operations.submit(draft)
            except operations.DemonstrationError as problem:
                gaps = operations.missing(draft)
                for key, message in gaps.items():
                    form[f"ev-{key}"].errors = [*form[f"ev-{key}"].errors, message]
                db.session.commit()
                flash(str(problem), "error")
            else:
                db.session.commit()
                flash("Sent for grading. You will be told by e-mail when it is graded.", "success")
                return redirect(url_for(".submission", submission_id=draft.id))
        else:
            db.session.commit()
            if report.ok:
                saved = "Draft saved."
                if report.stored:
                    saved += f" Uploaded: {', '.join(report.stored)}."
                flash(saved, "success")
                return redirect(url_for(".task", task_id=task.id))
            flash("Saved what could be kept; see the marked fields for what was refused.", "error")
        history = operations.submissions_of(current_user.id, task.id)
        draft = next((s for s in history if s.status == "draft"), None)
        last = history[-1] if history else None
        form.remove_files.choices = (
            choices((str(f.id), f.name) for f in draft.files) if draft else []
        )
    return render_template(
        "demonstrations/task.html",
        task=task,
        history=history,
        draft=draft,
        editing=draft or (last if last and last.status == "needs-work" else None),
        last=last,
        can_edit=can_edit,
        form=form,
        gaps=gaps,
        quota={
            "file": current_app.config["LMS_EVIDENCE_FILE_MAX_BYTES"],
            "total": current_app.config["LMS_EVIDENCE_QUOTA_BYTES"],
        },
        used=files.used_bytes(current_user.id),
        accepted=files.ACCEPTED,
    )


@bp.route("/demonstrations/submissions/<int:submission_id>")
@signed_in
def submission(submission_id: int) -> str:
    submission = _visible_submission(submission_id)
    own = submission.user_id == current_user.id
    grades = list(submission.grades)
    if own:
        # A learner sees the grade that counts, once it counts; assessors see every grade.
        final = submission.final_grade
        grades = [final] if final and submission.status in operations.FINAL else []
    return render_template(
        "demonstrations/submission.html",
        submission=submission,
        task=submission.task,
        own=own,
        grades=grades,
        may_grade=not own and operations.may_assess(current_user, submission),
    )


@bp.route("/demonstrations/files/<int:file_id>")
@signed_in
def download(file_id: int) -> Response:
    row = db.session.get(EvidenceFile, file_id)
    if row is None or not operations.may_view(current_user, row.submission):
        abort(404)
    path = files.path_of(row.stored_name)
    if not path.exists():
        abort(404)
    response = send_file(
        path,
        # The bare type: Werkzeug adds "; charset=utf-8" to text itself, and twice is malformed.
        mimetype=row.content_type.split(";")[0].strip(),
        as_attachment=True,
        download_name=row.name,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- assessors -----------------------------------------------------------------------------


class QueueFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    cohort = SelectField("Cohort", validators=[Optional()])
    stage = SelectField("Stage", validators=[Optional()])
    waiting_for = SelectField(
        "Waiting for",
        choices=choices(
            [("", "Grading or moderation"), ("grading", "Grading"), ("moderation", "Moderation")]
        ),
        validators=[Optional()],
    )
    age = SelectField("Waiting", validators=[Optional()])  # choices follow the grading target


def _require_assessor() -> None:
    if not operations.is_assessor(current_user):
        abort(403)


@bp.route("/grading")
@signed_in
def queue() -> str:
    _require_assessor()
    form = QueueFilterForm(request.args)
    cohorts = list(
        db.session.scalars(
            select(Cohort)
            .where(Cohort.id.in_(operations.assessed_cohorts(current_user)))
            .order_by(Cohort.start_date.desc())
        )
        if not current_user.has_role("admin")
        else db.session.scalars(select(Cohort).order_by(Cohort.start_date.desc()))
    )
    stages = list(db.session.scalars(select(Stage).order_by(Stage.position)))
    form.cohort.choices = choices([("", "All my cohorts")] + [(str(c.id), c.name) for c in cohorts])
    form.stage.choices = choices([("", "All stages")] + [(s.id, s.name) for s in stages])
    sla = operations.sla_days()
    # "Past the target" means more than `sla` working days, as the flag in the table does.
    form.age.choices = choices(
        [("", "Any time"), ("2", "2+ working days")]
        + [(str(sla + 1), f"{sla + 1}+ working days (past the {sla}-day grading target)")]
        + [(str(n), f"{n}+ working days") for n in (10, 20) if n > sla + 1]
    )
    form.validate()
    filters = operations.QueueFilters(
        cohort_id=int(form.cohort.data) if (form.cohort.data or "").isdigit() else None,
        stage_id=form.stage.data or None,
        waiting_for=form.waiting_for.data or None,
        min_age=int(form.age.data) if (form.age.data or "").isdigit() else None,
    )
    if filters.cohort_id is not None and filters.cohort_id not in {c.id for c in cohorts}:
        abort(404)
    page = paginate(
        operations.queue_statement(current_user, filters),
        request.args.get("page", 1, type=int),
        per_page=25,
    )
    ages = {s.id: operations.age_in_working_days(s.submitted_at) for s in page.items}
    return render_template(
        "demonstrations/queue.html",
        form=form,
        page=page,
        ages=ages,
        sla=sla,
        args={k: v for k, v in request.args.items() if k != "page" and v},
    )


class GradeFormBase(FlaskForm):
    feedback = TextAreaField(
        "Overall feedback for the learner",
        validators=[DataRequired(message="Write the overall feedback."), Length(max=10000)],
        render_kw={"rows": 6},
    )


def grade_form(rubric: dict[str, Any], previous: Any = None) -> FlaskForm:
    class GradeForm(GradeFormBase):
        pass

    for criterion in rubric["criteria"]:
        setattr(
            GradeForm,
            f"level-{criterion['id']}",
            RadioField(
                criterion["title"],
                choices=choices(
                    (str(i), f"{level}: {points} points")
                    for i, (level, points) in enumerate(
                        zip(rubric["levels"], criterion["points"], strict=True)
                    )
                ),
                validators=[DataRequired(message=f"Choose a level for “{criterion['title']}”.")],
            ),
        )
        setattr(
            GradeForm,
            f"comment-{criterion['id']}",
            TextAreaField(
                f"Comment on “{criterion['title']}”",
                validators=[Optional(), Length(max=4000)],
                render_kw={"rows": 2},
            ),
        )
    data: dict[str, Any] = {}
    if previous is not None and request.method == "GET":
        for criterion in rubric["criteria"]:
            if criterion["id"] in previous.levels:
                data[f"level-{criterion['id']}"] = str(previous.levels[criterion["id"]])
            data[f"comment-{criterion['id']}"] = previous.comments.get(criterion["id"], "")
        data["feedback"] = previous.feedback
    return GradeForm(data=data) if request.method == "GET" else GradeForm()


@bp.route("/grading/<int:submission_id>", methods=["GET", "POST"])
@signed_in
def grade(submission_id: int) -> Any:
    submission = db.session.get(
        Submission,
        submission_id,
        with_for_update=request.method == "POST",
        options=[selectinload(Submission.grades), selectinload(Submission.files)],
    )
    if submission is None or not operations.may_assess(current_user, submission):
        abort(404)
    task = submission.task
    try:
        kind = operations._grade_kind(submission, current_user)
    except operations.DemonstrationError as problem:
        kind, blocked = None, str(problem)
    else:
        blocked = None
    mine = next(
        (
            g
            for g in submission.current_grades
            if g.kind == kind and g.assessor_id == current_user.id
        ),
        None,
    )
    base = mine or (submission.first_grade if kind == "moderation" else None)
    form = grade_form(task.rubric, base)
    if request.method == "POST":
        if blocked:
            flash(blocked, "error")
            return redirect(url_for(".grade", submission_id=submission.id))
        if form.validate():
            levels = {c["id"]: int(form[f"level-{c['id']}"].data) for c in task.rubric["criteria"]}
            comments = {
                c["id"]: form[f"comment-{c['id']}"].data or "" for c in task.rubric["criteria"]
            }
            try:
                operations.grade(submission, current_user, levels, comments, form.feedback.data)
            except operations.DemonstrationError as problem:
                db.session.rollback()
                flash(str(problem), "error")
            else:
                db.session.commit()
                verdict = submission.grades[-1].verdict
                outcome = {
                    "moderation": f"Graded ({verdict}); it now waits for a second assessor "
                    "to moderate.",
                    "proficient": "Graded proficient. The learner has been told.",
                    "needs-work": f"Graded: {verdict}. The learner has been told.",
                }[submission.status]
                flash(outcome, "success")
                return redirect(url_for(".queue"))
    return render_template(
        "demonstrations/grade.html",
        submission=submission,
        task=task,
        form=form,
        kind=kind,
        blocked=blocked,
        grades=submission.grades,
        age=operations.age_in_working_days(submission.submitted_at),
        sla=operations.sla_days(),
    )


# --- naming assessors ----------------------------------------------------------------------


class AssessorForm(FlaskForm):
    email = StringField(
        "E-mail of the assessor",
        validators=[DataRequired(), Email(), Length(max=254)],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
    )
    cohort = SelectField("Cohort", validators=[DataRequired()])


@bp.route("/grading/assessors", methods=["GET", "POST"])
@roles_required("admin")
def assessors() -> Any:
    form = AssessorForm()
    cohorts = list(db.session.scalars(managed_cohorts(current_user)))
    form.cohort.choices = choices((str(c.id), c.name) for c in cohorts)
    if form.validate_on_submit():
        user = db.session.scalar(select(User).where(User.email == form.email.data.strip().lower()))
        cohort = db.session.get(Cohort, int(form.cohort.data))
        if user is None or not user.active:
            form.email.errors.append("No active user has this e-mail address.")
        elif cohort is None:
            form.cohort.errors.append("Choose a cohort.")
        else:
            try:
                operations.name_assessor(cohort, user)
            except operations.DemonstrationError as problem:
                form.email.errors.append(str(problem))
            else:
                db.session.commit()
                flash(f"{user.name} now grades the demonstrations of {cohort.name}.", "success")
                return redirect(url_for(".assessors"))
    rows = list(
        db.session.scalars(
            select(CohortAssessor)
            .options(selectinload(CohortAssessor.user), selectinload(CohortAssessor.cohort))
            .order_by(CohortAssessor.cohort_id, CohortAssessor.id)
        )
    )
    return render_template(
        "demonstrations/assessors.html", form=form, rows=rows, remove_form=FlaskForm()
    )


@bp.route("/grading/assessors/<int:row_id>/remove", methods=["POST"])
@roles_required("admin")
def remove_assessor(row_id: int) -> Response:
    row = db.session.get(CohortAssessor, row_id)
    if row is None:
        abort(404)
    if FlaskForm().validate_on_submit():
        operations.remove_assessor(row)
        db.session.commit()
        flash("Assessor removed.", "success")
    return redirect(url_for(".assessors"))
