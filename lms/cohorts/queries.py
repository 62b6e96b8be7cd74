"""What the cohort pages show, gathered in a fixed number of queries whatever a cohort's size.

The cohort table reads the columns the stage engine stores on each enrolment (stage, status,
reason, gate met and total) instead of evaluating gates, so a page of fifty rows costs the same
as a page of five. One enrolment's page runs the engine live. Nothing here writes.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Select, case, distinct, func, literal, or_, select
from sqlalchemy.orm import joinedload, selectinload

from lms.accounts.models import Role, User
from lms.assessments.models import (
    Assessment,
    Attempt,
    AttemptItem,
    ExtraTime,
    Question,
    QuestionVersion,
)
from lms.assessments.statistics import (
    DecisionQuality,
    ItemStatistic,
    ObjectiveStatistic,
    decision_quality,
    item_statistics,
    objective_statistics,
    scenario_scores,
)
from lms.core.paging import Page, paginate, paginate_rows
from lms.core.search import contains
from lms.curricula.models import Module, Objective, Stage
from lms.extensions import db
from lms.figures import figure
from lms.organisation.models import Cohort, Enrolment, OrgUnit
from lms.stages import rules
from lms.stages.engine import EnrolmentState, evaluate_with_facts
from lms.stages.models import ClockHold, ClockPause, StagePromotion, WindowExtension

#: The statuses the cohort pages count and filter by, in the order they are shown.
STATUSES = (
    "on-track",
    "at-risk",
    "overdue",
    "waiting-for-content",
    "active",
    "inactive",
    "withdrawn",
)
#: An enrolment the engine has not evaluated yet has no stored status.
PENDING = "pending"
PER_PAGE = 50


def _shown_status(status: str, stage_status: str | None) -> str:
    if status == "withdrawn":
        return "withdrawn"
    return stage_status or PENDING


def stages() -> list[Stage]:
    return list(db.session.scalars(select(Stage).order_by(Stage.position)))


# The cohort list ------------------------------------------------------------------------------


@dataclass
class CohortSummary:
    cohort: Cohort
    learners: int
    counts: dict[str, int]

    @property
    def enrolments(self) -> int:
        return sum(self.counts.values())


def status_counts(cohort_ids: list[int]) -> dict[int, dict[str, int]]:
    """Enrolments per cohort by shown status (stored stage status, or withdrawn)."""
    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for cohort_id, status, stage_status, number in db.session.execute(
        select(Enrolment.cohort_id, Enrolment.status, Enrolment.stage_status, func.count())
        .where(Enrolment.cohort_id.in_(cohort_ids))
        .group_by(Enrolment.cohort_id, Enrolment.status, Enrolment.stage_status)
    ):
        counts[cohort_id][_shown_status(status, stage_status)] += number
    return counts


def learner_counts(cohort_ids: list[int]) -> dict[int, int]:
    """Distinct people per cohort with an enrolment that is not withdrawn."""
    return {
        cohort_id: number
        for cohort_id, number in db.session.execute(
            select(Enrolment.cohort_id, func.count(distinct(Enrolment.user_id)))
            .where(Enrolment.cohort_id.in_(cohort_ids), Enrolment.status != "withdrawn")
            .group_by(Enrolment.cohort_id)
        )
    }


def cohort_list(statement: Select, page_number: int) -> Page:
    """A page of cohorts (from `managed_cohorts`), each with its learner and status counts."""
    page = paginate(statement, page_number)
    ids = [cohort.id for cohort in page.items]
    counts = status_counts(ids)
    learners = learner_counts(ids)
    page.items = [
        CohortSummary(cohort, learners.get(cohort.id, 0), dict(counts.get(cohort.id, {})))
        for cohort in page.items
    ]
    return page


# One cohort's enrolments ----------------------------------------------------------------------


@dataclass(frozen=True)
class RosterFilters:
    status: str = ""
    programme_id: int | None = None
    stage_id: str = ""
    q: str = ""

    def as_args(self) -> dict[str, Any]:
        """The filters as query-string arguments (for the pager's links)."""
        args = {"status": self.status, "programme": self.programme_id, "stage": self.stage_id}
        args["q"] = self.q
        return {key: value for key, value in args.items() if value}


@dataclass
class RosterRow:
    enrolment_id: int
    user_id: int
    name: str
    email: str
    team: str | None
    programme: str
    stage: str
    start_date: date
    day: int | None
    window_end_day: int | None
    status: str
    reason: str | None
    gate_met: int
    gate_total: int
    paused: bool
    refreshed_at: datetime | None

    @property
    def gate_fraction(self) -> float:
        return self.gate_met / self.gate_total if self.gate_total else 0.0


def _roster_statement(cohort: Cohort, filters: RosterFilters) -> Select:
    statement = (
        select(
            Enrolment.id,
            Enrolment.user_id,
            User.name,
            User.email,
            OrgUnit.name.label("team"),
            Enrolment.programme_id,
            Enrolment.stage_id,
            Enrolment.start_date,
            Enrolment.status,
            Enrolment.stage_status,
            Enrolment.status_reason,
            Enrolment.gate_met,
            Enrolment.gate_total,
            Enrolment.status_refreshed_at,
            Enrolment.withdrawal_reason,
        )
        .join(User, User.id == Enrolment.user_id)
        .outerjoin(OrgUnit, OrgUnit.id == User.team_id)
        .where(Enrolment.cohort_id == cohort.id)
        .order_by(User.name, User.id, Enrolment.programme_id)
    )
    if filters.status == "withdrawn":
        statement = statement.where(Enrolment.status == "withdrawn")
    elif filters.status == PENDING:
        statement = statement.where(
            Enrolment.status != "withdrawn", Enrolment.stage_status.is_(None)
        )
    elif filters.status:
        statement = statement.where(
            Enrolment.status != "withdrawn", Enrolment.stage_status == filters.status
        )
    if filters.programme_id:
        statement = statement.where(Enrolment.programme_id == filters.programme_id)
    if filters.stage_id:
        statement = statement.where(Enrolment.stage_id == filters.stage_id)
    if filters.q:
        statement = statement.where(
            or_(contains(User.name, filters.q), contains(User.email, filters.q))
        )
    return statement


def roster(
    cohort: Cohort, filters: RosterFilters, page_number: int, all_stages: list[Stage], today: date
) -> Page:
    """One page of the cohort's enrolments as `RosterRow`s: five queries, whatever the size."""
    page = paginate_rows(_roster_statement(cohort, filters), page_number, PER_PAGE)
    ids = [row.id for row in page.items]
    pauses: dict[int, list[tuple[date, date | None]]] = defaultdict(list)
    # The clock also stands still while the gate waits for content (the engine's holds).
    stopped: dict[int, list[tuple[date, date | None]]] = defaultdict(list)
    extensions: dict[tuple[int, str], int] = defaultdict(int)
    if ids:
        for enrolment_id, paused_on, resumed_on, kind in db.session.execute(
            select(
                ClockPause.enrolment_id,
                ClockPause.paused_on,
                ClockPause.resumed_on,
                literal("pause"),
            )
            .where(ClockPause.enrolment_id.in_(ids))
            .union_all(
                select(
                    ClockHold.enrolment_id,
                    ClockHold.held_from,
                    ClockHold.released_on,
                    literal("hold"),
                ).where(ClockHold.enrolment_id.in_(ids))
            )
        ):
            stopped[enrolment_id].append((paused_on, resumed_on))
            if kind == "pause":
                pauses[enrolment_id].append((paused_on, resumed_on))
        for enrolment_id, stage_id, days in db.session.execute(
            select(
                WindowExtension.enrolment_id, WindowExtension.stage_id, WindowExtension.days
            ).where(WindowExtension.enrolment_id.in_(ids))
        ):
            extensions[(enrolment_id, stage_id)] += days
    by_stage = {stage.id: stage for stage in all_stages}
    titles = {programme.id: programme.title for programme in cohort.programmes}
    rows = []
    for row in page.items:
        stage = by_stage.get(row.stage_id)
        withdrawn = row.status == "withdrawn"
        window_end = None
        if stage is not None and stage.window_end_day is not None:
            window_end = stage.window_end_day + extensions.get((row.id, row.stage_id), 0)
        rows.append(
            RosterRow(
                enrolment_id=row.id,
                user_id=row.user_id,
                name=row.name,
                email=row.email,
                team=row.team,
                programme=titles.get(row.programme_id, ""),
                stage=stage.name if stage else row.stage_id,
                start_date=row.start_date,
                day=None if withdrawn else rules.clock_day(row.start_date, today, stopped[row.id]),
                window_end_day=window_end,
                status=_shown_status(row.status, row.stage_status),
                reason=row.withdrawal_reason if withdrawn else row.status_reason,
                gate_met=row.gate_met,
                gate_total=row.gate_total,
                paused=any(resumed is None for _, resumed in pauses[row.id]),
                refreshed_at=row.status_refreshed_at,
            )
        )
    page.items = rows
    return page


@dataclass
class AssessmentLink:
    assessment: Assessment
    attempts: int


def cohort_assessments(cohort: Cohort) -> dict[int, list[AssessmentLink]]:
    """The live assessments of the cohort's programmes (pre first, modules in order, post last)
    with the number of graded attempts the cohort's learners made on each."""
    programme_ids = [programme.id for programme in cohort.programmes]
    if not programme_ids:
        return {}
    order = case({"pre": 0, "module": 1, "post": 2}, value=Assessment.purpose, else_=1)
    assessments = list(
        db.session.scalars(
            select(Assessment)
            .outerjoin(Module, Module.id == Assessment.module_id)
            .where(Assessment.programme_id.in_(programme_ids), Assessment.retired_at.is_(None))
            .order_by(Assessment.programme_id, order, Module.position, Assessment.id)
        )
    )
    learners = select(Enrolment.user_id).where(Enrolment.cohort_id == cohort.id)
    attempts = dict(
        db.session.execute(
            select(Attempt.assessment_id, func.count())
            .where(
                Attempt.assessment_id.in_([a.id for a in assessments]),
                Attempt.status != "in-progress",
                Attempt.user_id.in_(learners),
            )
            .group_by(Attempt.assessment_id)
        ).all()
    )
    grouped: dict[int, list[AssessmentLink]] = defaultdict(list)
    for assessment in assessments:
        grouped[assessment.programme_id].append(
            AssessmentLink(assessment, attempts.get(assessment.id, 0))
        )
    return grouped


def learners_to_enrol(cohort: Cohort, query: str, limit: int = 25) -> list[User]:
    """Active learners matching `query` (name or e-mail) not enrolled in the cohort yet (or only
    withdrawn from it). One more than `limit` is returned so a page can say there are more."""
    text = query.strip()
    enrolled = select(Enrolment.user_id).where(
        Enrolment.cohort_id == cohort.id, Enrolment.status != "withdrawn"
    )
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.active.is_(True),
                User.roles.any(Role.name == "learner"),
                User.id.not_in(enrolled),
                or_(contains(User.name, text), contains(User.email, text)),
            )
            .order_by(User.name, User.id)
            .limit(limit + 1)
        )
    )


