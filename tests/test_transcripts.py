"""The learner transcript: its figures against a hand-made record (best and latest score, attempts
used, modules completed, promotions, demonstrations, certificates and their states, exemptions,
endorsements), the page and the PDF, who may open whose, that no question or answer ever shows,
and that it costs the same number of queries for one enrolment as for three."""

from __future__ import annotations

import html
import re
import subprocess
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from lms.accounts.models import User
from lms.adoption.records import Endorsement
from lms.assessments.models import Assessment, Attempt
from lms.assessments.operations import start_attempt, submit_attempt
from lms.audit.models import AuditEvent
from lms.certificates.issuing import new_code
from lms.certificates.models import Certificate
from lms.demonstrations.models import DemonstrationTask, Grade, Submission
from lms.extensions import db
from lms.learning.models import ModuleCompletion
from lms.organisation.models import Cohort, Enrolment
from lms.stages.engine import organisation_today, refresh
from lms.stages.models import Exemption, StagePromotion
from lms.transcripts.figures import (
    AttemptScore,
    SubmissionOutcome,
    assessment_line,
    demonstration_line,
    evidence_summary,
    name_slug,
    programme_summary,
)
from lms.transcripts.queries import Scope, build_transcript
from tests.conftest import login, make_user
from tests.support.learning import (
    DEMONSTRATIONS,
    FIRST_CHECK,
    FIRST_MODULE,
    SECOND_CHECK,
    SECOND_MODULE,
    assessment,
    enrol,
    make_cohort,
    module,
    programme,
    right_answers,
    task,
)

LEARNER_EMAIL = "zoe.okafor@example.com"
LEARNER_NAME = "Zoë Ångström-Okafor"
SECOND_PROGRAMME = "marketing-automation-platform"
EXEMPTION_REASON = "Holds the vendor's governance certificate, reference 4471"
#: Text a learner wrote as demonstration evidence: never on a transcript.
EVIDENCE_TEXT = "Our consent sync lets an opt-out in the CRM win within ten minutes"


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def signed_in(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    assert login(client, email).status_code == 302
    return client


def text(response) -> str:
    """The page's text with tags dropped and entities decoded, white space made single."""
    shown = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return " ".join(html.unescape(shown).split())


def pdf_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "transcript.pdf"
    path.write_bytes(data)
    result = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, check=True, text=True
    )
    return " ".join(result.stdout.split())


def graded_submission(
    user_id: int, slug: str, number: int, points: int, when: datetime, programme_slug: str
) -> Submission:
    """A sent submission with its (first and final) grade, as grading leaves them."""
    found = task(slug, programme_slug)
    proficient = points / found.max_points >= found.proficient_at
    submission = Submission(
        user_id=user_id,
        task_id=found.id,
        number=number,
        status="proficient" if proficient else "needs-work",
        answers={"evidence": EVIDENCE_TEXT},
        submitted_at=when - timedelta(days=1),
        graded_at=when,
    )
    db.session.add(submission)
    db.session.flush()
    db.session.add(
        Grade(
            submission_id=submission.id,
            kind="first",
            levels={},
            comments={},
            feedback="Good work on the consent map.",
            points=points,
            max_points=found.max_points,
            proficient=proficient,
            rubric=found.rubric,
            proficient_at=found.proficient_at,
            created_at=when,
        )
    )
    db.session.flush()
    return submission


def scored_attempt(
    user_id: int, assessment_id: int, number: int, score: float, when: datetime
) -> Attempt:
    """A graded attempt inserted as a row, out of 10 points (pass mark 80%)."""
    attempt = Attempt(
        user_id=user_id,
        assessment_id=assessment_id,
        number=number,
        seed=number,
        status="submitted",
        submitted_at=when,
        score=score,
        max_score=10,
        passed=score / 10 >= 0.8,
    )
    db.session.add(attempt)
    db.session.flush()
    return attempt


def hand_certificate(enrolment: Enrolment, learner: User, **state) -> Certificate:
    certificate = Certificate(
        code=new_code(),
        user_id=learner.id,
        enrolment_id=enrolment.id,
        programme_id=enrolment.programme_id,
        stage_id="initial",
        programme_version="1.0.0",
        holder_name=learner.name,
        programme_title=enrolment.programme.title,
        stage_name="Initial Adoption",
        evidence=[],
        **state,
    )
    db.session.add(certificate)
    db.session.flush()
    return certificate


