"""The dashboard's figures, aggregated in SQL over the enrolments in view: each section is one or
two GROUP BY queries whatever the number of learners, and the drill-downs are the same conditions
as the counts, listed and paged.

"In view" is what the viewer may see (a manager: the cohorts they manage; leaders and admins:
everyone), narrowed by the filters (cohort, team, region, programme, enrolment start dates).
Enrolments withdrawn are counted in the status table only: they leave every other figure (the
funnel, progress, scores, adoption), as DESIGN.md section 5 says.

Definitions, each used by a count and by its drill-down alike:
- Reached a stage: the enrolment's stage is that stage or a later one.
- On time: the promotion into the stage came on or before the window end day of the stage left
  (plus the window extensions granted in it); late: after. Stages entered from a stage without a
  window (and the first stage) have no "on time".
- Module progress: completed (a ModuleCompletion of the learner, not self-attested), in
  progress (a section done, not completed), not started.
- Scores: each learner's best graded attempt on each assessment, as a share of its points.
- Demonstration queue: submissions waiting for grading or moderation from learners enrolled in
  the task's programme through an enrolment in view; "past the target" as the grading queue says
  (more than `grading-sla-working-days` working days waiting).
- Feature adoption: the shared definition (`lms.metrics.definitions.feature_adoption_rate`)
  counted in SQL: learner × feature pairs taught by an enrolment in force today, and of those the
  pairs with use in the last N days (the organisation's calendar days). Learners are counted
  once per feature whatever the number of their programmes that teach it. A test holds these
  figures equal to `lms.adoption.utilisation`'s on the same data.
- Change against baseline: the metric registry's functions on the team records of the teams of
  the learners in view (`lms.metrics.data.load_frames`, then each team's rows).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Any

import pandas as pd
from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    distinct,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.orm import aliased

from lms.accounts.models import User
from lms.adoption.models import Feature, Platform, UsageEvent, feature_modules
from lms.assessments.models import Assessment, Attempt
from lms.core.timeutil import start_of_day
from lms.curricula.models import LessonSection, Module, Programme, Stage
from lms.demonstrations.models import DemonstrationTask, Submission
from lms.demonstrations.operations import (
    WAITING,
    age_in_working_days,
    enrolment_covers_submission,
    sla_days,
    submitted_before,
)
from lms.extensions import db
from lms.figures import figure
from lms.learning.models import ModuleCompletion, SectionProgress
from lms.metrics.data import ORGANISATION, Scope, load_frames
from lms.metrics.definitions import MANUAL_PROCESSES, METRICS, PRODUCTIVITY, ROI, MetricResult
from lms.organisation.models import Cohort, Enrolment, OrgUnit
from lms.stages.models import StagePromotion, WindowExtension

#: The statuses as the cohort pages show and order them; "pending" is not evaluated yet.
STATUSES = (
    "on-track",
    "at-risk",
    "overdue",
    "waiting-for-content",
    "active",
    "inactive",
    "pending",
    "withdrawn",
)
PENDING = "pending"
WITHDRAWN = "withdrawn"
AT_RISK = ("overdue", "at-risk")
#: The business metrics shown against their baseline, in this order.
CHANGE_METRICS = (PRODUCTIVITY, MANUAL_PROCESSES, ROI)
#: Score bands: (lowest share included, label); each runs to the next band's start.
SCORE_BANDS = ((0.0, "0–19%"), (0.2, "20–39%"), (0.4, "40–59%"), (0.6, "60–79%"), (0.8, "80–100%"))
#: A team value for "learners without a team" in filters of drill-downs.
NO_TEAM = "none"


def shown_status(status: str, stage_status: str | None) -> str:
    """An enrolment's status as the cohort pages show it: withdrawn, or the stored stage status
    (pending until the stage engine has evaluated it)."""
    if status == WITHDRAWN:
        return WITHDRAWN
    return stage_status or PENDING


# Who looks, and at what --------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    cohort_id: int | None = None
    team_id: int | None = None
    region_id: int | None = None
    programme_id: int | None = None
    start_from: date | None = None
    start_to: date | None = None

    def as_args(self) -> dict[str, Any]:
        """The filters as query-string arguments (for links that keep them)."""
        args = {
            "cohort": self.cohort_id,
            "team": self.team_id,
            "region": self.region_id,
            "programme": self.programme_id,
            "start_from": self.start_from.isoformat() if self.start_from else None,
            "start_to": self.start_to.isoformat() if self.start_to else None,
        }
        return {key: value for key, value in args.items() if value is not None}

    @property
    def any(self) -> bool:
        return bool(self.as_args())


@dataclass(frozen=True)
class Viewer:
    user_id: int
    #: Leaders and admins see every cohort; anyone else the cohorts they manage.
    sees_everything: bool

    @classmethod
    def of(cls, user: User) -> Viewer:
        return cls(user.id, user.has_role("leader", "admin"))


def managed_cohort_ids(user_id: int) -> Select:
    return select(Cohort.id).where(Cohort.manager_id == user_id)


@dataclass(frozen=True)
class View:
    """The enrolments a viewer sees through the filters, on `today` in time zone `zone`."""

    viewer: Viewer
    filters: Filters
    today: date
    zone: str

    @cached_property
    def conditions(self) -> tuple[ColumnElement[bool], ...]:
        """Conditions on `Enrolment` joined with its `User`."""
        found: list[ColumnElement[bool]] = []
        f = self.filters
        if not self.viewer.sees_everything:
            found.append(Enrolment.cohort_id.in_(managed_cohort_ids(self.viewer.user_id)))
        if f.cohort_id is not None:
            found.append(Enrolment.cohort_id == f.cohort_id)
        if f.team_id is not None:
            found.append(User.team_id == f.team_id)
        if f.region_id is not None:
            found.append(
                User.team_id.in_(
                    select(OrgUnit.id).where(
                        or_(OrgUnit.id == f.region_id, OrgUnit.parent_id == f.region_id)
                    )
                )
            )
        if f.programme_id is not None:
            found.append(Enrolment.programme_id == f.programme_id)
        if f.start_from is not None:
            found.append(Enrolment.start_date >= f.start_from)
        if f.start_to is not None:
            found.append(Enrolment.start_date <= f.start_to)
        return tuple(found)

    @property
    def current(self) -> tuple[ColumnElement[bool], ...]:
        """The enrolments in view that are not withdrawn."""
        return (*self.conditions, Enrolment.status != WITHDRAWN)

    def enrolments(self, *columns: Any, withdrawn: bool = False) -> Select:
        """select(columns) from the enrolments in view (not withdrawn unless asked)."""
        return (
            select(*columns)
            .select_from(Enrolment)
            .join(User, User.id == Enrolment.user_id)
            .where(*(self.conditions if withdrawn else self.current))
        )

    @property
    def day_end(self) -> datetime:
        """The end of `today` in the organisation's calendar, as naive UTC (as stored)."""
        return start_of_day(self.today + timedelta(days=1), self.zone)

    @property
    def window_days(self) -> int:
        return int(figure("feature-use-window-days"))

    @property
    def window_start(self) -> datetime:
        return start_of_day(self.today - timedelta(days=self.window_days - 1), self.zone)