# One enrolment --------------------------------------------------------------------------------


@dataclass
class TimedAssessment:
    assessment: Assessment
    extra_minutes: int
    reason: str | None
    running: Attempt | None


@dataclass
class EnrolmentRecord:
    enrolment: Enrolment
    state: EnrolmentState
    stage_names: dict[str, str]
    promotions: list[StagePromotion]
    pauses: list[ClockPause]
    extensions: list[WindowExtension]
    exemption_reasons: dict[str, str]
    attempts: list[Attempt]
    timed: list[TimedAssessment]
    today: date

    @property
    def paused_days(self) -> int:
        spans = [(p.paused_on, p.resumed_on) for p in self.pauses]
        return rules.paused_days(spans, self.today)


def enrolment_record(enrolment: Enrolment, today: date) -> EnrolmentRecord:
    """One learner's enrolment: the live state of its stage and gate, its history, and the
    learner's attempts on the programme's assessments (scores only, never their answers)."""
    states, facts = evaluate_with_facts([enrolment], today)
    promotions = list(
        db.session.scalars(
            select(StagePromotion)
            .where(StagePromotion.enrolment_id == enrolment.id)
            .order_by(StagePromotion.promoted_at, StagePromotion.id)
        )
    )
    pauses = list(
        db.session.scalars(
            select(ClockPause)
            .where(ClockPause.enrolment_id == enrolment.id)
            .order_by(ClockPause.paused_on, ClockPause.id)
        )
    )
    extensions = list(
        db.session.scalars(
            select(WindowExtension)
            .where(WindowExtension.enrolment_id == enrolment.id)
            .order_by(WindowExtension.created_at, WindowExtension.id)
        )
    )
    attempts = list(
        db.session.scalars(
            select(Attempt)
            .join(Assessment, Assessment.id == Attempt.assessment_id)
            .where(
                Attempt.user_id == enrolment.user_id,
                Assessment.programme_id == enrolment.programme_id,
            )
            .options(joinedload(Attempt.assessment))
            .order_by(Assessment.title, Attempt.number)
        )
    )
    grants = {
        grant.assessment_id: grant
        for grant in db.session.scalars(
            select(ExtraTime).where(ExtraTime.user_id == enrolment.user_id)
        )
    }
    running = {a.assessment_id: a for a in attempts if a.status == "in-progress"}
    timed = [
        TimedAssessment(
            assessment,
            grants[assessment.id].minutes if assessment.id in grants else 0,
            grants[assessment.id].reason if assessment.id in grants else None,
            running.get(assessment.id),
        )
        for assessment in sorted(facts.catalogue.assessments.values(), key=lambda a: a.title)
        if assessment.time_limit_minutes and assessment.retired_at is None
    ]
    record = EnrolmentRecord(
        enrolment=enrolment,
        state=states[enrolment.id],
        stage_names={stage.id: stage.name for stage in facts.stages},
        promotions=promotions,
        pauses=pauses,
        extensions=extensions,
        exemption_reasons={e.requirement: e.reason for e in enrolment.exemptions},
        attempts=attempts,
        timed=timed,
        today=today,
    )
    return record


