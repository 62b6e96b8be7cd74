"""Honest completion (DESIGN.md section 4): a module completes when its sections are done and its
knowledge check is passed, in either order; a module without a lesson is in preparation and
counts for nothing; self-attested completions are history that no longer counts, while the
promotions and certificates recorded on them stand; a gate waiting for content holds the stage
clock; the catalogue and cohort creation say how many modules are ready."""

from __future__ import annotations

import re
from contextlib import nullcontext
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import func, select, text
from werkzeug.datastructures import MultiDict

from lms import create_app
from lms.assessments.operations import start_attempt, submit_attempt
from lms.certificates.issuing import issue_for_promotions
from lms.certificates.models import Certificate
from lms.core.timeutil import now_utc
from lms.curricula.models import Module, Programme
from lms.curricula.readiness import readiness
from lms.extensions import db
from lms.learning.models import ModuleCompletion
from lms.learning.operations import complete_if_done, mark_section_done, module_state
from lms.organisation.models import Cohort
from lms.stages.engine import evaluate, organisation_today, refresh
from lms.stages.models import ClockHold, StagePromotion
from lms.stages.requirements import REQUIREMENT_KINDS
from tests.conftest import config_for_tests, database_kind, login, submit
from tests.support import postgres
from tests.support.learning import (
    FIRST_CHECK,
    FIRST_MODULE,
    PROGRAMME,
    assessment,
    enrol,
    make_cohort,
    module,
    proficient_submission,
    programme,
    right_answers,
    study,
    write_lesson,
)

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
#: A platform track whose first gate names modules still in preparation.
WAITING_PROGRAMME = "ai-machine-learning"


@pytest.fixture
def learner(app, ctx, users, curricula) -> int:
    return users["learner"]


def gate_modules(slug: str, stage: str) -> list[str]:
    return [
        item["ref"] for item in programme(slug).gates[stage] if item["kind"] == "module-completed"
    ]


def gate_demonstration(slug: str, stage: str) -> str:
    return next(
        item["ref"]
        for item in programme(slug).gates[stage]
        if item["kind"] == "demonstration-proficient"
    )


def pass_check(user_id: int, slug: str):
    attempt = start_attempt(user_id, assessment(slug))
    db.session.flush()
    outcome = submit_attempt(attempt, MultiDict(right_answers(attempt)))
    assert outcome.attempt.passed
    return outcome


def in_preparation(slug: str) -> Module:
    found = module(slug, WAITING_PROGRAMME)
    assert not [s for s in found.sections if s.retired_at is None], "the fixture needs no lesson"
    return found


# --- Completing a module -----------------------------------------------------------------------


def test_passing_the_check_after_the_sections_completes_the_module(learner: int) -> None:
    first = module(FIRST_MODULE)
    assert not study(learner, FIRST_MODULE)  # every section done, the check still to pass
    state = module_state(learner, first)
    assert not state.completed and state.remaining_text == "the knowledge check remains"
    outcome = pass_check(learner, FIRST_CHECK)
    assert outcome.notes == (f"Module completed: {first.title}.",)
    assert module_state(learner, first).completed


def test_passing_the_check_first_completes_the_module_on_the_last_section(learner: int) -> None:
    first = module(FIRST_MODULE)
    assert pass_check(learner, FIRST_CHECK).notes == ()  # sections still to do
    sections = module_state(learner, first).sections
    assert module_state(learner, first).remaining_text == f"{len(sections)} sections remain"
    for section in sections[:-1]:
        assert not mark_section_done(learner, section)
    assert module_state(learner, first).remaining_text == "1 section remains"
    assert mark_section_done(learner, sections[-1])
    assert module_state(learner, first).completed


def test_a_module_with_a_lesson_and_no_check_completes_on_its_sections(learner: int) -> None:
    [slug, *_] = gate_modules(WAITING_PROGRAMME, "initial")
    write_lesson(slug, programme_slug=WAITING_PROGRAMME)
    state = module_state(learner, module(slug, WAITING_PROGRAMME))
    assert state.ready and state.check is None
    assert study(learner, slug, WAITING_PROGRAMME)


