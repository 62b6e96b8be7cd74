"""My path: one card per enrolment, with stage, day in the window, status, progress, what to do
next, the gate's remaining requirements and recent results. A fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from lms.assessments.models import Assessment, Attempt
from lms.curricula.models import Module, Programme, Stage
from lms.demonstrations.models import DemonstrationTask
from lms.extensions import db
from lms.learning.models import SectionProgress
from lms.organisation.models import Cohort, Enrolment
from lms.stages.engine import EnrolmentState, RequirementResult, evaluate_with_facts

#: The follow-up (post-) assessment is offered from Innovation Leadership on, once the three
#: windowed stages (and the decisions they teach) are behind the learner.
POST_ASSESSMENT_FROM_STAGE = 4


@dataclass
class ModuleProgress:
    module: Module
    stage_name: str
    done: int
    total: int
    completed: bool

    @property
    def in_preparation(self) -> bool:
        """No lesson yet: nothing completes it."""
        return self.total == 0

    @property
    def fraction(self) -> float:
        if self.completed:
            return 1.0
        return self.done / self.total if self.total else 0.0


@dataclass
class PathCard:
    enrolment: Enrolment
    programme: Programme
    cohort: Cohort
    state: EnrolmentState | None
    modules: list[ModuleProgress]
    next_step: dict[str, str] | None
    stages: list[Stage] = field(default_factory=list)
    #: Where to meet each remaining requirement, by requirement key.
    links: dict[str, str] = field(default_factory=dict)
    #: The programme's demonstration tasks with their stage names, in stage order.
    demonstrations: list[tuple[DemonstrationTask, str]] = field(default_factory=list)

    @property
    def modules_completed(self) -> int:
        return sum(m.completed for m in self.modules)

    @property
    def fraction(self) -> float:
        return self.modules_completed / len(self.modules) if self.modules else 0.0


def path_order(modules: list[Module], stage_positions: dict[str, int]) -> list[Module]:
    """Modules in the order a learner meets them: by stage, then as the file lists them."""
    live = [m for m in modules if m.retired_at is None]
    return sorted(live, key=lambda m: (stage_positions.get(m.stage_id or "", 99), m.position))


def requirement_link(
    result: RequirementResult,
    programme: Programme,
    modules: dict[str, Module],
    assessments: dict[str, Assessment],
    demonstrations: dict[str, DemonstrationTask],
) -> str | None:
    if result.kind == "module-completed" and result.ref in modules:
        return url_for("learning.module", programme_slug=programme.slug, module_slug=result.ref)
    if result.kind == "assessment-passed" and result.ref in assessments:
        return url_for("assessments.overview", assessment_id=assessments[result.ref].id)
    if result.kind == "demonstration-proficient" and result.ref in demonstrations:
        return url_for("demonstrations.task", task_id=demonstrations[result.ref].id)
    return None


def build_path(user_id: int) -> tuple[list[PathCard], list[Attempt]]:
    enrolments = list(
        db.session.scalars(
            select(Enrolment)
            .where(Enrolment.user_id == user_id)
            .options(selectinload(Enrolment.programme), selectinload(Enrolment.cohort))
            .order_by(Enrolment.status, Enrolment.start_date)
        )
    )
    if not enrolments:
        return [], []
    # Withdrawn enrolments get no state, but their content is loaded with the rest.
    states, facts = evaluate_with_facts(enrolments)
    stages = facts.stages
    positions = {s.id: s.position for s in stages}
    names = {s.id: s.name for s in stages}
    modules = list(facts.catalogue.modules.values())
    assessments = list(facts.catalogue.assessments.values())
    attempted = set(
        db.session.scalars(
            select(Attempt.assessment_id).where(
                Attempt.user_id == user_id, Attempt.status != "in-progress"
            )
        )
    )
    done_sections = set(
        db.session.scalars(
            select(SectionProgress.section_id).where(SectionProgress.user_id == user_id)
        )
    )
    # The engine loaded every module completion of this learner already.
    completed = {module_id for _, module_id in facts.by_kind["module-completed"]}
    cards = []
    for enrolment in enrolments:
        own = [m for m in modules if m.programme_id == enrolment.programme_id]
        by_slug = {m.slug: m for m in own}
        own_assessments = {
            a.slug: a for a in assessments if a.programme_id == enrolment.programme_id
        }
        own_tasks = {
            t.slug: t
            for (programme_id, _), t in facts.catalogue.demonstrations.items()
            if programme_id == enrolment.programme_id and t.retired_at is None
        }
        progress = []
        for module in path_order(own, positions):
            live = [s for s in module.sections if s.retired_at is None]
            progress.append(
                ModuleProgress(
                    module=module,
                    stage_name=names.get(module.stage_id or "", ""),
                    done=sum(s.id in done_sections for s in live),
                    total=len(live),
                    completed=module.id in completed,
                )
            )
        state = states.get(enrolment.id) if enrolment.status == "active" else None
        next_step = None
        baseline = next((a for a in own_assessments.values() if a.purpose == "pre"), None)
        follow_up = next((a for a in own_assessments.values() if a.purpose == "post"), None)
        if state is not None and baseline is not None and baseline.id not in attempted:
            # The baseline comes first: decision quality is measured against it.
            next_step = {
                "label": f"Take the baseline: “{baseline.title}”",
                "url": url_for("assessments.overview", assessment_id=baseline.id),
            }
        elif (
            state is not None
            and follow_up is not None
            and follow_up.id not in attempted
            and state.stage.position >= POST_ASSESSMENT_FROM_STAGE
        ):
            next_step = {
                "label": f"Show how your decisions have changed: “{follow_up.title}”",
                "url": url_for("assessments.overview", assessment_id=follow_up.id),
            }
        elif state is not None and state.remaining:
            # Something the learner can do now before what waits for content.
            first = next((r for r in state.remaining if not r.waiting_for), state.remaining[0])
            link = requirement_link(first, enrolment.programme, by_slug, own_assessments, own_tasks)
            if link:
                label = first.label
                if first.waiting_for:
                    label = f"Waiting for content: {first.waiting_for}"
                next_step = {"label": label, "url": link}
        elif state is not None:
            upcoming = next((p for p in progress if not p.completed), None)
            if upcoming is not None:
                next_step = {
                    "label": f"Continue with “{upcoming.module.title}”",
                    "url": url_for(
                        "learning.module",
                        programme_slug=enrolment.programme.slug,
                        module_slug=upcoming.module.slug,
                    ),
                }
        links = {}
        for result in state.remaining if state else []:
            link = requirement_link(
                result, enrolment.programme, by_slug, own_assessments, own_tasks
            )
            if link:
                links[result.key] = link
        cards.append(
            PathCard(
                enrolment,
                enrolment.programme,
                enrolment.cohort,
                state,
                progress,
                next_step,
                stages,
                links,
                [
                    (t, names.get(t.stage_id, ""))
                    for t in sorted(
                        own_tasks.values(),
                        key=lambda t: (positions.get(t.stage_id, 99), t.position),
                    )
                ],
            )
        )
    recent = list(
        db.session.scalars(
            select(Attempt)
            .where(Attempt.user_id == user_id, Attempt.status != "in-progress")
            .options(selectinload(Attempt.assessment))
            .order_by(Attempt.submitted_at.desc())
            .limit(5)
        )
    )
    return cards, recent


def stage_window_text(state: EnrolmentState) -> str:
    """ "day 12 of 30" in a windowed stage; "day 95" in an open-ended one."""
    if state.day < 0:
        return f"starts in {-state.day} day{'s' if state.day != -1 else ''}"
    if state.window_end_day is None:
        return f"day {state.day}"
    if state.day > state.window_end_day:
        return f"day {state.day}"
    return f"day {state.day} of {state.window_end_day}"
