"""Feature utilisation: the pure functions of `lms.adoption.utilisation` against frames computed
by hand (the arithmetic is in the comments), and the /utilisation pages: their figures for a
small cohort, the learners behind each figure, a fixed number of queries, and who may open
what."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, time, timedelta

import pandas as pd
import pytest
from flask import Flask
from sqlalchemy import select

from lms.accounts.models import User
from lms.adoption import utilisation as u
from lms.adoption.models import Feature, UsageEvent
from lms.curricula.models import Programme
from lms.extensions import db
from lms.metrics.definitions import feature_adoption_rate
from lms.organisation.models import Cohort, Enrolment
from lms.organisation.operations import ensure_unit
from lms.stages.engine import organisation_today
from tests.conftest import login, make_user, submit

#: The shared rate reads its target from figures.yaml unless told: pure tests tell it.
RATE = {"target": 0.95, "amber_from": 0.75}
AS_OF = date(2026, 3, 31)


def frame(**columns) -> pd.DataFrame:
    return pd.DataFrame(columns)


def enrolments(*rows) -> pd.DataFrame:
    """(learner, programme, start_date, withdrawn_on) rows."""
    return pd.DataFrame(
        [
            {
                "enrolment": number,
                "learner": learner,
                "programme": programme,
                "cohort": 1,
                "start_date": start,
                "withdrawn_on": withdrawn,
            }
            for number, (learner, programme, start, withdrawn) in enumerate(rows, start=1)
        ]
    )


def teaches(programme: int, *features: int) -> pd.DataFrame:
    return pd.DataFrame(
        {"programme": programme, "feature": list(features), "retired_on": [None] * len(features)}
    )


def catalogue(*features: int) -> pd.DataFrame:
    return pd.DataFrame({"feature": list(features), "retired_on": [None] * len(features)})


def uses(*rows) -> pd.DataFrame:
    """(learner, feature, day, count) rows."""
    return pd.DataFrame(
        [
            {"learner": learner, "feature": feature, "occurred_at": pd.Timestamp(day), "count": n}
            for learner, feature, day, n in rows
        ],
        columns=["learner", "feature", "occurred_at", "count"],
    )


START = date(2026, 1, 5)


# One power user cannot carry a team -------------------------------------------------------------


def test_one_power_user_cannot_carry_a_team() -> None:
    # Four learners in programme 10, which teaches features 1, 2, 3: 4 × 3 = 12 pairs.
    # Learner 1 uses every feature 100 times; nobody else uses anything.
    # Pairs in use: 3 (all learner 1's) ÷ 12 = 25%, although 100% of the uses are theirs
    # and every feature was "used by anyone" (3 of 3).
    group = enrolments(*[(learner, 10, START, None) for learner in (1, 2, 3, 4)])
    usage = uses(*[(1, feature, date(2026, 3, 30), 100) for feature in (1, 2, 3)])
    figures = u.group_utilisation(
        group, teaches(10, 1, 2, 3), usage, catalogue(1, 2, 3), AS_OF, 30, weeks=0, **RATE
    )
    assert figures.rate.value == pytest.approx(3 / 12)
    assert figures.rate.detail["adopted_pairs"] == 3 and figures.rate.detail["pairs"] == 12
    assert figures.features_used_by_anyone == 3 and figures.features_taught == 3
    assert figures.unused == []
    # Quadrants: trained-and-using 3 pairs (1 person); trained-not-using 12 − 3 = 9 pairs
    # (learners 2, 3, 4); nothing untaught is used; neither: 4 × 3 − 12 = 0.
    counted = {q: (c.pairs, c.people) for q, c in figures.quadrants.items()}
    assert counted == {
        u.TRAINED_AND_USING: (3, 1),
        u.TRAINED_NOT_USING: (9, 3),
        u.USING_UNTRAINED: (0, 0),
        u.NEITHER: (0, 0),
    }
    # Learner 1: breadth 3 ÷ 3 = 1, depth 300 uses ÷ 3 features = 100, last use 1 day ago.
    power = figures.learner_uses[1]
    assert (power.breadth, power.depth, power.days_since) == (1.0, 100.0, 1)
    # Learner 2: breadth 0 ÷ 3 = 0, no depth (nothing used), never used anything.
    idle = figures.learner_uses[2]
    assert (idle.breadth, idle.depth, idle.days_since, idle.uses) == (0.0, None, None, 0)


def test_breadth_depth_and_recency_per_learner() -> None:
    # Learner 1 is taught features 1-4 (programme 10). In the window to 31 March: feature 1
    # 6 uses (two rows: 4 + 2), feature 2 1 use, feature 9 (untaught) 3 uses. Feature 3 was
    # last used on 1 January, outside the window.
    # breadth = 2 taught used ÷ 4 taught = 0.5; depth = (6 + 1 + 3) uses ÷ 3 features used
    # = 3.33…; recency: the last use of anything is 28 March, 3 days before 31 March.
    usage = uses(
        (1, 1, date(2026, 3, 20), 4),
        (1, 1, date(2026, 3, 28), 2),
        (1, 2, date(2026, 3, 10), 1),
        (1, 9, date(2026, 3, 15), 3),
        (1, 3, date(2026, 1, 1), 5),
    )
    figures = u.group_utilisation(
        enrolments((1, 10, START, None)),
        teaches(10, 1, 2, 3, 4),
        usage,
        catalogue(1, 2, 3, 4, 9),
        AS_OF,
        30,
        weeks=0,
        **RATE,
    )
    use = figures.learner_uses[1]
    assert (use.taught, use.taught_used, use.untaught_used, use.uses) == (4, 2, 1, 10)
    assert use.breadth == 0.5
    assert use.depth == pytest.approx(10 / 3)
    assert use.days_since == 3
    # Per feature: uses in the window and days since the last use (89 days for 1 January).
    table = figures.table.set_index("feature")
    assert table.loc[1, "uses"] == 6 and table.loc[1, "days_since"] == 3
    assert table.loc[3, "uses"] == 0 and table.loc[3, "days_since"] == 89
    assert table.loc[4, "days_since"] is None
    assert table.loc[9, "quadrant"] == u.USING_UNTRAINED


# Withdrawn learners leave the denominator -------------------------------------------------------


def test_a_withdrawn_learner_leaves_the_denominator_from_the_withdrawal_date() -> None:
    # Learners 1 and 2 in programme 10 (features 1, 2); learner 2 withdrew on 10 March and
    # never used anything; learner 1 used feature 1 on 5 March.
    group = enrolments((1, 10, START, None), (2, 10, START, date(2026, 3, 10)))
    usage = uses((1, 1, date(2026, 3, 5), 1))
    taught, features = teaches(10, 1, 2), catalogue(1, 2)
    # On 9 March: 2 learners × 2 features = 4 pairs, 1 in use → 25%.
    before = u.group_utilisation(group, taught, usage, features, date(2026, 3, 9), 30, **RATE)
    assert before.rate.value == pytest.approx(1 / 4) and before.group == [1, 2]
    # On 10 March (the withdrawal date) learner 2 is out: 1 × 2 = 2 pairs, 1 in use → 50%.
    on = u.group_utilisation(group, taught, usage, features, date(2026, 3, 10), 30, **RATE)
    assert on.rate.value == pytest.approx(1 / 2) and on.group == [1]
    assert on.quadrants[u.TRAINED_NOT_USING].people == 1  # learner 1's feature 2 only
    # And an enrolment that has not started is not counted yet.
    later = enrolments((1, 10, START, None), (3, 10, date(2026, 4, 1), None))
    assert u.group_learners(later, AS_OF) == [1]


# Using but untrained ----------------------------------------------------------------------------


def test_using_but_untrained_pairs_are_counted_apart_and_not_in_the_rate() -> None:
    # Learner 1 is taught features 1 and 2 (programme 10), uses neither, but used feature 3
    # (no programme of theirs teaches it) 4 times. Catalogue: features 1-4.
    usage = uses((1, 3, date(2026, 3, 30), 4))
    figures = u.group_utilisation(
        enrolments((1, 10, START, None)),
        teaches(10, 1, 2),
        usage,
        catalogue(1, 2, 3, 4),
        AS_OF,
        30,
        weeks=0,
        **RATE,
    )
    # Rate: 0 pairs in use ÷ 2 taught = 0 (the untaught use does not count).
    assert figures.rate.value == 0.0
    # Quadrants over 1 learner × 4 features = 4 pairs: trained-not-using 2 (features 1, 2),
    # using-untrained 1 (feature 3), neither 4 − 3 = 1 (feature 4).
    counted = {q: (c.pairs, c.people) for q, c in figures.quadrants.items()}
    assert counted == {
        u.TRAINED_AND_USING: (0, 0),
        u.TRAINED_NOT_USING: (2, 1),
        u.USING_UNTRAINED: (1, 1),
        u.NEITHER: (1, 1),
    }
    assert sum(pairs for pairs, _ in counted.values()) == 1 * 4
    # Breadth 0 ÷ 2 = 0; depth 4 uses ÷ 1 feature used = 4.
    use = figures.learner_uses[1]
    assert (use.breadth, use.depth, use.untaught_used) == (0.0, 4.0, 1)
    assert u.learners_in(figures.table, figures.group, figures.catalogue, u.USING_UNTRAINED) == [1]
    assert u.learners_in(figures.table, figures.group, figures.catalogue, u.NEITHER, 4) == [1]
    assert u.learners_in(figures.table, figures.group, figures.catalogue, u.NEITHER, 3) == []


# Window boundaries ------------------------------------------------------------------------------


def test_window_is_the_30_days_ending_on_as_of_inclusive() -> None:
    # With a 30-day window on 31 March: 2 March (29 days before) counts; 1 March (exactly 30
    # days before) does not; 1 April (after as_of) does not; 31 March itself does.
    assert u.window_start(AS_OF, 30) == date(2026, 3, 2)
    days = pd.Series(pd.to_datetime(["2026-03-01", "2026-03-02", "2026-03-31", "2026-04-01"]))
    assert list(u.in_window(days, AS_OF, 30)) == [False, True, True, False]
    # The same boundary in the pair table and in the shared rate: learner 1 (features 1-4)
    # used feature 1 on 1 March, 2 on 2 March, 3 on 31 March and 4 on 1 April → 2 of 4.
    usage = uses(
        (1, 1, date(2026, 3, 1), 1),
        (1, 2, date(2026, 3, 2), 1),
        (1, 3, date(2026, 3, 31), 1),
        (1, 4, date(2026, 4, 1), 1),
    )
    pairs = teaches(10, 1, 2, 3, 4).assign(learner=1)[["learner", "feature"]]
    table = u.pair_table(pairs, usage, [1], AS_OF, 30)
    assert list(table.loc[table["used"], "feature"]) == [2, 3]
    shared = feature_adoption_rate(pairs, usage, AS_OF, 30, **RATE)
    assert shared.detail["adopted_pairs"] == 2 == int(table["used"].sum())
    # A use on 1 April is after as_of: not even the "last use" on 31 March.
    assert table.set_index("feature").loc[4, "days_since"] is None


def test_days_are_the_organisations_calendar_days() -> None:
    # 1 March 23:30 UTC is 2 March 00:30 in Berlin (UTC+1 until 29 March): inside the window
    # to 31 March in Berlin, outside it in UTC.
    stored = frame(learner=[1], feature=[1], occurred_at=[datetime(2026, 3, 1, 23, 30)], count=[1])
    berlin = u.to_local_days(stored, "Europe/Berlin")
    assert berlin["occurred_at"].iloc[0] == pd.Timestamp("2026-03-02")
    assert u.window_usage(berlin, AS_OF, 30)["count"].sum() == 1
    assert u.window_usage(u.to_local_days(stored, "UTC"), AS_OF, 30).empty
    # Aware moments are converted too.
    aware = stored.assign(occurred_at=[datetime(2026, 3, 1, 23, 30, tzinfo=UTC)])
    assert u.to_local_days(aware, "Europe/Berlin")["occurred_at"].iloc[0] == pd.Timestamp(
        "2026-03-02"
    )


# The weekly trend -------------------------------------------------------------------------------


def test_weekly_trend_values() -> None:
    # as_of Wednesday 18 March 2026 (ISO week 12), three weeks, a 7-day window (to keep the
    # arithmetic short). Programme 10 teaches feature 1. Learner 1 enrolled in January,
    # learner 2 on 10 March. Learner 1 used feature 1 on 5 March, learner 2 on 17 March.
    group = enrolments((1, 10, START, None), (2, 10, date(2026, 3, 10), None))
    usage = uses((1, 1, date(2026, 3, 5), 1), (2, 1, date(2026, 3, 17), 2))
    points = u.weekly_trend(group, teaches(10, 1), usage, date(2026, 3, 18), 7, weeks=3, **RATE)
    # W10 as of Sunday 8 March: window 2-8 March; only learner 1 enrolled: 1 pair, in use
    #   (5 March) → 1/1 = 100%.
    # W11 as of Sunday 15 March: window 9-15 March; 2 pairs; no use in it → 0/2 = 0%.
    # W12 (not over) as of Wednesday 18 March: window 12-18 March; learner 2 used it on
    #   17 March → 1/2 = 50%.
    assert [(p.week, p.week_start, p.on) for p in points] == [
        ("2026-W10", date(2026, 3, 2), date(2026, 3, 8)),
        ("2026-W11", date(2026, 3, 9), date(2026, 3, 15)),
        ("2026-W12", date(2026, 3, 16), date(2026, 3, 18)),
    ]
    assert [(p.adopted_pairs, p.pairs) for p in points] == [(1, 1), (0, 2), (1, 2)]
    assert [p.result.value for p in points] == [1.0, 0.0, 0.5]
    # Twelve weeks by default, across a year end: ISO 2026-W01 starts Monday 29 December 2025.
    default = u.trend_days(date(2026, 1, 7))
    assert len(default) == u.TREND_WEEKS == 12
    assert default[-1] == ("2026-W02", date(2026, 1, 5), date(2026, 1, 7))
    assert default[-2] == ("2026-W01", date(2025, 12, 29), date(2026, 1, 4))
    # The usage the trend needs starts with the oldest week's window: W10 of 2026 here
    # (12 weeks back from W09 ... W02): Sunday 19 Oct 2025 is W42's end; 30-day window.
    first_on = default[0][2]
    assert u.usage_needed_from(date(2026, 1, 7), 30) == first_on - timedelta(days=29)


# Features nobody used, heat table, learners behind a figure --------------------------------------


@pytest.fixture
def two_teams():
    """Programme 10 teaches features 1-3. Team 7: learner 1 (feature 1 × 10), learner 2
    (nothing). No team: learner 3 (feature 1 × 2, feature 4 × 1: untaught). Catalogue 1-4."""
    group = enrolments((1, 10, START, None), (2, 10, START, None), (3, 10, START, None))
    usage = uses(
        (1, 1, date(2026, 3, 30), 10), (3, 1, date(2026, 3, 29), 2), (3, 4, date(2026, 3, 29), 1)
    )
    learners = frame(learner=[1, 2, 3], team=[7, 7, None])
    figures = u.group_utilisation(
        group, teaches(10, 1, 2, 3), usage, catalogue(1, 2, 3, 4), AS_OF, 30, weeks=0, **RATE
    )
    return figures, learners


def test_features_nobody_used(two_teams) -> None:
    figures, _ = two_teams
    # Taught: 1, 2, 3; used by someone taught anything: 1 → nobody used 2 and 3, which is
    # the taught features (3) less the rate's "used by anyone" (1).
    assert figures.unused == [2, 3]
    assert figures.features_taught - figures.features_used_by_anyone == len(figures.unused)


def test_heat_by_team(two_teams) -> None:
    figures, learners = two_teams
    cells = u.heat_by_team(figures.table, learners)
    got = {
        (row.team, row.feature): (row.uses, row.users, row.taught, row.adopted)
        for row in cells.itertuples(index=False)
    }
    # Team 7, feature 1: 10 uses by 1 learner; taught to 2 (learners 1 and 2), 1 of them uses.
    # No team, feature 4: 1 use by learner 3, taught to nobody.
    assert got == {
        (7, 1): (10, 1, 2, 1),
        (7, 2): (0, 0, 2, 0),
        (7, 3): (0, 0, 2, 0),
        (None, 1): (2, 1, 1, 1),
        (None, 2): (0, 0, 1, 0),
        (None, 3): (0, 0, 1, 0),
        (None, 4): (1, 1, 0, 0),
    }
    # Shades against the largest cell (10): 10 → 4, 5 → ceil(2.0) = 2, 2 → ceil(0.8) = 1, 0 → 0.
    assert [u.heat_level(n, 10) for n in (10, 5, 2, 0)] == [4, 2, 1, 0]


def test_learners_behind_each_figure(two_teams) -> None:
    figures, _ = two_teams

    def behind(show, feature=None):
        return u.learners_in(figures.table, figures.group, figures.catalogue, show, feature)

    assert behind(u.TRAINED_AND_USING) == [1, 3]
    assert behind(u.TRAINED_NOT_USING, 1) == [2]
    assert behind(u.USED, 1) == [1, 3]
    assert behind(u.USING_UNTRAINED) == [3]
    assert behind(u.NEITHER, 4) == [1, 2]
    assert behind(u.TAUGHT) == [1, 2, 3]
    # The people counts of the quadrants are the lengths of these lists.
    for quadrant, count in figures.quadrants.items():
        assert count.people == len(behind(quadrant)), quadrant
    with pytest.raises(ValueError):
        behind("everyone")


def test_a_retired_feature_leaves_the_catalogue_and_the_pairs() -> None:
    # Feature 2 retired on 20 March: on 31 March learner 1 has 1 pair (feature 1), and the
    # catalogue is feature 1 alone, so no "neither" pair remains.
    features = frame(feature=[1, 2], retired_on=[None, date(2026, 3, 20)])
    taught = frame(programme=[10, 10], feature=[1, 2], retired_on=[None, date(2026, 3, 20)])
    figures = u.group_utilisation(
        enrolments((1, 10, START, None)), taught, uses(), features, AS_OF, 30, weeks=0, **RATE
    )
    assert figures.catalogue == [1]
    assert figures.rate.detail["pairs"] == 1
    assert figures.quadrants[u.NEITHER].pairs == 0


def test_an_empty_group_says_why_instead_of_a_number() -> None:
    figures = u.group_utilisation(
        enrolments(), teaches(10, 1), uses(), catalogue(1), AS_OF, 30, weeks=2, **RATE
    )
    assert figures.rate.value is None and figures.rate.reason
    assert figures.group == [] and figures.unused == []
    assert all(c.pairs == 0 for c in figures.quadrants.values())
    assert [p.result.value for p in figures.trend] == [None, None]


# The pages --------------------------------------------------------------------------------------


def logout(client) -> None:
    submit(client, "/", {}, to="/logout")


def text(response) -> str:
    """The page's text with entities decoded and tags dropped, so sentences read as shown."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(True))))


