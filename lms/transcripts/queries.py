"""Who may read whose transcript, and the transcript itself, gathered in a fixed number of
queries whatever the number of enrolments, attempts or submissions: one query per table with IN,
the stage engine's bulk load for stages, content and gates, and nothing loaded lazily in a loop.

Scores only: attempts are read without their items, so no question, option or answer is ever
loaded, let alone shown.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import defer, joinedload, lazyload, raiseload, selectinload

from lms.accounts.models import User
from lms.adoption.records import Endorsement
from lms.assessments.models import Attempt
from lms.certificates.models import Certificate
from lms.core.timeutil import local_date, now_utc
from lms.curricula.models import Module
from lms.demonstrations.models import Submission
from lms.extensions import db
from lms.learning.path import path_order
from lms.organisation.models import Cohort, Enrolment
from lms.organisation.operations import organisation
from lms.stages.engine import EnrolmentState, evaluate_with_facts, organisation_today
from lms.stages.models import Exemption, StagePromotion
from lms.stages.requirements import REQUIREMENT_KINDS
from lms.transcripts.figures import (
    AssessmentLine,
    AttemptScore,
    DemonstrationLine,
    SubmissionOutcome,
    assessment_line,
    demonstration_line,
    evidence_summary,
    programme_summary,
)

# Who may read it ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Whose enrolments a viewer may see on a learner's transcript."""

    #: Only enrolments in cohorts this manager runs; None for the whole record.
    manager_id: int | None = None
    #: Managers and admins see why a requirement was exempted; the learner's copy does not.
    internal: bool = False


def transcript_scope(viewer: User, learner: User) -> Scope | None:
    """The learner reads their whole record; admins anyone's; a manager the enrolments in the
    cohorts they run, and only for a learner enrolled in one; nobody else (leaders included:
    a transcript is individual results). None means "not found" for the viewer."""
    if viewer.has_role("admin"):
        return Scope(internal=viewer.id != learner.id)
    if viewer.id == learner.id:
        return Scope()
    if not viewer.has_role("manager"):
        return None
    managed = db.session.scalar(
        select(Enrolment.id)
        .join(Cohort, Cohort.id == Enrolment.cohort_id)
        .where(Enrolment.user_id == learner.id, Cohort.manager_id == viewer.id)
        .limit(1)
    )
    return Scope(manager_id=viewer.id, internal=True) if managed is not None else None


# What it holds --------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageStep:
    """A line of the stage history: the start, then each promotion."""

    stage_name: str
    from_stage_name: str | None
    on: date
    day: int
    summary: str


@dataclass(frozen=True)
class ModuleLine:
    title: str
    stage_name: str
    completed_on: date
    #: The module has left the programme's file since (the completion still counts here).
    retired: bool = False


@dataclass(frozen=True)
class CertificateLine:
    code: str
    stage_name: str
    issued_on: date
    #: valid, expired or revoked.
    state: str
    expires_on: date | None
    revoked_on: date | None


@dataclass(frozen=True)
class ExemptionLine:
    label: str
    stage_name: str
    granted_on: date
    #: Only on the internal (manager's or admin's) page.
    reason: str | None


@dataclass
class EnrolmentRecord:
    enrolment_id: int
    cohort_id: int
    programme_title: str
    programme_slug: str
    cohort_name: str
    start_date: date
    #: active, withdrawn or completed.
    status: str
    withdrawn_on: date | None
    stage_name: str
    #: Where the current stage comes among the framework's stages (0 for the first).
    stage_index: int
    #: on-track, at-risk, overdue, waiting-for-content, active or inactive: live, for the web
    #: page only.
    stage_status: str
    day: int
    window_end_day: int | None
    gate_met: int
    gate_total: int
    modules_total: int
    history: list[StageStep] = field(default_factory=list)
    modules: list[ModuleLine] = field(default_factory=list)
    assessments: list[AssessmentLine] = field(default_factory=list)
    demonstrations: list[DemonstrationLine] = field(default_factory=list)
    certificates: list[CertificateLine] = field(default_factory=list)
    exemptions: list[ExemptionLine] = field(default_factory=list)

    @property
    def modules_completed(self) -> int:
        return sum(not m.retired for m in self.modules)

    @property
    def summary(self) -> str:
        return programme_summary(
            self.modules_completed,
            self.modules_total,
            self.stage_name,
            self.gate_met,
            self.gate_total,
        )

    @property
    def gate_fraction(self) -> float:
        return self.gate_met / self.gate_total if self.gate_total else 0.0

    @property
    def module_fraction(self) -> float:
        return self.modules_completed / self.modules_total if self.modules_total else 0.0


