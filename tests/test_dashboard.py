"""The cohort dashboard: every section's figures against a small world computed by hand (the
arithmetic is in the comments), the learners behind every figure, exports that equal the page
(CSV and XLSX, parsed back), formula neutralisation, a negative change, a fixed number of
queries at two sizes, and who may open what."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, date, datetime, time, timedelta
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import func, select, update

from lms.accounts.models import User
from lms.adoption.models import Feature, UsageEvent
from lms.adoption.records import (
    CampaignLog,
    MetricBaseline,
    ProcessStep,
    ProcessStepChange,
)
from lms.adoption.utilisation_data import Scope as UtilisationScope
from lms.adoption.utilisation_data import group_page
from lms.assessments.models import Attempt, AttemptItem, Question, QuestionVersion
from lms.core import exports
from lms.core.timeutil import now_utc
from lms.curricula.models import LessonSection, Module
from lms.dashboard import data
from lms.demonstrations.models import Submission
from lms.demonstrations.operations import age_in_working_days
from lms.extensions import db
from lms.learning.models import ModuleCompletion, SectionProgress
from lms.organisation.models import Cohort, Enrolment
from lms.organisation.operations import ensure_unit
from lms.stages.engine import organisation_today
from lms.stages.models import StagePromotion, WindowExtension
from tests.conftest import _clear_database, login, make_user, submit
from tests.support import learning

MAP = "marketing-automation-platform"
IMS = learning.PROGRAMME
SECRET_ANSWER = "SECRET-ATTEMPT-ANSWER-7f3a"
SECRET_WORK = "SECRET-SUBMITTED-WORK-91bc"


# The world ----------------------------------------------------------------------------------


def _at_noon(days_ago: int) -> datetime:
    return datetime.combine(organisation_today() - timedelta(days=days_ago), time(12), UTC)


def _naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None)


def _use(user: User, slug: str, days_ago: int, count: int = 1) -> None:
    feature = db.session.scalar(select(Feature).where(Feature.slug == slug))
    db.session.add(
        UsageEvent(
            event_key=f"{user.id}-{slug}-{days_ago}-{count}",
            user_id=user.id,
            feature_id=feature.id,
            occurred_at=_naive(_at_noon(days_ago)),
            count=count,
            source="csv",
        )
    )


def _enrol(cohort, user, programme, stage="initial", stage_status=None, reason=None, **extra):
    """An enrolment as the stage engine left it (stage, stored status and reason)."""
    enrolment = Enrolment(
        user_id=user.id,
        programme_id=programme.id,
        cohort_id=cohort.id,
        start_date=cohort.start_date,
        stage_id=stage,
        stage_status=stage_status,
        status_reason=reason,
        **extra,
    )
    db.session.add(enrolment)
    db.session.flush()
    return enrolment


def _promote(enrolment, from_stage, to_stage, on_day):
    db.session.add(
        StagePromotion(
            enrolment_id=enrolment.id,
            from_stage_id=from_stage,
            to_stage_id=to_stage,
            on_day=on_day,
            evidence=[],
        )
    )


def _attempt(user, assessment, number, score, passed, status="submitted"):
    attempt = Attempt(
        user_id=user.id,
        assessment_id=assessment.id,
        number=number,
        seed=number,
        status=status,
        submitted_at=None if status == "in-progress" else _naive(now_utc()),
        score=score,
        max_score=10.0 if score is not None else None,
        passed=passed,
    )
    db.session.add(attempt)
    db.session.flush()
    return attempt


def _submission(user, task, status, submitted_days_ago, number=1):
    submission = Submission(
        user_id=user.id,
        task_id=task.id,
        number=number,
        status=status,
        answers={"summary": SECRET_WORK},
        submitted_at=None
        if status == "draft"
        else _naive(now_utc() - timedelta(days=submitted_days_ago, minutes=1)),
    )
    db.session.add(submission)
    return submission


@pytest.fixture
def world(app: Flask, curricula) -> dict:
    """Cohort Spring (manager@) takes integrated-marketing-systems (IMS: lessons, assessments,
    demonstrations) and marketing-automation-platform (MAP: teaches 10 features). Teams Growth
    (region North) and Brand (region South).

    Enrolments (IMS stage / status; MAP stage / status):
    - Ann (Growth): IMS proficiency, on track (promoted out of initial on day 20 of 30);
      MAP initial, on track.
    - Bob (Growth): IMS expert, at risk (promoted out of initial on day 35, with a 10-day
      extension of that window: on time; out of proficiency on day 70 of 60: late);
      MAP initial, on track.
    - Dan (Brand): IMS initial, overdue; MAP initial, overdue.
    - Cat (Growth): IMS withdrawn (she completed module 1 and scored 10/10 before leaving).
    Cohort Theirs (other.manager@) holds Eve (Growth) in IMS, at innovation, on track.

    Progress (IMS modules 1 and 2 have lessons): module 1 completed by Ann, Bob (and Cat, Eve);
    Dan did one section of it. Module 2 completed by Bob; Ann did one section of it.
    Scores on module 1's check (out of 10): Ann 7 then 9 (passed), Bob 5, Cat 10, Eve 8; Dan has
    an attempt in progress.
    Demonstrations: Ann's initial one waits for grading since a minute ago; Bob's proficiency one
    waits for moderation since 20 days ago; Dan has a draft; Eve's initial one waits.
    Usage (MAP features): Ann campaign creation 5 uses 2 days ago, segmentation 3 uses 10 days
    ago, lead scoring once 40 days ago (outside the 30-day window); Bob campaign creation once
    29 days ago, segmentation once 30 days ago (outside); Dan executive dashboards (not taught
    by MAP) 4 uses yesterday; Eve campaign creation yesterday.
    Growth's records: productivity baseline median 10 h, now 11.2 h (−12%); manual steps 3 at
    baseline, 2 now (+33.3%); ROI 0.5 at baseline, 0.6 now (+20%). Brand has no baseline.
    """
    with app.app_context():
        north = ensure_unit("region", "North")
        south = ensure_unit("region", "South")
        growth = ensure_unit("team", "Growth", north)
        brand = ensure_unit("team", "Brand", south)
        manager = make_user("manager@example.com", ("manager",))
        other = make_user("other.manager@example.com", ("manager",))
        make_user("leader@example.com", ("leader",))
        make_user("admin@example.com", ("admin",))
        make_user("learner@example.com")
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
        ims, platform = learning.programme(IMS), learning.programme(MAP)
        start = organisation_today() - timedelta(days=75)
        spring = Cohort(name="Spring", start_date=start, manager=manager)
        spring.programmes = [ims, platform]
        theirs = Cohort(name="Theirs", start_date=start, manager=other)
        theirs.programmes = [ims]
        db.session.add_all([spring, theirs])
        db.session.flush()
        ann, bob, cat, dan, eve = (people[k] for k in ("ann", "bob", "cat", "dan", "eve"))
        ann_ims = _enrol(spring, ann, ims, "proficiency", "on-track", "day 75 of 60")
        _promote(ann_ims, "initial", "proficiency", 20)
        _enrol(spring, ann, platform, "initial", "on-track", "day 10 of 30")
        bob_ims = _enrol(
            spring, bob, ims, "expert", "at-risk", "80% of the window gone with 0 of 2 met"
        )
        _promote(bob_ims, "initial", "proficiency", 35)
        db.session.add(
            WindowExtension(enrolment_id=bob_ims.id, stage_id="initial", days=10, reason="leave")
        )
        _promote(bob_ims, "proficiency", "expert", 70)
        _enrol(spring, bob, platform, "initial", "on-track", "day 12 of 30")
        _enrol(spring, dan, ims, "initial", "overdue", "window ended on day 30 with 0 of 5 met")
        _enrol(spring, dan, platform, "initial", "overdue", "window ended on day 30")
        _enrol(
            spring,
            cat,
            ims,
            stage_status="withdrawn",
            status="withdrawn",
            withdrawn_at=_naive(_at_noon(5)),
            withdrawal_reason="Moved to another role",
        )
        _enrol(theirs, eve, ims, "innovation", "on-track", "active")

        first = learning.module(learning.FIRST_MODULE)
        second = learning.module(learning.SECOND_MODULE)
        for user, module in ((ann, first), (bob, first), (bob, second), (cat, first), (eve, first)):
            db.session.add(ModuleCompletion(user_id=user.id, module_id=module.id))
        for user, module in ((dan, first), (ann, second)):
            section = db.session.scalars(
                select(LessonSection).where(LessonSection.module_id == module.id).limit(1)
            ).one()
            db.session.add(SectionProgress(user_id=user.id, section_id=section.id))

        check = learning.assessment(learning.FIRST_CHECK)
        _attempt(ann, check, 1, 7.0, False)
        answered = _attempt(ann, check, 2, 9.0, True)
        _attempt(bob, check, 1, 5.0, False)
        _attempt(cat, check, 1, 10.0, True)
        _attempt(eve, check, 1, 8.0, True)
        _attempt(dan, check, 1, None, None, status="in-progress")
        version = db.session.scalars(
            select(QuestionVersion)
            .join(Question, Question.id == QuestionVersion.question_id)
            .where(Question.assessment_id == check.id)
            .limit(1)
        ).one()
        db.session.add(
            AttemptItem(
                attempt_id=answered.id,
                position=1,
                question_version_id=version.id,
                snapshot={"prompt": "?"},
                answer=SECRET_ANSWER,
                credit=1.0,
            )
        )
        initial_task = learning.task(learning.DEMONSTRATIONS["initial"])
        proficiency_task = learning.task(learning.DEMONSTRATIONS["proficiency"])
        _submission(ann, initial_task, "submitted", 0)
        _submission(bob, proficiency_task, "moderation", 20)
        _submission(dan, initial_task, "draft", 0)
        _submission(eve, initial_task, "submitted", 1)

        _use(ann, "campaign-creation", 2, 5)
        _use(ann, "segmentation", 10, 3)
        _use(ann, "lead-scoring", 40)
        _use(bob, "campaign-creation", 29)
        _use(bob, "segmentation", 30)
        _use(dan, "executive-dashboards", 1, 4)
        _use(eve, "campaign-creation", 1)

        today = organisation_today()
        base_start, base_end = today - timedelta(days=200), today - timedelta(days=120)
        for metric in data.CHANGE_METRICS:
            db.session.add(
                MetricBaseline(
                    team_id=growth.id, metric=metric, period_start=base_start, period_end=base_end
                )
            )
        for number, (launched, hours, cost, revenue) in enumerate(
            (
                (today - timedelta(days=190), 8.0, 50.0, 70.0),
                (today - timedelta(days=150), 12.0, 50.0, 80.0),
                (today - timedelta(days=20), 11.2, 100.0, 160.0),
            )
        ):
            db.session.add(
                CampaignLog(
                    team_id=growth.id,
                    campaign=f"Campaign {number}",
                    launched_on=launched,
                    hours_spent=hours,
                    cost=cost,
                    attributed_revenue=revenue,
                )
            )
        steps = [
            ProcessStep(team_id=growth.id, procedure="campaign", step_number=n, title=f"Step {n}")
            for n in range(1, 5)
        ]
        db.session.add_all(steps)
        db.session.flush()
        db.session.add_all(
            [
                ProcessStepChange(
                    step_id=steps[0].id, automated=True, changed_on=base_start + timedelta(days=1)
                ),
                ProcessStepChange(
                    step_id=steps[1].id, automated=True, changed_on=today - timedelta(days=10)
                ),
            ]
        )
        db.session.commit()
        ids = {key: user.id for key, user in people.items()}
        ids.update(
            spring=spring.id,
            theirs=theirs.id,
            growth=growth.id,
            brand=brand.id,
            north=north.id,
            ims=ims.id,
            map=platform.id,
            first=first.id,
            second=second.id,
            check=check.id,
        )
        return ids


# Reading the page ---------------------------------------------------------------------------


class _Tables(HTMLParser):
    """The dashboard tables of a page: for each table id, its header and its rows, each cell
    the text of its value (`.cell-value`) and the link around it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, dict] = {}
        self._table: str | None = None
        self._row: list | None = None
        self._cell: dict | None = None
        self._in_head = False
        self._value_depth = 0
        self._header: list[str] | None = None
        self._href: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id", "").startswith("table-"):
            self._table = attrs["id"][len("table-") :]
            self.tables[self._table] = {"header": [], "rows": []}
        elif self._table is None:
            return
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = {"text": "", "href": None, "value": False}
            if self._in_head:
                self._cell["value"] = True
        elif tag == "a" and self._cell is not None:
            self._href = attrs.get("href")
        elif tag == "span" and "cell-value" in (attrs.get("class") or "").split():
            self._cell["value"] = True
            self._cell["href"] = self._href
            self._value_depth = 1
        elif tag == "span" and self._value_depth:
            self._value_depth += 1

    def handle_endtag(self, tag):
        if self._table is None:
            return
        if tag == "table":
            self._table = None
        elif tag == "thead":
            self._in_head = False
        elif tag == "span" and self._value_depth:
            self._value_depth -= 1
        elif tag == "a":
            self._href = None
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            if self._cell["value"]:
                self._row.append({"text": self._cell["text"].strip(), "href": self._cell["href"]})
            self._cell = None
        elif tag == "tr" and self._row is not None:
            target = self.tables[self._table]
            if self._in_head:
                target["header"] = [cell["text"] for cell in self._row]
            elif self._row:
                target["rows"].append(self._row)
            self._row = None

    def handle_data(self, text):
        if self._cell is not None and (self._in_head or self._value_depth):
            self._cell["text"] += text