def _at_noon(days_ago: int) -> datetime:
    return datetime.combine(organisation_today() - timedelta(days=days_ago), time(12), UTC)


def _use(user: User, slug: str, days_ago: int, count: int = 1) -> None:
    feature = db.session.scalar(select(Feature).where(Feature.slug == slug))
    db.session.add(
        UsageEvent(
            event_key=f"{user.id}-{slug}-{days_ago}-{count}",
            user_id=user.id,
            feature_id=feature.id,
            occurred_at=_at_noon(days_ago),
            count=count,
            source="csv",
        )
    )


def _cohort(name: str, manager: User, programme: Programme) -> Cohort:
    cohort = Cohort(
        name=name, start_date=organisation_today() - timedelta(days=60), manager=manager
    )
    cohort.programmes = [programme]
    db.session.add(cohort)
    db.session.flush()
    return cohort


def _enrol(cohort: Cohort, user: User, withdrawn_days_ago: int | None = None) -> Enrolment:
    enrolment = Enrolment(
        user_id=user.id,
        programme_id=cohort.programmes[0].id,
        cohort_id=cohort.id,
        start_date=cohort.start_date,
    )
    if withdrawn_days_ago is not None:
        enrolment.status = "withdrawn"
        enrolment.withdrawn_at = _at_noon(withdrawn_days_ago)
    db.session.add(enrolment)
    return enrolment