def test_nothing_completes_a_module_in_preparation(learner: int) -> None:
    [slug, *_] = gate_modules(WAITING_PROGRAMME, "initial")
    unwritten = in_preparation(slug)
    assert not complete_if_done(learner, unwritten)
    assert not module_state(learner, unwritten).ready
    # Even a completion row (as the removed button left) meets no gate through it.
    enrolment = enrol(learner, organisation_today(), WAITING_PROGRAMME)
    db.session.add(ModuleCompletion(user_id=learner, module_id=unwritten.id))
    db.session.flush()
    state = evaluate([enrolment])[enrolment.id]
    result = next(r for r in state.gate if r.ref == slug)
    assert not result.met and result.waiting_for == f"“{unwritten.title}” is in preparation"


def test_the_result_page_says_the_module_is_complete(app: Flask, users, curricula) -> None:
    with app.app_context():
        enrol(users["learner"], organisation_today())
        study(users["learner"], FIRST_MODULE)
        db.session.commit()
        check_id = assessment(FIRST_CHECK).id
        title = module(FIRST_MODULE).title
    client = app.test_client()
    login(client, "learner@example.com")
    started = submit(client, f"/assessments/{check_id}", {}, to=f"/assessments/{check_id}/start")
    attempt_url = started.location
    with app.app_context():
        attempt_id = int(attempt_url.rsplit("/", 1)[1])
        from lms.assessments.models import Attempt

        answers = right_answers(db.session.get(Attempt, attempt_id))
    shown = submit(
        client, attempt_url, {**answers, "action": "submit"}, follow_redirects=True
    ).get_data(as_text=True)
    assert f"Module completed: {title}." in shown
    module_page = client.get(f"/learn/{PROGRAMME}/{FIRST_MODULE}").get_data(as_text=True)
    assert "✓ You completed this module." in module_page


# --- Self-attested history ---------------------------------------------------------------------


def test_self_attested_completions_stop_counting_but_promotion_and_certificate_stand(
    learner: int,
) -> None:
    """Before honest completion, a learner clicked through Initial Adoption and was promoted with
    a certificate. Marked self-attested, the clicks count for nothing, yet the promotion, the
    stage and the certificate stay, and re-certification neither revokes nor ends it."""
    slugs = gate_modules(WAITING_PROGRAMME, "initial")
    enrolment = enrol(learner, organisation_today() - timedelta(days=40), WAITING_PROGRAMME)
    for slug in slugs:
        db.session.add(ModuleCompletion(user_id=learner, module_id=in_preparation(slug).id))
    proficient_submission(
        learner, gate_demonstration(WAITING_PROGRAMME, "initial"), WAITING_PROGRAMME
    )
    promotion = StagePromotion(
        enrolment_id=enrolment.id,
        from_stage_id="initial",
        to_stage_id="proficiency",
        on_day=20,
        evidence=[{"requirement": f"module-completed:{s}", "exempt": False} for s in slugs],
    )
    db.session.add(promotion)
    enrolment.stage_id = "proficiency"
    [certificate] = issue_for_promotions([promotion])
    db.session.flush()
    # The transition: what the migration does to these rows.
    for row in db.session.scalars(select(ModuleCompletion)):
        row.self_attested = True
    # A major version since then: the certificate is due to re-certify by a deadline.
    deadline = now_utc() + timedelta(days=30)
    certificate.expires_at = deadline
    programme(WAITING_PROGRAMME).version = "2.0.0"
    db.session.flush()

    refresh([enrolment])
    db.session.flush()
    db.session.refresh(certificate)
    assert enrolment.stage_id == "proficiency"  # nobody is demoted
    assert db.session.scalars(select(StagePromotion)).all() == [promotion]
    assert certificate.revoked_at is None and certificate.replaced_by_id is None
    assert certificate.expires_at.replace(tzinfo=None) == deadline.replace(tzinfo=None)
    assert db.session.scalar(select(func.count(Certificate.id))) == 1
    # The clicks count for nothing: not as progress, not for the initial gate either.
    for slug in slugs:
        state = module_state(learner, module(slug, WAITING_PROGRAMME))
        assert state.self_attested and not state.completed
    assert REQUIREMENT_KINDS["module-completed"].load({learner}) == {}


