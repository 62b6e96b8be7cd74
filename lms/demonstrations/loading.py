"""Loading a programme's demonstration tasks from its file, by stable id; a task that leaves the
file is retired, never deleted (submissions and grades keep pointing at it)."""

from __future__ import annotations

from sqlalchemy import select

from lms.core.timeutil import now_utc
from lms.curricula import schema
from lms.curricula.models import Programme
from lms.demonstrations.models import DemonstrationTask
from lms.extensions import db
from lms.figures import figure


def load_demonstrations(programme: Programme, document: schema.Programme) -> None:
    existing = {
        task.slug: task
        for task in db.session.scalars(
            select(DemonstrationTask).where(DemonstrationTask.programme_id == programme.id)
        )
    }
    default_threshold = figure("demonstration-proficient-threshold")
    for position, source in enumerate(document.demonstrations, start=1):
        task = existing.pop(source.id, None)
        if task is None:
            task = DemonstrationTask(slug=source.id, programme_id=programme.id)
            db.session.add(task)
        task.position = position
        task.stage_id = source.stage
        task.title = source.title
        task.summary = source.summary
        task.instructions = source.instructions
        task.modules = list(source.modules)
        task.evidence = [item.model_dump(mode="json") for item in source.evidence]
        task.rubric = source.rubric.model_dump(mode="json")
        task.proficient_at = source.proficient_at or default_threshold
        task.moderated = source.stage in document.moderated_stages
        task.retired_at = None
    now = now_utc()
    for retired in existing.values():
        retired.retired_at = retired.retired_at or now
        retired.position = 1000 + retired.position
