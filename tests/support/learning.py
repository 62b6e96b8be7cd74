"""Helpers for tests of the learner's side: enrolments made by hand, content looked up by slug,
and the right answers to an attempt read from its snapshot (as a browser would post them)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from lms.accounts.models import User
from lms.assessments.models import Assessment, Attempt
from lms.core.timeutil import now_utc
from lms.curricula.models import LessonSection, Module, Programme
from lms.demonstrations.models import DemonstrationTask, Submission
from lms.extensions import db
from lms.organisation.models import Cohort, Enrolment

PROGRAMME = "integrated-marketing-systems"
FIRST_MODULE = "strategic-alignment"
SECOND_MODULE = "data-governance-compliance"
FIRST_CHECK = "strategic-alignment-check"
SECOND_CHECK = "data-governance-compliance-check"
#: The practical demonstration of each gate of integrated-marketing-systems.yaml.
DEMONSTRATIONS = {
    "initial": "stack-journey-governance-audit",
    "proficiency": "resilient-nurture-orchestration",
    "expert": "attribution-finance-reconciliation",
    "innovation": "campaign-deployment-sop",
}


def programme(slug: str = PROGRAMME) -> Programme:
    return db.session.scalars(select(Programme).where(Programme.slug == slug)).one()


def module(slug: str, programme_slug: str = PROGRAMME) -> Module:
    return db.session.scalars(
        select(Module).join(Programme).where(Programme.slug == programme_slug, Module.slug == slug)
    ).one()


def assessment(slug: str, programme_slug: str = PROGRAMME) -> Assessment:
    return db.session.scalars(
        select(Assessment)
        .join(Programme)
        .where(Programme.slug == programme_slug, Assessment.slug == slug)
    ).one()


def task(slug: str, programme_slug: str = PROGRAMME) -> DemonstrationTask:
    return db.session.scalars(
        select(DemonstrationTask)
        .join(Programme, Programme.id == DemonstrationTask.programme_id)
        .where(Programme.slug == programme_slug, DemonstrationTask.slug == slug)
    ).one()


def proficient_submission(
    user_id: int, slug: str, programme_slug: str = PROGRAMME, when: datetime | None = None
) -> Submission:
    """A submission graded proficient, inserted as a row (what grading leaves behind)."""
    moment = when or now_utc()
    submission = Submission(
        user_id=user_id,
        task_id=task(slug, programme_slug).id,
        number=1,
        status="proficient",
        answers={},
        submitted_at=moment,
        graded_at=moment,
    )
    db.session.add(submission)
    db.session.flush()
    return submission


def make_cohort(name: str, start_date: date, manager_id: int | None = None) -> Cohort:
    """A cohort (no programmes yet), managed by `manager_id` or by a manager made for it."""
    if manager_id is None:
        manager = db.session.scalar(select(User).where(User.email == "cohort.manager@example.com"))
        if manager is None:
            manager = User(email="cohort.manager@example.com", name="Cohort Manager", active=True)
            db.session.add(manager)
            db.session.flush()
        manager_id = manager.id
    cohort = Cohort(name=name, start_date=start_date, manager_id=manager_id)
    db.session.add(cohort)
    db.session.flush()
    return cohort


def enrol(
    user_id: int,
    start_date: date,
    programme_slug: str = PROGRAMME,
    *,
    status: str = "active",
    cohort: Cohort | None = None,
) -> Enrolment:
    """The learner's enrolment, in `cohort` or in a new cohort of one. Flushed, not committed;
    the stage engine has not run."""
    taken = programme(programme_slug)
    if cohort is None:
        cohort = make_cohort(f"Cohort of learner {user_id} in {programme_slug}", start_date)
        cohort.programmes = [taken]
        db.session.flush()
    enrolment = Enrolment(
        user_id=user_id,
        programme_id=taken.id,
        cohort_id=cohort.id,
        start_date=start_date,
        status=status,
        stage_id="initial",
    )
    db.session.add(enrolment)
    db.session.flush()
    return enrolment


def answer_fields(snapshot: dict[str, Any], position: int) -> dict[str, Any]:
    """The form fields that answer one question right, named as the attempt page names them."""
    name = f"q{position}"
    key = snapshot["key"]
    kind = snapshot["type"]
    if kind in ("single-choice", "scenario"):
        return {name: key}
    if kind == "multiple-response":
        return {name: list(key)}
    if kind == "numeric":
        return {name: f"{key['answer']:g}"}
    if kind == "ordering":
        return {f"{name}-{item}": str(place) for place, item in enumerate(key, start=1)}
    if kind == "matching":
        return {f"{name}-{left}": right for left, right in key.items()}
    raise AssertionError(f"no answer recipe for question type {kind}")


def right_answers(attempt: Attempt, positions: set[int] | None = None) -> dict[str, Any]:
    """Right answers to every question of the attempt (or those at `positions` only)."""
    fields: dict[str, Any] = {}
    for item in attempt.items:
        if positions is None or item.position in positions:
            fields.update(answer_fields(item.snapshot, item.position))
    return fields


def write_lesson(*slugs: str, programme_slug: str = PROGRAMME) -> None:
    """Give modules in preparation a one-section lesson, as if its author had just loaded it
    (most modules of the real curricula have no lesson yet, so nothing can complete them)."""
    for slug in slugs:
        found = module(slug, programme_slug)
        if not any(s.retired_at is None for s in found.sections):
            db.session.add(
                LessonSection(
                    module_id=found.id,
                    slug=f"{slug}-lesson",
                    position=1,
                    title=f"{found.title}: the lesson",
                    body="What to decide, the options, and a worked example.",
                )
            )
    db.session.flush()
    db.session.expire_all()


def study(user_id: int, slug: str, programme_slug: str = PROGRAMME) -> bool:
    """Mark every live section of a module done, as the learner would; True when that completed
    the module (its knowledge check, if any, already passed)."""
    from lms.learning.operations import live_sections, mark_section_done

    became = False
    for section in live_sections(module(slug, programme_slug)):
        became = mark_section_done(user_id, section) or became
    db.session.flush()
    return became