def test_the_migration_marks_completions_of_modules_without_a_lesson(tmp_path: Path) -> None:
    """The rows are written in SQL as that revision's schema had them, so later schema changes
    (and the curricula of today) cannot break the test of this one migration."""
    if database_kind() == "postgresql":
        database = postgres.fresh_database("lms_completion_migration")
    else:
        database = nullcontext(f"sqlite:///{tmp_path / 'migrated.sqlite3'}")
    with database as url:
        application = create_app(config_for_tests(url))
        with application.app_context():
            # The revision before honest completion.
            upgrade(directory=str(MIGRATIONS), revision="ad88c7a0eefe")
            now = now_utc()
            statements = [
                "INSERT INTO stages (id, position, name, window_start_day, window_end_day, focus)"
                " VALUES ('initial', 1, 'Initial Adoption', 0, 30, 'Basics')",
                "INSERT INTO users (id, email, name, active, created_at, session_token) VALUES"
                " (1, 'clicker@example.com', 'Clicker', true, :now, 'token')",
                "INSERT INTO programmes (id, slug, kind, title, summary, source, version,"
                " content_hash, loaded_at, gates) VALUES (1, 'p', 'curriculum', 'P', 'S',"
                " 's.txt', '1.0.0', 'h', :now, '{}')",
                "INSERT INTO modules (id, programme_id, slug, position, title, stage_id,"
                " prerequisites) VALUES (1, 1, 'taught', 1, 'Taught', 'initial', '[]'),"
                " (2, 1, 'unwritten', 2, 'Unwritten', 'initial', '[]')",
                "INSERT INTO lesson_sections (id, module_id, slug, position, title, body,"
                " objectives) VALUES (1, 1, 's', 1, 'S', 'Body', '[]')",
                "INSERT INTO module_completions (user_id, module_id, completed_at) VALUES"
                " (1, 1, :now), (1, 2, :now)",
            ]
            for statement in statements:
                db.session.execute(text(statement), {"now": now})
            db.session.commit()
            upgrade(directory=str(MIGRATIONS))
            marked = {
                module_id: attested
                for module_id, attested in db.session.execute(
                    select(ModuleCompletion.module_id, ModuleCompletion.self_attested)
                )
            }
            assert marked == {1: False, 2: True}
            db.session.remove()
            db.engine.dispose()


# --- Waiting for content -----------------------------------------------------------------------


def test_a_gate_waiting_for_content_holds_the_clock_until_the_content_arrives(
    learner: int,
) -> None:
    today = organisation_today()
    start = today - timedelta(days=40)
    enrolment = enrol(learner, start, WAITING_PROGRAMME)
    # Day 30 of Initial Adoption's 30 would be overdue; its gate cannot be met.
    refresh([enrolment], today=today - timedelta(days=10))
    assert enrolment.stage_status == "waiting-for-content"
    assert "waiting for content" in enrolment.status_reason and "in preparation" in (
        enrolment.status_reason
    )
    [hold] = db.session.scalars(select(ClockHold)).all()
    assert (hold.stage_id, hold.held_from, hold.released_on) == ("initial", start, None)
    state = evaluate([enrolment], today)[enrolment.id]
    assert state.status == "waiting-for-content" and state.day == 0 and state.waiting

    # The lessons are written five days ago: the hold is released then, the clock runs again.
    write_lesson(*gate_modules(WAITING_PROGRAMME, "initial"), programme_slug=WAITING_PROGRAMME)
    refresh([enrolment], today=today - timedelta(days=5))
    db.session.refresh(hold)
    assert hold.released_on == today - timedelta(days=5)
    assert enrolment.stage_status == "on-track"
    state = evaluate([enrolment], today)[enrolment.id]
    assert (state.status, state.day, state.window_end_day) == ("on-track", 5, 30)
    # A refresh more changes nothing: one hold, released.
    refresh([enrolment], today=today)
    assert db.session.scalar(select(func.count(ClockHold.id))) == 1


def test_a_hold_counts_before_refresh_stores_it(learner: int) -> None:
    """Pages evaluate without writing: the hold refresh would store is counted all the same."""
    enrolment = enrol(learner, organisation_today() - timedelta(days=45), WAITING_PROGRAMME)
    state = evaluate([enrolment])[enrolment.id]
    assert state.status == "waiting-for-content" and state.day == 0
    assert db.session.scalar(select(func.count(ClockHold.id))) == 0