@dataclass
class Transcript:
    learner_id: int
    learner_name: str
    team_name: str | None
    organisation_name: str
    generated_on: date
    enrolments: list[EnrolmentRecord]
    endorsements: int
    endorsers: int
    scope: Scope
    #: The framework's stage names, in order.
    stages: list[str] = field(default_factory=list)

    @property
    def certificates(self) -> int:
        return sum(len(e.certificates) for e in self.enrolments)

    @property
    def valid_certificates(self) -> int:
        return sum(c.state == "valid" for e in self.enrolments for c in e.certificates)


# Gathering it ---------------------------------------------------------------------------------

_PURPOSE_ORDER = {"pre": 0, "module": 1, "post": 2}


def _enrolments(learner: User, scope: Scope) -> list[Enrolment]:
    statement = (
        select(Enrolment)
        .where(Enrolment.user_id == learner.id)
        .options(
            joinedload(Enrolment.programme),
            # Only the cohort's name is shown: not its programmes, not its manager.
            joinedload(Enrolment.cohort).options(
                lazyload(Cohort.programmes), lazyload(Cohort.manager)
            ),
        )
        .order_by(Enrolment.start_date, Enrolment.id)
    )
    if scope.manager_id is not None:
        statement = statement.join(Cohort, Cohort.id == Enrolment.cohort_id).where(
            Cohort.manager_id == scope.manager_id
        )
    return list(db.session.scalars(statement).unique())


def build_transcript(learner: User, scope: Scope, today: date | None = None) -> Transcript:
    """The learner's transcript as `scope` allows it to be seen."""
    org = organisation()
    zone = org.time_zone
    today = today or organisation_today()
    enrolments = _enrolments(learner, scope)
    endorsements, endorsers = db.session.execute(
        select(func.count(Endorsement.id), func.count(distinct(Endorsement.endorser_id))).where(
            Endorsement.endorsee_id == learner.id
        )
    ).one()
    transcript = Transcript(
        learner_id=learner.id,
        learner_name=learner.name,
        team_name=learner.team.name if learner.team else None,
        organisation_name=org.name,
        generated_on=today,
        enrolments=[],
        endorsements=endorsements,
        endorsers=endorsers,
        scope=scope,
    )
    if not enrolments:
        return transcript

    # Stages, content, gates and module completions come with the engine's evaluation.
    states, facts = evaluate_with_facts(enrolments, today)
    transcript.stages = [stage.name for stage in facts.stages]
    enrolment_ids = [e.id for e in enrolments]
    loaded = _Loaded(
        stage_names={stage.id: stage.name for stage in facts.stages},
        positions={stage.id: stage.position for stage in facts.stages},
        zone=zone,
        promotions=_promotions(enrolment_ids),
        attempts=_attempt_scores(
            learner.id, [a.id for a in facts.catalogue.assessments.values()], zone
        ),
        submissions=_submission_outcomes(
            learner.id, [t.id for t in facts.catalogue.demonstrations.values()], zone
        ),
        certificates=_certificates(enrolment_ids, zone),
        exemptions=_exemptions(enrolment_ids),
    )
    for enrolment in enrolments:
        transcript.enrolments.append(_record(enrolment, states[enrolment.id], facts, loaded, scope))
    return transcript


@dataclass
class _Loaded:
    """What the transcript loaded besides the engine's facts, by enrolment, assessment or task."""

    stage_names: dict[str, str]
    positions: dict[str, int]
    zone: str
    promotions: dict[int, list[StagePromotion]]
    attempts: dict[int, list[AttemptScore]]
    submissions: dict[int, list[SubmissionOutcome]]
    certificates: dict[int, list[CertificateLine]]
    exemptions: dict[int, list[Exemption]]

    def day_of(self, moment: datetime | None) -> date | None:
        return local_date(moment, self.zone) if moment is not None else None


def _promotions(enrolment_ids: list[int]) -> dict[int, list[StagePromotion]]:
    found: dict[int, list[StagePromotion]] = defaultdict(list)
    for promotion in db.session.scalars(
        select(StagePromotion)
        .where(StagePromotion.enrolment_id.in_(enrolment_ids))
        .order_by(StagePromotion.promoted_at, StagePromotion.id)
    ):
        found[promotion.enrolment_id].append(promotion)
    return found


