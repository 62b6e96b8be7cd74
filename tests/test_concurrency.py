"""Two requests at the same moment, on PostgreSQL: a double submit grades once and promotes at
most once; two starts make one attempt in progress.

Each thread has its own app context, so its own session and connection, and a barrier releases
them together.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import MultiDict

from lms.assessments import operations
from lms.assessments.models import Attempt
from lms.extensions import db
from lms.learning.models import ModuleCompletion
from lms.organisation.models import Enrolment
from lms.stages.engine import organisation_today, refresh
from lms.stages.models import Exemption, StagePromotion
from tests.conftest import database_kind
from tests.support.learning import (
    DEMONSTRATIONS,
    FIRST_CHECK,
    FIRST_MODULE,
    SECOND_CHECK,
    SECOND_MODULE,
    assessment,
    enrol,
    module,
    proficient_submission,
    right_answers,
    task,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        database_kind() != "postgresql",
        reason="SQLite lets one writer in at a time, so requests cannot race; "
        "run with LMS_TEST_DATABASE=postgresql",
    ),
]


def together(app: Flask, work: Callable[[], Any], threads: int = 2) -> list[Any]:
    """Run `work` in `threads` threads, each in its own app context, released at once by a
    barrier. Returns what each returned; re-raises the first error."""
    barrier = threading.Barrier(threads, timeout=30)
    results: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        with app.app_context():
            try:
                barrier.wait()
                results.append(work())
                db.session.commit()
            except BaseException as error:  # noqa: BLE001 (handed to the test below)
                db.session.rollback()
                errors.append(error)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert not any(worker.is_alive() for worker in workers), "a thread is stuck"
    if errors:
        raise errors[0]
    return results


def test_two_simultaneous_submits_grade_once_and_promote_once(app: Flask, users, curricula) -> None:
    learner = users["learner"]
    with app.app_context():
        enrolment = enrol(learner, organisation_today() - timedelta(days=10))
        # Everything else of the gate is met: this submit is the one that promotes.
        for slug in (FIRST_MODULE, SECOND_MODULE):
            db.session.add(ModuleCompletion(user_id=learner, module_id=module(slug).id))
        db.session.add(
            Exemption(
                enrolment_id=enrolment.id,
                requirement=f"assessment-passed:{SECOND_CHECK}",
                reason="Certified elsewhere",
            )
        )
        proficient_submission(learner, DEMONSTRATIONS["initial"])
        refresh([enrolment])
        attempt = operations.start_attempt(learner, assessment(FIRST_CHECK))
        db.session.commit()
        attempt_id, enrolment_id = attempt.id, enrolment.id
        answers = right_answers(attempt)
    assert enrolment_id

    def submit() -> tuple[bool, float | None]:
        mine = db.session.get(Attempt, attempt_id)
        outcome = operations.submit_attempt(mine, MultiDict(answers))
        return outcome.graded_now, outcome.attempt.score

    outcomes = together(app, submit)
    assert sorted(graded for graded, _ in outcomes) == [False, True]

    with app.app_context():
        row = db.session.get(Attempt, attempt_id)
        assert (row.status, row.score, row.max_score, row.passed) == ("submitted", 8, 8, True)
        assert all(item.credit == 1.0 for item in row.items)
        assert (
            db.session.scalar(select(func.count(Attempt.id)).where(Attempt.user_id == learner)) == 1
        )
        promotions = db.session.scalars(
            select(StagePromotion).where(StagePromotion.enrolment_id == enrolment_id)
        ).all()
        assert [(p.from_stage_id, p.to_stage_id) for p in promotions] == [
            ("initial", "proficiency")
        ]
        assert db.session.get(Enrolment, enrolment_id).stage_id == "proficiency"


def test_two_simultaneous_starts_make_one_attempt(
    app: Flask, users, curricula, monkeypatch
) -> None:
    learner = users["learner"]

    # Hold both requests after each has seen "no attempt in progress", so both try to insert.
    both_checked = threading.Barrier(2, timeout=30)
    live_questions = operations._live_questions

    def after_the_check(checked):
        both_checked.wait()
        return live_questions(checked)

    monkeypatch.setattr(operations, "_live_questions", after_the_check)

    def start() -> int:
        return operations.start_attempt(learner, assessment(FIRST_CHECK)).id

    first, second = together(app, start)
    assert first == second

    with app.app_context():
        attempts = db.session.scalars(select(Attempt).where(Attempt.user_id == learner)).all()
        assert [(a.id, a.status, a.number) for a in attempts] == [(first, "in-progress", 1)]
        assert len(attempts[0].items) == 8

        # It is the partial unique index that refuses a second attempt in progress, whatever
        # its number; a graded attempt beside the one in progress is allowed.
        second_in_progress = Attempt(
            user_id=learner, assessment_id=attempts[0].assessment_id, number=2, seed=1
        )
        with (
            pytest.raises(IntegrityError, match="uq_attempts_one_in_progress"),
            db.session.begin_nested(),
        ):
            db.session.add(second_in_progress)
        db.session.add(
            Attempt(
                user_id=learner,
                assessment_id=attempts[0].assessment_id,
                number=3,
                seed=1,
                status="submitted",
            )
        )
        db.session.flush()
        db.session.rollback()


def test_two_uploads_at_once_cannot_pass_the_quota_together(
    app: Flask, users, curricula, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    from lms.accounts.models import User
    from lms.demonstrations import operations as demonstrations
    from lms.demonstrations.models import EvidenceFile, Submission

    monkeypatch.setitem(app.config, "LMS_UPLOAD_DIR", str(tmp_path))
    monkeypatch.setitem(app.config, "LMS_EVIDENCE_QUOTA_BYTES", 1000)
    learner = users["learner"]
    with app.app_context():
        enrol(learner, organisation_today() - timedelta(days=10))
        demonstration = task(DEMONSTRATIONS["initial"])
        item = next(i["id"] for i in demonstration.evidence if i["kind"] == "file")
        draft = demonstrations.open_draft(db.session.get(User, learner), demonstration)
        db.session.commit()
        draft_id = draft.id

    def upload() -> bool:
        mine = db.session.get(Submission, draft_id)
        notes = demonstrations.Upload(item, "notes.txt", b"a line of notes\n" * 40)  # 640 bytes
        return demonstrations.save(mine, {}, [notes], []).ok

    # Writing the file takes a moment, so without the lock both requests would have checked
    # the quota before either stored its row.
    from lms.demonstrations import files

    store = files.store

    def slow_store(*args, **kwargs):
        time.sleep(0.3)
        return store(*args, **kwargs)

    monkeypatch.setattr(files, "store", slow_store)
    # Each alone fits the 1,000-byte quota; together they would not: one is refused.
    assert sorted(together(app, upload)) == [False, True]
    with app.app_context():
        sizes = db.session.scalars(select(EvidenceFile.size).where(EvidenceFile.user_id == learner))
        assert list(sizes) == [640]


def test_two_simultaneous_reports_of_a_section_make_one_open_report(
    app: Flask, users, curricula
) -> None:
    from lms.accounts.models import User
    from lms.feedback import operations as feedback
    from lms.feedback.models import ContentReport

    learner = users["learner"]
    with app.app_context():
        section_id = module(FIRST_MODULE).sections[0].id

    def report() -> str:
        from lms.curricula.models import LessonSection

        try:
            feedback.report_section(
                db.session.get(User, learner),
                db.session.get(LessonSection, section_id),
                "The worked example adds 40 and 25 to make 75.",
            )
        except feedback.ReportRefused as refusal:
            return str(refusal)
        return "reported"

    outcomes = together(app, report)
    assert sorted(outcomes) == [
        "You have already reported this; it is still open.",
        "reported",
    ]
    with app.app_context():
        assert db.session.scalar(select(func.count(ContentReport.id))) == 1
