"""The metric registry: one pure function per adoption metric of DESIGN.md section 6, found by
id in `METRICS`.

Each function takes pandas frames and an `as_of` date (so history can be recomputed) and returns
a `MetricResult`: value, unit, target, red/amber/green status, the "how computed" sentence and
its basis: how many units (learners, enrolments, pairs, campaigns, steps, checkpoints; see
`BASIS_UNITS`) the value rests on, so a report can tell a solid figure from one resting on two
people.
A metric that cannot be computed (no data in a period, an empty denominator, a zero baseline)
has value None, status "not-computable" and a reason: it never shows a wrong number.

Rules every metric shares:
- Days are calendar days (the loaders give dates in the organisation's time zone). "The last N
  days" to `as_of` are the N days ending on `as_of`, inclusive; nothing after `as_of` counts.
- An enrolment counts from its start date; a withdrawn enrolment leaves every denominator on
  its withdrawal date (and counts as before for an `as_of` before it).
- Targets, windows and horizons come from figures.yaml: a keyword left at `FROM_FIGURES` is read
  from there, which needs a Flask application context. Pass them to call without one.

Frames and their columns (dates may be `date`, `datetime` or pandas timestamps):
- enrolments: enrolment, learner, programme, cohort, start_date, withdrawn_on (None if not)
- promotions: enrolment, from_stage, to_stage, promoted_on
- programme_features: programme, feature, retired_on (None if taught today)
- usage: learner, feature, occurred_at, count
- teams: team, name
- campaigns: team, campaign, launched_on, hours_spent, cost, attributed_revenue, kpi_name,
  kpi_value
- baselines: team, metric, period_start, period_end
- process_steps: step, team, procedure; process_changes: step, automated, changed_on
- checkpoints: team, domain, item, status, achieved_on; integration_domains: domain
- scenario_items: learner, programme, purpose, attempt, submitted_on, type, credit, points
- endorsements: endorsee, created_on
- activity: learner, occurred_on
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pandas as pd

from lms.assessments.statistics import decision_quality, scenario_scores

# Statuses -------------------------------------------------------------------------------------

GREEN = "green"
AMBER = "amber"
RED = "red"
NO_TARGET = "no-target"
NOT_COMPUTABLE = "not-computable"
STATUSES = (GREEN, AMBER, RED, NO_TARGET, NOT_COMPUTABLE)

# Metric ids (a metric with a target has the same key in figures.yaml) --------------------------

PROFICIENCY = "proficiency-within-60-days"
FEATURE_ADOPTION = "feature-adoption-rate"
PRODUCTIVITY = "productivity-improvement"
MANUAL_PROCESSES = "manual-process-reduction"
ROI = "roi-improvement"
CAMPAIGN_PERFORMANCE = "campaign-performance-improvement"
CROSS_DOMAIN = "cross-domain-integration"
DECISION_QUALITY = "decision-quality"
PEER_RECOGNITION = "peer-recognition"
CONTINUOUS_DEVELOPMENT = "continuous-development"

#: The metrics compared against a team's baseline period (MetricBaseline.metric holds these ids).
BASELINE_METRICS = (PRODUCTIVITY, MANUAL_PROCESSES, ROI, CAMPAIGN_PERFORMANCE)
#: The stages an enrolment reaches once past its programme (DESIGN.md section 5).
PAST_PROGRAMME_STAGES = ("innovation", "partnership")
#: The stage whose promotion out of it makes an enrolment proficient.
PROFICIENCY_STAGE = "proficiency"

RATIO = "ratio"


class _FromFigures:
    def __repr__(self) -> str:
        return "FROM_FIGURES"


#: Default of every figure keyword: read the figure from figures.yaml at call time.
FROM_FIGURES: Any = _FromFigures()


def _from_figures(value: Any, key: str, *, optional: bool = False) -> Any:
    """`value` as given, or figure `key` of figures.yaml (None if `optional` and missing)."""
    if value is not FROM_FIGURES:
        return value
    from lms.figures import target as figure_target

    try:
        return figure_target(key).value
    except KeyError:
        if optional:
            return None
        raise


# Results --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricResult:
    metric: str
    value: float | None
    unit: str
    target: float | None
    status: str
    reason: str | None
    how_computed: str
    detail: dict[str, Any] = field(default_factory=dict)
    #: How many units (`BASIS_UNITS[metric]`) the value rests on; None when not known.
    basis: int | None = None

    @property
    def computable(self) -> bool:
        return self.value is not None


def _at_least(value: float, threshold: float) -> bool:
    """`value >= threshold`, where a value equal up to float rounding counts as reaching it
    (0.75 × 0.4 is 0.30000000000000004 in floating point, and 30% must be amber)."""
    return value >= threshold or math.isclose(value, threshold, rel_tol=1e-9, abs_tol=1e-12)


def rag_status(value: float, target: float | None, amber_from: float) -> str:
    """Green at or above the target, amber at `amber_from` × target or above, red below; a
    metric without a target is "no-target"."""
    if target is None:
        return NO_TARGET
    if _at_least(value, target):
        return GREEN
    if _at_least(value, target * amber_from):
        return AMBER
    return RED


def _result(
    metric: str,
    value: float | None,
    *,
    target: float | None,
    amber_from: float,
    how: str,
    detail: dict[str, Any],
    basis: int | None,
    reason: str | None = None,
) -> MetricResult:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return MetricResult(
            metric,
            None,
            RATIO,
            target,
            NOT_COMPUTABLE,
            reason or "no data to compute it from",
            how,
            detail,
            basis,
        )
    return MetricResult(
        metric,
        float(value),
        RATIO,
        target,
        rag_status(float(value), target, amber_from),
        None,
        how,
        detail,
        basis,
    )


# Frame helpers --------------------------------------------------------------------------------


def _columns(frame: pd.DataFrame | None, columns: Iterable[str]) -> pd.DataFrame:
    """`frame` with at least `columns` (missing ones empty), so an empty frame built without
    columns is still a valid input."""
    frame = pd.DataFrame() if frame is None else frame
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        frame = frame.assign(
            **{c: pd.Series([None] * len(frame), index=frame.index) for c in missing}
        )
    return frame


def _days(values: pd.Series) -> pd.Series:
    """Dates, datetimes (naive or aware, taken on their own calendar) or ISO strings, as naive
    midnight timestamps; anything else becomes NaT."""
    if len(values) == 0:
        return pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    try:
        converted = pd.to_datetime(values, errors="coerce")
    except (TypeError, ValueError):  # aware and naive mixed
        converted = pd.to_datetime(values, errors="coerce", utc=True)
    if isinstance(converted.dtype, pd.DatetimeTZDtype):
        converted = converted.dt.tz_localize(None)
    return converted.dt.normalize()


def _day(value: date) -> pd.Timestamp:
    return pd.Timestamp(value)


def _date(value: Any) -> date:
    return pd.Timestamp(value).date()


def _plain(value: Any) -> Any:
    """numpy scalars as Python values (for JSON and for readable detail)."""
    return value.item() if hasattr(value, "item") else value


def _enrolled(enrolments: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Enrolments that had started by `as_of` and were not withdrawn on or before it."""
    frame = _columns(
        enrolments, ["enrolment", "learner", "programme", "start_date", "withdrawn_on"]
    )
    start = _days(frame["start_date"])
    withdrawn = _days(frame["withdrawn_on"])
    today = _day(as_of)
    keep = (start <= today) & (withdrawn.isna() | (withdrawn > today))
    return frame[keep].assign(start_day=start[keep])


