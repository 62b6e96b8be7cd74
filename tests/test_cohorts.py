"""Cohort pages for training managers: creating cohorts, enrolling (search and CSV), bulk actions
with reasons, exemptions, extra time, item statistics and decision quality, people search, a
fixed number of queries, and who may open (and change) what."""

from __future__ import annotations

import html
import io
import re
import statistics
from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from lms.accounts.models import User
from lms.accounts.operations import roles_by_name
from lms.assessments.models import (
    Assessment,
    Attempt,
    AttemptItem,
    ExtraTime,
    Question,
    QuestionVersion,
)
from lms.audit.models import AuditEvent
from lms.cohorts import operations
from lms.core.timeutil import as_utc, now_utc
from lms.curricula.models import LessonSection, Module, Programme, Stage
from lms.extensions import db
from lms.learning.models import ModuleCompletion
from lms.organisation.models import Cohort, Enrolment
from lms.organisation.operations import ensure_unit
from lms.stages.engine import organisation_today
from lms.stages.models import ClockPause, StagePromotion, WindowExtension
from tests.conftest import csrf_fields, login, make_user, submit
from tests.support.learning import proficient_submission, write_lesson

STAGES = [
    ("initial", "Initial Adoption", 0, 30),
    ("proficiency", "Proficiency Development", 30, 60),
    ("expert", "Expert Mastery", 60, 90),
    ("innovation", "Innovation Leadership", 90, None),
    ("partnership", "Strategic Partnership", 90, None),
]


def text(response) -> str:
    """The page's text with entities decoded and tags dropped, so sentences read as shown."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(True))))


def events(app: Flask, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
        )


def _question(assessment: Assessment, slug: str, position: int, kind: str, points=1.0):
    question = Question(assessment=assessment, slug=slug, position=position)
    db.session.add(question)
    db.session.flush()
    version = QuestionVersion(
        question_id=question.id,
        number=1,
        type=kind,
        content_hash=slug,
        spec={"id": slug, "type": kind, "prompt": f"Prompt of {slug}?", "points": points},
    )
    db.session.add(version)
    db.session.flush()
    return version


@pytest.fixture
def programme(app: Flask) -> dict[str, int]:
    """A small programme made by hand (fast): two modules in the first gate and one in the
    second, a timed quiz with three questions, and a pre/post pair of scenario assessments."""
    with app.app_context():
        for position, (stage_id, name, start, end) in enumerate(STAGES, start=1):
            db.session.add(
                Stage(
                    id=stage_id,
                    position=position,
                    name=name,
                    window_start_day=start,
                    window_end_day=end,
                    focus=name,
                )
            )
        taken = Programme(
            slug="test-platform",
            kind="platform",
            title="Test platform",
            summary="A programme for tests.",
            source="tests",
            version="1.0.0",
            content_hash="x",
            gates={
                "initial": [
                    {"kind": "module-completed", "ref": "basics"},
                    {"kind": "module-completed", "ref": "reports"},
                ],
                "proficiency": [{"kind": "module-completed", "ref": "automation"}],
            },
        )
        other = Programme(
            slug="other-platform",
            kind="platform",
            title="Other platform",
            summary="Another programme.",
            source="tests",
            version="1.0.0",
            content_hash="y",
            gates={},
        )
        db.session.add_all([taken, other])
        db.session.flush()
        for position, (slug, stage) in enumerate(
            [("basics", "initial"), ("reports", "initial"), ("automation", "proficiency")], 1
        ):
            written = Module(
                programme_id=taken.id,
                slug=slug,
                position=position,
                title=slug.title(),
                stage_id=stage,
            )
            # A lesson, so the module is ready (one without is in preparation, and its gate
            # waits for content).
            written.sections.append(
                LessonSection(slug="lesson", position=1, title="Lesson", body="The lesson.")
            )
            db.session.add(written)
        quiz = Assessment(
            programme_id=taken.id,
            slug="quiz",
            purpose="module",
            title="Basics quiz",
            pass_mark=0.8,
            time_limit_minutes=20,
        )
        pre = Assessment(
            programme_id=taken.id, slug="pre", purpose="pre", title="Before", pass_mark=0.8
        )
        post = Assessment(
            programme_id=taken.id, slug="post", purpose="post", title="After", pass_mark=0.8
        )
        untimed = Assessment(
            programme_id=other.id, slug="other-quiz", purpose="module", title="Other quiz",
            pass_mark=0.8, time_limit_minutes=10,
        )  # fmt: skip
        db.session.add_all([quiz, pre, post, untimed])
        db.session.flush()
        ids = {
            "programme": taken.id,
            "other_programme": other.id,
            "quiz": quiz.id,
            "pre": pre.id,
            "post": post.id,
            "other_quiz": untimed.id,
        }
        for slug, position in (("q1", 1), ("q2", 2), ("q3", 3)):
            ids[f"quiz.{slug}"] = _question(quiz, slug, position, "single-choice").id
        ids["pre.s1"] = _question(pre, "s1", 1, "scenario", points=2).id
        ids["pre.s2"] = _question(pre, "s2", 2, "scenario", points=2).id
        ids["pre.k"] = _question(pre, "k", 3, "single-choice").id
        ids["post.s1"] = _question(post, "s1", 1, "scenario", points=2).id
        ids["post.s2"] = _question(post, "s2", 2, "scenario", points=2).id
        ids["post.k"] = _question(post, "k", 3, "single-choice").id
        db.session.commit()
        return ids


@pytest.fixture
def people(app: Flask, users) -> dict[str, int]:
    """The users fixture plus a second manager."""
    with app.app_context():
        other = make_user("other.manager@example.com", ("manager",), name="Olga Other")
        return {**users, "other_manager": other.id}


def make_cohort(
    name: str, manager_id: int, programme_ids: list[int], start: date | None = None
) -> Cohort:
    cohort = operations.create_cohort(
        name,
        start or organisation_today(),
        db.session.get(User, manager_id),
        [db.session.get(Programme, pid) for pid in programme_ids],
    )
    db.session.flush()
    return cohort


def enrol(cohort: Cohort, user_id: int, days_ago: int = 0) -> list[Enrolment]:
    return operations.enrol(
        cohort,
        db.session.get(User, user_id),
        organisation_today() - timedelta(days=days_ago),
        reason="test set-up",
    )


@pytest.fixture
def cohort(app: Flask, people, programme) -> dict[str, int]:
    """The manager's cohort (taking the test programme) with one learner enrolled 35 days ago
    (overdue in the first stage), and the other manager's cohort with the second learner."""
    with app.app_context():
        own = make_cohort("Spring cohort", people["manager"], [programme["programme"]])
        (enrolment,) = enrol(own, people["learner"], days_ago=35)
        theirs = make_cohort("Their cohort", people["other_manager"], [programme["programme"]])
        (their_enrolment,) = enrol(theirs, people["learner2"], days_ago=35)
        db.session.commit()
        return {
            "id": own.id,
            "manager": people["manager"],
            "enrolment": enrolment.id,
            "other": theirs.id,
            "other_enrolment": their_enrolment.id,
        }