def page_tables(response) -> dict[str, dict]:
    assert response.status_code == 200, response.status_code
    parser = _Tables()
    parser.feed(response.get_data(as_text=True))
    return parser.tables


def cells(tables: dict, name: str) -> list[list[str]]:
    return [[cell["text"] for cell in row] for row in tables[name]["rows"]]


def row_of(tables: dict, name: str, first: str) -> list[str]:
    found = [row for row in cells(tables, name) if row[0] == first]
    assert len(found) == 1, (name, first, cells(tables, name))
    return found[0]


def text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(True))))


def dashboard(client, **args):
    response = client.get("/dashboard", query_string=args)
    return page_tables(response)


# Each section against the hand computation --------------------------------------------------


def test_status_counts_and_headlines(client, world) -> None:
    login(client, "manager@example.com")
    response = client.get("/dashboard")
    tables = page_tables(response)
    # Spring's 7 enrolments: on track Ann IMS, Ann MAP, Bob MAP; at risk Bob IMS; overdue Dan
    # IMS and MAP; withdrawn Cat. Eve is another manager's.
    assert cells(tables, "status") == [
        ["On track", "3", "42.9%"],
        ["At risk", "1", "14.3%"],
        ["Overdue", "2", "28.6%"],
        ["Waiting for content", "0", "0%"],
        ["Active", "0", "0%"],
        ["Inactive", "0", "0%"],
        ["Not evaluated yet", "0", "0%"],
        ["Withdrawn", "1", "14.3%"],
    ]
    page = text(response)
    # Learners: Ann, Bob, Dan (Cat withdrew); enrolments not withdrawn: 6.
    assert "Learners 3 " in page and "Enrolments 6 " in page
    assert "At risk 1 " in page and "Overdue 2 " in page
    # Waiting demonstrations: Ann's and Bob's (Dan's is a draft, Eve is not in view).
    assert "Demonstrations waiting 2 " in page
    # Feature adoption: 3 pairs in use of 30 (below) = 10%.
    assert "Feature adoption 10% " in page


