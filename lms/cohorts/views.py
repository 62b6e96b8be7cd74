"""Cohort pages for training managers (and admins): the cohort list, a new cohort, a cohort's
enrolments with bulk actions, enrolling by search or CSV, one enrolment's record with
exemptions and extra time, an assessment's figures over a cohort, and the people search.

Managers open only the cohorts they manage: anyone else's cohort, enrolment or assessment page
answers 404, and a form posted to it changes nothing. Views parse, call `operations`, render.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from lms.accounts.importing import decode_upload
from lms.accounts.models import Role, User
from lms.assessments.models import Assessment
from lms.cohorts import queries
from lms.cohorts.forms import (
    BulkForm,
    CohortForm,
    EnrolCsvForm,
    EnrolForm,
    EnrolmentActionForm,
    ExemptForm,
    ExtraTimeForm,
)
from lms.cohorts.operations import (
    BULK_ACTIONS,
    CohortError,
    bulk,
    create_cohort,
    enrol,
    enrol_from_csv,
    exempt,
    grant_extra_time,
    managed_cohorts,
    may_manage,
)
from lms.curricula.models import Programme
from lms.curricula.readiness import Readiness, readiness
from lms.extensions import db
from lms.organisation.models import Cohort, Enrolment
from lms.security import roles_required
from lms.stages.engine import organisation_today
from lms.stages.requirements import describe_evidence

bp = Blueprint("cohorts", __name__)
for_managers = roles_required("manager", "admin")


def _page_number() -> int:
    return request.args.get("page", 1, type=int) or 1


def _cohort(cohort_id: int) -> Cohort:
    """The cohort, if the signed-in user may manage it; otherwise it does not exist for them."""
    cohort = db.session.get(Cohort, cohort_id)
    if cohort is None or not may_manage(current_user, cohort):
        abort(404)
    return cohort


def _enrolment(cohort: Cohort, enrolment_id: int) -> Enrolment:
    enrolment = db.session.get(Enrolment, enrolment_id)
    if enrolment is None or enrolment.cohort_id != cohort.id:
        abort(404)
    return enrolment


def _show_problem(form, problem: CohortError) -> None:
    """An operation's refusal, beside the field it concerns, or as a message."""
    target = getattr(form, problem.field, None) if problem.field else None
    if target is not None:
        target.errors = [*target.errors, str(problem)]
    else:
        flash(str(problem), "error")


def _flash_form_errors(form) -> None:
    for errors in form.errors.values():
        for error in errors:
            flash(error, "error")


# The cohort list and a new cohort -------------------------------------------------------------


@bp.route("/cohorts")
@for_managers
def index() -> str:
    page = queries.cohort_list(managed_cohorts(current_user), _page_number())
    return render_template("cohorts/index.html", page=page, statuses=queries.STATUSES)


def _managers() -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .where(User.active.is_(True), User.roles.any(Role.name == "manager"))
            .order_by(User.name, User.id)
        )
    )


@bp.route("/cohorts/new", methods=["GET", "POST"])
@for_managers
def new() -> str | Response:
    programmes = list(
        db.session.scalars(
            select(Programme)
            .where(Programme.retired_at.is_(None))
            .order_by(Programme.kind, Programme.title)
        )
    )
    managers = _managers() if current_user.has_role("admin") else None
    ready = readiness(p.id for p in programmes)
    form = CohortForm(programmes=programmes, managers=managers, ready=ready)
    not_ready: list[tuple[Programme, Readiness]] = []
    if request.method == "GET" and managers and current_user.id in {m.id for m in managers}:
        form.manager_id.data = current_user.id
    if form.validate_on_submit():
        manager = current_user._get_current_object()
        if managers is not None:
            manager = next((m for m in managers if m.id == form.manager_id.data), None)
        chosen = [p for p in programmes if p.id in set(form.programmes.data)]
        not_ready = [(p, ready[p.id]) for p in chosen if not ready[p.id].complete]
        try:
            if manager is None:
                raise CohortError("Choose a manager.", field="manager_id")
            if not_ready and not form.start_anyway.data:
                # Warned before it is created: its learners would wait for content.
                raise CohortError(
                    "Some modules of the programmes you chose are still in preparation: "
                    "confirm to start anyway.",
                    field="start_anyway",
                )
            cohort = create_cohort(
                form.name.data.strip(),
                form.start_date.data,
                manager,
                chosen,
                form.due_date.data,
            )
        except CohortError as problem:
            db.session.rollback()
            _show_problem(form, problem)
        else:
            db.session.commit()
            flash(f"Cohort {cohort.name} created: now enrol its learners.", "success")
            return redirect(url_for("cohorts.enrol_learners", cohort_id=cohort.id))
    return render_template(
        "cohorts/new.html",
        form=form,
        has_managers=managers != [],
        not_ready=not_ready,
    )


# One cohort -----------------------------------------------------------------------------------


