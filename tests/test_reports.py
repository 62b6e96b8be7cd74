"""The leadership adoption-success report: every figure against a small organisation worked by
hand, the acceptance checklist and the written summary, the breakdowns read from snapshots (or
computed live without one), the PDF's text, who may read it, the background job and its
progress page, and `flask reports build`."""

from __future__ import annotations

import re
import subprocess
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, insert, select

from lms.accounts.models import User
from lms.adoption.models import UsageEvent
from lms.adoption.records import CampaignLog, Endorsement, MetricBaseline, MetricSnapshot
from lms.curricula.models import FrameworkDocument, Stage
from lms.extensions import db
from lms.learning.models import ModuleCompletion
from lms.metrics import definitions as d
from lms.metrics.definitions import MetricResult
from lms.organisation.models import Cohort, Enrolment, OrgUnit
from lms.organisation.operations import organisation
from lms.reports import criteria as c
from lms.reports import jobs, leadership
from lms.reports.leadership import build_report
from lms.reports.models import ReportJob
from lms.reports.summary import change_text, headline, metric_sentence, team_spread_sentence
from lms.reports.trends import ScopeValue, TrendPoint, change_over, thinned, trend_with_today
from lms.stages.engine import organisation_today
from lms.stages.models import StagePromotion
from tests.conftest import login, make_user, submit
from tests.support.adoption import programme_teaching_features
from tests.support.rq import queued_app

STAGES = [
    ("initial", "Initial Adoption", 0, 30),
    ("proficiency", "Proficiency Development", 30, 60),
    ("expert", "Expert Mastery", 60, 90),
    ("innovation", "Innovation Leadership", 90, None),
    ("partnership", "Strategic Partnership", 90, None),
]
BETA = "Beta & <Co>"  # a name that must stay text in pages, charts and the PDF
LEARNER_NAMES = ("Ada Alpha", "Bo Alpha", "Cy Beta")

FRAMEWORK = {
    "best_practices": [
        {
            "id": "usage",
            "title": "Usage",
            "section": "s",
            "items": [
                {"id": "one", "title": "One", "description": "d"},
                {"id": "two", "title": "Two", "description": "d"},
            ],
        }
    ],
    "procedures": [{"id": "setup", "title": "Setup", "group": "g", "steps": []}],
    "integration_domains": [{"id": "sales", "title": "Sales", "items": []}],
    "acceptance_criteria": [
        {
            "id": "performance",
            "title": "Performance metrics",
            "criteria": [
                {
                    "id": "platform-proficiency",
                    "text": "95% platform proficiency within 60 days",
                    "metric": "proficiency-within-60-days",
                },
                {
                    "id": "team-productivity",
                    "text": "40% improvement in productivity",
                    "metric": "productivity-improvement",
                },
            ],
        },
        {
            "id": "effectiveness",
            "title": "Effectiveness",
            "criteria": [
                {"id": "best-practices-established", "text": "Best practices established"},
                {"id": "training-curricula-implemented", "text": "Curricula implemented"},
            ],
        },
        {
            "id": "value",
            "title": "Business value",
            "criteria": [
                {"id": "increased-marketing-roi", "text": "Increased marketing ROI"},
                {"id": "reduced-adoption-costs", "text": "Reduced adoption costs"},
                {"id": "a-new-criterion", "text": "Something no rule decides"},
            ],
        },
    ],
}


def at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def show(day: date) -> str:
    return day.strftime("%d %b %Y")


def build_organisation() -> dict:
    """Region North with teams Alpha (Ada, Bo) and Beta (Cy), one cohort of all three, 100 days
    into one platform programme that teaches two features.

    Worked by hand for today (T):
    - proficiency within 60 days: Ada promoted on day 40, Bo on day 70, Cy on day 50 → 2 of 3
      = 66.7%, red (below 75% of 95%);
    - feature adoption: Ada used both features, Cy one, Bo none → 3 of 6 pairs = 50%, red;
    - productivity (Alpha only has a baseline): median hours 40 → 20 = 50%, green;
    - ROI (Alpha): (200 − 100) ÷ 100 = 1 at baseline, (300 − 100) ÷ 100 = 2 now → 100%, green;
    - manual processes, campaign performance, cross-domain, decision quality: no data;
    - peer recognition: Ada endorsed → 1 of 3; continuous development: all three are past day
      90 and only Bo was active → 1 of 3.
    """
    today = organisation_today()
    for position, (stage_id, name, start, end) in enumerate(STAGES, start=1):
        db.session.add(
            Stage(
                id=stage_id,
                position=position,
                name=name,
                window_start_day=start,
                window_end_day=end,
                focus=name,
            )
        )
    north = OrgUnit(kind="region", name="North")
    db.session.add(north)
    db.session.flush()
    alpha = OrgUnit(kind="team", name="Alpha", parent_id=north.id)
    beta = OrgUnit(kind="team", name=BETA, parent_id=north.id)
    db.session.add_all([alpha, beta])
    programme, module, features = programme_teaching_features("platform", "platform-track")
    manager = make_user("boss@example.com", ("manager",))
    ada, bo, cy = (
        make_user(f"{name.split()[0].lower()}@example.com", name=name, team=team)
        for name, team in zip(LEARNER_NAMES, (alpha, alpha, beta), strict=True)
    )
    cohort = Cohort(name="Spring", start_date=today - timedelta(days=100), manager_id=manager.id)
    db.session.add(cohort)
    db.session.flush()
    enrolments = [
        Enrolment(
            user_id=learner.id,
            programme_id=programme.id,
            cohort_id=cohort.id,
            start_date=today - timedelta(days=100),
        )
        for learner in (ada, bo, cy)
    ]
    db.session.add_all(enrolments)
    db.session.flush()
    for enrolment, day in zip(enrolments, (40, 70, 50), strict=True):
        db.session.add(
            StagePromotion(
                enrolment_id=enrolment.id,
                from_stage_id="proficiency",
                to_stage_id="expert",
                promoted_at=at(today - timedelta(days=100 - day)),
                on_day=day,
            )
        )
    used = [(ada, features[0]), (ada, features[1]), (cy, features[0])]
    db.session.execute(
        insert(UsageEvent),
        [
            {
                "event_key": f"k{n}",
                "user_id": user.id,
                "feature_id": feature.id,
                "occurred_at": at(today - timedelta(days=3)),
                "count": 1,
                "source": "csv",
            }
            for n, (user, feature) in enumerate(used)
        ],
    )
    for metric in (d.PRODUCTIVITY, d.ROI):
        db.session.add(
            MetricBaseline(
                team_id=alpha.id,
                metric=metric,
                period_start=today - timedelta(days=200),
                period_end=today - timedelta(days=120),
            )
        )
    for campaign, day, hours, revenue in (("Base", 150, 40.0, 200), ("Now", 30, 20.0, 300)):
        db.session.add(
            CampaignLog(
                team_id=alpha.id,
                campaign=campaign,
                launched_on=today - timedelta(days=day),
                hours_spent=hours,
                cost=100,
                attributed_revenue=revenue,
            )
        )
    db.session.add(
        Endorsement(
            endorser_id=cy.id,
            endorsee_id=ada.id,
            note="Thanks",
            created_at=at(today - timedelta(5)),
        )
    )
    db.session.add(
        ModuleCompletion(user_id=bo.id, module_id=module.id, completed_at=at(today - timedelta(2)))
    )
    db.session.add(
        FrameworkDocument(
            slug="adoption-framework",
            title="Adoption Framework",
            version="1.0.0",
            content_hash="h",
            content=FRAMEWORK,
        )
    )
    organisation().name = "Northwind Test"
    db.session.commit()
    return {
        "today": today,
        "north": north.id,
        "alpha": alpha.id,
        "beta": beta.id,
        "cohort": cohort.id,
        "manager": manager.id,
    }


