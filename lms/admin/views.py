"""Administration pages. Every view here needs the admin role; every change is audited."""

from __future__ import annotations

import json
from datetime import date

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import or_, select

from lms.accounts import operations
from lms.accounts.importing import decode_upload, import_users
from lms.accounts.models import Role, User
from lms.admin.forms import (
    ActionForm,
    EraseForm,
    ImportUsersForm,
    OrganisationForm,
    ReasonForm,
    UnitForm,
    UserForm,
)
from lms.audit.models import AuditEvent
from lms.audit.operations import record
from lms.core.downloads import attachment
from lms.core.paging import paginate
from lms.core.timeutil import now_utc
from lms.curricula.models import ContentVersion, Programme
from lms.extensions import db
from lms.mail.outbox import deliver_pending
from lms.organisation.models import Holiday, OrgUnit
from lms.organisation.operations import organisation, regions, teams
from lms.privacy import REGISTRY, erase_user, export_user_data
from lms.security import roles_required

bp = Blueprint("admin", __name__)
admin_only = roles_required("admin")


def _page_number() -> int:
    return request.args.get("page", 1, type=int) or 1


@bp.route("/")
@admin_only
def index() -> str:
    """The administrator's hub: every admin page in one place."""
    return render_template("admin/index.html")


@bp.route("/users")
@admin_only
def users() -> str:
    query = request.args.get("q", "").strip()
    role = request.args.get("role", "")
    statement = select(User).order_by(User.name, User.id)
    if query:
        like = f"%{query.lower()}%"
        statement = statement.where(
            or_(User.email.like(like), User.name.ilike(like), User.external_id.ilike(like))
        )
    if role:
        statement = statement.where(User.roles.any(Role.name == role))
    page = paginate(statement, _page_number())
    return render_template("admin/users.html", page=page, q=query, role=role)


def _apply_user_form(user: User, form: UserForm) -> str | None:
    """Copy the form into `user`; returns a problem to show, or None."""
    email = operations.normalise_email(form.email.data)
    clash = operations.find_user_by_email(email)
    if clash is not None and clash.id != user.id:
        return f"{email} already has an account."
    external_id = (form.external_id.data or "").strip() or None
    if external_id:
        other = db.session.scalar(select(User).where(User.external_id == external_id))
        if other is not None and other.id != user.id:
            return f"Platform user id {external_id} already belongs to {other.email}."
    user.email = email
    user.name = form.name.data.strip()
    user.team_id = int(form.team_id.data) if form.team_id.data else None
    user.time_zone = form.time_zone.data or None
    user.external_id = external_id
    return None


@bp.route("/users/new", methods=["GET", "POST"])
@admin_only
def new_user() -> str | Response:
    form = UserForm(teams=teams())
    if form.validate_on_submit():
        user = User(email="", name="")
        problem = _apply_user_form(user, form)
        if problem:
            form.email.errors.append(problem)
        else:
            user.roles = operations.roles_by_name(form.roles.data)
            db.session.add(user)
            db.session.flush()
            record("user.created", target=user, roles=sorted(form.roles.data), via="admin")
            if form.send_invitation.data:
                operations.send_invitation(user)
            db.session.commit()
            deliver_pending()
            flash(f"{user.name} can now be found under Users.", "success")
            return redirect(url_for("admin.user", user_id=user.id))
    return render_template("admin/user_form.html", form=form, user=None)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@admin_only
