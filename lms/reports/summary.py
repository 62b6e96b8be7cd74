"""The written summary of the leadership report, generated from its figures only: counts of
red/amber/green, each metric against its target, changes over the snapshots shown, the spread
across teams and the checklist's tally. It states what the figures say and never a cause. Pure.

Changes and spreads leave out figures resting on fewer than `minimum_basis` units (see
`lms.reports.trends`): a 500% from one learner is no place to say "it has fallen" from.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from lms.charts import PERCENT, format_value
from lms.metrics.definitions import (
    AMBER,
    BASIS_UNITS,
    GREEN,
    METRICS,
    NOT_COMPUTABLE,
    RED,
    MetricResult,
    basis_words,
)
from lms.reports.criteria import (
    CANNOT_SAY,
    MET,
    NOT_MET,
    PARTLY_MET,
    CriterionGroup,
    lower_name,
)
from lms.reports.trends import (
    ScopeValue,
    TrendPoint,
    change_over,
    spread,
    too_few_to_compare,
)


@dataclass(frozen=True)
class Summary:
    headline: str
    #: One sentence (or two) per metric, in registry order.
    metrics: tuple[str, ...]
    #: Across teams, and the acceptance checklist.
    others: tuple[str, ...]


def _p(value: float | None) -> str:
    return format_value(value, PERCENT)


def _day(day: date) -> str:
    return day.strftime("%d %b %Y").lstrip("0")


def _names(ids: Sequence[str]) -> str:
    names = [lower_name(i) for i in ids]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def headline(results: Mapping[str, MetricResult], as_of: date) -> str:
    """For example: On 30 Jun 2026, 3 of the 8 metrics with a target are green (...), 2 amber
    (...) and 1 red (...); 2 cannot be computed (...)."""
    targeted = [r for r in results.values() if r.target is not None]
    if not targeted:
        return f"On {_day(as_of)}, no metric has a target."
    ids: dict[str, list[str]] = {GREEN: [], AMBER: [], RED: [], NOT_COMPUTABLE: []}
    for result in targeted:
        ids.setdefault(result.status, []).append(result.metric)
    total = _plural(len(targeted), "metric", "metrics")
    green = ids[GREEN]
    if green:
        verb = "is" if len(green) == 1 else "are"
        text = f"On {_day(as_of)}, {len(green)} of the {total} with a target {verb} green "
        text += f"({_names(green)})"
        joiner = ", "
    else:
        text = f"On {_day(as_of)}, none of the {total} with a target is green"
        joiner = "; "
    rest = []
    for status, word in ((AMBER, "amber"), (RED, "red")):
        if ids[status]:
            # Without a green clause to lean on, the first clause needs its own verb.
            verb = ("is " if len(ids[status]) == 1 else "are ") if not green and not rest else ""
            rest.append(f"{len(ids[status])} {verb}{word} ({_names(ids[status])})")
    if rest:
        text += joiner + " and ".join(rest)
    if ids[NOT_COMPUTABLE]:
        missing = ids[NOT_COMPUTABLE]
        text += f"; {len(missing)} cannot be computed ({_names(missing)})"
    return text + "."


def _last_valued(trend: Sequence[TrendPoint]) -> TrendPoint:
    return [point for point in trend if point.value is not None][-1]


def _too_few_sentence(metric: str, trend: Sequence[TrendPoint], minimum_basis: int) -> str:
    """Why a trend with earlier figures is not compared: the latest figure, or every earlier
    one, rests on fewer than `minimum_basis` units."""
    last = _last_valued(trend)
    if not last.enough(minimum_basis):
        return (
            f"It rests on {basis_words(metric, last.basis or 0)}, too few to compare with "
            "earlier figures."
        )
    return (
        f"The earlier figures rest on fewer than {minimum_basis} {BASIS_UNITS[metric][1]} each, "
        "too few to compare with."
    )


def metric_sentence(
    result: MetricResult, trend: Sequence[TrendPoint] = (), *, minimum_basis: int
) -> str:
    """The metric against its target, and its change since the first figure of `trend` that
    rests on at least `minimum_basis` units."""
    name = METRICS[result.metric].name
    if result.value is None:
        return f"{name} cannot be computed: {result.reason}."
    if result.target is None:
        text = f"{name} is {_p(result.value)} (no target is set)."
    elif result.status == GREEN:
        text = f"{name} is {_p(result.value)}, at or above the {_p(result.target)} target (green)."
    else:
        word = "amber" if result.status == AMBER else "red"
        text = f"{name} is {_p(result.value)}, below the {_p(result.target)} target ({word})."
    change = change_over(trend, minimum_basis=minimum_basis)
    if change is not None:
        points = change.delta * 100
        if change.direction == "unchanged":
            text += f" It is unchanged since {_day(change.first.day)}."
        else:
            verb = "risen" if change.direction == "up" else "fallen"
            text += (
                f" Since {_day(change.first.day)} it has {verb} from {_p(change.first.value)} "
                f"({points:+.1f} percentage points)."
            )
    elif too_few_to_compare(trend, minimum_basis=minimum_basis):
        text += " " + _too_few_sentence(result.metric, trend, minimum_basis)
    return text


def change_text(metric: str, trend: Sequence[TrendPoint], *, minimum_basis: int) -> str | None:
    """The scorecard's "change over the trend shown", for example "+10.0 points since 01 Jun
    2026"; None when there is no earlier figure at all."""
    change = change_over(trend, minimum_basis=minimum_basis)
    if change is not None:
        since = change.first.day.strftime("%d %b %Y")
        if change.direction == "unchanged":
            return f"Unchanged since {since}"
        return f"{change.delta * 100:+.1f} points since {since}"
    if too_few_to_compare(trend, minimum_basis=minimum_basis):
        last = _last_valued(trend)
        if not last.enough(minimum_basis):
            return "Too few to compare: this figure rests on " + basis_words(
                metric, last.basis or 0
            )
        return (
            f"Too few to compare: earlier figures rest on fewer than {minimum_basis} "
            f"{BASIS_UNITS[metric][1]} each"
        )
    return None


