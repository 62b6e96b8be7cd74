"""The metric frames, loaded from the database for a scope, and the metrics computed on them.

A scope is the organisation, a team, a region (its teams) or a cohort. Learners belong to the
team (and so the region) their user record names today; a cohort holds its enrolments. Each
frame is one query filtered in SQL, so `compute_all` runs the same number of queries whatever
the scope's size. Timestamps become calendar days in the organisation's time zone, and event
tables are read only over the window a metric looks at.

Records kept per team (campaign log, process inventory, integration checkpoints, baselines)
have no cohort: on a cohort those metrics say so instead of borrowing a team's figures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Select, func, or_, select, union_all
from sqlalchemy.sql.elements import ColumnElement

from lms.accounts.models import User
from lms.adoption.models import Feature, UsageEvent, feature_modules
from lms.adoption.records import (
    CampaignLog,
    Endorsement,
    IntegrationCheckpoint,
    MetricBaseline,
    ProcessStep,
    ProcessStepChange,
)
from lms.assessments.models import Assessment, Attempt, AttemptItem
from lms.core.timeutil import start_of_day
from lms.curricula.models import FrameworkDocument, Module
from lms.extensions import db
from lms.figures import figure
from lms.learning.models import ModuleCompletion, SectionProgress
from lms.metrics.definitions import (
    METRICS,
    NOT_COMPUTABLE,
    PAST_PROGRAMME_STAGES,
    PROFICIENCY_STAGE,
    MetricResult,
)
from lms.organisation.models import Cohort, Enrolment, OrgUnit
from lms.organisation.operations import organisation
from lms.stages.models import ClockHold, StagePromotion

ORGANISATION = "organisation"
TEAM = "team"
REGION = "region"
COHORT = "cohort"
SCOPE_KINDS = (ORGANISATION, TEAM, REGION, COHORT)


@dataclass(frozen=True)
class Scope:
    """Who a metric is computed for: `id` is 0 for the organisation."""

    kind: str
    id: int
    name: str

    @property
    def label(self) -> str:
        return self.name if self.kind == ORGANISATION else f"{self.kind.title()}: {self.name}"


class UnknownScope(LookupError):
    pass


def find_scope(kind: str, scope_id: int = 0) -> Scope:
    """The scope `kind` `scope_id` (one query; none for the organisation)."""
    if kind == ORGANISATION:
        return Scope(ORGANISATION, 0, organisation().name)
    if kind in (TEAM, REGION):
        unit = db.session.get(OrgUnit, scope_id)
        if unit is not None and unit.kind == kind:
            return Scope(kind, unit.id, unit.name)
    elif kind == COHORT:
        cohort = db.session.get(Cohort, scope_id)
        if cohort is not None:
            return Scope(COHORT, cohort.id, cohort.name)
    raise UnknownScope(f"no {kind} {scope_id}")


# Filters by scope (SQL, so each frame stays one query) ----------------------------------------


def _units(scope: Scope) -> Select:
    """The org units whose members belong to the scope (a region: itself and its teams)."""
    if scope.kind == TEAM:
        return select(OrgUnit.id).where(OrgUnit.id == scope.id)
    return select(OrgUnit.id).where(or_(OrgUnit.id == scope.id, OrgUnit.parent_id == scope.id))


def _learners(scope: Scope) -> Select | None:
    """The users of the scope (None: everyone)."""
    if scope.kind == ORGANISATION:
        return None
    if scope.kind == COHORT:
        return select(Enrolment.user_id).where(Enrolment.cohort_id == scope.id)
    return select(User.id).where(User.team_id.in_(_units(scope)))


def _where_learner(column: Any, scope: Scope) -> list[ColumnElement[bool]]:
    learners = _learners(scope)
    return [] if learners is None else [column.in_(learners)]


def _where_enrolment(scope: Scope) -> list[ColumnElement[bool]]:
    if scope.kind == COHORT:
        return [Enrolment.cohort_id == scope.id]
    return _where_learner(Enrolment.user_id, scope)


def _where_team(column: Any, scope: Scope) -> list[ColumnElement[bool]]:
    if scope.kind == ORGANISATION:
        return []
    return [column.in_(_units(scope))]


# Dates ----------------------------------------------------------------------------------------


def _local_days(values: Iterable[Any], zone: str) -> pd.Series:
    """UTC timestamps (naive ones are UTC) as calendar days in `zone`; None stays NaT."""
    moments = pd.to_datetime(pd.Series(list(values), dtype=object), utc=True)
    return moments.dt.tz_convert(zone).dt.tz_localize(None).dt.normalize()


def _utc_bounds(first_day: date, last_day: date, zone: str) -> tuple[datetime, datetime]:
    """From the start of `first_day` to the end of `last_day` in `zone`, as naive UTC."""
    return start_of_day(first_day, zone), start_of_day(last_day + timedelta(days=1), zone)


def _window_bounds(as_of: date, days: int, zone: str) -> tuple[datetime, datetime]:
    return _utc_bounds(as_of - timedelta(days=days - 1), as_of, zone)


# The frame loaders: one query each ------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    scope: Scope
    as_of: date
    zone: str


def _enrolments(ctx: _Context) -> pd.DataFrame:
    rows = db.session.execute(
        select(
            Enrolment.id,
            Enrolment.user_id,
            Enrolment.programme_id,
            Enrolment.cohort_id,
            User.team_id,
            Enrolment.start_date,
            Enrolment.status,
            Enrolment.withdrawn_at,
        )
        .join(User, User.id == Enrolment.user_id)
        .where(*_where_enrolment(ctx.scope))
        .order_by(Enrolment.id)
    ).all()
    withdrawn = _local_days([row.withdrawn_at for row in rows], ctx.zone)
    frame = pd.DataFrame(
        {
            "enrolment": [row.id for row in rows],
            "learner": [row.user_id for row in rows],
            "programme": [row.programme_id for row in rows],
            "cohort": [row.cohort_id for row in rows],
            "team": [row.team_id for row in rows],
            "start_date": pd.to_datetime(pd.Series([row.start_date for row in rows], dtype=object)),
            "withdrawn_on": withdrawn,
        }
    )
    # Withdrawn without a date: out from the start.
    undated = [row.status == "withdrawn" and row.withdrawn_at is None for row in rows]
    if any(undated):
        mask = pd.Series(undated, index=frame.index)
        frame.loc[mask, "withdrawn_on"] = frame.loc[mask, "start_date"]
    return frame


def _promotions(ctx: _Context) -> pd.DataFrame:
    rows = db.session.execute(
        select(
            StagePromotion.enrolment_id,
            StagePromotion.from_stage_id,
            StagePromotion.to_stage_id,
            StagePromotion.promoted_at,
        )
        .join(Enrolment, Enrolment.id == StagePromotion.enrolment_id)
        .where(
            or_(
                StagePromotion.from_stage_id == PROFICIENCY_STAGE,
                StagePromotion.to_stage_id.in_(PAST_PROGRAMME_STAGES),
            ),
            *_where_enrolment(ctx.scope),
        )
    ).all()
    return pd.DataFrame(
        {
            "enrolment": [row[0] for row in rows],
            "from_stage": [row[1] for row in rows],
            "to_stage": [row[2] for row in rows],
            "promoted_on": _local_days([row[3] for row in rows], ctx.zone),
        }
    )


def _holds(ctx: _Context) -> pd.DataFrame:
    """The stage-clock holds (the gate waiting for content) of the enrolments in scope."""
    rows = db.session.execute(
        select(ClockHold.enrolment_id, ClockHold.held_from, ClockHold.released_on)
        .join(Enrolment, Enrolment.id == ClockHold.enrolment_id)
        .where(*_where_enrolment(ctx.scope))
    ).all()
    return pd.DataFrame(
        {
            "enrolment": [row[0] for row in rows],
            "held_from": pd.to_datetime(pd.Series([row[1] for row in rows], dtype=object)),
            "released_on": pd.to_datetime(pd.Series([row[2] for row in rows], dtype=object)),
        }
    )


def _programme_features(ctx: _Context) -> pd.DataFrame:
    rows = db.session.execute(
        select(
            Module.programme_id, feature_modules.c.feature_id, Feature.retired_at, Module.retired_at
        )
        .join(Module, Module.id == feature_modules.c.module_id)
        .join(Feature, Feature.id == feature_modules.c.feature_id)
    ).all()
    retired = [min((r for r in (row[2], row[3]) if r is not None), default=None) for row in rows]
    return pd.DataFrame(
        {
            "programme": [row[0] for row in rows],
            "feature": [row[1] for row in rows],
            "retired_on": _local_days(retired, ctx.zone),
        }
    )


def _usage(ctx: _Context) -> pd.DataFrame:
    """Use per learner and feature in the window: its latest day and total count."""
    start, end = _window_bounds(ctx.as_of, int(figure("feature-use-window-days")), ctx.zone)
    rows = db.session.execute(
        select(
            UsageEvent.user_id,
            UsageEvent.feature_id,
            func.max(UsageEvent.occurred_at),
            func.sum(UsageEvent.count),
        )
        .where(
            UsageEvent.occurred_at >= start,
            UsageEvent.occurred_at < end,
            *_where_learner(UsageEvent.user_id, ctx.scope),
        )
        .group_by(UsageEvent.user_id, UsageEvent.feature_id)
    ).all()
    return pd.DataFrame(
        {
            "learner": [row[0] for row in rows],
            "feature": [row[1] for row in rows],
            "occurred_at": _local_days([row[2] for row in rows], ctx.zone),
            "count": [int(row[3] or 0) for row in rows],
        }
    )


def _teams(ctx: _Context) -> pd.DataFrame:
    rows = db.session.execute(
        select(OrgUnit.id, OrgUnit.name).where(
            OrgUnit.kind == TEAM, *_where_team(OrgUnit.id, ctx.scope)
        )
    ).all()
    return pd.DataFrame({"team": [r[0] for r in rows], "name": [r[1] for r in rows]})


def _campaigns(ctx: _Context) -> pd.DataFrame:
    rows = db.session.execute(
        select(
            CampaignLog.team_id,
            CampaignLog.campaign,
            CampaignLog.launched_on,
            CampaignLog.hours_spent,
            CampaignLog.cost,
            CampaignLog.attributed_revenue,
            CampaignLog.kpi_name,
            CampaignLog.kpi_value,
        ).where(CampaignLog.launched_on <= ctx.as_of, *_where_team(CampaignLog.team_id, ctx.scope))
    ).all()
    columns = [
        "team",
        "campaign",
        "launched_on",
        "hours_spent",
        "cost",
        "attributed_revenue",
        "kpi_name",
        "kpi_value",
    ]
    return pd.DataFrame.from_records([tuple(row) for row in rows], columns=columns)


def _baselines(ctx: _Context) -> pd.DataFrame:
    rows = db.session.execute(
        select(
            MetricBaseline.team_id,
            MetricBaseline.metric,
            MetricBaseline.period_start,
            MetricBaseline.period_end,
        ).where(*_where_team(MetricBaseline.team_id, ctx.scope))
    ).all()
    columns = ["team", "metric", "period_start", "period_end"]
    return pd.DataFrame.from_records([tuple(row) for row in rows], columns=columns)


def _process_steps(ctx: _Context) -> pd.DataFrame:
    rows = db.session.execute(
        select(ProcessStep.id, ProcessStep.team_id, ProcessStep.procedure).where(
            *_where_team(ProcessStep.team_id, ctx.scope)
        )
    ).all()
    columns = ["step", "team", "procedure"]
    return pd.DataFrame.from_records([tuple(row) for row in rows], columns=columns)


def _process_changes(ctx: _Context) -> pd.DataFrame:
    rows = db.session.execute(
        select(ProcessStepChange.step_id, ProcessStepChange.automated, ProcessStepChange.changed_on)
        .join(ProcessStep, ProcessStep.id == ProcessStepChange.step_id)
        .where(
            ProcessStepChange.changed_on <= ctx.as_of,
            *_where_team(ProcessStep.team_id, ctx.scope),
        )
        .order_by(ProcessStepChange.changed_on, ProcessStepChange.id)
    ).all()
    columns = ["step", "automated", "changed_on"]
    return pd.DataFrame.from_records([tuple(row) for row in rows], columns=columns)


def _checkpoints(ctx: _Context) -> pd.DataFrame:
    rows = db.session.execute(
        select(
            IntegrationCheckpoint.team_id,
            IntegrationCheckpoint.domain,
            IntegrationCheckpoint.item,
            IntegrationCheckpoint.status,
            IntegrationCheckpoint.achieved_on,
        ).where(*_where_team(IntegrationCheckpoint.team_id, ctx.scope))
    ).all()
    columns = ["team", "domain", "item", "status", "achieved_on"]
    return pd.DataFrame.from_records([tuple(row) for row in rows], columns=columns)


def _integration_domains(ctx: _Context) -> pd.DataFrame:
    content = db.session.scalar(
        select(FrameworkDocument.content).order_by(FrameworkDocument.id).limit(1)
    )
    domains = [d["id"] for d in (content or {}).get("integration_domains") or [] if "id" in d]
    return pd.DataFrame({"domain": domains})


def _scenario_items(ctx: _Context) -> pd.DataFrame:
    _, end = _utc_bounds(ctx.as_of, ctx.as_of, ctx.zone)
    rows = db.session.execute(
        select(
            Attempt.user_id,
            Assessment.programme_id,
            Assessment.purpose,
            Attempt.id,
            Attempt.submitted_at,
            AttemptItem.snapshot,
            AttemptItem.credit,
        )
        .join(Assessment, Assessment.id == Attempt.assessment_id)
        .join(AttemptItem, AttemptItem.attempt_id == Attempt.id)
        .where(
            Assessment.purpose.in_(("pre", "post")),
            Attempt.status != "in-progress",
            Attempt.submitted_at < end,
            AttemptItem.credit.is_not(None),
            *_where_learner(Attempt.user_id, ctx.scope),
        )
    ).all()
    return pd.DataFrame(
        {
            "learner": [row[0] for row in rows],
            "programme": [row[1] for row in rows],
            "purpose": [row[2] for row in rows],
            "attempt": [row[3] for row in rows],
            "submitted_on": _local_days([row[4] for row in rows], ctx.zone),
            "type": [(row[5] or {}).get("type") for row in rows],
            "credit": [float(row[6]) for row in rows],
            "points": [float((row[5] or {}).get("points", 1)) for row in rows],
        }
    )


def _endorsements(ctx: _Context) -> pd.DataFrame:
    """Endorsements received in the window: each endorsee's latest one and how many."""
    start, end = _window_bounds(ctx.as_of, int(figure("peer-recognition-window-days")), ctx.zone)
    rows = db.session.execute(
        select(Endorsement.endorsee_id, func.max(Endorsement.created_at), func.count())
        .where(
            Endorsement.created_at >= start,
            Endorsement.created_at < end,
            *_where_learner(Endorsement.endorsee_id, ctx.scope),
        )
        .group_by(Endorsement.endorsee_id)
    ).all()
    return pd.DataFrame(
        {
            "endorsee": [row[0] for row in rows],
            "created_on": _local_days([row[1] for row in rows], ctx.zone),
            "endorsements": [row[2] for row in rows],
        }
    )