def user(user_id: int) -> str | Response:
    user = db.get_or_404(User, user_id)
    form = UserForm(obj=user, teams=teams())
    if request.method == "GET":
        form.roles.data = sorted(user.role_names)
        form.team_id.data = str(user.team_id) if user.team_id else ""
        form.time_zone.data = user.time_zone or ""
    if form.validate_on_submit():
        problem = _apply_user_form(user, form)
        if problem:
            form.email.errors.append(problem)
        elif user.id == current_user.id and "admin" not in form.roles.data:
            form.roles.errors.append("You cannot remove your own admin role.")
        else:
            operations.set_roles(user, set(form.roles.data), reason=form.reason.data or None)
            record("user.updated", target=user)
            db.session.commit()
            flash("Saved.", "success")
            return redirect(url_for("admin.user", user_id=user.id))
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.target_type == "user", AuditEvent.target_id == str(user.id))
        .order_by(AuditEvent.id.desc())
        .limit(20)
    ).all()
    return render_template(
        "admin/user_form.html",
        form=form,
        user=user,
        events=events,
        reason_form=ReasonForm(prefix="status"),
        action_form=ActionForm(prefix="action"),
        erase_form=EraseForm(prefix="erase"),
    )


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
@admin_only
def deactivate(user_id: int) -> Response:
    user = db.get_or_404(User, user_id)
    form = ReasonForm(prefix="status")
    if user.id == current_user.id:
        flash("You cannot deactivate your own account.", "error")
    elif form.validate_on_submit():
        operations.deactivate(user, reason=form.reason.data)
        db.session.commit()
        flash(f"{user.name} is deactivated and signed out everywhere.", "success")
    else:
        flash("Give a reason to deactivate an account.", "error")
    return redirect(url_for("admin.user", user_id=user.id))


@bp.route("/users/<int:user_id>/reactivate", methods=["POST"])
@admin_only
def reactivate(user_id: int) -> Response:
    user = db.get_or_404(User, user_id)
    form = ReasonForm(prefix="status")
    if form.validate_on_submit():
        operations.reactivate(user, reason=form.reason.data)
        db.session.commit()
        flash(f"{user.name} is active again.", "success")
    else:
        flash("Give a reason to reactivate an account.", "error")
    return redirect(url_for("admin.user", user_id=user.id))


@bp.route("/users/<int:user_id>/invite", methods=["POST"])
@admin_only
def invite(user_id: int) -> Response:
    user = db.get_or_404(User, user_id)
    if ActionForm(prefix="action").validate_on_submit():
        if user.password_hash:
            operations.send_password_reset(user)
            message = f"A password-reset link is on its way to {user.email}."
        else:
            operations.send_invitation(user)
            message = f"A new invitation is on its way to {user.email}."
        record("user.link_sent", target=user)
        db.session.commit()
        deliver_pending()
        flash(message, "success")
    return redirect(url_for("admin.user", user_id=user.id))


@bp.route("/users/<int:user_id>/export")
@admin_only
def export(user_id: int) -> Response:
    user = db.get_or_404(User, user_id)
    data = {"exported_at": now_utc().isoformat(), "user_id": user.id, **export_user_data(user)}
    record("user.data_exported", target=user)
    db.session.commit()
    return attachment(
        json.dumps(data, indent=2, default=str), "application/json", f"user-{user.id}-data.json"
    )


@bp.route("/users/<int:user_id>/erase", methods=["POST"])
@admin_only
def erase(user_id: int) -> Response:
    user = db.get_or_404(User, user_id)
    form = EraseForm(prefix="erase")
    if user.id == current_user.id:
        flash("You cannot erase your own account.", "error")
    elif not form.validate_on_submit() or form.confirm_email.data.strip().lower() != user.email:
        flash("To erase, type the user's e-mail address exactly and give a reason.", "error")
    else:
        record("user.erased", target=user, reason=form.reason.data)
        erase_user(user)
        db.session.commit()
        flash("Personal data erased; learning records stay, anonymised.", "success")
    return redirect(url_for("admin.user", user_id=user.id))


@bp.route("/users/import", methods=["GET", "POST"], endpoint="import_users")
@admin_only
def import_users_page() -> str | Response:
    form = ImportUsersForm()
    report = None
    if form.validate_on_submit():
        try:
            text = decode_upload(form.file.data.read())
        except ValueError as error:
            form.file.errors.append(str(error))
        else:
            report = import_users(
                text, invite=form.send_invitations.data, source=form.file.data.filename
            )
            db.session.commit()
            deliver_pending()
            flash(
                f"Import finished: {report.summary()}.",
                "success" if not report.problems else "warning",
            )
    return render_template("admin/import_users.html", form=form, report=report)