def _group_reason(enrolments: pd.DataFrame, as_of: date) -> str:
    """Why a group has nobody to count on `as_of`."""
    frame = _columns(enrolments, ["start_date", "withdrawn_on"])
    if frame.empty:
        return "there are no enrolments in this group"
    start = _days(frame["start_date"])
    today = _day(as_of)
    started = frame[start <= today]
    if started.empty:
        return f"no enrolment in this group had started by {as_of.isoformat()}"
    withdrawn = _days(started["withdrawn_on"])
    if (withdrawn.notna() & (withdrawn <= today)).all():
        return (
            f"all {len(started)} enrolments in this group were withdrawn on or before "
            f"{as_of.isoformat()}"
        )
    return "nobody in this group is counted"


def _window(values: pd.Series, as_of: date, days: int) -> pd.Series:
    """True for values on one of the `days` days ending on `as_of`."""
    day = _days(values)
    return (day > _day(as_of - timedelta(days=days))) & (day <= _day(as_of))


# How each metric is computed (filled with the figures used) ----------------------------------

HOW: dict[str, str] = {
    PROFICIENCY: (
        "Enrolments promoted out of Proficiency Development within {horizon_days} days of their "
        "start ÷ enrolments that started at least {horizon_days} days before {as_of} and were "
        "not withdrawn by then; younger enrolments are counted apart. Enrolments waiting for "
        "content on {as_of} (their stage gate names a module still in preparation, so nobody "
        "could meet it) and not yet proficient are left out of both, and counted."
    ),
    FEATURE_ADOPTION: (
        "Learner × feature pairs (each feature taught by a programme the learner is enrolled "
        "in) with recorded use in the {window_days} days to {as_of} ÷ all such pairs, so one "
        "power user cannot carry the group; the features used by anyone in the group are "
        "shown beside it."
    ),
    PRODUCTIVITY: (
        "(Median hours per campaign in the baseline period − median hours per campaign now) "
        "÷ the baseline median, from the campaign log; now is the {period_days} days to "
        "{as_of}, starting after the team's baseline period; the campaigns of the teams with "
        "campaigns in both periods are pooled."
    ),
    MANUAL_PROCESSES: (
        "(Manual steps in the process inventory at the end of the team's baseline period − "
        "manual steps on {as_of}) ÷ manual steps at the baseline, summed over the teams with a "
        "baseline; a step is manual until a recorded change says it was automated."
    ),
    ROI: (
        "(ROI now − baseline ROI) ÷ |baseline ROI|, ROI = (attributed revenue − cost) ÷ cost "
        "over the campaigns launched in the team's baseline period and in the {period_days} "
        "days to {as_of} (starting after the baseline period), pooled over the teams with "
        "campaigns in both."
    ),
    CAMPAIGN_PERFORMANCE: (
        "Relative change of each team's chosen campaign KPI (the KPI its baseline campaigns "
        "report most often): (mean value in the {period_days} days to {as_of} − mean in the "
        "baseline period) ÷ |baseline mean|, averaged over the teams with both."
    ),
    CROSS_DOMAIN: (
        "Integration checkpoints achieved by {as_of} ÷ checkpoints planned or achieved, over "
        "the adoption framework's integration domains ({domains})."
    ),
    DECISION_QUALITY: (
        "(Mean scenario score on the post-assessment − mean on the parallel pre-assessment) ÷ "
        "the pre-assessment mean, over learners who had taken both by {as_of} and were not "
        "withdrawn; each learner's best attempt at each counts."
    ),
    PEER_RECOGNITION: (
        "Learners with at least one endorsement from a colleague in the {window_days} days to "
        "{as_of} ÷ learners with an enrolment not withdrawn by then."
    ),
    CONTINUOUS_DEVELOPMENT: (
        "Learners past their programme (promoted into Innovation Leadership or beyond, or "
        "enrolled more than {past_after_days} days before {as_of}) with learning activity (a "
        "lesson section read, a module completed, an assessment submitted) in the "
        "{window_days} days to {as_of} ÷ learners past their programme."
    ),
}


# What each metric's basis counts ---------------------------------------------------------------

#: The unit of each metric's `MetricResult.basis` (one, many): its denominator, or for the
#: changes against a baseline the campaigns of the thinner of the two periods compared.
BASIS_UNITS: dict[str, tuple[str, str]] = {
    PROFICIENCY: ("enrolment", "enrolments"),
    FEATURE_ADOPTION: ("learner × feature pair", "learner × feature pairs"),
    PRODUCTIVITY: ("campaign", "campaigns"),
    MANUAL_PROCESSES: ("manual step", "manual steps"),
    ROI: ("campaign", "campaigns"),
    CAMPAIGN_PERFORMANCE: ("campaign", "campaigns"),
    CROSS_DOMAIN: ("checkpoint", "checkpoints"),
    DECISION_QUALITY: ("learner", "learners"),
    PEER_RECOGNITION: ("learner", "learners"),
    CONTINUOUS_DEVELOPMENT: ("learner", "learners"),
}


def basis_words(metric: str, basis: int) -> str:
    """For example "1 learner", "12 learner × feature pairs"."""
    one, many = BASIS_UNITS[metric]
    return f"{basis} {one if basis == 1 else many}"