def test_headline_figures_open_their_learners(client, world) -> None:
    login(client, "manager@example.com")
    body = client.get("/dashboard").get_data(as_text=True)
    stats = body.split('<dl class="stats">')[1].split("</dl>")[0]
    links = re.findall(r'<dt>([^<]+)</dt><dd><a href="([^"]+)"[^>]*>([^<]+)</a>', stats)
    assert [label for label, _, _ in links] == [
        "Learners",
        "Enrolments",
        "At risk",
        "Overdue",
        "Waiting for content",
        "Demonstrations waiting",
        "Feature adoption",
    ]
    for label, href, shown in links:
        page = text(client.get(html.unescape(href)))
        total = int(re.search(r"(\d+) rows?, (?:by name|oldest first)", page).group(1))
        # Feature adoption (10%) opens the 3 learner × feature pairs in use.
        assert total == (3 if label == "Feature adoption" else int(shown)), (label, total)


def test_stage_funnel_with_on_time_and_late(client, world) -> None:
    login(client, "manager@example.com")
    tables = dashboard(client)
    # Not withdrawn: 6 enrolments. In initial now: Dan IMS, Ann MAP, Bob MAP, Dan MAP = 4;
    # proficiency: Ann IMS; expert: Bob IMS. Reached = in it or beyond.
    # Into proficiency: Ann on day 20 (window 30), Bob on day 35 (window 30 + 10 days'
    # extension): both on time. Into expert: Bob on day 70 of 60: late. Initial has no "on
    # time"; partnership is entered from innovation, which has no window.
    assert cells(tables, "funnel") == [
        ["Initial Adoption", "6", "—", "—", "—", "4"],
        ["Proficiency Development", "2", "2", "0", "100%", "1"],
        ["Expert Mastery", "1", "0", "1", "0%", "1"],
        ["Innovation Leadership", "0", "0", "0", "—", "0"],
        ["Strategic Partnership", "0", "—", "—", "—", "0"],
    ]