# Shared conditions (a count and its drill-down use the same one) ----------------------------


def _extension_days() -> Any:
    """Days of window extension granted to a promotion's enrolment in the stage it left."""
    return (
        select(func.coalesce(func.sum(WindowExtension.days), 0))
        .where(
            WindowExtension.enrolment_id == StagePromotion.enrolment_id,
            WindowExtension.stage_id == StagePromotion.from_stage_id,
        )
        .scalar_subquery()
    )


LEFT_STAGE = aliased(Stage, name="left_stage")


def _on_time() -> ColumnElement[bool]:
    """A promotion (joined with the stage it left, `LEFT_STAGE`) on or before that stage's
    window end plus its extensions."""
    return StagePromotion.on_day <= LEFT_STAGE.window_end_day + _extension_days()


def _completed(module_id: Any) -> ColumnElement[bool]:
    return exists().where(
        ModuleCompletion.user_id == Enrolment.user_id,
        ModuleCompletion.module_id == module_id,
        ModuleCompletion.self_attested.is_(False),  # a self-attested one counts for nothing
    )


def _started(module_id: Any) -> ColumnElement[bool]:
    """A section of the module done (completed or not)."""
    return exists().where(
        SectionProgress.user_id == Enrolment.user_id,
        SectionProgress.section_id == LessonSection.id,
        LessonSection.module_id == module_id,
        LessonSection.retired_at.is_(None),
    )


def _best_scores(view: View) -> Any:
    """Each learner's best graded attempt on each assessment (share of points, passed or not),
    over the learners in view."""
    learners = view.enrolments(Enrolment.user_id)
    return (
        select(
            Attempt.assessment_id.label("assessment_id"),
            Attempt.user_id.label("user_id"),
            func.max(Attempt.score / Attempt.max_score).label("best"),
            func.max(case((Attempt.passed.is_(True), 1), else_=0)).label("passed"),
        )
        .where(
            Attempt.status != "in-progress",
            Attempt.score.is_not(None),
            Attempt.max_score > 0,
            Attempt.user_id.in_(learners),
        )
        .group_by(Attempt.assessment_id, Attempt.user_id)
        .subquery("best")
    )


def _band(best: Any) -> Any:
    """The index of the score band a share falls in."""
    return case(
        *[(best < start, index - 1) for index, (start, _) in enumerate(SCORE_BANDS) if index],
        else_=len(SCORE_BANDS) - 1,
    )


def _waiting(view: View, columns: Iterable[Any], *conditions: ColumnElement[bool]) -> Select:
    """select(columns) of the submissions waiting (grading or moderation) from learners with an
    enrolment in view in the task's programme; the enrolment may be withdrawn (work sent before
    the withdrawal still waits), as in the grading queue."""
    in_view = (
        select(Enrolment.id)
        .join(User, User.id == Enrolment.user_id)
        .where(enrolment_covers_submission(), *view.conditions)
        .correlate(Submission, DemonstrationTask)
        .exists()
    )
    return (
        select(*columns)
        .select_from(Submission)
        .join(DemonstrationTask, DemonstrationTask.id == Submission.task_id)
        .where(Submission.status.in_(WAITING), in_view, *conditions)
    )


def _in_force(view: View) -> tuple[ColumnElement[bool], ...]:
    """Enrolments in view in force today (started, not withdrawn): the adoption group."""
    return (*view.current, Enrolment.start_date <= view.today)


def _live(column: Any, view: View) -> ColumnElement[bool]:
    """A retirement time not reached by the end of today."""
    return or_(column.is_(None), column >= view.day_end)


def _taught_pairs(view: View) -> Select:
    """Distinct learner × feature pairs taught to the learners in view (with their team)."""
    return (
        select(Enrolment.user_id, User.team_id, feature_modules.c.feature_id)
        .select_from(Enrolment)
        .join(User, User.id == Enrolment.user_id)
        .join(Module, Module.programme_id == Enrolment.programme_id)
        .join(feature_modules, feature_modules.c.module_id == Module.id)
        .join(Feature, Feature.id == feature_modules.c.feature_id)
        .where(*_in_force(view), _live(Module.retired_at, view), _live(Feature.retired_at, view))
        .distinct()
    )


