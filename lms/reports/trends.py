"""Figures over time and across scopes, as plain data: a metric's trend (snapshots, then today's
live value) and its values by team, region and cohort. Pure: no session, no Flask.

A value resting on fewer units than the minimum basis (figure `minimum-basis`: one learner's
pre/post pair can make decision quality 500%) is kept and shown, but never used to compare: a
change starts from the first point resting on enough, and the spread across teams leaves such
teams out. A basis of None (a snapshot stored before the basis was recorded) counts as enough,
since nothing says otherwise."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from lms.metrics.definitions import AMBER, GREEN, NO_TARGET, NOT_COMPUTABLE, RED

#: A change smaller than this (in ratio units: 0.0005 is 0.05 percentage points) is "unchanged".
UNCHANGED_WITHIN = 0.0005


def rests_on_enough(basis: int | None, minimum_basis: int) -> bool:
    """Whether a value resting on `basis` units may be compared; an unknown basis may."""
    return basis is None or basis >= minimum_basis


@dataclass(frozen=True)
class TrendPoint:
    day: date
    value: float | None
    status: str
    #: Computed for the report rather than read from a stored snapshot.
    live: bool = False
    #: How many units the value rests on (None: not recorded).
    basis: int | None = None

    def enough(self, minimum_basis: int) -> bool:
        return rests_on_enough(self.basis, minimum_basis)


@dataclass(frozen=True)
class ScopeValue:
    """One metric for one scope, as a snapshot stores it."""

    value: float | None
    status: str
    reason: str | None = None
    basis: int | None = None

    def enough(self, minimum_basis: int) -> bool:
        return rests_on_enough(self.basis, minimum_basis)


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


def change_over(points: Sequence[TrendPoint], *, minimum_basis: int) -> Change | None:
    """From the first point with a value resting on at least `minimum_basis` units to the last
    point with a value; None when there are not two such points, or when the last one itself
    rests on too few (see `too_few_to_compare`)."""
    valued = [point for point in points if point.value is not None]
    if len(valued) < 2 or not valued[-1].enough(minimum_basis):
        return None
    earlier = [point for point in valued[:-1] if point.enough(minimum_basis)]
    if not earlier:
        return None
    return Change(earlier[0], valued[-1])


def too_few_to_compare(points: Sequence[TrendPoint], *, minimum_basis: int) -> bool:
    """True when there are points with a value to compare but `change_over` cannot, because the
    last or every earlier one rests on fewer than `minimum_basis` units."""
    valued = [point for point in points if point.value is not None]
    return len(valued) >= 2 and change_over(points, minimum_basis=minimum_basis) is None


def status_counts(values: Iterable[ScopeValue]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for value in values:
        counts[value.status] += 1
    return counts


def spread(
    values: Iterable[tuple[str, ScopeValue]], *, minimum_basis: int
) -> tuple[tuple[str, float], tuple[str, float]] | None:
    """The lowest and highest (name, value) among the scopes with a value resting on at least
    `minimum_basis` units; None with fewer than two. Ties go to the first name in the order
    given."""
    valued = [
        (name, v.value) for name, v in values if v.value is not None and v.enough(minimum_basis)
    ]
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