# People ---------------------------------------------------------------------------------------


def people(query: str, role: str, page_number: int) -> Page:
    statement = select(User).order_by(User.name, User.id)
    if query:
        text = query.strip()
        statement = statement.where(or_(contains(User.name, text), contains(User.email, text)))
    if role:
        statement = statement.where(User.roles.any(Role.name == role))
    return paginate(statement, page_number)


def active_enrolments(user_ids: list[int]) -> dict[int, list[Enrolment]]:
    """Each user's active enrolments, with cohort and programme loaded."""
    found: dict[int, list[Enrolment]] = defaultdict(list)
    if not user_ids:
        return found
    for enrolment in db.session.scalars(
        select(Enrolment)
        .where(Enrolment.user_id.in_(user_ids), Enrolment.status == "active")
        .options(selectinload(Enrolment.cohort), selectinload(Enrolment.programme))
        .order_by(Enrolment.start_date, Enrolment.id)
    ):
        found[enrolment.user_id].append(enrolment)
    return found


# An assessment over a cohort ------------------------------------------------------------------


@dataclass
class QuestionFigures:
    position: int
    slug: str
    prompt: str
    statistic: ItemStatistic
    #: The objectives it tests (their labels), as its current version is tagged.
    objectives: list[str]


@dataclass
class ObjectiveFigures:
    label: str
    statistic: ObjectiveStatistic


