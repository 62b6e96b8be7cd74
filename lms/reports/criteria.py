"""The acceptance-criteria checklist of the adoption framework (seed 004, `acceptance_criteria`
in curricula/framework.yaml), each criterion's status decided from data where the data can say.

A criterion that names a `metric:` is met when the organisation's value of that metric is
green. The others have a rule each in `RULES`, found by the criterion's id; every rule says in
one sentence how it decides (`how`), and a criterion without a rule says that nothing in the
system records it, rather than guessing. Pure: the evidence comes in as plain data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from lms.charts import PERCENT, format_value
from lms.metrics.definitions import (
    AMBER,
    CROSS_DOMAIN,
    DECISION_QUALITY,
    GREEN,
    MANUAL_PROCESSES,
    METRICS,
    PRODUCTIVITY,
    RED,
    ROI,
    MetricResult,
)
from lms.reports.trends import TrendPoint, change_over, too_few_to_compare

MET = "met"
PARTLY_MET = "partly-met"
NOT_MET = "not-met"
CANNOT_SAY = "cannot-say"
CRITERION_STATUSES = (MET, PARTLY_MET, NOT_MET, CANNOT_SAY)
CRITERION_WORDS = {
    MET: "Met",
    PARTLY_MET: "Partly met",
    NOT_MET: "Not met",
    CANNOT_SAY: "Cannot say from the data",
}
STATUS_NAMES = {GREEN: "green", AMBER: "amber", RED: "red"}


def _percent(value: float | None) -> str:
    return format_value(value, PERCENT)


def lower_name(metric_id: str) -> str:
    """A metric's name inside a sentence: "ROI improvement" keeps its capitals."""
    first, _, rest = METRICS[metric_id].name.partition(" ")
    first = first if first.isupper() else first.lower()
    return f"{first} {rest}".strip()


@dataclass(frozen=True)
class Evidence:
    """What the system records that bears on the criteria (counts for the organisation)."""

    as_of: date
    #: The organisation's metric results on `as_of`.
    metrics: Mapping[str, MetricResult]
    #: Trend points resting on fewer units than this are not compared (figure `minimum-basis`).
    minimum_basis: int
    #: The organisation's trend per metric (snapshots, then `as_of`).
    trends: Mapping[str, Sequence[TrendPoint]] = field(default_factory=dict)
    platform_programmes: int = 0
    modules: int = 0
    modules_with_lessons: int = 0
    features: int = 0
    features_taught: int = 0
    best_practices: int = 0
    best_practice_groups: int = 0
    procedures: int = 0
    teams: int = 0
    teams_with_inventory: int = 0
    teams_with_process_baseline: int = 0
    integration_domains: tuple[str, ...] = ()
    teams_with_checkpoints_in_every_domain: int = 0
    #: Metric ids whose target is set in figures.yaml.
    targets_set: frozenset[str] = frozenset()


@dataclass(frozen=True)
class CriterionResult:
    id: str
    text: str
    status: str
    evidence: str
    how: str
    metric: str | None = None

    @property
    def status_word(self) -> str:
        return CRITERION_WORDS[self.status]


@dataclass(frozen=True)
class CriterionGroup:
    id: str
    title: str
    criteria: tuple[CriterionResult, ...]


Decision = tuple[str, str]


@dataclass(frozen=True)
class Rule:
    how: str
    decide: Callable[[Evidence], Decision]


# Criteria decided by a metric -----------------------------------------------------------------


def metric_rule(metric_id: str) -> Rule:
    name = METRICS[metric_id].name if metric_id in METRICS else metric_id

    def decide(evidence: Evidence) -> Decision:
        result = evidence.metrics.get(metric_id)
        if result is None:
            return CANNOT_SAY, f"{name} is not a metric the system computes."
        if result.value is None:
            return CANNOT_SAY, f"{name} cannot be computed: {result.reason}."
        figure = f"{name} is {_percent(result.value)}"
        if result.target is None:
            return CANNOT_SAY, f"{figure}, and no target is set for it."
        target = _percent(result.target)
        if result.status == GREEN:
            return MET, f"{figure}, at or above the {target} target (green)."
        return NOT_MET, (
            f"{figure}, below the {target} target ({STATUS_NAMES.get(result.status, '')})."
        )

    named = lower_name(metric_id) if metric_id in METRICS else metric_id
    return Rule(f"Met when {named} is at or above its target (green).", decide)


