"""Loading the frames of `lms.adoption.utilisation` for one scope (a cohort, a team, one
learner) in a fixed number of queries, whatever the number of learners: the scope is a filter
on enrolments, and every other query takes it as a subquery, never as a list of learners.

Times come back as the organisation's calendar days (the pure functions count in days).
Nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import ColumnElement, func, select

from lms.accounts.models import User
from lms.adoption import utilisation
from lms.adoption.models import Feature, Platform, UsageEvent, feature_modules
from lms.core.paging import Page
from lms.core.timeutil import start_of_day
from lms.curricula.models import Module
from lms.extensions import db
from lms.organisation.models import Cohort, Enrolment, OrgUnit


@dataclass(frozen=True)
class Scope:
    """Which enrolments a page is about, as conditions on `Enrolment` (joined to its `User`)."""

    conditions: tuple[ColumnElement[bool], ...]

    @classmethod
    def cohort(cls, cohort: Cohort) -> Scope:
        return cls((Enrolment.cohort_id == cohort.id,))

    @classmethod
    def team(cls, team: OrgUnit, manager_id: int | None = None) -> Scope:
        """The team's learners; with `manager_id`, only their enrolments in the cohorts that
        manager manages (a manager sees nothing of other cohorts)."""
        conditions: tuple[ColumnElement[bool], ...] = (User.team_id == team.id,)
        if manager_id is not None:
            conditions += (
                Enrolment.cohort_id.in_(select(Cohort.id).where(Cohort.manager_id == manager_id)),
            )
        return cls(conditions)

    @classmethod
    def learner(cls, user_id: int) -> Scope:
        return cls((Enrolment.user_id == user_id,))

    def narrowed_to(self, user_id: int) -> Scope:
        """The same scope, one learner of it only."""
        return Scope((*self.conditions, Enrolment.user_id == user_id))

    def learner_ids(self):
        """The scope's learners, as a subquery."""
        return (
            select(Enrolment.user_id)
            .join(User, User.id == Enrolment.user_id)
            .where(*self.conditions)
            .distinct()
        )


@dataclass
class Frames:
    """The frames of one scope (columns as `lms.adoption.utilisation` describes them)."""

    zone: str
    as_of: date
    enrolments: pd.DataFrame
    programme_features: pd.DataFrame
    features: pd.DataFrame
    usage: pd.DataFrame
    last_use: pd.DataFrame
    learners: pd.DataFrame


def _local_day(moment: datetime | None, zone: str) -> date | None:
    if moment is None:
        return None
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return aware.astimezone(ZoneInfo(zone)).date()