def test_at_risk_and_overdue_with_reasons(client, world) -> None:
    login(client, "manager@example.com")
    tables = dashboard(client)
    # Overdue first (Dan's two enrolments, by programme title), then at risk (Bob's IMS).
    assert [row[0] for row in cells(tables, "at-risk")] == ["Dan Dean", "Dan Dean", "Bob Baker"]
    bob = cells(tables, "at-risk")[2]
    assert bob[1:7] == [
        "Growth",
        "Spring",
        "Design and Governance of Integrated Marketing Systems",
        "Expert Mastery",
        "At risk",
        "80% of the window gone with 0 of 2 met",
    ]
    # A manager's learner names open the enrolment's page.
    hrefs = [row[0]["href"] for row in tables["at-risk"]["rows"]]
    assert all(
        href and href.startswith(f"/cohorts/{world['spring']}/enrolments/") for href in hrefs
    )


def test_progress_by_module(app, client, world) -> None:
    login(client, "manager@example.com")
    tables = dashboard(client)
    with app.app_context():
        first = db.session.get(Module, world["first"]).title
        second = db.session.get(Module, world["second"]).title
    # IMS enrolments not withdrawn: Ann, Bob, Dan = 3. Module 1: completed Ann, Bob (Cat left,
    # Eve is not in view); in progress Dan (one section); not started: none → 2 of 3 = 66.7%.
    assert row_of(tables, "modules", first)[1:] == [
        "Design and Governance of Integrated Marketing Systems",
        "Initial Adoption",
        "3",
        "2",
        "1",
        "0",
        "66.7%",
    ]
    # Module 2: completed Bob; in progress Ann; not started Dan → 1 of 3 = 33.3%.
    assert row_of(tables, "modules", second)[3:] == ["3", "1", "1", "1", "33.3%"]
    # A MAP module: 3 enrolled, nobody has started.
    with app.app_context():
        platform_module = db.session.scalars(
            select(Module.title).where(Module.programme_id == world["map"]).limit(1)
        ).one()
    assert row_of(tables, "modules", platform_module)[3:] == ["3", "0", "0", "3", "0%"]


def test_score_distribution(app, client, world) -> None:
    login(client, "manager@example.com")
    response = client.get("/dashboard")
    tables = page_tables(response)
    with app.app_context():
        title = learning.assessment(learning.FIRST_CHECK).title
    # Best attempts: Ann 9/10 (passed), Bob 5/10. Cat withdrew, Eve is not in view, Dan's
    # attempt is in progress. Mean (0.9 + 0.5) ÷ 2 = 70%; bands: Bob 40–59%, Ann 80–100%.
    assert row_of(tables, "scores", title)[2:] == [
        "Module",
        "2",
        "70%",
        "1",
        "0",
        "0",
        "1",
        "0",
        "1",
    ]
    # The histogram (same figures, summed over the assessments) is drawn with a text
    # alternative.
    assert "Best scores across the assessments in view" in text(response)
    assert 'role="img"' in response.get_data(as_text=True)


def test_demonstration_queue(app, client, world) -> None:
    login(client, "manager@example.com")
    tables = dashboard(client)
    # Initial: Ann's waits for grading (a minute). Proficiency: Bob's waits for moderation,
    # sent 20 days ago: more than 5 working days.
    initial = row_of(tables, "demonstrations", "Initial Adoption")
    assert initial[1:4] == ["1", "0", "0"] and initial[4] in ("0", "1")
    proficiency = row_of(tables, "demonstrations", "Proficiency Development")
    with app.app_context():
        oldest = age_in_working_days(_naive(now_utc() - timedelta(days=20, minutes=1)))
    assert proficiency[1:] == ["0", "1", "1", str(oldest)] and oldest >= 13
    assert row_of(tables, "demonstrations", "Expert Mastery")[1:] == ["0", "0", "0", "—"]


def test_feature_adoption_by_team(client, world) -> None:
    login(client, "manager@example.com")
    tables = dashboard(client)
    header = tables["adoption"]["header"]
    # Growth: Ann and Bob (Cat withdrew), each taught MAP's 10 features: 20 pairs; in use:
    # Ann's campaign creation and segmentation, Bob's campaign creation = 3 → 15%.
    growth = row_of(tables, "adoption", "Growth")
    assert growth[1:5] == ["2", "20", "3", "15%"]
    # Campaign creation: 2 of 2 taught used it; segmentation 1 of 2; lead scoring 0 of 2.
    column = {title.split(" (")[0]: index for index, title in enumerate(header)}
    assert growth[column["Campaign creation"]] == "100%"
    assert growth[column["Segmentation"]] == "50%"
    assert growth[column["Lead scoring"]] == "0%"
    # Brand: Dan, 10 pairs, none in use (his executive dashboards are not taught).
    assert row_of(tables, "adoption", "Brand")[1:5] == ["1", "10", "0", "0%"]
    assert "Executive dashboards" not in " ".join(header)
    # All: 3 learners, 30 pairs, 3 in use = 10%: the rate /utilisation shows for this cohort.
    assert row_of(tables, "adoption", "All learners in view")[1:5] == ["3", "30", "3", "10%"]


