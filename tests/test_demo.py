"""`flask demo seed`: the demo organisation, its sizes, determinism and its refusals."""

from __future__ import annotations

from datetime import date

from flask import Flask
from sqlalchemy import func, select

from lms.accounts.models import Role, User, user_roles
from lms.audit.models import AuditEvent
from lms.curricula.loader import load_curricula
from lms.demo.seed import DEMO_ACCOUNTS, DEMO_PASSWORD, seed
from lms.extensions import db
from lms.organisation.models import Cohort, Enrolment, OrgUnit
from lms.organisation.operations import organisation
from tests.conftest import CURRICULA, _clear_database, login, make_user

TODAY = date(2025, 6, 16)


def cli(app: Flask, *args: str):
    return app.test_cli_runner().invoke(args=list(args))


def count_with_role(role: str) -> int:
    return db.session.scalar(
        select(func.count(User.id))
        .join(user_roles, user_roles.c.user_id == User.id)
        .join(Role, Role.id == user_roles.c.role_id)
        .where(Role.name == role)
    )


def fresh_database_with_curricula() -> None:
    """Empty every table, then put back what a new installation has: roles and curricula."""
    from lms.accounts.operations import ensure_roles

    _clear_database()
    ensure_roles()
    assert load_curricula(CURRICULA).ok
    db.session.commit()


def snapshot() -> dict:
    """What the demo data looks like, in terms that do not depend on database ids."""
    users = db.session.execute(select(User.email, User.name, User.team_id).order_by(User.id)).all()
    teams = dict(db.session.execute(select(OrgUnit.id, OrgUnit.name)).all())
    cohorts = db.session.execute(
        select(Cohort.name, Cohort.start_date, Cohort.due_date, User.email)
        .join(User, User.id == Cohort.manager_id)
        .order_by(Cohort.name)
    ).all()
    enrolments = db.session.execute(
        select(User.email, Cohort.name, Enrolment.start_date, Enrolment.status)
        .join(User, User.id == Enrolment.user_id)
        .join(Cohort, Cohort.id == Enrolment.cohort_id)
        .order_by(User.email, Cohort.name, Enrolment.programme_id)
    ).all()
    return {
        "users": [(email, name, teams.get(team)) for email, name, team in users],
        "cohorts": [tuple(row) for row in cohorts],
        "enrolments": [tuple(row) for row in enrolments],
    }


# --- The demo organisation -------------------------------------------------------------------


def test_seed_creates_the_demo_organisation(app: Flask, curricula) -> None:
    result = cli(app, "demo", "seed")
    assert result.exit_code == 0, result.output
    assert "Demo organisation: 40 learners in 3 teams across 2 regions, 2 cohorts" in result.output
    assert "lms-demo" in result.output
    with app.app_context():
        for email, (name, roles) in DEMO_ACCOUNTS.items():
            user = db.session.scalar(select(User).where(User.email == email))
            assert user is not None and user.active, email
            assert user.name == name
            assert user.role_names == roles
        assert count_with_role("learner") == 40
        regions = list(db.session.scalars(select(OrgUnit.name).where(OrgUnit.kind == "region")))
        teams = db.session.scalars(select(OrgUnit).where(OrgUnit.kind == "team")).all()
        assert len(regions) == 2
        assert len(teams) == 3
        assert {team.parent.name for team in teams} == set(regions)
        assert organisation().name == "Northwind Marketing"

        cohorts = db.session.scalars(select(Cohort)).all()
        assert len(cohorts) == 2
        managers = {cohort.manager.email for cohort in cohorts}
        assert len(managers) == 2 and "manager@example.com" in managers
        assert all(cohort.manager.has_role("manager") for cohort in cohorts)
        assert all(len(cohort.programmes) == 2 for cohort in cohorts)

        # Every learner is enrolled, through one cohort, in both of its programmes.
        per_learner = db.session.execute(
            select(
                Enrolment.user_id,
                func.count(Enrolment.id),
                func.count(Enrolment.cohort_id.distinct()),
            ).group_by(Enrolment.user_id)
        ).all()
        assert len(per_learner) == 40
        assert {(n, c) for _, n, c in per_learner} == {(2, 1)}
        withdrawn = db.session.scalar(
            select(func.count(Enrolment.id)).where(Enrolment.status == "withdrawn")
        )
        assert 1 <= withdrawn <= 4
        assert (
            db.session.scalar(
                select(func.count(AuditEvent.id)).where(AuditEvent.action == "demo.seeded")
            )
            == 1
        )