def _filters(cohort: Cohort, stage_ids: set[str]) -> queries.RosterFilters:
    status = request.args.get("status", "")
    programme_id = request.args.get("programme", type=int)
    stage = request.args.get("stage", "")
    return queries.RosterFilters(
        status=status if status in (*queries.STATUSES, queries.PENDING) else "",
        programme_id=programme_id if programme_id in {p.id for p in cohort.programmes} else None,
        stage_id=stage if stage in stage_ids else "",
        q=request.args.get("q", "").strip()[:100],
    )


@bp.route("/cohorts/<int:cohort_id>", methods=["GET", "POST"])
@for_managers
def cohort(cohort_id: int) -> str:
    """The cohort's enrolments, filtered and paged; a POST applies a bulk action to the ticked
    ones and shows what was done and what was skipped."""
    cohort = _cohort(cohort_id)
    form = BulkForm()
    if form.validate_on_submit():
        try:
            report, selected = _apply_bulk(cohort, form)
        except CohortError as problem:
            db.session.rollback()
            _show_problem(form, problem)
        else:
            db.session.commit()
            return render_template(
                "cohorts/bulk_result.html",
                cohort=cohort,
                report=report,
                action=BULK_ACTIONS[form.action.data],
                reason=form.reason.data.strip(),
                days=form.days.data,
                selected=selected,
            )
    all_stages = queries.stages()
    filters = _filters(cohort, {stage.id for stage in all_stages})
    page = queries.roster(cohort, filters, _page_number(), all_stages, organisation_today())
    return render_template(
        "cohorts/cohort.html",
        cohort=cohort,
        page=page,
        filters=filters,
        stages=all_stages,
        statuses=queries.STATUSES,
        counts=queries.status_counts([cohort.id]).get(cohort.id, {}),
        learners=queries.learner_counts([cohort.id]).get(cohort.id, 0),
        assessments=queries.cohort_assessments(cohort),
        form=form,
        ticked=set(form.enrolments.data or []),
    )


def _apply_bulk(cohort: Cohort, form: BulkForm):
    wanted = set(form.enrolments.data)
    enrolments = list(
        db.session.scalars(
            select(Enrolment)
            .where(Enrolment.id.in_(wanted), Enrolment.cohort_id == cohort.id)
            .options(
                selectinload(Enrolment.user),
                selectinload(Enrolment.programme),
                selectinload(Enrolment.pauses),
            )
            .order_by(Enrolment.id)
        )
    )
    report = bulk(enrolments, form.action.data, form.reason.data.strip(), form.days.data)
    strangers = len(wanted) - len(enrolments)
    if strangers:
        report.skipped.append(f"{strangers} enrolment(s) not in this cohort: left alone")
    return report, len(wanted)


# Enrolling ------------------------------------------------------------------------------------


def _enrol_page(cohort: Cohort, form: EnrolForm, csv_form: EnrolCsvForm, report=None) -> str:
    query = request.args.get("q", "").strip()[:100]
    found = queries.learners_to_enrol(cohort, query) if query else []
    return render_template(
        "cohorts/enrol.html",
        cohort=cohort,
        q=query,
        found=found[:25],
        more=len(found) > 25,
        form=form,
        csv_form=csv_form,
        report=report,
    )


@bp.route("/cohorts/<int:cohort_id>/enrol", methods=["GET", "POST"])
@for_managers
def enrol_learners(cohort_id: int) -> str | Response:
    """Search learners (GET ?q=) and enrol one (POST, the result's button carries the id)."""
    cohort = _cohort(cohort_id)
    form = EnrolForm()
    if form.validate_on_submit():
        learner = db.session.get(User, form.user_id.data)
        if learner is None:
            abort(404)
        try:
            created = enrol(cohort, learner, reason=form.reason.data.strip())
        except CohortError as problem:
            db.session.rollback()
            flash(str(problem), "error")
        else:
            db.session.commit()
            if created:
                flash(
                    f"{learner.name} is enrolled in {len(created)} programme(s) of {cohort.name}.",
                    "success",
                )
            else:
                flash(f"{learner.name} was enrolled already: nothing changed.", "info")
        return redirect(
            url_for("cohorts.enrol_learners", cohort_id=cohort.id, q=request.args.get("q"))
        )
    return _enrol_page(cohort, form, EnrolCsvForm(prefix="csv"))


@bp.route("/cohorts/<int:cohort_id>/enrol/csv", methods=["POST"])
@for_managers
def enrol_csv(cohort_id: int) -> str:
    cohort = _cohort(cohort_id)
    csv_form = EnrolCsvForm(prefix="csv")
    report = None
    if csv_form.validate_on_submit():
        try:
            text = decode_upload(csv_form.file.data.read())
        except ValueError as error:
            csv_form.file.errors = [*csv_form.file.errors, str(error)]
        else:
            report = enrol_from_csv(cohort, text, csv_form.reason.data.strip())
            db.session.commit()
            flash(
                f"{len(report.enrolled)} enrolled, {len(report.unchanged)} already enrolled, "
                f"{len(report.problems)} row(s) refused.",
                "warning" if report.problems else "success",
            )
    return _enrol_page(cohort, EnrolForm(formdata=None), csv_form, report)


# One enrolment --------------------------------------------------------------------------------


