"""Figures over time and across scopes, as plain data: a metric's trend (snapshots, then today's
live value) and its values by team, region and cohort. Pure: no session, no Flask."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from lms.metrics.definitions import AMBER, GREEN, NO_TARGET, NOT_COMPUTABLE, RED

#: A change smaller than this (in ratio units: 0.0005 is 0.05 percentage points) is "unchanged".
UNCHANGED_WITHIN = 0.0005


@dataclass(frozen=True)
class TrendPoint:
    day: date
    value: float | None
    status: str
    #: Computed for the report rather than read from a stored snapshot.
    live: bool = False


@dataclass(frozen=True)
class ScopeValue:
    """One metric for one scope, as a snapshot stores it."""

    value: float | None
    status: str
    reason: str | None = None


@dataclass(frozen=True)
class Change:
    first: TrendPoint
    last: TrendPoint

    @property
    def delta(self) -> float:
        assert self.first.value is not None and self.last.value is not None
        return self.last.value - self.first.value

    @property
    def direction(self) -> str:
        if abs(self.delta) < UNCHANGED_WITHIN:
            return "unchanged"
        return "up" if self.delta > 0 else "down"


def trend_with_today(
    stored: Iterable[TrendPoint], today: TrendPoint, *, since: date | None = None
) -> list[TrendPoint]:
    """Stored points up to today's day (from `since`), in date order, with today's live point in
    place of any point stored for the same day."""
    points = {
        point.day: point
        for point in stored
        if point.day < today.day and (since is None or point.day >= since)
    }
    points[today.day] = today
    return [points[day] for day in sorted(points)]


def change_over(points: Sequence[TrendPoint]) -> Change | None:
    """From the first to the last point with a value (None with fewer than two such points)."""
    valued = [point for point in points if point.value is not None]
    if len(valued) < 2:
        return None
    return Change(valued[0], valued[-1])


def status_counts(values: Iterable[ScopeValue]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for value in values:
        counts[value.status] += 1
    return counts


def spread(
    values: Iterable[tuple[str, ScopeValue]],
) -> tuple[tuple[str, float], tuple[str, float]] | None:
    """The lowest and highest (name, value) among the scopes with a value; None with fewer than
    two. Ties go to the first name in the order given."""
    valued = [(name, v.value) for name, v in values if v.value is not None]
    if len(valued) < 2:
        return None
    low = min(valued, key=lambda item: item[1])
    high = max(valued, key=lambda item: item[1])
    return low, high


ORDERED_STATUSES = (GREEN, AMBER, RED, NO_TARGET, NOT_COMPUTABLE)


def thinned(points: Sequence[TrendPoint], most: int = 26) -> list[TrendPoint]:
    """`points` as they are when there are at most `most`; otherwise the last point of each ISO
    week (a year of nightly snapshots reads better, and prints shorter, week by week). The last
    point is always kept."""
    if len(points) <= most:
        return list(points)
    weeks: dict[tuple[int, int], TrendPoint] = {}
    for point in points:
        year, week, _ = point.day.isocalendar()
        weeks[(year, week)] = point
    return [weeks[key] for key in sorted(weeks)]