def test_adoption_figures_equal_the_shared_definitions(app, world) -> None:
    """The dashboard counts adoption in SQL; the utilisation pages with the pure functions of
    `lms.adoption.utilisation` (the shared rate definition). Both on the same cohort agree, cell
    by cell."""
    with app.test_request_context():
        cohort = db.session.get(Cohort, world["spring"])
        today = organisation_today()
        shared = group_page(UtilisationScope.cohort(cohort), today, "UTC", by="team")
        viewer = data.Viewer(cohort.manager_id, False)
        view = data.View(viewer, data.Filters(cohort_id=cohort.id), today, "UTC")
        figures = data.Figures(view)
        assert figures.adoption_total.rate == pytest.approx(shared.rate.value)
        assert figures.adoption_total.pairs == shared.rate.detail["pairs"]
        assert figures.adoption_total.adopted == shared.rate.detail["adopted_pairs"]
        mine = {
            (row.team_id, feature): (cell.taught, cell.adopted)
            for row in figures.adoption
            for feature, cell in row.cells.items()
        }
        theirs = {
            (row.key, cell.feature.id): (cell.taught, cell.adopted)
            for row in shared.heat.items
            for cell in row.cells
            if cell.taught
        }
        assert mine == theirs


def test_one_teams_learners_feature_by_feature(client, world) -> None:
    login(client, "manager@example.com")
    tables = dashboard(client, team=world["growth"])
    assert [row[0] for row in cells(tables, "adoption")] == ["Growth", "All learners in view"]
    header = tables["adoption-learners"]["header"]
    column = {title.split(" (")[0]: index for index, title in enumerate(header)}
    ann = row_of(tables, "adoption-learners", "Ann Archer")
    # Ann: taught 10, used 2 of them (breadth 20%), 5 + 3 = 8 uses in the window.
    assert ann[1:5] == ["10", "2", "20%", "8"]
    assert ann[column["Campaign creation"]] == "5" and ann[column["Lead scoring"]] == "0"
    assert row_of(tables, "adoption-learners", "Bob Baker")[1:5] == ["10", "1", "10%", "1"]
    assert len(cells(tables, "adoption-learners")) == 2
    # Without a team filter there is no per-learner table.
    assert "adoption-learners" not in dashboard(client)


def test_change_against_baseline_shows_a_fall_as_negative(client, world) -> None:
    login(client, "manager@example.com")
    tables = dashboard(client)
    # Productivity: (10 − 11.2) ÷ 10 = −12%; manual steps (3 − 2) ÷ 3 = 33.3%; ROI
    # (0.6 − 0.5) ÷ 0.5 = 20%. Only Growth has a baseline: Brand is left out of the pool.
    change = {row[0]: row[1:4] for row in cells(tables, "change")}
    assert change["Productivity improvement"] == ["−12%", "40%", "Below target"]
    assert change["Manual-process reduction"] == ["33.3%", "60%", "Below target"]
    assert change["ROI improvement"] == ["20%", "25%", "Near target"]
    assert row_of(tables, "change-teams", "Growth")[1:] == ["−12%", "33.3%", "20%"]
    assert row_of(tables, "change-teams", "Brand")[1:] == ["—", "—", "—"]
    # Exported as negative numbers too: −12 percentage points in CSV, −0.12 in XLSX.
    csv_rows = list(csv.reader(_text_io(download(client, "csv", "change").decode("utf-8-sig"))))
    assert csv_rows[0][:3] == ["Metric", "Change (%)", "Target (%)"]
    assert csv_rows[1][:2] == ["Productivity improvement", "-12"]
    sheet = load_workbook(io.BytesIO(download(client, "xlsx", "change"))).active
    assert sheet["B2"].value == pytest.approx(-0.12)
    assert sheet["B2"].number_format == "0.0%"
    assert sheet["B2"].data_type == "n"


def test_filters_narrow_every_figure(app, client, world) -> None:
    login(client, "leader@example.com")
    everyone = dashboard(client)
    # The leader sees Eve (Theirs) too: 8 enrolments, one more on track.
    assert row_of(everyone, "status", "On track")[1] == "4"
    spring = dashboard(client, cohort=world["spring"])
    assert row_of(spring, "status", "On track")[1] == "3"
    brand = dashboard(client, team=world["brand"])
    assert row_of(brand, "status", "Overdue")[1] == "2"
    assert sum(int(row[1]) for row in cells(brand, "status")) == 2
    north = dashboard(client, region=world["north"])  # Growth's people only
    assert sum(int(row[1]) for row in cells(north, "status")) == 6
    only_map = dashboard(client, programme=world["map"])
    assert sum(int(row[1]) for row in cells(only_map, "status")) == 3
    with app.app_context():
        today = organisation_today()
    later = (today + timedelta(days=1)).isoformat()
    nobody = dashboard(client, start_from=later)
    assert sum(int(row[1]) for row in cells(nobody, "status")) == 0
    earlier = (today - timedelta(days=75)).isoformat()
    assert sum(int(row[1]) for row in cells(dashboard(client, start_to=earlier), "status")) == 8
    # A date that is not one is said, and left out.
    response = client.get("/dashboard?start_from=31-12-2026")
    assert response.status_code == 200
    assert "Not a valid date value" in response.get_data(as_text=True)


# Exports equal the page ---------------------------------------------------------------------


def download(client, fmt: str, table: str, **args) -> bytes:
    response = client.get("/dashboard", query_string={"format": fmt, "table": table, **args})
    assert response.status_code == 200, (fmt, table, response.status_code)
    assert "attachment" in response.headers["Content-Disposition"]
    # Names and figures: never kept by a shared cache.
    assert response.headers["Cache-Control"] == "private, no-store"
    return response.data


def _text_io(text: str) -> io.StringIO:
    """A CSV file's text to read with `csv.reader` (newline="" keeps quoted line breaks)."""
    return io.StringIO(text, newline="")


def _number(shown: str) -> float:
    return float(shown.replace("−", "-").replace(",", "").rstrip("%"))