def _used_pairs(view: View) -> Select:
    """Distinct learner × feature pairs with use in the window (a positive count on a day)."""
    return (
        select(UsageEvent.user_id, UsageEvent.feature_id)
        .where(
            UsageEvent.occurred_at >= view.window_start,
            UsageEvent.occurred_at < view.day_end,
            UsageEvent.count > 0,
        )
        .distinct()
    )


def _used(view: View, user_id: Any, feature_id: Any) -> ColumnElement[bool]:
    """The learner used the feature in the window (a positive count on one of its days)."""
    return (
        select(UsageEvent.id)
        .where(
            UsageEvent.user_id == user_id,
            UsageEvent.feature_id == feature_id,
            UsageEvent.occurred_at >= view.window_start,
            UsageEvent.occurred_at < view.day_end,
            UsageEvent.count > 0,
        )
        .exists()
    )


# The figures --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    id: int
    name: str


@dataclass
class StageRow:
    stage: Stage
    now: int
    reached: int
    on_time: int | None
    late: int | None


@dataclass
class ModuleRow:
    module_id: int
    programme: str
    title: str
    stage: str
    enrolled: int
    completed: int
    started: int

    @property
    def not_started(self) -> int:
        return self.enrolled - self.completed - self.started

    @property
    def completed_share(self) -> float | None:
        return self.completed / self.enrolled if self.enrolled else None


@dataclass
class AssessmentRow:
    assessment_id: int
    programme: str
    title: str
    purpose: str
    learners: int = 0
    passed: int = 0
    total_best: float = 0.0
    bands: list[int] = field(default_factory=lambda: [0] * len(SCORE_BANDS))

    @property
    def mean(self) -> float | None:
        return self.total_best / self.learners if self.learners else None


@dataclass
class QueueRow:
    stage: Stage
    grading: int = 0
    moderation: int = 0
    late: int = 0
    oldest: datetime | None = None

    @property
    def waiting(self) -> int:
        return self.grading + self.moderation


@dataclass
class AdoptionCell:
    taught: int
    adopted: int

    @property
    def rate(self) -> float | None:
        return self.adopted / self.taught if self.taught else None


@dataclass
class AdoptionRow:
    team_id: int | None
    name: str
    learners: int
    cells: dict[int, AdoptionCell]

    @property
    def pairs(self) -> int:
        return sum(cell.taught for cell in self.cells.values())

    @property
    def adopted(self) -> int:
        return sum(cell.adopted for cell in self.cells.values())

    @property
    def rate(self) -> float | None:
        return self.adopted / self.pairs if self.pairs else None


@dataclass(frozen=True)
class FeatureColumn:
    id: int
    name: str
    platform: str
    #: The name, with the platform's when another platform has a feature of the same name.
    title: str = ""


@dataclass
class LearnerAdoption:
    """One learner of the chosen team: per feature, taught or not and uses in the window."""

    user_id: int
    name: str
    taught: set[int]
    uses: dict[int, int]

    @property
    def taught_used(self) -> int:
        return sum(1 for feature in self.taught if self.uses.get(feature, 0) > 0)

    @property
    def breadth(self) -> float | None:
        return self.taught_used / len(self.taught) if self.taught else None

    @property
    def total_uses(self) -> int:
        return sum(self.uses.values())


@dataclass
class ChangeRow:
    """The change metrics for a group of teams (all those in view, or one)."""

    team_id: int | None
    name: str
    results: dict[str, MetricResult]