def snapshot(metric: str, kind: str, scope_id: int, day: date, value, status, reason=None):
    return MetricSnapshot(
        metric=metric,
        scope=kind,
        scope_id=scope_id,
        as_of=day,
        value=value,
        status=status,
        reason=reason,
    )


def store_snapshots(world: dict) -> None:
    """Two earlier organisation snapshots (the trend) and yesterday's breakdown, chosen by hand
    so that the report can only have read them from the table."""
    today = world["today"]
    yesterday = today - timedelta(days=1)
    rows = [
        snapshot(d.PROFICIENCY, "organisation", 0, today - timedelta(28), 0.5, d.RED),
        snapshot(d.PROFICIENCY, "organisation", 0, today - timedelta(14), 0.6, d.RED),
        snapshot(d.FEATURE_ADOPTION, "organisation", 0, today - timedelta(14), 0.4, d.RED),
        snapshot(d.PROFICIENCY, "team", world["alpha"], yesterday, 0.5, d.RED),
        snapshot(d.PROFICIENCY, "team", world["beta"], yesterday, 1.0, d.GREEN),
        snapshot(d.FEATURE_ADOPTION, "team", world["alpha"], yesterday, 0.75, d.AMBER),
        snapshot(d.FEATURE_ADOPTION, "team", world["beta"], yesterday, 0.5, d.RED),
        snapshot(d.PRODUCTIVITY, "team", world["alpha"], yesterday, 0.5, d.GREEN),
        snapshot(
            d.PRODUCTIVITY,
            "team",
            world["beta"],
            yesterday,
            None,
            d.NOT_COMPUTABLE,
            "no baseline period is recorded",
        ),
        snapshot(d.PROFICIENCY, "region", world["north"], yesterday, 2 / 3, d.RED),
        snapshot(d.PROFICIENCY, "cohort", world["cohort"], yesterday, 2 / 3, d.RED),
        snapshot(d.FEATURE_ADOPTION, "cohort", world["cohort"], yesterday, 0.5, d.RED),
        # A cohort deleted since: its row is not shown.
        snapshot(d.PROFICIENCY, "cohort", 999_999, yesterday, 0.1, d.RED),
    ]
    db.session.add_all(rows)
    db.session.commit()


@pytest.fixture
def world(app: Flask, users) -> dict:
    with app.app_context():
        built = build_organisation()
        store_snapshots(built)
        return built


def by_id(report) -> dict:
    return {section.id: section for section in report.metrics}


# The figures ----------------------------------------------------------------------------------


def test_every_metric_of_the_report_against_the_hand_worked_organisation(app: Flask, world) -> None:
    today = world["today"]
    with app.app_context():
        report = build_report(today, charts=False)
    metrics = by_id(report)
    assert list(metrics) == list(d.METRICS)  # every metric of the registry, in its order
    expected = {
        d.PROFICIENCY: ("66.7%", "95%", d.RED),
        d.FEATURE_ADOPTION: ("50%", "95%", d.RED),
        d.PRODUCTIVITY: ("50%", "40%", d.GREEN),
        d.ROI: ("100%", "25%", d.GREEN),
        d.MANUAL_PROCESSES: ("—", "60%", d.NOT_COMPUTABLE),
        d.CAMPAIGN_PERFORMANCE: ("—", "25%", d.NOT_COMPUTABLE),
        d.CROSS_DOMAIN: ("—", "80%", d.NOT_COMPUTABLE),
        d.DECISION_QUALITY: ("—", "30%", d.NOT_COMPUTABLE),
        d.PEER_RECOGNITION: ("33.3%", "None set", d.NO_TARGET),
        d.CONTINUOUS_DEVELOPMENT: ("33.3%", "None set", d.NO_TARGET),
    }
    assert {k: (m.value, m.target, m.result.status) for k, m in metrics.items()} == expected
    assert metrics[d.PROFICIENCY].basis.startswith("2 of 3 enrolments")
    assert metrics[d.FEATURE_ADOPTION].basis.startswith("3 of 6 learner × feature pairs")
    for section in metrics.values():  # every figure says how it was computed, from the registry
        opening = d.HOW[section.id].split("{", 1)[0]
        assert section.result.how_computed.startswith(opening)
        assert today.isoformat() in section.result.how_computed
    assert metrics[d.CROSS_DOMAIN].result.reason == (
        "no integration checkpoints are planned for this group"
    )
    # The trend: the two stored organisation snapshots, then today's live value.
    trend = metrics[d.PROFICIENCY].trend
    assert [(p.day, p.value, p.live) for p in trend] == [
        (today - timedelta(28), 0.5, False),
        (today - timedelta(14), 0.6, False),
        (today, pytest.approx(2 / 3), True),
    ]
    assert [p.day for p in metrics[d.ROI].trend] == [today]
    assert report.trend_since == today - timedelta(28)


