"""The leadership adoption-success report: every metric of the registry for the organisation
with its target, red/amber/green status, how it is computed, its trend and its breakdown by
team, region and cohort; the framework's acceptance checklist; and a written summary.

Aggregates only: nothing here names a learner or shows an answer.

Speed: the organisation's metrics are computed live (one `compute_all`); the trend is read from
the organisation's stored snapshots, and the breakdowns from the snapshot rows of the latest
snapshot day on or before the report's date (one query for every scope), since computing some
two hundred scopes live takes seconds on a large organisation. Without any snapshot, a small
organisation's breakdowns are computed live; a large one's say that no snapshot is stored yet.

Figures resting on fewer units than the figure `minimum-basis` (learners, pairs, campaigns...)
stay in the tables, marked, but are neither compared (summary, scorecard, team spread) nor
drawn in the charts, whose scale one learner's 500% would otherwise set.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import aliased

from lms.adoption.models import Feature, feature_modules
from lms.adoption.records import (
    IntegrationCheckpoint,
    MetricBaseline,
    MetricSnapshot,
    ProcessStep,
)
from lms.charts import PERCENT, Chart, bar_chart, line_chart
from lms.core.timeutil import now_utc
from lms.curricula.models import FrameworkDocument, LessonSection, Module, Programme
from lms.extensions import db
from lms.figures import figure, figures_path, load_figures
from lms.metrics.data import (
    COHORT,
    ORGANISATION,
    REGION,
    TEAM,
    Scope,
    all_scopes,
    compute_all,
)
from lms.metrics.definitions import (
    CAMPAIGN_PERFORMANCE,
    CONTINUOUS_DEVELOPMENT,
    CROSS_DOMAIN,
    DECISION_QUALITY,
    FEATURE_ADOPTION,
    MANUAL_PROCESSES,
    METRICS,
    PEER_RECOGNITION,
    PRODUCTIVITY,
    PROFICIENCY,
    ROI,
    MetricResult,
    basis_words,
)
from lms.metrics.views import STATUS_WORDS, basis, percent
from lms.organisation.models import Cohort, OrgUnit
from lms.reports.criteria import CriterionGroup, Evidence, assess
from lms.reports.summary import Summary, change_text, metric_sentence, written_summary
from lms.reports.trends import (
    ScopeValue,
    TrendPoint,
    rests_on_enough,
    status_counts,
    thinned,
    trend_with_today,
)

#: How far back the trend charts reach.
TREND_DAYS = 365
#: Without a stored snapshot, breakdowns are computed live only for this many scopes or fewer.
LIVE_BREAKDOWN_MAX_SCOPES = 40

SNAPSHOT = "snapshot"
LIVE = "live"
NONE = "none"

#: Progress: (what is being done, steps done, steps in all).
Progress = Callable[[str, int, int], None]

#: The parts of the report, in order: the contents list, the web page and the PDF follow it.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("summary", "Executive summary"),
    ("scorecard", "Scorecard"),
    ("metrics", "The metrics one by one"),
    ("breakdown", "Breakdown by team, region and cohort"),
    ("checklist", "Acceptance criteria"),
    ("method", "How the figures are computed"),
)
#: Column headings where every metric shares one table.
SHORT_NAMES = {
    PROFICIENCY: "Proficient in 60 days",
    FEATURE_ADOPTION: "Feature adoption",
    PRODUCTIVITY: "Productivity",
    MANUAL_PROCESSES: "Manual steps cut",
    ROI: "ROI",
    CAMPAIGN_PERFORMANCE: "Campaign KPI",
    CROSS_DOMAIN: "Cross-domain",
    DECISION_QUALITY: "Decision quality",
    PEER_RECOGNITION: "Peer recognition",
    CONTINUOUS_DEVELOPMENT: "Continuous development",
}
STEPS = (
    "Computing the organisation's metrics",
    "Reading the trends and breakdowns",
    "Checking the acceptance criteria",
    "Drawing the charts",
)


@dataclass(frozen=True)
class ScopeRow:
    scope: Scope
    values: dict[str, ScopeValue]
    #: The region of a team, the start date of a cohort (as text), or "".
    context: str = ""


@dataclass
class MetricSection:
    id: str
    name: str
    result: MetricResult
    value: str
    target: str
    status_word: str
    basis: str | None
    trend: list[TrendPoint]
    teams: list[tuple[str, ScopeValue]]
    regions: list[tuple[str, ScopeValue]]
    cohorts: Counter[str]
    #: Computed from team records: not computed per cohort.
    per_team: bool
    sentence: str
    #: The scorecard's change over the trend shown (None: no earlier figure).
    change: str | None = None
    trend_chart: Chart | None = None
    team_chart: Chart | None = None


@dataclass
class Breakdown:
    source: str
    day: date | None
    teams: list[ScopeRow] = field(default_factory=list)
    regions: list[ScopeRow] = field(default_factory=list)
    cohorts: list[ScopeRow] = field(default_factory=list)

    @property
    def note(self) -> str:
        if self.source == SNAPSHOT and self.day is not None:
            return (
                f"Figures by team, region and cohort are from the metric snapshot of "
                f"{self.day.strftime('%d %b %Y')}, computed by the same definitions for each group."
            )
        if self.source == LIVE and self.day is not None:
            return (
                f"No metric snapshot is stored yet, so the figures by team, region and cohort were "
                f"computed for {self.day.strftime('%d %b %Y')} when this report was built."
            )
        return (
            "No metric snapshot is stored yet: figures by team, region and cohort appear once the "
            "nightly snapshot (flask metrics snapshot) has run."
        )


@dataclass
class LeadershipReport:
    organisation: str
    as_of: date
    generated_at: datetime
    framework: str
    metrics: list[MetricSection]
    breakdown: Breakdown
    checklist: list[CriterionGroup]
    summary: Summary
    amber_from: str
    trend_since: date | None
    #: Figures resting on fewer units are shown but not compared or drawn.
    minimum_basis: int
    sections: tuple[tuple[str, str], ...] = SECTIONS

    @property
    def trend_table(self) -> list[tuple[date, list[TrendPoint | None]]]:
        """The trend charts' data: one row per date, one point per metric (None: no point)."""
        by_day: dict[date, dict[str, TrendPoint]] = {}
        for section in self.metrics:
            for point in section.trend:
                by_day.setdefault(point.day, {})[section.id] = point
        return [
            (day, [by_day[day].get(section.id) for section in self.metrics])
            for day in sorted(by_day)
        ]

    @property
    def trend_has_too_few(self) -> bool:
        """Whether a trend point with a value rests on fewer units than the minimum."""
        return any(
            point.value is not None and not point.enough(self.minimum_basis)
            for section in self.metrics
            for point in section.trend
        )

    @property
    def cohort_metrics(self) -> list[MetricSection]:
        """The metrics computed per cohort (those from team records are not)."""
        return [m for m in self.metrics if not m.per_team]