def _activity(ctx: _Context) -> pd.DataFrame:
    """Learning activity in the window (sections read, modules completed, assessments
    submitted): each learner's latest, in one query."""
    start, end = _window_bounds(ctx.as_of, int(figure("active-within-days")), ctx.zone)

    def moments(user_column: Any, moment: Any) -> Select:
        return select(user_column.label("user_id"), moment.label("moment")).where(
            moment >= start, moment < end, *_where_learner(user_column, ctx.scope)
        )

    every = union_all(
        moments(SectionProgress.user_id, SectionProgress.completed_at),
        # A click on the removed self-attestation button was no learning activity.
        moments(ModuleCompletion.user_id, ModuleCompletion.completed_at).where(
            ModuleCompletion.self_attested.is_(False)
        ),
        moments(Attempt.user_id, Attempt.submitted_at).where(Attempt.status != "in-progress"),
    ).subquery()
    rows = db.session.execute(
        select(every.c.user_id, func.max(every.c.moment)).group_by(every.c.user_id)
    ).all()
    return pd.DataFrame(
        {
            "learner": [row[0] for row in rows],
            "occurred_on": _local_days([row[1] for row in rows], ctx.zone),
        }
    )


#: Frames made from records kept per team: a cohort has none of its own.
TEAM_FRAMES = frozenset(
    {"teams", "campaigns", "baselines", "process_steps", "process_changes", "checkpoints"}
)

