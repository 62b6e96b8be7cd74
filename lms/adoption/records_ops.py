"""Operations on the records behind the business metrics, per team: the process inventory and its
changes, the campaign log, integration checkpoints (these three by form, CSV and API), metric
baselines, and endorsements between colleagues. Who may keep or read a team's records is decided
here too.

Every function takes plain values or models, checks them, flushes and audits; the caller
commits. A refusal is a `RecordsError` in words for the person, naming the form field it
belongs to when there is one. Web pages, the JSON API and the CSV import all call these.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, false, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from lms.accounts.models import User
from lms.adoption.records import (
    CampaignLog,
    Endorsement,
    IntegrationCheckpoint,
    MetricBaseline,
    ProcessStep,
    ProcessStepChange,
)
from lms.audit.operations import record
from lms.cohorts.operations import managed_cohorts
from lms.core.csvfile import RowProblem, read_csv
from lms.core.search import contains
from lms.core.timeutil import as_utc, now_utc
from lms.curricula.models import FrameworkDocument
from lms.extensions import db
from lms.organisation.models import Cohort, Enrolment, OrgUnit
from lms.stages.engine import organisation_today

#: The metrics whose team baseline is a period before the programme (figures.yaml keys).
BASELINE_METRICS = {
    "productivity-improvement": (
        "Productivity improvement",
        "Median hours per campaign launched in this period, from the campaign log.",
    ),
    "manual-process-reduction": (
        "Manual-process reduction",
        "Manual steps of the process inventory as they stood at the end of this period.",
    ),
    "roi-improvement": (
        "ROI improvement",
        "(Attributed revenue − cost) ÷ cost over the campaigns launched in this period.",
    ),
    "campaign-performance-improvement": (
        "Campaign performance improvement",
        "The team's chosen campaign KPI over the campaigns launched in this period.",
    ),
}
#: Baselines that are read from the campaign log (the page says how many campaigns they cover).
CAMPAIGN_BASELINES = (
    "productivity-improvement",
    "roi-improvement",
    "campaign-performance-improvement",
)
CHECKPOINT_STATUSES = ("planned", "achieved")
CAMPAIGN_REQUIRED = ("team", "campaign", "launched_on", "hours_spent", "cost", "attributed_revenue")
CAMPAIGN_OPTIONAL = ("kpi_name", "kpi_value")
CAMPAIGN_COLUMNS = CAMPAIGN_REQUIRED + CAMPAIGN_OPTIONAL
STEP_CHANGE_REQUIRED = ("team", "procedure", "step_number", "automated", "changed_on")
STEP_CHANGE_OPTIONAL = ("note",)
CHECKPOINT_REQUIRED = ("team", "domain", "item", "status")
CHECKPOINT_OPTIONAL = ("achieved_on", "evidence")
#: Numeric(14, 2) holds less than a trillion; hours beyond this are a typing slip.
MAX_MONEY = 1_000_000_000_000
MAX_HOURS = 100_000
NOTE_LENGTH = 500
EVIDENCE_LENGTH = 2000
ENDORSEMENT_INTERVAL = timedelta(days=30)


class RecordsError(ValueError):
    """A record that cannot be kept, in words for the person. `field` names the form field the
    problem belongs to, when there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


# --- who may keep or read a team's records -----------------------------------------------------

EDIT = "edit"
VIEW = "view"


def keeper_team_ids(user: User) -> Select:
    """The ids of the teams a manager keeps the records of: teams with at least one learner
    enrolled (not withdrawn) in a cohort the user manages."""
    cohort_ids = managed_cohorts(user).with_only_columns(Cohort.id).order_by(None)
    return (
        select(User.team_id)
        .join(Enrolment, Enrolment.user_id == User.id)
        .where(
            Enrolment.cohort_id.in_(cohort_ids),
            Enrolment.status != "withdrawn",
            User.team_id.is_not(None),
        )
        .distinct()
    )


def editable_team_ids(user: User) -> set[int] | None:
    """The teams whose records `user` may change: None means every team (admins)."""
    if user.has_role("admin"):
        return None
    if not user.has_role("manager"):
        return set()
    return set(db.session.scalars(keeper_team_ids(user)))


def team_access(user: User, team: OrgUnit) -> str | None:
    """EDIT (admins; managers for the teams of their cohorts' learners), VIEW (leaders, on every
    team) or None: deny by default."""
    if team.kind != "team" or not getattr(user, "is_authenticated", False):
        return None
    if user.has_role("admin"):
        return EDIT
    if user.has_role("manager") and db.session.scalar(
        keeper_team_ids(user).where(User.team_id == team.id).limit(1)
    ):
        return EDIT
    if user.has_role("leader"):
        return VIEW
    return None


def visible_teams(user: User) -> Select:
    """The teams whose records `user` may at least read, by name."""
    statement = select(OrgUnit).where(OrgUnit.kind == "team").order_by(OrgUnit.name, OrgUnit.id)
    if user.has_role("admin", "leader"):
        return statement
    if user.has_role("manager"):
        return statement.where(OrgUnit.id.in_(keeper_team_ids(user)))
    return statement.where(false())


def teams_by_name() -> dict[str, OrgUnit]:
    """Every team by its name in lower case (files and the API name teams, not ids)."""
    return {
        unit.name.casefold(): unit
        for unit in db.session.scalars(select(OrgUnit).where(OrgUnit.kind == "team"))
    }


def _actor_id(actor: Any) -> int | None:
    return getattr(actor, "id", None)


def _today(today: date | None) -> date:
    return today or organisation_today()


# --- the framework: procedures and integration domains ----------------------------------------


def framework_content() -> dict[str, Any] | None:
    """The loaded adoption framework (framework.yaml) as a document, or None before loading."""
    document = db.session.scalar(select(FrameworkDocument).order_by(FrameworkDocument.id).limit(1))
    return document.content if document is not None else None


