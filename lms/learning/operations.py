"""Lesson progress: marking sections done and completing modules. Completing a module is a
graded event: the stage engine runs for the learner's enrolments in that programme."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from lms.curricula.models import LessonSection, Module
from lms.extensions import db
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


def is_completed(user_id: int, module: Module) -> bool:
    return (
        db.session.scalar(
            select(ModuleCompletion.id).where(
                ModuleCompletion.user_id == user_id, ModuleCompletion.module_id == module.id
            )
        )
        is not None
    )


def _add_once(row: object) -> None:
    """Insert a progress row unless it exists: a double click counts once (unique constraint)."""
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        pass


def mark_section_done(user_id: int, section: LessonSection) -> bool:
    """Mark one section done; completes the module when it was the last. Returns True when the
    module became complete. The caller commits."""
    _add_once(SectionProgress(user_id=user_id, section_id=section.id))
    module = section.module
    done = sections_done(user_id, module)
    if {s.id for s in live_sections(module)} <= done and not is_completed(user_id, module):
        return complete_module(user_id, module)
    return False


def complete_module(user_id: int, module: Module) -> bool:
    """Record the module as completed (idempotent) and run the stage engine."""
    if is_completed(user_id, module):
        return False
    _add_once(ModuleCompletion(user_id=user_id, module_id=module.id))
    after_graded_event(user_id, module.programme_id)
    return True