class Figures:
    """Every figure of the dashboard for one view, computed on first use: the page asks for
    all of them, an export for one table's only."""

    def __init__(self, view: View) -> None:
        self.view = view

    # Enrolments by programme, stage and status (one query) --------------------------------

    @cached_property
    def _counts(self) -> list[tuple[int, str, str, str | None, int]]:
        return [
            tuple(row)
            for row in db.session.execute(
                self.view.enrolments(
                    Enrolment.programme_id,
                    Enrolment.stage_id,
                    Enrolment.status,
                    Enrolment.stage_status,
                    func.count(),
                    withdrawn=True,
                ).group_by(
                    Enrolment.programme_id,
                    Enrolment.stage_id,
                    Enrolment.status,
                    Enrolment.stage_status,
                )
            )
        ]

    @cached_property
    def status_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for _, _, status, stage_status, number in self._counts:
            shown = shown_status(status, stage_status)
            counts[shown] = counts.get(shown, 0) + number
        return counts

    @property
    def enrolments(self) -> int:
        """Enrolments in view, withdrawn ones included."""
        return sum(self.status_counts.values())

    @cached_property
    def enrolled_by_programme(self) -> dict[int, int]:
        counts: dict[int, int] = defaultdict(int)
        for programme_id, _, status, _, number in self._counts:
            if status != WITHDRAWN:
                counts[programme_id] += number
        return dict(counts)

    @cached_property
    def learners(self) -> int:
        """Learners with an enrolment in view that is not withdrawn."""
        return db.session.scalar(self.view.enrolments(func.count(distinct(Enrolment.user_id)))) or 0

    # The stage funnel -------------------------------------------------------------------------

    @cached_property
    def stages(self) -> list[Stage]:
        return list(db.session.scalars(select(Stage).order_by(Stage.position)))

    @cached_property
    def funnel(self) -> list[StageRow]:
        now: dict[str, int] = defaultdict(int)
        for _, stage_id, status, _, number in self._counts:
            if status != WITHDRAWN:
                now[stage_id] += number
        timing = {
            to_stage: (int(on_time or 0), int(total))
            for to_stage, on_time, total in db.session.execute(
                self.view.enrolments(
                    StagePromotion.to_stage_id,
                    func.sum(case((_on_time(), 1), else_=0)),
                    func.count(),
                )
                .join(StagePromotion, StagePromotion.enrolment_id == Enrolment.id)
                .join(LEFT_STAGE, LEFT_STAGE.id == StagePromotion.from_stage_id)
                .where(LEFT_STAGE.window_end_day.is_not(None))
                .group_by(StagePromotion.to_stage_id)
            )
        }
        timed = self.timed_stages
        rows = []
        for stage in self.stages:
            reached = sum(now[s.id] for s in self.stages if s.position >= stage.position)
            on_time, total = timing.get(stage.id, (0, 0))
            rows.append(
                StageRow(
                    stage=stage,
                    now=now[stage.id],
                    reached=reached,
                    on_time=on_time if stage.id in timed else None,
                    late=total - on_time if stage.id in timed else None,
                )
            )
        return rows

    @property
    def timed_stages(self) -> set[str]:
        """Stages entered from a windowed stage: those with an "on time"."""
        return stages_with_timing(self.stages)

    # Progress by module -----------------------------------------------------------------------

    @cached_property
    def programme_ids(self) -> list[int]:
        return sorted(self.enrolled_by_programme)

    @cached_property
    def modules(self) -> list[ModuleRow]:
        """Live modules of the programmes in view, in path order (stage, then position)."""
        positions = {stage.id: stage.position for stage in self.stages}
        names = {stage.id: stage.name for stage in self.stages}
        found = db.session.execute(
            select(Module.id, Module.programme_id, Module.title, Module.stage_id, Module.position)
            .add_columns(Programme.title)
            .join(Programme, Programme.id == Module.programme_id)
            .where(Module.programme_id.in_(self.programme_ids), Module.retired_at.is_(None))
        ).all()
        # Joins rather than the drill-down's EXISTS per enrolment × module: the same sets (a
        # completion is unique per learner and module), a fraction of the work on large views.
        completed = dict(
            db.session.execute(
                self.view.enrolments(ModuleCompletion.module_id, func.count())
                .join(ModuleCompletion, ModuleCompletion.user_id == Enrolment.user_id)
                .join(
                    Module,
                    and_(
                        Module.id == ModuleCompletion.module_id,
                        Module.programme_id == Enrolment.programme_id,
                    ),
                )
                .where(Module.retired_at.is_(None), ModuleCompletion.self_attested.is_(False))
                .group_by(ModuleCompletion.module_id)
            ).all()
        )
        done = aliased(ModuleCompletion)
        started = dict(
            db.session.execute(
                self.view.enrolments(LessonSection.module_id, func.count(distinct(Enrolment.id)))
                .join(SectionProgress, SectionProgress.user_id == Enrolment.user_id)
                .join(LessonSection, LessonSection.id == SectionProgress.section_id)
                .join(
                    Module,
                    and_(
                        Module.id == LessonSection.module_id,
                        Module.programme_id == Enrolment.programme_id,
                    ),
                )
                .outerjoin(
                    done,
                    and_(
                        done.user_id == Enrolment.user_id,
                        done.module_id == Module.id,
                        done.self_attested.is_(False),
                    ),
                )
                .where(
                    Module.retired_at.is_(None),
                    LessonSection.retired_at.is_(None),
                    done.id.is_(None),
                )
                .group_by(LessonSection.module_id)
            ).all()
        )
        rows = [
            ModuleRow(
                module_id=module_id,
                programme=programme_title,
                title=title,
                stage=names.get(stage_id or "", ""),
                enrolled=self.enrolled_by_programme.get(programme_id, 0),
                completed=completed.get(module_id, 0),
                started=started.get(module_id, 0),
            )
            for module_id, programme_id, title, stage_id, position, programme_title in sorted(
                found,
                key=lambda row: (row[5].casefold(), positions.get(row[3] or "", 99), row[4]),
            )
        ]
        return rows

    # Scores -----------------------------------------------------------------------------------

    @cached_property
    def assessments(self) -> list[AssessmentRow]:
        order = case({"pre": 0, "module": 1, "post": 2}, value=Assessment.purpose, else_=1)
        rows = {
            assessment_id: AssessmentRow(assessment_id, programme, title, purpose)
            for assessment_id, programme, title, purpose in db.session.execute(
                select(Assessment.id, Programme.title, Assessment.title, Assessment.purpose)
                .join(Programme, Programme.id == Assessment.programme_id)
                .outerjoin(Module, Module.id == Assessment.module_id)
                .where(
                    Assessment.programme_id.in_(self.programme_ids),
                    Assessment.retired_at.is_(None),
                )
                .order_by(Programme.title, order, Module.position, Assessment.id)
            )
        }
        best = _best_scores(self.view)
        band = _band(best.c.best)
        for assessment_id, band_index, learners, passed, total in db.session.execute(
            self.view.enrolments(
                best.c.assessment_id,
                band,
                func.count(),
                func.sum(best.c.passed),
                func.sum(best.c.best),
            )
            .join(Assessment, Assessment.programme_id == Enrolment.programme_id)
            .join(
                best,
                and_(best.c.assessment_id == Assessment.id, best.c.user_id == Enrolment.user_id),
            )
            .group_by(best.c.assessment_id, band)
        ):
            row = rows.get(assessment_id)
            if row is None:
                continue
            row.learners += learners
            row.passed += int(passed or 0)
            row.total_best += float(total or 0)
            row.bands[int(band_index)] += learners
        return list(rows.values())

    @property
    def score_bands(self) -> list[int]:
        """Learner × assessment best scores in each band, over every assessment in view."""
        return [sum(row.bands[i] for row in self.assessments) for i in range(len(SCORE_BANDS))]

    # The demonstration queue ------------------------------------------------------------------

    @cached_property
    def queue(self) -> list[QueueRow]:
        late_before = submitted_before(sla_days() + 1)
        statement = _waiting(
            self.view,
            (
                DemonstrationTask.stage_id,
                Submission.status,
                func.count(),
                func.sum(case((Submission.submitted_at < late_before, 1), else_=0)),
                func.min(Submission.submitted_at),
            ),
        )
        rows = {stage.id: QueueRow(stage) for stage in self.stages}
        for stage_id, status, number, late, oldest in db.session.execute(
            statement.group_by(DemonstrationTask.stage_id, Submission.status)
        ):
            row = rows.get(stage_id)
            if row is None:
                continue
            if status == "moderation":
                row.moderation += number
            else:
                row.grading += number
            row.late += int(late or 0)
            if oldest is not None and (row.oldest is None or oldest < row.oldest):
                row.oldest = oldest
        return list(rows.values())

    def oldest_age(self, row: QueueRow) -> int | None:
        return age_in_working_days(row.oldest, self.view.today) if row.oldest else None

    # Feature adoption -------------------------------------------------------------------------

    @cached_property
    def features(self) -> dict[int, FeatureColumn]:
        """The catalogue (live features), in catalogue order."""
        rows = db.session.execute(
            select(Feature.id, Feature.name, Platform.name)
            .join(Platform, Platform.id == Feature.platform_id)
            .where(_live(Feature.retired_at, self.view))
            .order_by(Platform.id, Feature.position, Feature.id)
        ).all()
        names = defaultdict(int)
        for _, name, _ in rows:
            names[name.casefold()] += 1
        return {
            feature_id: FeatureColumn(
                feature_id,
                name,
                platform,
                f"{name} ({platform})" if names[name.casefold()] > 1 else name,
            )
            for feature_id, name, platform in rows
        }

    @cached_property
    def _team_names(self) -> dict[int, str]:
        return dict(
            db.session.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.kind == "team")).all()
        )

    @cached_property
    def adoption(self) -> list[AdoptionRow]:
        """Team × feature: learners taught the feature and, of them, those who used it."""
        pairs = _taught_pairs(self.view).subquery("pairs")
        # The pairs used in the window, joined once rather than an EXISTS per pair: the same
        # count (both sides are distinct pairs), and PostgreSQL hashes it four times faster at
        # 10,000 learners (SQLite is as fast either way).
        used = (
            _used_pairs(self.view)
            .where(UsageEvent.user_id.in_(select(pairs.c.user_id)))
            .subquery("used")
        )
        cells: dict[int | None, dict[int, AdoptionCell]] = defaultdict(dict)
        for team_id, feature_id, taught, adopted in db.session.execute(
            select(pairs.c.team_id, pairs.c.feature_id, func.count(), func.count(used.c.user_id))
            .select_from(pairs)
            .outerjoin(
                used,
                and_(used.c.user_id == pairs.c.user_id, used.c.feature_id == pairs.c.feature_id),
            )
            .group_by(pairs.c.team_id, pairs.c.feature_id)
        ):
            cells[team_id][feature_id] = AdoptionCell(int(taught), int(adopted or 0))
        learners = dict(
            db.session.execute(
                select(User.team_id, func.count(distinct(Enrolment.user_id)))
                .select_from(Enrolment)
                .join(User, User.id == Enrolment.user_id)
                .where(*_in_force(self.view))
                .group_by(User.team_id)
            ).all()
        )
        names = self._team_names
        teams = sorted(
            set(learners) | set(cells),
            key=lambda team: (team is None, (names.get(team) or "").casefold()),
        )
        return [
            AdoptionRow(
                team_id=team,
                name=names.get(team, "No team") if team is not None else "No team",
                learners=learners.get(team, 0),
                cells=cells.get(team, {}),
            )
            for team in teams
        ]

    @property
    def adoption_columns(self) -> list[FeatureColumn]:
        """Features taught to someone in view, in catalogue order."""
        taught = {feature for row in self.adoption for feature in row.cells}
        return [column for fid, column in self.features.items() if fid in taught]

    @cached_property
    def adoption_total(self) -> AdoptionRow:
        cells: dict[int, AdoptionCell] = {}
        for row in self.adoption:
            for feature, cell in row.cells.items():
                total = cells.setdefault(feature, AdoptionCell(0, 0))
                total.taught += cell.taught
                total.adopted += cell.adopted
        # A learner has one team, so the teams' distinct learners add up to the whole.
        learners = sum(row.learners for row in self.adoption)
        return AdoptionRow(None, "All learners in view", learners, cells)

    def adoption_learner_statement(self) -> Select:
        """The learners in the adoption group, by name (for the per-learner table)."""
        group = (
            select(Enrolment.user_id)
            .join(User, User.id == Enrolment.user_id)
            .where(*_in_force(self.view))
        )
        return (
            select(User.id, User.name)
            .where(User.id.in_(group.correlate(None)))
            .order_by(User.name, User.id)
        )

    def learner_adoption(self, learners: list[tuple[int, str]]) -> list[LearnerAdoption]:
        """Per learner of `learners` (id, name): the features taught to them and their uses of
        every feature in the window. Two queries, whatever the number of learners."""
        ids = [user_id for user_id, _ in learners]
        taught: dict[int, set[int]] = defaultdict(set)
        pairs = _taught_pairs(self.view).where(Enrolment.user_id.in_(ids))
        for user_id, _, feature_id in db.session.execute(pairs):
            taught[user_id].add(feature_id)
        uses: dict[int, dict[int, int]] = defaultdict(dict)
        for user_id, feature_id, count in db.session.execute(
            select(UsageEvent.user_id, UsageEvent.feature_id, func.sum(UsageEvent.count))
            .where(
                UsageEvent.user_id.in_(ids),
                UsageEvent.occurred_at >= self.view.window_start,
                UsageEvent.occurred_at < self.view.day_end,
                UsageEvent.count > 0,
                UsageEvent.feature_id.in_(list(self.features)),
            )
            .group_by(UsageEvent.user_id, UsageEvent.feature_id)
        ):
            uses[user_id][feature_id] = int(count or 0)
        return [
            LearnerAdoption(user_id, name, taught.get(user_id, set()), uses.get(user_id, {}))
            for user_id, name in learners
        ]

    # Change against baseline ------------------------------------------------------------------

    @cached_property
    def team_ids(self) -> list[int]:
        """The teams of the learners in view (withdrawn enrolments left out)."""
        return sorted(
            team
            for team in db.session.scalars(self.view.enrolments(User.team_id).distinct())
            if team is not None
        )

    @cached_property
    def change(self) -> list[ChangeRow]:
        """The change metrics pooled over the teams in view, then for each of them."""
        names = [name for metric in CHANGE_METRICS for name in METRICS[metric].frames]
        frames = load_frames(Scope(ORGANISATION, 0, ""), names, self.view.today)
        team_names = self._team_names
        rows = [
            ChangeRow(None, "All teams in view", self._change(frames, self.team_ids)),
        ]
        for team in sorted(self.team_ids, key=lambda t: team_names.get(t, "").casefold()):
            rows.append(ChangeRow(team, team_names.get(team, ""), self._change(frames, [team])))
        return rows

    def _change(self, frames: dict[str, pd.DataFrame], teams: Iterable[int]) -> dict:
        mine = teams_frames(frames, teams)
        return {metric: METRICS[metric].compute(mine, self.view.today) for metric in CHANGE_METRICS}