# Criteria decided by other records ------------------------------------------------------------


def _curricula(e: Evidence) -> Decision:
    if not e.platform_programmes:
        return NOT_MET, "No platform training track is loaded."
    facts = (
        f"{e.platform_programmes} platform training track(s) are loaded; "
        f"{e.features_taught} of {e.features} platform features are taught by a module; "
        f"{e.modules_with_lessons} of {e.modules} modules have a written lesson."
    )
    if e.features and e.features_taught == e.features and e.modules_with_lessons == e.modules:
        return MET, facts
    if e.features_taught:
        return PARTLY_MET, facts
    return NOT_MET, facts


def _best_practices(e: Evidence) -> Decision:
    if not e.best_practices:
        return NOT_MET, "The loaded framework documents no best practices."
    return MET, (
        f"The framework documents {e.best_practices} best practices in "
        f"{e.best_practice_groups} group(s)."
    )


def _procedures(e: Evidence) -> Decision:
    if not e.procedures:
        return NOT_MET, "The loaded framework documents no workflow procedures."
    facts = (
        f"The framework documents {e.procedures} workflow procedure(s); "
        f"{e.teams_with_inventory} of {e.teams} team(s) keep a process inventory and "
        f"{e.teams_with_process_baseline} have a manual-process baseline to measure against."
    )
    if e.teams and e.teams_with_process_baseline == e.teams == e.teams_with_inventory:
        return MET, facts
    if e.teams_with_inventory or e.teams_with_process_baseline:
        return PARTLY_MET, facts
    return NOT_MET, facts


def _cross_domain_training(e: Evidence) -> Decision:
    if not e.integration_domains:
        return NOT_MET, "The loaded framework documents no integration domains."
    facts = (
        f"The framework documents {len(e.integration_domains)} integration domains "
        f"({', '.join(e.integration_domains)}); {e.teams_with_checkpoints_in_every_domain} of "
        f"{e.teams} team(s) have integration checkpoints in every one of them."
    )
    if e.teams and e.teams_with_checkpoints_in_every_domain == e.teams:
        return MET, facts
    if e.teams_with_checkpoints_in_every_domain:
        return PARTLY_MET, facts
    return NOT_MET, facts


def _success_criteria(e: Evidence) -> Decision:
    with_target = [m for m in METRICS.values() if m.target_key is not None]
    missing = [m.name for m in with_target if m.id not in e.targets_set]
    facts = (
        f"{len(METRICS)} metrics are defined, each with a rule for how it is computed; "
        f"{len(with_target) - len(missing)} of the {len(with_target)} targets they name are "
        "set in the figures file."
    )
    if missing:
        return PARTLY_MET, facts + f" Missing: {', '.join(missing)}."
    return MET, facts


def _above_zero(e: Evidence, metric_id: str) -> tuple[bool | None, str]:
    result = e.metrics.get(metric_id)
    name = METRICS[metric_id].name
    if result is None or result.value is None:
        reason = f": {result.reason}" if result is not None and result.reason else ""
        return None, f"{name} cannot be computed{reason}."
    return result.value > 0, f"{name} is {_percent(result.value)}."


def _positive(metric_id: str) -> Callable[[Evidence], Decision]:
    def decide(e: Evidence) -> Decision:
        better, fact = _above_zero(e, metric_id)
        if better is None:
            return CANNOT_SAY, fact
        return (MET if better else NOT_MET), fact

    return decide


