"""The stage engine: evaluates gates, promotes enrolments whose gate is met, and keeps each
enrolment's status.

`evaluate(enrolments)` works for one enrolment or ten thousand in the same fixed number of
queries: it loads stages, content, facts for every requirement kind, pauses, holds, extensions,
exemptions and last activity in bulk, then applies the pure rules of `lms.stages.rules`.

A gate with a requirement nobody can meet because its content is missing (a module in
preparation) waits for content: the status says so and the stage clock is held. `refresh` keeps
the holds (`ClockHold`): it opens one when it first sees the gate waiting and releases it on the
day the content arrives; `evaluate` counts a hold that `refresh` has not stored yet the same way.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from lms.assessments.models import Assessment, Attempt
from lms.audit.operations import record
from lms.certificates.issuing import issue_for_completions, issue_for_promotions, recertify
from lms.core.timeutil import local_date, now_utc
from lms.curricula.models import LessonSection, Module, Programme, Stage
from lms.demonstrations.models import DemonstrationTask, Submission
from lms.extensions import db
from lms.figures import figure
from lms.learning.models import ModuleCompletion, SectionProgress
from lms.organisation.models import Enrolment
from lms.organisation.operations import organisation
from lms.stages import rules
from lms.stages.models import ClockHold, ClockPause, Exemption, StagePromotion, WindowExtension
from lms.stages.requirements import REQUIREMENT_KINDS, Catalogue, requirement_key


@dataclass
class RequirementResult:
    kind: str
    ref: str
    label: str
    met: bool
    exempt: bool
    evidence: dict[str, Any] | None
    #: Why nobody can meet it with today's content (unmet requirements only), else None.
    waiting_for: str | None = None

    @property
    def key(self) -> str:
        return requirement_key(self.kind, self.ref)

    @property
    def satisfied(self) -> bool:
        return self.met or self.exempt


@dataclass
class EnrolmentState:
    """Everything the pages show about one enrolment's stage."""

    enrolment_id: int
    stage: Stage
    next_stage: Stage | None
    day: int
    window_end_day: int | None
    status: str
    reason: str
    paused: bool
    gate: list[RequirementResult] = field(default_factory=list)
    last_activity: date | None = None
    #: Why the gate waits for content (the clock is held), else None.
    waiting_for: str | None = None
    #: Since when the clock is held, while the gate waits for content.
    held_since: date | None = None

    @property
    def waiting(self) -> bool:
        return self.waiting_for is not None

    @property
    def gate_met(self) -> int:
        return sum(r.satisfied for r in self.gate)

    @property
    def gate_total(self) -> int:
        return len(self.gate)

    @property
    def gate_fraction(self) -> float:
        return self.gate_met / self.gate_total if self.gate_total else 0.0

    @property
    def remaining(self) -> list[RequirementResult]:
        return [r for r in self.gate if not r.satisfied]

    @property
    def can_be_promoted(self) -> bool:
        return self.next_stage is not None and bool(self.gate) and not self.remaining

    @property
    def completes_programme(self) -> bool:
        """In the last stage with its completion list met (an empty list: on arrival)."""
        return self.next_stage is None and not self.remaining


def thresholds() -> rules.Thresholds:
    return rules.Thresholds(
        at_risk_elapsed=figure("at-risk-window-elapsed"),
        at_risk_gate_below=figure("at-risk-gate-met-below"),
        active_within_days=int(figure("active-within-days")),
    )


def organisation_today() -> date:
    return local_date(now_utc(), organisation().time_zone)


@dataclass
class _Facts:
    stages: list[Stage]
    catalogue: Catalogue
    gates: dict[int, dict[str, list[dict[str, str]]]]
    by_kind: dict[str, Any]
    pauses: dict[int, list[tuple[date, date | None]]]
    holds: dict[int, list[ClockHold]]
    #: The local day each enrolment entered each stage it was promoted into.
    entered: dict[tuple[int, str], date]
    extensions: dict[tuple[int, str], int]
    exemptions: dict[int, set[str]]
    last_activity: dict[tuple[int, int], date]