def framework_procedures(content: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    content = framework_content() if content is None else content
    return list((content or {}).get("procedures") or [])


def framework_domains(content: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    content = framework_content() if content is None else content
    return list((content or {}).get("integration_domains") or [])


def _insert_missing(rows: list[Any], existing: Callable[[], list[Any]]) -> list[Any]:
    """Add `rows` in a savepoint; if another request added them first, keep theirs."""
    if not rows:
        return []
    try:
        with db.session.begin_nested():
            db.session.add_all(rows)
    except IntegrityError:
        existing()
        return []
    return rows


# --- process inventory -------------------------------------------------------------------------


def ensure_inventory(team: OrgUnit, content: dict[str, Any] | None = None) -> list[ProcessStep]:
    """One ProcessStep per step of the framework's workflow procedures for `team`: creates the
    missing ones (a framework that gains steps gains rows), renames changed titles, and returns
    the new steps. Steps the framework no longer has are kept with their history."""
    procedures = framework_procedures(content)

    def existing() -> list[ProcessStep]:
        return list(db.session.scalars(select(ProcessStep).where(ProcessStep.team_id == team.id)))

    have = {(step.procedure, step.step_number): step for step in existing()}
    new = []
    for procedure in procedures:
        for step in procedure.get("steps") or []:
            key = (procedure["id"], int(step["number"]))
            found = have.get(key)
            if found is None:
                new.append(
                    ProcessStep(
                        team_id=team.id, procedure=key[0], step_number=key[1], title=step["title"]
                    )
                )
            elif found.title != step["title"]:
                found.title = step["title"]
    return _insert_missing(new, existing)


@dataclass(frozen=True)
class StepState:
    """Where a step stands: automated or manual, since when, who said so, and why."""

    automated: bool
    since: date | None = None
    recorded_by_id: int | None = None
    note: str | None = None

    @property
    def label(self) -> str:
        return "automated" if self.automated else "manual"


def _ordered(changes: Iterable[ProcessStepChange]) -> list[ProcessStepChange]:
    return sorted(changes, key=lambda change: (change.changed_on, change.id or 0))


def state_on(changes: Iterable[ProcessStepChange], day: date | None = None) -> StepState:
    """The state a step's history says it was in on `day` (default: its latest): the last
    change dated on or before that day; manual before any change."""
    latest = None
    for change in _ordered(changes):
        if day is not None and change.changed_on > day:
            break
        latest = change
    if latest is None:
        return StepState(automated=False)
    return StepState(latest.automated, latest.changed_on, latest.recorded_by_id, latest.note)


def inventory(team: OrgUnit) -> list[ProcessStep]:
    """The team's steps with their changes, in framework order (two queries)."""
    return list(
        db.session.scalars(
            select(ProcessStep)
            .where(ProcessStep.team_id == team.id)
            .options(selectinload(ProcessStep.changes))
            .order_by(ProcessStep.procedure, ProcessStep.step_number)
        )
    )


def record_step_change(
    step: ProcessStep,
    *,
    automated: bool,
    changed_on: date,
    note: str | None = None,
    actor: Any = None,
    today: date | None = None,
) -> ProcessStepChange | None:
    """Append a change to the step's history and audit it. Returns None when exactly this change
    (same state, same date) is recorded already, so a form sent twice records once."""
    if changed_on > _today(today):
        raise RecordsError("The date it changed cannot be in the future.", field="changed_on")
    note = (note or "").strip() or None
    if note and len(note) > NOTE_LENGTH:
        raise RecordsError(f"Keep the note to {NOTE_LENGTH} characters.", field="note")
    changes = list(step.changes)
    if any(c.automated == automated and c.changed_on == changed_on for c in changes):
        return None
    before = state_on(changes, changed_on)
    if before.automated == automated:
        if before.since is None:
            raise RecordsError(
                "Every step starts manual: record the date it became automated.",
                field="automated",
            )
        raise RecordsError(
            f"On {changed_on:%d %b %Y} this step was {before.label} already "
            f"(since {before.since:%d %b %Y}).",
            field="automated",
        )
    change = ProcessStepChange(
        step=step,
        automated=automated,
        changed_on=changed_on,
        note=note,
        recorded_by_id=_actor_id(actor),
    )
    db.session.add(change)
    db.session.flush()
    record(
        "process_step.changed",
        target=step,
        actor=actor,
        team=step.team_id,
        procedure=step.procedure,
        step_number=step.step_number,
        automated=automated,
        changed_on=changed_on.isoformat(),
        note=note,
    )
    return change


# --- campaign log ------------------------------------------------------------------------------


def _text(values: Mapping[str, Any], name: str) -> str:
    value = values.get(name)
    return "" if value is None else str(value).strip()


def parse_date(value: Any, name: str) -> date:
    """A calendar date as YYYY-MM-DD (a `date` passes through)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    text = "" if value is None else str(value).strip()
    if not text:
        raise RecordsError(f"{name} is empty", field=name)
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise RecordsError(
            f"{name} {text!r} is not a date such as 2026-03-31", field=name
        ) from error


def parse_number(
    value: Any, name: str, *, minimum: float | None = None, maximum: float | None = None
) -> float:
    """A finite number (dot for decimals, no thousands separators)."""
    if isinstance(value, bool):  # JSON true is not a number
        raise RecordsError(f"{name} {value!r} is not a number", field=name)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise RecordsError(f"{name} is empty", field=name)
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError, OverflowError) as error:
        raise RecordsError(
            f"{name} {value!r} is not a number (use a dot for decimals and no thousands "
            "separators)",
            field=name,
        ) from error
    if not math.isfinite(number):
        raise RecordsError(f"{name} {value!r} is not a number", field=name)
    if minimum is not None and number < minimum:
        raise RecordsError(f"{name} cannot be negative", field=name)
    if maximum is not None and number >= maximum:
        raise RecordsError(f"{name} {number:,.0f} is implausibly large", field=name)
    return number


@dataclass(frozen=True)
class CampaignValues:
    """One campaign's fields, checked."""

    campaign: str
    launched_on: date
    hours_spent: float
    cost: float
    attributed_revenue: float
    kpi_name: str | None
    kpi_value: float | None

    def differs_from(self, row: CampaignLog) -> bool:
        return (
            row.campaign != self.campaign
            or row.launched_on != self.launched_on
            or not math.isclose(row.hours_spent, self.hours_spent, abs_tol=1e-9)
            or round(row.cost, 2) != self.cost
            or round(row.attributed_revenue, 2) != self.attributed_revenue
            or row.kpi_name != self.kpi_name
            or (row.kpi_value is None) != (self.kpi_value is None)
            or (
                row.kpi_value is not None
                and self.kpi_value is not None
                and not math.isclose(row.kpi_value, self.kpi_value, abs_tol=1e-9)
            )
        )


class CampaignProblems(RecordsError):
    """Every problem of one campaign's fields at once (the message joins them)."""

    def __init__(self, problems: list[RecordsError]) -> None:
        super().__init__("; ".join(str(p) for p in problems), field=problems[0].field)
        self.problems = problems


def check_campaign(values: Mapping[str, Any], today: date | None = None) -> CampaignValues:
    """Check one campaign's fields (from a form, a CSV row or a JSON object). Hours, cost and
    revenue are required and not negative (write 0 for none); the launch date is not in the
    future; the KPI name and value come together or not at all. Raises `CampaignProblems`
    naming every field that is wrong, not just the first."""
    problems: list[RecordsError] = []

    def checked(check: Callable[[], Any]) -> Any:
        try:
            return check()
        except RecordsError as problem:
            problems.append(problem)
            return None

    def name_of_campaign() -> str:
        name = _text(values, "campaign")
        if not name:
            raise RecordsError("campaign (its name) is empty", field="campaign")
        if len(name) > 200:
            raise RecordsError("campaign is longer than 200 characters", field="campaign")
        return name

    def launch_date() -> date:
        launched_on = parse_date(values.get("launched_on"), "launched_on")
        if launched_on > _today(today):
            raise RecordsError("launched_on cannot be in the future", field="launched_on")
        return launched_on

    def money(name: str) -> float:
        return round(parse_number(values.get(name), name, minimum=0, maximum=MAX_MONEY), 2)

    name = checked(name_of_campaign)
    launched_on = checked(launch_date)
    hours = checked(
        lambda: parse_number(values.get("hours_spent"), "hours_spent", minimum=0, maximum=MAX_HOURS)
    )
    cost = checked(lambda: money("cost"))
    revenue = checked(lambda: money("attributed_revenue"))
    kpi_name = _text(values, "kpi_name") or None
    raw_kpi = values.get("kpi_value")
    has_kpi_value = not (raw_kpi is None or (isinstance(raw_kpi, str) and not raw_kpi.strip()))
    kpi_value = None
    if kpi_name and len(kpi_name) > 80:
        problems.append(RecordsError("kpi_name is longer than 80 characters", field="kpi_name"))
    if kpi_name and not has_kpi_value:
        problems.append(
            RecordsError("kpi_value is empty: give the KPI's value with its name", "kpi_value")
        )
    elif has_kpi_value and not kpi_name:
        problems.append(
            RecordsError("kpi_name is empty: name the KPI whose value you give", "kpi_name")
        )
    elif has_kpi_value:
        kpi_value = checked(lambda: parse_number(raw_kpi, "kpi_value"))
    if problems:
        raise CampaignProblems(problems)
    return CampaignValues(
        campaign=name,
        launched_on=launched_on,
        hours_spent=hours,
        cost=cost,
        attributed_revenue=revenue,
        kpi_name=kpi_name,
        kpi_value=kpi_value,
    )


def _campaign_key_taken(team: OrgUnit, values: CampaignValues, other_than: int | None) -> bool:
    statement = select(CampaignLog.id).where(
        CampaignLog.team_id == team.id,
        CampaignLog.campaign == values.campaign,
        CampaignLog.launched_on == values.launched_on,
    )
    if other_than is not None:
        statement = statement.where(CampaignLog.id != other_than)
    return db.session.scalar(statement.limit(1)) is not None


def _apply(row: CampaignLog, values: CampaignValues) -> None:
    row.campaign = values.campaign
    row.launched_on = values.launched_on
    row.hours_spent = values.hours_spent
    row.cost = values.cost
    row.attributed_revenue = values.attributed_revenue
    row.kpi_name = values.kpi_name
    row.kpi_value = values.kpi_value


def _audit_values(values: CampaignValues) -> dict[str, Any]:
    return {
        "campaign": values.campaign,
        "launched_on": values.launched_on.isoformat(),
        "hours_spent": values.hours_spent,
        "cost": values.cost,
        "attributed_revenue": values.attributed_revenue,
        "kpi_name": values.kpi_name,
        "kpi_value": values.kpi_value,
    }


def add_campaign(
    team: OrgUnit, values: Mapping[str, Any], *, actor: Any = None, today: date | None = None
) -> CampaignLog:
    checked = check_campaign(values, today)
    if _campaign_key_taken(team, checked, None):
        raise RecordsError(
            f"{team.name} has a campaign named {checked.campaign!r} launched on "
            f"{checked.launched_on:%d %b %Y} already: edit that one.",
            field="campaign",
        )
    row = CampaignLog(team_id=team.id, recorded_by_id=_actor_id(actor))
    _apply(row, checked)
    db.session.add(row)
    db.session.flush()
    record("campaign.recorded", target=row, actor=actor, team=team.id, **_audit_values(checked))
    return row


def update_campaign(
    row: CampaignLog, values: Mapping[str, Any], *, actor: Any = None, today: date | None = None
) -> bool:
    """Change a campaign's fields; returns whether anything changed."""
    checked = check_campaign(values, today)
    if not checked.differs_from(row):
        return False
    if _campaign_key_taken(row.team, checked, row.id):
        raise RecordsError(
            f"{row.team.name} has another campaign named {checked.campaign!r} launched on "
            f"{checked.launched_on:%d %b %Y}.",
            field="campaign",
        )
    before = {
        "campaign": row.campaign,
        "launched_on": row.launched_on.isoformat(),
        "hours_spent": row.hours_spent,
        "cost": row.cost,
        "attributed_revenue": row.attributed_revenue,
        "kpi_name": row.kpi_name,
        "kpi_value": row.kpi_value,
    }
    after = _audit_values(checked)
    _apply(row, checked)
    row.recorded_by_id = _actor_id(actor) or row.recorded_by_id
    row.recorded_at = now_utc()
    db.session.flush()
    record(
        "campaign.updated",
        target=row,
        actor=actor,
        team=row.team_id,
        changes={k: [before[k], after[k]] for k in after if before[k] != after[k]},
    )
    return True


@dataclass
class CampaignImportReport:
    rows: int = 0
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def kept(self) -> int:
        """Rows taken (added, updated or found unchanged): not refused."""
        return len(self.created) + len(self.updated) + len(self.unchanged)

    def summary(self) -> str:
        return (
            f"{len(self.created)} added, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged, {len(self.problems)} refused"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "created": len(self.created),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "problems": [{"row": p.where, "reason": p.reason} for p in self.problems],
        }


def import_campaigns(
    rows: Iterable[tuple[int, Mapping[str, Any]]],
    *,
    editable: set[int] | None,
    actor: Any = None,
    source: str = "upload",
    problems: list[RowProblem] | None = None,
    today: date | None = None,
) -> CampaignImportReport:
    """Add or update campaigns, one per (team, campaign, launched_on): a row that names a
    campaign recorded already updates it, so importing again doubles nothing. Rows naming a
    team outside `editable` (None: every team) are refused like any bad row. `problems` found
    while reading the rows (a CSV line with too many cells) join the report in order."""
    today = _today(today)
    report = CampaignImportReport()
    report.problems.extend(problems or [])
    report.rows += len(report.problems)
    teams = teams_by_name()
    checked: list[tuple[int, OrgUnit, CampaignValues]] = []
    seen: dict[tuple[int, str, date], int] = {}
    for where, values in rows:
        report.rows += 1
        if not isinstance(values, Mapping):
            report.problems.append(RowProblem(where, "each campaign must be a JSON object"))
            continue
        team_name = _text(values, "team")
        team = teams.get(team_name.casefold()) if team_name else None
        if not team_name:
            report.problems.append(RowProblem(where, "team is empty"))
            continue
        if team is None:
            report.problems.append(RowProblem(where, f"team {team_name!r} does not exist"))
            continue
        if editable is not None and team.id not in editable:
            report.problems.append(
                RowProblem(where, f"team {team.name!r} is not one whose records you keep")
            )
            continue
        try:
            campaign = check_campaign(values, today)
        except RecordsError as problem:
            report.problems.append(RowProblem(where, str(problem)))
            continue
        key = (team.id, campaign.campaign, campaign.launched_on)
        if key in seen:
            report.problems.append(
                RowProblem(
                    where,
                    f"campaign {campaign.campaign!r} of {team.name} launched on "
                    f"{campaign.launched_on.isoformat()} appears again (first at {seen[key]})",
                )
            )
            continue
        seen[key] = where
        checked.append((where, team, campaign))
    existing = _existing_campaigns({(team.id, c.campaign) for _, team, c in checked})
    created = 0
    for _, team, campaign in checked:
        label = f"{team.name}: {campaign.campaign} ({campaign.launched_on.isoformat()})"
        row = existing.get((team.id, campaign.campaign, campaign.launched_on))
        if row is None:
            row = CampaignLog(team_id=team.id, recorded_by_id=_actor_id(actor))
            _apply(row, campaign)
            db.session.add(row)
            report.created.append(label)
            created += 1
        elif campaign.differs_from(row):
            _apply(row, campaign)
            row.recorded_by_id = _actor_id(actor) or row.recorded_by_id
            row.recorded_at = now_utc()
            report.updated.append(label)
        else:
            report.unchanged.append(label)
    report.problems.sort(key=lambda problem: problem.where)
    db.session.flush()
    record(
        "campaigns.imported",
        target_type="campaign_log",
        actor=actor,
        source=source,
        created=len(report.created),
        updated=len(report.updated),
        unchanged=len(report.unchanged),
        refused=[str(problem) for problem in report.problems][:50],
    )
    return report


def _existing_campaigns(keys: set[tuple[int, str]]) -> dict[tuple[int, str, date], CampaignLog]:
    found: dict[tuple[int, str, date], CampaignLog] = {}
    names = sorted({name for _, name in keys})
    team_ids = {team_id for team_id, _ in keys}
    for start in range(0, len(names), 500):
        for row in db.session.scalars(
            select(CampaignLog).where(
                CampaignLog.team_id.in_(team_ids),
                CampaignLog.campaign.in_(names[start : start + 500]),
            )
        ):
            found[(row.team_id, row.campaign, row.launched_on)] = row
    return found


@dataclass(frozen=True)
class CampaignTotals:
    campaigns: int
    hours: float
    cost: float
    revenue: float

    @property
    def roi(self) -> float | None:
        """(Attributed revenue − cost) ÷ cost; None when nothing was spent."""
        return (self.revenue - self.cost) / self.cost if self.cost else None


def campaign_totals(team: OrgUnit) -> CampaignTotals:
    row = db.session.execute(
        select(
            func.count(CampaignLog.id),
            func.coalesce(func.sum(CampaignLog.hours_spent), 0),
            func.coalesce(func.sum(CampaignLog.cost), 0),
            func.coalesce(func.sum(CampaignLog.attributed_revenue), 0),
        ).where(CampaignLog.team_id == team.id)
    ).one()
    return CampaignTotals(int(row[0]), float(row[1]), float(row[2]), float(row[3]))


def campaigns_newest_first(team: OrgUnit) -> Select:
    return (
        select(CampaignLog)
        .where(CampaignLog.team_id == team.id)
        .order_by(CampaignLog.launched_on.desc(), CampaignLog.id.desc())
    )


# --- integration checkpoints -------------------------------------------------------------------


def ensure_checkpoints(
    team: OrgUnit, content: dict[str, Any] | None = None
) -> list[IntegrationCheckpoint]:
    """One checkpoint per item of the framework's four integration domains for `team` (planned
    until someone marks it achieved); idempotent, and new items of the framework are added."""
    domains = framework_domains(content)

    def existing() -> list[IntegrationCheckpoint]:
        return list(
            db.session.scalars(
                select(IntegrationCheckpoint).where(IntegrationCheckpoint.team_id == team.id)
            )
        )

    have = {(cp.domain, cp.item): cp for cp in existing()}
    new = []
    for domain in domains:
        for item in domain.get("items") or []:
            found = have.get((domain["id"], item["id"]))
            if found is None:
                new.append(
                    IntegrationCheckpoint(
                        team_id=team.id,
                        domain=domain["id"],
                        item=item["id"],
                        title=item["title"],
                        status="planned",
                    )
                )
            elif found.title != item["title"]:
                found.title = item["title"]
    return _insert_missing(new, existing)


def ensure_all_teams() -> tuple[int, int]:
    """The process inventory and integration checkpoints of every team, completed from the
    loaded framework (for after a framework load or for a new team). Returns the numbers of
    steps and checkpoints created."""
    content = framework_content()
    steps = made = 0
    for team in db.session.scalars(select(OrgUnit).where(OrgUnit.kind == "team")):
        steps += len(ensure_inventory(team, content))
        made += len(ensure_checkpoints(team, content))
    return steps, made


def checkpoints(team: OrgUnit) -> list[IntegrationCheckpoint]:
    return list(
        db.session.scalars(
            select(IntegrationCheckpoint)
            .where(IntegrationCheckpoint.team_id == team.id)
            .order_by(IntegrationCheckpoint.domain, IntegrationCheckpoint.id)
        )
    )


def set_checkpoint(
    checkpoint: IntegrationCheckpoint,
    *,
    status: str,
    achieved_on: date | None = None,
    evidence: str | None = None,
    actor: Any = None,
    today: date | None = None,
) -> bool:
    """Mark a checkpoint achieved (a date, not in the future, and the evidence are required) or
    back to planned (which clears both). Returns whether anything changed; changes are audited
    with what was there before."""
    if status not in CHECKPOINT_STATUSES:
        raise RecordsError("Choose planned or achieved.", field="status")
    evidence = (evidence or "").strip() or None
    if status == "achieved":
        if achieved_on is None:
            raise RecordsError("Give the date it was achieved.", field="achieved_on")
        if achieved_on > _today(today):
            raise RecordsError("The date it was achieved cannot be in the future.", "achieved_on")
        if evidence is None:
            raise RecordsError(
                "Say what shows it was achieved: the evidence is required.", field="evidence"
            )
        if len(evidence) > EVIDENCE_LENGTH:
            raise RecordsError(f"Keep the evidence to {EVIDENCE_LENGTH} characters.", "evidence")
    else:
        achieved_on, evidence = None, None
    if (checkpoint.status, checkpoint.achieved_on, checkpoint.evidence) == (
        status,
        achieved_on,
        evidence,
    ):
        return False
    before = {
        "status": checkpoint.status,
        "achieved_on": checkpoint.achieved_on.isoformat() if checkpoint.achieved_on else None,
        "evidence": checkpoint.evidence,
    }
    checkpoint.status = status
    checkpoint.achieved_on = achieved_on
    checkpoint.evidence = evidence
    checkpoint.updated_by_id = _actor_id(actor)
    checkpoint.updated_at = now_utc()
    db.session.flush()
    record(
        f"integration_checkpoint.{status}",
        target=checkpoint,
        actor=actor,
        team=checkpoint.team_id,
        domain=checkpoint.domain,
        item=checkpoint.item,
        achieved_on=achieved_on.isoformat() if achieved_on else None,
        evidence=evidence,
        before=before,
    )
    return True


# --- baselines ---------------------------------------------------------------------------------


def baselines(team: OrgUnit) -> dict[str, MetricBaseline]:
    return {
        row.metric: row
        for row in db.session.scalars(
            select(MetricBaseline).where(MetricBaseline.team_id == team.id)
        )
    }


def campaigns_in_period(team: OrgUnit, start: date, end: date) -> int:
    return (
        db.session.scalar(
            select(func.count(CampaignLog.id)).where(
                CampaignLog.team_id == team.id,
                CampaignLog.launched_on >= start,
                CampaignLog.launched_on <= end,
            )
        )
        or 0
    )


def set_baseline(
    team: OrgUnit,
    metric: str,
    *,
    period_start: date,
    period_end: date,
    note: str | None = None,
    actor: Any = None,
    today: date | None = None,
) -> MetricBaseline:
    """Set (or move) the period `team`'s `metric` is compared against: it starts on or before
    it ends, and ends no later than today."""
    if metric not in BASELINE_METRICS:
        raise RecordsError(
            f"{metric!r} has no baseline; choose one of {', '.join(BASELINE_METRICS)}"
        )
    if period_end < period_start:
        raise RecordsError("The period cannot end before it starts.", field="period_end")
    if period_end > _today(today):
        raise RecordsError(
            "The baseline period cannot end in the future: it is a period already measured.",
            field="period_end",
        )
    note = (note or "").strip() or None
    if note and len(note) > NOTE_LENGTH:
        raise RecordsError(f"Keep the note to {NOTE_LENGTH} characters.", field="note")
    row = db.session.scalar(
        select(MetricBaseline).where(
            MetricBaseline.team_id == team.id, MetricBaseline.metric == metric
        )
    )
    before = None
    if row is None:
        row = MetricBaseline(team_id=team.id, metric=metric)
        db.session.add(row)
    else:
        if (row.period_start, row.period_end, row.note) == (period_start, period_end, note):
            return row
        before = [row.period_start.isoformat(), row.period_end.isoformat()]
    row.period_start, row.period_end, row.note = period_start, period_end, note
    db.session.flush()
    record(
        "metric_baseline.set",
        target=row,
        actor=actor,
        team=team.id,
        metric=metric,
        period=[period_start.isoformat(), period_end.isoformat()],
        before=before,
        note=note,
    )
    return row


# --- batches from the JSON API and CSV files ---------------------------------------------------


@dataclass
class BatchReport:
    """What a batch did, with the problems by index (JSON) or line (CSV). `done_as` and
    `same_as` name the counts ("recorded" and "duplicates", "updated" and "unchanged")."""

    done_as: str
    same_as: str
    rows: int = 0
    done: int = 0
    same: int = 0
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def kept(self) -> int:
        """Rows taken (done, or found done already): not refused."""
        return self.done + self.same

    def summary(self) -> str:
        return (
            f"{self.done} {self.done_as}, {self.same} {self.same_as}, {len(self.problems)} refused"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            self.done_as: self.done,
            self.same_as: self.same,
            "problems": [{"row": p.where, "reason": p.reason} for p in self.problems],
        }


def _resolve_team(
    values: Mapping[str, Any], teams: dict[str, OrgUnit], editable: set[int] | None
) -> OrgUnit:
    name = _text(values, "team")
    if not name:
        raise RecordsError("team is empty")
    team = teams.get(name.casefold())
    if team is None:
        raise RecordsError(f"team {name!r} does not exist")
    if editable is not None and team.id not in editable:
        raise RecordsError(f"team {team.name!r} is not one whose records you keep")
    return team


def _whole_number(value: Any, name: str) -> int:
    if isinstance(value, bool) or not (
        isinstance(value, int) or (isinstance(value, str) and value.strip().isdecimal())
    ):
        raise RecordsError(f"{name} {value!r} is not a whole number")
    return int(value)


def parse_automated(value: Any) -> bool:
    """true/false, yes/no, or the words automated/manual (any case)."""
    if isinstance(value, bool):
        return value
    words = {
        "automated": True,
        "true": True,
        "yes": True,
        "manual": False,
        "false": False,
        "no": False,
    }
    if isinstance(value, str) and value.strip().lower() in words:
        return words[value.strip().lower()]
    raise RecordsError(f"automated {value!r} is not true or false")


def _change_day(row: tuple[int, Any]) -> date:
    """The date a batch's change took effect, for ordering (date.min if it has none)."""
    item = row[1]
    try:
        return parse_date(item.get("changed_on"), "changed_on")
    except (AttributeError, RecordsError):
        return date.min


def _step_changes(
    rows: Iterable[tuple[int, Any]],
    *,
    editable: set[int] | None,
    actor: Any = None,
    today: date | None = None,
    problems: list[RowProblem] | None = None,
) -> BatchReport:
    """The one way a batch of process-step changes is checked and recorded, whoever sends it
    (the JSON API by index, a CSV file by line): `rows` are (where, change) pairs."""
    report = BatchReport("recorded", "duplicates")
    report.problems.extend(problems or [])
    # Oldest change first (the order of the batch for one day), so each change is checked
    # against the history before it however the batch is sorted: a file of changes in any
    # order records the same history, on its first import as on the next.
    rows = sorted(rows, key=_change_day)
    report.rows += len(report.problems)
    content = framework_content()
    procedures = {p["id"]: p for p in framework_procedures(content)}
    teams = teams_by_name()
    steps: dict[int, dict[tuple[str, int], ProcessStep]] = {}
    for where, item in rows:
        report.rows += 1
        try:
            if not isinstance(item, Mapping):
                raise RecordsError("each change must be a JSON object")
            if content is None:
                raise RecordsError("the adoption framework is not loaded yet")
            team = _resolve_team(item, teams, editable)
            procedure_id = _text(item, "procedure")
            procedure = procedures.get(procedure_id)
            if procedure is None:
                raise RecordsError(
                    f"procedure {procedure_id!r} is not one of {', '.join(procedures)}"
                )
            number = _whole_number(item.get("step_number"), "step_number")
            if team.id not in steps:
                ensure_inventory(team, content)
                steps[team.id] = {(s.procedure, s.step_number): s for s in inventory(team)}
            step = steps[team.id].get((procedure_id, number))
            if step is None:
                raise RecordsError(
                    f"step_number {number} is not a step of {procedure_id} "
                    f"(1 to {len(procedure['steps'])})"
                )
            automated = parse_automated(item.get("automated"))
            changed_on = parse_date(item.get("changed_on"), "changed_on")
            note = item.get("note")
            if note is not None and not isinstance(note, str):
                raise RecordsError("note must be text")
            change = record_step_change(
                step,
                automated=automated,
                changed_on=changed_on,
                note=note,
                actor=actor,
                today=today,
            )
        except RecordsError as problem:
            report.problems.append(RowProblem(where, str(problem)))
            continue
        if change is None:
            report.same += 1
        else:
            report.done += 1
    report.problems.sort(key=lambda problem: problem.where)
    return report


def apply_step_changes(
    items: list[Any], *, editable: set[int] | None, actor: Any = None, today: date | None = None
) -> BatchReport:
    """Record changes to process steps named by team, procedure id and step number; each bad
    item is a problem by index and the good ones are kept. A change recorded already (same
    state, same date) is a duplicate, not a second change."""
    return _step_changes(enumerate(items), editable=editable, actor=actor, today=today)


def import_step_changes(
    rows: Iterable[tuple[int, Mapping[str, Any]]],
    *,
    editable: set[int] | None,
    actor: Any = None,
    source: str = "upload",
    problems: list[RowProblem] | None = None,
    today: date | None = None,
) -> BatchReport:
    """Process-step changes from a file, checked and recorded exactly as the API's, with the
    problems by line (`problems` found while reading the file join them); audited once with
    the counts. Importing the same file again records nothing twice."""
    report = _step_changes(rows, editable=editable, actor=actor, today=today, problems=problems)
    _audit_import("process_step_changes.imported", "process_step_change", report, actor, source)
    return report


def _checkpoints(
    rows: Iterable[tuple[int, Any]],
    *,
    editable: set[int] | None,
    actor: Any = None,
    today: date | None = None,
    problems: list[RowProblem] | None = None,
) -> BatchReport:
    """The one way a batch of integration checkpoints is checked and set, whoever sends it
    (the JSON API by index, a CSV file by line): `rows` are (where, checkpoint) pairs."""
    report = BatchReport("updated", "unchanged")
    report.problems.extend(problems or [])
    report.rows += len(report.problems)
    content = framework_content()
    domains = {d["id"]: {i["id"] for i in d.get("items") or []} for d in framework_domains(content)}
    teams = teams_by_name()
    found: dict[int, dict[tuple[str, str], IntegrationCheckpoint]] = {}
    for where, item in rows:
        report.rows += 1
        try:
            if not isinstance(item, Mapping):
                raise RecordsError("each checkpoint must be a JSON object")
            if content is None:
                raise RecordsError("the adoption framework is not loaded yet")
            team = _resolve_team(item, teams, editable)
            domain = _text(item, "domain")
            if domain not in domains:
                raise RecordsError(f"domain {domain!r} is not one of {', '.join(domains)}")
            item_id = _text(item, "item")
            if item_id not in domains[domain]:
                raise RecordsError(
                    f"item {item_id!r} is not an item of {domain} "
                    f"({', '.join(sorted(domains[domain]))})"
                )
            status = _text(item, "status")
            if status not in CHECKPOINT_STATUSES:
                raise RecordsError(f"status {status!r} is not planned or achieved")
            achieved_on = None
            if status == "achieved" and item.get("achieved_on") not in (None, ""):
                achieved_on = parse_date(item.get("achieved_on"), "achieved_on")
            evidence = item.get("evidence")
            if evidence is not None and not isinstance(evidence, str):
                raise RecordsError("evidence must be text")
            if team.id not in found:
                ensure_checkpoints(team, content)
                found[team.id] = {(cp.domain, cp.item): cp for cp in checkpoints(team)}
            changed = set_checkpoint(
                found[team.id][(domain, item_id)],
                status=status,
                achieved_on=achieved_on,
                evidence=evidence,
                actor=actor,
                today=today,
            )
        except RecordsError as problem:
            report.problems.append(RowProblem(where, str(problem)))
            continue
        if changed:
            report.done += 1
        else:
            report.same += 1
    report.problems.sort(key=lambda problem: problem.where)
    return report


def apply_checkpoints(
    items: list[Any], *, editable: set[int] | None, actor: Any = None, today: date | None = None
) -> BatchReport:
    """Set integration checkpoints named by team, domain and item id: achieved (with
    achieved_on and evidence) or planned. Each bad item is a problem by index."""
    return _checkpoints(enumerate(items), editable=editable, actor=actor, today=today)


def import_checkpoints(
    rows: Iterable[tuple[int, Mapping[str, Any]]],
    *,
    editable: set[int] | None,
    actor: Any = None,
    source: str = "upload",
    problems: list[RowProblem] | None = None,
    today: date | None = None,
) -> BatchReport:
    """Integration checkpoints from a file, checked and set exactly as the API's, with the
    problems by line; audited once with the counts. A row that sets a checkpoint to what it
    is already changes nothing, so importing the same file again changes nothing."""
    report = _checkpoints(rows, editable=editable, actor=actor, today=today, problems=problems)
    _audit_import(
        "integration_checkpoints.imported", "integration_checkpoint", report, actor, source
    )
    return report


def _audit_import(
    action: str, target_type: str, report: BatchReport, actor: Any, source: str
) -> None:
    db.session.flush()
    record(
        action,
        target_type=target_type,
        actor=actor,
        source=source,
        rows=report.rows,
        **{report.done_as: report.done, report.same_as: report.same},
        refused=[str(problem) for problem in report.problems][:50],
    )


@dataclass(frozen=True)
class ImportKind:
    """A kind of record a CSV file can bring: its columns and the import that takes its rows."""

    name: str
    label: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    run: Callable[..., CampaignImportReport | BatchReport]

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional


IMPORT_KINDS = {
    kind.name: kind
    for kind in (
        ImportKind(
            "campaigns", "campaigns", CAMPAIGN_REQUIRED, CAMPAIGN_OPTIONAL, import_campaigns
        ),
        ImportKind(
            "process-changes",
            "process-step changes",
            STEP_CHANGE_REQUIRED,
            STEP_CHANGE_OPTIONAL,
            import_step_changes,
        ),
        ImportKind(
            "checkpoints",
            "integration checkpoints",
            CHECKPOINT_REQUIRED,
            CHECKPOINT_OPTIONAL,
            import_checkpoints,
        ),
    )
}


def import_csv(
    kind: str,
    text: str,
    *,
    editable: set[int] | None,
    actor: Any = None,
    source: str = "upload",
    today: date | None = None,
) -> CampaignImportReport | BatchReport:
    """Import the CSV `text` of `kind` (a key of IMPORT_KINDS): bad rows are problems by line,
    good rows are kept, and the import is audited once with its counts (a file whose header is
    wrong too, with nothing taken). `editable` None means every team (admins, the system)."""
    spec = IMPORT_KINDS[kind]
    rows, problems = read_csv(text, spec.required, spec.optional)
    return spec.run(
        rows, editable=editable, actor=actor, source=source, problems=problems, today=today
    )


# --- the records of many teams at a glance -----------------------------------------------------


@dataclass
class TeamSummary:
    steps: int = 0
    automated: int = 0
    campaigns: int = 0
    last_launched: date | None = None
    checkpoints: int = 0
    achieved: int = 0
    baselines: int = 0


def latest_changes() -> Select:
    """Each step's latest change (by the date it changed, then the order recorded), as a
    subquery with step_id and automated."""
    ranked = select(
        ProcessStepChange.step_id,
        ProcessStepChange.automated,
        func.row_number()
        .over(
            partition_by=ProcessStepChange.step_id,
            order_by=(ProcessStepChange.changed_on.desc(), ProcessStepChange.id.desc()),
        )
        .label("rank"),
    ).subquery()
    return select(ranked.c.step_id, ranked.c.automated).where(ranked.c.rank == 1).subquery()


def team_summaries(team_ids: list[int]) -> dict[int, TeamSummary]:
    """Counts per team for the records index, in four queries whatever the number of teams."""
    summaries = {team_id: TeamSummary() for team_id in team_ids}
    if not team_ids:
        return summaries
    latest = latest_changes()
    for team_id, steps, automated in db.session.execute(
        select(
            ProcessStep.team_id,
            func.count(ProcessStep.id),
            func.count(latest.c.step_id).filter(latest.c.automated.is_(True)),
        )
        .outerjoin(latest, latest.c.step_id == ProcessStep.id)
        .where(ProcessStep.team_id.in_(team_ids))
        .group_by(ProcessStep.team_id)
    ):
        summaries[team_id].steps, summaries[team_id].automated = steps, automated
    for team_id, count, last in db.session.execute(
        select(CampaignLog.team_id, func.count(CampaignLog.id), func.max(CampaignLog.launched_on))
        .where(CampaignLog.team_id.in_(team_ids))
        .group_by(CampaignLog.team_id)
    ):
        summaries[team_id].campaigns, summaries[team_id].last_launched = count, last
    for team_id, count, achieved in db.session.execute(
        select(
            IntegrationCheckpoint.team_id,
            func.count(IntegrationCheckpoint.id),
            func.count(IntegrationCheckpoint.id).filter(IntegrationCheckpoint.status == "achieved"),
        )
        .where(IntegrationCheckpoint.team_id.in_(team_ids))
        .group_by(IntegrationCheckpoint.team_id)
    ):
        summaries[team_id].checkpoints, summaries[team_id].achieved = count, achieved
    for team_id, count in db.session.execute(
        select(MetricBaseline.team_id, func.count(MetricBaseline.id))
        .where(MetricBaseline.team_id.in_(team_ids))
        .group_by(MetricBaseline.team_id)
    ):
        summaries[team_id].baselines = count
    return summaries


def user_names(ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(wanted))).all())


