"""The written summary of the leadership report, generated from its figures only: counts of
red/amber/green, each metric against its target, changes over the snapshots shown, the spread
across teams and the checklist's tally. It states what the figures say and never a cause. Pure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from lms.charts import PERCENT, format_value
from lms.metrics.definitions import AMBER, GREEN, METRICS, NOT_COMPUTABLE, RED, MetricResult
from lms.reports.criteria import (
    CANNOT_SAY,
    MET,
    NOT_MET,
    PARTLY_MET,
    CriterionGroup,
    lower_name,
)
from lms.reports.trends import ScopeValue, TrendPoint, change_over, spread


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


def metric_sentence(result: MetricResult, trend: Sequence[TrendPoint] = ()) -> str:
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
    change = change_over(trend)
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
    return text


def team_spread_sentence(
    by_team: Mapping[str, Sequence[tuple[str, ScopeValue]]], day: date | None
) -> str | None:
    """The metric with a target whose teams differ most, lowest and highest named."""
    widest = None
    for metric_id, values in by_team.items():
        if METRICS[metric_id].target_key is None:
            continue
        found = spread(values)
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
    trends: Mapping[str, Sequence[TrendPoint]] | None = None,
    by_team: Mapping[str, Sequence[tuple[str, ScopeValue]]] | None = None,
    breakdown_day: date | None = None,
    checklist: Sequence[CriterionGroup] = (),
) -> Summary:
    trends = trends or {}
    others = [
        sentence
        for sentence in (
            team_spread_sentence(by_team or {}, breakdown_day),
            checklist_sentence(checklist),
        )
        if sentence
    ]
    return Summary(
        headline=headline(results, as_of),
        metrics=tuple(
            metric_sentence(result, trends.get(metric_id, ()))
            for metric_id, result in results.items()
        ),
        others=tuple(others),
    )