def _platform_programme() -> Programme:
    return db.session.scalar(
        select(Programme).where(Programme.slug == "marketing-automation-platform")
    )


@pytest.fixture
def world(app: Flask, curricula) -> dict[str, int]:
    """A cohort of the marketing-automation programme (10 features; the catalogue has 25):

    - Ann (team Growth): campaign creation 5 uses 2 days ago, segmentation 3 uses 10 days ago,
      lead scoring once 40 days ago (outside the window).
    - Bob (Growth): campaign creation once 29 days ago (inside), segmentation once 30 days ago
      (outside: the window is the 30 days ending today).
    - Cat (Growth): withdrawn today, never used anything: out of the denominators.
    - Dan (team Brand): executive dashboards (an analytics feature the programme does not
      teach) 4 uses yesterday.
    Another manager's cohort holds Eve (Growth), who used campaign creation yesterday.
    """
    with app.app_context():
        growth = ensure_unit("team", "Growth")
        brand = ensure_unit("team", "Brand")
        manager = make_user("manager@example.com", ("manager",))
        other_manager = make_user("other.manager@example.com", ("manager",))
        make_user("leader@example.com", ("leader",))
        make_user("admin@example.com", ("admin",))
        people = {
            key: make_user(f"{key}@example.com", name=name, team=team)
            for key, name, team in (
                ("ann", "Ann Archer", growth),
                ("bob", "Bob Baker", growth),
                ("cat", "Cat Cole", growth),
                ("dan", "Dan Dean", brand),
                ("eve", "Eve Evans", growth),
            )
        }
        programme = _platform_programme()
        cohort = _cohort("Spring", manager, programme)
        for key in ("ann", "bob", "dan"):
            _enrol(cohort, people[key])
        _enrol(cohort, people["cat"], withdrawn_days_ago=0)
        theirs = _cohort("Theirs", other_manager, programme)
        _enrol(theirs, people["eve"])
        _use(people["ann"], "campaign-creation", 2, 5)
        _use(people["ann"], "segmentation", 10, 3)
        _use(people["ann"], "lead-scoring", 40)
        _use(people["bob"], "campaign-creation", 29)
        _use(people["bob"], "segmentation", 30)
        _use(people["dan"], "executive-dashboards", 1, 4)
        _use(people["eve"], "campaign-creation", 1, 7)
        db.session.commit()
        ids = {key: user.id for key, user in people.items()}
        ids.update(
            cohort=cohort.id,
            theirs=theirs.id,
            growth=growth.id,
            brand=brand.id,
            lead_scoring=db.session.scalar(
                select(Feature.id).where(Feature.slug == "lead-scoring")
            ),
            campaign_creation=db.session.scalar(
                select(Feature.id).where(Feature.slug == "campaign-creation")
            ),
            features=len(list(db.session.scalars(select(Feature.id)))),
        )
        return ids