def manager(client: FlaskClient) -> FlaskClient:
    login(client, "manager@example.com")
    return client


def graded_attempt(user_id: int, assessment_id: int, credits: dict[int, float]) -> Attempt:
    """A submitted attempt with one item per question version id, credited as given."""
    number = 1 + len(
        db.session.scalars(
            select(Attempt.id).where(
                Attempt.user_id == user_id, Attempt.assessment_id == assessment_id
            )
        ).all()
    )
    attempt = Attempt(
        user_id=user_id,
        assessment_id=assessment_id,
        number=number,
        seed=1,
        status="submitted",
        submitted_at=now_utc(),
    )
    db.session.add(attempt)
    db.session.flush()
    score = total = 0.0
    for position, (version_id, credit) in enumerate(credits.items(), start=1):
        version = db.session.get(QuestionVersion, version_id)
        points = version.spec["points"]
        db.session.add(
            AttemptItem(
                attempt_id=attempt.id,
                position=position,
                question_version_id=version_id,
                snapshot={"type": version.type, "points": points, "key": "a"},
                answer="a" if credit else "b",
                credit=credit,
            )
        )
        score += credit * points
        total += points
    attempt.score, attempt.max_score = score, total
    attempt.passed = score / total >= 0.8
    db.session.flush()
    return attempt


# Who may open what -----------------------------------------------------------------------------


def _cohort_urls(cohort: dict[str, int], programme: dict[str, int]) -> list[str]:
    return [
        f"/cohorts/{cohort['id']}",
        f"/cohorts/{cohort['id']}/enrol",
        f"/cohorts/{cohort['id']}/enrolments/{cohort['enrolment']}",
        f"/cohorts/{cohort['id']}/assessments/{programme['quiz']}",
    ]


def _post_urls(cohort: dict[str, int], key: str = "id", enrolment: str = "enrolment") -> list:
    base = f"/cohorts/{cohort[key]}"
    one = f"{base}/enrolments/{cohort[enrolment]}"
    return [
        base,
        f"{base}/enrol",
        f"{base}/enrol/csv",
        f"{one}/exempt",
        f"{one}/extra-time",
        f"{one}/action",
    ]


@pytest.mark.parametrize("role", ["learner", "leader"])
def test_learners_and_leaders_are_refused_every_cohort_page(
    client, cohort, programme, role: str
) -> None:
    login(client, "learner@example.com" if role == "learner" else "leader@example.com")
    for url in ["/cohorts", "/cohorts/new", "/people", *_cohort_urls(cohort, programme)]:
        assert client.get(url).status_code == 403, url
    # Even with a valid CSRF token (from their own home page), a post is refused.
    token = csrf_fields(client.get("/").get_data(as_text=True))
    for url in ["/cohorts/new", *_post_urls(cohort)]:
        response = client.post(url, data={**token, "reason": "x", "action": "withdraw"})
        assert response.status_code == 403, url
    assert 'href="/cohorts"' not in client.get("/").get_data(as_text=True)


def test_a_manager_gets_404_on_another_managers_cohort_and_changes_nothing(
    app, client, cohort, programme, people
) -> None:
    manager(client)
    their = {**cohort, "id": cohort["other"], "enrolment": cohort["other_enrolment"]}
    for url in _cohort_urls(their, programme):
        assert client.get(url).status_code == 404, url
    token = csrf_fields(client.get("/cohorts").get_data(as_text=True))
    attacks = {
        f"/cohorts/{cohort['other']}": {
            "enrolments": str(cohort["other_enrolment"]),
            "action": "withdraw",
            "reason": "no",
        },
        f"/cohorts/{cohort['other']}/enrol": {"user_id": people["learner"], "reason": "no"},
        f"/cohorts/{cohort['other']}/enrolments/{cohort['other_enrolment']}/exempt": {
            "requirement": "module-completed:basics",
            "reason": "no",
        },
        f"/cohorts/{cohort['other']}/enrolments/{cohort['other_enrolment']}/action": {
            "action": "pause",
            "reason": "no",
        },
        f"/cohorts/{cohort['other']}/enrolments/{cohort['other_enrolment']}/extra-time": {
            "assessment_id": programme["quiz"],
            "minutes": 30,
            "reason": "no",
        },
    }
    for url, data in attacks.items():
        assert client.post(url, data={**token, **data}).status_code == 404, url
    # Their enrolment ticked in a bulk action on the manager's own cohort is left alone.
    response = client.post(
        f"/cohorts/{cohort['id']}",
        data={
            **token,
            "enrolments": [str(cohort["enrolment"]), str(cohort["other_enrolment"])],
            "action": "withdraw",
            "reason": "Left the company",
        },
    )
    assert response.status_code == 200
    assert "1 enrolment(s) not in this cohort: left alone" in text(response)
    with app.app_context():
        theirs = db.session.get(Enrolment, cohort["other_enrolment"])
        assert theirs.status == "active"
        assert db.session.scalars(select(ClockPause)).all() == []
        assert db.session.scalars(select(ExtraTime)).all() == []
        assert len(db.session.scalars(select(Enrolment)).all()) == 2
        assert db.session.get(Enrolment, cohort["enrolment"]).status == "withdrawn"
    listing = text(client.get("/cohorts"))
    assert "Spring cohort" in listing and "Their cohort" not in listing


