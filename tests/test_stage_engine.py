"""The stage engine against the database: gates met by module completions and passed assessments
(or exemptions) promote an enrolment and record why; pauses, extensions and the organisation's
time zone decide the day and the status; `flask stages refresh` keeps every stored status."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from lms.accounts.models import User
from lms.assessments.models import Attempt
from lms.assessments.operations import start_attempt, submit_attempt
from lms.audit.models import AuditEvent
from lms.core.timeutil import as_utc, now_utc
from lms.extensions import db
from lms.learning.models import ModuleCompletion
from lms.organisation.models import Enrolment
from lms.organisation.operations import organisation
from lms.stages import engine
from lms.stages.engine import evaluate, organisation_today, refresh, refresh_all
from lms.stages.models import ClockPause, Exemption, StagePromotion, WindowExtension
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
    proficient_submission,
    programme,
    right_answers,
    study,
    write_lesson,
)

DEMO = f"demonstration-proficient:{DEMONSTRATIONS['initial']}"
INITIAL_GATE = [
    f"module-completed:{FIRST_MODULE}",
    f"module-completed:{SECOND_MODULE}",
    f"assessment-passed:{FIRST_CHECK}",
    f"assessment-passed:{SECOND_CHECK}",
    DEMO,
]
# The modules of the gates after the first (integrated-marketing-systems.yaml).
PROFICIENCY_MODULES = ["automation-architecture", "cross-channel-orchestration"]
EXPERT_MODULES = ["measurement-attribution", "vendor-management-procurement"]


@pytest.fixture
def learner(app, ctx, users, curricula) -> int:
    return users["learner"]


def pass_assessment(user_id: int, slug: str) -> Attempt:
    """Start an attempt and submit the right answers, read from its snapshot."""
    attempt = start_attempt(user_id, assessment(slug))
    db.session.flush()
    outcome = submit_attempt(attempt, MultiDict(right_answers(attempt)))
    assert outcome.graded_now and outcome.attempt.passed
    db.session.commit()
    return outcome.attempt


def completed(user_id: int, *slugs: str, when: datetime | None = None) -> None:
    """Module completions inserted as rows (what completing every section leaves behind)."""
    for slug in slugs:
        db.session.add(
            ModuleCompletion(
                user_id=user_id, module_id=module(slug).id, completed_at=when or now_utc()
            )
        )
    db.session.flush()


def passed_attempt(user_id: int, slug: str) -> Attempt:
    """A graded, passing attempt inserted as a row."""
    attempt = Attempt(
        user_id=user_id,
        assessment_id=assessment(slug).id,
        number=1,
        seed=7,
        status="submitted",
        submitted_at=now_utc(),
        score=7,
        max_score=8,
        passed=True,
    )
    db.session.add(attempt)
    db.session.flush()
    return attempt


def exempted(enrolment: Enrolment, *requirements: str) -> None:
    for requirement in requirements:
        db.session.add(
            Exemption(
                enrolment_id=enrolment.id, requirement=requirement, reason="Certified elsewhere"
            )
        )
    db.session.flush()


def promotions(enrolment: Enrolment) -> list[StagePromotion]:
    return list(
        db.session.scalars(
            select(StagePromotion)
            .where(StagePromotion.enrolment_id == enrolment.id)
            .order_by(StagePromotion.id)
        )
    )


# --- Starting and promoting ------------------------------------------------------------------


def test_an_enrolment_starts_in_initial_adoption_with_its_gate(learner: int) -> None:
    enrolment = enrol(learner, organisation_today() - timedelta(days=3))
    assert refresh([enrolment]) == []
    assert enrolment.stage_id == "initial"
    assert enrolment.stage_status == "on-track"
    assert (enrolment.gate_met, enrolment.gate_total) == (0, 5)
    assert enrolment.status_refreshed_at is not None
    state = evaluate([enrolment])[enrolment.id]
    assert state.stage.name == "Initial Adoption"
    assert state.next_stage.id == "proficiency"
    assert state.day == 3
    assert state.window_end_day == 30
    assert [r.key for r in state.remaining] == INITIAL_GATE
    assert not state.can_be_promoted


def test_completing_the_gate_promotes_with_evidence_and_day(learner: int) -> None:
    enrolment = enrol(learner, organisation_today() - timedelta(days=12))
    refresh([enrolment])
    db.session.commit()

    demonstrated = proficient_submission(learner, DEMONSTRATIONS["initial"])
    # Sections done first: each module completes when its knowledge check is passed.
    assert not study(learner, FIRST_MODULE)
    assert not study(learner, SECOND_MODULE)
    first = pass_assessment(learner, FIRST_CHECK)
    db.session.refresh(enrolment)
    # Three of five met (the demonstration, the first module and its check): not yet promoted,
    # but the stored progress follows each graded event.
    assert enrolment.stage_id == "initial"
    assert (enrolment.gate_met, enrolment.gate_total) == (3, 5)
    assert promotions(enrolment) == []

    second = pass_assessment(learner, SECOND_CHECK)
    db.session.refresh(enrolment)
    assert enrolment.stage_id == "proficiency"
    assert (enrolment.gate_met, enrolment.gate_total) == (0, 3)
    [promotion] = promotions(enrolment)
    assert (promotion.from_stage_id, promotion.to_stage_id) == ("initial", "proficiency")
    assert promotion.on_day == 12
    evidence = {item["requirement"]: item for item in promotion.evidence}
    assert list(evidence) == INITIAL_GATE
    assert not any(item["exempt"] for item in promotion.evidence)
    completions = {
        row.module_id: row.completed_at
        for row in db.session.scalars(
            select(ModuleCompletion).where(ModuleCompletion.user_id == learner)
        )
    }
    for slug in (FIRST_MODULE, SECOND_MODULE):
        proof = evidence[f"module-completed:{slug}"]["evidence"]
        assert proof["module"] == slug
        assert as_utc(datetime.fromisoformat(proof["completed_at"])) == as_utc(
            completions[module(slug).id]
        )
    for slug, attempt in ((FIRST_CHECK, first), (SECOND_CHECK, second)):
        proof = evidence[f"assessment-passed:{slug}"]["evidence"]
        assert proof["attempt"] == attempt.id
        assert proof["score"] == 1.0
        assert proof["submitted_at"] is not None
    assert evidence[DEMO]["evidence"]["submission"] == demonstrated.id
    assert "Strategic alignment decisions" in evidence[f"assessment-passed:{FIRST_CHECK}"]["label"]
    audit = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "enrolment.promoted")
    ).one()
    assert audit.target_id == str(enrolment.id)
    assert audit.details == {"from_stage": "initial", "to_stage": "proficiency", "day": 12}


def test_a_failed_attempt_is_no_evidence(learner: int) -> None:
    enrolment = enrol(learner, organisation_today())
    completed(learner, FIRST_MODULE, SECOND_MODULE)
    exempted(enrolment, f"assessment-passed:{SECOND_CHECK}", DEMO)
    attempt = start_attempt(learner, assessment(FIRST_CHECK))
    db.session.flush()
    assert not submit_attempt(attempt, MultiDict()).attempt.passed
    assert enrolment.stage_id == "initial"
    assert (enrolment.gate_met, enrolment.gate_total) == (4, 5)
    assert promotions(enrolment) == []


def test_gates_met_for_several_stages_promote_through_them_in_one_refresh(learner: int) -> None:
    enrolment = enrol(learner, organisation_today() - timedelta(days=20))
    # Innovation's gate names change-management-scaling: written too, so nothing waits.
    write_lesson(*PROFICIENCY_MODULES, *EXPERT_MODULES, "change-management-scaling")
    completed(learner, FIRST_MODULE, SECOND_MODULE, *PROFICIENCY_MODULES, *EXPERT_MODULES)
    passed_attempt(learner, FIRST_CHECK)
    passed_attempt(learner, SECOND_CHECK)
    for stage in ("initial", "proficiency", "expert"):
        proficient_submission(learner, DEMONSTRATIONS[stage])

    made = refresh([enrolment])
    assert [(p.from_stage_id, p.to_stage_id) for p in made] == [
        ("initial", "proficiency"),
        ("proficiency", "expert"),
        ("expert", "innovation"),
    ]
    assert {p.on_day for p in made} == {20}
    assert enrolment.stage_id == "innovation"
    # Innovation is open-ended: today's completions make the learner active in it.
    assert enrolment.stage_status == "active"
    assert (enrolment.gate_met, enrolment.gate_total) == (0, 2)
    assert [item["requirement"] for item in made[1].evidence] == [
        f"module-completed:{slug}" for slug in PROFICIENCY_MODULES
    ] + [f"demonstration-proficient:{DEMONSTRATIONS['proficiency']}"]
    # Running it again changes nothing.
    assert refresh([enrolment]) == []
    assert len(promotions(enrolment)) == 3


def test_exemptions_count_as_met_and_are_recorded_in_the_evidence(learner: int) -> None:
    enrolment = enrol(learner, organisation_today() - timedelta(days=5))
    completed(learner, FIRST_MODULE, SECOND_MODULE)
    exempted(enrolment, f"assessment-passed:{FIRST_CHECK}")
    assert refresh([enrolment]) == []
    assert (enrolment.gate_met, enrolment.stage_id) == (3, "initial")

    exempted(enrolment, f"assessment-passed:{SECOND_CHECK}", DEMO)
    [promotion] = refresh([enrolment])
    assert enrolment.stage_id == "proficiency"
    evidence = {item["requirement"]: item for item in promotion.evidence}
    for slug in (FIRST_CHECK, SECOND_CHECK):
        assert evidence[f"assessment-passed:{slug}"]["exempt"] is True
        assert evidence[f"assessment-passed:{slug}"]["evidence"] is None
    assert evidence[f"module-completed:{FIRST_MODULE}"]["exempt"] is False
    assert evidence[f"module-completed:{FIRST_MODULE}"]["evidence"]["module"] == FIRST_MODULE


def test_an_exemption_for_one_learner_does_not_help_another(learner: int, users) -> None:
    mine = enrol(learner, organisation_today())
    theirs = enrol(users["learner2"], organisation_today())
    exempted(mine, *INITIAL_GATE)
    refresh([mine, theirs])
    assert (mine.stage_id, theirs.stage_id) == ("proficiency", "initial")
    assert theirs.gate_met == 0


def test_withdrawn_enrolments_are_not_refreshed(learner: int, app) -> None:
    enrolment = enrol(learner, organisation_today() - timedelta(days=40), status="withdrawn")
    completed(learner, FIRST_MODULE, SECOND_MODULE)
    exempted(enrolment, f"assessment-passed:{FIRST_CHECK}", f"assessment-passed:{SECOND_CHECK}")
    db.session.commit()

    assert refresh([enrolment]) == []
    assert engine.after_graded_event(learner, programme().id) == []
    assert refresh_all() == (0, 0)
    db.session.refresh(enrolment)
    assert enrolment.stage_id == "initial"
    assert enrolment.stage_status is None
    assert enrolment.status_refreshed_at is None
    assert promotions(enrolment) == []


# --- The clock: pauses and extensions ----------------------------------------------------------


def test_pauses_stop_the_clock(learner: int) -> None:
    enrolment = enrol(learner, date(2025, 1, 1))
    today = date(2025, 2, 10)  # day 40: overdue in a 30-day window
    assert evaluate([enrolment], today)[enrolment.id].day == 40
    refresh([enrolment], today)
    assert enrolment.stage_status == "overdue"

    # Ten days of leave in January: day 30, the window's last day, so no longer overdue.
    db.session.add(
        ClockPause(
            enrolment_id=enrolment.id,
            paused_on=date(2025, 1, 10),
            resumed_on=date(2025, 1, 20),
            reason="Annual leave",
        )
    )
    db.session.flush()
    state = evaluate([enrolment], today)[enrolment.id]
    assert (state.day, state.status, state.paused) == (30, "at-risk", False)
    refresh([enrolment], today)
    assert enrolment.stage_status == "at-risk"

    # On leave again since 5 February and not back: the clock stands at day 25.
    db.session.add(
        ClockPause(enrolment_id=enrolment.id, paused_on=date(2025, 2, 5), reason="Parental leave")
    )
    db.session.flush()
    state = evaluate([enrolment], today)[enrolment.id]
    assert (state.day, state.paused) == (25, True)
    assert evaluate([enrolment], date(2025, 3, 10))[enrolment.id].day == 25


def test_extensions_turn_overdue_into_on_track(learner: int) -> None:
    enrolment = enrol(learner, date(2025, 1, 1))
    today = date(2025, 2, 5)  # day 35
    refresh([enrolment], today)
    assert enrolment.stage_status == "overdue"

    # An extension of another stage's window does not move this one.
    db.session.add(
        WindowExtension(
            enrolment_id=enrolment.id, stage_id="proficiency", days=30, reason="Later on"
        )
    )
    db.session.flush()
    refresh([enrolment], today)
    assert enrolment.stage_status == "overdue"

    # Two extensions of the initial window add up: 30 + 14 + 16 = day 60; 35 of 60 is 58%.
    for days in (14, 16):
        db.session.add(
            WindowExtension(
                enrolment_id=enrolment.id, stage_id="initial", days=days, reason="Role change"
            )
        )
    db.session.flush()
    refresh([enrolment], today)
    assert enrolment.stage_status == "on-track"
    state = evaluate([enrolment], today)[enrolment.id]
    assert (state.day, state.window_end_day) == (35, 60)


# --- Refreshing everyone -----------------------------------------------------------------------


def test_flask_stages_refresh_updates_every_stored_status(app, learner: int, users) -> None:
    today = organisation_today()
    others = [
        User(email=f"learner{n}@example.com", name=f"Learner {n}", active=True) for n in range(3)
    ]
    db.session.add_all(others)
    db.session.flush()
    fresh = enrol(learner, today - timedelta(days=5))  # day 5 of 30
    late = enrol(others[0].id, today - timedelta(days=25))  # 83% gone, nothing met
    overdue = enrol(others[1].id, today - timedelta(days=40))
    ready = enrol(others[2].id, today - timedelta(days=10))
    exempted(ready, *INITIAL_GATE)
    write_lesson(*PROFICIENCY_MODULES)  # so Proficiency's gate can be met: nothing waits
    left = enrol(users["learner2"], today - timedelta(days=40), status="withdrawn")
    db.session.commit()
    ids = {name: e.id for name, e in locals().items() if isinstance(e, Enrolment)}

    result = app.test_cli_runner().invoke(args=["stages", "refresh"])
    assert result.exit_code == 0, result.output
    assert "4 active enrolment(s) refreshed, 1 promotion(s)." in result.output

    db.session.expire_all()
    stored = {name: db.session.get(Enrolment, i) for name, i in ids.items()}
    assert stored["fresh"].stage_status == "on-track"
    assert stored["late"].stage_status == "at-risk"
    assert stored["overdue"].stage_status == "overdue"
    assert (stored["ready"].stage_id, stored["ready"].stage_status) == ("proficiency", "on-track")
    assert all(stored[n].gate_total == 5 for n in ("fresh", "late", "overdue"))
    assert all(stored[n].status_refreshed_at is not None for n in ("fresh", "late", "ready"))
    assert stored["left"].stage_status is None
    assert stored["left"].status_refreshed_at is None


# --- Time zones --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "local_day", "clock"),
    [
        # 23:30 UTC on 10 March 2025 is 12:30 on 11 March in Auckland (UTC+13)...
        ("Pacific/Auckland", date(2025, 3, 11), 10),
        # ... and 16:30 on 10 March in Los Angeles (UTC-7 since 9 March).
        ("America/Los_Angeles", date(2025, 3, 10), 9),
        ("UTC", date(2025, 3, 10), 9),
    ],
)
def test_the_day_follows_the_organisation_time_zone(
    learner: int, monkeypatch, zone: str, local_day: date, clock: int
) -> None:
    monkeypatch.setattr(engine, "now_utc", lambda: datetime(2025, 3, 10, 23, 30, tzinfo=UTC))
    organisation().time_zone = zone
    enrolment = enrol(learner, date(2025, 3, 1))
    assert organisation_today() == local_day
    assert evaluate([enrolment])[enrolment.id].day == clock
    exempted(enrolment, *INITIAL_GATE)
    [promotion] = refresh([enrolment])
    assert promotion.on_day == clock


def test_auckland_is_a_day_ahead_just_after_midnight_utc_too(learner: int, monkeypatch) -> None:
    monkeypatch.setattr(engine, "now_utc", lambda: datetime(2025, 3, 11, 0, 30, tzinfo=UTC))
    enrolment = enrol(learner, date(2025, 3, 1))
    days = {}
    for zone in ("Pacific/Auckland", "America/Los_Angeles"):
        organisation().time_zone = zone
        days[zone] = evaluate([enrolment])[enrolment.id].day
    # 13:30 on 11 March in Auckland (day 10); 17:30 on 10 March in Los Angeles (day 9).
    assert days == {"Pacific/Auckland": 10, "America/Los_Angeles": 9}


# --- Queries -----------------------------------------------------------------------------------


def test_evaluate_runs_as_many_queries_for_50_enrolments_as_for_5(
    learner: int, count_queries
) -> None:
    organisation()  # created once, before counting
    learners = [
        User(email=f"many{n}@example.com", name=f"Many {n}", active=True) for n in range(50)
    ]
    db.session.add_all(learners)
    db.session.flush()
    cohort = make_cohort("Large cohort", date(2025, 1, 6))
    cohort.programmes = [programme(), programme("measurement-finance-sales")]
    for n, person in enumerate(learners):
        slug = "integrated-marketing-systems" if n % 2 == 0 else "measurement-finance-sales"
        enrolment = enrol(person.id, date(2025, 1, 6) + timedelta(days=n), slug, cohort=cohort)
        # Some history for everyone in the first five and beyond: completions, attempts,
        # pauses, extensions and exemptions.
        if n % 2 == 0 and n % 3 == 0:
            completed(person.id, FIRST_MODULE)
        if n % 4 == 0:
            passed_attempt(person.id, FIRST_CHECK)
        if n % 5 == 1:
            db.session.add(
                ClockPause(enrolment_id=enrolment.id, paused_on=date(2025, 2, 1), reason="Leave")
            )
        if n % 7 == 2:
            db.session.add(
                WindowExtension(
                    enrolment_id=enrolment.id, stage_id="initial", days=7, reason="Late start"
                )
            )
        if n % 6 == 4:
            exempted(enrolment, f"module-completed:{SECOND_MODULE}")
    db.session.commit()

    def measure(count: int) -> tuple[int, int]:
        db.session.expunge_all()  # nothing left in the session from the last run
        chosen = list(db.session.scalars(select(Enrolment).order_by(Enrolment.id).limit(count)))
        with count_queries() as statements:
            states = evaluate(chosen, date(2025, 3, 1))
        assert len(states) == count
        return len(statements), sum(state.gate_met for state in states.values())

    few, few_met = measure(5)
    many, many_met = measure(50)
    assert few == many
    # stages, content (3 kinds, with sections and questions), gates, facts per requirement
    # kind, history (pauses, holds, promotions, extensions, exemptions, activity)
    assert many <= 20
    assert 0 < few_met < many_met  # the history was there to be found