# Feature adoption -----------------------------------------------------------------------------


def feature_adoption_rate(
    pairs: pd.DataFrame,
    usage: pd.DataFrame,
    as_of: date,
    window_days: int = 30,
    *,
    target: float | None = FROM_FIGURES,
    amber_from: float = FROM_FIGURES,
) -> MetricResult:
    """Learner × feature pairs with use in the `window_days` days to `as_of` ÷ all pairs.

    `pairs`: columns learner, feature, one row per feature a learner's programmes teach
    (duplicates count once; build them with `teaching_pairs`). `usage`: columns learner,
    feature, occurred_at, count; a row counts when it falls in the window and its count is
    above zero (a missing count is one use). `detail` holds the numerator (`adopted_pairs`),
    the denominator (`pairs`), the features taught, the features used by anyone in the group
    and, per feature, its adopted pairs and learners (`by_feature`)."""
    return _feature_adoption(pairs, usage, as_of, window_days, target, amber_from, None)


def _feature_adoption(
    pairs: pd.DataFrame,
    usage: pd.DataFrame,
    as_of: date,
    window_days: int,
    target: float | None,
    amber_from: float,
    empty_reason: str | None,
) -> MetricResult:
    target = _from_figures(target, FEATURE_ADOPTION, optional=True)
    amber_from = _from_figures(amber_from, "rag-amber-from")
    window_days = int(window_days)
    how = HOW[FEATURE_ADOPTION].format(window_days=window_days, as_of=as_of.isoformat())
    pairs = _columns(pairs, ["learner", "feature"])[["learner", "feature"]]
    pairs = pairs.dropna().drop_duplicates()
    usage = _columns(usage, ["learner", "feature", "occurred_at", "count"])
    counts = pd.to_numeric(usage["count"], errors="coerce").fillna(1)
    recent = usage[_window(usage["occurred_at"], as_of, window_days) & (counts > 0)]
    # Vectorised: a merge marks each taught pair used or not, whatever the group's size.
    used = recent[["learner", "feature"]].drop_duplicates()
    group = set(pairs["learner"])
    taught = set(pairs["feature"])
    used_by_group = set(used.loc[used["learner"].isin(group), "feature"])
    anyone = taught & used_by_group
    # Keys as objects on both sides: an empty frame's columns have no integer dtype to match.
    marked = pairs.astype(object).merge(
        used.astype(object).assign(adopted=1), on=["learner", "feature"], how="left"
    )
    marked["adopted"] = marked["adopted"].fillna(0).astype(int)
    per_feature = marked.groupby("feature", sort=False)["adopted"].agg(["sum", "count"])
    by_feature: dict[Any, dict[str, int]] = {
        _plain(feature): {"adopted": int(row["sum"]), "learners": int(row["count"])}
        for feature, row in per_feature.iterrows()
    }
    numerator, denominator = int(marked["adopted"].sum()), len(pairs)
    detail = {
        "adopted_pairs": numerator,
        "pairs": denominator,
        "learners": len(group),
        "features_taught": len(taught),
        "features_used_by_anyone": len(anyone),
        "features_used_by_anyone_share": len(anyone) / len(taught) if taught else None,
        "window_start": (as_of - timedelta(days=window_days - 1)).isoformat(),
        "window_end": as_of.isoformat(),
        "by_feature": by_feature,
    }
    if denominator == 0:
        reason = empty_reason or (
            "no learner in this group is enrolled in a programme that teaches a platform feature"
        )
        return _result(
            FEATURE_ADOPTION,
            None,
            target=target,
            amber_from=amber_from,
            how=how,
            detail=detail,
            basis=denominator,
            reason=reason,
        )
    return _result(
        FEATURE_ADOPTION,
        numerator / denominator,
        target=target,
        amber_from=amber_from,
        how=how,
        detail=detail,
        basis=denominator,
    )


def teaching_pairs(
    enrolments: pd.DataFrame, programme_features: pd.DataFrame, as_of: date
) -> pd.DataFrame:
    """Learner × feature pairs on `as_of`: the features taught (and not retired by then) by the
    programmes of the learner's enrolments that had started and were not withdrawn."""
    enrolled = _enrolled(enrolments, as_of)[["learner", "programme"]]
    taught = _columns(programme_features, ["programme", "feature", "retired_on"])
    retired = _days(taught["retired_on"])
    taught = taught[retired.isna() | (retired > _day(as_of))][["programme", "feature"]]
    if enrolled.empty or taught.empty:
        return pd.DataFrame({"learner": [], "feature": []})
    pairs = enrolled.merge(taught, on="programme")[["learner", "feature"]]
    return pairs.drop_duplicates().reset_index(drop=True)


def feature_adoption(
    enrolments: pd.DataFrame,
    programme_features: pd.DataFrame,
    usage: pd.DataFrame,
    as_of: date,
    *,
    window_days: int = FROM_FIGURES,
    target: float | None = FROM_FIGURES,
    amber_from: float = FROM_FIGURES,
) -> MetricResult:
    """Feature adoption rate of a group of enrolments (see `feature_adoption_rate`)."""
    window = int(_from_figures(window_days, "feature-use-window-days"))
    pairs = teaching_pairs(enrolments, programme_features, as_of)
    reason = None
    if pairs.empty and _enrolled(enrolments, as_of).empty:
        reason = _group_reason(enrolments, as_of)
    return _feature_adoption(pairs, usage, as_of, window, target, amber_from, reason)


# Proficiency ----------------------------------------------------------------------------------


def _waiting(holds: pd.DataFrame | None, as_of: date) -> set[Any]:
    """Enrolments whose stage clock was held on `as_of`: their gate waited for content."""
    holds = _columns(holds, ["enrolment", "held_from", "released_on"])
    held = _days(holds["held_from"])
    released = _days(holds["released_on"])
    today = _day(as_of)
    on = (held <= today) & (released.isna() | (released > today))
    return {_plain(e) for e in holds.loc[on, "enrolment"]}


