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


def load_assessments(
    programme: Any, sources: list[tuple[Any, str, schema.Assessment]]
) -> list[str]:
    """Create or update the programme's assessments; returns what changed, line by line."""
    changes: list[str] = []
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
        changes += _load_questions(assessment, source.questions, f"{programme.slug}/{source.id}")
    now = now_utc()
    for retired in existing.values():
        if retired.retired_at is None:
            changes.append(f"assessment {programme.slug}/{retired.slug}: retired")
        retired.retired_at = retired.retired_at or now
    return changes


def _load_questions(assessment: Assessment, sources: list[Any], where: str) -> list[str]:
    changes: list[str] = []
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
        # Defaults left out: a field added to the schema later does not make every question
        # a new version.
        digest = _hash(source.model_dump(mode="json", exclude_defaults=True))
        latest = question.versions[-1] if question.versions else None
        if latest is None or latest.content_hash != digest:
            number = (latest.number + 1) if latest else 1
            changes.append(
                f"question {where}/{source.id}: "
                + (f"new version {number}" if latest else "created")
            )
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
        if retired.retired_at is None:
            changes.append(f"question {where}/{retired.slug}: retired")
        retired.retired_at = retired.retired_at or now
    return changes