def team_spread_sentence(
    by_team: Mapping[str, Sequence[tuple[str, ScopeValue]]],
    day: date | None,
    *,
    minimum_basis: int,
) -> str | None:
    """The metric with a target whose teams differ most, lowest and highest named, among the
    teams whose figure rests on at least `minimum_basis` units."""
    widest = None
    for metric_id, values in by_team.items():
        if METRICS[metric_id].target_key is None:
            continue
        found = spread(values, minimum_basis=minimum_basis)
        if found is None:
            continue
        (low_name, low), (high_name, high) = found
        if widest is None or high - low > widest[1]:
            widest = (metric_id, high - low, low_name, low, high_name, high)
    if widest is None or day is None:
        return None
    metric_id, _, low_name, low, high_name, high = widest
    return (
        f"Across teams on {_day(day)}, {lower_name(metric_id)} differs most: from "
        f"{_p(low)} ({low_name}) to {_p(high)} ({high_name})."
    )


def checklist_sentence(groups: Sequence[CriterionGroup]) -> str | None:
    counts = Counter(c.status for group in groups for c in group.criteria)
    total = sum(counts.values())
    if not total:
        return None
    parts = [
        f"{counts[MET]} met",
        f"{counts[PARTLY_MET]} partly met",
        f"{counts[NOT_MET]} not met",
    ]
    text = f"Of the framework's {total} acceptance criteria, " + ", ".join(parts)
    if counts[CANNOT_SAY]:
        text += f", and for {counts[CANNOT_SAY]} the data cannot say"
    return text + "."


def written_summary(
    results: Mapping[str, MetricResult],
    as_of: date,
    *,
    minimum_basis: int,
    trends: Mapping[str, Sequence[TrendPoint]] | None = None,
    by_team: Mapping[str, Sequence[tuple[str, ScopeValue]]] | None = None,
    breakdown_day: date | None = None,
    checklist: Sequence[CriterionGroup] = (),
) -> Summary:
    trends = trends or {}
    others = [
        sentence
        for sentence in (
            team_spread_sentence(by_team or {}, breakdown_day, minimum_basis=minimum_basis),
            checklist_sentence(checklist),
        )
        if sentence
    ]
    return Summary(
        headline=headline(results, as_of),
        metrics=tuple(
            metric_sentence(result, trends.get(metric_id, ()), minimum_basis=minimum_basis)
            for metric_id, result in results.items()
        ),
        others=tuple(others),
    )
