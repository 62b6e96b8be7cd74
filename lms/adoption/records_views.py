"""Pages for the records behind the business metrics, per team: the process inventory with its
history, the campaign log, integration checkpoints (the three with a CSV import), metric
baselines; and the endorsement page every signed-in user has.

Managers keep the records of the teams of the learners in their cohorts, admins of every team;
leaders read every team's records. Anyone else's team answers 404, a leader's POST 403, and a
refused form changes nothing. Views parse, call `records_ops`, render.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from lms.accounts.importing import decode_upload
from lms.accounts.models import User
from lms.adoption import records_ops as ops
from lms.adoption.records import CampaignLog, IntegrationCheckpoint, ProcessStep
from lms.adoption.records_forms import (
    BaselineForm,
    CampaignForm,
    CampaignImportForm,
    CheckpointForm,
    CheckpointImportForm,
    EndorseForm,
    StepChangeForm,
    StepChangeImportForm,
)
from lms.core.paging import paginate, paginate_rows
from lms.extensions import db
from lms.organisation.models import OrgUnit
from lms.security import roles_required, signed_in
from lms.stages.engine import organisation_today

bp = Blueprint("records", __name__)
for_readers = roles_required("manager", "leader", "admin")
for_keepers = roles_required("manager", "admin")


def _page_number() -> int:
    return max(1, request.args.get("page", 1, type=int) or 1)


def _team(team_id: int, *, edit: bool = False) -> tuple[OrgUnit, bool]:
    """The team and whether the signed-in user may change its records. A team they may not
    read does not exist for them; a change they may not make is forbidden."""
    team = db.session.get(OrgUnit, team_id)
    access = ops.team_access(current_user, team) if team is not None else None
    if access is None:
        abort(404)
    if edit and access != ops.EDIT:
        abort(403)
    return team, access == ops.EDIT


def _show_problem(form: Any, problem: ops.RecordsError) -> None:
    """An operation's refusal beside the field it concerns (named by its label), or as a
    message. A refusal with several problems shows each beside its own field."""
    if isinstance(problem, ops.CampaignProblems):
        for each in problem.problems:
            _show_problem(form, each)
        return
    target = getattr(form, problem.field, None) if problem.field else None
    message = str(problem)
    if target is None:
        flash(message, "error")
        return
    if message.startswith(f"{problem.field} "):
        message = f"{target.label.text}{message[len(problem.field) :]}"
    target.errors = [*target.errors, message[0].upper() + message[1:]]


# --- the teams -------------------------------------------------------------------------------


@bp.route("/")
@for_readers
def index() -> str:
    page = paginate(ops.visible_teams(current_user), _page_number())
    return render_template(
        "records/index.html",
        page=page,
        summaries=ops.team_summaries([team.id for team in page.items]),
        may_import=current_user.has_role("manager", "admin"),
        metric_count=len(ops.BASELINE_METRICS),
    )


# --- process inventory -----------------------------------------------------------------------


def _processes_page(
    team: OrgUnit, can_edit: bool, posted: tuple[int, StepChangeForm] | None = None
) -> str:
    """The team's steps by procedure (the inventory is completed from the framework first)."""
    content = ops.framework_content()
    if ops.ensure_inventory(team, content):
        db.session.commit()
    steps = ops.inventory(team)
    names = ops.user_names(c.recorded_by_id for step in steps for c in step.changes)
    today = organisation_today()
    by_key = {(step.procedure, step.step_number): step for step in steps}
    procedures, listed = [], set()
    for procedure in ops.framework_procedures(content):
        rows = []
        for source in procedure.get("steps") or []:
            step = by_key.get((procedure["id"], int(source["number"])))
            if step is not None:
                rows.append(_step_row(step, source.get("description"), can_edit, posted, today))
                listed.add(step.id)
        procedures.append(
            {
                "id": procedure["id"],
                "title": procedure["title"],
                "group": procedure.get("group"),
                "steps": rows,
            }
        )
    retired = [
        _step_row(step, None, can_edit, posted, today) for step in steps if step.id not in listed
    ]
    automated = sum(1 for step in steps if ops.state_on(step.changes).automated)
    return render_template(
        "records/processes.html",
        team=team,
        can_edit=can_edit,
        loaded=content is not None,
        procedures=procedures,
        retired=retired,
        names=names,
        automated=automated,
        total=len(steps),
        section="processes",
    )