def test_the_fixture_is_what_the_hand_computation_assumes(app, world) -> None:
    with app.app_context():
        programme = _platform_programme()
        taught = {
            feature.slug
            for feature in db.session.scalars(select(Feature))
            if any(module.programme_id == programme.id for module in feature.modules)
        }
    assert len(taught) == 10 and {"campaign-creation", "segmentation", "lead-scoring"} <= taught
    assert "executive-dashboards" not in taught
    assert world["features"] == 25


def test_cohort_page_figures_equal_the_hand_computed_ones(client, world) -> None:
    login(client, "manager@example.com")
    response = client.get(f"/utilisation/cohorts/{world['cohort']}")
    assert response.status_code == 200
    page = text(response)
    # Learners counted: Ann, Bob, Dan (Cat withdrew today) → 3 × 10 = 30 pairs.
    # In use: Ann's campaign creation and segmentation, Bob's campaign creation = 3.
    # Rate 3 ÷ 30 = 10%. Features used by anyone: 2 of the 10 taught.
    assert "Feature adoption rate 10%" in page
    assert "Learner × feature pairs in use 3 of 30" in page
    assert "Features used by anyone 2 of 10" in page
    assert "Learners 3" in page
    # Nobody used 8 of the 10 features, among them lead scoring (Ann's use was 40 days ago).
    assert "Lead scoring" in page.split("Features nobody used")[1].split("Trained and using")[0]
    # Quadrants over 3 learners × 25 features = 75 pairs:
    #   trained and using 3 pairs (Ann, Bob: 2 people); trained not using 30 − 3 = 27 (3);
    #   using untrained 1 (Dan's dashboards: 1); neither 75 − 30 − 1 = 44 (all 3 people).
    assert "Trained and using 3 2" in page
    assert "Trained but not using 27 3" in page
    assert "Using but untrained 1 1" in page
    assert "Neither trained nor using 44 3" in page
    # Heat table by team: Growth campaign creation 5 + 1 = 6 uses, 2 of 2 taught use it;
    # Brand (Dan) has 0 uses of it, 0 of 1. Eve (another cohort) is not counted.
    assert re.search(r"Growth 6 2/2 0 0/2 3 1/2", page)
    assert re.search(r"Brand 0 0/1", page)
    # The trend's current week is today's rate.
    trend = page.split("Weekly trend")[1]
    assert trend.count("W") >= 12
    assert re.search(r"10% 3 30 2 of 10 Teams × features", trend)