@dataclass
class AssessmentFigures:
    assessment: Assessment
    learners: int
    attempts: int
    mean_score: float | None
    pass_rate: float | None
    questions: list[QuestionFigures]
    objectives: list[ObjectiveFigures]
    decision: DecisionQuality | None
    pair: tuple[Assessment, Assessment] | None
    #: The thresholds of the item notes (figures.yaml), shown beside the tables.
    discrimination_floor: float
    facility_ceiling: float


def _cohort_learners(cohort: Cohort, programme_id: int) -> Select:
    return select(Enrolment.user_id).where(
        Enrolment.cohort_id == cohort.id, Enrolment.programme_id == programme_id
    )


def _graded_items(assessment_ids: list[int], learners: Select) -> pd.DataFrame:
    """One row per graded item of the learners' attempts: learner, attempt, assessment,
    question (slug), type (as shown), credit and points (from the attempt's snapshot)."""
    rows = db.session.execute(
        select(
            Attempt.user_id,
            Attempt.id,
            Attempt.assessment_id,
            Question.slug,
            AttemptItem.snapshot,
            AttemptItem.credit,
        )
        .join(AttemptItem, AttemptItem.attempt_id == Attempt.id)
        .join(QuestionVersion, QuestionVersion.id == AttemptItem.question_version_id)
        .join(Question, Question.id == QuestionVersion.question_id)
        .where(
            Attempt.assessment_id.in_(assessment_ids),
            Attempt.status != "in-progress",
            Attempt.user_id.in_(learners),
            AttemptItem.credit.is_not(None),
        )
    )
    records = [
        {
            "learner": learner,
            "attempt": attempt,
            "assessment": assessment,
            "question": slug,
            "type": (snapshot or {}).get("type"),
            "credit": float(credit),
            "points": float((snapshot or {}).get("points", 1)),
        }
        for learner, attempt, assessment, slug, snapshot, credit in rows
    ]
    columns = ["learner", "attempt", "assessment", "question", "type", "credit", "points"]
    return pd.DataFrame.from_records(records, columns=columns)