def stages_with_timing(stages: list[Stage]) -> set[str]:
    """Stages entered from a windowed stage: those with an "on time"."""
    return {
        stage.id
        for before, stage in zip(stages, stages[1:], strict=False)
        if before.window_end_day is not None
    }


def teams_frames(frames: dict[str, pd.DataFrame], teams: Iterable[int]) -> dict[str, pd.DataFrame]:
    """The team-record frames narrowed to `teams` (process changes: those of their steps)."""
    wanted = set(teams)
    narrowed = {}
    for name, frame in frames.items():
        if "team" in frame.columns:
            narrowed[name] = frame[frame["team"].isin(wanted)]
        else:
            narrowed[name] = frame
    if "process_changes" in narrowed and "process_steps" in narrowed:
        steps = set(narrowed["process_steps"]["step"]) if len(narrowed["process_steps"]) else set()
        changes = narrowed["process_changes"]
        if len(changes):
            narrowed["process_changes"] = changes[changes["step"].isin(steps)]
    return narrowed


# Filter choices -------------------------------------------------------------------------------


@dataclass
class Choices:
    cohorts: list[Option]
    teams: list[Option]
    regions: list[Option]
    programmes: list[Option]


def choices_for(viewer: Viewer) -> Choices:
    """What the viewer may filter by: leaders and admins everything; a manager their cohorts,
    the teams and regions of those cohorts' learners, and the programmes those cohorts take."""
    cohorts = select(Cohort.id, Cohort.name).order_by(Cohort.start_date.desc(), Cohort.name)
    teams = select(OrgUnit.id, OrgUnit.name).where(OrgUnit.kind == "team").order_by(OrgUnit.name)
    regions = (
        select(OrgUnit.id, OrgUnit.name).where(OrgUnit.kind == "region").order_by(OrgUnit.name)
    )
    programmes = select(Programme.id, Programme.title).order_by(Programme.title)
    if viewer.sees_everything:
        programmes = programmes.where(Programme.id.in_(select(Enrolment.programme_id).distinct()))
    else:
        mine = managed_cohort_ids(viewer.user_id)
        cohorts = cohorts.where(Cohort.manager_id == viewer.user_id)
        their_teams = (
            select(User.team_id)
            .join(Enrolment, Enrolment.user_id == User.id)
            .where(Enrolment.cohort_id.in_(mine))
        )
        teams = teams.where(OrgUnit.id.in_(their_teams))
        team = aliased(OrgUnit)
        regions = regions.where(
            OrgUnit.id.in_(select(team.parent_id).where(team.id.in_(their_teams)))
        )
        programmes = programmes.where(
            Programme.id.in_(select(Enrolment.programme_id).where(Enrolment.cohort_id.in_(mine)))
        )

    def options(statement: Select) -> list[Option]:
        return [Option(row[0], row[1]) for row in db.session.execute(statement)]

    return Choices(options(cohorts), options(teams), options(regions), options(programmes))