def test_the_learners_behind_the_figures(app, client, world) -> None:
    login(client, "manager@example.com")
    base = f"/utilisation/cohorts/{world['cohort']}/learners"

    def names(query: str) -> list[str]:
        response = client.get(f"{base}?{query}")
        assert response.status_code == 200
        return re.findall(r"(\w+ \w+)</a><br>", response.get_data(as_text=True))

    assert names("show=trained-and-using") == ["Ann Archer", "Bob Baker"]
    assert names("show=using-untrained") == ["Dan Dean"]
    assert names("show=taught") == ["Ann Archer", "Bob Baker", "Dan Dean"]
    assert names(f"show=trained-not-using&feature={world['lead_scoring']}") == [
        "Ann Archer",
        "Bob Baker",
        "Dan Dean",
    ]
    assert names(f"show=used&feature={world['campaign_creation']}&team={world['growth']}") == [
        "Ann Archer",
        "Bob Baker",
    ]
    assert names("show=used&team=none") == []
    # A week ago Cat had not withdrawn yet: she is in the denominator then.
    with app.app_context():
        week_ago = (organisation_today() - timedelta(days=7)).isoformat()
    assert "Cat Cole" in names(f"show=taught&on={week_ago}")
    # Ann's row: 2 of 10 taught features used (20%), depth (5 + 3) ÷ 2 = 4.0, last use 2 days.
    page = text(client.get(f"{base}?show=trained-and-using"))
    assert "Ann Archer ann@example.com Growth 2 of 10 (20%) 4.0 0 2 days ago" in page