def load(scope: Scope, as_of: date, zone: str, usage_from: date | None = None) -> Frames:
    """The scope's frames on `as_of`, with the usage of the days `usage_from` … `as_of` (by
    default the trend's: `utilisation.usage_needed_from`) and each pair's last use over all
    time. Six queries."""
    end = start_of_day(as_of + timedelta(days=1), zone)
    learner_ids = scope.learner_ids()

    rows = db.session.execute(
        select(
            Enrolment.id,
            Enrolment.user_id,
            Enrolment.programme_id,
            Enrolment.cohort_id,
            Enrolment.start_date,
            Enrolment.status,
            Enrolment.withdrawn_at,
            Enrolment.created_at,
        )
        .join(User, User.id == Enrolment.user_id)
        .where(*scope.conditions)
        .order_by(Enrolment.id)
    ).all()
    enrolments = pd.DataFrame(
        [
            {
                "enrolment": row.id,
                "learner": row.user_id,
                "programme": row.programme_id,
                "cohort": row.cohort_id,
                "start_date": row.start_date,
                "withdrawn_on": _withdrawn_on(row, zone),
            }
            for row in rows
        ],
        columns=["enrolment", "learner", "programme", "cohort", "start_date", "withdrawn_on"],
    )

    programme_ids = sorted({row.programme_id for row in rows})
    taught = (
        db.session.execute(
            select(
                Module.programme_id,
                feature_modules.c.feature_id,
                Feature.retired_at,
                Module.retired_at.label("module_retired_at"),
            )
            .join(feature_modules, feature_modules.c.module_id == Module.id)
            .join(Feature, Feature.id == feature_modules.c.feature_id)
            .where(Module.programme_id.in_(programme_ids))
        ).all()
        if programme_ids
        else []
    )
    programme_features = pd.DataFrame(
        [
            {
                "programme": row.programme_id,
                "feature": row.feature_id,
                # A module retired stops teaching; a feature retired stops being counted.
                "retired_on": _earliest(
                    _local_day(row.retired_at, zone), _local_day(row.module_retired_at, zone)
                ),
            }
            for row in taught
        ],
        columns=["programme", "feature", "retired_on"],
    )

    features = pd.DataFrame(
        [
            {
                "feature": row.id,
                "slug": row.slug,
                "name": row.name,
                "platform": row.platform,
                "retired_on": _local_day(row.retired_at, zone),
            }
            for row in db.session.execute(
                select(
                    Feature.id,
                    Feature.slug,
                    Feature.name,
                    Feature.retired_at,
                    Platform.name.label("platform"),
                )
                .join(Platform, Platform.id == Feature.platform_id)
                .order_by(Platform.id, Feature.position, Feature.id)
            )
        ],
        columns=["feature", "slug", "name", "platform", "retired_on"],
    )

    start = start_of_day(usage_from or _default_usage_from(as_of), zone)
    usage = pd.DataFrame(
        db.session.execute(
            select(
                UsageEvent.user_id,
                UsageEvent.feature_id,
                UsageEvent.occurred_at,
                UsageEvent.count,
            ).where(
                UsageEvent.user_id.in_(learner_ids),
                UsageEvent.occurred_at >= start,
                UsageEvent.occurred_at < end,
            )
        ).all(),
        columns=["learner", "feature", "occurred_at", "count"],
    )
    usage = utilisation.to_local_days(usage, zone)

    last_use = pd.DataFrame(
        db.session.execute(
            select(UsageEvent.user_id, UsageEvent.feature_id, func.max(UsageEvent.occurred_at))
            .where(UsageEvent.user_id.in_(learner_ids), UsageEvent.occurred_at < end)
            .group_by(UsageEvent.user_id, UsageEvent.feature_id)
        ).all(),
        columns=["learner", "feature", "last_used_on"],
    )
    last_use = utilisation.to_local_days(last_use, zone, "last_used_on")

    learners = pd.DataFrame(
        db.session.execute(
            select(User.id, User.name, User.email, User.team_id, OrgUnit.name)
            .outerjoin(OrgUnit, OrgUnit.id == User.team_id)
            .where(User.id.in_(learner_ids))
        ).all(),
        columns=["learner", "name", "email", "team", "team_name"],
    )
    return Frames(
        zone=zone,
        as_of=as_of,
        enrolments=enrolments,
        programme_features=programme_features,
        features=features,
        usage=usage,
        last_use=last_use,
        learners=learners,
    )


def _withdrawn_on(row: Any, zone: str) -> date | None:
    """The day a withdrawn enrolment left; one withdrawn without a recorded time left the day
    it was made (it never counted)."""
    if row.status != "withdrawn":
        return None
    return _local_day(row.withdrawn_at or row.created_at, zone) or row.start_date


def _earliest(*days: date | None) -> date | None:
    known = [day for day in days if day is not None]
    return min(known) if known else None


def _default_usage_from(as_of: date) -> date:
    from lms.figures import figure

    return utilisation.usage_needed_from(as_of, int(figure("feature-use-window-days")))


# What the pages show --------------------------------------------------------------------------

#: Rows per page of the heat table and of the learner lists.
PER_PAGE = 50


@dataclass(frozen=True)
class FeatureInfo:
    id: int
    slug: str
    name: str
    platform: str


@dataclass(frozen=True)
class HeatCell:
    feature: FeatureInfo
    uses: int
    level: int
    #: Team rows: learners taught the feature, those of them using it, everyone using it.
    taught: int = 0
    adopted: int = 0
    users: int = 0


@dataclass(frozen=True)
class HeatRow:
    #: The team's id (None for learners without a team) or the learner's id.
    key: int | None
    label: str
    cells: list[HeatCell]
    use: utilisation.LearnerUse | None = None


@dataclass
class GroupPage:
    """Everything a team's or a cohort's utilisation page shows."""

    figures: utilisation.GroupUtilisation
    features: dict[int, FeatureInfo]
    #: The heat table's columns: features taught to someone in the group or used by someone.
    columns: list[FeatureInfo]
    unused: list[FeatureInfo]
    heat: Page
    heat_by: str

    @property
    def rate(self):
        return self.figures.rate

    @property
    def platforms(self) -> list[tuple[str, int]]:
        """The heat table's columns grouped by platform: (platform, number of columns)."""
        spans: list[tuple[str, int]] = []
        for column in self.columns:
            if spans and spans[-1][0] == column.platform:
                spans[-1] = (column.platform, spans[-1][1] + 1)
            else:
                spans.append((column.platform, 1))
        return spans


def _feature_infos(frames: Frames) -> dict[int, FeatureInfo]:
    return {
        int(row.feature): FeatureInfo(int(row.feature), row.slug, row.name, row.platform)
        for row in frames.features.itertuples(index=False)
    }


