"""Curriculum 000 taught in full: every module has a lesson and a tagged knowledge check, and a
learner goes from Initial Adoption to Strategic Partnership on content alone (sections read,
checks passed, demonstrations graded), then completes the programme."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from lms.assessments import operations as attempts
from lms.certificates.models import Certificate
from lms.curricula.models import Programme
from lms.extensions import db
from lms.learning.operations import mark_section_done
from lms.organisation.models import Enrolment
from lms.stages.engine import organisation_today, refresh
from tests.support.learning import DEMONSTRATIONS, enrol, proficient_submission, right_answers

PROGRAMME = "integrated-marketing-systems"


def test_every_module_of_000_is_taught(app: Flask, curricula) -> None:
    with app.app_context():
        programme = db.session.scalar(select(Programme).where(Programme.slug == PROGRAMME))
        for module in programme.modules:
            live = [s for s in module.sections if s.retired_at is None]
            objectives = {o.slug for o in module.objectives if o.retired_at is None}
            assert len(objectives) == 6, module.slug
            assert {o for s in live for o in s.objectives} == objectives, module.slug
            assert module.estimated_minutes, module.slug


def test_a_learner_reaches_partnership_on_content_alone(app: Flask, users, curricula) -> None:
    with app.app_context():
        learner = users["learner"]
        enrolment = enrol(learner, organisation_today())
        programme = enrolment.programme
        for module in programme.modules:
            for section in module.sections:
                if section.retired_at is None:
                    mark_section_done(learner, section)
            check = next(
                a
                for a in db.session.scalars(
                    select(attempts.Assessment).where(
                        attempts.Assessment.module_id == module.id,
                        attempts.Assessment.purpose == "module",
                    )
                )
            )
            attempt = attempts.start_attempt(learner, check)
            result = attempts.submit_attempt(attempt, MultiDict(right_answers(attempt)))
            assert result.attempt.passed, module.slug
        for slug in DEMONSTRATIONS.values():
            proficient_submission(learner, slug)
        refresh([enrolment])
        db.session.commit()
        enrolment = db.session.get(Enrolment, enrolment.id)
        assert enrolment.stage_id == "partnership"
        stages = {
            c.stage_id
            for c in db.session.scalars(
                select(Certificate).where(Certificate.enrolment_id == enrolment.id)
            )
        }
        assert {"initial", "proficiency", "expert", "innovation"} <= stages
        # Partnership's module is taught too: with its demonstration, the programme completes.
        proficient_submission(learner, "continuity-drill-review")
        refresh([enrolment])
        db.session.commit()
        assert db.session.scalar(
            select(Certificate).where(
                Certificate.enrolment_id == enrolment.id, Certificate.stage_id == "partnership"
            )
        )
