"""Loading a programme's assessments from its file: matched by id, questions versioned.

A question whose content changed gets a new `QuestionVersion`; the old one stays, because past
attempts point at it. Questions and assessments that leave the file are retired, not deleted.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select

from lms.assessments.models import Assessment, Question, QuestionVersion
from lms.core.timeutil import now_utc
from lms.curricula import schema
from lms.extensions import db
from lms.figures import figure


def _hash(spec: Any) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def load_assessments(programme: Any, sources: list[tuple[Any, str, schema.Assessment]]) -> None:
    existing = {
        assessment.slug: assessment
        for assessment in db.session.scalars(
            select(Assessment).where(Assessment.programme_id == programme.id)
        )
    }
    for module, purpose, source in sources:
        assessment = existing.pop(source.id, None)
        if assessment is None:
            assessment = Assessment(slug=source.id, programme_id=programme.id)
            db.session.add(assessment)
        assessment.module_id = module.id if module is not None else None
        assessment.purpose = purpose
        assessment.title = source.title
        assessment.pass_mark = (
            source.pass_mark if source.pass_mark is not None else figure("assessment-pass-mark")
        )
        assessment.attempts_allowed = source.attempts_allowed
        assessment.time_limit_minutes = source.time_limit_minutes
        assessment.draw = source.draw
        assessment.feedback = source.feedback
        assessment.retired_at = None
        db.session.flush()
        _load_questions(assessment, source.questions)
    now = now_utc()
    for retired in existing.values():
        retired.retired_at = retired.retired_at or now


def _load_questions(assessment: Assessment, sources: list[Any]) -> None:
    existing = {question.slug: question for question in assessment.questions}
    now = now_utc()
    for position, source in enumerate(sources, start=1):
        question = existing.pop(source.id, None)
        if question is None:
            question = Question(slug=source.id, assessment=assessment)
            db.session.add(question)
        question.position = position
        question.retired_at = None
        spec = source.model_dump(mode="json")
        digest = _hash(spec)
        latest = question.versions[-1] if question.versions else None
        if latest is None or latest.content_hash != digest:
            db.session.add(
                QuestionVersion(
                    question=question,
                    number=(latest.number + 1) if latest else 1,
                    type=source.type,
                    content_hash=digest,
                    spec=spec,
                )
            )
    for retired in existing.values():
        retired.retired_at = retired.retired_at or now
