"""Lesson progress: marking sections done and completing modules honestly.

A module is complete when every live section of its lesson is done and its knowledge check (its
live module assessment) is passed, in either order: marking the last section done completes it
when the check is passed, and passing the check completes it when the sections are done (the
assessments package tells us through `lms.assessments.events`). A module with a lesson and no
check completes on its sections. A module without a live section is "in preparation": nothing
completes it. Completing a module is a graded event: the stage engine runs for the learner's
enrolments in that programme.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from lms.assessments.events import on_attempt_passed
from lms.assessments.models import Assessment, Attempt
from lms.core.timeutil import now_utc
from lms.curricula.models import LessonSection, Module
from lms.curricula.readiness import is_ready
from lms.extensions import db
from lms.learning.credit import credit_sources, grant_credits
from lms.learning.models import ModuleCompletion, SectionProgress
from lms.stages.engine import after_graded_event


def live_sections(module: Module) -> list[LessonSection]:
    return [section for section in module.sections if section.retired_at is None]


def sections_done(user_id: int, module: Module) -> set[int]:
    ids = [section.id for section in live_sections(module)]
    if not ids:
        return set()
    return set(
        db.session.scalars(
            select(SectionProgress.section_id).where(
                SectionProgress.user_id == user_id, SectionProgress.section_id.in_(ids)
            )
        )
    )


def knowledge_check(module: Module) -> Assessment | None:
    """The module's live assessment (purpose "module"), if it has one."""
    return db.session.scalar(
        select(Assessment)
        .where(
            Assessment.module_id == module.id,
            Assessment.purpose == "module",
            Assessment.retired_at.is_(None),
        )
        .order_by(Assessment.id)
        .limit(1)
    )


def check_passed(user_id: int, assessment: Assessment) -> bool:
    return (
        db.session.scalar(
            select(Attempt.id)
            .where(
                Attempt.user_id == user_id,
                Attempt.assessment_id == assessment.id,
                Attempt.passed.is_(True),
            )
            .limit(1)
        )
        is not None
    )


def _completion(user_id: int, module: Module) -> ModuleCompletion | None:
    return db.session.scalar(
        select(ModuleCompletion).where(
            ModuleCompletion.user_id == user_id, ModuleCompletion.module_id == module.id
        )
    )


def is_completed(user_id: int, module: Module) -> bool:
    """Completed honestly: a self-attested completion does not count."""
    row = _completion(user_id, module)
    return row is not None and not row.self_attested


@dataclass(frozen=True)
class ModuleState:
    """Where one learner stands on one module, for its page."""

    ready: bool
    sections: list[LessonSection]
    done: set[int]
    check: Assessment | None
    passed: bool
    completed: bool
    #: A completion made with the removed self-attestation button, kept as history.
    self_attested: bool = False
    #: Where the module's completion came from when every objective was credited.
    credited_from: str | None = None
    #: Objectives (by id) credited from another programme, with where from.
    credits: dict[int, Any] = field(default_factory=dict)
    remaining_sections: int = field(init=False)

    def __post_init__(self) -> None:
        left = sum(section.id not in self.done for section in self.sections)
        object.__setattr__(self, "remaining_sections", left)

    @property
    def remaining_text(self) -> str:
        """ "2 sections and the knowledge check remain" (empty when nothing does)."""
        parts = []
        if self.remaining_sections:
            n = self.remaining_sections
            parts.append(f"{n} section{'s' if n != 1 else ''}")
        if self.check is not None and not self.passed:
            parts.append("the knowledge check")
        if not parts:
            return ""
        plural = len(parts) > 1 or self.remaining_sections > 1
        return f"{' and '.join(parts)} remain{'' if plural else 's'}"


def module_state(user_id: int, module: Module) -> ModuleState:
    sections = live_sections(module)
    check = knowledge_check(module) if sections else None
    row = _completion(user_id, module)
    return ModuleState(
        ready=bool(sections),
        sections=sections,
        done=sections_done(user_id, module),
        check=check,
        passed=check is not None and check_passed(user_id, check),
        completed=row is not None and not row.self_attested,
        self_attested=row is not None and row.self_attested,
        credited_from=row.credited_from if row is not None else None,
        credits=credit_sources(user_id, module),
    )


def _add_once(row: object) -> None:
    """Insert a progress row unless it exists: a double click counts once (unique constraint)."""
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        pass


def complete_if_done(user_id: int, module: Module) -> bool:
    """Record the module as completed when it is ready, every live section is done and its
    knowledge check (if any) is passed. Returns True when it became complete now. Does not run
    the engine: the caller's graded event does. The caller commits."""
    if not is_ready(module):
        return False  # in preparation: nothing completes it
    existing = _completion(user_id, module)
    if existing is not None and not existing.self_attested:
        return False
    if {s.id for s in live_sections(module)} - sections_done(user_id, module):
        return False
    check = knowledge_check(module)
    if check is not None and not check_passed(user_id, check):
        return False
    if existing is not None:
        # A self-attested completion (one row per learner and module) becomes an honest one,
        # dated now: the click is superseded by the work.
        existing.self_attested = False
        existing.completed_at = now_utc()
    else:
        _add_once(ModuleCompletion(user_id=user_id, module_id=module.id))
    return True


def mark_section_done(user_id: int, section: LessonSection) -> bool:
    """Mark one section done; completes the module when it was the last one left and the check
    is passed. Returns True when the module became complete. The caller commits."""
    _add_once(SectionProgress(user_id=user_id, section_id=section.id))
    module = section.module
    completed = complete_if_done(user_id, module)
    if completed:
        after_graded_event(user_id, module.programme_id)
    _credit_elsewhere(user_id, skip=set())
    return completed


def _credit_elsewhere(user_id: int, skip: set[int]) -> list[str]:
    """Credit what the learner's work now earns in their other programmes, and run the stage
    engine where a module was credited (except for `skip`, whose caller runs it)."""
    granted, programmes = grant_credits(user_id)
    for programme_id in programmes - skip:
        after_graded_event(user_id, programme_id)
    if not granted:
        return []
    count = len(granted)
    return [
        f"Credited in your other programmes: {count} objective{'s' if count != 1 else ''} "
        "taught alike (see the module pages)."
    ]


def _check_passed(attempt: Attempt) -> str | None:
    """Listener: a passed knowledge check completes its module when the sections are done.
    The assessments code runs the engine afterwards."""
    assessment = attempt.assessment
    if assessment.purpose != "module" or assessment.module_id is None:
        return None
    module = assessment.module
    if module is None or not complete_if_done(attempt.user_id, module):
        return None
    return f"Module completed: {module.title}."


def _credit_after_pass(attempt: Attempt) -> str | None:
    """Listener: a passed check may credit objectives taught alike in other programmes."""
    notes = _credit_elsewhere(attempt.user_id, skip={attempt.assessment.programme_id})
    return notes[0] if notes else None


on_attempt_passed("learning.complete-module", _check_passed)
on_attempt_passed("learning.credit", _credit_after_pass)