def _load(enrolments: list[Enrolment]) -> _Facts:
    user_ids = {e.user_id for e in enrolments}
    programme_ids = {e.programme_id for e in enrolments}
    enrolment_ids = [e.id for e in enrolments]
    stages = list(db.session.scalars(select(Stage).order_by(Stage.position)))
    modules = db.session.scalars(
        select(Module)
        .where(Module.programme_id.in_(programme_ids))
        .options(selectinload(Module.sections))
    )
    assessments = db.session.scalars(
        select(Assessment)
        .where(Assessment.programme_id.in_(programme_ids))
        .options(selectinload(Assessment.questions))
    )
    tasks = db.session.scalars(
        select(DemonstrationTask).where(DemonstrationTask.programme_id.in_(programme_ids))
    )
    catalogue = Catalogue(
        modules={(m.programme_id, m.slug): m for m in modules},
        assessments={(a.programme_id, a.slug): a for a in assessments},
        demonstrations={(t.programme_id, t.slug): t for t in tasks},
    )
    gates = {
        programme_id: programme_gates
        for programme_id, programme_gates in db.session.execute(
            select(Programme.id, Programme.gates).where(Programme.id.in_(programme_ids))
        )
    }
    pauses: dict[int, list[tuple[date, date | None]]] = defaultdict(list)
    for enrolment_id, paused_on, resumed_on in db.session.execute(
        select(ClockPause.enrolment_id, ClockPause.paused_on, ClockPause.resumed_on).where(
            ClockPause.enrolment_id.in_(enrolment_ids)
        )
    ):
        pauses[enrolment_id].append((paused_on, resumed_on))
    holds: dict[int, list[ClockHold]] = defaultdict(list)
    for hold in db.session.scalars(
        select(ClockHold).where(ClockHold.enrolment_id.in_(enrolment_ids)).order_by(ClockHold.id)
    ):
        holds[hold.enrolment_id].append(hold)
    zone = organisation().time_zone
    entered: dict[tuple[int, str], date] = {}
    for enrolment_id, stage_id, promoted_at in db.session.execute(
        select(
            StagePromotion.enrolment_id, StagePromotion.to_stage_id, StagePromotion.promoted_at
        ).where(StagePromotion.enrolment_id.in_(enrolment_ids))
    ):
        entered[(enrolment_id, stage_id)] = local_date(promoted_at, zone)
    extensions: dict[tuple[int, str], int] = defaultdict(int)
    for enrolment_id, stage_id, days in db.session.execute(
        select(WindowExtension.enrolment_id, WindowExtension.stage_id, WindowExtension.days).where(
            WindowExtension.enrolment_id.in_(enrolment_ids)
        )
    ):
        extensions[(enrolment_id, stage_id)] += days
    exemptions: dict[int, set[str]] = defaultdict(set)
    for enrolment_id, key in db.session.execute(
        select(Exemption.enrolment_id, Exemption.requirement).where(
            Exemption.enrolment_id.in_(enrolment_ids)
        )
    ):
        exemptions[enrolment_id].add(key)
    return _Facts(
        stages=stages,
        catalogue=catalogue,
        gates=gates,
        by_kind={kind_id: kind.load(user_ids) for kind_id, kind in REQUIREMENT_KINDS.items()},
        pauses=pauses,
        holds=holds,
        entered=entered,
        extensions=extensions,
        exemptions=exemptions,
        last_activity=_last_activity(user_ids, programme_ids, zone),
    )


def _last_activity(
    user_ids: set[int], programme_ids: set[int], zone: str
) -> dict[tuple[int, int], date]:
    """Latest learning activity per learner and programme: sections read, attempts submitted."""
    found: dict[tuple[int, int], Any] = {}

    def keep(rows: Any) -> None:
        for user_id, programme_id, moment in rows:
            if moment is not None:
                key = (user_id, programme_id)
                found[key] = max(found.get(key, moment), moment)

    keep(
        db.session.execute(
            select(
                SectionProgress.user_id, Module.programme_id, func.max(SectionProgress.completed_at)
            )
            .join(LessonSection, LessonSection.id == SectionProgress.section_id)
            .join(Module, Module.id == LessonSection.module_id)
            .where(SectionProgress.user_id.in_(user_ids), Module.programme_id.in_(programme_ids))
            .group_by(SectionProgress.user_id, Module.programme_id)
        )
    )
    keep(
        db.session.execute(
            select(
                ModuleCompletion.user_id,
                Module.programme_id,
                func.max(ModuleCompletion.completed_at),
            )
            .join(Module, Module.id == ModuleCompletion.module_id)
            .where(
                ModuleCompletion.user_id.in_(user_ids),
                Module.programme_id.in_(programme_ids),
                ModuleCompletion.self_attested.is_(False),  # a click was no learning activity
            )
            .group_by(ModuleCompletion.user_id, Module.programme_id)
        )
    )
    keep(
        db.session.execute(
            select(
                Submission.user_id, DemonstrationTask.programme_id, func.max(Submission.updated_at)
            )
            .join(DemonstrationTask, DemonstrationTask.id == Submission.task_id)
            .where(
                Submission.user_id.in_(user_ids), DemonstrationTask.programme_id.in_(programme_ids)
            )
            .group_by(Submission.user_id, DemonstrationTask.programme_id)
        )
    )
    keep(
        db.session.execute(
            select(Attempt.user_id, Assessment.programme_id, func.max(Attempt.submitted_at))
            .join(Assessment, Assessment.id == Attempt.assessment_id)
            .where(Attempt.user_id.in_(user_ids), Assessment.programme_id.in_(programme_ids))
            .group_by(Attempt.user_id, Assessment.programme_id)
        )
    )
    return {key: local_date(moment, zone) for key, moment in found.items()}