def test_a_manager_who_is_also_a_leader_lists_only_their_own_cohorts(app, client, cohort) -> None:
    with app.app_context():
        both = db.session.get(User, cohort["manager"])
        both.roles = roles_by_name({"manager", "leader"})
        db.session.commit()
    manager(client)
    listing = text(client.get("/cohorts"))
    assert "Spring cohort" in listing and "Their cohort" not in listing
    assert client.get(f"/cohorts/{cohort['other']}").status_code == 404


def test_admins_see_and_open_every_cohort(client, cohort, programme) -> None:
    login(client, "admin@example.com")
    listing = text(client.get("/cohorts"))
    assert "Spring cohort" in listing and "Their cohort" in listing
    their = {**cohort, "id": cohort["other"], "enrolment": cohort["other_enrolment"]}
    for url in _cohort_urls(their, programme) + ["/people"]:
        assert client.get(url).status_code == 200, url


def test_navigation_shows_cohorts_and_people_to_managers_only(client, people) -> None:
    manager(client)
    page = client.get("/cohorts").get_data(as_text=True)
    assert 'href="/cohorts" aria-current="page">Cohorts' in page
    assert 'href="/people">People' in page
    client.post("/logout", data=csrf_fields(page))
    login(client, "learner@example.com")
    page = client.get("/").get_data(as_text=True)
    assert 'href="/cohorts"' not in page and 'href="/people"' not in page


# The cohort list and a new cohort --------------------------------------------------------------


def test_cohort_list_counts_enrolments_by_stored_status(app, client, cohort, people) -> None:
    with app.app_context():
        own = db.session.get(Cohort, cohort["id"])
        recent = make_user("recent@example.com")
        enrol(own, recent.id, days_ago=1)  # on track
        gone = make_user("gone@example.com")
        (withdrawn,) = enrol(own, gone.id)
        operations.withdraw(withdrawn, "Moved team")
        db.session.commit()
    manager(client)
    page = client.get("/cohorts").get_data(as_text=True)
    row = re.search(r"Spring cohort.*?</tr>", page, re.S).group(0)
    cells = re.findall(r'<td class="num">([^<]*)</td>', row)
    # Learners, then on-track, at-risk, overdue, waiting for content, active, inactive, withdrawn.
    assert cells == ["2", "1", "·", "1", "·", "·", "·", "1"]
    assert 'href="/cohorts/new"' in page


def test_manager_creates_a_cohort_and_is_its_manager(app, client, people, programme) -> None:
    manager(client)
    response = submit(
        client,
        "/cohorts/new",
        {
            "name": "Autumn intake",
            "start_date": "2026-09-01",
            "due_date": "2026-12-18",
            "programmes": [str(programme["programme"]), str(programme["other_programme"])],
        },
    )
    assert response.status_code == 302
    with app.app_context():
        made = db.session.scalars(select(Cohort).where(Cohort.name == "Autumn intake")).one()
        assert made.manager_id == people["manager"]
        assert made.start_date == date(2026, 9, 1) and made.due_date == date(2026, 12, 18)
        assert {p.slug for p in made.programmes} == {"test-platform", "other-platform"}
        assert response.headers["Location"].endswith(f"/cohorts/{made.id}/enrol")
    (event,) = events(app, "cohort.created")
    assert event.actor_id == people["manager"]
    assert sorted(event.details["programmes"]) == ["other-platform", "test-platform"]
    # A manager is not offered a choice of manager.
    assert 'name="manager_id"' not in client.get("/cohorts/new").get_data(as_text=True)


def test_new_cohort_shows_each_problem_on_its_field(app, client, cohort, programme) -> None:
    manager(client)
    response = submit(client, "/cohorts/new", {"name": "", "start_date": "soon"})
    page = text(response)
    assert response.status_code == 200
    assert "This field is required." in page
    assert "Give a date such as 2026-09-01." in page
    assert "Choose at least one programme." in page
    response = submit(
        client,
        "/cohorts/new",
        {
            "name": "Late",
            "start_date": "2026-09-01",
            "due_date": "2026-08-01",
            "programmes": [str(programme["programme"])],
        },
    )
    body = response.get_data(as_text=True)
    assert (
        '<p class="error" id="due_date-error">The due date cannot be before the start date.</p>'
        in body
    )
    response = submit(
        client,
        "/cohorts/new",
        {
            "name": "Spring cohort",
            "start_date": "2026-09-01",
            "programmes": [programme["programme"]],
        },
    )
    body = response.get_data(as_text=True)
    assert (
        '<p class="error" id="name-error">A cohort named Spring cohort exists already.</p>' in body
    )
    with app.app_context():
        assert len(db.session.scalars(select(Cohort)).all()) == 2