@pytest.fixture
def record(app: Flask, users, curricula) -> dict:
    """A learner with a full record in integrated-marketing-systems (cohort run by manager@):
    two modules done, a failed then a passed check (the pass by the real attempt page's rules),
    a check failed twice, a demonstration that needed work then was proficient, an exemption,
    the promotion and its certificate; and an enrolment in a second programme with one expired
    and one revoked certificate. Two colleagues endorsed the learner."""
    with app.app_context():
        learner = make_user(LEARNER_EMAIL, name=LEARNER_NAME)
        other_manager = make_user("other.manager@example.com", ("manager",))
        today = organisation_today()
        start = today - timedelta(days=40)
        cohort = make_cohort("Autumn cohort", start, users["manager"])
        cohort.programmes = [programme(), programme(SECOND_PROGRAMME)]
        other_cohort = make_cohort("Winter cohort", start, other_manager.id)
        other_cohort.programmes = [programme()]
        enrol(users["learner2"], start, cohort=other_cohort)
        enrolment = enrol(learner.id, start, cohort=cohort)

        for slug, offset in ((FIRST_MODULE, 3), (SECOND_MODULE, 6)):
            db.session.add(
                ModuleCompletion(
                    user_id=learner.id,
                    module_id=module(slug).id,
                    completed_at=at(start + timedelta(days=offset)),
                )
            )
        first_check = assessment(FIRST_CHECK)
        scored_attempt(learner.id, first_check.id, 1, 4, at(start + timedelta(days=4)))
        attempt = start_attempt(learner.id, first_check)
        db.session.flush()
        outcome = submit_attempt(attempt, MultiDict(right_answers(attempt)))
        assert outcome.attempt.passed
        shown_to_learner = []
        for item in attempt.items:
            shown_to_learner += [item.snapshot["prompt"], item.snapshot.get("explanation") or ""]
            for option in item.snapshot.get("options", []):
                if option["id"] == item.snapshot.get("key"):
                    shown_to_learner.append(option["text"])
        second_check = assessment(SECOND_CHECK)
        scored_attempt(learner.id, second_check.id, 1, 7, at(start + timedelta(days=7)))
        scored_attempt(learner.id, second_check.id, 2, 6, at(start + timedelta(days=8)))

        slug = DEMONSTRATIONS["initial"]
        max_points = task(slug).max_points
        graded_submission(
            learner.id, slug, 1, max_points // 2, at(start + timedelta(days=10)), programme().slug
        )
        graded_submission(
            learner.id, slug, 2, max_points - 2, at(start + timedelta(days=12)), programme().slug
        )
        db.session.add(
            Exemption(
                enrolment_id=enrolment.id,
                requirement=f"assessment-passed:{SECOND_CHECK}",
                reason=EXEMPTION_REASON,
                created_at=at(start + timedelta(days=13), 9),
            )
        )
        db.session.flush()
        (promotion,) = refresh([enrolment], today)
        promotion.promoted_at = at(start + timedelta(days=13), 11)
        promotion.on_day = 13
        certificate = db.session.scalars(
            select(Certificate).where(Certificate.enrolment_id == enrolment.id)
        ).one()

        second = enrol(learner.id, start + timedelta(days=5), SECOND_PROGRAMME, cohort=cohort)
        expired = hand_certificate(
            second, learner, issued_at=at(start), expires_at=at(today - timedelta(days=2))
        )
        revoked = hand_certificate(
            second,
            learner,
            issued_at=at(start + timedelta(days=1)),
            revoked_at=at(today - timedelta(days=1)),
            revoked_reason="Issued in error",
        )
        for endorser in (users["learner"], users["learner2"]):
            db.session.add(
                Endorsement(endorser_id=endorser, endorsee_id=learner.id, note="Great audit")
            )
        db.session.add(
            Endorsement(endorser_id=users["learner"], endorsee_id=learner.id, note="Again")
        )
        db.session.commit()
        return {
            **users,
            "learner_id": learner.id,
            "other_manager": other_manager.id,
            "start": start,
            "today": today,
            "enrolment": enrolment.id,
            "second": second.id,
            "certificate": certificate.code,
            "expired": expired.code,
            "revoked": revoked.code,
            "max_points": max_points,
            "first_check": (first_check.title, first_check.attempts_allowed),
            "second_check": (second_check.title, second_check.attempts_allowed),
            "shown_to_learner": [s for s in shown_to_learner if len(s) > 20],
            "programmes": (programme().title, programme(SECOND_PROGRAMME).title),
        }