def _same(shown: str, csv_value: str, xlsx_cell, percent: bool) -> None:
    """One cell of the page against the same cell of the CSV and of the XLSX (a percent in
    XLSX is the fraction, shown with its number format's decimals)."""
    xlsx_value = xlsx_cell.value
    if shown in ("—", ""):
        assert csv_value == "" and xlsx_value is None, (shown, csv_value, xlsx_value)
    elif percent:
        assert float(csv_value) == pytest.approx(_number(shown)), (shown, csv_value)
        assert isinstance(xlsx_value, int | float) and not isinstance(xlsx_value, bool)
        decimals = len(xlsx_cell.number_format.partition(".")[2].rstrip("%"))
        assert xlsx_cell.number_format.endswith("%")
        assert round(xlsx_value * 100, decimals) == pytest.approx(_number(shown)), (
            shown,
            xlsx_value,
        )
    elif re.fullmatch(r"[−-]?[\d,]+(\.\d+)?", shown):
        assert float(csv_value) == pytest.approx(_number(shown)), (shown, csv_value)
        assert isinstance(xlsx_value, int | float) and not isinstance(xlsx_value, bool)
        assert xlsx_value == pytest.approx(_number(shown)), (shown, xlsx_value)
    else:
        expected = exports.neutralise(shown)
        assert csv_value == expected, (shown, csv_value)
        # XML turns a carriage return into a line feed; the quote in front stays.
        assert xlsx_value == expected.replace("\r", "\n"), (shown, xlsx_value)
        assert xlsx_cell.data_type == "s"


def assert_exports_equal_the_page(client, tables: dict, name: str, **args) -> None:
    page = tables[name]
    csv_rows = list(csv.reader(_text_io(download(client, "csv", name, **args).decode("utf-8-sig"))))
    sheet = load_workbook(io.BytesIO(download(client, "xlsx", name, **args))).active
    xlsx_rows = [list(row) for row in sheet.iter_rows()]
    header = csv_rows[0]
    assert [h.removesuffix(" (%)") for h in header] == page["header"], name
    assert [cell.value for cell in xlsx_rows[0]] == page["header"], name
    shown_rows = [[cell["text"] for cell in row] for row in page["rows"]]
    # A paged table's page is the first rows of the whole export.
    assert len(csv_rows) - 1 >= len(shown_rows) and len(xlsx_rows) == len(csv_rows), name
    for shown, from_csv, from_xlsx in zip(shown_rows, csv_rows[1:], xlsx_rows[1:], strict=False):
        assert len(shown) == len(from_csv) == len(from_xlsx), name
        for column, (value, c, x) in enumerate(zip(shown, from_csv, from_xlsx, strict=True)):
            _same(value, c, x, header[column].endswith("(%)"))


def test_every_table_exports_what_the_page_shows(client, world) -> None:
    login(client, "manager@example.com")
    tables = dashboard(client)
    names = [
        "status",
        "funnel",
        "at-risk",
        "modules",
        "scores",
        "demonstrations",
        "adoption",
        "change",
        "change-teams",
    ]
    assert set(names) <= set(tables)
    for name in names:
        assert_exports_equal_the_page(client, tables, name)
    filtered = dashboard(client, team=world["growth"])
    assert_exports_equal_the_page(client, filtered, "adoption-learners", team=world["growth"])
    # The at-risk table pages on screen; its export has every row.
    assert len(cells(tables, "at-risk")) == 3


def test_a_paged_table_exports_every_row(app, client, world) -> None:
    with app.app_context():
        cohort = db.session.get(Cohort, world["spring"])
        platform = learning.programme(MAP)
        for number in range(55):
            learner = make_user(f"late{number:02d}@example.com", name=f"Late {number:02d}")
            _enrol(cohort, learner, platform, "initial", "overdue", "window ended")
        db.session.commit()
    login(client, "manager@example.com")
    tables = dashboard(client)
    assert len(cells(tables, "at-risk")) == 50
    second = dashboard(client, at_risk_page=2)
    assert len(cells(second, "at-risk")) == 58 - 50
    rows = list(csv.reader(_text_io(download(client, "csv", "at-risk").decode("utf-8-sig"))))
    assert len(rows) == 1 + 58
    assert_exports_equal_the_page(client, tables, "at-risk")


def test_text_that_looks_like_a_formula_is_neutralised(app, client, world) -> None:
    with app.app_context():
        for key, name in (("ann", '=HYPERLINK("http://x")'), ("bob", "+SUM(A1)"), ("dan", "@cmd")):
            db.session.execute(update(User).where(User.id == world[key]).values(name=name))
        db.session.execute(
            update(Enrolment)
            .where(Enrolment.user_id == world["dan"])
            .values(status_reason="-2+3 or\ta tab")
        )
        db.session.commit()
    login(client, "manager@example.com")
    tables = dashboard(client)
    rows = list(csv.reader(_text_io(download(client, "csv", "at-risk").decode("utf-8-sig"))))
    names = [row[0] for row in rows[1:]]
    assert "'@cmd" in names and "'+SUM(A1)" in names
    assert "'-2+3 or\ta tab" in [row[6] for row in rows[1:]]
    sheet = load_workbook(io.BytesIO(download(client, "xlsx", "at-risk"))).active
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str):
                assert cell.data_type == "s"
                assert not cell.value.startswith(("=", "+", "-", "@", "\t", "\r")), cell.value
    assert_exports_equal_the_page(client, tables, "at-risk")
    # The learner list behind a figure neutralises too.
    response = client.get(
        "/dashboard/learners",
        query_string={"figure": "status", "value": "at-risk", "format": "csv"},
    )
    assert "'+SUM(A1)" in response.data.decode("utf-8-sig")