def test_breakdowns_come_from_the_latest_snapshot_day(app: Flask, world) -> None:
    today = world["today"]
    with app.app_context():
        report = build_report(today, charts=False)
    breakdown = report.breakdown
    assert (breakdown.source, breakdown.day) == (leadership.SNAPSHOT, today - timedelta(1))
    assert show(today - timedelta(1)) in breakdown.note
    assert [row.scope.name for row in breakdown.teams] == ["Alpha", BETA]
    assert [row.context for row in breakdown.teams] == ["North", "North"]
    assert [row.scope.name for row in breakdown.regions] == ["North"]
    assert [row.scope.name for row in breakdown.cohorts] == ["Spring"]  # not the deleted one
    assert breakdown.cohorts[0].context == show(today - timedelta(100))
    metrics = by_id(report)
    assert metrics[d.PROFICIENCY].teams == [
        ("Alpha", ScopeValue(0.5, d.RED)),
        (BETA, ScopeValue(1.0, d.GREEN)),
    ]
    assert metrics[d.PROFICIENCY].regions == [("North", ScopeValue(2 / 3, d.RED))]
    assert metrics[d.PROFICIENCY].cohorts == {d.RED: 1}
    assert metrics[d.PRODUCTIVITY].teams[1] == (
        BETA,
        ScopeValue(None, d.NOT_COMPUTABLE, "no baseline period is recorded"),
    )
    assert metrics[d.PRODUCTIVITY].per_team and not metrics[d.PROFICIENCY].per_team
    assert [m.id for m in report.cohort_metrics] == [
        d.PROFICIENCY,
        d.FEATURE_ADOPTION,
        d.DECISION_QUALITY,
        d.PEER_RECOGNITION,
        d.CONTINUOUS_DEVELOPMENT,
    ]
    # A report dated before every snapshot has no breakdown day of them: computed live.
    with app.app_context():
        early = build_report(today - timedelta(2), charts=False)
    assert early.breakdown.source == leadership.LIVE


def test_without_a_snapshot_a_small_organisation_is_broken_down_live(
    app: Flask, world, monkeypatch
) -> None:
    today = world["today"]
    with app.app_context():
        db.session.execute(MetricSnapshot.__table__.delete())
        db.session.commit()
        report = build_report(today, charts=False)
        assert (report.breakdown.source, report.breakdown.day) == (leadership.LIVE, today)
        assert "computed for" in report.breakdown.note
        teams = dict(by_id(report)[d.PROFICIENCY].teams)
        # Alpha: Ada (day 40) of Ada and Bo; Beta: Cy (day 50).
        assert teams["Alpha"].value == pytest.approx(0.5)
        assert teams[BETA].value == pytest.approx(1.0)
        assert by_id(report)[d.PROFICIENCY].trend[-1].live
        monkeypatch.setattr(leadership, "LIVE_BREAKDOWN_MAX_SCOPES", 3)  # we have 4 scopes
        large = build_report(today, charts=False)
    assert large.breakdown.source == leadership.NONE
    assert not large.breakdown.teams and large.breakdown.day is None
    assert "flask metrics snapshot" in large.breakdown.note


def test_the_acceptance_checklist_is_decided_by_the_data(app: Flask, world) -> None:
    with app.app_context():
        report = build_report(world["today"], charts=False)
    statuses = {
        criterion.id: (criterion.status, criterion.evidence)
        for group in report.checklist
        for criterion in group.criteria
    }
    assert [g.title for g in report.checklist] == [
        "Performance metrics",
        "Effectiveness",
        "Business value",
    ]
    assert statuses == {
        "platform-proficiency": (
            c.NOT_MET,
            "Proficiency within 60 days is 66.7%, below the 95% target (red).",
        ),
        "team-productivity": (
            c.MET,
            "Productivity improvement is 50%, at or above the 40% target (green).",
        ),
        "best-practices-established": (
            c.MET,
            "The framework documents 2 best practices in 1 group(s).",
        ),
        "training-curricula-implemented": (
            c.PARTLY_MET,
            "1 platform training track(s) are loaded; 2 of 2 platform features are taught by a "
            "module; 0 of 1 modules have a written lesson.",
        ),
        "increased-marketing-roi": (c.MET, "ROI improvement is 100%."),
        "reduced-adoption-costs": (
            c.CANNOT_SAY,
            "The system keeps no record of technology adoption costs.",
        ),
        "a-new-criterion": (c.CANNOT_SAY, "Nothing the system records decides this criterion."),
    }
    rules = {cr.id: cr.how for g in report.checklist for cr in g.criteria}
    assert rules["platform-proficiency"] == (
        "Met when proficiency within 60 days is at or above its target (green)."
    )
    assert all(rules.values())  # every status says how it was decided


