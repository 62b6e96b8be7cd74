"""The home page: what each role sees first, on the demo organisation, in a bounded number of
queries whatever its size."""

from __future__ import annotations

import re
from datetime import date

import pytest
from flask import Flask
from markupsafe import escape
from sqlalchemy import func, select, update

from lms.accounts.models import Role, User, user_roles
from lms.core.timeutil import local_date, now_utc
from lms.curricula.models import Programme
from lms.demo.seed import DEMO_PASSWORD, seed
from lms.extensions import db
from lms.organisation.models import Cohort, Enrolment, OrgUnit
from tests.conftest import _clear_database, login, make_user

TEAM_ROW = re.compile(
    r'<tr><td>(?P<region>[^<]*)</td><th scope="row">(?P<team>[^<]*)</th>'
    r'<td class="num">(?P<learners>\d+)</td><td class="num">(?P<active>\d+)</td></tr>'
)
COHORT_ROW = re.compile(
    r'<tr><th scope="row">(?P<name>[^<]*)</th>.*?<td class="num">(?P<learners>\d+)</td>'
    r'<td class="num">(?P<withdrawn>\d+)</td></tr>'
)


@pytest.fixture
def demo(app: Flask, curricula) -> None:
    """The demo organisation (about 40 learners), as `flask demo seed` makes it."""
    with app.app_context():
        seed("demo")
        db.session.commit()


def signed_in(app: Flask, email: str):
    client = app.test_client()
    response = login(client, email, DEMO_PASSWORD)
    assert response.status_code == 302, email
    return client