def assessment_figures(cohort: Cohort, assessment: Assessment) -> AssessmentFigures:
    """Item statistics over the cohort's learners' graded attempts; for a programme with a
    pre- and a post-assessment, decision quality from their scenario questions."""
    learners = _cohort_learners(cohort, assessment.programme_id)
    learner_count = db.session.scalar(
        select(func.count(distinct(Enrolment.user_id))).where(
            Enrolment.cohort_id == cohort.id, Enrolment.programme_id == assessment.programme_id
        )
    )
    graded = db.session.execute(
        select(Attempt.score, Attempt.max_score, Attempt.passed).where(
            Attempt.assessment_id == assessment.id,
            Attempt.status != "in-progress",
            Attempt.user_id.in_(learners),
        )
    ).all()
    percents = [score / top for score, top, _ in graded if score is not None and top]
    pair = None
    if assessment.purpose in ("pre", "post"):
        ends = {
            a.purpose: a
            for a in db.session.scalars(
                select(Assessment).where(
                    Assessment.programme_id == assessment.programme_id,
                    Assessment.purpose.in_(("pre", "post")),
                    Assessment.retired_at.is_(None),
                )
            )
        }
        if "pre" in ends and "post" in ends:
            pair = (ends["pre"], ends["post"])
    items = _graded_items([assessment.id] + ([pair[0].id, pair[1].id] if pair else []), learners)
    own = items[items["assessment"] == assessment.id]
    floor, ceiling = figure("item-discrimination-floor"), figure("item-facility-ceiling")
    responses = own[["attempt", "question", "credit", "points"]]
    statistics = item_statistics(responses, discrimination_floor=floor, facility_ceiling=ceiling)
    bank = list(
        db.session.scalars(
            select(Question)
            .where(Question.assessment_id == assessment.id)
            .options(selectinload(Question.versions))
        )
    )
    prompts = {question.slug: (question.position, _prompt(question)) for question in bank}
    # Tags as the question's current version gives them: what it is meant to test now.
    tags = {
        question.slug: list(question.versions[-1].spec.get("objectives", []))
        for question in bank
        if question.versions and question.retired_at is None
    }
    labels = _objective_labels(assessment)
    questions = sorted(
        (
            QuestionFigures(
                prompts.get(s.question, (0, ""))[0],
                s.question,
                prompts.get(s.question, (0, ""))[1],
                s,
                [labels.get(tag, tag) for tag in tags.get(s.question, [])],
            )
            for s in statistics
        ),
        key=lambda q: (q.position, q.slug),
    )
    tagged = {tag for found in tags.values() for tag in found}
    # A module's bank reports every objective of the module (one no question tests shows as a
    # gap); a pre- or post-assessment spans the programme, so only the objectives it tests.
    wanted = [key for key in labels if assessment.module_id is not None or key in tagged] + sorted(
        tagged - set(labels)
    )
    objectives = (
        [
            ObjectiveFigures(labels.get(s.objective, s.objective), s)
            for s in objective_statistics(responses, tags, statistics, wanted)
        ]
        if tagged
        else []
    )
    decision = None
    if pair is not None:
        purposes = {pair[0].id: "pre", pair[1].id: "post"}
        both = items[items["assessment"].isin(list(purposes))].assign(
            purpose=lambda frame: frame["assessment"].map(purposes)
        )
        decision = decision_quality(scenario_scores(both))
    return AssessmentFigures(
        assessment=assessment,
        learners=learner_count or 0,
        attempts=len(graded),
        mean_score=sum(percents) / len(percents) if percents else None,
        pass_rate=sum(bool(p) for *_, p in graded) / len(graded) if graded else None,
        questions=questions,
        objectives=objectives,
        decision=decision,
        pair=pair,
        discrimination_floor=floor,
        facility_ceiling=ceiling,
    )


def _objective_labels(assessment: Assessment) -> dict[str, str]:
    """Tag -> the objective's text, in the order of the programme: a module's bank tags its own
    objectives by id, a pre- or post-assessment tags `module-id/objective-id`."""
    rows = db.session.execute(
        select(Module.id, Module.slug, Module.title, Objective.slug, Objective.text)
        .join(Objective, Objective.module_id == Module.id)
        .where(
            Module.programme_id == assessment.programme_id,
            Objective.retired_at.is_(None),
            Module.retired_at.is_(None),
        )
        .order_by(Module.position, Objective.position)
    ).all()
    if assessment.module_id is not None:
        return {
            objective: text
            for module_id, _, _, objective, text in rows
            if module_id == assessment.module_id
        }
    return {
        f"{module}/{objective}": f"{title}: {text}" for _, module, title, objective, text in rows
    }


def _prompt(question: Question) -> str:
    if not question.versions:
        return ""
    return str(question.versions[-1].spec.get("prompt", ""))