def test_the_written_summary_states_only_what_the_figures_say(app: Flask, world) -> None:
    today = world["today"]
    with app.app_context():
        summary = build_report(today, charts=False).summary
    day = today.strftime("%d %b %Y").lstrip("0")
    assert summary.headline == (
        f"On {day}, 2 of the 8 metrics with a target are green (productivity improvement and "
        "ROI improvement), 2 red (proficiency within 60 days and feature adoption rate); 4 "
        "cannot be computed (manual-process reduction, campaign performance improvement, "
        "cross-domain integration and decision quality)."
    )
    first = (today - timedelta(28)).strftime("%d %b %Y").lstrip("0")
    since = (today - timedelta(14)).strftime("%d %b %Y").lstrip("0")
    # Today's proficiency rests on 3 enrolments, fewer than the minimum basis (5): not compared
    # with the snapshots of 50% and 60%.
    assert summary.metrics[0] == (
        "Proficiency within 60 days is 66.7%, below the 95% target (red). It rests on 3 "
        "enrolments, too few to compare with earlier figures."
    )
    assert summary.metrics[1] == (
        "Feature adoption rate is 50%, below the 95% target (red). Since "
        f"{since} it has risen from 40% (+10.0 percentage points)."
    )
    assert first not in " ".join(summary.metrics)
    assert summary.metrics[2] == (
        "Productivity improvement is 50%, at or above the 40% target (green)."
    )
    assert summary.metrics[7] == (
        "Decision quality cannot be computed: no pre- and post-assessment results yet."
    )
    assert summary.metrics[8] == "Peer recognition is 33.3% (no target is set)."
    yesterday = (today - timedelta(1)).strftime("%d %b %Y").lstrip("0")
    assert summary.others == (
        f"Across teams on {yesterday}, proficiency within 60 days differs most: from 50% "
        f"(Alpha) to 100% ({BETA}).",
        "Of the framework's 7 acceptance criteria, 3 met, 1 partly met, 1 not met, and for 2 "
        "the data cannot say.",
    )
    words = " ".join([summary.headline, *summary.metrics, *summary.others]).lower()
    for causal in ("because", "due to", "thanks to", "caused", "driven by", "as a result"):
        assert causal not in words


# Pure parts ------------------------------------------------------------------------------------


def result(metric: str, value: float | None, status: str, target=0.4, reason=None):
    return MetricResult(metric, value, "ratio", target, status, reason, "how", {})


def test_criteria_rules_on_hand_made_evidence() -> None:
    today = date(2026, 6, 30)
    evidence = c.Evidence(
        as_of=today,
        minimum_basis=5,
        metrics={
            d.PRODUCTIVITY: result(d.PRODUCTIVITY, 0.1, d.RED),
            d.MANUAL_PROCESSES: result(d.MANUAL_PROCESSES, None, d.NOT_COMPUTABLE, reason="x"),
            d.DECISION_QUALITY: result(d.DECISION_QUALITY, -0.05, d.RED),
        },
        trends={
            d.CROSS_DOMAIN: [
                TrendPoint(date(2026, 6, 1), 0.2, d.RED),
                TrendPoint(today, 0.2, d.RED, live=True),
            ]
        },
        procedures=4,
        teams=3,
        teams_with_inventory=3,
        teams_with_process_baseline=2,
        integration_domains=("sales", "finance"),
        teams_with_checkpoints_in_every_domain=0,
        targets_set=frozenset(m for m in d.METRICS if m != d.ROI),
    )

    def decide(criterion_id: str) -> tuple[str, str]:
        return c.RULES[criterion_id].decide(evidence)

    assert decide("workflow-procedures-documented")[0] == c.PARTLY_MET
    assert decide("cross-domain-training-established")[0] == c.NOT_MET
    status, facts = decide("success-criteria-defined")
    assert status == c.PARTLY_MET and facts.endswith("Missing: ROI improvement.")
    # Productivity above zero, manual processes unknown: partly met.
    assert decide("improved-operational-efficiency")[0] == c.PARTLY_MET
    assert decide("enhanced-team-capabilities") == (c.NOT_MET, "Decision quality is -5%.")
    status, facts = decide("strengthened-collaboration")  # unchanged is not strengthened
    assert status == c.NOT_MET and "was 20% on 01 Jun 2026 and is 20%" in facts
    # A rise from a figure on 2 checkpoints is no rise to speak of.
    thin = replace(
        evidence,
        trends={
            d.CROSS_DOMAIN: [
                TrendPoint(date(2026, 6, 1), 0.0, d.RED, basis=2),
                TrendPoint(today, 0.6, d.AMBER, live=True, basis=20),
            ]
        },
    )
    assert c.RULES["strengthened-collaboration"].decide(thin) == (
        c.CANNOT_SAY,
        "Cross-domain integration cannot be compared over time: today's figure, or every "
        "earlier one, rests on fewer than 5 checkpoints.",
    )
    assert decide("increased-marketing-roi")[0] == c.CANNOT_SAY  # no ROI result at all
    unknown = c.metric_rule("no-such-metric").decide(evidence)
    assert unknown == (c.CANNOT_SAY, "no-such-metric is not a metric the system computes.")


def test_trends_are_stored_points_then_today_thinned_to_weeks_when_long() -> None:
    today = date(2026, 6, 30)
    stored = [TrendPoint(today - timedelta(n), n / 100, d.RED) for n in range(0, 200)]
    live = TrendPoint(today, 0.9, d.AMBER, live=True)
    points = trend_with_today(stored, live, since=today - timedelta(20))
    assert points[-1] is live and len(points) == 21  # 20 stored days, today replaced
    weekly = thinned(trend_with_today(stored, live))
    assert weekly[-1] is live and len(weekly) <= 30
    assert all(a.day < b.day for a, b in zip(weekly, weekly[1:], strict=False))
    assert thinned(points) == points  # short series are left alone
    change = change_over([TrendPoint(today, None, d.NOT_COMPUTABLE), *points[-2:]], minimum_basis=5)
    assert change is not None and change.direction == "up"
    assert change_over([live], minimum_basis=5) is None


