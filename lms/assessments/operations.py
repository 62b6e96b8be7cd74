"""Attempts: start (or resume), save answers, submit and grade, all on the server.

- An attempt's questions are drawn (stratified, so every objective is tested: see `draw`) and
  shuffled by a random generator seeded per attempt, and stored as snapshots at the start: a
  resumed attempt shows exactly the same, and later edits of the curriculum never change it.
- The time limit (plus any extra time a manager granted) is enforced here: answers arriving
  after the deadline are not accepted; the answers saved before it are graded.
- Submitting is a conditional update of the attempt's status: of two concurrent submits exactly
  one grades, the other finds the attempt already submitted.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pandas as pd
from pydantic import TypeAdapter
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from lms.assessments.draw import draw_questions
from lms.assessments.events import attempt_passed
from lms.assessments.models import Assessment, Attempt, AttemptItem, ExtraTime, Question
from lms.assessments.questions import QuestionSpec, question_type
from lms.assessments.statistics import ScoreChange, score_change
from lms.core.timeutil import as_utc, now_utc
from lms.extensions import db
from lms.stages.engine import after_graded_event

#: Slack for the network between a click just before the deadline and the server receiving it.
GRACE = timedelta(seconds=30)
_SPEC = TypeAdapter(QuestionSpec)


class AttemptRefused(Exception):
    """Why an attempt cannot be started or changed, in words for the learner."""


@dataclass(frozen=True)
class AttemptSummary:
    submitted: int
    allowed: int | None
    passed: bool
    in_progress: Attempt | None
    best: float | None

    @property
    def remaining(self) -> int | None:
        return None if self.allowed is None else max(0, self.allowed - self.submitted)

    @property
    def can_start(self) -> bool:
        return not self.passed and (self.remaining is None or self.remaining > 0)


def summary(user_id: int, assessment: Assessment) -> AttemptSummary:
    attempts = list(
        db.session.scalars(
            select(Attempt).where(
                Attempt.user_id == user_id, Attempt.assessment_id == assessment.id
            )
        )
    )
    graded = [a for a in attempts if a.status != "in-progress"]
    return AttemptSummary(
        submitted=len(graded),
        allowed=assessment.attempts_allowed,
        passed=any(a.passed for a in graded),
        in_progress=next((a for a in attempts if a.status == "in-progress"), None),
        best=max((a.percent for a in graded if a.percent is not None), default=None),
    )


def _live_questions(assessment: Assessment) -> list[Question]:
    return [q for q in assessment.questions if q.retired_at is None and q.versions]


def _extra_minutes(user_id: int, assessment: Assessment) -> int:
    return db.session.scalar(
        select(func.coalesce(func.sum(ExtraTime.minutes), 0)).where(
            ExtraTime.user_id == user_id, ExtraTime.assessment_id == assessment.id
        )
    )


def start_attempt(user_id: int, assessment: Assessment) -> Attempt:
    """The learner's attempt in progress, or a new one. The caller commits."""
    state = summary(user_id, assessment)
    if state.in_progress is not None:
        return state.in_progress
    if state.passed:
        raise AttemptRefused("You have passed this assessment already.")
    if not state.can_start:
        raise AttemptRefused("You have used every attempt this assessment allows.")
    questions = _live_questions(assessment)
    if not questions:
        raise AttemptRefused("This assessment has no questions yet.")
    seed = secrets.randbits(31)
    rng = random.Random(seed)
    tags = [question.versions[-1].spec.get("objectives", []) for question in questions]
    drawn = draw_questions(questions, tags, assessment.draw or len(questions), rng)
    started = now_utc()
    deadline = None
    if assessment.time_limit_minutes:
        minutes = assessment.time_limit_minutes + _extra_minutes(user_id, assessment)
        deadline = started + timedelta(minutes=minutes)
    number = 1 + (
        db.session.scalar(
            select(func.max(Attempt.number)).where(
                Attempt.user_id == user_id, Attempt.assessment_id == assessment.id
            )
        )
        or 0
    )
    attempt = Attempt(
        user_id=user_id,
        assessment_id=assessment.id,
        number=number,
        seed=seed,
        started_at=started,
        deadline_at=deadline,
    )
    for position, question in enumerate(drawn, start=1):
        version = question.versions[-1]
        spec = _SPEC.validate_python(version.spec)
        attempt.items.append(
            AttemptItem(
                position=position,
                question_version_id=version.id,
                snapshot=question_type(version.type).present(spec, rng),
            )
        )
    try:
        with db.session.begin_nested():
            db.session.add(attempt)
    except IntegrityError:
        # Another request started one at the same moment: the database let only one through.
        existing = summary(user_id, assessment).in_progress
        if existing is None:
            raise
        return existing
    return attempt


def is_open(attempt: Attempt) -> bool:
    if attempt.status != "in-progress":
        return False
    return attempt.deadline_at is None or now_utc() <= as_utc(attempt.deadline_at) + GRACE