def test_exports_module_rules() -> None:
    table = exports.Table(
        "t",
        "Rules",
        [
            exports.Column("Name"),
            exports.Column("Count", exports.INTEGER),
            exports.Column("Change", exports.PERCENT),
            exports.Column("Hours", exports.NUMBER),
            exports.Column("On", exports.DATE),
        ],
        [
            ["=1+1", -3, -0.125, 2.5, date(2026, 3, 1)],
            ["+x", 4, None, None, None],
            ["-y", 0, 0.5, 1.0, None],
            ["@z", 1, 0.0, 0, None],
            ["\tt", 1, 1.0, 0, None],
            ["\rr", 1, 1.0, 0, None],
            [exports.Cell("plain", href="/x", note="n"), 12345, 0.3333, 0, None],
        ],
    )
    rows = list(csv.reader(_text_io(exports.to_csv(table).decode("utf-8-sig"))))
    assert rows[0] == ["Name", "Count", "Change (%)", "Hours", "On"]
    assert rows[1] == ["'=1+1", "-3", "-12.5", "2.5", "2026-03-01"]
    assert [row[0] for row in rows[2:]] == ["'+x", "'-y", "'@z", "'\tt", "'\rr", "plain"]
    assert rows[2][2:4] == ["", ""]
    assert rows[7][1:3] == ["12345", "33.3"]
    sheet = load_workbook(io.BytesIO(exports.to_xlsx(table))).active
    assert sheet["A2"].value == "'=1+1" and sheet["A2"].data_type == "s"
    assert sheet["B2"].value == -3 and sheet["B2"].data_type == "n"
    assert sheet["C2"].value == pytest.approx(-0.125) and sheet["C2"].number_format == "0.0%"
    assert sheet["E2"].value == datetime(2026, 3, 1)
    assert sheet["C3"].value is None
    # (XML turns the carriage return into a line feed; the quote in front stays.)
    assert [sheet[f"A{n}"].value for n in range(3, 9)] == [
        "'+x",
        "'-y",
        "'@z",
        "'\tt",
        "'\nr",
        "plain",
    ]
    assert table.shown()[0][:3] == ["=1+1", "−3", "−12.5%"]
    assert exports.format_percent(-0.12) == "−12%" and exports.format_percent(0.5) == "50%"
    assert exports.format_percent(-0.0001) == "0%"
    # A formula behind spaces or a line break is still a formula to some spreadsheets.
    assert exports.neutralise(" =1+2") == "' =1+2"
    assert exports.neutralise("\n@cmd") == "'\n@cmd"
    assert exports.neutralise("a = b") == "a = b"


def test_unknown_tables_and_formats_are_404(client, world) -> None:
    login(client, "manager@example.com")
    assert client.get("/dashboard?format=csv&table=nope").status_code == 404
    assert client.get("/dashboard?format=pdf&table=status").status_code == 404
    # The per-learner adoption table needs a team.
    assert client.get("/dashboard?format=csv&table=adoption-learners").status_code == 404


# The learners behind every figure -----------------------------------------------------------


def _drill_links(tables: dict) -> list[tuple[str, str, str]]:
    found = []
    for name, table in tables.items():
        for row in table["rows"]:
            for cell in row:
                if cell["href"] and cell["href"].startswith("/dashboard/learners"):
                    found.append((name, cell["text"], cell["href"]))
    return found


def test_every_count_opens_as_many_rows(client, world) -> None:
    login(client, "manager@example.com")
    for args in ({}, {"team": world["growth"]}):
        tables = dashboard(client, **args)
        links = _drill_links(tables)
        assert len(links) > 30
        for name, shown, href in links:
            response = client.get(href)
            assert response.status_code == 200, href
            page = text(response)
            total = int(re.search(r"(\d+) rows?, (?:by name|oldest first)", page).group(1))
            if re.fullmatch(r"\d+", shown):
                assert total == int(shown), (name, shown, href, total)
            else:  # an adoption cell: a share of the learners taught the feature
                assert total >= 1, (name, shown, href)


def test_drill_down_lists_names_and_status(client, world) -> None:
    login(client, "manager@example.com")
    response = client.get("/dashboard/learners?figure=stage-late&value=expert")
    page = text(response)
    assert "Enrolments that reached Expert Mastery late" in page
    assert "Bob Baker" in page and "At risk" in page and "1 row, by name" in page
    assert "1 row, oldest first" in text(
        client.get("/dashboard/learners?figure=queue-late&value=proficiency")
    )
    tables = page_tables(response)
    assert tables["learners"]["rows"][0][0]["href"].startswith(f"/cohorts/{world['spring']}/")
    response = client.get(
        "/dashboard/learners",
        query_string={"figure": "adoption-using", "value": f"{world['growth']}:"},
    )
    assert "Ann Archer" in text(response) and "Bob Baker" in text(response)
    waiting = text(client.get("/dashboard/learners?figure=queue-moderation&value=proficiency"))
    assert "Bob Baker" in waiting and "Moderation" in waiting
    # Downloads of a drill-down hold the whole list.
    rows = list(
        csv.reader(
            _text_io(
                client.get(
                    "/dashboard/learners?figure=status&value=overdue&format=csv"
                ).data.decode("utf-8-sig")
            )
        )
    )
    assert [row[0] for row in rows[1:]] == ["Dan Dean", "Dan Dean"]


def test_unknown_figures_are_404(client, world) -> None:
    login(client, "manager@example.com")
    for query in (
        "figure=nope&value=1",
        "figure=status&value=sleeping",
        "figure=stage-on-time&value=initial",
        "figure=module-completed&value=x",
        "figure=module-completed&value=999999",
        "figure=score-band&value=1:9",
        "figure=adoption-taught&value=all:999999",
    ):
        assert client.get(f"/dashboard/learners?{query}").status_code == 404, query


# Who may open what --------------------------------------------------------------------------