def test_headline_and_sentences_for_edge_cases() -> None:
    today = date(2026, 6, 30)
    reds = {
        d.PROFICIENCY: result(d.PROFICIENCY, 0.1, d.RED, 0.95),
        d.ROI: result(d.ROI, 0.2, d.AMBER, 0.25),
        d.PEER_RECOGNITION: result(d.PEER_RECOGNITION, 0.3, d.NO_TARGET, None),
    }
    assert headline(reds, today) == (
        "On 30 Jun 2026, none of the 2 metrics with a target is green; 1 is amber (ROI "
        "improvement) and 1 red (proficiency within 60 days)."
    )
    assert headline({}, today) == "On 30 Jun 2026, no metric has a target."
    flat = [TrendPoint(date(2026, 6, 1), 0.1, d.RED), TrendPoint(today, 0.1, d.RED)]
    assert metric_sentence(reds[d.PROFICIENCY], flat, minimum_basis=5).endswith(
        "It is unchanged since 1 Jun 2026."
    )


# Figures resting on too few ----------------------------------------------------------------------

DEC = [date(2026, 11, 22), date(2026, 11, 29), date(2026, 12, 6)]


def test_a_change_starts_from_the_first_figure_resting_on_enough() -> None:
    """Decision quality was 500% on one learner's pre/post pair: not where a change starts."""
    quality = result(d.DECISION_QUALITY, 0.577, d.GREEN, 0.3)
    trend = [
        TrendPoint(DEC[0], 5.0, d.GREEN, basis=1),
        TrendPoint(DEC[1], 0.6, d.GREEN, basis=5),
        TrendPoint(DEC[2], 0.577, d.GREEN, live=True, basis=10),
    ]
    change = change_over(trend, minimum_basis=5)
    assert change is not None and (change.first, change.last) == (trend[1], trend[2])
    assert metric_sentence(quality, trend, minimum_basis=5) == (
        "Decision quality is 57.7%, at or above the 30% target (green). Since 29 Nov 2026 it has "
        "fallen from 60% (-2.3 percentage points)."
    )
    assert change_text(d.DECISION_QUALITY, trend, minimum_basis=5) == (
        "-2.3 points since 29 Nov 2026"
    )
    # What the minimum prevents: with none, the fluke is the starting point.
    assert "from 500% (-442.3 percentage points)" in metric_sentence(
        quality, trend, minimum_basis=1
    )
    # Every earlier figure rests on too few: nothing is compared, and the sentence says why.
    thin_past = [trend[0], trend[2]]
    assert change_over(thin_past, minimum_basis=5) is None
    assert metric_sentence(quality, thin_past, minimum_basis=5).endswith(
        "(green). The earlier figures rest on fewer than 5 learners each, too few to compare with."
    )
    assert change_text(d.DECISION_QUALITY, thin_past, minimum_basis=5) == (
        "Too few to compare: earlier figures rest on fewer than 5 learners each"
    )
    # Today's own figure rests on too few.
    thin_today = [trend[1], TrendPoint(DEC[2], 0.577, d.GREEN, live=True, basis=3)]
    assert metric_sentence(quality, thin_today, minimum_basis=5).endswith(
        "(green). It rests on 3 learners, too few to compare with earlier figures."
    )
    # A snapshot stored before the basis was recorded counts as resting on enough.
    unknown = [TrendPoint(DEC[0], 5.0, d.GREEN), trend[2]]
    change = change_over(unknown, minimum_basis=5)
    assert change is not None and change.first == unknown[0]
    # Nothing earlier at all: no change, and no excuse either.
    assert change_text(d.DECISION_QUALITY, trend[2:], minimum_basis=5) is None
    assert metric_sentence(quality, trend[2:], minimum_basis=5).endswith("(green).")


def test_the_spread_across_teams_leaves_out_teams_resting_on_too_few() -> None:
    day = DEC[2]
    quality = [
        ("Field Marketing", ScopeValue(0.077, d.RED, basis=13)),
        ("Demand Generation", ScopeValue(1.4, d.GREEN, basis=2)),
        ("Marketing Operations", ScopeValue(0.875, d.GREEN, basis=6)),
    ]
    integration = [
        ("Field Marketing", ScopeValue(0.35, d.RED, basis=20)),
        ("Demand Generation", ScopeValue(0.85, d.GREEN)),  # basis not recorded: counts
    ]
    by_team = {d.DECISION_QUALITY: quality, d.CROSS_DOMAIN: integration}
    assert team_spread_sentence(by_team, day, minimum_basis=5) == (
        "Across teams on 6 Dec 2026, decision quality differs most: from 7.7% (Field "
        "Marketing) to 87.5% (Marketing Operations)."
    )
    assert "to 140% (Demand Generation)" in team_spread_sentence(by_team, day, minimum_basis=1)
    # With one team left resting on enough, decision quality has no spread to speak of.
    quality[2] = ("Marketing Operations", ScopeValue(0.875, d.GREEN, basis=4))
    assert team_spread_sentence(by_team, day, minimum_basis=5) == (
        "Across teams on 6 Dec 2026, cross-domain integration differs most: from 35% (Field "
        "Marketing) to 85% (Demand Generation)."
    )