# Drill-downs ----------------------------------------------------------------------------------

ENROLMENTS = "enrolments"
LEARNERS = "learners"
SUBMISSIONS = "submissions"
#: Learner × feature pairs (the unit of the adoption rate).
PAIRS = "pairs"


class UnknownFigure(LookupError):
    pass


@dataclass
class DrillDown:
    """The learners (or enrolments, or submissions) behind one figure."""

    kind: str
    title: str
    statement: Select
    #: For a list about one feature: that feature (its uses are shown per learner).
    feature: FeatureColumn | None = None


def _int(text: str) -> int:
    if not text.isdecimal():
        raise UnknownFigure(text)
    return int(text)


def _stage(figures: Figures, value: str) -> Stage:
    found = next((stage for stage in figures.stages if stage.id == value), None)
    if found is None:
        raise UnknownFigure(value)
    return found


def enrolment_rows(view: View, *conditions: ColumnElement[bool], withdrawn: bool = False) -> Select:
    """Enrolments in view meeting `conditions`, with what a drill-down shows, by name."""
    return (
        view.enrolments(
            Enrolment.id,
            Enrolment.user_id,
            Enrolment.cohort_id,
            User.name,
            OrgUnit.name.label("team"),
            Cohort.name.label("cohort"),
            Programme.title.label("programme"),
            Stage.name.label("stage"),
            Enrolment.status,
            Enrolment.stage_status,
            Enrolment.status_reason,
            Enrolment.withdrawal_reason,
            Enrolment.gate_met,
            Enrolment.gate_total,
            withdrawn=withdrawn,
        )
        .outerjoin(OrgUnit, OrgUnit.id == User.team_id)
        .join(Cohort, Cohort.id == Enrolment.cohort_id)
        .join(Programme, Programme.id == Enrolment.programme_id)
        .join(Stage, Stage.id == Enrolment.stage_id)
        .where(*conditions)
        .order_by(User.name, User.id, Programme.title, Enrolment.id)
    )