def test_an_admin_chooses_the_cohorts_manager(app, client, people, programme) -> None:
    login(client, "admin@example.com")
    page = client.get("/cohorts/new").get_data(as_text=True)
    assert "manager@example.com" in page and "Olga Other" in page
    response = submit(
        client,
        "/cohorts/new",
        {
            "name": "Olga's intake",
            "start_date": "2026-09-01",
            "programmes": [str(programme["programme"])],
            "manager_id": str(people["other_manager"]),
        },
    )
    assert response.status_code == 302
    with app.app_context():
        made = db.session.scalars(select(Cohort).where(Cohort.name == "Olga's intake")).one()
        assert made.manager_id == people["other_manager"]
    # Someone who is not a manager cannot be chosen.
    response = submit(
        client,
        "/cohorts/new",
        {
            "name": "Nobody's",
            "start_date": "2026-09-01",
            "programmes": [str(programme["programme"])],
            "manager_id": str(people["learner"]),
        },
    )
    assert "Not a valid choice" in text(response)


# Enrolling --------------------------------------------------------------------------------------


def test_enrol_a_learner_found_by_search(app, client, people, programme, cohort) -> None:
    with app.app_context():
        make_user("ada.lovelace@example.com", name="Ada Lovelace")
        make_user("ada.manager@example.com", ("manager",), name="Ada Manager")
        make_user("ada.gone@example.com", name="Ada Gone", active=False)
        ada = db.session.scalar(select(User).where(User.email == "ada.lovelace@example.com"))
        ada_id = ada.id
    manager(client)
    page = f"/cohorts/{cohort['id']}/enrol?q=ada"
    found = text(client.get(page))
    assert "Ada Lovelace" in found
    assert "Ada Manager" not in found and "Ada Gone" not in found  # learners, active only
    # Learners already in the cohort are not offered.
    offered = client.get(f"/cohorts/{cohort['id']}/enrol?q=learner@").get_data(as_text=True)
    assert f'value="{people["learner"]}"' not in offered
    assert f'value="{people["learner2"]}"' in offered
    response = submit(client, page, {"user_id": str(ada_id), "reason": ""})
    assert "Give a reason: it goes to the audit log." in text(response)
    response = submit(client, page, {"user_id": str(ada_id), "reason": "Joined marketing ops"})
    assert response.status_code == 302
    after = text(client.get(page))
    assert "Ada Lovelace is enrolled in 1 programme(s) of Spring cohort." in after
    assert "No learner matching “ada”" in after
    with app.app_context():
        (enrolment,) = db.session.scalars(
            select(Enrolment).where(Enrolment.user_id == ada_id)
        ).all()
        assert enrolment.cohort_id == cohort["id"] and enrolment.stage_status == "on-track"
    event = events(app, "enrolment.created")[-1]
    assert event.reason == "Joined marketing ops" and event.actor_id == people["manager"]