def proficiency_within_60_days(
    enrolments: pd.DataFrame,
    promotions: pd.DataFrame,
    as_of: date,
    holds: pd.DataFrame | None = None,
    *,
    horizon_days: int = FROM_FIGURES,
    target: float | None = FROM_FIGURES,
    amber_from: float = FROM_FIGURES,
) -> MetricResult:
    """Enrolments promoted out of Proficiency Development within the horizon (60 days) of their
    start ÷ enrolments that started at least that long before `as_of`, not withdrawn by then.
    Days are calendar days from the start date to the promotion date. An enrolment waiting for
    content on `as_of` (a clock hold open in `holds`: enrolment, held_from, released_on) and
    not yet proficient could not have been, so it is left out of numerator and denominator and
    counted in `detail["waiting_for_content"]`."""
    horizon = int(_from_figures(horizon_days, "proficiency-horizon-days"))
    target = _from_figures(target, PROFICIENCY, optional=True)
    amber_from = _from_figures(amber_from, "rag-amber-from")
    how = HOW[PROFICIENCY].format(horizon_days=horizon, as_of=as_of.isoformat())
    enrolled = _enrolled(enrolments, as_of)
    promotions = _columns(promotions, ["enrolment", "from_stage", "promoted_on"])
    promoted_day = _days(promotions["promoted_on"])
    out = promotions.assign(day=promoted_day)
    out = out[(out["from_stage"] == PROFICIENCY_STAGE) & (out["day"] <= _day(as_of))]
    first = out.groupby("enrolment")["day"].min()
    reached = pd.Series(
        first.reindex(enrolled["enrolment"].to_numpy()).to_numpy(),
        index=enrolled.index,
        dtype="datetime64[ns]",
    )
    held = _waiting(holds, as_of)
    waiting = enrolled["enrolment"].map(lambda e: _plain(e) in held).astype(bool) & reached.isna()
    left_out = int(waiting.sum())
    enrolled, reached = enrolled[~waiting], reached[~waiting]
    days_to = (reached - enrolled["start_day"]).dt.days
    age = (_day(as_of) - enrolled["start_day"]).dt.days
    eligible = age >= horizon
    proficient = (days_to <= horizon).astype(bool)
    starting = _columns(enrolments, ["start_date", "withdrawn_on"])
    withdrawn = _days(starting["withdrawn_on"])
    detail = {
        "proficient": int((eligible & proficient).sum()),
        "eligible": int(eligible.sum()),
        "younger": int((~eligible).sum()),
        "younger_proficient": int((~eligible & reached.notna()).sum()),
        "withdrawn": int((withdrawn.notna() & (withdrawn <= _day(as_of))).sum()),
        "horizon_days": horizon,
        "waiting_for_content": left_out,
    }
    if detail["eligible"] == 0:
        if enrolled.empty and left_out:
            reason = (
                f"every enrolment counted is waiting for content ({left_out} left out: their "
                "gate names a module still in preparation)"
            )
        elif enrolled.empty:
            reason = _group_reason(enrolments, as_of)
        else:
            reason = (
                f"no enrolment in this group started at least {horizon} days before "
                f"{as_of.isoformat()} ({detail['younger']} younger, shown apart"
                + (f"; {left_out} waiting for content left out)" if left_out else ")")
            )
        return _result(
            PROFICIENCY,
            None,
            target=target,
            amber_from=amber_from,
            how=how,
            detail=detail,
            basis=0,
            reason=reason,
        )
    return _result(
        PROFICIENCY,
        detail["proficient"] / detail["eligible"],
        target=target,
        amber_from=amber_from,
        how=how,
        detail=detail,
        basis=detail["eligible"],
    )


# Business metrics against a team's baseline ---------------------------------------------------


@dataclass(frozen=True)
class _TeamPeriods:
    team: Any
    baseline_start: date
    baseline_end: date
    current_start: date
    current_end: date

    def describe(self) -> dict[str, str]:
        return {
            "baseline": f"{self.baseline_start.isoformat()} to {self.baseline_end.isoformat()}",
            "current": f"{self.current_start.isoformat()} to {self.current_end.isoformat()}",
        }


def _team_names(teams: pd.DataFrame) -> dict[Any, str]:
    teams = _columns(teams, ["team", "name"])
    return {_plain(t): str(n) for t, n in zip(teams["team"], teams["name"], strict=True)}


def _team_periods(
    baselines: pd.DataFrame, metric: str, as_of: date, period_days: int
) -> tuple[list[_TeamPeriods], dict[Any, str]]:
    """Each team's baseline period for `metric` and the current period: the `period_days` days
    to `as_of`, starting no earlier than the day after the baseline. Teams whose baseline has
    not ended before `as_of` are left out, with the reason."""
    rows = _columns(baselines, ["team", "metric", "period_start", "period_end"])
    rows = rows[rows["metric"] == metric]
    periods: list[_TeamPeriods] = []
    skipped: dict[Any, str] = {}
    for team, start, end in zip(
        rows["team"], rows["period_start"], rows["period_end"], strict=True
    ):
        team = _plain(team)
        start, end = _date(start), _date(end)
        if end < start:
            skipped[team] = "its baseline period ends before it starts"
            continue
        if end >= as_of:
            skipped[team] = (
                f"its baseline period ends on {end.isoformat()}, not before {as_of.isoformat()}"
            )
            continue
        current_start = max(as_of - timedelta(days=period_days - 1), end + timedelta(days=1))
        periods.append(_TeamPeriods(team, start, end, current_start, as_of))
    return periods, skipped


def _between(values: pd.Series, start: date, end: date) -> pd.Series:
    day = _days(values)
    return (day >= _day(start)) & (day <= _day(end))


def _campaign_periods(
    campaigns: pd.DataFrame, periods: list[_TeamPeriods]
) -> list[tuple[_TeamPeriods, pd.DataFrame, pd.DataFrame]]:
    """Per team: its campaigns launched in the baseline period and in the current period."""
    campaigns = _columns(
        campaigns,
        [
            "team",
            "launched_on",
            "hours_spent",
            "cost",
            "attributed_revenue",
            "kpi_name",
            "kpi_value",
        ],
    )
    split = []
    for period in periods:
        own = campaigns[campaigns["team"] == period.team]
        base = own[_between(own["launched_on"], period.baseline_start, period.baseline_end)]
        now = own[_between(own["launched_on"], period.current_start, period.current_end)]
        split.append((period, base, now))
    return split