def _gate(enrolment: Enrolment, stage_id: str, facts: _Facts) -> list[RequirementResult]:
    results = []
    exempt = facts.exemptions.get(enrolment.id, set())
    for item in facts.gates.get(enrolment.programme_id, {}).get(stage_id, []):
        kind = REQUIREMENT_KINDS.get(item["kind"])
        if kind is None:  # a kind whose feature is not installed cannot be met, only exempted
            evidence, label = None, f"{item['kind']} {item['ref']}"
            missing = f"{item['kind']} requirements cannot be met yet"
        else:
            evidence = kind.evaluate(
                facts.by_kind[item["kind"]],
                facts.catalogue,
                enrolment.user_id,
                enrolment.programme_id,
                item["ref"],
            )
            label = kind.label(facts.catalogue, enrolment.programme_id, item["ref"])
            missing = None
            if evidence is None:
                missing = kind.missing_content(facts.catalogue, enrolment.programme_id, item["ref"])
        results.append(
            RequirementResult(
                kind=item["kind"],
                ref=item["ref"],
                label=label,
                met=evidence is not None,
                exempt=requirement_key(item["kind"], item["ref"]) in exempt,
                evidence=evidence,
                waiting_for=missing,
            )
        )
    return results


def _state(
    enrolment: Enrolment, stage_id: str, facts: _Facts, today: date, limits: rules.Thresholds
) -> EnrolmentState:
    stages = facts.stages
    index = next(i for i, s in enumerate(stages) if s.id == stage_id)
    stage = stages[index]
    pauses = facts.pauses.get(enrolment.id, [])
    gate = _gate(enrolment, stage_id, facts)
    waiting_for = next((r.waiting_for for r in gate if not r.satisfied and r.waiting_for), None)
    holds = facts.holds.get(enrolment.id, [])
    spans = pauses + [(h.held_from, h.released_on) for h in holds]
    held_since = None
    if waiting_for is not None:
        stored = next((h for h in holds if h.released_on is None and h.stage_id == stage_id), None)
        if stored is not None:
            held_since = stored.held_from
        else:  # not stored yet (refresh stores it): counted all the same
            held_since = _hold_from(enrolment, stage_id, facts)
            spans.append((held_since, None))
    day = rules.clock_day(enrolment.start_date, today, spans)
    met = sum(r.satisfied for r in gate)
    last = facts.last_activity.get((enrolment.user_id, enrolment.programme_id))
    status = rules.stage_status(
        rules.Window(stage.window_start_day, stage.window_end_day),
        day,
        extension_days=facts.extensions.get((enrolment.id, stage_id), 0),
        gate_met=met,
        gate_total=len(gate),
        last_activity=last,
        today=today,
        thresholds=limits,
        waiting_for=waiting_for,
    )
    return EnrolmentState(
        enrolment_id=enrolment.id,
        stage=stage,
        next_stage=stages[index + 1] if index + 1 < len(stages) else None,
        day=day,
        window_end_day=status.window_end_day,
        status=status.status,
        reason=status.reason,
        paused=any(resumed is None for _, resumed in pauses),
        gate=gate,
        last_activity=last,
        waiting_for=waiting_for,
        held_since=held_since,
    )


def _hold_from(enrolment: Enrolment, stage_id: str, facts: _Facts) -> date:
    entered = facts.entered.get((enrolment.id, stage_id), enrolment.start_date)
    released = [
        h.released_on
        for h in facts.holds.get(enrolment.id, [])
        if h.stage_id == stage_id and h.released_on is not None
    ]
    return rules.hold_from(max(entered, enrolment.start_date), released)


def _keep_hold(enrolment: Enrolment, state: EnrolmentState, facts: _Facts, today: date) -> None:
    """Store the hold the state counts, or release the one whose content has arrived."""
    holds = facts.holds.setdefault(enrolment.id, [])
    for hold in holds:
        if hold.released_on is None and (not state.waiting or hold.stage_id != state.stage.id):
            hold.released_on = max(today, hold.held_from)
            record("enrolment.clock-released", target=enrolment, stage=hold.stage_id)
    if state.waiting and not any(
        h.released_on is None and h.stage_id == state.stage.id for h in holds
    ):
        hold = ClockHold(
            enrolment_id=enrolment.id,
            stage_id=state.stage.id,
            held_from=state.held_since or today,
            reason=(state.waiting_for or "")[:500],
        )
        db.session.add(hold)
        holds.append(hold)
        record(
            "enrolment.clock-held",
            target=enrolment,
            stage=state.stage.id,
            since=hold.held_from.isoformat(),
            reason=hold.reason,
        )


