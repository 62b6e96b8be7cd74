"""What the home page shows each role, gathered in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from lms.accounts.models import Role, User, user_roles
from lms.core.timeutil import local_date, now_utc
from lms.curricula.models import Programme
from lms.extensions import db
from lms.organisation.models import Cohort, Enrolment, OrgUnit
from lms.organisation.operations import organisation


@dataclass
class CohortRow:
    id: int
    name: str
    start_date: date
    due_date: date | None
    programmes: list[str]
    learners: int
    withdrawn: int


@dataclass
class TeamRow:
    team: str
    region: str
    learners: int
    active_enrolments: int


@dataclass
class HomeData:
    today: date
    cohorts: list[CohortRow] = field(default_factory=list)
    teams: list[TeamRow] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def for_user(user: User) -> HomeData:
    org = organisation()
    today = local_date(now_utc(), user.time_zone or org.time_zone)
    data = HomeData(today=today)
    if user.has_role("manager"):
        data.cohorts = _cohorts(Cohort.manager_id == user.id)
    if user.has_role("leader", "admin"):
        data.teams = _teams()
    if user.has_role("admin"):
        data.counts = _counts()
    return data


def _cohorts(condition) -> list[CohortRow]:
    cohorts = list(db.session.scalars(select(Cohort).where(condition).order_by(Cohort.start_date)))
    # Distinct people per cohort: a learner with one programme completed and another active
    # is one learner, not two.
    learner = func.distinct(Enrolment.user_id)
    counts = {
        cohort_id: (learners, withdrawn)
        for cohort_id, learners, withdrawn in db.session.execute(
            select(
                Enrolment.cohort_id,
                func.count(learner).filter(Enrolment.status != "withdrawn"),
                func.count(learner).filter(Enrolment.status == "withdrawn"),
            )
            .where(Enrolment.cohort_id.in_([c.id for c in cohorts]))
            .group_by(Enrolment.cohort_id)
        )
    }
    return [
        CohortRow(
            id=cohort.id,
            name=cohort.name,
            start_date=cohort.start_date,
            due_date=cohort.due_date,
            programmes=[p.title for p in cohort.programmes],
            learners=counts.get(cohort.id, (0, 0))[0],
            withdrawn=counts.get(cohort.id, (0, 0))[1],
        )
        for cohort in cohorts
    ]


def _teams() -> list[TeamRow]:
    region = aliased(OrgUnit)
    learner_role = select(Role.id).where(Role.name == "learner").scalar_subquery()
    learners = (
        select(User.team_id, func.count(User.id).label("n"))
        .join(user_roles, user_roles.c.user_id == User.id)
        .where(user_roles.c.role_id == learner_role, User.active.is_(True))
        .group_by(User.team_id)
        .subquery()
    )
    active = (
        select(User.team_id, func.count(Enrolment.id).label("n"))
        .join(Enrolment, Enrolment.user_id == User.id)
        .where(Enrolment.status == "active")
        .group_by(User.team_id)
        .subquery()
    )
    rows = db.session.execute(
        select(OrgUnit.name, region.name, learners.c.n, active.c.n)
        .outerjoin(region, OrgUnit.parent_id == region.id)
        .outerjoin(learners, learners.c.team_id == OrgUnit.id)
        .outerjoin(active, active.c.team_id == OrgUnit.id)
        .where(OrgUnit.kind == "team")
        .order_by(region.name, OrgUnit.name)
    ).all()
    return [TeamRow(team, reg or "—", n or 0, a or 0) for team, reg, n, a in rows]


def _counts() -> dict[str, int]:
    users, active_users = db.session.execute(
        select(func.count(User.id), func.count(User.id).filter(User.active.is_(True)))
    ).one()
    programmes = db.session.scalar(
        select(func.count(Programme.id)).where(Programme.retired_at.is_(None))
    )
    return {"users": users, "active users": active_users, "programmes": programmes or 0}