def _no_team_reason(what: str, skipped: dict[Any, str], names: dict[Any, str]) -> str:
    if not skipped:
        return f"no team in this group has a baseline period for {what}"
    reasons = "; ".join(
        f"{names.get(team, f'team {team}')}: {why}" for team, why in skipped.items()
    )
    return f"no team could be compared ({reasons})"


def _not_computable(
    metric: str, target, amber_from, how, detail, reason, basis: int | None = 0
) -> MetricResult:
    return _result(
        metric,
        None,
        target=target,
        amber_from=amber_from,
        how=how,
        detail=detail,
        basis=basis,
        reason=reason,
    )


def _business_setup(
    metric: str, period_days: Any, target: Any, amber_from: Any, as_of: date
) -> tuple[int, float | None, float, str]:
    days = int(_from_figures(period_days, "metric-current-period-days"))
    target = _from_figures(target, metric, optional=True)
    amber_from = _from_figures(amber_from, "rag-amber-from")
    how = HOW[metric].format(period_days=days, as_of=as_of.isoformat())
    return days, target, amber_from, how


def productivity_improvement(
    campaigns: pd.DataFrame,
    baselines: pd.DataFrame,
    teams: pd.DataFrame,
    as_of: date,
    *,
    period_days: int = FROM_FIGURES,
    target: float | None = FROM_FIGURES,
    amber_from: float = FROM_FIGURES,
) -> MetricResult:
    """(Baseline median hours per campaign − current median) ÷ baseline median."""
    days, target, amber_from, how = _business_setup(
        PRODUCTIVITY, period_days, target, amber_from, as_of
    )
    names = _team_names(teams)
    periods, skipped = _team_periods(baselines, PRODUCTIVITY, as_of, days)
    base_hours: list[float] = []
    now_hours: list[float] = []
    compared = []
    for period, base, now in _campaign_periods(campaigns, periods):
        if base.empty:
            skipped[period.team] = (
                f"no campaigns in its baseline period ({period.describe()['baseline']})"
            )
            continue
        if now.empty:
            skipped[period.team] = (
                f"no campaigns in the current period ({period.describe()['current']})"
            )
            continue
        hours_base = pd.to_numeric(base["hours_spent"]).astype(float)
        hours_now = pd.to_numeric(now["hours_spent"]).astype(float)
        base_hours += hours_base.tolist()
        now_hours += hours_now.tolist()
        compared.append(
            {
                "team": period.team,
                "name": names.get(period.team, f"team {period.team}"),
                **period.describe(),
                "baseline_median_hours": float(hours_base.median()),
                "current_median_hours": float(hours_now.median()),
                "baseline_campaigns": len(base),
                "current_campaigns": len(now),
            }
        )
    detail: dict[str, Any] = {"teams": compared, "left_out": _left_out(skipped, names)}
    if not compared:
        reason = _no_team_reason("productivity improvement", skipped, names)
        return _not_computable(PRODUCTIVITY, target, amber_from, how, detail, reason)
    base_median = float(pd.Series(base_hours).median())
    now_median = float(pd.Series(now_hours).median())
    detail.update(
        baseline_median_hours=base_median,
        current_median_hours=now_median,
        baseline_campaigns=len(base_hours),
        current_campaigns=len(now_hours),
    )
    # Two medians compared: the thinner period is what the change rests on.
    basis = min(len(base_hours), len(now_hours))
    if base_median == 0:
        reason = "the baseline median is zero hours per campaign, so a relative change is undefined"
        return _not_computable(PRODUCTIVITY, target, amber_from, how, detail, reason, basis)
    return _result(
        PRODUCTIVITY,
        (base_median - now_median) / base_median,
        target=target,
        amber_from=amber_from,
        how=how,
        detail=detail,
        basis=basis,
    )


def _left_out(skipped: dict[Any, str], names: dict[Any, str]) -> list[dict[str, Any]]:
    return [
        {"team": team, "name": names.get(team, f"team {team}"), "reason": why}
        for team, why in skipped.items()
    ]


def roi_improvement(
    campaigns: pd.DataFrame,
    baselines: pd.DataFrame,
    teams: pd.DataFrame,
    as_of: date,
    *,
    period_days: int = FROM_FIGURES,
    target: float | None = FROM_FIGURES,
    amber_from: float = FROM_FIGURES,
) -> MetricResult:
    """(Current ROI − baseline ROI) ÷ |baseline ROI|, ROI = (revenue − cost) ÷ cost over the
    campaigns of each period, pooled over the teams with campaigns in both."""
    days, target, amber_from, how = _business_setup(ROI, period_days, target, amber_from, as_of)
    names = _team_names(teams)
    periods, skipped = _team_periods(baselines, ROI, as_of, days)
    sums = {
        "baseline_cost": 0.0,
        "baseline_revenue": 0.0,
        "current_cost": 0.0,
        "current_revenue": 0.0,
    }
    compared = []
    counts = {"baseline_campaigns": 0, "current_campaigns": 0}
    for period, base, now in _campaign_periods(campaigns, periods):
        if base.empty:
            skipped[period.team] = (
                f"no campaigns in its baseline period ({period.describe()['baseline']})"
            )
            continue
        if now.empty:
            skipped[period.team] = (
                f"no campaigns in the current period ({period.describe()['current']})"
            )
            continue
        counts["baseline_campaigns"] += len(base)
        counts["current_campaigns"] += len(now)
        team_sums = {
            "baseline_cost": float(pd.to_numeric(base["cost"]).sum()),
            "baseline_revenue": float(pd.to_numeric(base["attributed_revenue"]).sum()),
            "current_cost": float(pd.to_numeric(now["cost"]).sum()),
            "current_revenue": float(pd.to_numeric(now["attributed_revenue"]).sum()),
        }
        for key, amount in team_sums.items():
            sums[key] += amount
        compared.append(
            {
                "team": period.team,
                "name": names.get(period.team, f"team {period.team}"),
                **period.describe(),
                **team_sums,
                "baseline_roi": _roi(team_sums["baseline_revenue"], team_sums["baseline_cost"]),
                "current_roi": _roi(team_sums["current_revenue"], team_sums["current_cost"]),
            }
        )
    detail: dict[str, Any] = {"teams": compared, "left_out": _left_out(skipped, names)}
    if not compared:
        reason = _no_team_reason("ROI improvement", skipped, names)
        return _not_computable(ROI, target, amber_from, how, detail, reason)
    base_roi = _roi(sums["baseline_revenue"], sums["baseline_cost"])
    now_roi = _roi(sums["current_revenue"], sums["current_cost"])
    detail.update(sums, **counts, baseline_roi=base_roi, current_roi=now_roi)
    basis = min(counts.values())  # the thinner of the two periods compared
    if base_roi is None:
        reason = "the baseline campaigns cost nothing, so their ROI is undefined"
        return _not_computable(ROI, target, amber_from, how, detail, reason, basis)
    if now_roi is None:
        reason = "the current campaigns cost nothing, so their ROI is undefined"
        return _not_computable(ROI, target, amber_from, how, detail, reason, basis)
    if base_roi == 0:
        reason = "the baseline ROI is zero, so a relative change is undefined"
        return _not_computable(ROI, target, amber_from, how, detail, reason, basis)
    return _result(
        ROI,
        (now_roi - base_roi) / abs(base_roi),
        target=target,
        amber_from=amber_from,
        how=how,
        detail=detail,
        basis=basis,
    )