def _attempt_scores(
    user_id: int, assessment_ids: list[int], zone: str
) -> dict[int, list[AttemptScore]]:
    """Graded attempts by assessment: scores only (an attempt's items, which hold what was
    asked and answered, are a table of their own and never read here)."""
    found: dict[int, list[AttemptScore]] = defaultdict(list)
    for attempt in db.session.scalars(
        select(Attempt).where(
            Attempt.user_id == user_id,
            Attempt.assessment_id.in_(assessment_ids),
            Attempt.status != "in-progress",
        )
    ):
        taken = local_date(attempt.submitted_at, zone) if attempt.submitted_at else None
        found[attempt.assessment_id].append(
            AttemptScore(attempt.number, attempt.percent, attempt.passed, taken)
        )
    return found


def _submission_outcomes(
    user_id: int, task_ids: list[int], zone: str
) -> dict[int, list[SubmissionOutcome]]:
    """Sent submissions by task, each with its final grade's points."""
    found: dict[int, list[SubmissionOutcome]] = defaultdict(list)
    for submission in db.session.scalars(
        select(Submission)
        .where(
            Submission.user_id == user_id,
            Submission.task_id.in_(task_ids),
            Submission.status != "draft",
        )
        .options(
            # The learner's evidence is never read, let alone shown.
            defer(Submission.answers, raiseload=True),
            selectinload(Submission.grades),
            # `final_grade` reads the task, which the engine's catalogue holds already: a load
            # that would need SQL is refused rather than run once per submission.
            raiseload(Submission.task, sql_only=True),
        )
    ):
        grade = submission.final_grade
        graded = submission.graded_at
        found[submission.task_id].append(
            SubmissionOutcome(
                number=submission.number,
                status=submission.status,
                points=grade.points if grade else None,
                max_points=grade.max_points if grade else None,
                graded_on=local_date(graded, zone) if graded else None,
            )
        )
    return found


def _certificates(enrolment_ids: list[int], zone: str) -> dict[int, list[CertificateLine]]:
    now = now_utc()
    found: dict[int, list[CertificateLine]] = defaultdict(list)
    for certificate in db.session.scalars(
        select(Certificate)
        .where(Certificate.enrolment_id.in_(enrolment_ids))
        .order_by(Certificate.issued_at, Certificate.id)
    ):
        found[certificate.enrolment_id].append(
            CertificateLine(
                code=certificate.code,
                stage_name=certificate.stage_name,
                issued_on=local_date(certificate.issued_at, zone),
                state=certificate.state(now),
                expires_on=local_date(certificate.expires_at, zone)
                if certificate.expires_at
                else None,
                revoked_on=local_date(certificate.revoked_at, zone)
                if certificate.revoked_at
                else None,
            )
        )
    return found


def _exemptions(enrolment_ids: list[int]) -> dict[int, list[Exemption]]:
    found: dict[int, list[Exemption]] = defaultdict(list)
    for exemption in db.session.scalars(
        select(Exemption)
        .where(Exemption.enrolment_id.in_(enrolment_ids))
        .order_by(Exemption.created_at, Exemption.id)
    ):
        found[exemption.enrolment_id].append(exemption)
    return found