def test_enrolment_starts_spread_over_the_first_90_days(app: Flask, curricula) -> None:
    with app.app_context():
        seed("demo", today=TODAY)
        db.session.commit()
        starts = db.session.scalars(select(Enrolment.start_date)).all()
        cohort_starts = db.session.scalars(select(Cohort.start_date)).all()
    ages = sorted((TODAY - start).days for start in starts)
    assert all(0 <= age <= 90 for age in ages), ages
    assert ages[0] <= 30  # some learners in Initial Adoption
    assert ages[-1] >= 60  # some in Expert Mastery
    assert len({(TODAY - start).days for start in cohort_starts}) == 2
    # A few learners joined their cohort a day or three late.
    assert len(set(ages)) > 2


def test_demo_accounts_sign_in_with_the_demo_password(app: Flask, curricula) -> None:
    assert cli(app, "demo", "seed").exit_code == 0
    for email, (name, _roles) in DEMO_ACCOUNTS.items():
        client = app.test_client()
        response = login(client, email, DEMO_PASSWORD)
        assert response.status_code == 302, email
        page = client.get("/").get_data(as_text=True)
        assert f"Welcome, {name.split()[0]}" in page, email
    client = app.test_client()
    assert login(client, "learner@example.com", "not-the-password").status_code == 200
    assert client.get("/").status_code == 302


def test_seed_is_deterministic(app: Flask, curricula) -> None:
    with app.app_context():
        seed("demo", today=TODAY)
        db.session.commit()
        first = snapshot()
        fresh_database_with_curricula()
        seed("demo", today=TODAY)
        db.session.commit()
        second = snapshot()
    assert first == second
    assert len(first["users"]) == 4 + 1 + 39
    assert first["cohorts"][0][0].endswith(" cohort 1")
    assert first["cohorts"][0][0] == "Spring 2025 cohort 1"  # 75 days before 16 June 2025


def test_another_day_moves_dates_not_people(app: Flask, curricula) -> None:
    with app.app_context():
        seed("demo", today=TODAY)
        db.session.commit()
        first = snapshot()
        fresh_database_with_curricula()
        seed("demo", today=date(2025, 12, 1))
        db.session.commit()
        second = snapshot()
    assert first["users"] == second["users"]
    assert [c[1] for c in first["cohorts"]] != [c[1] for c in second["cohorts"]]


def test_size_s_makes_100_learners(app: Flask, curricula) -> None:
    result = cli(app, "demo", "seed", "--size", "S")
    assert result.exit_code == 0, result.output
    assert "100 learners" in result.output
    with app.app_context():
        assert count_with_role("learner") == 100
        assert db.session.scalar(select(func.count(Enrolment.user_id.distinct()))) == 100
        assert db.session.scalar(select(func.count(OrgUnit.id)).where(OrgUnit.kind == "team")) == 3


def test_unknown_size_is_refused(app: Flask, curricula) -> None:
    result = cli(app, "demo", "seed", "--size", "XL")
    assert result.exit_code == 2
    assert "XL" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 0


def test_seed_refuses_a_database_with_users(app: Flask, curricula) -> None:
    with app.app_context():
        make_user("someone@example.com")
    result = cli(app, "demo", "seed")
    assert result.exit_code != 0
    assert "already has users" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 1
        assert db.session.scalar(select(func.count(Cohort.id))) == 0


def test_seeding_twice_is_refused(app: Flask, curricula) -> None:
    assert cli(app, "demo", "seed").exit_code == 0
    result = cli(app, "demo", "seed")
    assert result.exit_code != 0
    assert "already has users" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 44


def test_if_empty_leaves_a_database_with_users_alone(app: Flask, curricula) -> None:
    with app.app_context():
        make_user("someone@example.com")
    result = cli(app, "demo", "seed", "--if-empty")
    assert result.exit_code == 0
    assert "demo data left as it is" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 1


def test_if_empty_seeds_an_empty_database(app: Flask, curricula) -> None:
    result = cli(app, "demo", "seed", "--if-empty")
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert count_with_role("learner") == 40


def test_seed_refuses_without_curricula(app: Flask) -> None:
    result = cli(app, "demo", "seed")
    assert result.exit_code != 0
    assert "load the curricula first" in result.output
    assert "marketing-automation-platform" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 0
        assert db.session.scalar(select(func.count(OrgUnit.id))) == 0


def test_new_users_after_the_seed_get_fresh_ids(app: Flask, curricula) -> None:
    """The seed inserts explicit ids; the next user must not collide with them."""
    assert cli(app, "demo", "seed").exit_code == 0
    with app.app_context():
        newcomer = make_user("newcomer@example.com")
        assert newcomer.id > 44