def test_waiting_for_content_shows_on_my_path_and_filters_the_cohort(
    app: Flask, users, curricula
) -> None:
    with app.app_context():
        cohort = make_cohort("Waiting cohort", organisation_today(), users["manager"])
        cohort.programmes = [programme(WAITING_PROGRAMME)]
        enrolment = enrol(
            users["learner"],
            organisation_today() - timedelta(days=35),
            WAITING_PROGRAMME,
            cohort=cohort,
        )
        refresh([enrolment])
        db.session.commit()
        cohort_id = cohort.id
    learner = app.test_client()
    login(learner, "learner@example.com")
    home = learner.get("/").get_data(as_text=True)
    assert '<span class="badge status-waiting-for-content">Waiting for content</span>' in home
    assert "Overdue" not in home
    assert "Waiting for content: " in home and "the stage clock is held on day 0." in home
    manager = app.test_client()
    login(manager, "manager@example.com")
    listed = manager.get(f"/cohorts/{cohort_id}?status=waiting-for-content").get_data(as_text=True)
    assert "learner@example.com" in listed
    assert (
        manager.get(f"/cohorts/{cohort_id}?status=overdue")
        .get_data(as_text=True)
        .count("learner@example.com")
        == 0
    )
    # The dashboard counts it apart from at risk and overdue, and opens the list behind it.
    dashboard = re.sub(
        r"\s+", " ", re.sub(r"<[^>]+>", " ", manager.get("/dashboard").get_data(as_text=True))
    )
    assert "Waiting for content 1 " in dashboard
    learners = manager.get("/dashboard/learners?figure=status&value=waiting-for-content")
    assert learners.status_code == 200
    assert re.search(r"\b1 row, by name", learners.get_data(as_text=True))


# --- Readiness on the catalogue and cohort creation ----------------------------------------------


def test_the_catalogue_says_how_many_modules_are_ready(
    app: Flask, client, users, curricula
) -> None:
    with app.app_context():
        taught = readiness([programme().id])[programme().id]
        assert taught.ready == taught.total == 8  # 000 is taught in full
        waiting = programme(WAITING_PROGRAMME)
        counted = readiness([waiting.id])[waiting.id]
        assert counted.ready < counted.total
    login(client, "learner@example.com")
    page = client.get("/catalogue").get_data(as_text=True)
    assert "8 of 8 modules ready" in page
    assert f"{counted.ready} of {counted.total} modules ready" in page
    assert "(in preparation)" in page


def test_a_manager_is_warned_before_starting_a_cohort_on_a_programme_not_ready(
    app: Flask, client, users, curricula
) -> None:
    with app.app_context():
        taken = programme(WAITING_PROGRAMME)
        counted = readiness([taken.id])[taken.id]
        programme_id = taken.id
    login(client, "manager@example.com")
    form = client.get("/cohorts/new").get_data(as_text=True)
    assert f"{counted.ready} of {counted.total} modules ready" in form
    data = {"name": "Eager cohort", "start_date": "2026-09-01", "programmes": [str(programme_id)]}
    warned = submit(client, "/cohorts/new", data)
    page = warned.get_data(as_text=True)
    assert warned.status_code == 200
    assert "Not every module is ready." in page
    assert 'name="start_anyway"' in page
    with app.app_context():
        assert db.session.scalar(select(func.count(Cohort.id))) == 0
    made = submit(client, "/cohorts/new", {**data, "start_anyway": "y"})
    assert made.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Cohort.name)) == "Eager cohort"


def test_a_programme_fully_ready_needs_no_confirmation(
    app: Flask, client, users, curricula
) -> None:
    with app.app_context():
        taken = programme()
        write_lesson(*[m.slug for m in taken.modules if m.retired_at is None])
        db.session.commit()
        assert readiness([taken.id])[taken.id].complete
        programme_id = taken.id
    login(client, "manager@example.com")
    data = {"name": "Ready cohort", "start_date": "2026-09-01", "programmes": [str(programme_id)]}
    assert submit(client, "/cohorts/new", data).status_code == 302


def test_readiness_counts_live_modules_only(learner: int) -> None:
    counted = readiness([programme().id])[programme().id]
    live = db.session.scalar(
        select(func.count(Module.id)).where(
            Module.programme_id == programme().id, Module.retired_at.is_(None)
        )
    )
    assert counted.total == live
    assert re.fullmatch(r"\d+ of \d+ modules ready", counted.text)
    assert readiness([]) == {}
    assert programme().id in readiness([programme().id])
    assert db.session.get(Programme, programme().id) is not None