def _record(
    enrolment: Enrolment, state: EnrolmentState, facts: Any, loaded: _Loaded, scope: Scope
) -> EnrolmentRecord:
    """One enrolment's part of the transcript, from what was loaded (no queries)."""
    programme_id = enrolment.programme_id
    names, positions = loaded.stage_names, loaded.positions
    own_modules = [m for (p, _), m in facts.catalogue.modules.items() if p == programme_id]
    live_order = path_order(own_modules, positions)
    module_rank = {m.id: rank for rank, m in enumerate(live_order)}
    own_assessments = sorted(
        (a for (p, _), a in facts.catalogue.assessments.items() if p == programme_id),
        key=lambda a: (
            _PURPOSE_ORDER.get(a.purpose, 1),
            module_rank.get(a.module_id, len(module_rank)) if a.module_id else 0,
            a.title,
        ),
    )
    own_tasks = sorted(
        (t for (p, _), t in facts.catalogue.demonstrations.items() if p == programme_id),
        key=lambda t: (positions.get(t.stage_id, 99), t.position),
    )
    demonstrations = [
        demonstration_line(t.title, names.get(t.stage_id, ""), loaded.submissions.get(t.id, []))
        for t in own_tasks
    ]
    return EnrolmentRecord(
        enrolment_id=enrolment.id,
        cohort_id=enrolment.cohort_id,
        programme_title=enrolment.programme.title,
        programme_slug=enrolment.programme.slug,
        cohort_name=enrolment.cohort.name,
        start_date=enrolment.start_date,
        status=enrolment.status,
        withdrawn_on=loaded.day_of(enrolment.withdrawn_at),
        stage_name=state.stage.name,
        stage_index=[s.id for s in facts.stages].index(state.stage.id),
        stage_status=state.status,
        day=state.day,
        window_end_day=state.window_end_day,
        gate_met=state.gate_met,
        gate_total=state.gate_total,
        modules_total=len(live_order),
        history=_history(enrolment, loaded.promotions.get(enrolment.id, []), names, loaded.zone),
        modules=_modules(
            own_modules,
            module_rank,
            facts.by_kind["module-completed"],
            enrolment.user_id,
            names,
            positions,
            loaded.zone,
        ),
        assessments=[
            assessment_line(
                a.title, a.purpose, a.pass_mark, a.attempts_allowed, loaded.attempts[a.id]
            )
            for a in own_assessments
            if loaded.attempts.get(a.id)
        ],
        demonstrations=[line for line in demonstrations if line is not None],
        certificates=loaded.certificates.get(enrolment.id, []),
        exemptions=_exemption_lines(
            loaded.exemptions.get(enrolment.id, []), facts, programme_id, names, scope, loaded.zone
        ),
    )


def _history(
    enrolment: Enrolment,
    promotions: list[StagePromotion],
    stage_names: dict[str, str],
    zone: str,
) -> list[StageStep]:
    first = promotions[0].from_stage_id if promotions else enrolment.stage_id
    steps = [StageStep(stage_names.get(first, first), None, enrolment.start_date, 0, "enrolled")]
    for promotion in promotions:
        steps.append(
            StageStep(
                stage_name=stage_names.get(promotion.to_stage_id, promotion.to_stage_id),
                from_stage_name=stage_names.get(promotion.from_stage_id, promotion.from_stage_id),
                on=local_date(promotion.promoted_at, zone),
                day=promotion.on_day,
                summary=evidence_summary(promotion.evidence or []),
            )
        )
    return steps


def _modules(
    modules: list[Module],
    live_rank: dict[int, int],
    completions: dict[tuple[int, int], datetime],
    user_id: int,
    stage_names: dict[str, str],
    positions: dict[str, int],
    zone: str,
) -> list[ModuleLine]:
    """Completed modules in the order a learner meets them; retired ones after the rest."""
    done = [m for m in modules if (user_id, m.id) in completions]
    done.sort(
        key=lambda m: (
            m.id not in live_rank,
            live_rank.get(m.id, 0),
            positions.get(m.stage_id or "", 99),
            m.position,
        )
    )
    return [
        ModuleLine(
            title=m.title,
            stage_name=stage_names.get(m.stage_id or "", ""),
            completed_on=local_date(completions[(user_id, m.id)], zone),
            retired=m.id not in live_rank,
        )
        for m in done
    ]


def _exemption_lines(
    rows: list[Exemption],
    facts: Any,
    programme_id: int,
    stage_names: dict[str, str],
    scope: Scope,
    zone: str,
) -> list[ExemptionLine]:
    gates = facts.gates.get(programme_id, {}) or {}
    stage_of = {
        f"{item['kind']}:{item['ref']}": stage_id
        for stage_id, items in gates.items()
        for item in items
    }
    lines = []
    for exemption in rows:
        kind_id, _, ref = exemption.requirement.partition(":")
        kind = REQUIREMENT_KINDS.get(kind_id)
        label = kind.label(facts.catalogue, programme_id, ref) if kind else exemption.requirement
        stage_id = stage_of.get(exemption.requirement, "")
        lines.append(
            ExemptionLine(
                label=label,
                stage_name=stage_names.get(stage_id, ""),
                granted_on=local_date(exemption.created_at, zone),
                reason=exemption.reason if scope.internal else None,
            )
        )
    return lines