def transcript_of(app: Flask, user_id: int, scope: Scope | None = None):
    with app.app_context():
        learner = db.session.get(User, user_id)
        return build_transcript(learner, scope or Scope())


# --- The figures -------------------------------------------------------------------------------


def test_the_transcript_holds_the_record_as_it_happened(app: Flask, record: dict) -> None:
    start = record["start"]
    t = transcript_of(app, record["learner_id"])
    assert t.learner_name == LEARNER_NAME
    assert t.generated_on == record["today"]
    assert [e.programme_title for e in t.enrolments] == list(record["programmes"])
    main, second = t.enrolments

    assert main.cohort_name == "Autumn cohort"
    assert main.start_date == start
    assert main.status == "active"
    assert main.stage_name == "Proficiency Development"
    # Stage history: the start, then the promotion with its date, day and evidence.
    assert [(s.stage_name, s.on, s.day) for s in main.history] == [
        ("Initial Adoption", start, 0),
        ("Proficiency Development", start + timedelta(days=13), 13),
    ]
    assert main.history[1].from_stage_name == "Initial Adoption"
    assert main.history[1].summary == (
        "2 modules completed, 1 assessment passed (100%), "
        "1 demonstration graded proficient, 1 requirement exempted"
    )

    # Modules completed, with their dates, in path order; "x of y" against the live modules.
    assert [(m.completed_on, m.stage_name) for m in main.modules] == [
        (start + timedelta(days=3), "Initial Adoption"),
        (start + timedelta(days=6), "Initial Adoption"),
    ]
    assert main.modules_completed == 2
    assert main.modules_total > 2
    assert main.summary.startswith(f"Modules 2 of {main.modules_total}; gate of Proficiency")

    # Assessments: best and latest score, result, attempts used.
    by_title = {a.title: a for a in main.assessments}
    first_title, first_allowed = record["first_check"]
    first = by_title[first_title]
    assert (first.best, first.latest, first.passed, first.attempts_used) == (1.0, 1.0, True, 2)
    assert first.attempts_allowed == first_allowed
    assert first.attempts_text == f"2 of {first_allowed}"
    second_title, _ = record["second_check"]
    failed = by_title[second_title]
    assert (failed.best, failed.latest, failed.passed, failed.attempts_used) == (0.7, 0.6, False, 2)
    assert failed.last_taken_on == start + timedelta(days=8)

    # The demonstration: two submissions, the proficient one decides.
    (demonstration,) = main.demonstrations
    assert demonstration.submissions == 2
    assert demonstration.outcome == "proficient"
    assert (demonstration.points, demonstration.max_points) == (
        record["max_points"] - 2,
        record["max_points"],
    )
    assert demonstration.graded_on == start + timedelta(days=12)
    assert demonstration.stage_name == "Initial Adoption"

    # Certificates and their states.
    assert [(c.code, c.state, c.stage_name) for c in main.certificates] == [
        (record["certificate"], "valid", "Initial Adoption")
    ]
    assert {c.code: c.state for c in second.certificates} == {
        record["expired"]: "expired",
        record["revoked"]: "revoked",
    }
    assert t.certificates == 3
    assert t.valid_certificates == 1

    # The exemption: what and when; the reason is not on the learner's own copy.
    (exemption,) = main.exemptions
    assert second_title in exemption.label
    assert exemption.stage_name == "Initial Adoption"
    assert exemption.granted_on == start + timedelta(days=13)
    assert exemption.reason is None

    # Three endorsements from two colleagues.
    assert (t.endorsements, t.endorsers) == (3, 2)
    # The second programme: nothing done yet.
    assert second.start_date == start + timedelta(days=5)
    assert second.modules == [] and second.assessments == [] and second.demonstrations == []
    assert second.stage_name == "Initial Adoption"


def test_a_managers_transcript_holds_their_cohorts_and_the_exemption_reasons(
    app: Flask, record: dict
) -> None:
    t = transcript_of(app, record["learner_id"], Scope(manager_id=record["manager"], internal=True))
    assert len(t.enrolments) == 2
    assert t.enrolments[0].exemptions[0].reason == EXEMPTION_REASON
    # Another manager's scope holds none of this learner's enrolments.
    other = transcript_of(
        app, record["learner_id"], Scope(manager_id=record["other_manager"], internal=True)
    )
    assert other.enrolments == []