# --- endorsements ------------------------------------------------------------------------------


def colleagues_matching(user: User, query: str, limit: int = 25) -> list[User]:
    """Active colleagues (not `user`) whose name contains `query`, by name."""
    query = query.strip()
    if not query:
        return []
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.active.is_(True),
                User.erased_at.is_(None),
                User.id != user.id,
                contains(User.name, query),
            )
            .order_by(User.name, User.id)
            .limit(limit)
        )
    )


def endorse(
    endorser: User, endorsee: User | None, note: str, *, now: datetime | None = None
) -> Endorsement:
    """`endorser` recognises a colleague's work: not themselves, an active colleague, a note of
    at most 500 characters, and once per colleague in 30 days."""
    if endorsee is None or not endorsee.active or endorsee.erased_at is not None:
        raise RecordsError("Choose an active colleague to endorse.", field="endorsee_id")
    if endorsee.id == endorser.id:
        raise RecordsError("You cannot endorse yourself: ask a colleague.", field="endorsee_id")
    note = (note or "").strip()
    if not note:
        raise RecordsError("Say what you recognise in their work.", field="note")
    if len(note) > NOTE_LENGTH:
        raise RecordsError(f"Keep the note to {NOTE_LENGTH} characters.", field="note")
    now = now or now_utc()
    # Lock the endorser's row (PostgreSQL) so two forms sent at once cannot both pass the check.
    db.session.execute(select(User.id).where(User.id == endorser.id).with_for_update())
    previous = db.session.scalar(
        select(Endorsement.created_at)
        .where(
            Endorsement.endorser_id == endorser.id,
            Endorsement.endorsee_id == endorsee.id,
            Endorsement.created_at > now - ENDORSEMENT_INTERVAL,
        )
        .order_by(Endorsement.created_at.desc())
        .limit(1)
    )
    if previous is not None:
        again = as_utc(previous) + ENDORSEMENT_INTERVAL
        raise RecordsError(
            f"You endorsed {endorsee.name} on {as_utc(previous):%d %b %Y}: you can endorse them "
            f"again from {again:%d %b %Y}.",
            field="endorsee_id",
        )
    endorsement = Endorsement(
        endorser_id=endorser.id, endorsee_id=endorsee.id, note=note, created_at=now
    )
    db.session.add(endorsement)
    db.session.flush()
    return endorsement


def endorsements_received(user: User) -> Select:
    """Rows of (Endorsement, endorser name), newest first."""
    return (
        select(Endorsement, User.name)
        .join(User, User.id == Endorsement.endorser_id)
        .where(Endorsement.endorsee_id == user.id)
        .order_by(Endorsement.created_at.desc(), Endorsement.id.desc())
    )


def endorsements_given_recently(user: User, now: datetime | None = None) -> list[Any]:
    """Rows of (Endorsement, endorsee name) of the last 30 days: whom `user` cannot endorse
    again yet."""
    since = (now or now_utc()) - ENDORSEMENT_INTERVAL
    return list(
        db.session.execute(
            select(Endorsement, User.name)
            .join(User, User.id == Endorsement.endorsee_id)
            .where(Endorsement.endorser_id == user.id, Endorsement.created_at > since)
            .order_by(Endorsement.created_at.desc())
        )
    )
