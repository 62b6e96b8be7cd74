"""Feature-utilisation pages: a cohort's and a team's adoption rate, weekly trend, unused
features, quadrants and heat table, with the learners behind every figure; and each learner's
own picture at /utilisation/me.

Managers open the cohorts they manage and the teams with a learner in them (seeing, of a team,
only its enrolments in their cohorts); admins and leaders open every one. Anything else answers
404, as if it did not exist. Learners see their own page only. Views parse, call
`utilisation_data`, render.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, render_template, request
from flask_login import current_user
from sqlalchemy import select

from lms.accounts.models import User
from lms.adoption import utilisation
from lms.adoption.utilisation_data import (
    NO_TEAM,
    Scope,
    group_page,
    learner_list,
    learner_page,
    window_days,
)
from lms.cohorts.operations import visible_cohorts
from lms.core.paging import paginate
from lms.extensions import db
from lms.organisation.models import Cohort, Enrolment, OrgUnit
from lms.organisation.operations import organisation
from lms.security import roles_required, signed_in
from lms.stages.engine import organisation_today

bp = Blueprint("utilisation", __name__)
for_group_viewers = roles_required("manager", "admin", "leader")


def _sees_everything() -> bool:
    return current_user.has_role("admin", "leader")


def _cohort(cohort_id: int) -> Cohort:
    """The cohort, if the signed-in user may see it; otherwise it does not exist for them."""
    cohort = db.session.get(Cohort, cohort_id)
    if cohort is None or not (_sees_everything() or cohort.manager_id == current_user.id):
        abort(404)
    return cohort


def _team(team_id: int) -> tuple[OrgUnit, Scope]:
    """The team and what the signed-in user may see of it: everything for admins and leaders;
    for a manager, its learners' enrolments in their cohorts (404 when there are none)."""
    team = db.session.get(OrgUnit, team_id)
    if team is None or team.kind != "team":
        abort(404)
    if _sees_everything():
        return team, Scope.team(team)
    in_their_cohorts = db.session.scalar(
        select(Enrolment.id)
        .join(User, User.id == Enrolment.user_id)
        .join(Cohort, Cohort.id == Enrolment.cohort_id)
        .where(User.team_id == team.id, Cohort.manager_id == current_user.id)
        .limit(1)
    )
    if in_their_cohorts is None:
        abort(404)
    return team, Scope.team(team, manager_id=current_user.id)


def _page_number() -> int:
    return request.args.get("page", 1, type=int) or 1


def _zone() -> str:
    return organisation().time_zone


def _list_arguments(today: date) -> dict:
    """The learner list's filters from the query string; anything unknown falls back to the
    default (everyone taught a feature, today, every team)."""
    show = request.args.get("show", utilisation.TAUGHT)
    if show not in utilisation.LEARNER_LISTS:
        show = utilisation.TAUGHT
    on = today
    try:
        asked = date.fromisoformat(request.args.get("on", ""))
    except ValueError:
        asked = None
    earliest = utilisation.trend_days(today)[0][2]
    if asked is not None and earliest <= asked <= today:
        on = asked
    team_arg = request.args.get("team", "")
    team = NO_TEAM if team_arg == NO_TEAM else (int(team_arg) if team_arg.isdecimal() else None)
    return {
        "on": on,
        "show": show,
        "feature_id": request.args.get("feature", type=int),
        "team": team,
        "page_number": _page_number(),
    }


# Where the pages are ------------------------------------------------------------------------


@bp.route("/")
@for_group_viewers
def index() -> str:
    cohorts = paginate(visible_cohorts(current_user), _page_number())
    teams_query = select(OrgUnit).where(OrgUnit.kind == "team").order_by(OrgUnit.name)
    if not _sees_everything():
        teams_query = teams_query.where(
            OrgUnit.id.in_(
                select(User.team_id)
                .join(Enrolment, Enrolment.user_id == User.id)
                .join(Cohort, Cohort.id == Enrolment.cohort_id)
                .where(Cohort.manager_id == current_user.id)
            )
        )
    return render_template(
        "utilisation/index.html", cohorts=cohorts, teams=list(db.session.scalars(teams_query))
    )


# A cohort -----------------------------------------------------------------------------------


@bp.route("/cohorts/<int:cohort_id>")
@for_group_viewers
def cohort(cohort_id: int) -> str:
    found = _cohort(cohort_id)
    today = organisation_today()
    page = group_page(Scope.cohort(found), today, _zone(), by="team", page_number=_page_number())
    return render_template(
        "utilisation/group.html",
        page=page,
        group_name=found.name,
        kind="cohort",
        ids={"cohort_id": found.id},
        may_open_teams=True,
    )


@bp.route("/cohorts/<int:cohort_id>/learners")
@for_group_viewers
def cohort_learners(cohort_id: int) -> str:
    found = _cohort(cohort_id)
    today = organisation_today()
    listing = learner_list(Scope.cohort(found), zone=_zone(), **_list_arguments(today))
    return render_template(
        "utilisation/learners.html",
        listing=listing,
        group_name=found.name,
        kind="cohort",
        ids={"cohort_id": found.id},
        today=today,
        window_days=window_days(),
    )


@bp.route("/cohorts/<int:cohort_id>/learners/<int:user_id>")
@for_group_viewers
def cohort_learner(cohort_id: int, user_id: int) -> str:
    found = _cohort(cohort_id)
    return _learner_in_group(
        Scope.cohort(found), user_id, found.name, "cohort", {"cohort_id": found.id}
    )


def _learner_in_group(
    scope: Scope, user_id: int, group_name: str, kind: str, ids: dict[str, int]
) -> str:
    """One learner's picture within a cohort or team; 404 when they are not in it."""
    page = learner_page(scope, user_id, organisation_today(), _zone())
    if not page.in_scope:
        abort(404)
    return render_template(
        "utilisation/learner.html", page=page, own=False, group_name=group_name, kind=kind, ids=ids
    )


# A team -------------------------------------------------------------------------------------


@bp.route("/teams/<int:team_id>")
@for_group_viewers
def team(team_id: int) -> str:
    found, scope = _team(team_id)
    today = organisation_today()
    page = group_page(scope, today, _zone(), by="learner", page_number=_page_number())
    return render_template(
        "utilisation/group.html",
        page=page,
        group_name=found.name,
        kind="team",
        ids={"team_id": found.id},
        partial=not _sees_everything(),
        may_open_teams=False,
    )


@bp.route("/teams/<int:team_id>/learners")
@for_group_viewers
def team_learners(team_id: int) -> str:
    found, scope = _team(team_id)
    today = organisation_today()
    arguments = _list_arguments(today)
    arguments["team"] = None  # the team is the scope already
    listing = learner_list(scope, zone=_zone(), **arguments)
    return render_template(
        "utilisation/learners.html",
        listing=listing,
        group_name=found.name,
        kind="team",
        ids={"team_id": found.id},
        today=today,
        window_days=window_days(),
    )


@bp.route("/teams/<int:team_id>/learners/<int:user_id>")
@for_group_viewers
def team_learner(team_id: int, user_id: int) -> str:
    found, scope = _team(team_id)
    return _learner_in_group(scope, user_id, found.name, "team", {"team_id": found.id})


# A learner's own ------------------------------------------------------------------------------


@bp.route("/me")
@signed_in
def me() -> str:
    """The signed-in user's own use of the features their programmes teach; there is no way to
    ask for someone else's here."""
    page = learner_page(
        Scope.learner(current_user.id), current_user.id, organisation_today(), _zone()
    )
    return render_template("utilisation/learner.html", page=page, own=True)