def _roi(revenue: float, cost: float) -> float | None:
    return (revenue - cost) / cost if cost else None


def _chosen_kpi(campaigns: pd.DataFrame) -> str | None:
    """The KPI a team's campaigns report most often (ties: the first by name)."""
    named = campaigns[campaigns["kpi_name"].notna() & campaigns["kpi_value"].notna()]
    if named.empty:
        return None
    counts = named.groupby("kpi_name").size()
    best = counts.max()
    return str(sorted(counts[counts == best].index)[0])


def campaign_performance_improvement(
    campaigns: pd.DataFrame,
    baselines: pd.DataFrame,
    teams: pd.DataFrame,
    as_of: date,
    *,
    period_days: int = FROM_FIGURES,
    target: float | None = FROM_FIGURES,
    amber_from: float = FROM_FIGURES,
) -> MetricResult:
    """Mean over teams of the relative change of the team's chosen KPI (mean kpi_value of the
    KPI its baseline campaigns report most often), current period against baseline."""
    days, target, amber_from, how = _business_setup(
        CAMPAIGN_PERFORMANCE, period_days, target, amber_from, as_of
    )
    names = _team_names(teams)
    periods, skipped = _team_periods(baselines, CAMPAIGN_PERFORMANCE, as_of, days)
    compared = []
    for period, base, now in _campaign_periods(campaigns, periods):
        kpi = _chosen_kpi(base)
        if kpi is None:
            skipped[period.team] = (
                f"no campaign KPI recorded in its baseline period ({period.describe()['baseline']})"
            )
            continue
        base_values = pd.to_numeric(base.loc[base["kpi_name"] == kpi, "kpi_value"]).dropna()
        now_values = pd.to_numeric(now.loc[now["kpi_name"] == kpi, "kpi_value"]).dropna()
        if now_values.empty:
            skipped[period.team] = (
                f"no campaign reports {kpi} in the current period ({period.describe()['current']})"
            )
            continue
        base_mean, now_mean = float(base_values.mean()), float(now_values.mean())
        if base_mean == 0:
            skipped[period.team] = f"its baseline mean {kpi} is zero"
            continue
        compared.append(
            {
                "team": period.team,
                "name": names.get(period.team, f"team {period.team}"),
                **period.describe(),
                "kpi": kpi,
                "baseline_mean": base_mean,
                "current_mean": now_mean,
                "change": (now_mean - base_mean) / abs(base_mean),
                "baseline_campaigns": len(base_values),
                "current_campaigns": len(now_values),
            }
        )
    detail: dict[str, Any] = {"teams": compared, "left_out": _left_out(skipped, names)}
    if not compared:
        reason = _no_team_reason("campaign performance", skipped, names)
        return _not_computable(CAMPAIGN_PERFORMANCE, target, amber_from, how, detail, reason)
    value = sum(team["change"] for team in compared) / len(compared)
    # The campaigns reporting the chosen KPIs, in the thinner of the two periods compared.
    basis = min(
        sum(team["baseline_campaigns"] for team in compared),
        sum(team["current_campaigns"] for team in compared),
    )
    return _result(
        CAMPAIGN_PERFORMANCE,
        value,
        target=target,
        amber_from=amber_from,
        how=how,
        detail=detail,
        basis=basis,
    )


def _automated_steps(changes: pd.DataFrame, on: date) -> set[Any]:
    """Steps whose latest change on or before `on` says automated."""
    upto = changes[changes["day"] <= _day(on)].sort_values("day", kind="stable")
    latest = upto.groupby("step").tail(1)
    return {_plain(step) for step in latest.loc[latest["automated"].astype(bool), "step"]}


def manual_process_reduction(
    process_steps: pd.DataFrame,
    process_changes: pd.DataFrame,
    baselines: pd.DataFrame,
    teams: pd.DataFrame,
    as_of: date,
    *,
    target: float | None = FROM_FIGURES,
    amber_from: float = FROM_FIGURES,
) -> MetricResult:
    """(Manual steps at the end of the baseline period − manual steps on `as_of`) ÷ manual
    steps at the baseline, summed over the teams with a baseline. A step with no change on or
    before a date is manual on it; otherwise its latest change says which it is. Changes on the
    same day apply in the order given."""
    target = _from_figures(target, MANUAL_PROCESSES, optional=True)
    amber_from = _from_figures(amber_from, "rag-amber-from")
    how = HOW[MANUAL_PROCESSES].format(as_of=as_of.isoformat())
    names = _team_names(teams)
    steps = _columns(process_steps, ["step", "team", "procedure"])
    changes = _columns(process_changes, ["step", "automated", "changed_on"])
    changes = changes.assign(day=_days(changes["changed_on"]))
    rows = _columns(baselines, ["team", "metric", "period_start", "period_end"])
    rows = rows[rows["metric"] == MANUAL_PROCESSES]
    skipped: dict[Any, str] = {}
    compared = []
    now_automated = _automated_steps(changes, as_of)
    for team, end in zip(rows["team"], rows["period_end"], strict=True):
        team, end = _plain(team), _date(end)
        if end > as_of:
            skipped[team] = (
                f"its baseline period ends on {end.isoformat()}, after {as_of.isoformat()}"
            )
            continue
        own = {_plain(step) for step in steps.loc[steps["team"] == team, "step"]}
        if not own:
            skipped[team] = "its process inventory has no steps"
            continue
        base_manual = len(own - _automated_steps(changes, end))
        now_manual = len(own - now_automated)
        compared.append(
            {
                "team": team,
                "name": names.get(team, f"team {team}"),
                "baseline_end": end.isoformat(),
                "steps": len(own),
                "baseline_manual": base_manual,
                "current_manual": now_manual,
            }
        )
    detail: dict[str, Any] = {"teams": compared, "left_out": _left_out(skipped, names)}
    if not compared:
        reason = _no_team_reason("manual-process reduction", skipped, names)
        return _not_computable(MANUAL_PROCESSES, target, amber_from, how, detail, reason)
    base = sum(team["baseline_manual"] for team in compared)
    now = sum(team["current_manual"] for team in compared)
    detail.update(baseline_manual=base, current_manual=now)
    if base == 0:
        reason = (
            "no step was manual at the end of the baseline period, so there is nothing to reduce"
        )
        return _not_computable(MANUAL_PROCESSES, target, amber_from, how, detail, reason)
    return _result(
        MANUAL_PROCESSES,
        (base - now) / base,
        target=target,
        amber_from=amber_from,
        how=how,
        detail=detail,
        basis=base,
    )


