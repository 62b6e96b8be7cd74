"""Feature utilisation, computed from pandas frames: how each learner uses the platform features
their programmes teach (breadth, depth, recency) and, for a group (a team, a cohort), the feature
adoption rate, its weekly trend, the features nobody used, the trained/using quadrants and a heat
table. No session, no Flask: `lms.adoption.utilisation_data` loads the frames.

The adoption rate itself is the shared definition, `lms.metrics.definitions.feature_adoption_rate`
(through `feature_adoption`, which builds its pairs with `teaching_pairs` from a group's
enrolments and says why a group has nobody to count); everything here counts the same way:

- Days are calendar days in the organisation's time zone (`to_local_days` turns the stored UTC
  times into them).
- The window: "used in the last N days" on `as_of` means a use on one of the N days ending on
  `as_of`, inclusive: as_of − (N − 1) … as_of. A use exactly N days before `as_of` does not
  count (with N = 30 on 31 March: 2 March counts, 1 March does not); nothing after `as_of` does.
- An enrolment counts from its start date and leaves the group on its withdrawal date: it is in
  force on `as_of` when start_date <= as_of < withdrawn_on. A learner is in the group when one of
  their enrolments is in force; the pairs are the features their enrolments in force teach.

Frames and their columns:
- enrolments: enrolment, learner, programme, cohort, start_date, withdrawn_on (None if not)
- programme_features: programme, feature, retired_on (None if taught today)
- usage: learner, feature, occurred_at (a local day, see `to_local_days`), count
- last_use: learner, feature, last_used_on (a local day): each pair's latest use on or before
  `as_of`, over all time (the window's usage alone cannot say "last used 90 days ago")
- learners: learner, name, team, team_name
- features: feature, name, platform, retired_on (the catalogue: what a pair can be about)
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from lms.metrics.definitions import (
    MetricResult,
    feature_adoption,
    teaching_pairs,
)

#: How many ISO weeks the trend shows (this week and the eleven before).
TREND_WEEKS = 12

TRAINED_AND_USING = "trained-and-using"
TRAINED_NOT_USING = "trained-not-using"
USING_UNTRAINED = "using-untrained"
NEITHER = "neither"
QUADRANTS = (TRAINED_AND_USING, TRAINED_NOT_USING, USING_UNTRAINED, NEITHER)
QUADRANT_LABELS = {
    TRAINED_AND_USING: "Trained and using",
    TRAINED_NOT_USING: "Trained but not using",
    USING_UNTRAINED: "Using but untrained",
    NEITHER: "Neither trained nor using",
}
#: Learner lists can also show everyone taught a feature (the rate's denominator) and everyone
#: who used it (a heat-table cell), besides the four quadrants.
TAUGHT = "taught"
USED = "used"
LEARNER_LISTS = {
    **QUADRANT_LABELS,
    TAUGHT: "Taught by their programmes",
    USED: "Used in the window",
}
#: Shades of the heat table: 0 for no use, then 1-4 by share of the table's largest cell.
HEAT_LEVELS = 4


# Days and windows -----------------------------------------------------------------------------


def _days(values: pd.Series) -> pd.Series:
    """Dates, datetimes or timestamps as naive midnight timestamps (NaT for missing)."""
    if len(values) == 0:
        return pd.Series(pd.NaT, index=values.index, dtype="datetime64[us]")
    converted = pd.to_datetime(values, errors="coerce")
    if isinstance(converted.dtype, pd.DatetimeTZDtype):
        converted = converted.dt.tz_localize(None)
    return converted.dt.normalize()


def _day(value: date) -> pd.Timestamp:
    return pd.Timestamp(value)


def _columns(frame: pd.DataFrame | None, columns: Iterable[str]) -> pd.DataFrame:
    """`frame` with at least `columns` (missing ones empty)."""
    frame = pd.DataFrame() if frame is None else frame
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        frame = frame.assign(
            **{c: pd.Series([None] * len(frame), index=frame.index) for c in missing}
        )
    return frame


def to_local_days(frame: pd.DataFrame, zone: str, column: str = "occurred_at") -> pd.DataFrame:
    """`frame` with `column` (UTC moments; naive ones are taken as UTC, as stored) replaced by
    the calendar day each falls on in time zone `zone`, as naive midnight timestamps."""
    if frame.empty:
        return frame.assign(**{column: pd.Series(dtype="datetime64[us]", index=frame.index)})
    moments = pd.to_datetime(frame[column], utc=True)
    local = moments.dt.tz_convert(zone).dt.tz_localize(None).dt.normalize()
    return frame.assign(**{column: local})


def window_start(as_of: date, window_days: int) -> date:
    """The first day of the window ending on `as_of` (see the module's docstring)."""
    return as_of - timedelta(days=window_days - 1)


def in_window(days: pd.Series, as_of: date, window_days: int) -> pd.Series:
    """True for days on one of the `window_days` days ending on `as_of`."""
    day = _days(days)
    return (day >= _day(window_start(as_of, window_days))) & (day <= _day(as_of))


def window_usage(usage: pd.DataFrame, as_of: date, window_days: int) -> pd.DataFrame:
    """The uses in the window, with `count` as a whole number (a missing count is one use;
    rows with no use, count 0 or less, are dropped)."""
    usage = _columns(usage, ["learner", "feature", "occurred_at", "count"])
    counts = pd.to_numeric(usage["count"], errors="coerce").fillna(1)
    keep = in_window(usage["occurred_at"], as_of, window_days) & (counts > 0)
    return usage[keep].assign(count=counts[keep].astype("int64"))[
        ["learner", "feature", "occurred_at", "count"]
    ]


# The group ------------------------------------------------------------------------------------


def enrolments_in_force(enrolments: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Enrolments started on or before `as_of` and not withdrawn on or before it."""
    frame = _columns(enrolments, ["learner", "programme", "start_date", "withdrawn_on"])
    start = _days(frame["start_date"])
    withdrawn = _days(frame["withdrawn_on"])
    today = _day(as_of)
    return frame[(start <= today) & (withdrawn.isna() | (withdrawn > today))]


def group_learners(enrolments: pd.DataFrame, as_of: date) -> list[Any]:
    """The learners with an enrolment in force on `as_of`, in id order."""
    return sorted(set(enrolments_in_force(enrolments, as_of)["learner"].dropna()))


def last_use_from(usage: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Each pair's latest use on or before `as_of`, from usage rows (when no `last_use` frame
    was loaded)."""
    usage = _columns(usage, ["learner", "feature", "occurred_at", "count"])
    counts = pd.to_numeric(usage["count"], errors="coerce").fillna(1)
    day = _days(usage["occurred_at"])
    rows = usage.assign(last_used_on=day)[(day <= _day(as_of)) & (counts > 0)]
    if rows.empty:
        return pd.DataFrame({"learner": [], "feature": [], "last_used_on": []})
    return rows.groupby(["learner", "feature"], as_index=False)["last_used_on"].max()


def catalogue_on(features: pd.DataFrame, as_of: date) -> list[Any]:
    """The features of the catalogue on `as_of` (not retired by then), in id order."""
    frame = _columns(features, ["feature", "retired_on"])
    retired = _days(frame["retired_on"])
    return sorted(set(frame.loc[retired.isna() | (retired > _day(as_of)), "feature"].dropna()))


# One row per learner × feature ----------------------------------------------------------------


def pair_table(
    pairs: pd.DataFrame,
    usage: pd.DataFrame,
    group: Iterable[Any],
    as_of: date,
    window_days: int,
    *,
    features: Iterable[Any] | None = None,
    last_use: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per learner × feature that is taught (in `pairs`) or used in the window by a
    learner of `group`: columns learner, feature, taught, uses (in the window), used,
    last_used_on (NaT if never), days_since (days from the last use to `as_of`, None if
    never) and quadrant. Pairs about a feature outside `features` (the catalogue) are left out.
    The learner × feature pairs that are neither taught nor used have no row: `quadrants`
    counts them from the size of the catalogue."""
    members = list(group)
    keys = ["learner", "feature"]
    pairs = _ids(_columns(pairs, keys)[keys])
    pairs = pairs[pairs["learner"].isin(members)].drop_duplicates()
    recent = _ids(window_usage(usage, as_of, window_days))
    recent = recent[recent["learner"].isin(members)]
    uses = recent.groupby(keys, as_index=False)["count"].sum().rename(columns={"count": "uses"})
    table = pairs.assign(taught=1).merge(uses, on=keys, how="outer")
    if features is not None:
        table = table[table["feature"].isin(list(features))]
    table = table.assign(
        taught=table["taught"].notna(), uses=table["uses"].fillna(0).astype("int64")
    )
    table["used"] = table["uses"] > 0
    if last_use is None:
        last_use = last_use_from(usage, as_of)
    last = _ids(_columns(last_use, [*keys, "last_used_on"])[[*keys, "last_used_on"]])
    last = last.assign(last_used_on=_days(last["last_used_on"]))
    last = last[last["learner"].isin(members) & (last["last_used_on"] <= _day(as_of))]
    last = last.groupby(keys, as_index=False)["last_used_on"].max()
    table = table.merge(last, on=keys, how="left")
    table["last_used_on"] = _days(table["last_used_on"])
    table["days_since"] = _days_since(table["last_used_on"], as_of)
    table["quadrant"] = pd.Series(
        np.select(
            [
                table["taught"] & table["used"],
                table["taught"],
                table["used"],
            ],
            [TRAINED_AND_USING, TRAINED_NOT_USING, USING_UNTRAINED],
            NEITHER,
        ),
        index=table.index,
        dtype="object",
    )
    columns = [*keys, "taught", "uses", "used", "last_used_on", "days_since", "quadrant"]
    return table[columns].sort_values(keys).reset_index(drop=True)


def _ids(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with its learner and feature ids as whole numbers (database ids), rows without
    one dropped: so frames built empty, or by hand, join with loaded ones."""
    keys = [key for key in ("learner", "feature") if key in frame.columns]
    frame = frame.dropna(subset=keys)
    return frame.astype({key: "int64" for key in keys})


def _days_since(last: pd.Series, as_of: date) -> pd.Series:
    """Whole days from each day to `as_of` (None where there is none)."""
    days = (_day(as_of) - last).dt.days
    values = days.astype("Int64").astype("object")
    return values.where(days.notna(), None)


# Per learner ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LearnerUse:
    """One learner's use of the features, in the window ending on the day computed for.

    - breadth: taught features used in the window ÷ features taught (None when their
      programmes teach none). Features used that no programme of theirs teaches are counted
      apart (`untaught_used`): they would let breadth pass 100%.
    - depth: uses in the window (the sum of `count`) ÷ features used in the window, taught or
      not (None when nothing was used).
    - recency: days since their last use of any feature, over all time (None if never)."""

    learner: Any
    taught: int
    taught_used: int
    untaught_used: int
    uses: int
    breadth: float | None
    depth: float | None
    days_since: int | None

    @property
    def features_used(self) -> int:
        return self.taught_used + self.untaught_used


def learner_uses(
    table: pd.DataFrame, group: Iterable[Any], last_use: pd.DataFrame, as_of: date
) -> dict[Any, LearnerUse]:
    """`LearnerUse` of each learner of `group`, from `pair_table` rows; `last_use` gives
    recency (see `last_use_from`)."""
    members = list(group)
    last = _columns(last_use, ["learner", "last_used_on"])
    last = last.assign(last_used_on=_days(last["last_used_on"]))
    last = last[last["learner"].isin(set(members)) & (last["last_used_on"] <= _day(as_of))]
    latest = last.groupby("learner")["last_used_on"].max().to_dict() if len(last) else {}
    flags = table.assign(
        tu=table["taught"] & table["used"], uu=table["used"] & ~table["taught"].astype(bool)
    )
    sums = flags.groupby("learner").agg(
        taught=("taught", "sum"), tu=("tu", "sum"), uu=("uu", "sum"), uses=("uses", "sum")
    )
    counts = {
        learner: {key: int(value) for key, value in row.items()}
        for learner, row in sums.to_dict("index").items()
    }
    result = {}
    for learner in members:
        entry = counts.get(learner, {"taught": 0, "tu": 0, "uu": 0, "uses": 0})
        used = entry["tu"] + entry["uu"]
        day = latest.get(learner)
        result[learner] = LearnerUse(
            learner=learner,
            taught=entry["taught"],
            taught_used=entry["tu"],
            untaught_used=entry["uu"],
            uses=entry["uses"],
            breadth=entry["tu"] / entry["taught"] if entry["taught"] else None,
            depth=entry["uses"] / used if used else None,
            days_since=None if day is None or pd.isna(day) else (_day(as_of) - day).days,
        )
    return result


# Per group ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuadrantCount:
    quadrant: str
    pairs: int
    #: Learners with at least one pair in the quadrant (one person can be in several).
    people: int

    @property
    def label(self) -> str:
        return QUADRANT_LABELS[self.quadrant]


def quadrants(
    table: pd.DataFrame, group: Iterable[Any], features: Iterable[Any]
) -> dict[str, QuadrantCount]:
    """Learner × feature pairs of the group (every learner × every catalogue feature) by
    quadrant, and the people with a pair in each. The four pair counts add up to learners ×
    features; a person is counted in every quadrant they have a pair in."""
    members = set(group)
    catalogue = set(features)
    rows = table[table["learner"].isin(members) & table["feature"].isin(catalogue)]
    counted = {}
    for quadrant in (TRAINED_AND_USING, TRAINED_NOT_USING, USING_UNTRAINED):
        chosen = rows[rows["quadrant"] == quadrant]
        counted[quadrant] = QuadrantCount(quadrant, len(chosen), chosen["learner"].nunique())
    rows_per_learner = rows.groupby("learner").size()
    neither_pairs = len(members) * len(catalogue) - len(rows)
    people = sum(1 for learner in members if rows_per_learner.get(learner, 0) < len(catalogue))
    counted[NEITHER] = QuadrantCount(NEITHER, neither_pairs, people)
    return {quadrant: counted[quadrant] for quadrant in QUADRANTS}


def unused_features(table: pd.DataFrame) -> list[Any]:
    """Features taught to someone in the group that nobody used in the window: the taught
    features less the rate's "features used by anyone", in id order. As in the rate, "anyone"
    is a learner with at least one taught pair; so the two figures always add up."""
    taught_rows = table[table["taught"]]
    trained = set(taught_rows["learner"])
    used = set(table.loc[table["used"] & table["learner"].isin(trained), "feature"])
    return sorted(set(taught_rows["feature"]) - used)


def learners_in(
    table: pd.DataFrame,
    group: Iterable[Any],
    features: Iterable[Any],
    show: str,
    feature: Any = None,
) -> list[Any]:
    """The learners behind a figure: those of `group` with a pair in quadrant `show` (or taught,
    or used: see `LEARNER_LISTS`), about `feature` if given, in id order."""
    if show not in LEARNER_LISTS:
        raise ValueError(f"unknown learner list {show!r}")
    members = set(group)
    catalogue = set(features)
    rows = table[table["learner"].isin(members) & table["feature"].isin(catalogue)]
    if feature is not None:
        rows = rows[rows["feature"] == feature]
    if show == NEITHER:
        needed = 1 if feature is not None else len(catalogue)
        if feature is not None and feature not in catalogue:
            return []
        have = rows.groupby("learner").size()
        return sorted(learner for learner in members if have.get(learner, 0) < needed)
    if show == TAUGHT:
        chosen = rows[rows["taught"]]
    elif show == USED:
        chosen = rows[rows["used"]]
    else:
        chosen = rows[rows["quadrant"] == show]
    return sorted(set(chosen["learner"]))


def heat_level(uses: int, largest: int) -> int:
    """The shade of a heat-table cell: 0 for no use, else 1-4 by its share of the largest."""
    if uses <= 0 or largest <= 0:
        return 0
    return max(1, min(HEAT_LEVELS, math.ceil(HEAT_LEVELS * uses / largest)))


def heat_by_team(table: pd.DataFrame, learners: pd.DataFrame) -> pd.DataFrame:
    """Team × feature cells: uses in the window, learners who used it, learners taught it and
    learners taught it who used it (`adopted`). `learners` gives each learner's team (missing
    for no team: those are the team None)."""
    teams = _columns(learners, ["learner", "team"])[["learner", "team"]].drop_duplicates("learner")
    team_of = dict(zip(teams["learner"], teams["team"].map(plain_id), strict=True))
    rows = table.assign(
        team=[team_of.get(learner) for learner in table["learner"]],
        adopted=table["taught"] & table["used"],
    )
    if rows.empty:
        return pd.DataFrame(columns=["team", "feature", "uses", "users", "taught", "adopted"])
    grouped = rows.groupby(["team", "feature"], dropna=False, as_index=False).agg(
        uses=("uses", "sum"),
        users=("used", "sum"),
        taught=("taught", "sum"),
        adopted=("adopted", "sum"),
    )
    for column in ("uses", "users", "taught", "adopted"):
        grouped[column] = grouped[column].astype("int64")
    grouped["team"] = pd.Series(
        [plain_id(team) for team in grouped["team"]], index=grouped.index, dtype="object"
    )
    return grouped


def plain_id(value: Any) -> Any:
    """An id as a plain int (pandas turns ints with gaps into floats), None if missing."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value.item() if hasattr(value, "item") else value


def group_rate(
    enrolments: pd.DataFrame,
    programme_features: pd.DataFrame,
    usage: pd.DataFrame,
    as_of: date,
    window_days: int,
    **rate_options: Any,
) -> MetricResult:
    """The group's feature adoption rate on `as_of`: the shared definition
    (`feature_adoption_rate` over `teaching_pairs`), nothing of its own."""
    return feature_adoption(
        enrolments, programme_features, usage, as_of, window_days=window_days, **rate_options
    )


# The weekly trend -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendPoint:
    """The rate as of the end of one ISO week (as of `as_of` itself for the week not over)."""

    week: str
    week_start: date
    on: date
    result: MetricResult

    @property
    def adopted_pairs(self) -> int:
        return self.result.detail.get("adopted_pairs", 0)

    @property
    def pairs(self) -> int:
        return self.result.detail.get("pairs", 0)


def trend_days(as_of: date, weeks: int = TREND_WEEKS) -> list[tuple[str, date, date]]:
    """(ISO week label, its Monday, the day the rate is computed for) for the `weeks` ISO weeks
    ending with the week of `as_of`, oldest first: each full week's Sunday, and `as_of` for the
    week it falls in."""
    monday = as_of - timedelta(days=as_of.weekday())
    days = []
    for back in range(weeks - 1, -1, -1):
        start = monday - timedelta(weeks=back)
        year, week, _ = start.isocalendar()
        days.append((f"{year}-W{week:02d}", start, min(start + timedelta(days=6), as_of)))
    return days


def usage_needed_from(as_of: date, window_days: int, weeks: int = TREND_WEEKS) -> date:
    """The first day of usage the trend needs: the start of the oldest week's window."""
    return window_start(trend_days(as_of, weeks)[0][2], window_days)


def weekly_trend(
    enrolments: pd.DataFrame,
    programme_features: pd.DataFrame,
    usage: pd.DataFrame,
    as_of: date,
    window_days: int,
    weeks: int = TREND_WEEKS,
    **rate_options: Any,
) -> list[TrendPoint]:
    """The adoption rate as of the end of each of the `weeks` ISO weeks to `as_of` (see
    `trend_days`), each with the pairs of the enrolments in force that day: a learner enrolled
    last week is not in the denominator of a month ago, and one withdrawn last week still is."""
    points = []
    for week, start, on in trend_days(as_of, weeks):
        result = group_rate(enrolments, programme_features, usage, on, window_days, **rate_options)
        points.append(TrendPoint(week, start, on, result))
    return points


# Everything a group's page shows --------------------------------------------------------------


@dataclass
class GroupUtilisation:
    as_of: date
    window_days: int
    catalogue: list[Any]
    group: list[Any]
    pairs: pd.DataFrame
    table: pd.DataFrame
    rate: MetricResult
    trend: list[TrendPoint]
    unused: list[Any]
    quadrants: dict[str, QuadrantCount]
    learner_uses: dict[Any, LearnerUse] = field(default_factory=dict)

    @property
    def features_taught(self) -> int:
        return int(self.rate.detail.get("features_taught", 0))

    @property
    def features_used_by_anyone(self) -> int:
        return int(self.rate.detail.get("features_used_by_anyone", 0))


def group_utilisation(
    enrolments: pd.DataFrame,
    programme_features: pd.DataFrame,
    usage: pd.DataFrame,
    features: pd.DataFrame,
    as_of: date,
    window_days: int,
    *,
    last_use: pd.DataFrame | None = None,
    weeks: int = TREND_WEEKS,
    **rate_options: Any,
) -> GroupUtilisation:
    """The group's figures on `as_of`: the rate (shared definition), its weekly trend, the
    features nobody used, the quadrants and each learner's breadth, depth and recency.
    `rate_options` go to the shared definition (target, amber_from)."""
    catalogue = catalogue_on(features, as_of)
    group = group_learners(enrolments, as_of)
    pairs = teaching_pairs(enrolments, programme_features, as_of)
    if last_use is None:
        last_use = last_use_from(usage, as_of)
    table = pair_table(
        pairs, usage, group, as_of, window_days, features=catalogue, last_use=last_use
    )
    trend = (
        weekly_trend(
            enrolments, programme_features, usage, as_of, window_days, weeks, **rate_options
        )
        if weeks
        else []
    )
    # The trend's last point is the rate on `as_of` itself: computed once.
    rate = (
        trend[-1].result
        if trend
        else group_rate(enrolments, programme_features, usage, as_of, window_days, **rate_options)
    )
    return GroupUtilisation(
        as_of=as_of,
        window_days=window_days,
        catalogue=catalogue,
        group=group,
        pairs=pairs,
        table=table,
        rate=rate,
        trend=trend,
        unused=unused_features(table),
        quadrants=quadrants(table, group, catalogue),
        learner_uses=learner_uses(table, group, last_use, as_of),
    )