def _step_row(step: ProcessStep, description, can_edit, posted, today) -> dict[str, Any]:
    state = ops.state_on(step.changes)
    form = None
    if can_edit:
        if posted and posted[0] == step.id:
            form = posted[1]
        else:
            form = StepChangeForm(
                formdata=None,
                prefix=f"step-{step.id}",
                automated="manual" if state.automated else "automated",
                changed_on=today,
            )
    history = sorted(step.changes, key=lambda c: (c.changed_on, c.id), reverse=True)
    return {
        "step": step,
        "description": description,
        "state": state,
        "history": history,
        "form": form,
    }


@bp.route("/teams/<int:team_id>/processes")
@for_readers
def processes(team_id: int) -> str:
    team, can_edit = _team(team_id)
    return _processes_page(team, can_edit)


@bp.route("/teams/<int:team_id>/processes/<int:step_id>", methods=["POST"])
@for_readers
def change_step(team_id: int, step_id: int) -> str | Response:
    team, _ = _team(team_id, edit=True)
    step = db.session.get(ProcessStep, step_id)
    if step is None or step.team_id != team.id:
        abort(404)
    form = StepChangeForm(prefix=f"step-{step.id}")
    if form.validate_on_submit():
        try:
            change = ops.record_step_change(
                step,
                automated=form.automated.data == "automated",
                changed_on=form.changed_on.data,
                note=form.note.data,
                actor=current_user,
            )
        except ops.RecordsError as problem:
            db.session.rollback()
            _show_problem(form, problem)
        else:
            db.session.commit()
            state = "automated" if form.automated.data == "automated" else "manual"
            if change is None:
                flash(f"“{step.title}” was recorded as {state} on that date already.", "info")
            else:
                flash(
                    f"“{step.title}” is recorded as {state} from {change.changed_on:%d %b %Y}.",
                    "success",
                )
            return redirect(
                url_for("records.processes", team_id=team.id, _anchor=f"step-{step.id}")
            )
    return _processes_page(team, True, posted=(step.id, form))


# --- campaign log ----------------------------------------------------------------------------


def _campaigns_page(team: OrgUnit, can_edit: bool, form: CampaignForm | None) -> str:
    page = paginate(ops.campaigns_newest_first(team), _page_number(), per_page=25)
    return render_template(
        "records/campaigns.html",
        team=team,
        can_edit=can_edit,
        page=page,
        totals=ops.campaign_totals(team),
        names=ops.user_names(row.recorded_by_id for row in page.items),
        form=form,
        section="campaigns",
    )


@bp.route("/teams/<int:team_id>/campaigns", methods=["GET", "POST"])
@for_readers
def campaigns(team_id: int) -> str | Response:
    """The team's campaigns, newest first, with totals; a POST adds one."""
    team, can_edit = _team(team_id, edit=request.method == "POST")
    form = CampaignForm() if can_edit else None
    if form is not None and form.validate_on_submit():
        try:
            row = ops.add_campaign(team, form.values(), actor=current_user)
        except ops.RecordsError as problem:
            db.session.rollback()
            _show_problem(form, problem)
        else:
            db.session.commit()
            flash(f"Campaign “{row.campaign}” added to {team.name}'s log.", "success")
            return redirect(url_for("records.campaigns", team_id=team.id))
    elif form is not None and form.is_submitted():
        _campaign_problems_too(form)
    return _campaigns_page(team, can_edit, form)


def _campaign_problems_too(form: CampaignForm) -> None:
    """A form refused for one field also says what the rules say of the others (a date in the
    future, a KPI without its value), so the person fixes everything in one go."""
    try:
        ops.check_campaign(form.values())
    except ops.CampaignProblems as problems:
        for problem in problems.problems:
            field = getattr(form, problem.field or "", None)
            if field is not None and not field.errors:
                _show_problem(form, problem)


@bp.route("/teams/<int:team_id>/campaigns/<int:campaign_id>/edit", methods=["GET", "POST"])
@for_readers
def edit_campaign(team_id: int, campaign_id: int) -> str | Response:
    team, _ = _team(team_id, edit=True)
    row = db.session.get(CampaignLog, campaign_id)
    if row is None or row.team_id != team.id:
        abort(404)
    form = CampaignForm(obj=row)
    if form.validate_on_submit():
        try:
            changed = ops.update_campaign(row, form.values(), actor=current_user)
        except ops.RecordsError as problem:
            db.session.rollback()
            _show_problem(form, problem)
        else:
            db.session.commit()
            if changed:
                flash(f"Campaign “{row.campaign}” saved.", "success")
            else:
                flash("Nothing had changed.", "info")
            return redirect(url_for("records.campaigns", team_id=team.id))
    elif form.is_submitted():
        _campaign_problems_too(form)
    return render_template(
        "records/campaign_edit.html", team=team, row=row, form=form, section="campaigns"
    )


