"""The adoption metrics page: every metric of the registry for the organisation, a team, a region
or a cohort, with its value, target, red/amber/green status and how it was computed.

Leaders and admins may choose any scope; managers the organisation, their cohorts and the teams
of their cohorts' learners. A scope someone may not see answers 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Blueprint, abort, render_template, request
from flask_login import current_user

from lms.figures import figure
from lms.metrics.data import (
    COHORT,
    ORGANISATION,
    REGION,
    TEAM,
    Scope,
    compute_all,
    scopes_for,
)
from lms.metrics.definitions import (
    AMBER,
    CAMPAIGN_PERFORMANCE,
    CONTINUOUS_DEVELOPMENT,
    CROSS_DOMAIN,
    DECISION_QUALITY,
    FEATURE_ADOPTION,
    GREEN,
    MANUAL_PROCESSES,
    METRICS,
    NO_TARGET,
    NOT_COMPUTABLE,
    PEER_RECOGNITION,
    PRODUCTIVITY,
    PROFICIENCY,
    RED,
    ROI,
    MetricResult,
)
from lms.security import roles_required
from lms.stages.engine import organisation_today

bp = Blueprint("metrics", __name__)

STATUS_WORDS = {
    GREEN: "On target",
    AMBER: "Near target",
    RED: "Below target",
    NO_TARGET: "No target",
    NOT_COMPUTABLE: "Not computable",
}
SCOPE_GROUPS = ((TEAM, "Teams"), (REGION, "Regions"), (COHORT, "Cohorts"))


def percent(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value * 100:.1f}%".replace(".0%", "%")


def _count(detail: dict[str, Any], key: str) -> int:
    return int(detail.get(key) or 0)


def basis(result: MetricResult) -> str | None:
    """The figures behind a value, in words (None when there is nothing to say)."""
    d = result.detail
    if not d:
        return None
    if result.metric == PROFICIENCY:
        return (
            f"{_count(d, 'proficient')} of {_count(d, 'eligible')} enrolments; "
            f"{_count(d, 'younger')} younger than {d.get('horizon_days')} days shown apart "
            f"({_count(d, 'younger_proficient')} of them already proficient)"
            + (
                f"; {_count(d, 'waiting_for_content')} enrolment"
                f"{'s' if _count(d, 'waiting_for_content') != 1 else ''} waiting for content "
                "left out"
                if _count(d, "waiting_for_content")
                else ""
            )
        )
    if result.metric == FEATURE_ADOPTION:
        return (
            f"{_count(d, 'adopted_pairs')} of {_count(d, 'pairs')} learner × feature pairs; "
            f"features used by anyone: {_count(d, 'features_used_by_anyone')} of "
            f"{_count(d, 'features_taught')}"
        )
    if result.metric == PRODUCTIVITY and "baseline_median_hours" in d:
        return (
            f"median {d['baseline_median_hours']:g} h per campaign at baseline, "
            f"{d['current_median_hours']:g} h now ({d['baseline_campaigns']} and "
            f"{d['current_campaigns']} campaigns, {len(d['teams'])} team(s))"
        )
    if result.metric == MANUAL_PROCESSES and "baseline_manual" in d:
        return (
            f"{d['baseline_manual']} manual steps at baseline, {d['current_manual']} now "
            f"({len(d['teams'])} team(s))"
        )
    if result.metric == ROI and d.get("baseline_roi") is not None:
        now = d.get("current_roi")
        return (
            f"ROI {d['baseline_roi']:.2f} at baseline, "
            f"{'—' if now is None else f'{now:.2f}'} now ({len(d['teams'])} team(s))"
        )
    if result.metric == CAMPAIGN_PERFORMANCE and d.get("teams"):
        return "; ".join(
            f"{t['name']}: {t['kpi']} {t['baseline_mean']:.4g} → {t['current_mean']:.4g}"
            for t in d["teams"]
        )
    if result.metric == CROSS_DOMAIN:
        return f"{_count(d, 'achieved')} of {_count(d, 'checkpoints')} checkpoints achieved"
    if result.metric == DECISION_QUALITY and d.get("pre_mean") is not None:
        return (
            f"{d['learners']} learner(s) took both; mean scenario score "
            f"{percent(d['pre_mean'])} before, {percent(d['post_mean'])} after"
        )
    if result.metric == PEER_RECOGNITION:
        return f"{_count(d, 'endorsed')} of {_count(d, 'learners')} learners endorsed"
    if result.metric == CONTINUOUS_DEVELOPMENT:
        return (
            f"{_count(d, 'active')} of {_count(d, 'past_programme')} learners past their "
            "programme were active"
        )
    return None


@dataclass(frozen=True)
class MetricRow:
    id: str
    name: str
    value: str
    target: str
    status: str
    status_word: str
    reason: str | None
    how_computed: str
    basis: str | None


def _row(result: MetricResult) -> MetricRow:
    return MetricRow(
        id=result.metric,
        name=METRICS[result.metric].name,
        value=percent(result.value),
        target=percent(result.target) if result.target is not None else "None set",
        status=result.status,
        status_word=STATUS_WORDS[result.status],
        reason=result.reason,
        how_computed=result.how_computed,
        basis=basis(result),
    )


def _scope_key(scope: Scope) -> str:
    return ORGANISATION if scope.kind == ORGANISATION else f"{scope.kind}:{scope.id}"


def _as_of(today: date) -> tuple[date, str | None]:
    text = (request.args.get("as_of") or "").strip()
    if not text:
        return today, None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return today, "Enter the date as YYYY-MM-DD; showing today instead."
    if day.year < 2000:
        return today, "Choose a date from 2000 on; showing today instead."
    if day > today:
        return today, "Metrics cannot be computed for a day that has not come; showing today."
    return day, None


@bp.route("/metrics")
@roles_required("leader", "manager", "admin")
def index() -> str:
    scopes = scopes_for(current_user)
    by_key = {_scope_key(scope): scope for scope in scopes}
    chosen = request.args.get("scope") or ORGANISATION
    scope = by_key.get(chosen)
    if scope is None:
        abort(404)
    today = organisation_today()
    as_of, date_problem = _as_of(today)
    rows = [_row(result) for result in compute_all(scope, as_of=as_of).values()]
    groups = [
        (label, [(_scope_key(s), s.name) for s in scopes if s.kind == kind])
        for kind, label in SCOPE_GROUPS
    ]
    return render_template(
        "metrics/index.html",
        scope=scope,
        chosen=_scope_key(scope),
        organisation=by_key[ORGANISATION],
        groups=[(label, options) for label, options in groups if options],
        as_of=as_of,
        today=today,
        date_problem=date_problem,
        rows=rows,
        amber_from=percent(figure("rag-amber-from")),
    )