def store_a_fluke(world: dict) -> None:
    """Feature adoption (6 learner × feature pairs today) at 500% on one pair four weeks ago,
    45% on 6 pairs three weeks ago, then the world's 40% without a basis two weeks ago; and
    decision quality by team, Alpha's resting on 2 learners."""
    today = world["today"]
    yesterday = today - timedelta(1)
    fluke = snapshot(d.FEATURE_ADOPTION, "organisation", 0, today - timedelta(28), 5.0, d.GREEN)
    fluke.basis = 1
    solid = snapshot(d.FEATURE_ADOPTION, "organisation", 0, today - timedelta(21), 0.45, d.RED)
    solid.basis = 6
    alpha = snapshot(d.DECISION_QUALITY, "team", world["alpha"], yesterday, 1.4, d.GREEN)
    alpha.basis = 2
    beta = snapshot(d.DECISION_QUALITY, "team", world["beta"], yesterday, 0.077, d.RED)
    beta.basis = 13
    db.session.add_all([fluke, solid, alpha, beta])
    db.session.commit()


def test_a_figure_resting_on_too_few_is_shown_but_neither_compared_nor_drawn(
    app: Flask, world
) -> None:
    today = world["today"]
    with app.app_context():
        store_a_fluke(world)
        report = build_report(today)
    assert report.minimum_basis == 5  # figures.yaml
    adoption = by_id(report)[d.FEATURE_ADOPTION]
    assert [(p.day, p.value, p.basis) for p in adoption.trend] == [
        (today - timedelta(28), 5.0, 1),
        (today - timedelta(21), 0.45, 6),
        (today - timedelta(14), 0.4, None),
        (today, 0.5, 6),
    ]
    since = (today - timedelta(21)).strftime("%d %b %Y")
    assert adoption.sentence.endswith(
        f"Since {since.lstrip('0')} it has risen from 45% (+5.0 percentage points)."
    )
    assert adoption.sentence in report.summary.metrics
    assert adoption.change == f"+5.0 points since {since}"
    # The chart leaves the 500% out of its line and its scale, and says so.
    chart = adoption.trend_chart
    drawn = chart.spec.get("data") or chart.spec["layer"][0]["data"]
    assert [row["y"] for row in drawn["values"]] == [0.45, 0.4, 0.5]
    assert chart.spec["layer"][0]["encoding"]["y"]["scale"]["domain"] == [0.0, 1.0]
    assert "3 points from" in chart.alt
    assert chart.alt.endswith(
        "Not drawn, in the table only: 1 point resting on fewer than 5 learner × feature pairs."
    )
    # ...and its table keeps it, marked; the others say what they rest on.
    assert chart.table.rows == (
        (show(today - timedelta(28)), "500%", "n=1, too few to compare"),
        (show(today - timedelta(21)), "45%", "6 learner × feature pairs"),
        (show(today - timedelta(14)), "40%", "not recorded"),
        (show(today), "50%", "6 learner × feature pairs"),
    )
    # Alpha's 140% on 2 learners is not the top of a spread; proficiency's teams (basis not
    # recorded) are.
    assert report.summary.others[0].startswith(
        f"Across teams on {show(today - timedelta(1)).lstrip('0')}, proficiency within 60 days "
        "differs most"
    )
    quality_chart = by_id(report)[d.DECISION_QUALITY].team_chart
    assert [row[-1] for row in quality_chart.table.rows] == [
        "n=2, too few to compare",
        "13 learners",
    ]
    assert "Not drawn, in the table only: 1 team resting on fewer than 5 learners" in (
        quality_chart.alt
    )


def test_the_web_page_and_the_paper_keep_the_figure_resting_on_too_few(
    app: Flask, client, world, tmp_path: Path
) -> None:
    with app.app_context():
        store_a_fluke(world)
    login(client, "leader@example.com")
    text = page_text(client.get("/reports/leadership"))
    table = text.split("Data table: Feature adoption rate", 1)[1].split("</table>", 1)[0]
    assert '<th scope="col" class="num">Based on</th>' in table
    assert '500%</td> <td class="num">n=1, too few to compare</td>' in table.replace(
        "</td><td", "</td> <td"
    )
    assert "Too few to compare: this figure rests on 3 enrolments" in text  # the scorecard
    # The team table beside the chart marks Alpha's 140%.
    assert '140% <span class="rag-letter" aria-hidden="true">G</span>' in text
    assert 'n=2<span class="visually-hidden">, too few to compare</span>' in text
    response = submit(client, "/reports/leadership", {}, to="/reports/leadership/pdf")
    paper = pdf_text(response.data, tmp_path)
    appendix = paper.split("Table A1", 1)[1]
    assert "500%" in appendix and "n=1, too few to compare" in appendix
    assert "is not drawn in the chart, and changes are measured from the first figure" in paper
    assert "-442" not in paper and "+5.0 points since" in paper


# Charts in the report --------------------------------------------------------------------------


def test_the_report_charts_have_titles_alt_text_and_tables(app: Flask, world) -> None:
    with app.app_context():
        report = build_report(world["today"])
    metrics = by_id(report)
    trend = metrics[d.PROFICIENCY].trend_chart
    assert trend.title == "Proficiency within 60 days: Northwind Test, over time"
    # Today's 66.7% rests on 3 enrolments: in the table, not in the line (snapshots stored
    # without a basis are drawn).
    assert trend.table.columns == ("Date", "Proficient in 60 days", "Based on")
    assert trend.table.rows[-1] == (show(world["today"]), "66.7%", "n=3, too few to compare")
    assert [row[2] for row in trend.table.rows[:2]] == ["not recorded", "not recorded"]
    assert "2 points" in trend.alt and "target of 95%" in trend.alt
    assert "Not drawn, in the table only: 1 point resting on fewer than 5 enrolments." in trend.alt
    teams = metrics[d.PROFICIENCY].team_chart
    assert teams.table.rows == (
        ("Alpha", "50%", "Below target", "not recorded"),
        (BETA, "100%", "On target", "not recorded"),
    )
    assert "&lt;Co&gt;" in str(teams.svg) and "<Co>" not in str(teams.svg)
    assert metrics[d.ROI].team_chart is None  # no team has an ROI value in the snapshot
    assert str(metrics[d.DECISION_QUALITY].trend_chart.svg) == ""  # nothing to draw