def test_a_withdrawn_enrolment_says_so(app: Flask, record: dict) -> None:
    with app.app_context():
        enrolment = db.session.get(Enrolment, record["second"])
        enrolment.status = "withdrawn"
        enrolment.withdrawn_at = at(record["today"] - timedelta(days=3))
        db.session.commit()
    t = transcript_of(app, record["learner_id"])
    assert t.enrolments[1].status == "withdrawn"
    assert t.enrolments[1].withdrawn_on == record["today"] - timedelta(days=3)


# --- Pure rules --------------------------------------------------------------------------------


def test_best_latest_and_attempts_used() -> None:
    attempts = [
        AttemptScore(2, 0.6, False, date(2026, 3, 2)),
        AttemptScore(1, 0.7, False, date(2026, 3, 1)),
    ]
    line = assessment_line("Check", "module", 0.8, 3, attempts)
    assert (line.best, line.latest, line.passed, line.attempts_text) == (0.7, 0.6, False, "2 of 3")
    assert line.result == "not passed"
    assert line.last_taken_on == date(2026, 3, 2)
    baseline = assessment_line("Before", "pre", 0.8, None, attempts[:1])
    assert (baseline.passed, baseline.result, baseline.attempts_text) == (None, "taken", "1")


def test_the_first_proficient_submission_decides_a_demonstration() -> None:
    sent = [
        SubmissionOutcome(1, "needs-work", 6, 16, date(2026, 3, 1)),
        SubmissionOutcome(2, "proficient", 13, 16, date(2026, 3, 5)),
    ]
    line = demonstration_line("Audit", "Initial Adoption", sent)
    assert (line.submissions, line.outcome, line.points, line.graded_on) == (
        2,
        "proficient",
        13,
        date(2026, 3, 5),
    )
    waiting = demonstration_line(
        "Audit", "Initial Adoption", [sent[0], SubmissionOutcome(2, "submitted", None, None, None)]
    )
    assert (waiting.outcome_text, waiting.points, waiting.fraction) == (
        "waiting for grading",
        None,
        None,
    )
    assert demonstration_line("Audit", "Initial Adoption", []) is None


def test_evidence_summary_and_programme_summary() -> None:
    evidence = [
        {"requirement": "module-completed:a", "exempt": False, "evidence": {"completed_at": "x"}},
        {"requirement": "assessment-passed:b", "exempt": False, "evidence": {"score": 0.875}},
        {"requirement": "assessment-passed:c", "exempt": True, "evidence": None},
    ]
    assert evidence_summary(evidence) == (
        "1 module completed, 1 assessment passed (88%), 1 requirement exempted"
    )
    assert evidence_summary([]) == "no requirements recorded"
    assert programme_summary(3, 12, "Expert Mastery", 1, 3) == (
        "Modules 3 of 12; gate of Expert Mastery: 1 of 3 requirements met"
    )
    assert programme_summary(12, 12, "Strategic Partnership", 0, 0) == (
        "Modules 12 of 12; Strategic Partnership has no gate to pass"
    )


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Zoë Ångström-Okafor", "zoe-angstrom-okafor"),
        ("Seán O'Brien", "sean-o-brien"),
        ("  ", "learner"),
        ("李雷", "learner"),
    ],
)
def test_name_slugs_are_safe_file_names(name: str, slug: str) -> None:
    assert name_slug(name) == slug


# --- The page and the PDF ----------------------------------------------------------------------


def test_the_learner_reads_their_transcript(app: Flask, record: dict) -> None:
    response = signed_in(app, LEARNER_EMAIL).get("/transcript")
    assert response.status_code == 200
    shown = text(response)
    for expected in (
        LEARNER_NAME,
        *record["programmes"],
        "Proficiency Development",
        record["certificate"],
        record["expired"],
        record["revoked"],
        "100%",
        "70%",
        "60%",
        f"2 of {record['first_check'][1]}",
        f"{record['max_points'] - 2} of {record['max_points']}",
        "proficient",
        "expired",
        "revoked",
        "3 endorsements received from 2 colleagues",
    ):
        assert expected in shown, f"{expected!r} is not on the page"
    assert EXEMPTION_REASON not in shown
    assert 'href="/transcript.pdf"' in response.get_data(as_text=True)