def _page(items: list[Any], number: int, per_page: int = PER_PAGE) -> Page:
    pages = max(1, -(-len(items) // per_page))
    number = max(1, min(number, pages))
    start = (number - 1) * per_page
    return Page(
        items=items[start : start + per_page], number=number, per_page=per_page, total=len(items)
    )


def window_days() -> int:
    from lms.figures import figure

    return int(figure("feature-use-window-days"))


def group_page(scope: Scope, as_of: date, zone: str, by: str, page_number: int = 1) -> GroupPage:
    """A team's or cohort's page on `as_of`; the heat table `by` "team" (a cohort's teams) or
    "learner" (one team's learners), paged. Six queries, whatever the group's size."""
    frames = load(scope, as_of, zone)
    figures = utilisation.group_utilisation(
        frames.enrolments,
        frames.programme_features,
        frames.usage,
        frames.features,
        as_of,
        window_days(),
        last_use=frames.last_use,
    )
    infos = _feature_infos(frames)
    shown = set(figures.table["feature"])
    columns = [info for fid, info in infos.items() if fid in shown]
    if by == "team":
        heat = _page(_team_rows(figures, frames, infos, columns), page_number)
    else:
        heat = _page(_by_name(figures.group, frames.learners), page_number)
        heat.items = _learner_rows(heat.items, figures, infos, columns)
    return GroupPage(
        figures=figures,
        features=infos,
        columns=columns,
        unused=[infos[fid] for fid in figures.unused if fid in infos],
        heat=heat,
        heat_by=by,
    )


def _team_rows(
    figures: utilisation.GroupUtilisation,
    frames: Frames,
    infos: dict[int, FeatureInfo],
    columns: list[FeatureInfo],
) -> list[HeatRow]:
    """One row per team of the group's learners (learners without a team: "No team")."""
    cells = utilisation.heat_by_team(figures.table, frames.learners)
    largest = int(cells["uses"].max()) if len(cells) else 0
    by_team: dict[Any, dict[int, HeatCell]] = {}
    for row in cells.itertuples(index=False):
        by_team.setdefault(row.team, {})[int(row.feature)] = HeatCell(
            infos[int(row.feature)],
            int(row.uses),
            utilisation.heat_level(int(row.uses), largest),
            int(row.taught),
            int(row.adopted),
            int(row.users),
        )
    members = set(figures.group)
    names: dict[Any, str | None] = {}
    for learner, team, team_name in zip(
        frames.learners["learner"],
        frames.learners["team"],
        frames.learners["team_name"],
        strict=True,
    ):
        if learner in members:
            names[utilisation.plain_id(team)] = team_name
    ordered = sorted(names, key=lambda team: (team is None, str(names[team] or "").casefold()))
    return [
        HeatRow(
            team,
            (names[team] if team is not None else None) or "No team",
            [by_team.get(team, {}).get(c.id) or HeatCell(c, 0, 0) for c in columns],
        )
        for team in ordered
    ]


def _learner_rows(
    learners: list[tuple[Any, str]],
    figures: utilisation.GroupUtilisation,
    infos: dict[int, FeatureInfo],
    columns: list[FeatureInfo],
) -> list[HeatRow]:
    """One row per learner of `learners` (a page of them), shaded against the whole group."""
    table = figures.table
    largest = int(table["uses"].max()) if len(table) else 0
    wanted = {learner for learner, _ in learners}
    by_learner: dict[Any, dict[int, HeatCell]] = {}
    for row in table[table["learner"].isin(wanted)].itertuples(index=False):
        by_learner.setdefault(row.learner, {})[int(row.feature)] = HeatCell(
            infos[int(row.feature)],
            int(row.uses),
            utilisation.heat_level(int(row.uses), largest),
            int(row.taught),
            int(row.taught and row.used),
            int(row.used),
        )
    return [
        HeatRow(
            learner,
            name,
            [by_learner.get(learner, {}).get(c.id) or HeatCell(c, 0, 0) for c in columns],
            figures.learner_uses.get(learner),
        )
        for learner, name in learners
    ]


def _by_name(learner_ids: Any, learners: pd.DataFrame) -> list[tuple[Any, str]]:
    names = dict(zip(learners["learner"], learners["name"], strict=True))
    return sorted(
        ((learner, names.get(learner) or f"Learner {learner}") for learner in learner_ids),
        key=lambda pair: (pair[1].casefold(), pair[0]),
    )


@dataclass(frozen=True)
class LearnerRow:
    learner: int
    name: str
    email: str
    team: str | None
    use: utilisation.LearnerUse
    #: When the list is about one feature: the learner's uses of it in the window, last use.
    uses: int | None = None
    days_since: int | None = None


@dataclass
class LearnerList:
    on: date
    show: str
    feature: FeatureInfo | None
    team: Any
    team_name: str | None
    page: Page


NO_TEAM = "none"


def learner_list(
    scope: Scope,
    on: date,
    zone: str,
    show: str,
    feature_id: int | None,
    team: Any,
    page_number: int = 1,
) -> LearnerList:
    """The learners behind a figure of a group's page (as it was on `on`), by name, paged;
    `team` (an id, or `NO_TEAM`) narrows a cohort's list to one team's learners."""
    days = window_days()
    frames = load(scope, on, zone, usage_from=utilisation.window_start(on, days))
    figures = utilisation.group_utilisation(
        frames.enrolments,
        frames.programme_features,
        frames.usage,
        frames.features,
        on,
        days,
        last_use=frames.last_use,
        weeks=0,
    )
    infos = _feature_infos(frames)
    feature = infos.get(feature_id) if feature_id is not None else None
    chosen = utilisation.learners_in(
        figures.table, figures.group, figures.catalogue, show, feature.id if feature else None
    )
    learners = frames.learners.set_index("learner") if len(frames.learners) else None
    team_name = None
    if team is not None:
        team_of = {
            learner: utilisation.plain_id(team_id)
            for learner, team_id in zip(
                frames.learners["learner"], frames.learners["team"], strict=True
            )
        }
        names = {
            utilisation.plain_id(team_id): name
            for team_id, name in zip(
                frames.learners["team"], frames.learners["team_name"], strict=True
            )
        }
        wanted = None if team == NO_TEAM else team
        chosen = [learner for learner in chosen if team_of.get(learner) == wanted]
        team_name = names.get(wanted) if wanted is not None else None
    per_pair = {}
    if feature is not None:
        rows = figures.table[figures.table["feature"] == feature.id]
        per_pair = {
            row.learner: (int(row.uses), row.days_since) for row in rows.itertuples(index=False)
        }
    page = _page(_by_name(chosen, frames.learners), page_number)
    items = []
    for learner, name in page.items:
        info = learners.loc[learner] if learners is not None else None
        uses, days_since = per_pair.get(learner, (0, None)) if feature else (None, None)
        items.append(
            LearnerRow(
                learner=int(learner),
                name=name,
                email=str(info["email"]) if info is not None else "",
                team=info["team_name"] if info is not None and info["team_name"] else None,
                use=figures.learner_uses[learner],
                uses=uses,
                days_since=days_since,
            )
        )
    page.items = items
    return LearnerList(on=on, show=show, feature=feature, team=team, team_name=team_name, page=page)


@dataclass(frozen=True)
class FeatureUse:
    feature: FeatureInfo
    taught: bool
    uses: int
    last_used_on: date | None
    days_since: int | None


@dataclass
class LearnerPage:
    """One learner's own picture: their figures and, per feature, their use."""

    learner: int
    name: str
    as_of: date
    window_days: int
    use: utilisation.LearnerUse | None
    taught: list[FeatureUse]
    untaught: list[FeatureUse]
    #: They have an enrolment in the scope (in force or not).
    in_scope: bool
    #: One of their enrolments in the scope is in force today.
    enrolled: bool


def learner_page(scope: Scope, learner_id: int, as_of: date, zone: str) -> LearnerPage:
    """`learner_id`'s breadth, depth and recency and their use of each feature of their
    programmes (within `scope`: their own page passes `Scope.learner`). Six queries."""
    days = window_days()
    frames = load(
        scope.narrowed_to(learner_id), as_of, zone, usage_from=utilisation.window_start(as_of, days)
    )
    figures = utilisation.group_utilisation(
        frames.enrolments,
        frames.programme_features,
        frames.usage,
        frames.features,
        as_of,
        days,
        last_use=frames.last_use,
        weeks=0,
    )
    infos = _feature_infos(frames)
    rows = figures.table[figures.table["learner"] == learner_id]
    uses = [
        FeatureUse(
            infos[int(row.feature)],
            bool(row.taught),
            int(row.uses),
            None if pd.isna(row.last_used_on) else row.last_used_on.date(),
            row.days_since,
        )
        for row in rows.itertuples(index=False)
        if int(row.feature) in infos
    ]
    order = {fid: position for position, fid in enumerate(infos)}
    uses.sort(key=lambda u: order[u.feature.id])
    names = dict(zip(frames.learners["learner"], frames.learners["name"], strict=True))
    return LearnerPage(
        learner=learner_id,
        name=names.get(learner_id, ""),
        as_of=as_of,
        window_days=days,
        use=figures.learner_uses.get(learner_id),
        taught=[u for u in uses if u.taught],
        untaught=[u for u in uses if not u.taught],
        in_scope=not frames.enrolments.empty,
        enrolled=learner_id in set(figures.group),
    )