# The web page and its PDF ----------------------------------------------------------------------


def page_text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def test_who_may_read_the_report(app: Flask, client, world) -> None:
    response = client.get("/reports/leadership")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    for email, allowed in (
        ("learner@example.com", False),
        ("manager@example.com", False),  # managers see their cohorts on /metrics instead
        ("boss@example.com", False),
        ("leader@example.com", True),
        ("admin@example.com", True),
    ):
        visitor = app.test_client()
        login(visitor, email)
        status = visitor.get("/reports/leadership").status_code
        assert status == (200 if allowed else 403), email
        if not allowed:  # with a good CSRF token, from a page they may open
            refused = submit(visitor, "/", {}, to="/reports/leadership/pdf")
            assert refused.status_code == 403, email


def test_the_web_report_shows_every_figure_and_nothing_about_a_person(
    app: Flask, client, world
) -> None:
    login(client, "leader@example.com")
    response = client.get("/reports/leadership")
    html = response.get_data(as_text=True)
    text = page_text(response)
    assert "Adoption-success report" in text and "Northwind Test" in text
    for metric in d.METRICS.values():
        assert metric.name in text
    assert "66.7%" in text and "100%" in text and "33.3%" in text
    assert "How computed." in text and "<svg" in html and "Data table:" in text
    assert "Met" in text and "Cannot say from the data" in text
    yesterday = show(world["today"] - timedelta(1))
    assert f"from the metric snapshot of {yesterday}" in text
    assert "Beta &amp; &lt;Co&gt;" in html and "<Co>" not in html  # escaped everywhere
    # Aggregates only: no learner's name or address.
    for name in (*LEARNER_NAMES, "ada@example.com"):
        assert name not in text
    # Nothing the Content-Security-Policy would refuse.
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert " style=" not in html and "<style" not in html
    # The navigation and the leader's home lead to it.
    assert 'href="/reports/leadership" aria-current="page"' in html
    assert "/reports/leadership" in client.get("/").get_data(as_text=True)