def test_learners_without_a_team_have_their_own_row(app, client, world) -> None:
    with app.app_context():
        manager = db.session.scalar(select(User).where(User.email == "manager@example.com"))
        solo = _cohort("Solo", manager, _platform_programme())
        nia = make_user("nia@example.com", name="Nia Noteam")
        _enrol(solo, nia)
        _use(nia, "campaign-creation", 3, 2)
        db.session.commit()
        solo_id = solo.id
    login(client, "manager@example.com")
    page = text(client.get(f"/utilisation/cohorts/{solo_id}"))
    # One learner, 10 pairs, 1 in use → 10%; the heat table's row is "No team": 2 uses, 1/1.
    assert "Feature adoption rate 10%" in page
    assert re.search(r"No team 2 1/1", page)
    listing = text(client.get(f"/utilisation/cohorts/{solo_id}/learners?show=used&team=none"))
    assert "Nia Noteam" in listing and "in team none" in listing


def test_team_page_shows_learners_by_feature(client, world) -> None:
    login(client, "admin@example.com")
    page = text(client.get(f"/utilisation/teams/{world['growth']}"))
    # The admin sees all of Growth: Ann, Bob (Spring) and Eve (Theirs) → 3 × 10 = 30 pairs;
    # in use: Ann 2, Bob 1, Eve 1 (campaign creation yesterday) = 4 → 4 ÷ 30 = 13.3% → 13%.
    assert "Feature adoption rate 13%" in page
    assert "4 of 30" in page
    assert "Ann Archer 2 of 10 4.0 2 days ago 5 0 taught, not used 3" in page
    assert "Eve Evans" in page and "Cat Cole" not in page
    # A manager sees the team's learners in their own cohorts only: Ann and Bob → 20 pairs,
    # 3 in use → 15%; Eve is in another manager's cohort.
    logout(client)
    login(client, "manager@example.com")
    page = text(client.get(f"/utilisation/teams/{world['growth']}"))
    assert "Feature adoption rate 15%" in page and "3 of 20" in page
    assert "Eve Evans" not in page