# Cross-domain integration ---------------------------------------------------------------------


def cross_domain_integration(
    checkpoints: pd.DataFrame,
    integration_domains: pd.DataFrame,
    as_of: date,
    *,
    target: float | None = FROM_FIGURES,
    amber_from: float = FROM_FIGURES,
) -> MetricResult:
    """Checkpoints achieved by `as_of` ÷ checkpoints planned or achieved, over the framework's
    integration domains (every domain when `integration_domains` is empty). An achieved
    checkpoint without a date counts as achieved."""
    target = _from_figures(target, CROSS_DOMAIN, optional=True)
    amber_from = _from_figures(amber_from, "rag-amber-from")
    domains = [str(d) for d in _columns(integration_domains, ["domain"])["domain"].dropna()]
    how = HOW[CROSS_DOMAIN].format(
        as_of=as_of.isoformat(), domains=", ".join(domains) if domains else "every domain"
    )
    rows = _columns(checkpoints, ["team", "domain", "item", "status", "achieved_on"])
    if domains:
        rows = rows[rows["domain"].isin(domains)]
    day = _days(rows["achieved_on"])
    achieved = (rows["status"] == "achieved") & (day.isna() | (day <= _day(as_of)))
    rows = rows.assign(achieved=achieved.astype(bool))
    by_domain = {
        str(domain): {"achieved": int(group["achieved"].sum()), "checkpoints": len(group)}
        for domain, group in rows.groupby("domain", sort=True)
    }
    by_team = {
        _plain(team): {"achieved": int(group["achieved"].sum()), "checkpoints": len(group)}
        for team, group in rows.groupby("team", sort=True)
    }
    detail = {
        "achieved": int(rows["achieved"].sum()),
        "checkpoints": len(rows),
        "by_domain": by_domain,
        "by_team": by_team,
    }
    if rows.empty:
        reason = "no integration checkpoints are planned for this group"
        return _not_computable(CROSS_DOMAIN, target, amber_from, how, detail, reason)
    return _result(
        CROSS_DOMAIN,
        detail["achieved"] / detail["checkpoints"],
        target=target,
        amber_from=amber_from,
        how=how,
        detail=detail,
        basis=detail["checkpoints"],
    )


# Decision quality -----------------------------------------------------------------------------


def decision_quality_improvement(
    enrolments: pd.DataFrame,
    scenario_items: pd.DataFrame,
    as_of: date,
    *,
    target: float | None = FROM_FIGURES,
    amber_from: float = FROM_FIGURES,
) -> MetricResult:
    """Relative change of the mean scenario score from the pre- to the post-assessment
    (`lms.assessments.statistics.decision_quality`), over the group's enrolments not withdrawn
    by `as_of` and the attempts submitted by then. A learner in two programmes counts once per
    programme (each programme has its own pre/post pair)."""
    target = _from_figures(target, DECISION_QUALITY, optional=True)
    amber_from = _from_figures(amber_from, "rag-amber-from")
    how = HOW[DECISION_QUALITY].format(as_of=as_of.isoformat())
    enrolled = _enrolled(enrolments, as_of)
    keys = set(zip(enrolled["learner"], enrolled["programme"], strict=True))
    items = _columns(
        scenario_items,
        ["learner", "programme", "purpose", "attempt", "submitted_on", "type", "credit", "points"],
    )
    day = _days(items["submitted_on"])
    mine = [
        (learner, programme) in keys
        for learner, programme in zip(items["learner"], items["programme"], strict=True)
    ]
    items = items[(day <= _day(as_of)) & pd.Series(mine, index=items.index, dtype=bool)]
    frame = pd.DataFrame(
        {
            "learner": items["learner"].astype(str) + "/" + items["programme"].astype(str),
            "purpose": items["purpose"],
            "attempt": items["attempt"],
            "type": items["type"],
            "credit": pd.to_numeric(items["credit"]).astype(float),
            "points": pd.to_numeric(items["points"]).astype(float),
        }
    )
    quality = decision_quality(scenario_scores(frame))
    detail = {
        "learners": quality.learners,
        "pre_mean": quality.pre_mean,
        "post_mean": quality.post_mean,
    }
    if quality.improvement is None:
        reason = quality.note
        if enrolled.empty:
            reason = _group_reason(enrolments, as_of)
        return _not_computable(
            DECISION_QUALITY, target, amber_from, how, detail, reason, quality.learners
        )
    return _result(
        DECISION_QUALITY,
        quality.improvement,
        target=target,
        amber_from=amber_from,
        how=how,
        detail=detail,
        basis=quality.learners,
    )


# Peer recognition and continuous development (shown, no target) ------------------------------