# Loading --------------------------------------------------------------------------------------


def _trend_rows(as_of: date) -> dict[str, list[TrendPoint]]:
    rows = db.session.execute(
        select(
            MetricSnapshot.metric,
            MetricSnapshot.as_of,
            MetricSnapshot.value,
            MetricSnapshot.status,
            MetricSnapshot.basis,
        )
        .where(
            # Every column of the (metric, scope, scope_id, as_of) unique index, so that a year
            # of nightly snapshots for every scope is not scanned to find the organisation's.
            MetricSnapshot.metric.in_(list(METRICS)),
            MetricSnapshot.scope == ORGANISATION,
            MetricSnapshot.scope_id == 0,
            MetricSnapshot.as_of <= as_of,
            MetricSnapshot.as_of > as_of - timedelta(days=TREND_DAYS),
        )
        .order_by(MetricSnapshot.as_of)
    ).all()
    trends: dict[str, list[TrendPoint]] = {}
    for metric, day, value, status, units in rows:
        trends.setdefault(metric, []).append(TrendPoint(day, value, status, basis=units))
    return trends


def _breakdown(as_of: date, scopes: list[Scope]) -> Breakdown:
    groups = [s for s in scopes if s.kind != ORGANISATION]
    day = db.session.scalar(
        select(func.max(MetricSnapshot.as_of)).where(
            MetricSnapshot.as_of <= as_of, MetricSnapshot.scope != ORGANISATION
        )
    )
    values: dict[tuple[str, int], dict[str, ScopeValue]] = {}
    if day is not None:
        source = SNAPSHOT
        for metric, kind, scope_id, value, status, reason, units in db.session.execute(
            select(
                MetricSnapshot.metric,
                MetricSnapshot.scope,
                MetricSnapshot.scope_id,
                MetricSnapshot.value,
                MetricSnapshot.status,
                MetricSnapshot.reason,
                MetricSnapshot.basis,
            ).where(MetricSnapshot.as_of == day, MetricSnapshot.scope != ORGANISATION)
        ):
            values.setdefault((kind, scope_id), {})[metric] = ScopeValue(
                value, status, reason, units
            )
    elif len(groups) <= LIVE_BREAKDOWN_MAX_SCOPES:
        source, day = LIVE, as_of
        for scope in groups:
            values[(scope.kind, scope.id)] = {
                metric: ScopeValue(r.value, r.status, r.reason, r.basis)
                for metric, r in compute_all(scope, as_of=as_of).items()
            }
    else:
        source = NONE
    breakdown = Breakdown(source, day)
    context = _scope_context()
    for scope in groups:
        found = values.get((scope.kind, scope.id))
        if found is None:
            continue  # a team or cohort made after the snapshot: not in it
        row = ScopeRow(scope, found, context.get((scope.kind, scope.id), ""))
        {TEAM: breakdown.teams, REGION: breakdown.regions, COHORT: breakdown.cohorts}[
            scope.kind
        ].append(row)
    return breakdown