def test_a_learner_sees_their_own_picture(client, world) -> None:
    login(client, "ann@example.com")
    response = client.get(f"/utilisation/me?user={world['bob']}")
    page = text(response)
    assert response.status_code == 200
    assert "You used 2 of the 10 features your programmes teach in the last 30 days" in page
    # Depth (5 + 3) ÷ 2 = 4.0; breadth 2 ÷ 10 = 20%; last use 2 days ago.
    assert "Breadth 20%" in page and "uses per feature used 4.0" in page
    assert "Last use of any feature 2 days ago" in page
    # Per feature: lead scoring used 40 days ago, none in the window.
    assert re.search(
        r"Lead scoring Marketing automation platform 0 .* \(40 days ago\) Not lately", page
    )
    logout(client)
    login(client, "dan@example.com")
    page = text(client.get("/utilisation/me"))
    assert "You used 0 of the 10 features" in page
    assert "Also used, not taught by your programmes" in page and "Executive dashboards" in page
    assert "Ann" not in page


def test_a_learner_with_no_enrolment_is_told_so(client, world) -> None:
    login(client, "cat@example.com")  # withdrawn today
    page = text(client.get("/utilisation/me"))
    assert "You are not enrolled in a programme at the moment" in page


def test_learner_detail_within_a_scope(client, world) -> None:
    login(client, "manager@example.com")
    response = client.get(f"/utilisation/cohorts/{world['cohort']}/learners/{world['ann']}")
    assert response.status_code == 200
    assert "Ann Archer used 2 of the 10 features their programmes teach" in text(response)
    # Eve is not in this cohort: she does not exist here.
    url = f"/utilisation/cohorts/{world['cohort']}/learners/{world['eve']}"
    assert client.get(url).status_code == 404
    url = f"/utilisation/teams/{world['growth']}/learners/{world['eve']}"
    assert client.get(url).status_code == 404