def risk_rows(view: View) -> Select:
    """At-risk and overdue enrolments in view: overdue first, then by name."""
    return (
        enrolment_rows(view, Enrolment.stage_status.in_(AT_RISK))
        .order_by(None)
        .order_by(
            case((Enrolment.stage_status == "overdue", 0), else_=1),
            User.name,
            User.id,
            Programme.title,
            Enrolment.id,
        )
    )


def drill_down(figures: Figures, figure: str, value: str) -> DrillDown:
    """The list behind `figure` = `value` (the dashboard's links say which); UnknownFigure for
    anything else."""
    view = figures.view
    if figure == "status":
        if value not in STATUSES:
            raise UnknownFigure(value)
        if value == WITHDRAWN:
            condition = Enrolment.status == WITHDRAWN
        elif value == PENDING:
            condition = and_(Enrolment.status != WITHDRAWN, Enrolment.stage_status.is_(None))
        else:
            condition = and_(Enrolment.status != WITHDRAWN, Enrolment.stage_status == value)
        return DrillDown(
            ENROLMENTS,
            f"Enrolments with the status {value}",
            enrolment_rows(view, condition, withdrawn=True),
        )
    if figure == "enrolments":
        return DrillDown(ENROLMENTS, "Enrolments", enrolment_rows(view))
    if figure == "at-risk":
        return DrillDown(ENROLMENTS, "At-risk and overdue enrolments", risk_rows(view))
    if figure in ("stage-now", "stage-reached", "stage-on-time", "stage-late"):
        stage = _stage(figures, value)
        if figure == "stage-now":
            return DrillDown(
                ENROLMENTS,
                f"Enrolments in {stage.name} now",
                enrolment_rows(view, Enrolment.stage_id == stage.id),
            )
        if figure == "stage-reached":
            later = [s.id for s in figures.stages if s.position >= stage.position]
            return DrillDown(
                ENROLMENTS,
                f"Enrolments that reached {stage.name}",
                enrolment_rows(view, Enrolment.stage_id.in_(later)),
            )
        if stage.id not in figures.timed_stages:
            raise UnknownFigure(value)
        timing = _on_time() if figure == "stage-on-time" else ~_on_time()
        promoted = (
            select(StagePromotion.id)
            .join(LEFT_STAGE, LEFT_STAGE.id == StagePromotion.from_stage_id)
            .where(
                StagePromotion.enrolment_id == Enrolment.id,
                StagePromotion.to_stage_id == stage.id,
                LEFT_STAGE.window_end_day.is_not(None),
                timing,
            )
            .exists()
        )
        words = "on time" if figure == "stage-on-time" else "late"
        return DrillDown(
            ENROLMENTS,
            f"Enrolments that reached {stage.name} {words}",
            enrolment_rows(view, promoted),
        )
    if figure.startswith("module-"):
        module = db.session.get(Module, _int(value))
        if module is None:
            raise UnknownFigure(value)
        conditions = {
            "module-enrolled": (),
            "module-completed": (_completed(module.id),),
            "module-started": (~_completed(module.id), _started(module.id)),
            "module-not-started": (~_completed(module.id), ~_started(module.id)),
        }
        if figure not in conditions:
            raise UnknownFigure(figure)
        words = {
            "module-enrolled": "enrolled in its programme",
            "module-completed": "completed",
            "module-started": "in progress",
            "module-not-started": "not started",
        }[figure]
        return DrillDown(
            ENROLMENTS,
            f"“{module.title}”: {words}",
            enrolment_rows(
                view, Enrolment.programme_id == module.programme_id, *conditions[figure]
            ),
        )
    if figure in ("score-band", "assessment-learners", "assessment-passed"):
        if figure == "score-band":
            assessment_text, _, band_text = value.partition(":")
            band_index = _int(band_text)
            if band_index >= len(SCORE_BANDS):
                raise UnknownFigure(value)
        else:
            assessment_text, band_index = value, None
        assessment = db.session.get(Assessment, _int(assessment_text))
        if assessment is None:
            raise UnknownFigure(value)
        best = _best_scores(view)
        chosen = select(best.c.user_id).where(best.c.assessment_id == assessment.id)
        if band_index is not None:
            chosen = chosen.where(_band(best.c.best) == band_index)
            words = f"best score {SCORE_BANDS[band_index][1]}"
        elif figure == "assessment-passed":
            chosen = chosen.where(best.c.passed == 1)
            words = "passed"
        else:
            words = "attempted"
        return DrillDown(
            ENROLMENTS,
            f"“{assessment.title}”: {words}",
            enrolment_rows(
                view,
                Enrolment.programme_id == assessment.programme_id,
                Enrolment.user_id.in_(chosen),
            ),
        )
    if figure in ("queue-waiting", "queue-grading", "queue-moderation", "queue-late"):
        stage = None if value == "all" else _stage(figures, value)
        conditions: list[ColumnElement[bool]] = []
        if stage is not None:
            conditions.append(DemonstrationTask.stage_id == stage.id)
        if figure == "queue-grading":
            conditions.append(Submission.status == "submitted")
            words = "waiting for grading"
        elif figure == "queue-moderation":
            conditions.append(Submission.status == "moderation")
            words = "waiting for moderation"
        elif figure == "queue-late":
            conditions.append(Submission.submitted_at < submitted_before(sla_days() + 1))
            words = f"waiting more than {sla_days()} working days"
        else:
            words = "waiting for grading or moderation"
        where = f"{stage.name} demonstrations" if stage else "Demonstrations"
        return DrillDown(SUBMISSIONS, f"{where} {words}", submission_rows(view, *conditions))
    if figure in ("adoption-taught", "adoption-using", "adoption-learners", "team"):
        team_text, _, feature_text = value.partition(":")
        feature = None
        if feature_text:
            feature = figures.features.get(_int(feature_text))
            if feature is None or figure in ("team", "adoption-learners"):
                raise UnknownFigure(value)
        return _adoption_drill(figures, figure, _team_condition(team_text), feature)
    raise UnknownFigure(figure)