def _scope_context() -> dict[tuple[str, int], str]:
    """Each team's region and each cohort's start date, in two queries."""
    region = aliased(OrgUnit)
    context = {
        (TEAM, team_id): name or "—"
        for team_id, name in db.session.execute(
            select(OrgUnit.id, region.name)
            .outerjoin(region, region.id == OrgUnit.parent_id)
            .where(OrgUnit.kind == TEAM)
        )
    }
    context.update(
        ((COHORT, cohort_id), start.strftime("%d %b %Y"))
        for cohort_id, start in db.session.execute(select(Cohort.id, Cohort.start_date))
    )
    return context


def _evidence(
    as_of: date, results: dict[str, MetricResult], trends: dict, minimum_basis: int
) -> tuple[Evidence, list[dict[str, Any]], str]:
    content = db.session.execute(
        select(FrameworkDocument.content, FrameworkDocument.title, FrameworkDocument.version)
        .order_by(FrameworkDocument.id)
        .limit(1)
    ).first()
    framework = (content[0] if content else None) or {}
    framework_name = f"{content[1]}, version {content[2]}" if content else "no framework loaded"
    live_module = Module.retired_at.is_(None)
    live_programme = Programme.retired_at.is_(None)
    platform_programmes = db.session.scalar(
        select(func.count(Programme.id)).where(Programme.kind == "platform-track", live_programme)
    )
    modules, with_lessons = db.session.execute(
        select(
            func.count(Module.id),
            func.count(Module.id).filter(
                Module.id.in_(
                    select(LessonSection.module_id).where(LessonSection.retired_at.is_(None))
                )
            ),
        )
        .join(Programme, Programme.id == Module.programme_id)
        .where(live_module, live_programme)
    ).one()
    features, taught = db.session.execute(
        select(
            func.count(Feature.id),
            func.count(Feature.id).filter(
                Feature.id.in_(
                    select(feature_modules.c.feature_id)
                    .join(Module, Module.id == feature_modules.c.module_id)
                    .where(live_module)
                )
            ),
        ).where(Feature.retired_at.is_(None))
    ).one()
    teams = db.session.scalar(select(func.count(OrgUnit.id)).where(OrgUnit.kind == TEAM))
    with_inventory = db.session.scalar(select(func.count(distinct(ProcessStep.team_id))))
    with_baseline = db.session.scalar(
        select(func.count(distinct(MetricBaseline.team_id))).where(
            MetricBaseline.metric == MANUAL_PROCESSES
        )
    )
    domains = tuple(d["id"] for d in framework.get("integration_domains") or [] if "id" in d)
    covered: dict[int, set[str]] = {}
    for team_id, domain in db.session.execute(
        select(IntegrationCheckpoint.team_id, IntegrationCheckpoint.domain).distinct()
    ):
        covered.setdefault(team_id, set()).add(domain)
    every_domain = sum(1 for found in covered.values() if domains and set(domains) <= found)
    practices = framework.get("best_practices") or []
    figures = load_figures(figures_path()).figures
    evidence = Evidence(
        as_of=as_of,
        metrics=results,
        minimum_basis=minimum_basis,
        trends=trends,
        platform_programmes=platform_programmes or 0,
        modules=modules or 0,
        modules_with_lessons=with_lessons or 0,
        features=features or 0,
        features_taught=taught or 0,
        best_practices=sum(len(group.get("items") or []) for group in practices),
        best_practice_groups=len(practices),
        procedures=len(framework.get("procedures") or []),
        teams=teams or 0,
        teams_with_inventory=with_inventory or 0,
        teams_with_process_baseline=with_baseline or 0,
        integration_domains=domains,
        teams_with_checkpoints_in_every_domain=every_domain,
        targets_set=frozenset(
            m.id for m in METRICS.values() if m.target_key and m.target_key in figures
        ),
    )
    return evidence, list(framework.get("acceptance_criteria") or []), framework_name


# Building -------------------------------------------------------------------------------------


def _organisation_today() -> date:
    from lms.stages.engine import organisation_today

    return organisation_today()