# Who may open what -----------------------------------------------------------------------------


def test_learners_are_refused_team_and_cohort_pages(client, world) -> None:
    login(client, "ann@example.com")
    for url in (
        "/utilisation/",
        f"/utilisation/cohorts/{world['cohort']}",
        f"/utilisation/cohorts/{world['cohort']}/learners",
        f"/utilisation/cohorts/{world['cohort']}/learners/{world['ann']}",
        f"/utilisation/teams/{world['growth']}",
        f"/utilisation/teams/{world['growth']}/learners",
        f"/utilisation/teams/{world['growth']}/learners/{world['ann']}",
    ):
        assert client.get(url).status_code == 403, url


def test_another_managers_cohort_and_team_do_not_exist(client, world) -> None:
    login(client, "manager@example.com")
    for url in (
        f"/utilisation/cohorts/{world['theirs']}",
        f"/utilisation/cohorts/{world['theirs']}/learners",
        f"/utilisation/cohorts/{world['theirs']}/learners/{world['eve']}",
        "/utilisation/cohorts/999999",
        "/utilisation/teams/999999",
    ):
        assert client.get(url).status_code == 404, url
    logout(client)
    # The other manager has no Brand learner in their cohorts: Brand does not exist for them.
    login(client, "other.manager@example.com")
    assert client.get(f"/utilisation/teams/{world['brand']}").status_code == 404
    assert client.get(f"/utilisation/teams/{world['growth']}").status_code == 200
    assert client.get(f"/utilisation/cohorts/{world['cohort']}").status_code == 404
    index = text(client.get("/utilisation/"))
    assert "Theirs" in index and "Spring" not in index
    assert "Growth" in index and "Brand" not in index


def test_leaders_and_admins_open_every_group(client, world) -> None:
    for email in ("leader@example.com", "admin@example.com"):
        login(client, email)
        for url in (
            f"/utilisation/cohorts/{world['cohort']}",
            f"/utilisation/cohorts/{world['theirs']}",
            f"/utilisation/teams/{world['brand']}",
            f"/utilisation/cohorts/{world['theirs']}/learners?show=taught",
            "/utilisation/",
        ):
            assert client.get(url).status_code == 200, (email, url)
        logout(client)


def test_unknown_filters_fall_back_to_the_defaults(client, world) -> None:
    login(client, "manager@example.com")
    base = f"/utilisation/cohorts/{world['cohort']}/learners"
    for query in ("show=everything", "on=yesterday", "on=1999-01-01", "team=x", "feature=x"):
        assert client.get(f"{base}?{query}").status_code == 200, query


# A fixed number of queries ---------------------------------------------------------------------


def test_pages_run_the_same_number_of_queries_for_3_or_40_learners(
    app, client, curricula, count_queries
) -> None:
    with app.app_context():
        manager = make_user("manager@example.com", ("manager",))
        programme = _platform_programme()
        slugs = ["campaign-creation", "segmentation", "lead-scoring", "executive-dashboards"]
        groups = {}
        for size in (3, 40):
            team = ensure_unit("team", f"Team {size}")
            cohort = _cohort(f"Cohort {size}", manager, programme)
            for number in range(size):
                learner = make_user(f"l{size}-{number}@example.com", team=team)
                _enrol(cohort, learner, withdrawn_days_ago=3 if number == 1 else None)
                for day in range(number % 5):
                    _use(learner, slugs[(number + day) % len(slugs)], day * 9, number + 1)
            groups[size] = (cohort.id, team.id, learner.id)
        db.session.commit()
    login(client, "manager@example.com")
    counts: dict[str, list[int]] = {}
    for cohort_id, team_id, learner_id in groups.values():
        for name, url in (
            ("cohort", f"/utilisation/cohorts/{cohort_id}"),
            ("team", f"/utilisation/teams/{team_id}"),
            ("list", f"/utilisation/cohorts/{cohort_id}/learners?show=taught"),
            ("learner", f"/utilisation/cohorts/{cohort_id}/learners/{learner_id}"),
        ):
            client.get(url)  # warm up
            with count_queries() as statements:
                assert client.get(url).status_code == 200, url
            counts.setdefault(name, []).append(len(statements))
    for name, (small, large) in counts.items():
        assert small == large, (name, counts)
        assert small <= 14, (name, counts)
    # 40 learners (one withdrawn: 39) page at 50 a page; the learner list shows them all.
    page = text(client.get(f"/utilisation/cohorts/{groups[40][0]}/learners?show=taught"))
    assert "39 in all" in page