def peer_recognition(
    enrolments: pd.DataFrame,
    endorsements: pd.DataFrame,
    as_of: date,
    *,
    window_days: int = FROM_FIGURES,
    target: float | None = None,
    amber_from: float = FROM_FIGURES,
) -> MetricResult:
    """Learners with at least one endorsement in the `window_days` days to `as_of` ÷ learners
    with an enrolment not withdrawn by then. No target: shown, not judged."""
    window = int(_from_figures(window_days, "peer-recognition-window-days"))
    amber_from = _from_figures(amber_from, "rag-amber-from")
    how = HOW[PEER_RECOGNITION].format(window_days=window, as_of=as_of.isoformat())
    learners = set(_enrolled(enrolments, as_of)["learner"])
    endorsements = _columns(endorsements, ["endorsee", "created_on"])
    recent = endorsements[_window(endorsements["created_on"], as_of, window)]
    endorsed = learners & set(recent["endorsee"])
    detail = {"endorsed": len(endorsed), "learners": len(learners), "window_days": window}
    if not learners:
        reason = _group_reason(enrolments, as_of)
        return _not_computable(PEER_RECOGNITION, target, amber_from, how, detail, reason)
    return _result(
        PEER_RECOGNITION,
        len(endorsed) / len(learners),
        target=target,
        amber_from=amber_from,
        how=how,
        detail=detail,
        basis=len(learners),
    )


def continuous_development(
    enrolments: pd.DataFrame,
    promotions: pd.DataFrame,
    activity: pd.DataFrame,
    as_of: date,
    *,
    past_after_days: int = FROM_FIGURES,
    window_days: int = FROM_FIGURES,
    target: float | None = None,
    amber_from: float = FROM_FIGURES,
) -> MetricResult:
    """Learners past their programme with learning activity in the `window_days` days to
    `as_of` ÷ learners past their programme. Past the programme: an enrolment (not withdrawn)
    promoted into Innovation Leadership or beyond by `as_of`, or started more than
    `past_after_days` (the end of Expert Mastery, day 90) days before it."""
    past_after = int(_from_figures(past_after_days, "stage-expert-end-day"))
    window = int(_from_figures(window_days, "active-within-days"))
    amber_from = _from_figures(amber_from, "rag-amber-from")
    how = HOW[CONTINUOUS_DEVELOPMENT].format(
        past_after_days=past_after, window_days=window, as_of=as_of.isoformat()
    )
    enrolled = _enrolled(enrolments, as_of)
    promotions = _columns(promotions, ["enrolment", "to_stage", "promoted_on"])
    reached = promotions[
        promotions["to_stage"].isin(PAST_PROGRAMME_STAGES)
        & (_days(promotions["promoted_on"]) <= _day(as_of))
    ]
    age = (_day(as_of) - enrolled["start_day"]).dt.days
    past = enrolled[enrolled["enrolment"].isin(set(reached["enrolment"])) | (age > past_after)]
    learners = set(past["learner"])
    activity = _columns(activity, ["learner", "occurred_on"])
    active = learners & set(
        activity.loc[_window(activity["occurred_on"], as_of, window), "learner"]
    )
    detail = {
        "active": len(active),
        "past_programme": len(learners),
        "window_days": window,
        "past_after_days": past_after,
    }
    if not learners:
        reason = (
            _group_reason(enrolments, as_of)
            if enrolled.empty
            else f"no learner in this group is past their programme on {as_of.isoformat()}"
        )
        return _not_computable(CONTINUOUS_DEVELOPMENT, target, amber_from, how, detail, reason)
    return _result(
        CONTINUOUS_DEVELOPMENT,
        len(active) / len(learners),
        target=target,
        amber_from=amber_from,
        how=how,
        detail=detail,
        basis=len(learners),
    )


# The registry ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricDefinition:
    """One metric: its id, name, unit, target (a key of figures.yaml, or None), the sentence
    saying how it is computed, the pure function, the frames that function takes, and what
    its basis counts (one, many)."""

    id: str
    name: str
    unit: str
    target_key: str | None
    how_computed: str
    function: Callable[..., MetricResult]
    frames: tuple[str, ...]
    basis_unit: tuple[str, str]
    #: Built from records kept per team (campaign log, process inventory, checkpoints).
    per_team: bool = False

    def compute(
        self, frames: Mapping[str, pd.DataFrame], as_of: date, **options: Any
    ) -> MetricResult:
        """Run the function on the frames it needs (`options`: its figure keywords)."""
        return self.function(**{name: frames[name] for name in self.frames}, as_of=as_of, **options)


def _define(
    metric: str,
    name: str,
    function: Callable[..., MetricResult],
    frames: tuple[str, ...],
    *,
    has_target: bool = True,
    per_team: bool = False,
) -> MetricDefinition:
    return MetricDefinition(
        id=metric,
        name=name,
        unit=RATIO,
        target_key=metric if has_target else None,
        how_computed=HOW[metric],
        function=function,
        frames=frames,
        basis_unit=BASIS_UNITS[metric],
        per_team=per_team,
    )


METRICS: dict[str, MetricDefinition] = {
    definition.id: definition
    for definition in (
        _define(
            PROFICIENCY,
            "Proficiency within 60 days",
            proficiency_within_60_days,
            ("enrolments", "promotions", "holds"),
        ),
        _define(
            FEATURE_ADOPTION,
            "Feature adoption rate",
            feature_adoption,
            ("enrolments", "programme_features", "usage"),
        ),
        _define(
            PRODUCTIVITY,
            "Productivity improvement",
            productivity_improvement,
            ("campaigns", "baselines", "teams"),
            per_team=True,
        ),
        _define(
            MANUAL_PROCESSES,
            "Manual-process reduction",
            manual_process_reduction,
            ("process_steps", "process_changes", "baselines", "teams"),
            per_team=True,
        ),
        _define(
            ROI,
            "ROI improvement",
            roi_improvement,
            ("campaigns", "baselines", "teams"),
            per_team=True,
        ),
        _define(
            CAMPAIGN_PERFORMANCE,
            "Campaign performance improvement",
            campaign_performance_improvement,
            ("campaigns", "baselines", "teams"),
            per_team=True,
        ),
        _define(
            CROSS_DOMAIN,
            "Cross-domain integration",
            cross_domain_integration,
            ("checkpoints", "integration_domains"),
            per_team=True,
        ),
        _define(
            DECISION_QUALITY,
            "Decision quality",
            decision_quality_improvement,
            ("enrolments", "scenario_items"),
        ),
        _define(
            PEER_RECOGNITION,
            "Peer recognition",
            peer_recognition,
            ("enrolments", "endorsements"),
            has_target=False,
        ),
        _define(
            CONTINUOUS_DEVELOPMENT,
            "Continuous development",
            continuous_development,
            ("enrolments", "promotions", "activity"),
            has_target=False,
        ),
    )
}