def build_report(
    as_of: date | None = None, *, progress: Progress | None = None, charts: bool = True
) -> LeadershipReport:
    """The leadership report for `as_of` (default: today in the organisation), with its charts
    unless `charts` is False. `progress` is told each step as it starts."""
    total = len(STEPS) if charts else len(STEPS) - 1

    def step(number: int) -> None:
        if progress is not None:
            progress(STEPS[number], number, total)

    as_of = as_of or _organisation_today()
    step(0)
    scopes = all_scopes()
    organisation = scopes[0]
    results = compute_all(organisation, as_of=as_of)
    minimum_basis = int(figure("minimum-basis"))
    step(1)
    stored = _trend_rows(as_of)
    trends = {
        metric_id: thinned(
            trend_with_today(
                stored.get(metric_id, []),
                TrendPoint(as_of, result.value, result.status, live=True, basis=result.basis),
            )
        )
        for metric_id, result in results.items()
    }
    breakdown = _breakdown(as_of, scopes)
    step(2)
    evidence, criteria, framework = _evidence(as_of, results, trends, minimum_basis)
    checklist = assess(criteria, evidence)
    sections = []
    for metric_id, result in results.items():
        definition = METRICS[metric_id]
        sections.append(
            MetricSection(
                id=metric_id,
                name=definition.name,
                result=result,
                value=percent(result.value),
                target=percent(result.target) if result.target is not None else "None set",
                status_word=STATUS_WORDS[result.status],
                basis=basis(result),
                trend=trends[metric_id],
                teams=_named(breakdown.teams, metric_id),
                regions=_named(breakdown.regions, metric_id),
                cohorts=status_counts(
                    row.values[metric_id] for row in breakdown.cohorts if metric_id in row.values
                ),
                per_team=definition.per_team,
                sentence=metric_sentence(result, trends[metric_id], minimum_basis=minimum_basis),
                change=change_text(metric_id, trends[metric_id], minimum_basis=minimum_basis),
            )
        )
    summary = written_summary(
        results,
        as_of,
        minimum_basis=minimum_basis,
        trends=trends,
        by_team={s.id: s.teams for s in sections},
        breakdown_day=breakdown.day,
        checklist=checklist,
    )
    first_days = [s.trend[0].day for s in sections if s.trend]
    report = LeadershipReport(
        organisation=organisation.name,
        as_of=as_of,
        generated_at=now_utc(),
        framework=framework,
        metrics=sections,
        breakdown=breakdown,
        checklist=checklist,
        summary=summary,
        amber_from=percent(figure("rag-amber-from")),
        trend_since=min(first_days) if first_days else None,
        minimum_basis=minimum_basis,
    )
    if charts:
        step(3)
        draw_charts(report)
    return report


def _named(rows: list[ScopeRow], metric_id: str) -> list[tuple[str, ScopeValue]]:
    return [(row.scope.name, row.values[metric_id]) for row in rows if metric_id in row.values]


def basis_note(metric_id: str, value: float | None, basis: int | None, minimum_basis: int) -> str:
    """What a figure rests on, for a table: "12 learners", "n=1, too few to compare"."""
    if value is None:
        return "—"
    if basis is None:
        return "not recorded"
    if not rests_on_enough(basis, minimum_basis):
        return f"n={basis}, too few to compare"
    return basis_words(metric_id, basis)


def _too_few_why(metric_id: str, minimum_basis: int) -> str:
    return f"resting on fewer than {minimum_basis} {METRICS[metric_id].basis_unit[1]}"


def draw_charts(report: LeadershipReport) -> None:
    """A trend chart and a by-team chart for every metric (the by-team one when teams have
    values). Figures resting on too few are in the charts' tables, not in their drawings."""
    minimum = report.minimum_basis
    for section in report.metrics:
        target = section.result.target
        section.trend_chart = line_chart(
            [
                {
                    "day": p.day,
                    "value": p.value,
                    "basis": basis_note(section.id, p.value, p.basis, minimum),
                    "too_few": not p.enough(minimum),
                }
                for p in section.trend
            ],
            x="day",
            y="value",
            title=f"{section.name}: {report.organisation}, over time",
            x_title="Date",
            y_title=SHORT_NAMES.get(section.id, section.name),
            value_format=PERCENT,
            target=target,
            note="basis",
            note_title="Based on",
            hide="too_few",
            hidden_why=_too_few_why(section.id, minimum),
            height=120,
        )
        if any(value.value is not None for _, value in section.teams):
            day = report.breakdown.day.strftime("%d %b %Y") if report.breakdown.day else ""
            section.team_chart = bar_chart(
                [
                    {
                        "team": name,
                        "value": value.value,
                        "status": value.status,
                        "basis": basis_note(section.id, value.value, value.basis, minimum),
                        "too_few": not value.enough(minimum),
                    }
                    for name, value in section.teams
                ],
                category="team",
                value="value",
                title=f"{section.name} by team, {day}",
                category_title="Team",
                value_title=section.name,
                value_format=PERCENT,
                target=target,
                status="status",
                status_labels=STATUS_WORDS,
                note="basis",
                note_title="Based on",
                hide="too_few",
                hidden_why=_too_few_why(section.id, minimum),
                width=260,
            )