def test_the_pdf_is_the_transcript(app: Flask, record: dict, tmp_path: Path) -> None:
    response = signed_in(app, LEARNER_EMAIL).get("/transcript.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="transcript-zoe-angstrom-okafor-{record["today"].isoformat()}.pdf"'
    )
    assert response.headers["Cache-Control"] == "private, no-store"
    shown = pdf_text(response.data, tmp_path)
    for expected in (
        LEARNER_NAME,
        "Transcript",
        *record["programmes"],
        "Initial Adoption",
        "Proficiency Development",
        record["first_check"][0],
        "100%",
        "70%",
        "60%",
        record["certificate"],
        record["expired"],
        record["revoked"],
        "page 1 of",
    ):
        assert expected in shown, f"{expected!r} is not in the PDF"
    assert EXEMPTION_REASON not in shown


def test_a_manager_sees_exemption_reasons_on_the_page_but_not_in_the_pdf(
    app: Flask, record: dict, tmp_path: Path
) -> None:
    manager = signed_in(app, "manager@example.com")
    url = f"/people/{record['learner_id']}/transcript"
    page = text(manager.get(url))
    assert EXEMPTION_REASON in page
    assert "open the enrolment" in page
    shown = pdf_text(manager.get(url + ".pdf").data, tmp_path)
    assert LEARNER_NAME in shown
    assert EXEMPTION_REASON not in shown
    with app.app_context():
        (event,) = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "transcript.downloaded")
        ).all()
        assert event.target_id == str(record["learner_id"])
        assert event.actor_id == record["manager"]


def test_no_question_or_answer_shows_anywhere(app: Flask, record: dict, tmp_path: Path) -> None:
    assert record["shown_to_learner"], "the attempt should have shown questions"
    learner = signed_in(app, LEARNER_EMAIL)
    manager = signed_in(app, "manager@example.com")
    page = text(learner.get("/transcript"))
    manager_page = text(manager.get(f"/people/{record['learner_id']}/transcript"))
    pdf = pdf_text(learner.get("/transcript.pdf").data, tmp_path)
    for where, shown in (("page", page), ("manager's page", manager_page), ("PDF", pdf)):
        for secret in [*record["shown_to_learner"], EVIDENCE_TEXT]:
            excerpt = " ".join(secret.split())[:50]
            assert excerpt not in shown, f"{excerpt!r} shows on the {where}"


# --- Who may open whose ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("email", "status"),
    [
        (LEARNER_EMAIL, 200),  # their own, by the people address too
        ("other.learner@example.com", 404),  # another learner
        ("other.manager@example.com", 404),  # the manager of another cohort
        ("manager@example.com", 200),  # the manager of the learner's cohort
        ("admin@example.com", 200),
        ("leader@example.com", 404),  # individual results: not for leaders
    ],
)
@pytest.mark.parametrize("suffix", ["", ".pdf"])
def test_who_may_open_a_learners_transcript(
    app: Flask, record: dict, email: str, status: int, suffix: str
) -> None:
    response = signed_in(app, email).get(f"/people/{record['learner_id']}/transcript{suffix}")
    assert response.status_code == status
    if status == 200:
        assert response.mimetype == ("application/pdf" if suffix else "text/html")


def test_an_unknown_person_has_no_transcript(app: Flask, record: dict) -> None:
    response = signed_in(app, "admin@example.com").get("/people/999999/transcript")
    assert response.status_code == 404


@pytest.mark.parametrize(
    "url", ["/transcript", "/transcript.pdf", "/people/1/transcript", "/people/1/transcript.pdf"]
)
def test_signed_out_visitors_are_sent_to_sign_in(app: Flask, record: dict, url: str) -> None:
    response = app.test_client().get(url)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_the_transcript_is_linked_where_people_look_for_it(app: Flask, record: dict) -> None:
    learner = signed_in(app, LEARNER_EMAIL)
    assert 'href="/transcript"' in learner.get("/").get_data(as_text=True)
    # In the main navigation too, marked as the current page when open.
    nav = learner.get("/transcript").get_data(as_text=True).split('aria-label="Main"')[1]
    nav = nav.split("</nav>")[0]
    assert re.search(r'<a href="/transcript"[^>]*aria-current="page"[^>]*>Transcript</a>', nav)
    manager = signed_in(app, "manager@example.com")
    assert ">Transcript</a>" not in manager.get("/").get_data(as_text=True).split("</nav>")[0]
    person = f'href="/people/{record["learner_id"]}/transcript"'
    enrolment_page = (
        f"/cohorts/{cohort_of(app, record['enrolment'])}/enrolments/{record['enrolment']}"
    )
    assert person in manager.get(enrolment_page).get_data(as_text=True)
    assert person in manager.get("/people?q=okafor").get_data(as_text=True)
    other = signed_in(app, "other.manager@example.com")
    assert person not in other.get("/people?q=okafor").get_data(as_text=True)