def _run_import(kind: str, form: Any) -> Any:
    """The uploaded file of `kind` imported for the teams the user keeps (None if the form was
    not sent or the file could not be read: the form says why)."""
    if not form.validate_on_submit():
        return None
    try:
        text = decode_upload(form.file.data.read())
    except ValueError as error:
        form.file.errors = [*form.file.errors, f"{str(error)[0].upper()}{str(error)[1:]}."]
        return None
    report = ops.import_csv(
        kind,
        text,
        editable=ops.editable_team_ids(current_user),
        actor=current_user,
        source=form.file.data.filename or "upload.csv",
    )
    db.session.commit()
    flash(f"Import finished: {report.summary()}.", "warning" if report.problems else "success")
    return report


def _kept_teams() -> list[OrgUnit]:
    """The teams whose records the signed-in user may import, by name."""
    statement = ops.visible_teams(current_user)
    editable = ops.editable_team_ids(current_user)
    if editable is not None:
        statement = statement.where(OrgUnit.id.in_(editable))
    return list(db.session.scalars(statement))


@bp.route("/campaigns/import", methods=["GET", "POST"])
@for_keepers
def import_campaigns() -> str:
    """A CSV of campaigns for the teams the user keeps: bad rows by line, good rows kept."""
    form = CampaignImportForm()
    report = _run_import("campaigns", form)
    return render_template(
        "records/import_campaigns.html", form=form, report=report, teams=_kept_teams()
    )


# --- integration checkpoints -----------------------------------------------------------------


def _integration_page(
    team: OrgUnit, can_edit: bool, posted: tuple[int, CheckpointForm] | None = None
) -> str:
    """The team's checkpoints by domain (completed from the framework first)."""
    content = ops.framework_content()
    if ops.ensure_checkpoints(team, content):
        db.session.commit()
    rows = ops.checkpoints(team)
    names = ops.user_names(cp.updated_by_id for cp in rows)
    by_key = {(cp.domain, cp.item): cp for cp in rows}
    domains, listed = [], set()
    for domain in ops.framework_domains(content):
        items = []
        for source in domain.get("items") or []:
            checkpoint = by_key.get((domain["id"], source["id"]))
            if checkpoint is not None:
                items.append(
                    _checkpoint_row(checkpoint, source.get("description"), can_edit, posted)
                )
                listed.add(checkpoint.id)
        achieved = sum(1 for item in items if item["checkpoint"].status == "achieved")
        domains.append(
            {"id": domain["id"], "title": domain["title"], "items": items, "achieved": achieved}
        )
    retired = [_checkpoint_row(cp, None, can_edit, posted) for cp in rows if cp.id not in listed]
    return render_template(
        "records/integration.html",
        team=team,
        can_edit=can_edit,
        loaded=content is not None,
        domains=domains,
        retired=retired,
        names=names,
        achieved=sum(1 for cp in rows if cp.status == "achieved"),
        total=len(rows),
        section="integration",
    )


def _checkpoint_row(
    checkpoint: IntegrationCheckpoint, description, can_edit, posted
) -> dict[str, Any]:
    form = None
    if can_edit:
        if posted and posted[0] == checkpoint.id:
            form = posted[1]
        else:
            form = CheckpointForm(
                formdata=None,
                prefix=f"cp-{checkpoint.id}",
                status="planned" if checkpoint.status == "achieved" else "achieved",
                achieved_on=checkpoint.achieved_on,
                evidence=checkpoint.evidence,
            )
    return {"checkpoint": checkpoint, "description": description, "form": form}


@bp.route("/teams/<int:team_id>/integration")
@for_readers
def integration(team_id: int) -> str:
    team, can_edit = _team(team_id)
    return _integration_page(team, can_edit)


@bp.route("/teams/<int:team_id>/integration/<int:checkpoint_id>", methods=["POST"])
@for_readers
def set_checkpoint(team_id: int, checkpoint_id: int) -> str | Response:
    team, _ = _team(team_id, edit=True)
    checkpoint = db.session.get(IntegrationCheckpoint, checkpoint_id)
    if checkpoint is None or checkpoint.team_id != team.id:
        abort(404)
    form = CheckpointForm(prefix=f"cp-{checkpoint.id}")
    if form.validate_on_submit():
        try:
            changed = ops.set_checkpoint(
                checkpoint,
                status=form.status.data,
                achieved_on=form.achieved_on.data,
                evidence=form.evidence.data,
                actor=current_user,
            )
        except ops.RecordsError as problem:
            db.session.rollback()
            _show_problem(form, problem)
        else:
            db.session.commit()
            if changed:
                flash(f"“{checkpoint.title}” is {checkpoint.status}.", "success")
            else:
                flash(f"“{checkpoint.title}” was {checkpoint.status} already.", "info")
            return redirect(
                url_for("records.integration", team_id=team.id, _anchor=f"cp-{checkpoint.id}")
            )
    return _integration_page(team, True, posted=(checkpoint.id, form))