@bp.route("/cohorts/<int:cohort_id>/enrolments/<int:enrolment_id>")
@for_managers
def enrolment(cohort_id: int, enrolment_id: int) -> str:
    cohort = _cohort(cohort_id)
    enrolment = _enrolment(cohort, enrolment_id)
    record = queries.enrolment_record(enrolment, organisation_today())
    return render_template(
        "cohorts/enrolment.html",
        cohort=cohort,
        record=record,
        enrolment=enrolment,
        state=record.state,
        evidence_text=describe_evidence,
        action_form=EnrolmentActionForm(),
    )


def _back_to(cohort: Cohort, enrolment: Enrolment) -> Response:
    return redirect(url_for("cohorts.enrolment", cohort_id=cohort.id, enrolment_id=enrolment.id))


@bp.route("/cohorts/<int:cohort_id>/enrolments/<int:enrolment_id>/exempt", methods=["POST"])
@for_managers
def exempt_requirement(cohort_id: int, enrolment_id: int) -> Response:
    cohort = _cohort(cohort_id)
    enrolment = _enrolment(cohort, enrolment_id)
    form = ExemptForm()
    if not form.validate_on_submit():
        _flash_form_errors(form)
        return _back_to(cohort, enrolment)
    stage_before = enrolment.stage_id
    try:
        exempt(enrolment, form.requirement.data, form.reason.data.strip())
    except CohortError as problem:
        db.session.rollback()
        flash(str(problem), "error")
    else:
        db.session.commit()
        message = "Requirement exempted."
        if enrolment.stage_id != stage_before:
            message += " The gate is met: the enrolment was promoted."
        flash(message, "success")
    return _back_to(cohort, enrolment)


@bp.route("/cohorts/<int:cohort_id>/enrolments/<int:enrolment_id>/extra-time", methods=["POST"])
@for_managers
def extra_time(cohort_id: int, enrolment_id: int) -> Response:
    cohort = _cohort(cohort_id)
    enrolment = _enrolment(cohort, enrolment_id)
    form = ExtraTimeForm()
    if not form.validate_on_submit():
        _flash_form_errors(form)
        return _back_to(cohort, enrolment)
    assessment_id = int(form.assessment_id.data) if form.assessment_id.data.isdecimal() else 0
    assessment = db.session.get(Assessment, assessment_id)
    if assessment is None:
        abort(404)
    try:
        grant_extra_time(enrolment, assessment, form.minutes.data, form.reason.data.strip())
    except CohortError as problem:
        db.session.rollback()
        flash(str(problem), "error")
    else:
        db.session.commit()
        flash(
            f"{enrolment.user.name} has {form.minutes.data} extra minute(s) on "
            f"“{assessment.title}”; an attempt already running has the new deadline.",
            "success",
        )
    return _back_to(cohort, enrolment)


@bp.route("/cohorts/<int:cohort_id>/enrolments/<int:enrolment_id>/action", methods=["POST"])
@for_managers
def enrolment_action(cohort_id: int, enrolment_id: int) -> Response:
    """Withdraw, extend, pause or resume one enrolment from its page."""
    cohort = _cohort(cohort_id)
    enrolment = _enrolment(cohort, enrolment_id)
    form = EnrolmentActionForm()
    if not form.validate_on_submit():
        _flash_form_errors(form)
        return _back_to(cohort, enrolment)
    try:
        report = bulk([enrolment], form.action.data, form.reason.data.strip(), form.days.data)
    except CohortError as problem:
        db.session.rollback()
        flash(str(problem), "error")
    else:
        db.session.commit()
        for done in report.done:
            flash(f"{BULK_ACTIONS[form.action.data]}: done for {done}.", "success")
        for skipped in report.skipped:
            flash(f"Not done: {skipped}", "warning")
    return _back_to(cohort, enrolment)


# An assessment over a cohort ------------------------------------------------------------------


@bp.route("/cohorts/<int:cohort_id>/assessments/<int:assessment_id>")
@for_managers
def assessment(cohort_id: int, assessment_id: int) -> str:
    cohort = _cohort(cohort_id)
    assessment = db.session.get(Assessment, assessment_id)
    if assessment is None or assessment.programme_id not in {p.id for p in cohort.programmes}:
        abort(404)
    figures = queries.assessment_figures(cohort, assessment)
    return render_template("cohorts/assessment.html", cohort=cohort, figures=figures)


# People ---------------------------------------------------------------------------------------


@bp.route("/people")
@for_managers
def people() -> str:
    query = request.args.get("q", "").strip()[:100]
    role = request.args.get("role", "")
    role = role if role in ("learner", "manager", "leader", "admin") else ""
    page = queries.people(query, role, _page_number())
    enrolments = queries.active_enrolments([user.id for user in page.items])
    openable = {
        e.cohort_id
        for found in enrolments.values()
        for e in found
        if may_manage(current_user, e.cohort)
    }
    return render_template(
        "cohorts/people.html",
        page=page,
        q=query,
        role=role,
        enrolments=enrolments,
        openable=openable,
    )