def cohort_of(app: Flask, enrolment_id: int) -> int:
    with app.app_context():
        return db.session.get(Enrolment, enrolment_id).cohort_id


def test_someone_without_enrolments_has_an_empty_transcript(app: Flask, users) -> None:
    response = signed_in(app, "manager@example.com").get("/transcript")
    assert response.status_code == 200
    assert "no enrolment yet" in text(response)


# --- Queries -----------------------------------------------------------------------------------


def add_attempts(user_id: int, numbers: range, when: datetime) -> None:
    """Graded attempts numbered `numbers` on every assessment (only integrated-marketing-systems
    has assessments so far)."""
    for found in db.session.scalars(select(Assessment)):
        for number in numbers:
            scored_attempt(user_id, found.id, number, number % 10, when)


def add_record(user_id: int, programme_slug: str, cohort: Cohort, start: date) -> None:
    """An enrolment with two completions, graded demonstrations, a promotion, a certificate and
    an exemption."""
    enrolment = enrol(user_id, start, programme_slug, cohort=cohort)
    taken = programme(programme_slug)
    modules = list(
        db.session.scalars(
            select(ModuleCompletion.module_id).where(ModuleCompletion.user_id == user_id)
        )
    )
    for found in [m for m in taken.modules if m.id not in modules][:2]:
        db.session.add(
            ModuleCompletion(user_id=user_id, module_id=found.id, completed_at=at(start))
        )
    tasks = db.session.scalars(
        select(DemonstrationTask).where(DemonstrationTask.programme_id == taken.id)
    ).all()
    for found in tasks[:2]:
        graded_submission(user_id, found.slug, 1, 1, at(start), programme_slug)
    promotion = StagePromotion(
        enrolment_id=enrolment.id,
        from_stage_id="initial",
        to_stage_id="proficiency",
        promoted_at=at(start + timedelta(days=1)),
        on_day=1,
        evidence=[],
    )
    db.session.add(promotion)
    enrolment.stage_id = "proficiency"
    hand_certificate(enrolment, db.session.get(User, user_id), issued_at=at(start))
    gate = taken.gates["initial"][0]
    db.session.add(
        Exemption(
            enrolment_id=enrolment.id,
            requirement=f"{gate['kind']}:{gate['ref']}",
            reason="Reason",
        )
    )
    db.session.commit()


def queries_for_the_page(app: Flask, client: FlaskClient, count_queries) -> int:
    assert client.get("/transcript").status_code == 200  # warm up
    with count_queries() as statements:
        response = client.get("/transcript")
    assert response.status_code == 200
    return len(statements)


def test_the_page_costs_the_same_queries_for_one_enrolment_as_for_three(
    app: Flask, users, curricula, count_queries
) -> None:
    others = (SECOND_PROGRAMME, "demand-generation-metrics")
    with app.app_context():
        start = organisation_today() - timedelta(days=30)
        cohort = make_cohort("Queries cohort", start, users["manager"])
        cohort.programmes = [programme(), *(programme(slug) for slug in others)]
        cohort_id = cohort.id
        add_record(users["learner"], programme().slug, cohort, start)
        add_attempts(users["learner"], range(1, 3), at(start))
        db.session.commit()
    client = signed_in(app, "learner@example.com")
    one = queries_for_the_page(app, client, count_queries)
    with app.app_context():
        cohort = db.session.get(Cohort, cohort_id)
        for slug in others:
            add_record(users["learner"], slug, cohort, start)
        add_attempts(users["learner"], range(3, 12), at(start + timedelta(days=2)))
        db.session.commit()
        attempts = db.session.scalar(
            select(func.count(Attempt.id)).where(Attempt.user_id == users["learner"])
        )
        assert attempts >= 40
    three = queries_for_the_page(app, client, count_queries)
    assert three == one
    assert one <= 30, one