@bp.route("/teams", methods=["GET", "POST"], endpoint="teams")
@admin_only
def teams_page() -> str | Response:
    all_regions = regions()
    form = UnitForm(regions=all_regions)
    if form.validate_on_submit():
        name = form.name.data.strip()
        exists = db.session.scalar(
            select(OrgUnit).where(OrgUnit.kind == form.kind.data, OrgUnit.name == name)
        )
        if exists:
            form.name.errors.append(f"A {form.kind.data} named {name} exists already.")
        else:
            parent = None
            if form.kind.data == "team" and form.region_id.data:
                parent = db.session.get(OrgUnit, int(form.region_id.data))
            unit = OrgUnit(kind=form.kind.data, name=name, parent=parent)
            db.session.add(unit)
            db.session.flush()
            record("org_unit.created", target=unit, kind=unit.kind, name=unit.name)
            db.session.commit()
            flash(f"{unit.kind.capitalize()} {unit.name} added.", "success")
            return redirect(url_for("admin.teams"))
    return render_template("admin/teams.html", form=form, regions=all_regions, teams=teams())


@bp.route("/organisation", methods=["GET", "POST"], endpoint="organisation")
@admin_only
def organisation_page() -> str | Response:
    org = organisation()
    form = OrganisationForm(obj=org)
    if request.method == "GET":
        form.working_weekdays.data = org.working_weekdays.split(",")
        form.holidays.data = "\n".join(f"{h.day.isoformat()} {h.name}" for h in org.holidays)
    if form.validate_on_submit():
        holidays, problems = _parse_holidays(form.holidays.data or "")
        if problems:
            form.holidays.errors.extend(problems)
        else:
            before = {"time_zone": org.time_zone, "working_weekdays": org.working_weekdays}
            org.name = form.name.data.strip()
            org.time_zone = form.time_zone.data
            org.working_weekdays = ",".join(sorted(form.working_weekdays.data))
            # Delete the old rows first: the unit of work inserts before it deletes, so a day
            # kept from the old list would clash with itself on (organisation_id, day).
            org.holidays.clear()
            db.session.flush()
            org.holidays = [Holiday(day=day, name=name) for day, name in holidays]
            record(
                "organisation.updated",
                target=org,
                before=before,
                after={"time_zone": org.time_zone, "working_weekdays": org.working_weekdays},
                holidays=len(holidays),
            )
            db.session.commit()
            flash("Organisation settings saved.", "success")
            return redirect(url_for("admin.organisation"))
    return render_template("admin/organisation.html", form=form)


def _parse_holidays(text: str) -> tuple[list[tuple[date, str]], list[str]]:
    holidays: dict[date, str] = {}
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        day_text, _, name = line.partition(" ")
        try:
            day = date.fromisoformat(day_text)
        except ValueError:
            problems.append(f"Line {number}: {day_text!r} is not a date such as 2026-12-25.")
            continue
        holidays[day] = name.strip() or "Holiday"
    return sorted(holidays.items()), problems


@bp.route("/curricula")
@admin_only
def curricula() -> str:
    programmes = db.session.scalars(select(Programme).order_by(Programme.kind, Programme.title))
    history = db.session.scalars(
        select(ContentVersion).order_by(ContentVersion.id.desc()).limit(100)
    )
    return render_template("admin/curricula.html", programmes=programmes, history=history)


@bp.route("/audit")
@admin_only
def audit_log() -> str:
    action = request.args.get("action", "").strip()
    statement = select(AuditEvent).order_by(AuditEvent.id.desc())
    if action:
        statement = statement.where(AuditEvent.action.like(f"{action}%"))
    page = paginate(statement, _page_number())
    return render_template("admin/audit.html", page=page, action=action)


@bp.route("/privacy")
@admin_only
def privacy() -> str:
    handlers = sorted(REGISTRY.items())
    return render_template("admin/privacy.html", handlers=handlers)