LOADERS: dict[str, Callable[[_Context], pd.DataFrame]] = {
    "enrolments": _enrolments,
    "promotions": _promotions,
    "holds": _holds,
    "programme_features": _programme_features,
    "usage": _usage,
    "teams": _teams,
    "campaigns": _campaigns,
    "baselines": _baselines,
    "process_steps": _process_steps,
    "process_changes": _process_changes,
    "checkpoints": _checkpoints,
    "integration_domains": _integration_domains,
    "scenario_items": _scenario_items,
    "endorsements": _endorsements,
    "activity": _activity,
}


def load_frames(scope: Scope, names: Iterable[str], as_of: date) -> dict[str, pd.DataFrame]:
    """The frames `names` for `scope` on `as_of`, one query each (team records on a cohort are
    empty frames, loaded with no query)."""
    ctx = _Context(scope, as_of, organisation().time_zone)
    frames = {}
    for name in dict.fromkeys(names):
        if scope.kind == COHORT and name in TEAM_FRAMES:
            frames[name] = pd.DataFrame()
        else:
            frames[name] = LOADERS[name](ctx)
    return frames


# Computing ------------------------------------------------------------------------------------

COHORT_HAS_NO_TEAM_RECORDS = (
    "computed per team: the campaign log, process inventory and integration checkpoints "
    "belong to teams, not cohorts; see the teams of this cohort's learners"
)


