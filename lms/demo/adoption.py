"""Demo platform use and business records: three team profiles (on target, close, behind) so
the adoption figures show green, amber and red, each for a visible reason.

- Usage: each learner uses the features their programmes teach with a probability set by their
  team's profile, on a few days in the last eight weeks; a few use features nobody taught them.
- Records: the process inventory (steps automated since the programme began), campaigns in a
  baseline quarter before the programme and in the current quarter, integration checkpoints,
  baselines, and endorsements between colleagues.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import insert, select

from lms.accounts.models import User
from lms.adoption.models import Feature, HeldUsage, Platform, UsageEvent, feature_modules
from lms.adoption.records import (
    CampaignLog,
    Endorsement,
    IntegrationCheckpoint,
    MetricBaseline,
    ProcessStep,
    ProcessStepChange,
)
from lms.curricula.models import FrameworkDocument, Module
from lms.extensions import db
from lms.organisation.models import Enrolment, OrgUnit

#: Profiles by team position: chance to use a taught feature; steps automated of 21; hours per
#: campaign now (baseline 40); ROI now (baseline 1.0); KPI now (baseline 2.0%); checkpoints
#: achieved of 20.
PROFILES = [
    {"use": 0.97, "automated": 14, "hours": 23.0, "roi": 1.30, "kpi": 2.6, "achieved": 17},
    {"use": 0.80, "automated": 11, "hours": 27.5, "roi": 1.21, "kpi": 2.45, "achieved": 13},
    {"use": 0.45, "automated": 5, "hours": 37.0, "roi": 0.95, "kpi": 2.1, "achieved": 7},
]
BASELINE_METRICS = [
    "productivity-improvement",
    "manual-process-reduction",
    "roi-improvement",
    "campaign-performance-improvement",
]
CAMPAIGNS = [
    "Spring webinar series",
    "Product launch nurture",
    "Partner co-marketing",
    "Win-back email",
    "Trade show follow-up",
    "Account-based push",
    "Seasonal offer",
    "Customer advocacy drive",
    "Analyst report promotion",
    "Onboarding journey",
]


def _at(day: date, rng: random.Random) -> datetime:
    return datetime.combine(day, time(rng.randint(8, 18), rng.randint(0, 59)), tzinfo=UTC)


def simulate_adoption(today: date, rng: random.Random) -> None:
    teams = list(
        db.session.scalars(select(OrgUnit).where(OrgUnit.kind == "team").order_by(OrgUnit.id))
    )
    profile_of = {team.id: PROFILES[index % len(PROFILES)] for index, team in enumerate(teams)}
    _usage(today, rng, profile_of)
    _records(today, rng, teams, profile_of)


def _usage(today: date, rng: random.Random, profile_of: dict[int, dict]) -> None:
    taught: dict[int, set[int]] = {}
    for feature_id, programme_id in db.session.execute(
        select(feature_modules.c.feature_id, Module.programme_id).join(
            Module, Module.id == feature_modules.c.module_id
        )
    ):
        taught.setdefault(programme_id, set()).add(feature_id)
    all_features = list(db.session.scalars(select(Feature.id)))
    learners: dict[int, tuple[int | None, set[int], date]] = {}
    for user_id, team_id, programme_id, start in db.session.execute(
        select(Enrolment.user_id, User.team_id, Enrolment.programme_id, Enrolment.start_date)
        .join(User, User.id == Enrolment.user_id)
        .where(Enrolment.status == "active")
    ):
        team, features, first = learners.get(user_id, (team_id, set(), start))
        learners[user_id] = (team, features | taught.get(programme_id, set()), min(first, start))
    rows = []
    for user_id, (team_id, features, start) in sorted(learners.items()):
        chance = profile_of.get(team_id, PROFILES[1])["use"]
        since = max(start, today - timedelta(days=56))
        span = max(1, (today - since).days)
        used = [f for f in sorted(features) if rng.random() < chance]
        if all_features and rng.random() < 0.15:  # exploring beyond the programme
            used.append(rng.choice(all_features))
        for feature_id in set(used):
            for day_offset in sorted({rng.randrange(span) for _ in range(rng.randint(1, 5))}):
                day = since + timedelta(days=day_offset)
                rows.append(
                    {
                        "event_key": f"demo:{user_id}:{feature_id}:{day.isoformat()}",
                        "user_id": user_id,
                        "feature_id": feature_id,
                        "occurred_at": _at(day, rng),
                        "count": rng.randint(1, 6),
                        "source": "csv",
                        "source_ref": "demo-platform-export.csv",
                    }
                )
    for start_at in range(0, len(rows), 20000):
        db.session.execute(insert(UsageEvent), rows[start_at : start_at + 20000])
    platform = db.session.scalar(select(Platform).where(Platform.slug == "marketing-automation"))
    if platform is not None and learners:
        someone = min(learners)
        db.session.execute(
            insert(HeldUsage),
            [
                {
                    "event_key": f"demo:held:{n}",
                    "platform_id": platform.id,
                    "feature_name": "journey canvas",
                    "user_id": someone,
                    "occurred_at": _at(today - timedelta(days=n + 1), rng),
                    "count": 1,
                    "source": "csv",
                    "source_ref": "demo-platform-export.csv",
                }
                for n in range(3)
            ],
        )


def _records(
    today: date, rng: random.Random, teams: list[OrgUnit], profile_of: dict[int, dict]
) -> None:
    framework = db.session.scalar(select(FrameworkDocument))
    if framework is None:
        return
    content = framework.content
    programme_start = today - timedelta(days=80)
    baseline_start, baseline_end = today - timedelta(days=200), today - timedelta(days=110)
    for team in teams:
        profile = profile_of[team.id]
        steps = []
        for procedure in content["procedures"]:
            for step in procedure["steps"]:
                row = ProcessStep(
                    team_id=team.id,
                    procedure=procedure["id"],
                    step_number=step["number"],
                    title=step["title"],
                )
                steps.append(row)
        db.session.add_all(steps)
        db.session.flush()
        for step in rng.sample(steps, min(profile["automated"], len(steps))):
            db.session.add(
                ProcessStepChange(
                    step_id=step.id,
                    automated=True,
                    changed_on=programme_start + timedelta(days=rng.randint(5, 75)),
                    note="Automated in the marketing automation platform",
                )
            )
        for metric in BASELINE_METRICS:
            db.session.add(
                MetricBaseline(
                    team_id=team.id,
                    metric=metric,
                    period_start=baseline_start,
                    period_end=baseline_end,
                    note="The quarter before the programme",
                )
            )
        for period_start, hours, roi, kpi in (
            (baseline_start, 40.0, 1.0, 2.0),
            (today - timedelta(days=85), profile["hours"], profile["roi"], profile["kpi"]),
        ):
            for index, name in enumerate(rng.sample(CAMPAIGNS, 6)):
                cost = round(rng.uniform(8000, 20000), 2)
                spread = rng.uniform(0.9, 1.1)
                db.session.add(
                    CampaignLog(
                        team_id=team.id,
                        campaign=name,
                        launched_on=period_start + timedelta(days=5 + index * 13),
                        hours_spent=round(hours * spread, 1),
                        cost=cost,
                        attributed_revenue=round(cost * (1 + roi * rng.uniform(0.95, 1.05)), 2),
                        kpi_name="conversion rate %",
                        kpi_value=round(kpi * rng.uniform(0.95, 1.05), 2),
                    )
                )
        items = [
            (domain["id"], item["id"], item["title"])
            for domain in content["integration_domains"]
            for item in domain["items"]
        ]
        achieved = set(rng.sample(range(len(items)), min(profile["achieved"], len(items))))
        for index, (domain, item, title) in enumerate(items):
            done = index in achieved
            db.session.add(
                IntegrationCheckpoint(
                    team_id=team.id,
                    domain=domain,
                    item=item,
                    title=title,
                    status="achieved" if done else "planned",
                    achieved_on=programme_start + timedelta(days=rng.randint(10, 75))
                    if done
                    else None,
                    evidence="Reviewed with the domain lead; see the integration log."
                    if done
                    else None,
                )
            )
    people = list(db.session.scalars(select(User.id).where(User.active.is_(True))))
    endorsements = []
    for endorsee in people:
        if rng.random() < 0.3:
            endorser = rng.choice(people)
            if endorser != endorsee:
                endorsements.append(
                    {
                        "endorser_id": endorser,
                        "endorsee_id": endorsee,
                        "note": "Helped the team set up its first automated nurture workflow.",
                        "created_at": _at(today - timedelta(days=rng.randint(1, 80)), rng),
                    }
                )
    if endorsements:
        db.session.execute(insert(Endorsement), endorsements)
    db.session.flush()