def home_page(client) -> str:
    response = client.get("/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def user_id(email: str) -> int:
    return db.session.scalar(select(User.id).where(User.email == email))


# --- Learner ---------------------------------------------------------------------------------


def test_learner_sees_their_programmes_with_cohort_and_day(app: Flask, demo) -> None:
    page = home_page(signed_in(app, "learner@example.com"))
    with app.app_context():
        rows = db.session.execute(
            select(Programme.title, Programme.slug, Cohort.name, Enrolment.start_date)
            .join(Programme, Programme.id == Enrolment.programme_id)
            .join(Cohort, Cohort.id == Enrolment.cohort_id)
            .where(Enrolment.user_id == user_id("learner@example.com"))
        ).all()
        other_cohorts = db.session.scalars(
            select(Cohort.name).where(Cohort.name.not_in([r.name for r in rows]))
        ).all()
    today = local_date(now_utc(), "Europe/London")
    assert len(rows) == 2
    assert "My path" in page
    assert page.count('<li class="card path-card">') == 2
    for title, slug, cohort, start in rows:
        assert str(escape(title)) in page
        assert f'href="/catalogue/{slug}"' in page
        assert str(escape(cohort)) in page
        assert f"day {(today - start).days}" in page
    assert other_cohorts and all(name not in page for name in other_cohorts)
    assert "Your cohorts" not in page
    assert 'id="teams-heading"' not in page
    assert 'id="admin-heading"' not in page


def test_learner_without_enrolments_is_pointed_to_the_catalogue(app: Flask, demo) -> None:
    with app.app_context():
        make_user("newcomer@example.com", password=DEMO_PASSWORD)
    page = home_page(signed_in(app, "newcomer@example.com"))
    assert "You are not enrolled in a programme yet." in page
    assert 'href="/catalogue"' in page


def test_enrolment_starting_later_says_so(app: Flask, demo) -> None:
    with app.app_context():
        today = local_date(now_utc(), "Europe/London")
        db.session.execute(
            update(Enrolment)
            .where(Enrolment.user_id == user_id("learner@example.com"))
            .values(start_date=date.fromordinal(today.toordinal() + 3))
        )
        db.session.commit()
    page = home_page(signed_in(app, "learner@example.com"))
    assert page.count("starts in 3 days") == 2


# --- Manager ---------------------------------------------------------------------------------


def test_manager_sees_only_their_own_cohort(app: Flask, demo) -> None:
    page = home_page(signed_in(app, "manager@example.com"))
    with app.app_context():
        mine = db.session.scalar(
            select(Cohort).where(Cohort.manager_id == user_id("manager@example.com"))
        )
        others = db.session.scalars(
            select(Cohort.name).where(Cohort.manager_id != mine.manager_id)
        ).all()
        learners = db.session.scalar(
            select(func.count(Enrolment.user_id.distinct())).where(
                Enrolment.cohort_id == mine.id, Enrolment.status != "withdrawn"
            )
        )
        programme_titles = [p.title for p in mine.programmes]
        mine_name = mine.name
    rows = [m.groupdict() for m in COHORT_ROW.finditer(page)]
    assert [row["name"] for row in rows] == [mine_name]
    assert int(rows[0]["learners"]) == learners == 20
    assert others and all(name not in page for name in others)
    for title in programme_titles:
        assert str(escape(title)) in page
    assert "My path" not in page
    assert 'id="teams-heading"' not in page


def test_the_other_manager_sees_the_other_cohort(app: Flask, demo) -> None:
    page = home_page(signed_in(app, "manager2@example.com"))
    with app.app_context():
        theirs = db.session.scalars(
            select(Cohort.name).where(Cohort.manager_id == user_id("manager2@example.com"))
        ).all()
        mine = db.session.scalars(
            select(Cohort.name).where(Cohort.manager_id == user_id("manager@example.com"))
        ).all()
    assert [m["name"] for m in COHORT_ROW.finditer(page)] == theirs
    assert mine[0] not in page


def test_cohort_learners_are_counted_once(app: Flask, demo) -> None:
    """A learner with one programme completed and the other still active is one learner."""
    with app.app_context():
        learner = user_id("learner@example.com")
        first = db.session.scalars(
            select(Enrolment).where(Enrolment.user_id == learner).order_by(Enrolment.id)
        ).first()
        first.status = "completed"
        db.session.commit()
        cohort_id = first.cohort_id
        expected = db.session.scalar(
            select(func.count(Enrolment.user_id.distinct())).where(
                Enrolment.cohort_id == cohort_id, Enrolment.status != "withdrawn"
            )
        )
    page = home_page(signed_in(app, "manager@example.com"))
    rows = [m.groupdict() for m in COHORT_ROW.finditer(page)]
    assert int(rows[0]["learners"]) == expected == 20


def test_manager_without_cohorts(app: Flask, demo) -> None:
    with app.app_context():
        make_user("new.manager@example.com", ("manager",), password=DEMO_PASSWORD)
    page = home_page(signed_in(app, "new.manager@example.com"))
    assert "You do not manage a cohort yet." in page


# --- Leader and admin ------------------------------------------------------------------------


def team_counts_from_database() -> dict[str, tuple[str, int, int]]:
    learner_role = db.session.scalar(select(Role.id).where(Role.name == "learner"))
    result = {}
    for team in db.session.scalars(select(OrgUnit).where(OrgUnit.kind == "team")):
        learners = db.session.scalar(
            select(func.count(User.id))
            .join(user_roles, user_roles.c.user_id == User.id)
            .where(User.team_id == team.id, user_roles.c.role_id == learner_role)
        )
        active = db.session.scalar(
            select(func.count(Enrolment.id))
            .join(User, User.id == Enrolment.user_id)
            .where(User.team_id == team.id, Enrolment.status == "active")
        )
        result[team.name] = (team.parent.name, learners, active)
    return result


def test_leader_sees_teams_with_learner_counts(app: Flask, demo) -> None:
    page = home_page(signed_in(app, "leader@example.com"))
    with app.app_context():
        expected = team_counts_from_database()
    rows = {
        m["team"]: (m["region"], int(m["learners"]), int(m["active"]))
        for m in TEAM_ROW.finditer(page)
    }
    assert rows == expected
    assert len(rows) == 3
    assert sum(learners for _, learners, _ in rows.values()) == 40
    assert "Your cohorts" not in page and "My path" not in page
    assert 'id="admin-heading"' not in page


def test_admin_sees_counts(app: Flask, demo) -> None:
    page = home_page(signed_in(app, "admin@example.com"))
    with app.app_context():
        users = db.session.scalar(select(func.count(User.id)))
    assert users == 44
    assert f"<dt>Users</dt><dd>{users}</dd>" in page
    assert f"<dt>Active users</dt><dd>{users}</dd>" in page
    assert "<dt>Programmes</dt><dd>9</dd>" in page
    assert len(list(TEAM_ROW.finditer(page))) == 3
    assert 'href="/admin/users"' in page


def test_admin_counts_follow_the_database(app: Flask, demo) -> None:
    with app.app_context():
        db.session.execute(
            update(User).where(User.email == "learner7@example.com").values(active=False)
        )
        db.session.commit()
    page = home_page(signed_in(app, "admin@example.com"))
    assert "<dt>Users</dt><dd>44</dd>" in page
    assert "<dt>Active users</dt><dd>43</dd>" in page


# --- Queries ---------------------------------------------------------------------------------


def queries_on_home(app: Flask, email: str, count_queries) -> int:
    client = signed_in(app, email)
    home_page(client)  # warm up
    with count_queries() as statements:
        home_page(client)
    return len(statements)


def reseed(app: Flask, size: str) -> None:
    from lms.accounts.operations import ensure_roles
    from lms.curricula.loader import load_curricula
    from tests.conftest import CURRICULA

    with app.app_context():
        _clear_database()
        ensure_roles()
        assert load_curricula(CURRICULA).ok
        seed(size)
        db.session.commit()


def test_home_queries_do_not_grow_with_the_organisation(app: Flask, count_queries) -> None:
    reseed(app, "demo")
    small = {
        email: queries_on_home(app, email, count_queries)
        for email in ("learner@example.com", "manager@example.com", "leader@example.com")
    }
    reseed(app, "S")
    # At size S, manager@ manages every cohort, so their table has more rows too.
    with app.app_context():
        db.session.execute(update(Cohort).values(manager_id=user_id("manager@example.com")))
        db.session.commit()
        assert db.session.scalar(select(func.count(Cohort.id))) >= 2
        assert db.session.scalar(select(func.count(Enrolment.id))) >= 200
    large = {
        email: queries_on_home(app, email, count_queries)
        for email in ("learner@example.com", "manager@example.com", "leader@example.com")
    }
    assert large == small
    # Bounded: the learner's path is the widest page (stage engine, with the clock holds and
    # the stage entry days that waiting for content needs, progress, results).
    assert max(large.values()) <= 32, large
    page = home_page(signed_in(app, "manager@example.com"))
    assert len(list(COHORT_ROW.finditer(page))) >= 2