def _computed(definition_id: str, scope: Scope, frames: dict[str, pd.DataFrame], as_of: date):
    definition = METRICS[definition_id]
    result = definition.compute(frames, as_of)
    if definition.per_team and scope.kind == COHORT:
        result = replace(
            result,
            value=None,
            status=NOT_COMPUTABLE,
            reason=COHORT_HAS_NO_TEAM_RECORDS,
            detail={},
        )
    return result


def compute(metric_id: str, scope: str | Scope, scope_id: int = 0, as_of: date | None = None):
    """One metric for one scope on `as_of` (default: today in the organisation)."""
    if metric_id not in METRICS:
        raise KeyError(f"no metric {metric_id!r}")
    found = scope if isinstance(scope, Scope) else find_scope(scope, scope_id)
    as_of = as_of or _today()
    frames = load_frames(found, METRICS[metric_id].frames, as_of)
    return _computed(metric_id, found, frames, as_of)


def compute_all(
    scope: str | Scope, scope_id: int = 0, as_of: date | None = None
) -> dict[str, MetricResult]:
    """Every metric of the registry for one scope, in registry order; each frame is loaded
    once, so the number of queries does not depend on the data."""
    found = scope if isinstance(scope, Scope) else find_scope(scope, scope_id)
    as_of = as_of or _today()
    names = [name for definition in METRICS.values() for name in definition.frames]
    frames = load_frames(found, names, as_of)
    return {metric_id: _computed(metric_id, found, frames, as_of) for metric_id in METRICS}