def pdf_text(content: bytes, tmp_path: Path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(content)
    output = subprocess.run(
        ["pdftotext", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    return re.sub(r"\s+", " ", output)  # words wrapped in a table cell read as one phrase


def test_a_small_organisation_downloads_its_pdf_at_once(
    app: Flask, client, world, tmp_path: Path
) -> None:
    login(client, "leader@example.com")
    response = submit(client, "/reports/leadership", {}, to="/reports/leadership/pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    today = world["today"]
    disposition = response.headers["Content-Disposition"]
    assert disposition == (f"attachment; filename=adoption-success-report-{today.isoformat()}.pdf")
    assert "no-store" in response.headers["Cache-Control"]
    assert response.data.startswith(b"%PDF")
    text = pdf_text(response.data, tmp_path)
    # Cover, contents, page numbers.
    assert "Adoption-success report" in text and "Northwind Test" in text
    assert "Contents" in text and "Executive summary" in text and "Acceptance criteria" in text
    pages = int(re.search(r"Page 2 of (\d+)", text).group(1))
    assert pages >= 10 and f"Page {pages} of {pages}" in text
    assert f"Metric snapshot of {show(today - timedelta(1))}" in text
    # The figures.
    for figure in ("66.7%", "95%", "50%", "40%", "100%", "25%", "33.3%", "+10.0"):
        assert figure in text, figure
    for metric in d.METRICS.values():
        assert metric.name in text
    assert "Alpha" in text and BETA in text and "Spring" in text and "North" in text
    assert "Cannot say from the data" in text and "Partly met" in text
    assert "How computed." in text and "Table A1" in text
    for name in LEARNER_NAMES:
        assert name not in text


def test_a_large_organisation_builds_its_pdf_in_the_background(
    app: Flask, client, world, monkeypatch
) -> None:
    monkeypatch.setitem(app.config, "LMS_REPORT_BACKGROUND_FROM_ENROLMENTS", 3)
    login(client, "leader@example.com")
    page = client.get("/reports/leadership").get_data(as_text=True)
    assert "built in the background" in page
    response = submit(client, "/reports/leadership", {}, to="/reports/leadership/pdf")
    assert response.status_code == 302
    location = response.headers["Location"]
    job_id = int(location.rsplit("/", 1)[-1])
    with app.app_context():
        job = db.session.get(ReportJob, job_id)
        assert job.status == "done", job.error
        assert (job.steps_done, job.steps_total, job.step) == (5, 5, "Done")
        assert job.as_of == world["today"] and job.content.startswith(b"%PDF")
    done = page_text(client.get(location))
    assert "The PDF is ready" in done and 'http-equiv="refresh"' not in done
    status = client.get(location, headers={"Accept": "application/json"}).get_json()
    assert status["status"] == "done" and status["fraction"] == 1.0
    download = client.get(f"{location}/download")
    assert download.status_code == 200 and download.data.startswith(b"%PDF")
    assert download.headers["Content-Disposition"].startswith("attachment;")
    # The job and its file are the asker's: the other reader and a learner cannot open them.
    admin = app.test_client()
    login(admin, "admin@example.com")
    assert admin.get(location).status_code == 404
    assert admin.get(f"{location}/download").status_code == 404
    learner = app.test_client()
    login(learner, "learner@example.com")
    assert learner.get(f"{location}/download").status_code == 403


def test_the_progress_page_while_the_report_is_being_built(app: Flask, client, world) -> None:
    with app.app_context():
        leader = db.session.scalar(select(User).where(User.email == "leader@example.com"))
        job = ReportJob(
            kind="leadership",
            as_of=world["today"],
            status="running",
            step="Drawing the charts",
            steps_done=3,
            steps_total=5,
            created_by_id=leader.id,
        )
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    login(client, "leader@example.com")
    text = page_text(client.get(f"/reports/jobs/{job_id}"))
    assert 'http-equiv="refresh"' in text and "Drawing the charts (step 4 of 5)" in text
    assert '<progress max="100" value="60"' in text
    assert client.get(f"/reports/jobs/{job_id}/download").status_code == 404  # not yet
    payload = client.get(f"/reports/jobs/{job_id}", headers={"Accept": "application/json"})
    assert payload.get_json()["fraction"] == 0.6


def test_a_job_that_fails_says_so_and_offers_another_try(
    app: Flask, client, world, monkeypatch
) -> None:
    import lms.reports.paper as paper

    def broken(*args, **kwargs):
        raise RuntimeError("the layout engine ran out of paper")

    monkeypatch.setattr(paper, "pdf_bytes", broken)
    monkeypatch.setitem(app.config, "LMS_REPORT_BACKGROUND_FROM_ENROLMENTS", 0)
    login(client, "leader@example.com")
    response = submit(client, "/reports/leadership", {}, to="/reports/leadership/pdf")
    text = page_text(client.get(response.headers["Location"]))
    assert "could not be built: it stopped at “Laying out the pages” (RuntimeError)" in text
    assert "ran out of paper" not in text  # the exception's words stay in the server's log
    assert "Try again" in text


def test_finished_jobs_are_pruned_after_a_day(app: Flask, world) -> None:
    with app.app_context():
        old = ReportJob(
            kind="leadership",
            as_of=world["today"],
            status="done",
            created_at=datetime.now(UTC) - timedelta(days=2),
        )
        db.session.add(old)
        db.session.commit()
        jobs.create(jobs.LEADERSHIP, world["today"], None)
        db.session.commit()
        assert db.session.scalar(select(func.count(ReportJob.id))) == 1


def test_the_report_job_runs_on_an_rq_worker_when_configured(
    app: Flask, world, database_url: str, monkeypatch
) -> None:
    with queued_app(
        database_url,
        monkeypatch,
        LMS_REPORT_BACKGROUND_FROM_ENROLMENTS=0,
        worker_env={"LMS_CURRICULA_PATH": app.config["LMS_CURRICULA_PATH"]},
    ) as queued:
        client = queued.app.test_client()
        login(client, "leader@example.com")
        response = submit(client, "/reports/leadership", {}, to="/reports/leadership/pdf")
        job_id = int(response.headers["Location"].rsplit("/", 1)[-1])
        with queued.app.app_context():
            assert db.session.get(ReportJob, job_id).status == "queued"  # nothing ran here
        queued.work()
        with queued.app.app_context():
            db.session.expire_all()
            job = db.session.get(ReportJob, job_id)
            assert job.status == "done", job.error
            assert job.size > 1000


# The command line ------------------------------------------------------------------------------


def test_reports_build_writes_the_pdf_and_the_html(app: Flask, world, tmp_path: Path) -> None:
    today = world["today"]
    folder = tmp_path / "reports" / "nightly"
    result = app.test_cli_runner().invoke(
        args=["reports", "build", "--to", str(folder), "--as-of", today.isoformat()]
    )
    assert result.exit_code == 0, result.output
    stem = f"adoption-success-report-{today.isoformat()}"
    pdf, html = folder / f"{stem}.pdf", folder / f"{stem}.html"
    assert str(pdf) in result.output and str(html) in result.output
    text = pdf_text(pdf.read_bytes(), tmp_path)
    assert "66.7%" in text and "Proficiency within 60 days" in text
    page = html.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and "<svg" in page and "66.7%" in page
    assert "@page" in page  # self-contained: its stylesheet travels with it
    assert 'src="http' not in page and 'href="http' not in page


def test_snapshot_backfill_stores_the_days_asked_for(app: Flask, world) -> None:
    today = world["today"]
    runner = app.test_cli_runner()
    args = ["metrics", "snapshot", "--as-of", today.isoformat(), "--days", "15", "--every", "7"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    with app.app_context():
        days = set(db.session.scalars(select(MetricSnapshot.as_of).distinct()))
    wanted = {today, today - timedelta(7), today - timedelta(14)}
    assert wanted <= days
    assert result.output.count("snapshot(s) stored for") == 3
    again = runner.invoke(args=[*args, "--if-missing"])
    assert again.exit_code == 0 and "3 day(s) already have snapshots" in again.output
    assert "stored for" not in again.output


def test_the_report_runs_the_same_number_of_queries_whatever_the_number_of_groups(
    app: Flask, world, count_queries
) -> None:
    def queries() -> int:
        with app.app_context(), count_queries() as statements:
            build_report(world["today"], charts=False)
            db.session.rollback()
        return len(statements)

    before = queries()
    with app.app_context():
        yesterday = world["today"] - timedelta(1)
        for n in range(5):
            cohort = Cohort(
                name=f"Extra {n}", start_date=world["today"], manager_id=world["manager"]
            )
            team = OrgUnit(kind="team", name=f"Team {n}", parent_id=world["north"])
            db.session.add_all([cohort, team])
            db.session.flush()
            db.session.add_all(
                [
                    snapshot(d.PROFICIENCY, "cohort", cohort.id, yesterday, 0.5, d.RED),
                    snapshot(d.PROFICIENCY, "team", team.id, yesterday, 0.5, d.RED),
                ]
            )
        db.session.commit()
    assert queries() == before