def evaluate(enrolments: list[Enrolment], today: date | None = None) -> dict[int, EnrolmentState]:
    """The current state of each enrolment (no changes written)."""
    if not enrolments:
        return {}
    return evaluate_with_facts(enrolments, today)[0]


def evaluate_with_facts(
    enrolments: list[Enrolment], today: date | None = None
) -> tuple[dict[int, EnrolmentState], _Facts]:
    """`evaluate`, also handing back what it loaded (stages, modules with their sections,
    assessments) so a page need not load it again."""
    facts = _load(enrolments)
    today = today or organisation_today()
    limits = thresholds()
    return {e.id: _state(e, e.stage_id, facts, today, limits) for e in enrolments}, facts


def refresh(enrolments: list[Enrolment], today: date | None = None) -> list[StagePromotion]:
    """Promote every enrolment whose gate is met (stage after stage while gates are met), then
    store each one's status. The caller commits."""
    active = [e for e in enrolments if e.status == "active"]
    if not active:
        return []
    facts = _load(active)
    today = today or organisation_today()
    limits = thresholds()
    promotions = []
    completed: list[tuple[Enrolment, list[dict[str, Any]]]] = []
    refreshed_at = now_utc()
    for enrolment in active:
        state = _state(enrolment, enrolment.stage_id, facts, today, limits)
        while state.can_be_promoted:
            promotion = StagePromotion(
                enrolment_id=enrolment.id,
                from_stage_id=state.stage.id,
                to_stage_id=state.next_stage.id,  # type: ignore[union-attr]
                on_day=state.day,
                evidence=_evidence(state.gate),
            )
            db.session.add(promotion)
            promotions.append(promotion)
            record(
                "enrolment.promoted",
                target=enrolment,
                from_stage=state.stage.id,
                to_stage=state.next_stage.id,  # type: ignore[union-attr]
                day=state.day,
            )
            enrolment.stage_id = state.next_stage.id  # type: ignore[union-attr]
            facts.entered[(enrolment.id, enrolment.stage_id)] = today
            state = _state(enrolment, enrolment.stage_id, facts, today, limits)
        _keep_hold(enrolment, state, facts, today)
        enrolment.stage_status = state.status
        enrolment.status_reason = state.reason[:300]
        enrolment.gate_met = state.gate_met
        enrolment.gate_total = state.gate_total
        enrolment.status_refreshed_at = refreshed_at
        if state.completes_programme:
            completed.append((enrolment, _evidence(state.gate)))
    db.session.flush()
    issue_for_promotions(promotions)
    issue_for_completions(completed)
    recertify(active, lambda enrolment, stage_id: _met_gate(enrolment, stage_id, facts))
    db.session.flush()
    return promotions


def _met_gate(enrolment: Enrolment, stage_id: str, facts: _Facts) -> list[dict[str, Any]] | None:
    """A stage's gate evidence when every requirement is met under today's content."""
    gate = _gate(enrolment, stage_id, facts)
    if not gate or not all(r.satisfied for r in gate):
        return None
    return _evidence(gate)


def _evidence(gate: list[RequirementResult]) -> list[dict[str, Any]]:
    return [
        {"requirement": r.key, "label": r.label, "exempt": r.exempt, "evidence": r.evidence}
        for r in gate
    ]


def after_graded_event(user_id: int, programme_id: int) -> list[StagePromotion]:
    """Run the engine for one learner's enrolments in one programme (after a section, a module
    or an assessment counted)."""
    enrolments = list(
        db.session.scalars(
            select(Enrolment).where(
                Enrolment.user_id == user_id,
                Enrolment.programme_id == programme_id,
                Enrolment.status == "active",
            )
        )
    )
    return refresh(enrolments)


def refresh_all(batch: int = 2000) -> tuple[int, int]:
    """Every active enrolment, in batches (for the nightly `flask stages refresh`)."""
    ids = list(
        db.session.scalars(
            select(Enrolment.id).where(Enrolment.status == "active").order_by(Enrolment.id)
        )
    )
    promoted = 0
    for start in range(0, len(ids), batch):
        chunk = list(
            db.session.scalars(
                select(Enrolment).where(Enrolment.id.in_(ids[start : start + batch]))
            )
        )
        promoted += len(refresh(chunk))
        db.session.commit()
    return len(ids), promoted