def _team_condition(value: str) -> ColumnElement[bool] | None:
    """A drill-down's team: "all", "none" (learners without one) or a team id."""
    if value == "all":
        return None
    if value == NO_TEAM:
        return User.team_id.is_(None)
    return User.team_id == _int(value)


def _adoption_drill(
    figures: Figures,
    figure: str,
    team_condition: ColumnElement[bool] | None,
    feature: FeatureColumn | None,
) -> DrillDown:
    view = figures.view
    conditions = () if team_condition is None else (team_condition,)
    if figure in ("team", "adoption-learners"):
        if figure == "team":
            chosen = view.enrolments(Enrolment.user_id)
            title = "Learners"
        else:
            chosen = (
                select(Enrolment.user_id)
                .join(User, User.id == Enrolment.user_id)
                .where(*_in_force(view))
            )
            title = "Learners counted for feature adoption"
        return DrillDown(LEARNERS, title, learner_rows(view, chosen, *conditions))
    using = figure == "adoption-using"
    if feature is not None:
        title = f"Learners taught “{feature.name}”" + (" who used it" if using else "")
    else:
        title = "Features taught" + (" and used" if using else "") + ", learner by learner"
    return DrillDown(PAIRS, title, pair_rows(view, feature, using, *conditions), feature=feature)


def pair_rows(
    view: View, feature: FeatureColumn | None, using: bool, *conditions: ColumnElement[bool]
) -> Select:
    """Learner × feature pairs taught (and, if `using`, used in the window) to the learners in
    view, with each pair's uses in the window: the rows behind the adoption figures."""
    pairs = _taught_pairs(view).subquery("pairs")
    uses = (
        select(func.coalesce(func.sum(UsageEvent.count), 0))
        .where(
            UsageEvent.user_id == pairs.c.user_id,
            UsageEvent.feature_id == pairs.c.feature_id,
            UsageEvent.occurred_at >= view.window_start,
            UsageEvent.occurred_at < view.day_end,
            UsageEvent.count > 0,
        )
        .scalar_subquery()
    )
    statement = (
        select(
            User.id,
            User.name,
            OrgUnit.name.label("team"),
            Feature.name.label("feature"),
            Platform.name.label("platform"),
            uses.label("uses"),
        )
        .select_from(pairs)
        .join(User, User.id == pairs.c.user_id)
        .outerjoin(OrgUnit, OrgUnit.id == User.team_id)
        .join(Feature, Feature.id == pairs.c.feature_id)
        .join(Platform, Platform.id == Feature.platform_id)
        .where(*conditions)
        .order_by(User.name, User.id, Platform.id, Feature.position, Feature.id)
    )
    if feature is not None:
        statement = statement.where(pairs.c.feature_id == feature.id)
    if using:
        statement = statement.where(_used(view, pairs.c.user_id, pairs.c.feature_id))
    return statement


def learner_rows(view: View, user_ids: Select, *conditions: ColumnElement[bool]) -> Select:
    """Learners (ids from `user_ids`) with their team, by name."""
    return (
        select(User.id, User.name, OrgUnit.name.label("team"))
        .outerjoin(OrgUnit, OrgUnit.id == User.team_id)
        .where(User.id.in_(user_ids), *conditions)
        .order_by(User.name, User.id)
    )


def submission_rows(view: View, *conditions: ColumnElement[bool]) -> Select:
    """Waiting submissions from learners in view: who, which task and stage, since when; never
    what they submitted."""
    columns = (
        Submission.id,
        Submission.user_id,
        User.name,
        OrgUnit.name.label("team"),
        DemonstrationTask.title,
        Programme.title.label("programme"),
        Stage.name.label("stage"),
        Submission.status,
        Submission.submitted_at,
    )
    return (
        _waiting(view, columns, *conditions)
        .join(User, User.id == Submission.user_id)
        .outerjoin(OrgUnit, OrgUnit.id == User.team_id)
        .join(Programme, Programme.id == DemonstrationTask.programme_id)
        .join(Stage, Stage.id == DemonstrationTask.stage_id)
        .order_by(Submission.submitted_at, Submission.id)
    )