def _read_answers(attempt: Attempt, form: Any) -> None:
    for item in attempt.items:
        kind = question_type(item.snapshot["type"])
        item.answer = kind.parse(item.snapshot, form, f"q{item.position}")


def save_answers(attempt: Attempt, form: Any) -> None:
    """Keep the answers given so far (for a closed tab, or a later submit). The caller commits."""
    if not is_open(attempt):
        raise AttemptRefused("The time for this attempt is over; it will be graded as saved.")
    _read_answers(attempt, form)


@dataclass(frozen=True)
class SubmitResult:
    attempt: Attempt
    graded_now: bool
    late: bool
    #: What the pass led to elsewhere, for the learner ("Module completed: ...").
    notes: tuple[str, ...] = ()


def submit_attempt(attempt: Attempt, form: Any) -> SubmitResult:
    """Grade the attempt once. The caller commits."""
    late = not is_open(attempt) and attempt.status == "in-progress"
    final = "expired" if late else "submitted"
    claimed = db.session.execute(
        update(Attempt)
        .where(Attempt.id == attempt.id, Attempt.status == "in-progress")
        .values(status=final, submitted_at=now_utc())
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        db.session.refresh(attempt)
        return SubmitResult(attempt, graded_now=False, late=False)
    db.session.refresh(attempt)
    if not late:
        _read_answers(attempt, form)
    grade(attempt)
    db.session.flush()
    # Listeners first (a pass may complete a module), then the engine once, seeing it all.
    notes = tuple(attempt_passed(attempt)) if attempt.passed else ()
    after_graded_event(attempt.user_id, attempt.assessment.programme_id)
    return SubmitResult(attempt, graded_now=True, late=late, notes=notes)


def grade(attempt: Attempt) -> None:
    score = 0.0
    total = 0.0
    for item in attempt.items:
        kind = question_type(item.snapshot["type"])
        item.credit = kind.score(item.snapshot, item.answer)
        points = float(item.snapshot.get("points", 1))
        score += item.credit * points
        total += points
    attempt.score = round(score, 4)
    attempt.max_score = total
    # A hair of slack so 8 of 10 at a pass mark of 0.8 always passes despite float rounding.
    attempt.passed = total > 0 and score / total >= attempt.assessment.pass_mark - 1e-9


def feedback_visible(attempt: Attempt, state: AttemptSummary) -> bool:
    """Answers and explanations: after each attempt, only once no attempts remain, or never
    (pre- and post-assessments: their keys would teach the parallel form's answers)."""
    if attempt.status == "in-progress" or attempt.assessment.feedback == "never":
        return False
    if attempt.assessment.feedback == "after-each-attempt":
        return True
    return state.passed or state.remaining == 0


def grant_extra_time(
    user_id: int, assessment: Assessment, minutes: int, reason: str, granted_by_id: int | None
) -> ExtraTime:
    """Set a learner's extra minutes for an assessment (replacing an earlier grant)."""
    grant = db.session.scalar(
        select(ExtraTime).where(
            ExtraTime.user_id == user_id, ExtraTime.assessment_id == assessment.id
        )
    )
    if grant is None:
        grant = ExtraTime(user_id=user_id, assessment_id=assessment.id, minutes=0, reason="")
        db.session.add(grant)
    grant.minutes = minutes
    grant.reason = reason
    grant.granted_by_id = granted_by_id
    # An attempt already running gets the new deadline too.
    running = summary(user_id, assessment).in_progress
    if running is not None and assessment.time_limit_minutes:
        running.deadline_at = as_utc(running.started_at) + timedelta(
            minutes=assessment.time_limit_minutes + minutes
        )
    return grant


def change_since_pre(attempt: Attempt) -> ScoreChange | None:
    """For a graded post-assessment attempt: its score and scenario score against the learner's
    best pre-assessment attempt of the same programme (pre None if they never took it)."""
    if attempt.assessment.purpose != "post" or attempt.status == "in-progress":
        return None
    pre_attempts = db.session.scalars(
        select(Attempt)
        .join(Assessment, Assessment.id == Attempt.assessment_id)
        .where(
            Attempt.user_id == attempt.user_id,
            Attempt.status != "in-progress",
            Assessment.programme_id == attempt.assessment.programme_id,
            Assessment.purpose == "pre",
            Assessment.retired_at.is_(None),
        )
        .options(selectinload(Attempt.items))
    ).all()
    rows = [
        {
            "purpose": purpose,
            "attempt": graded.id,
            "type": item.snapshot.get("type"),
            "credit": float(item.credit or 0),
            "points": float(item.snapshot.get("points", 1)),
        }
        for purpose, graded in [("post", attempt)] + [("pre", pre) for pre in pre_attempts]
        for item in graded.items
    ]
    columns = ["purpose", "attempt", "type", "credit", "points"]
    return score_change(pd.DataFrame.from_records(rows, columns=columns))