def test_learners_are_refused_and_visitors_sent_to_sign_in(client, world) -> None:
    for url in ("/dashboard", "/dashboard/learners?figure=team&value=all"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    login(client, "ann@example.com")
    for url in (
        "/dashboard",
        "/dashboard/learners?figure=team&value=all",
        "/dashboard?format=csv&table=status",
    ):
        assert client.get(url).status_code == 403, url


def test_another_managers_cohort_is_404(client, world) -> None:
    login(client, "manager@example.com")
    for query in (
        f"cohort={world['theirs']}",
        "cohort=999999",
        "team=999999",
        "region=999999",
        "programme=999999",
        "cohort=abc",
    ):
        assert client.get(f"/dashboard?{query}").status_code == 404, query
        assert client.get(f"/dashboard/learners?figure=team&value=all&{query}").status_code == 404
        assert client.get(f"/dashboard?format=csv&table=status&{query}").status_code == 404
    # The manager's own view never shows Eve (Theirs).
    for url in ("/dashboard", "/dashboard/learners?figure=team&value=all"):
        assert "Eve Evans" not in client.get(url).get_data(as_text=True)


def test_leaders_see_everyone_to_names_but_never_answers(client, world) -> None:
    login(client, "leader@example.com")
    response = client.get("/dashboard")
    assert response.status_code == 200
    tables = page_tables(response)
    # Eve's IMS enrolment counts: 4 learners in view.
    assert "Learners 4 " in text(response)
    everyone = client.get("/dashboard/learners?figure=team&value=all")
    assert "Eve Evans" in text(everyone) and "Ann Archer" in text(everyone)
    # No link into the cohort pages (a leader cannot open them), no answers, no submitted work.
    pages = [response, everyone]
    for _, _, href in _drill_links(tables):
        drill = client.get(href)
        assert drill.status_code == 200
        pages.append(drill)
        for row in page_tables(drill).get("learners", {"rows": []})["rows"]:
            assert row[0]["href"] is None
    for name in tables:
        pages.append(client.get(f"/dashboard?format=csv&table={name}"))
    for page in pages:
        body = page.get_data(as_text=True)
        assert SECRET_ANSWER not in body and SECRET_WORK not in body
        assert "/cohorts/" not in body


def test_managers_never_see_answers_either(client, world) -> None:
    login(client, "manager@example.com")
    tables = dashboard(client)
    for _, _, href in _drill_links(tables):
        body = client.get(href).get_data(as_text=True)
        assert SECRET_ANSWER not in body and SECRET_WORK not in body


def test_navigation_offers_the_dashboard_to_managers_and_leaders(client, world) -> None:
    login(client, "manager@example.com")
    assert 'href="/dashboard"' in client.get("/").get_data(as_text=True)
    submit(client, "/", {}, to="/logout")
    login(client, "leader@example.com")
    assert 'href="/dashboard"' in client.get("/").get_data(as_text=True)
    submit(client, "/", {}, to="/logout")
    login(client, "ann@example.com")
    assert 'href="/dashboard"' not in client.get("/").get_data(as_text=True)


def test_pages_have_unique_ids_and_nothing_inline(client, world) -> None:
    login(client, "manager@example.com")
    for url in (
        "/dashboard",
        f"/dashboard?team={world['growth']}",
        "/dashboard/learners?figure=team&value=all",
    ):
        body = client.get(url).get_data(as_text=True)
        ids = re.findall(r'\sid="([^"]+)"', body)
        assert len(ids) == len(set(ids)), url
        assert "<script" not in body and " style=" not in body and "<style" not in body
        # Every table has a caption and its headers a scope.
        assert body.count("<table") == body.count("<caption")
        assert "<th>" not in body


# A fixed number of queries ------------------------------------------------------------------


def _reseed(app: Flask, size: str) -> None:
    from lms.accounts.operations import ensure_roles
    from lms.curricula.loader import load_curricula
    from lms.demo.seed import seed
    from tests.conftest import CURRICULA

    with app.app_context():
        _clear_database()
        ensure_roles()
        assert load_curricula(CURRICULA).ok
        seed(size)
        manager = db.session.scalar(select(User.id).where(User.email == "manager@example.com"))
        # manager@ manages every cohort, so their view grows with the size too.
        db.session.execute(update(Cohort).values(manager_id=manager))
        db.session.commit()


def _queries(app: Flask, count_queries) -> dict[str, int]:
    from lms.demo.seed import DEMO_PASSWORD

    counts = {}
    with app.app_context():
        team = db.session.scalar(select(User.team_id).where(User.email == "learner@example.com"))
        feature = db.session.scalar(select(Feature.id).where(Feature.slug == "campaign-creation"))
    for email in ("manager@example.com", "leader@example.com"):
        client = app.test_client()
        assert login(client, email, DEMO_PASSWORD).status_code == 302
        for name, url in (
            ("page", "/dashboard"),
            ("team", f"/dashboard?team={team}"),
            ("page 2", "/dashboard?at_risk_page=2&modules_page=2"),
            ("learners", "/dashboard/learners?figure=status&value=on-track"),
            ("adoption", f"/dashboard/learners?figure=adoption-taught&value={team}:{feature}"),
        ):
            assert client.get(url).status_code == 200, url  # warm up
            with count_queries() as statements:
                assert client.get(url).status_code == 200, url
            counts[f"{email} {name}"] = len(statements)
    return counts


def test_queries_do_not_grow_with_the_organisation(app: Flask, count_queries) -> None:
    _reseed(app, "S")
    with app.app_context():
        small_enrolments = db.session.scalar(select(func.count(Enrolment.id)))
    small = _queries(app, count_queries)
    _reseed(app, "M")
    with app.app_context():
        assert db.session.scalar(select(func.count(Enrolment.id))) >= 8 * small_enrolments
    large = _queries(app, count_queries)
    assert large == small
    # Bounded: the whole dashboard is about thirty statements (two per section or so).
    assert max(large.values()) <= 40, large


# The drill-down links carry the filters -----------------------------------------------------


def test_drill_down_links_keep_the_filters(client, world) -> None:
    login(client, "manager@example.com")
    tables = dashboard(client, team=world["growth"], programme=world["ims"])
    for _, _, href in _drill_links(tables):
        query = parse_qs(urlsplit(href).query)
        assert query["team"] == [str(world["growth"])] and query["programme"] == [str(world["ims"])]
    # Dan (Brand) is out of every list.
    for _, _, href in _drill_links(tables):
        assert "Dan Dean" not in client.get(href).get_data(as_text=True)