def _efficiency(e: Evidence) -> Decision:
    found = [_above_zero(e, metric) for metric in (PRODUCTIVITY, MANUAL_PROCESSES)]
    facts = " ".join(fact for _, fact in found)
    known = [better for better, _ in found if better is not None]
    if not known:
        return CANNOT_SAY, facts
    if len(known) == len(found) and all(known):
        return MET, facts
    if any(known):
        return PARTLY_MET, facts
    return NOT_MET, facts


def _collaboration(e: Evidence) -> Decision:
    name = METRICS[CROSS_DOMAIN].name
    trend = e.trends.get(CROSS_DOMAIN, ())
    change = change_over(trend, minimum_basis=e.minimum_basis)
    if change is None and too_few_to_compare(trend, minimum_basis=e.minimum_basis):
        return CANNOT_SAY, (
            f"{name} cannot be compared over time: today's figure, or every earlier one, rests "
            f"on fewer than {e.minimum_basis} checkpoints."
        )
    if change is None:
        return CANNOT_SAY, f"{name} has no earlier snapshot with a value to compare with."
    facts = (
        f"{name} was {_percent(change.first.value)} on {change.first.day.strftime('%d %b %Y')} "
        f"and is {_percent(change.last.value)} on {change.last.day.strftime('%d %b %Y')}."
    )
    return (MET if change.direction == "up" else NOT_MET), facts


def _adoption_costs(e: Evidence) -> Decision:
    return CANNOT_SAY, "The system keeps no record of technology adoption costs."


RULES: dict[str, Rule] = {
    "training-curricula-implemented": Rule(
        "Met when every platform feature is taught by a module and every module has a written "
        "lesson; partly met when some features are taught.",
        _curricula,
    ),
    "best-practices-established": Rule(
        "Met when the loaded framework documents best practices.", _best_practices
    ),
    "workflow-procedures-documented": Rule(
        "Met when the framework documents the workflow procedures and every team keeps a process "
        "inventory with a manual-process baseline (the measure of improvement); partly met when "
        "some teams do.",
        _procedures,
    ),
    "cross-domain-training-established": Rule(
        "Met when the framework documents the integration domains and every team has integration "
        "checkpoints in each of them; partly met when some teams do.",
        _cross_domain_training,
    ),
    "success-criteria-defined": Rule(
        "Met when every metric has a definition and a rule for how it is computed, and every "
        "target it names is set in the figures file.",
        _success_criteria,
    ),
    "enhanced-team-capabilities": Rule(
        "Met when decision quality (scenario scores after the programme against before it) has "
        "improved, that is, is above zero.",
        _positive(DECISION_QUALITY),
    ),
    "improved-operational-efficiency": Rule(
        "Met when productivity improvement and manual-process reduction are both above zero; "
        "partly met when one is.",
        _efficiency,
    ),
    "strengthened-collaboration": Rule(
        "Met when cross-domain integration is higher today than at the first snapshot shown.",
        _collaboration,
    ),
    "increased-marketing-roi": Rule(
        "Met when ROI improvement against the teams' baselines is above zero.", _positive(ROI)
    ),
    "reduced-adoption-costs": Rule(
        "Adoption costs are not recorded, so the data cannot say.", _adoption_costs
    ),
}

NO_RULE = Rule(
    "No rule in the system decides this criterion.",
    lambda e: (CANNOT_SAY, "Nothing the system records decides this criterion."),
)


def assess(
    acceptance_criteria: Sequence[Mapping[str, Any]], evidence: Evidence
) -> list[CriterionGroup]:
    """Each group of the framework's `acceptance_criteria` with every criterion's status."""
    groups = []
    for group in acceptance_criteria:
        results = []
        for criterion in group.get("criteria") or []:
            metric = criterion.get("metric")
            rule = metric_rule(metric) if metric else RULES.get(criterion["id"], NO_RULE)
            status, facts = rule.decide(evidence)
            results.append(
                CriterionResult(
                    id=criterion["id"],
                    text=criterion["text"],
                    status=status,
                    evidence=facts,
                    how=rule.how,
                    metric=metric,
                )
            )
        groups.append(CriterionGroup(group["id"], group["title"], tuple(results)))
    return groups