def _today() -> date:
    from lms.stages.engine import organisation_today

    return organisation_today()


def all_scopes() -> list[Scope]:
    """The organisation, then every team, region and cohort (three queries)."""
    scopes = [find_scope(ORGANISATION)]
    units = db.session.execute(
        select(OrgUnit.kind, OrgUnit.id, OrgUnit.name).order_by(OrgUnit.kind, OrgUnit.name)
    ).all()
    scopes += [Scope(kind, unit_id, name) for kind, unit_id, name in units if kind == TEAM]
    scopes += [Scope(kind, unit_id, name) for kind, unit_id, name in units if kind == REGION]
    scopes += [
        Scope(COHORT, cohort_id, name)
        for cohort_id, name in db.session.execute(
            select(Cohort.id, Cohort.name).order_by(Cohort.start_date, Cohort.name)
        )
    ]
    return scopes


def scopes_for(user: User) -> list[Scope]:
    """The scopes `user` may see metrics for: leaders and admins every one; a manager the
    organisation, the cohorts they manage and the teams of those cohorts' learners."""
    if user.has_role("leader", "admin"):
        return all_scopes()
    scopes = [find_scope(ORGANISATION)]
    managed = select(Cohort.id).where(Cohort.manager_id == user.id)
    teams = db.session.execute(
        select(OrgUnit.id, OrgUnit.name)
        .where(
            OrgUnit.kind == TEAM,
            OrgUnit.id.in_(
                select(User.team_id)
                .join(Enrolment, Enrolment.user_id == User.id)
                .where(Enrolment.cohort_id.in_(managed))
            ),
        )
        .order_by(OrgUnit.name)
    ).all()
    scopes += [Scope(TEAM, team_id, name) for team_id, name in teams]
    scopes += [
        Scope(COHORT, cohort_id, name)
        for cohort_id, name in db.session.execute(
            select(Cohort.id, Cohort.name)
            .where(Cohort.manager_id == user.id)
            .order_by(Cohort.start_date, Cohort.name)
        )
    ]
    return scopes