def test_enrol_from_csv_reports_bad_rows_by_line_and_keeps_good_ones(
    app, client, people, programme, cohort
) -> None:
    with app.app_context():
        for email in ("one@example.com", "two@example.com"):
            make_user(email)
    manager(client)
    content = (
        b"email,start_date\n"
        b"one@example.com,\n"
        b"nobody@example.com,\n"
        b"two@example.com,01/09/2026\n"
        b"ONE@example.com,\n"
        b"manager@example.com,\n"
        b"\n"
        b"two@example.com,2026-01-05\n"
        b"learner@example.com,\n"
    )
    page = f"/cohorts/{cohort['id']}/enrol"
    response = submit(
        client,
        page,
        {
            "csv-file": (io.BytesIO(content), "people.csv"),
            "csv-reason": "Spring intake list",
        },
        to=f"/cohorts/{cohort['id']}/enrol/csv",
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    refused = dict(re.findall(r'<tr><td class="num">(\d+)</td><td>([^<]*)</td></tr>', body))
    assert refused == {
        "3": "no user has the e-mail address nobody@example.com",
        "4": "start_date &#39;01/09/2026&#39; is not a date such as 2026-09-01",
        "5": "one@example.com appears twice in the file",
        "6": "Manager does not have the learner role.",
    }
    assert "2 enrolled, 1 already enrolled, 4 row(s) refused." in text(response)
    with app.app_context():
        starts = {
            e.user.email: e.start_date
            for e in db.session.scalars(
                select(Enrolment).where(Enrolment.cohort_id == cohort["id"])
            )
        }
        assert starts["two@example.com"] == date(2026, 1, 5)
        assert set(starts) == {"learner@example.com", "one@example.com", "two@example.com"}
    assert {e.reason for e in events(app, "enrolment.created")[-2:]} == {"Spring intake list"}


def test_enrol_from_csv_needs_a_file_and_a_reason(client, people, cohort) -> None:
    manager(client)
    response = submit(
        client,
        f"/cohorts/{cohort['id']}/enrol",
        {"csv-reason": ""},
        to=f"/cohorts/{cohort['id']}/enrol/csv",
    )
    page = text(response)
    assert "This field is required." in page and "Give a reason" in page


# The cohort table --------------------------------------------------------------------------------


def test_cohort_table_shows_stage_day_status_and_gate_and_filters(
    app, client, people, programme, cohort
) -> None:
    with app.app_context():
        own = db.session.get(Cohort, cohort["id"])
        team = ensure_unit("team", "Growth")
        fresh = make_user("fresh@example.com", name="Fiona Fresh", team=team)
        enrol(own, fresh.id, days_ago=3)
        db.session.commit()
    manager(client)
    page = client.get(f"/cohorts/{cohort['id']}").get_data(as_text=True)
    shown = text(client.get(f"/cohorts/{cohort['id']}"))
    assert "Fiona Fresh" in shown and "Growth" in shown and "day 3 of 30" in shown
    # The stored status with the engine's reason for it.
    assert re.search(r"day 35 of 30 Overdue window ended on day 30\b", shown)
    assert "0 of 2" in shown and "Test platform" in shown
    assert 'href="/cohorts/{}/assessments/{}"'.format(cohort["id"], programme["quiz"]) in page
    overdue = text(client.get(f"/cohorts/{cohort['id']}?status=overdue"))
    assert "learner@example.com" in overdue and "Fiona Fresh" not in overdue
    by_name = text(client.get(f"/cohorts/{cohort['id']}?q=fiona"))
    assert "Fiona Fresh" in by_name and "learner@example.com" not in by_name
    later_stage = text(client.get(f"/cohorts/{cohort['id']}?stage=proficiency"))
    assert "No enrolments match these filters." in later_stage
    other = text(client.get(f"/cohorts/{cohort['id']}?programme={programme['other_programme']}"))
    assert "Fiona Fresh" in other  # a programme not in the cohort is no filter at all


def test_cohort_page_runs_the_same_queries_for_3_or_60_learners(
    app, client, people, programme, count_queries
) -> None:
    with app.app_context():
        small = make_cohort("Small", people["manager"], [programme["programme"]])
        large = make_cohort("Large", people["manager"], [programme["programme"]])
        team = ensure_unit("team", "Growth")
        for number in range(63):
            learner = User(email=f"l{number}@example.com", name=f"Learner {number:02}", team=team)
            learner.roles = roles_by_name({"learner"})
            db.session.add(learner)
            db.session.flush()
            (enrolment,) = enrol(small if number < 3 else large, learner.id, days_ago=number)
            if number % 2:
                operations.pause(enrolment, "Leave", on=organisation_today() - timedelta(days=1))
            if number % 3 == 0:
                operations.extend_window(enrolment, 5, "Workload")
        db.session.commit()
        sizes = (small.id, large.id)
    manager(client)
    counts = []
    for cohort_id in sizes:
        client.get(f"/cohorts/{cohort_id}")  # warm up
        with count_queries() as statements:
            response = client.get(f"/cohorts/{cohort_id}")
        assert response.status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
    page = text(client.get(f"/cohorts/{sizes[1]}"))
    assert "Showing 1–50 of 60" in page
    # The list of cohorts and the people search are bounded too.
    for url in ("/cohorts", "/people?q=learner"):
        with count_queries() as statements:
            assert client.get(url).status_code == 200
        assert len(statements) <= 12, (url, len(statements))


def test_a_page_number_past_the_end_shows_the_last_page(
    app, client, people, programme, cohort
) -> None:
    manager(client)
    response = client.get(f"/cohorts/{cohort['id']}?page=9")
    assert response.status_code == 200 and "1 in all." in text(response)


# Bulk actions -----------------------------------------------------------------------------------


def _bulk(client: FlaskClient, cohort_id: int, ids: list[int], **data):
    return submit(
        client,
        f"/cohorts/{cohort_id}",
        {"enrolments": [str(i) for i in ids], **data},
    )


@pytest.fixture
def three(app, people, programme, cohort) -> list[int]:
    """Three enrolments in the manager's cohort: the overdue one and two more."""
    with app.app_context():
        own = db.session.get(Cohort, cohort["id"])
        ids = [cohort["enrolment"]]
        for email in ("b@example.com", "c@example.com"):
            (enrolment,) = enrol(own, make_user(email).id, days_ago=35)
            ids.append(enrolment.id)
        db.session.commit()
        return ids


def test_bulk_withdraw_writes_reasons_and_reports_what_was_skipped(
    app, client, people, cohort, three
) -> None:
    manager(client)
    response = _bulk(client, cohort["id"], three[:2], action="withdraw", reason="Left the team")
    page = text(response)
    assert "Withdraw from the programme" in page and "2 done, 0 skipped" in page
    with app.app_context():
        states = {
            e.id: (e.status, e.stage_status, e.withdrawal_reason)
            for e in db.session.scalars(select(Enrolment).where(Enrolment.id.in_(three)))
        }
    assert states[three[0]] == ("withdrawn", "withdrawn", "Left the team")
    assert states[three[1]] == ("withdrawn", "withdrawn", "Left the team")
    assert states[three[2]][0] == "active"
    withdrawn = events(app, "enrolment.withdrawn")
    assert [e.reason for e in withdrawn] == ["Left the team"] * 2
    assert {e.actor_id for e in withdrawn} == {people["manager"]}
    response = _bulk(client, cohort["id"], three, action="withdraw", reason="Tidy up")
    page = text(response)
    assert "1 done, 2 skipped" in page and "withdrawn already" in page
    listing = text(client.get(f"/cohorts/{cohort['id']}?status=withdrawn"))
    assert listing.count("Left the team") == 2


def test_bulk_extend_moves_the_window_and_the_status(app, client, cohort, three) -> None:
    manager(client)
    response = _bulk(client, cohort["id"], three[:1], action="extend", reason="Busy quarter")
    assert "Say how many days to extend by." in text(response)
    response = _bulk(client, cohort["id"], three[:1], action="extend", days="30", reason="")
    assert "Give a reason: it goes to the audit log." in text(response)
    with app.app_context():
        assert db.session.get(Enrolment, three[0]).stage_status == "overdue"
    response = _bulk(
        client, cohort["id"], three[:1], action="extend", days="30", reason="Busy quarter"
    )
    assert "1 done, 0 skipped" in text(response) and "by 30 days" in text(response)
    with app.app_context():
        enrolment = db.session.get(Enrolment, three[0])
        assert enrolment.stage_status == "on-track"
        (extension,) = db.session.scalars(select(WindowExtension)).all()
        assert (extension.days, extension.stage_id, extension.reason) == (
            30,
            "initial",
            "Busy quarter",
        )
    (event,) = events(app, "enrolment.window_extended")
    assert event.reason == "Busy quarter" and event.details["days"] == 30
    assert "day 35 of 60" in text(client.get(f"/cohorts/{cohort['id']}"))


def test_bulk_pause_stops_the_clock_and_resume_restarts_it(app, client, cohort, three) -> None:
    manager(client)
    ids = three[:2]
    response = _bulk(client, cohort["id"], ids, action="pause", reason="Parental leave")
    assert "2 done, 0 skipped" in text(response)
    response = _bulk(client, cohort["id"], ids, action="pause", reason="Again")
    assert "0 done, 2 skipped" in text(response) and "The clock is paused already." in text(
        response
    )
    # Ten days pass while paused: the pause started ten days ago.
    with app.app_context():
        for paused in db.session.scalars(select(ClockPause)):
            paused.paused_on = organisation_today() - timedelta(days=10)
        db.session.commit()
    enrolment_page = f"/cohorts/{cohort['id']}/enrolments/{ids[0]}"
    page = text(client.get(enrolment_page))
    assert "day 25 of 30" in page and "paused" in page and "Parental leave" in page
    table = text(client.get(f"/cohorts/{cohort['id']}"))
    assert table.count("day 25 of 30") == 2 and table.count("clock paused") == 2
    assert "day 35 of 30" in table  # the third was not paused
    response = _bulk(client, cohort["id"], three, action="resume", reason="Back from leave")
    page = text(response)
    assert "2 done, 1 skipped" in page and "The clock is not paused." in page
    with app.app_context():
        for enrolment_id in ids:
            enrolment = db.session.get(Enrolment, enrolment_id)
            # 25 of 30 days gone (over 75%) with none of the gate met: at risk, not overdue.
            assert enrolment.stage_status == "at-risk", enrolment.status_reason
        assert db.session.get(Enrolment, three[2]).stage_status == "overdue"
        for paused in db.session.scalars(select(ClockPause)):
            assert paused.resumed_on == organisation_today()
    assert [e.reason for e in events(app, "enrolment.clock_paused")] == ["Parental leave"] * 2
    resumed = events(app, "enrolment.clock_resumed")
    assert [(e.reason, e.details["paused_days"]) for e in resumed] == [("Back from leave", 10)] * 2
    page = text(client.get(enrolment_page))
    assert "day 25 of 30" in page and "(10 days)" in page


def test_bulk_action_needs_ticked_enrolments_and_an_action(client, cohort, three) -> None:
    manager(client)
    response = submit(
        client, f"/cohorts/{cohort['id']}", {"action": "withdraw", "reason": "Because"}
    )
    assert "Tick at least one enrolment in the table." in text(response)
    response = _bulk(client, cohort["id"], three, action="", reason="Because")
    assert "Choose an action." in text(response)
    # The ticks survive the refused form.
    assert response.get_data(as_text=True).count(" checked>") == 3


def test_one_enrolments_page_applies_an_action_to_it(app, client, cohort) -> None:
    manager(client)
    page = f"/cohorts/{cohort['id']}/enrolments/{cohort['enrolment']}"
    response = submit(
        client,
        page,
        {"action": "withdraw", "reason": "Changed role"},
        to=f"{page}/action",
        follow_redirects=True,
    )
    assert "Withdraw from the programme: done for Learner (Test platform)." in text(response)
    with app.app_context():
        assert db.session.get(Enrolment, cohort["enrolment"]).status == "withdrawn"
    assert "Changed role" in text(client.get(page))


# Exemptions --------------------------------------------------------------------------------------


def test_exempting_the_last_unmet_requirement_promotes_the_enrolment(
    app, client, people, curricula
) -> None:
    with app.app_context():
        taken = db.session.scalars(
            select(Programme).where(Programme.slug == "ai-machine-learning")
        ).one()
        first, second, demonstration = [item["ref"] for item in taken.gates["initial"]]
        own = make_cohort("AI cohort", people["manager"], [taken.id])
        (enrolment,) = enrol(own, people["learner"], days_ago=12)
        module = db.session.scalars(
            select(Module).where(Module.programme_id == taken.id, Module.slug == first)
        ).one()
        # The completed module needs a lesson: a completion of a module in preparation meets
        # nothing (the second, exempted below, may stay in preparation).
        write_lesson(first, programme_slug="ai-machine-learning")
        db.session.add(ModuleCompletion(user_id=people["learner"], module_id=module.id))
        proficient_submission(people["learner"], demonstration, "ai-machine-learning")
        db.session.commit()
        cohort_id, enrolment_id = own.id, enrolment.id
    manager(client)
    page = f"/cohorts/{cohort_id}/enrolments/{enrolment_id}"
    body = client.get(page).get_data(as_text=True)
    # Only the unmet requirement offers an exemption.
    assert body.count('name="requirement"') == 1
    assert f'value="module-completed:{second}"' in body
    assert "completed on" in text(client.get(page))
    response = submit(
        client,
        page,
        {"requirement": f"module-completed:{second}", "reason": ""},
        to=f"{page}/exempt",
        follow_redirects=True,
    )
    assert "Give a reason: it goes to the audit log." in text(response)
    response = submit(
        client,
        page,
        {"requirement": f"module-completed:{second}", "reason": "Certified by the vendor"},
        to=f"{page}/exempt",
        follow_redirects=True,
    )
    shown = text(response)
    assert "The gate is met: the enrolment was promoted." in shown
    assert "Stage: Proficiency Development" in shown
    assert "Initial Adoption → Proficiency Development" in shown and "exempted" in shown
    with app.app_context():
        enrolment = db.session.get(Enrolment, enrolment_id)
        assert enrolment.stage_id == "proficiency"
        (promotion,) = db.session.scalars(select(StagePromotion)).all()
        evidence = {item["requirement"]: item["exempt"] for item in promotion.evidence}
        assert evidence == {
            f"module-completed:{first}": False,
            f"module-completed:{second}": True,
            f"demonstration-proficient:{demonstration}": False,
        }
    (event,) = events(app, "enrolment.requirement_exempted")
    assert event.reason == "Certified by the vendor"
    assert event.details["requirement"] == f"module-completed:{second}"
    assert events(app, "enrolment.promoted")[-1].details["to_stage"] == "proficiency"


def test_an_unknown_requirement_cannot_be_exempted(app, client, cohort) -> None:
    manager(client)
    page = f"/cohorts/{cohort['id']}/enrolments/{cohort['enrolment']}"
    response = submit(
        client,
        page,
        {"requirement": "module-completed:nothing", "reason": "Why not"},
        to=f"{page}/exempt",
        follow_redirects=True,
    )
    assert "That is not a requirement of this programme's gates." in text(response)
    assert events(app, "enrolment.requirement_exempted") == []


# Extra time --------------------------------------------------------------------------------------


def test_extra_time_moves_a_running_attempts_deadline(app, client, people, programme, cohort):
    started = now_utc() - timedelta(minutes=5)
    with app.app_context():
        running = Attempt(
            user_id=people["learner"],
            assessment_id=programme["quiz"],
            number=1,
            seed=7,
            started_at=started,
            deadline_at=started + timedelta(minutes=20),
        )
        db.session.add(running)
        db.session.commit()
        attempt_id = running.id
    manager(client)
    page = f"/cohorts/{cohort['id']}/enrolments/{cohort['enrolment']}"
    body = client.get(page).get_data(as_text=True)
    assert body.count('name="minutes"') == 1  # one timed assessment in the programme
    assert "An attempt is running until" in text(client.get(page))
    response = submit(
        client,
        page,
        {"assessment_id": str(programme["quiz"]), "minutes": "15", "reason": "Screen reader"},
        to=f"{page}/extra-time",
        follow_redirects=True,
    )
    assert "has 15 extra minute(s) on “Basics quiz”" in text(response)
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert as_utc(attempt.deadline_at) == as_utc(started) + timedelta(minutes=35)
        (grant,) = db.session.scalars(select(ExtraTime)).all()
        assert (grant.minutes, grant.reason, grant.granted_by_id) == (
            15,
            "Screen reader",
            people["manager"],
        )
    (event,) = events(app, "assessment.extra_time_granted")
    assert event.reason == "Screen reader" and event.details == {
        "assessment": "quiz",
        "minutes": 15,
    }
    # An assessment of another programme, or one without a time limit, is refused.
    for assessment_id, message in (
        (programme["other_quiz"], "That assessment is not part of this enrolment's programme."),
        (programme["pre"], "That assessment has no time limit."),
    ):
        response = submit(
            client,
            page,
            {"assessment_id": str(assessment_id), "minutes": "5", "reason": "Try"},
            to=f"{page}/extra-time",
            follow_redirects=True,
        )
        assert message in text(response)
    assert len(events(app, "assessment.extra_time_granted")) == 1


def test_the_enrolment_page_shows_scores_not_answers(app, client, people, programme, cohort):
    with app.app_context():
        graded_attempt(
            people["learner"],
            programme["quiz"],
            {programme["quiz.q1"]: 1.0, programme["quiz.q2"]: 0.0, programme["quiz.q3"]: 1.0},
        )
        db.session.commit()
    manager(client)
    page = text(client.get(f"/cohorts/{cohort['id']}/enrolments/{cohort['enrolment']}"))
    assert "Basics quiz 1" in page and "67%" in page and "not passed" in page
    assert "Prompt of q1" not in page  # questions and answers stay with the learner


# Item statistics and decision quality -----------------------------------------------------------


def test_item_statistics_over_the_cohorts_attempts(app, client, people, programme, cohort):
    q1, q2, q3 = (programme[f"quiz.{slug}"] for slug in ("q1", "q2", "q3"))
    # Six learners of the cohort; q1 right for four of them; q2 shown in only four attempts.
    credits = [
        {q1: 1.0, q2: 1.0, q3: 1.0},
        {q1: 1.0, q2: 1.0, q3: 0.0},
        {q1: 1.0, q2: 0.0, q3: 1.0},
        {q1: 1.0, q2: 0.0, q3: 0.0},
        {q1: 0.0, q3: 1.0},
        {q1: 0.0, q3: 0.0},
    ]
    with app.app_context():
        own = db.session.get(Cohort, cohort["id"])
        learner_ids = [people["learner"]]
        for number in range(5):
            user = make_user(f"s{number}@example.com")
            enrol(own, user.id)
            learner_ids.append(user.id)
        for user_id, given in zip(learner_ids, credits, strict=True):
            graded_attempt(user_id, programme["quiz"], given)
        # Not counted: a learner of another cohort, and an attempt still in progress.
        graded_attempt(people["learner2"], programme["quiz"], {q1: 0.0, q2: 0.0, q3: 0.0})
        db.session.add(
            Attempt(user_id=learner_ids[1], assessment_id=programme["quiz"], number=2, seed=1)
        )
        db.session.commit()
    manager(client)
    response = client.get(f"/cohorts/{cohort['id']}/assessments/{programme['quiz']}")
    body = response.get_data(as_text=True)
    rows = {
        slug: cells
        for slug, cells in re.findall(
            r'<span class="muted small">(q\d)</span></th>(.*?)</tr>', body, re.S
        )
    }
    q1_cells = re.findall(r"<td[^>]*>([^<]*)</td>", rows["q1"])
    # Facility of q1: four right of six = 0.67.
    facility = 4 / 6
    # Discrimination: credit on q1 against the rest of each attempt (q2 + q3).
    rest = [2, 1, 1, 0, 1, 0]
    discrimination = statistics.correlation([1, 1, 1, 1, 0, 0], rest)
    assert q1_cells == ["6", f"{facility:.2f}", f"{discrimination:.2f}", ""]
    q2_cells = re.findall(r"<td[^>]*>([^<]*)</td>", rows["q2"])
    assert q2_cells == ["4", "—", "—", "too few attempts (4 of 5 needed)"]
    page = text(response)
    assert "Graded attempts 6" in page and "Learners enrolled 6" in page
    assert "Decision quality" not in page  # a module quiz: no pre/post figure here


def test_decision_quality_from_scenario_questions_of_the_pre_post_pair(
    app, client, people, programme, cohort
) -> None:
    pre = f"/cohorts/{cohort['id']}/assessments/{programme['pre']}"
    manager(client)
    page = text(client.get(pre))
    assert "Not computable: no pre- and post-assessment results yet" in page
    with app.app_context():
        own = db.session.get(Cohort, cohort["id"])
        second = make_user("second@example.com")
        enrol(own, second.id)
        p = programme
        # Learner: pre scenarios 1 of 2 (0.5), post 2 of 2 (1.0); the knowledge item is ignored.
        graded_attempt(
            people["learner"], p["pre"], {p["pre.s1"]: 1.0, p["pre.s2"]: 0.0, p["pre.k"]: 1.0}
        )
        graded_attempt(
            people["learner"], p["post"], {p["post.s1"]: 1.0, p["post.s2"]: 1.0, p["post.k"]: 0.0}
        )
        # Second learner: pre 0.5, post 0.5.
        graded_attempt(second.id, p["pre"], {p["pre.s1"]: 0.0, p["pre.s2"]: 1.0, p["pre.k"]: 0.0})
        graded_attempt(
            second.id, p["post"], {p["post.s1"]: 1.0, p["post.s2"]: 0.0, p["post.k"]: 1.0}
        )
        db.session.commit()
    for url in (pre, f"/cohorts/{cohort['id']}/assessments/{programme['post']}"):
        page = text(client.get(url))
        # Pre mean 0.5, post mean 0.75: (0.75 - 0.5) / 0.5 = +50%.
        assert "Pre-assessment mean 50%" in page
        assert "Post-assessment mean 75%" in page
        assert "Improvement +50%" in page and "Learners with both 2" in page


# People ------------------------------------------------------------------------------------------


def test_people_search_shows_team_roles_and_enrolments_linked_where_allowed(
    app, client, people, programme, cohort
) -> None:
    with app.app_context():
        team = db.session.get(User, people["learner2"])
        team.team = ensure_unit("team", "Brand")
        db.session.commit()
    manager(client)
    page = client.get("/people?q=learner").get_data(as_text=True)
    shown = text(client.get("/people?q=learner"))
    assert "Learner" in shown and "Other Learner" in shown and "Brand" in shown
    own_link = f'href="/cohorts/{cohort["id"]}/enrolments/{cohort["enrolment"]}"'
    their_link = f'href="/cohorts/{cohort["other"]}'
    assert own_link in page and their_link not in page
    assert "Test platform in Their cohort" in shown  # named, not linked
    managers = text(client.get("/people?role=manager"))
    assert "Olga Other" in managers and "Other Learner" not in managers


def test_cohort_pages_have_unique_ids_and_no_inline_script(client, cohort, programme) -> None:
    """Forms repeated on one page (exempt, extra time) keep their labels tied to their inputs."""
    manager(client)
    for url in [
        "/cohorts",
        "/cohorts/new",
        "/people",
        f"/cohorts/{cohort['id']}/enrol?q=a",
        *_cohort_urls(cohort, programme),
        f"/cohorts/{cohort['id']}/assessments/{programme['pre']}",
    ]:
        page = client.get(url).get_data(as_text=True)
        ids = re.findall(r'\sid="([^"]+)"', page)
        assert len(ids) == len(set(ids)), (url, sorted(i for i in ids if ids.count(i) > 1))
        for target in re.findall(r'<label for="([^"]+)"', page):
            assert target in ids, (url, target)
        assert not re.search(r"<script(?![^>]*\bsrc=)", page) and " style=" not in page, url


def test_a_percent_or_underscore_in_a_search_is_a_character(
    app, client, people, programme, cohort
) -> None:
    with app.app_context():
        make_user("ada_lovelace@example.com", name="Ada Lovelace")
        make_user("adaXlovelace@example.com", name="Ada Xlovelace")
    manager(client)
    found = text(client.get(f"/cohorts/{cohort['id']}/enrol?q=ada_l"))
    assert "Ada Lovelace" in found and "Ada Xlovelace" not in found
    assert "Ada" not in text(client.get(f"/cohorts/{cohort['id']}/enrol?q=%25"))
    listed = text(client.get("/people?q=ada_"))
    assert "Ada Lovelace" in listed and "Ada Xlovelace" not in listed
