"""The cohort dashboard at /dashboard and the learners behind each of its figures at
/dashboard/learners, each table downloadable as CSV or XLSX (`?format=csv|xlsx&table=<name>`,
keeping the filters).

Managers see the cohorts they manage; leaders and admins every cohort. A filter naming a cohort
(team, region, programme) the viewer cannot choose answers 404, as if it did not exist. Leaders
drill down to names and statuses, never to answers or submitted work: nothing here shows them.
Views parse the filters, call `data` and `tables`, render or export.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField
from wtforms.validators import Optional

from lms.core.downloads import attachment
from lms.core.exports import CSV_TYPE, XLSX_TYPE, Table, to_csv, to_xlsx
from lms.core.forms import choices
from lms.core.paging import paginate_rows
from lms.dashboard import data, tables
from lms.extensions import db
from lms.organisation.operations import organisation
from lms.security import roles_required
from lms.stages.engine import organisation_today

bp = Blueprint("dashboard", __name__)
for_dashboard_viewers = roles_required("manager", "leader", "admin")
FORMATS = ("csv", "xlsx")


class FilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    cohort = SelectField("Cohort", validators=[Optional()])
    team = SelectField("Team", validators=[Optional()])
    region = SelectField("Region", validators=[Optional()])
    programme = SelectField("Programme", validators=[Optional()])
    start_from = DateField(
        "Enrolled from", validators=[Optional()], description="Enrolment start, on or after"
    )
    start_to = DateField("Enrolled to", validators=[Optional()], description="On or before")


def _options(everything: str, options: list[data.Option]) -> list:
    return choices([("", everything)] + [(str(option.id), option.name) for option in options])


def _read_filters(viewer: data.Viewer) -> tuple[FilterForm, data.Filters, dict[str, str]]:
    """The filters from the query string. A cohort, team, region or programme the viewer may
    not choose is 404; a date that is not one is shown as an error and left out."""
    found = data.choices_for(viewer)
    form = FilterForm(request.args)
    every_cohort = "All cohorts" if viewer.sees_everything else "All my cohorts"
    form.cohort.choices = _options(every_cohort, found.cohorts)
    form.team.choices = _options("All teams", found.teams)
    form.region.choices = _options("All regions", found.regions)
    form.programme.choices = _options("All programmes", found.programmes)
    form.validate()
    for field in (form.cohort, form.team, form.region, form.programme):
        if field.errors:
            abort(404)
    start_from = None if form.start_from.errors else form.start_from.data
    start_to = None if form.start_to.errors else form.start_to.data
    if start_from and start_to and start_to < start_from:
        form.start_to.errors = [*form.start_to.errors, "The end is before the start: left out."]
        start_to = None

    def chosen(field: SelectField) -> int | None:
        return int(field.data) if field.data else None

    filters = data.Filters(
        cohort_id=chosen(form.cohort),
        team_id=chosen(form.team),
        region_id=chosen(form.region),
        programme_id=chosen(form.programme),
        start_from=start_from,
        start_to=start_to,
    )
    labels = {}
    for field, options in (
        (form.cohort, found.cohorts),
        (form.team, found.teams),
        (form.region, found.regions),
        (form.programme, found.programmes),
    ):
        if field.data:
            labels[field.label.text] = next(o.name for o in options if str(o.id) == field.data)
    if start_from:
        labels["Enrolled from"] = start_from.strftime("%d %b %Y")
    if start_to:
        labels["Enrolled to"] = start_to.strftime("%d %b %Y")
    return form, filters, labels


def _view(filters: data.Filters, viewer: data.Viewer) -> data.View:
    return data.View(viewer, filters, organisation_today(), organisation().time_zone)


def _download(table: Table, fmt: str, today: date) -> Response:
    if fmt == "csv":
        body, mimetype, suffix = to_csv(table), CSV_TYPE, "csv"
    else:
        body, mimetype, suffix = to_xlsx(table), XLSX_TYPE, "xlsx"
    filename = f"{table.name}-{today.isoformat()}.{suffix}"
    return attachment(body, mimetype, filename)


def _page_number(name: str = "page") -> int:
    return max(1, request.args.get(name, 1, type=int) or 1)


@bp.route("/dashboard")
@for_dashboard_viewers
def index() -> Any:
    viewer = data.Viewer.of(current_user)
    form, filters, labels = _read_filters(viewer)
    view = _view(filters, viewer)
    figures = data.Figures(view)
    links = tables.Links(filters, _manage_link(viewer))
    names = [name for name in tables.SECTIONS if name != "adoption-learners" or filters.team_id]
    wanted, fmt = request.args.get("table"), request.args.get("format")
    if wanted is not None or fmt is not None:
        if wanted not in names or fmt not in FORMATS:
            abort(404)
        section = tables.SECTIONS[wanted](figures, links, None)
        return _download(section.table, fmt, view.today)
    pages = {name: _page_number(tables.page_argument(name)) for name in tables.PAGED}
    sections = {name: tables.SECTIONS[name](figures, links, pages.get(name, 1)) for name in names}
    return render_template(
        "dashboard/index.html",
        form=form,
        filters=filters,
        args=filters.as_args(),
        pages={tables.page_argument(name): number for name, number in pages.items()},
        labels=labels,
        figures=figures,
        sections=sections,
        links=links,
        sla=data.sla_days(),
        window_days=view.window_days,
        today=view.today,
        may_grade=current_user.has_role("manager", "admin"),
    )


@bp.route("/dashboard/learners")
@for_dashboard_viewers
def learners() -> Any:
    """The learners (enrolments, or waiting submissions) behind one figure, paged; names and
    statuses only."""
    viewer = data.Viewer.of(current_user)
    form, filters, labels = _read_filters(viewer)
    view = _view(filters, viewer)
    figures = data.Figures(view)
    figure, value = request.args.get("figure", ""), request.args.get("value", "")
    try:
        drill = data.drill_down(figures, figure, value)
    except data.UnknownFigure:
        abort(404)
    manage_link = _manage_link(viewer) if drill.kind == data.ENROLMENTS else None
    fmt = request.args.get("format")
    if fmt is not None:
        if fmt not in FORMATS:
            abort(404)
        rows = db.session.execute(drill.statement).all()
        return _download(tables.drill_table(drill, rows, None, view.zone), fmt, view.today)
    page = paginate_rows(drill.statement, _page_number(), tables.PER_PAGE)
    return render_template(
        "dashboard/learners.html",
        drill=drill,
        table=tables.drill_table(drill, page.items, manage_link, view.zone),
        page=page,
        args=filters.as_args(),
        labels=labels,
        figure=figure,
        value=value,
    )


def _manage_link(viewer: data.Viewer) -> Callable[[Any], str | None]:
    """A link to an enrolment's page in the cohort pages, for the cohorts the viewer manages
    (admins: every one; a leader who manages none: no link). One query, whatever the rows."""
    everything = current_user.has_role("admin")
    managed = (
        set() if everything else set(db.session.scalars(data.managed_cohort_ids(viewer.user_id)))
    )

    def link(row: Any) -> str | None:
        if not everything and row.cohort_id not in managed:
            return None
        return url_for("cohorts.enrolment", cohort_id=row.cohort_id, enrolment_id=row.id)

    return link
