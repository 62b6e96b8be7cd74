"""Which modules are ready to be learned: a module is ready when its lesson has at least one live
section, and "in preparation" otherwise (it cannot be completed, and a gate cannot be met
through it). Per programme, how many of its modules are ready, for the catalogue and the
cohort-creation page."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select

from lms.curricula.models import LessonSection, Module, Programme
from lms.extensions import db


def is_ready(module: Module) -> bool:
    """A lesson to learn from: at least one live section (uses the loaded `sections`)."""
    return any(section.retired_at is None for section in module.sections)


@dataclass(frozen=True)
class Readiness:
    ready: int
    total: int

    @property
    def complete(self) -> bool:
        return self.ready == self.total

    @property
    def text(self) -> str:
        """ "2 of 8 modules ready" """
        return f"{self.ready} of {self.total} module{'s' if self.total != 1 else ''} ready"


def readiness(programme_ids: Iterable[int]) -> dict[int, Readiness]:
    """Ready and live modules per programme, in one query whatever the number of programmes."""
    ids = set(programme_ids)
    if not ids:
        return {}
    live_section = (
        select(LessonSection.id)
        .where(LessonSection.module_id == Module.id, LessonSection.retired_at.is_(None))
        .exists()
    )
    rows = db.session.execute(
        select(
            Module.programme_id,
            func.count(Module.id),
            func.count(Module.id).filter(live_section),
        )
        .where(Module.programme_id.in_(ids), Module.retired_at.is_(None))
        .group_by(Module.programme_id)
    )
    found = {programme_id: Readiness(int(ready), int(total)) for programme_id, total, ready in rows}
    return {pid: found.get(pid, Readiness(0, 0)) for pid in ids}


def ready_module_ids(programme_ids: Iterable[int]) -> set[int]:
    """The ready modules of these programmes, in one query (without loading lesson bodies)."""
    ids = set(programme_ids)
    if not ids:
        return set()
    return set(
        db.session.scalars(
            select(LessonSection.module_id)
            .join(Module, Module.id == LessonSection.module_id)
            .where(Module.programme_id.in_(ids), LessonSection.retired_at.is_(None))
            .distinct()
        )
    )


def count_ready(programmes: Iterable[Programme], ready_ids: set[int]) -> dict[int, Readiness]:
    """`readiness` for programmes whose modules are loaded already, given `ready_module_ids`."""
    found = {}
    for programme in programmes:
        live = [m for m in programme.modules if m.retired_at is None]
        found[programme.id] = Readiness(sum(m.id in ready_ids for m in live), len(live))
    return found