# --- CSV imports of process-step changes and checkpoints ------------------------------------


@bp.route("/processes/import", methods=["GET", "POST"])
@for_keepers
def import_processes() -> str:
    """A CSV of process-step changes for the teams the user keeps, checked as the API checks
    them: bad rows by line, good rows kept, a change recorded already not recorded twice."""
    form = StepChangeImportForm()
    report = _run_import("process-changes", form)
    return render_template(
        "records/import_records.html",
        kind=ops.IMPORT_KINDS["process-changes"],
        form=form,
        report=report,
        teams=_kept_teams(),
        team_page="records.processes",
        procedures=ops.framework_procedures(),
    )


@bp.route("/integration/import", methods=["GET", "POST"])
@for_keepers
def import_integration() -> str:
    """A CSV of integration checkpoints for the teams the user keeps, checked as the form and
    the API check them: bad rows by line, good rows kept."""
    form = CheckpointImportForm()
    report = _run_import("checkpoints", form)
    return render_template(
        "records/import_records.html",
        kind=ops.IMPORT_KINDS["checkpoints"],
        form=form,
        report=report,
        teams=_kept_teams(),
        team_page="records.integration",
        domains=ops.framework_domains(),
    )


# --- baselines -------------------------------------------------------------------------------


def _baselines_page(
    team: OrgUnit, can_edit: bool, posted: tuple[str, BaselineForm] | None = None
) -> str:
    current = ops.baselines(team)
    metrics = []
    for metric, (label, explanation) in ops.BASELINE_METRICS.items():
        row = current.get(metric)
        form = None
        if can_edit:
            if posted and posted[0] == metric:
                form = posted[1]
            else:
                form = BaselineForm(formdata=None, prefix=metric, obj=row)
        campaigns = None
        if row is not None and metric in ops.CAMPAIGN_BASELINES:
            campaigns = ops.campaigns_in_period(team, row.period_start, row.period_end)
        metrics.append(
            {
                "id": metric,
                "label": label,
                "explanation": explanation,
                "baseline": row,
                "campaigns": campaigns,
                "form": form,
            }
        )
    return render_template(
        "records/baselines.html", team=team, can_edit=can_edit, metrics=metrics, section="baselines"
    )


@bp.route("/teams/<int:team_id>/baselines")
@for_readers
def baselines(team_id: int) -> str:
    team, can_edit = _team(team_id)
    return _baselines_page(team, can_edit)


@bp.route("/teams/<int:team_id>/baselines/<metric>", methods=["POST"])
@for_readers
def set_baseline(team_id: int, metric: str) -> str | Response:
    team, _ = _team(team_id, edit=True)
    if metric not in ops.BASELINE_METRICS:
        abort(404)
    form = BaselineForm(prefix=metric)
    if form.validate_on_submit():
        try:
            ops.set_baseline(
                team,
                metric,
                period_start=form.period_start.data,
                period_end=form.period_end.data,
                note=form.note.data,
                actor=current_user,
            )
        except ops.RecordsError as problem:
            db.session.rollback()
            _show_problem(form, problem)
        else:
            db.session.commit()
            flash(f"Baseline of {ops.BASELINE_METRICS[metric][0].lower()} saved.", "success")
            return redirect(url_for("records.baselines", team_id=team.id, _anchor=metric))
    return _baselines_page(team, True, posted=(metric, form))


# --- endorsements ----------------------------------------------------------------------------


@bp.route("/endorse", methods=["GET", "POST"])
@signed_in
def endorse() -> str | Response:
    """Search colleagues by name (GET ?q=) and endorse one (POST, the result's button carries
    their id); the endorsements the user received are listed below."""
    query = request.args.get("q", "").strip()[:100]
    form = EndorseForm()
    if form.validate_on_submit():
        colleague = db.session.get(User, form.endorsee_id.data)
        try:
            ops.endorse(current_user, colleague, form.note.data)
        except ops.RecordsError as problem:
            db.session.rollback()
            _show_problem(form, problem)
        else:
            db.session.commit()
            flash(f"You endorsed {colleague.name}.", "success")
            return redirect(url_for("records.endorse"))
    found = ops.colleagues_matching(current_user, query, limit=26) if query else []
    return render_template(
        "records/endorse.html",
        form=form,
        q=query,
        found=found[:25],
        more=len(found) > 25,
        received=paginate_rows(ops.endorsements_received(current_user), _page_number(), 25),
        given=ops.endorsements_given_recently(current_user),
    )
