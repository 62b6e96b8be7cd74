"""The records behind the business metrics, per team: the process inventory built from the
framework with its history of changes, the campaign log (form, edit, CSV import), integration
checkpoints, baselines, the JSON API, endorsements, and who may open (and change) what."""

from __future__ import annotations

import copy
import html
import io
import re
import shutil
from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from lms.accounts.models import User
from lms.adoption import records_ops as ops
from lms.adoption.records import (
    CampaignLog,
    Endorsement,
    IntegrationCheckpoint,
    MetricBaseline,
    ProcessStep,
    ProcessStepChange,
)
from lms.api import tokens
from lms.audit.models import AuditEvent
from lms.cohorts import operations as cohort_ops
from lms.core.timeutil import now_utc
from lms.curricula.loader import load_curricula
from lms.curricula.models import FrameworkDocument, Programme
from lms.extensions import db
from lms.organisation.models import Enrolment, OrgUnit
from lms.organisation.operations import ensure_unit
from tests.conftest import CURRICULA, login, make_user, submit

PROCEDURE_STEPS = {
    "campaign-creation-launch": 6,
    "cross-channel-coordination": 5,
    "executive-reporting": 5,
    "performance-optimization": 5,
}
CSV_HEADER = "team,campaign,launched_on,hours_spent,cost,attributed_revenue,kpi_name,kpi_value\n"


def text(response) -> str:
    """The page's text with entities decoded and tags dropped, so sentences read as shown."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(True))))


def count(app: Flask, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def events(app: Flask, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
        )


def today() -> date:
    """The organisation's today (its time zone is UTC in these tests)."""
    return now_utc().date()


@pytest.fixture
def framework(app: Flask, tmp_path) -> None:
    """Only the adoption framework (procedures, domains, stages): fast to load."""
    shutil.copy(CURRICULA / "framework.yaml", tmp_path)
    with app.app_context():
        report = load_curricula(tmp_path)
        assert report.ok, report.problems
        db.session.commit()


@pytest.fixture
def world(app: Flask, users, framework) -> dict[str, int]:
    """Two teams. The manager's cohort has the learner of Growth; another manager's cohort has
    the learner of Brand. A third team, Quiet, has nobody enrolled."""
    with app.app_context():
        region = ensure_unit("region", "Europe")
        growth = ensure_unit("team", "Growth", region)
        brand = ensure_unit("team", "Brand", region)
        quiet = ensure_unit("team", "Quiet", region)
        other = make_user("other.manager@example.com", ("manager",), name="Olga Other")
        learner = db.session.get(User, users["learner"])
        learner2 = db.session.get(User, users["learner2"])
        learner.team, learner2.team = growth, brand
        programme = Programme(
            slug="test-platform",
            kind="platform",
            title="Test platform",
            summary="For tests.",
            source="tests",
            version="1.0.0",
            content_hash="x",
            gates={},
        )
        db.session.add(programme)
        db.session.flush()
        manager = db.session.get(User, users["manager"])
        own = cohort_ops.create_cohort("Spring", today(), manager, [programme])
        theirs = cohort_ops.create_cohort("Autumn", today(), other, [programme])
        cohort_ops.enrol(own, learner, reason="set-up")
        cohort_ops.enrol(theirs, learner2, reason="set-up")
        db.session.commit()
        return {
            **users,
            "other_manager": other.id,
            "growth": growth.id,
            "brand": brand.id,
            "quiet": quiet.id,
        }


def signed_in(client: FlaskClient, email: str = "manager@example.com") -> FlaskClient:
    response = login(client, email)
    assert response.status_code == 302, "sign-in failed"
    return client


def team(team_id: int) -> OrgUnit:
    return db.session.get(OrgUnit, team_id)


def step_of(team_id: int, procedure: str, number: int) -> ProcessStep:
    return db.session.scalar(
        select(ProcessStep).where(
            ProcessStep.team_id == team_id,
            ProcessStep.procedure == procedure,
            ProcessStep.step_number == number,
        )
    )


def checkpoint_of(team_id: int, domain: str, item: str) -> IntegrationCheckpoint:
    return db.session.scalar(
        select(IntegrationCheckpoint).where(
            IntegrationCheckpoint.team_id == team_id,
            IntegrationCheckpoint.domain == domain,
            IntegrationCheckpoint.item == item,
        )
    )


# --- process inventory -------------------------------------------------------------------------


def test_inventory_has_every_step_of_the_four_procedures_once(app, ctx, world) -> None:
    growth = team(world["growth"])
    created = ops.ensure_inventory(growth)
    db.session.commit()
    assert len(created) == 21 == sum(PROCEDURE_STEPS.values())
    by_procedure = dict(
        db.session.execute(
            select(ProcessStep.procedure, func.count())
            .where(ProcessStep.team_id == growth.id)
            .group_by(ProcessStep.procedure)
        ).all()
    )
    assert by_procedure == PROCEDURE_STEPS
    first = step_of(growth.id, "campaign-creation-launch", 1)
    assert first.title == "Strategic Planning"
    assert not ops.state_on(first.changes).automated  # every step starts manual
    assert ops.ensure_inventory(growth) == []  # idempotent
    assert count(app, ProcessStep) == 21
    # Another team gets its own inventory.
    assert len(ops.ensure_inventory(team(world["brand"]))) == 21


def test_inventory_gains_the_steps_the_framework_gains(app, ctx, world) -> None:
    growth = team(world["growth"])
    ops.ensure_inventory(growth)
    document = db.session.scalar(select(FrameworkDocument))
    content = copy.deepcopy(document.content)
    content["procedures"][0]["steps"].append(
        {"number": 7, "title": "Retrospective", "description": "What we learnt."}
    )
    content["procedures"][1]["steps"][0]["title"] = "Channel Strategy and Budget"
    document.content = content
    db.session.flush()
    created = ops.ensure_inventory(growth)
    assert [(s.procedure, s.step_number, s.title) for s in created] == [
        ("campaign-creation-launch", 7, "Retrospective")
    ]
    assert step_of(growth.id, "cross-channel-coordination", 1).title == (
        "Channel Strategy and Budget"
    )
    db.session.commit()
    assert count(app, ProcessStep) == 22


def test_every_teams_records_can_be_completed_at_once(app, ctx, world) -> None:
    ops.ensure_inventory(team(world["growth"]))
    assert ops.ensure_all_teams() == (2 * 21, 3 * 20)
    assert ops.ensure_all_teams() == (0, 0)


def test_the_state_of_a_step_follows_its_history_by_date(app, ctx, world) -> None:
    growth = team(world["growth"])
    ops.ensure_inventory(growth)
    step = step_of(growth.id, "executive-reporting", 1)
    day = today()
    ops.record_step_change(step, automated=True, changed_on=day - timedelta(days=30))
    ops.record_step_change(step, automated=False, changed_on=day - timedelta(days=10), note="Bot")
    # A change recorded later but dated earlier takes its place in the history.
    ops.record_step_change(step, automated=True, changed_on=day - timedelta(days=5))
    assert ops.state_on(step.changes, day - timedelta(days=31)).automated is False
    assert ops.state_on(step.changes, day - timedelta(days=20)).automated is True
    assert ops.state_on(step.changes, day - timedelta(days=10)).note == "Bot"
    latest = ops.state_on(step.changes)
    assert latest.automated and latest.since == day - timedelta(days=5)
    # The same change again records nothing; a change to the state it had is refused.
    assert ops.record_step_change(step, automated=True, changed_on=day - timedelta(days=5)) is None
    with pytest.raises(ops.RecordsError, match="automated already"):
        ops.record_step_change(step, automated=True, changed_on=day)
    with pytest.raises(ops.RecordsError, match="starts manual"):
        ops.record_step_change(step, automated=False, changed_on=day - timedelta(days=40))
    with pytest.raises(ops.RecordsError, match="future"):
        ops.record_step_change(step, automated=False, changed_on=day + timedelta(days=1))
    assert len(step.changes) == 3


def test_the_records_index_counts_each_teams_records(app, client, world) -> None:
    with app.app_context():
        growth = team(world["growth"])
        ops.ensure_inventory(growth)
        ops.ensure_checkpoints(growth)
        day = today()
        first = step_of(growth.id, "executive-reporting", 1)
        ops.record_step_change(first, automated=True, changed_on=day - timedelta(days=9))
        ops.record_step_change(first, automated=False, changed_on=day - timedelta(days=3))
        second = step_of(growth.id, "executive-reporting", 2)
        ops.record_step_change(second, automated=True, changed_on=day - timedelta(days=1))
        ops.set_checkpoint(
            checkpoint_of(growth.id, "sales", "crm-integration"),
            status="achieved",
            achieved_on=day,
            evidence="Live",
        )
        ops.add_campaign(growth, campaign())
        ops.set_baseline(growth, "roi-improvement", period_start=day, period_end=day)
        summary = ops.team_summaries([growth.id, world["brand"]])
        assert summary[growth.id] == ops.TeamSummary(
            steps=21,
            automated=1,
            campaigns=1,
            last_launched=day - timedelta(days=10),
            checkpoints=20,
            achieved=1,
            baselines=1,
        )
        assert summary[world["brand"]] == ops.TeamSummary()
        db.session.commit()
    signed_in(client, "admin@example.com")
    body = text(client.get("/records/"))
    assert "Growth Europe 1 of 21 1" in body and "1 of 20 1 of 4" in body
    assert "Quiet Europe not started 0" in body


def test_a_change_is_recorded_audited_and_shown_with_its_history(app, client, world) -> None:
    signed_in(client)
    page = f"/records/teams/{world['growth']}/processes"
    response = client.get(page)
    assert response.status_code == 200
    body = text(response)
    assert "Strategic Planning" in body and "Continuous Improvement" in body
    assert "0 of 21" in body
    with app.app_context():
        step_id = step_of(world["growth"], "campaign-creation-launch", 3).id
    changed = today() - timedelta(days=3)
    response = submit(
        client,
        page,
        {
            f"step-{step_id}-automated": "automated",
            f"step-{step_id}-changed_on": changed.isoformat(),
            f"step-{step_id}-note": "Triggers run in the automation platform",
        },
        to=f"{page}/{step_id}",
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{page}#step-{step_id}")
    with app.app_context():
        (change,) = db.session.scalars(select(ProcessStepChange)).all()
        assert change.step_id == step_id and change.automated and change.changed_on == changed
        assert change.recorded_by_id == world["manager"]
    (event,) = events(app, "process_step.changed")
    assert event.actor_id == world["manager"] and event.target_id == str(step_id)
    assert event.details["automated"] is True and event.details["changed_on"] == str(changed)
    # Back to manual today: both changes are in the history, newest first.
    submit(
        client,
        page,
        {f"step-{step_id}-automated": "manual", f"step-{step_id}-changed_on": str(today())},
        to=f"{page}/{step_id}",
    )
    body = text(client.get(page))
    assert "0 of 21" in body
    history = re.search(r"History and change of Technical Setup(.*?)It became", body).group(1)
    assert history.index("manual") < history.index("automated")
    assert "Triggers run in the automation platform" in history
    assert "recorded by Manager" in history
    assert len(events(app, "process_step.changed")) == 2


def test_a_future_date_is_refused_beside_the_field(app, client, world) -> None:
    signed_in(client)
    page = f"/records/teams/{world['growth']}/processes"
    client.get(page)
    with app.app_context():
        step_id = step_of(world["growth"], "executive-reporting", 2).id
    response = submit(
        client,
        page,
        {
            f"step-{step_id}-automated": "automated",
            f"step-{step_id}-changed_on": str(today() + timedelta(days=1)),
        },
        to=f"{page}/{step_id}",
    )
    assert response.status_code == 200
    assert "The date it changed cannot be in the future." in text(response)
    assert count(app, ProcessStepChange) == 0
    assert events(app, "process_step.changed") == []


def test_the_process_page_runs_the_same_queries_whatever_the_history(
    app, client, world, count_queries
) -> None:
    signed_in(client)
    page = f"/records/teams/{world['growth']}/processes"
    client.get(page)
    counts = []
    for _ in range(2):
        with count_queries() as statements:
            assert client.get(page).status_code == 200
        counts.append(len(statements))
        with app.app_context():
            for step in db.session.scalars(select(ProcessStep)):
                for days in (20, 10):
                    ops.record_step_change(
                        step, automated=days == 20, changed_on=today() - timedelta(days=days)
                    )
            db.session.commit()
    assert counts[0] == counts[1], counts


# --- campaign log ------------------------------------------------------------------------------


def campaign(**changes) -> dict[str, str]:
    values = {
        "campaign": "Spring launch",
        "launched_on": str(today() - timedelta(days=10)),
        "hours_spent": "42.5",
        "cost": "1200",
        "attributed_revenue": "5400.50",
        "kpi_name": "",
        "kpi_value": "",
    }
    values.update(changes)
    return values


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"hours_spent": "-1"}, "hours_spent", "Hours cannot be negative."),
        ({"cost": "-0.01"}, "cost", "The cost cannot be negative."),
        ({"attributed_revenue": "-5"}, "attributed_revenue", "The revenue cannot be negative."),
        ({"hours_spent": ""}, "hours_spent", "Give the hours the team spent (0 if none)."),
        ({"cost": "NaN"}, "cost", "Give a number."),
        (
            {"launched_on": str(date.today() + timedelta(days=2))},
            "launched_on",
            "Launched on cannot be in the future",
        ),
        (
            {"kpi_name": "Conversion rate"},
            "kpi_value",
            "KPI value is empty: give the KPI's value with its name",
        ),
        ({"kpi_value": "0.04"}, "kpi_name", "KPI name is empty: name the KPI whose value you give"),
        ({"campaign": ""}, "campaign", "Name the campaign."),
    ],
)
def test_adding_a_campaign_checks_every_field(app, client, world, changes, field, message) -> None:
    signed_in(client)
    page = f"/records/teams/{world['growth']}/campaigns"
    response = submit(client, page, campaign(**changes))
    assert response.status_code == 200
    assert f'<p class="error" id="{field}-error">' in response.text
    assert message in text(response)
    assert count(app, CampaignLog) == 0


def test_a_campaign_form_says_everything_that_is_wrong_at_once(app, client, world) -> None:
    signed_in(client)
    response = submit(
        client,
        f"/records/teams/{world['growth']}/campaigns",
        campaign(hours_spent="-1", launched_on=str(today() + timedelta(days=1)), kpi_name="CTR"),
    )
    body = text(response)
    assert "Hours cannot be negative." in body
    assert "Launched on cannot be in the future" in body
    assert "KPI value is empty: give the KPI's value with its name" in body
    assert count(app, CampaignLog) == 0
    with app.app_context(), pytest.raises(ops.CampaignProblems) as refused:
        ops.check_campaign(campaign(cost="-1", attributed_revenue="lots"))
    assert str(refused.value) == (
        "cost cannot be negative; attributed_revenue 'lots' is not a number (use a dot for "
        "decimals and no thousands separators)"
    )
    with app.app_context():
        for huge in (10**400, "1e400", 2e12):
            with pytest.raises(ops.CampaignProblems, match="^cost "):
                ops.check_campaign(campaign(cost=huge))


def test_a_campaign_is_added_listed_with_totals_and_edited(app, client, world) -> None:
    signed_in(client)
    page = f"/records/teams/{world['growth']}/campaigns"
    response = submit(client, page, campaign(kpi_name="Conversion rate", kpi_value="0.04"))
    assert response.status_code == 302
    submit(
        client,
        page,
        campaign(
            campaign="Autumn push",
            cost="800",
            attributed_revenue="0",
            launched_on=str(today() - timedelta(days=2)),
        ),
    )
    body = text(client.get(page))
    assert body.index("Autumn push") < body.index("Spring launch")  # newest first
    assert "Campaigns 2" in body and "Cost 2,000.00" in body
    assert "Attributed revenue 5,400.50" in body and "ROI 170%" in body
    assert "Conversion rate: 0.04" in body
    (recorded,) = events(app, "campaign.recorded")[:1]
    assert recorded.details["campaign"] == "Spring launch"
    # The same campaign (name and launch date) twice is refused: edit it instead.
    again = submit(client, page, campaign())
    assert "has a campaign named 'Spring launch'" in text(again)
    assert count(app, CampaignLog) == 2
    with app.app_context():
        row_id = db.session.scalar(
            select(CampaignLog.id).where(CampaignLog.campaign == "Spring launch")
        )
    edit = f"{page}/{row_id}/edit"
    refused = submit(client, edit, campaign(hours_spent="-3"))
    assert "Hours cannot be negative." in text(refused)
    clash = submit(
        client, edit, campaign(campaign="Autumn push", launched_on=str(today() - timedelta(days=2)))
    )
    assert "has another campaign named 'Autumn push'" in text(clash)
    saved = submit(
        client, edit, campaign(hours_spent="30", kpi_name="Conversion rate", kpi_value="0.05")
    )
    assert saved.status_code == 302
    with app.app_context():
        row = db.session.get(CampaignLog, row_id)
        assert (row.hours_spent, row.kpi_value) == (30, 0.05)
    (updated,) = events(app, "campaign.updated")
    assert updated.details["changes"]["hours_spent"] == [42.5, 30.0]


def test_the_campaign_list_is_paged_newest_first(app, client, world) -> None:
    with app.app_context():
        for number in range(30):
            db.session.add(
                CampaignLog(
                    team_id=world["growth"],
                    campaign=f"Campaign {number:02}",
                    launched_on=today() - timedelta(days=number),
                    hours_spent=1,
                    cost=1,
                    attributed_revenue=2,
                )
            )
        db.session.commit()
    signed_in(client)
    first = text(client.get(f"/records/teams/{world['growth']}/campaigns"))
    assert "Showing 1–25 of 30" in first and "Campaign 00" in first and "Campaign 29" not in first
    second = text(client.get(f"/records/teams/{world['growth']}/campaigns?page=2"))
    assert "Campaign 29" in second and "Campaign 00" not in second
    assert "Campaigns 30" in second  # totals cover every campaign, not the page


def upload(client: FlaskClient, content: str, filename: str = "campaigns.csv"):
    return submit(
        client,
        "/records/campaigns/import",
        {"file": (io.BytesIO(content.encode()), filename)},
        content_type="multipart/form-data",
    )


def refused_lines(response) -> dict[int, str]:
    rows = re.findall(
        r'<tr><td class="num">(\d+)</td><td>(.*?)</td></tr>', response.get_data(as_text=True)
    )
    return {int(line): html.unescape(reason) for line, reason in rows}


def test_csv_import_reports_bad_rows_by_line_keeps_good_ones_and_is_idempotent(
    app, client, world
) -> None:
    yesterday = today() - timedelta(days=1)
    content = (
        CSV_HEADER
        + f"Growth,Spring launch,{yesterday},40,1000,3000,Conversion rate,0.03\n"  # 2 good
        + f"growth,Summer sale,{yesterday},12.5,200,0,,\n"  # 3 good (any case)
        + f"Nowhere,Ghost,{yesterday},1,1,1,,\n"  # 4 unknown team
        + f"Growth,Negative,{yesterday},-2,1,1,,\n"  # 5
        + "Growth,Bad date,31/12/2025,1,1,1,,\n"  # 6
        + f"Growth,Future,{today() + timedelta(days=3)},1,1,1,,\n"  # 7
        + f"Growth,Half KPI,{yesterday},1,1,1,CTR,\n"  # 8
        + f"Growth,Spring launch,{yesterday},41,1000,3000,,\n"  # 9 again in the file
        + f"Brand,Theirs,{yesterday},1,1,1,,\n"  # 10 another manager's team
        + f"Growth,Too many,{yesterday},1,1,1,,,extra\n"  # 11
        + "\n"  # 12 empty: skipped
        + f'Growth,"Quoted, with comma",{yesterday},1,"1000.5",1,,\n'  # 13 good
        + f"Growth,Words,{yesterday},ten,1,1,,\n"  # 14
    )
    signed_in(client)
    response = upload(client, content)
    assert response.status_code == 200
    problems = refused_lines(response)
    assert sorted(problems) == [4, 5, 6, 7, 8, 9, 10, 11, 14]
    assert problems[4] == "team 'Nowhere' does not exist"
    assert problems[5] == "hours_spent cannot be negative"
    assert "is not a date such as" in problems[6]
    assert problems[7] == "launched_on cannot be in the future"
    assert "kpi_value is empty" in problems[8]
    assert "appears again (first at 2)" in problems[9]
    assert problems[10] == "team 'Brand' is not one whose records you keep"
    assert "more cells" in problems[11]
    assert "is not a number" in problems[14]
    assert "3 added, 0 updated, 0 unchanged, 9 refused" in text(response)
    with app.app_context():
        rows = {
            row.campaign: row
            for row in db.session.scalars(select(CampaignLog).order_by(CampaignLog.id))
        }
        assert set(rows) == {"Spring launch", "Summer sale", "Quoted, with comma"}
        assert rows["Spring launch"].kpi_value == 0.03 and rows["Quoted, with comma"].cost == 1000.5
        assert {row.team_id for row in rows.values()} == {world["growth"]}
    (event,) = events(app, "campaigns.imported")
    assert event.details["created"] == 3 and len(event.details["refused"]) == 9
    # The same file again doubles nothing; a changed figure updates the campaign.
    again = upload(client, content.replace("12.5,200", "13,200"))
    assert "0 added, 1 updated, 2 unchanged, 9 refused" in text(again)
    assert count(app, CampaignLog) == 3
    with app.app_context():
        assert (
            db.session.scalar(
                select(CampaignLog.hours_spent).where(CampaignLog.campaign == "Summer sale")
            )
            == 13
        )


def test_csv_import_refuses_a_file_without_the_needed_columns(app, client, world) -> None:
    signed_in(client)
    response = upload(client, "team,campaign,launched_on\nGrowth,X,2026-01-01\n")
    assert refused_lines(response) == {
        1: "the header lacks the column(s) hours_spent, cost, attributed_revenue; expected "
        "team, campaign, launched_on, hours_spent, cost, attributed_revenue, kpi_name, kpi_value"
    }
    not_utf8 = upload(client, "")
    assert not_utf8.status_code == 200
    latin = submit(
        client,
        "/records/campaigns/import",
        {
            "file": (
                io.BytesIO((CSV_HEADER + "Growth,Café,2026-01-01,1,1,1,,\n").encode("latin-1")),
                "c.csv",
            )
        },
        content_type="multipart/form-data",
    )
    assert "not UTF-8" in text(latin)
    assert count(app, CampaignLog) == 0


# --- integration checkpoints -------------------------------------------------------------------


def test_checkpoints_come_from_the_four_domains_and_their_items(app, ctx, world) -> None:
    growth = team(world["growth"])
    created = ops.ensure_checkpoints(growth)
    assert len(created) == 20
    assert {cp.domain for cp in created} == {"sales", "product", "customer-success", "finance"}
    assert all(cp.status == "planned" for cp in created)
    assert checkpoint_of(growth.id, "sales", "crm-integration").title == "CRM Integration"
    assert ops.ensure_checkpoints(growth) == []
    db.session.commit()
    assert count(app, IntegrationCheckpoint) == 20


def test_a_checkpoint_is_achieved_with_date_and_evidence_and_back_to_planned(
    app, client, world
) -> None:
    signed_in(client)
    page = f"/records/teams/{world['growth']}/integration"
    body = text(client.get(page))
    assert "Sales Domain Integration Training" in body and "Finance Domain" in body
    assert "Achieved 0 of 20" in body
    with app.app_context():
        cp_id = checkpoint_of(world["growth"], "finance", "roi-calculation").id
    url = f"{page}/{cp_id}"
    fields = {
        f"cp-{cp_id}-status": "achieved",
        f"cp-{cp_id}-achieved_on": str(today() - timedelta(days=1)),
        f"cp-{cp_id}-evidence": "",
    }
    no_evidence = submit(client, page, fields, to=url)
    assert "Evidence is required" not in text(no_evidence)  # the message says what to give
    assert "Say what shows it was achieved: the evidence is required." in text(no_evidence)
    no_date = submit(
        client,
        page,
        {**fields, f"cp-{cp_id}-achieved_on": "", f"cp-{cp_id}-evidence": "Board paper"},
        to=url,
    )
    assert "Give the date it was achieved." in text(no_date)
    future = submit(
        client,
        page,
        {
            **fields,
            f"cp-{cp_id}-achieved_on": str(today() + timedelta(1)),
            f"cp-{cp_id}-evidence": "Board paper",
        },
        to=url,
    )
    assert "cannot be in the future" in text(future)
    with app.app_context():
        assert db.session.get(IntegrationCheckpoint, cp_id).status == "planned"
    assert events(app, "integration_checkpoint.achieved") == []
    done = submit(
        client, page, {**fields, f"cp-{cp_id}-evidence": "ROI dashboard in finance pack"}, to=url
    )
    assert done.status_code == 302
    with app.app_context():
        cp = db.session.get(IntegrationCheckpoint, cp_id)
        assert (cp.status, cp.achieved_on, cp.evidence) == (
            "achieved",
            today() - timedelta(days=1),
            "ROI dashboard in finance pack",
        )
        assert cp.updated_by_id == world["manager"]
    (event,) = events(app, "integration_checkpoint.achieved")
    assert event.details["evidence"] == "ROI dashboard in finance pack"
    body = text(client.get(page))
    assert "Achieved 1 of 20" in body and "ROI dashboard in finance pack" in body
    back = submit(client, page, {f"cp-{cp_id}-status": "planned"}, to=url)
    assert back.status_code == 302
    with app.app_context():
        cp = db.session.get(IntegrationCheckpoint, cp_id)
        assert (cp.status, cp.achieved_on, cp.evidence) == ("planned", None, None)
    (event,) = events(app, "integration_checkpoint.planned")
    assert event.details["before"]["evidence"] == "ROI dashboard in finance pack"


# --- baselines ---------------------------------------------------------------------------------


def test_baselines_are_checked_and_set_per_metric(app, client, world) -> None:
    signed_in(client)
    page = f"/records/teams/{world['growth']}/baselines"
    body = text(client.get(page))
    for label in (
        "Productivity improvement",
        "Manual-process reduction",
        "ROI improvement",
        "Campaign performance improvement",
    ):
        assert label in body
    metric = "roi-improvement"
    url = f"{page}/{metric}"
    start, end = today() - timedelta(days=120), today() - timedelta(days=30)
    backwards = submit(
        client,
        page,
        {f"{metric}-period_start": str(end), f"{metric}-period_end": str(start)},
        to=url,
    )
    assert "The period cannot end before it starts." in text(backwards)
    future = submit(
        client,
        page,
        {f"{metric}-period_start": str(start), f"{metric}-period_end": str(today() + timedelta(1))},
        to=url,
    )
    assert "cannot end in the future" in text(future)
    missing = submit(client, page, {f"{metric}-period_start": str(start)}, to=url)
    assert "Give a date such as 2026-03-31." in text(missing)
    assert count(app, MetricBaseline) == 0
    saved = submit(
        client,
        page,
        {f"{metric}-period_start": str(start), f"{metric}-period_end": str(end)},
        to=url,
    )
    assert saved.status_code == 302
    with app.app_context():
        db.session.add(
            CampaignLog(
                team_id=world["growth"],
                campaign="In the baseline",
                launched_on=start + timedelta(days=1),
                hours_spent=1,
                cost=1,
                attributed_revenue=1,
            )
        )
        db.session.commit()
    assert "Campaigns in it 1" in text(client.get(page))
    moved = submit(
        client,
        page,
        {
            f"{metric}-period_start": str(start - timedelta(days=10)),
            f"{metric}-period_end": str(end),
        },
        to=url,
    )
    assert moved.status_code == 302
    with app.app_context():
        (row,) = db.session.scalars(select(MetricBaseline)).all()
        assert (row.metric, row.period_start, row.period_end) == (
            metric,
            start - timedelta(days=10),
            end,
        )
    first, second = events(app, "metric_baseline.set")
    assert first.details["before"] is None and second.details["before"] == [str(start), str(end)]
    assert submit(client, page, {}, to=f"{page}/no-such-metric").status_code == 404


def test_a_single_day_baseline_is_allowed(app, ctx, world) -> None:
    row = ops.set_baseline(
        team(world["growth"]),
        "productivity-improvement",
        period_start=today(),
        period_end=today(),
    )
    assert row.period_start == row.period_end == today()
    with pytest.raises(ops.RecordsError, match="no baseline"):
        ops.set_baseline(
            team(world["growth"]), "happiness", period_start=today(), period_end=today()
        )


# --- the JSON API ------------------------------------------------------------------------------


def api_token(app: Flask, user_id: int, scopes=("metrics:write",), kind="personal") -> dict:
    with app.app_context():
        issued = tokens.issue(db.session.get(User, user_id), "test", list(scopes), kind=kind)
        db.session.commit()
        return {"Authorization": f"Bearer {issued.plain}"}


ENDPOINTS = {
    "/api/v1/campaigns": {"campaigns": []},
    "/api/v1/process-steps/changes": {"changes": []},
    "/api/v1/integration-checkpoints": {"checkpoints": []},
}


@pytest.mark.parametrize("url", list(ENDPOINTS))
def test_api_needs_a_token_with_metrics_write(app, world, url) -> None:
    api = app.test_client()
    anonymous = api.post(url, json=ENDPOINTS[url])
    assert anonymous.status_code == 401 and anonymous.get_json()["error"] == "unauthorised"
    read_only = api.post(
        url, json=ENDPOINTS[url], headers=api_token(app, world["leader"], ("read",))
    )
    assert read_only.status_code == 403 and read_only.get_json()["error"] == "forbidden"
    not_a_list = api.post(url, json={"x": 1}, headers=api_token(app, world["manager"]))
    assert not_a_list.status_code == 400 and not_a_list.get_json()["error"] == "bad_request"
    not_json = api.post(
        url, data="a,b", content_type="text/csv", headers=api_token(app, world["manager"])
    )
    assert not_json.status_code == 400 and not_json.is_json


def test_api_campaigns_answer_by_index_and_update_on_resend(app, world) -> None:
    api = app.test_client()
    headers = api_token(app, world["manager"])
    day = str(today() - timedelta(days=4))
    batch = [
        {
            "team": "Growth",
            "campaign": "API one",
            "launched_on": day,
            "hours_spent": 10,
            "cost": 100,
            "attributed_revenue": 250,
            "kpi_name": "CTR",
            "kpi_value": 0.02,
        },
        {
            "team": "Growth",
            "campaign": "API two",
            "launched_on": day,
            "hours_spent": -1,
            "cost": 1,
            "attributed_revenue": 1,
        },
        "not an object",
        {
            "team": "Brand",
            "campaign": "Theirs",
            "launched_on": day,
            "hours_spent": 1,
            "cost": 1,
            "attributed_revenue": 1,
        },
        {
            "team": "Growth",
            "campaign": "API three",
            "launched_on": day,
            "hours_spent": True,
            "cost": 1,
            "attributed_revenue": 1,
        },
        {
            "team": "growth",
            "campaign": "API four",
            "launched_on": day,
            "hours_spent": "2.5",
            "cost": 0,
            "attributed_revenue": 0,
        },
    ]
    response = api.post("/api/v1/campaigns", json={"campaigns": batch}, headers=headers)
    assert response.status_code == 200
    body = response.get_json()
    assert (body["rows"], body["created"], body["updated"], body["unchanged"]) == (6, 2, 0, 0)
    assert [p["row"] for p in body["problems"]] == [1, 2, 3, 4]
    assert body["problems"][0]["reason"] == "hours_spent cannot be negative"
    assert body["problems"][1]["reason"] == "each campaign must be a JSON object"
    assert body["problems"][2]["reason"] == "team 'Brand' is not one whose records you keep"
    assert "is not a number" in body["problems"][3]["reason"]
    batch[0]["hours_spent"] = 11
    again = api.post("/api/v1/campaigns", json=[batch[0], batch[5]], headers=headers).get_json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 1, 1)
    assert count(app, CampaignLog) == 2
    (first, _) = events(app, "campaigns.imported")
    assert first.actor_id == world["manager"] and first.details["source"].startswith("token:")
    # A service token (an integration an admin set up) writes any team's records.
    service = api_token(app, world["admin"], kind="service")
    theirs = api.post("/api/v1/campaigns", json=[batch[3]], headers=service).get_json()
    assert theirs["created"] == 1 and theirs["problems"] == []


def test_api_process_step_changes_answer_by_index(app, world) -> None:
    api = app.test_client()
    headers = api_token(app, world["manager"])
    day = str(today() - timedelta(days=2))
    change = {
        "team": "Growth",
        "procedure": "executive-reporting",
        "step_number": 1,
        "automated": True,
        "changed_on": day,
        "note": "Nightly ETL",
    }
    batch = [
        change,
        {**change, "procedure": "nope"},
        {**change, "step_number": 9},
        {**change, "step_number": 2, "automated": "perhaps"},
        {**change, "step_number": 2, "changed_on": str(today() + timedelta(days=1))},
        {**change, "team": "Brand"},
        {**change, "team": "Atlantis"},
        {**change, "step_number": 3, "automated": False},
        change,  # the same change again in the batch: a duplicate
    ]
    response = api.post("/api/v1/process-steps/changes", json={"changes": batch}, headers=headers)
    assert response.status_code == 200
    body = response.get_json()
    assert (body["rows"], body["recorded"], body["duplicates"]) == (9, 1, 1)
    reasons = {p["row"]: p["reason"] for p in body["problems"]}
    assert sorted(reasons) == [1, 2, 3, 4, 5, 6, 7]
    assert reasons[1].startswith("procedure 'nope' is not one of campaign-creation-launch")
    assert reasons[2] == "step_number 9 is not a step of executive-reporting (1 to 5)"
    assert reasons[3] == "automated 'perhaps' is not true or false"
    assert reasons[4] == "The date it changed cannot be in the future."
    assert reasons[5] == "team 'Brand' is not one whose records you keep"
    assert reasons[6] == "team 'Atlantis' does not exist"
    assert reasons[7] == "Every step starts manual: record the date it became automated."
    with app.app_context():
        step = step_of(world["growth"], "executive-reporting", 1)
        assert ops.state_on(step.changes).automated and step.changes[0].note == "Nightly ETL"
        assert step.changes[0].recorded_by_id == world["manager"]
    (event,) = events(app, "process_step.changed")
    assert event.actor_id == world["manager"]
    # One change alone (not in a list) is a batch of one.
    single = api.post(
        "/api/v1/process-steps/changes",
        json={**change, "automated": False, "changed_on": str(today())},
        headers=headers,
    ).get_json()
    assert single["recorded"] == 1 and single["problems"] == []


def test_api_integration_checkpoints_answer_by_index(app, world) -> None:
    api = app.test_client()
    headers = api_token(app, world["manager"])
    day = str(today() - timedelta(days=1))
    achieved = {
        "team": "Growth",
        "domain": "sales",
        "item": "crm-integration",
        "status": "achieved",
        "achieved_on": day,
        "evidence": "Sync live",
    }
    batch = [
        achieved,
        {**achieved, "item": "pipeline-influence", "evidence": ""},
        {**achieved, "item": "lead-quality-enhancement", "achieved_on": None},
        {**achieved, "domain": "legal"},
        {**achieved, "item": "crm"},
        {**achieved, "item": "sales-attribution", "status": "done"},
        {**achieved, "team": "Brand"},
        {**achieved, "domain": "finance", "item": "roi-calculation", "status": "planned"},
    ]
    body = api.post(
        "/api/v1/integration-checkpoints", json={"checkpoints": batch}, headers=headers
    ).get_json()
    assert (body["rows"], body["updated"], body["unchanged"]) == (8, 1, 1)
    reasons = {p["row"]: p["reason"] for p in body["problems"]}
    assert sorted(reasons) == [1, 2, 3, 4, 5, 6]
    assert "evidence is required" in reasons[1]
    assert reasons[2] == "Give the date it was achieved."
    assert reasons[3] == "domain 'legal' is not one of sales, product, customer-success, finance"
    assert reasons[4].startswith("item 'crm' is not an item of sales")
    assert reasons[5] == "status 'done' is not planned or achieved"
    assert reasons[6] == "team 'Brand' is not one whose records you keep"
    with app.app_context():
        cp = checkpoint_of(world["growth"], "sales", "crm-integration")
        assert (cp.status, cp.evidence, cp.updated_by_id) == (
            "achieved",
            "Sync live",
            world["manager"],
        )
    again = api.post("/api/v1/integration-checkpoints", json=[achieved], headers=headers)
    assert again.get_json()["unchanged"] == 1
    assert len(events(app, "integration_checkpoint.achieved")) == 1


def test_api_index_names_the_records_resources(app) -> None:
    links = app.test_client().get("/api/v1/").get_json()["_links"]
    assert links["campaigns"] == "/api/v1/campaigns"
    assert links["process_step_changes"] == "/api/v1/process-steps/changes"
    assert links["integration_checkpoints"] == "/api/v1/integration-checkpoints"


# --- endorsements ------------------------------------------------------------------------------


def test_a_learner_endorses_a_colleague_found_by_name(app, client, world) -> None:
    with app.app_context():
        make_user("gone@example.com", name="Other Gone", active=False)
    signed_in(client, "learner@example.com")
    found = text(client.get("/records/endorse?q=other"))
    assert "Other Learner" in found and "Olga Other" in found
    assert "Other Gone" not in found  # deactivated people are not offered
    wildcard = text(client.get("/records/endorse?q=%25"))  # LIKE wildcards are plain text
    assert "No active colleague's name contains “%”" in wildcard
    response = submit(
        client,
        "/records/endorse?q=other",
        {"endorsee_id": str(world["learner2"]), "note": "Built our lead-scoring model"},
    )
    assert response.status_code == 302
    with app.app_context():
        (endorsement,) = db.session.scalars(select(Endorsement)).all()
        assert (endorsement.endorser_id, endorsement.endorsee_id) == (
            world["learner"],
            world["learner2"],
        )
    # They see it on their own page, with the endorser's name.
    other = app.test_client()
    signed_in(other, "other.learner@example.com")
    received = text(other.get("/records/endorse"))
    assert "Built our lead-scoring model" in received and "Learner," in received


def test_endorsing_oneself_or_twice_in_30_days_is_refused(app, client, world) -> None:
    signed_in(client, "learner@example.com")
    page = "/records/endorse?q=learner"
    myself = submit(client, page, {"endorsee_id": str(world["learner"]), "note": "Great me"})
    assert "You cannot endorse yourself" in text(myself)
    too_long = submit(client, page, {"endorsee_id": str(world["learner2"]), "note": "x" * 501})
    assert "Keep the note to 500 characters." in text(too_long)
    empty = submit(client, page, {"endorsee_id": str(world["learner2"]), "note": "  "})
    assert "Say what you recognise in their work." in text(empty)
    assert count(app, Endorsement) == 0
    first = submit(client, page, {"endorsee_id": str(world["learner2"]), "note": "Sharp"})
    assert first.status_code == 302
    again = submit(client, page, {"endorsee_id": str(world["learner2"]), "note": "Again"})
    assert "you can endorse them again from" in text(again)
    assert count(app, Endorsement) == 1
    with app.app_context():
        learner = db.session.get(User, world["learner"])
        learner2 = db.session.get(User, world["learner2"])
        # The other way round is another pair; 30 days later the same pair may again.
        ops.endorse(learner2, learner, "Thanks back")
        later = now_utc() + timedelta(days=30, minutes=1)
        ops.endorse(learner, learner2, "Still sharp", now=later)
        with pytest.raises(ops.RecordsError, match="cannot endorse yourself"):
            ops.endorse(learner, learner, "Me")
        db.session.commit()
    assert count(app, Endorsement) == 3


# --- who may open and change what ---------------------------------------------------------------


TEAM_PAGES = ("processes", "campaigns", "integration", "baselines")


def test_learners_may_not_open_team_records(app, client, world) -> None:
    signed_in(client, "learner@example.com")
    assert client.get("/records/").status_code == 403
    for section in TEAM_PAGES:
        assert client.get(f"/records/teams/{world['growth']}/{section}").status_code == 403
    assert client.get("/records/campaigns/import").status_code == 403
    assert client.get("/records/endorse").status_code == 200


def test_a_manager_keeps_only_the_teams_of_their_cohorts(app, client, world) -> None:
    signed_in(client)
    index = text(client.get("/records/"))
    assert "Growth" in index and "Brand" not in index and "Quiet" not in index
    for section in TEAM_PAGES:
        assert client.get(f"/records/teams/{world['growth']}/{section}").status_code == 200
        assert client.get(f"/records/teams/{world['brand']}/{section}").status_code == 404
        assert client.get(f"/records/teams/{world['quiet']}/{section}").status_code == 404
    assert client.get(f"/records/teams/{world['learner']}/processes").status_code == 404


def test_posts_to_another_managers_team_change_nothing(app, client, world) -> None:
    with app.app_context():
        brand = team(world["brand"])
        ops.ensure_inventory(brand)
        ops.ensure_checkpoints(brand)
        row = ops.add_campaign(brand, campaign())
        step_id = step_of(brand.id, "executive-reporting", 1).id
        cp_id = checkpoint_of(brand.id, "sales", "crm-integration").id
        campaign_id = row.id
        db.session.commit()
    signed_in(client)
    # A token from one of the manager's own pages, so CSRF is not what refuses these.
    own = f"/records/teams/{world['growth']}/campaigns"
    base = f"/records/teams/{world['brand']}"
    attempts = {
        f"{base}/processes/{step_id}": {
            f"step-{step_id}-automated": "automated",
            f"step-{step_id}-changed_on": str(today()),
        },
        f"{base}/campaigns": campaign(campaign="Sneaky"),
        f"{base}/campaigns/{campaign_id}/edit": campaign(hours_spent="999"),
        f"{base}/integration/{cp_id}": {
            f"cp-{cp_id}-status": "achieved",
            f"cp-{cp_id}-achieved_on": str(today()),
            f"cp-{cp_id}-evidence": "Trust me",
        },
        f"{base}/baselines/roi-improvement": {
            "roi-improvement-period_start": str(today()),
            "roi-improvement-period_end": str(today()),
        },
    }
    for url, data in attempts.items():
        assert submit(client, own, data, to=url).status_code == 404, url
    assert client.get(f"{base}/campaigns/{campaign_id}/edit").status_code == 404
    assert count(app, ProcessStepChange) == 0
    assert count(app, CampaignLog) == 1
    assert count(app, MetricBaseline) == 0
    with app.app_context():
        assert db.session.get(CampaignLog, campaign_id).hours_spent == 42.5
        assert db.session.get(IntegrationCheckpoint, cp_id).status == "planned"
    # Another team's step through the manager's own team's address is not found either.
    assert (
        submit(
            client,
            own,
            attempts[f"{base}/processes/{step_id}"],
            to=f"/records/teams/{world['growth']}/processes/{step_id}",
        ).status_code
        == 404
    )
    assert count(app, ProcessStepChange) == 0


def test_leaders_read_every_team_and_change_nothing(app, client, world) -> None:
    with app.app_context():
        growth = team(world["growth"])
        ops.ensure_inventory(growth)
        step_id = step_of(growth.id, "executive-reporting", 1).id
        db.session.commit()
    signed_in(client, "leader@example.com")
    index = text(client.get("/records/"))
    assert "Growth" in index and "Brand" in index and "Quiet" in index
    for section in TEAM_PAGES:
        response = client.get(f"/records/teams/{world['brand']}/{section}")
        assert response.status_code == 200
        assert "read only" in text(response)
        assert '<form method="post" action="/records' not in response.text
    page = f"/records/teams/{world['growth']}/processes"
    refused = submit(
        client,
        page,
        {f"step-{step_id}-automated": "automated", f"step-{step_id}-changed_on": str(today())},
        to=f"{page}/{step_id}",
    )
    assert refused.status_code == 403
    assert (
        submit(
            client, page, campaign(), to=f"/records/teams/{world['growth']}/campaigns"
        ).status_code
        == 403
    )
    assert client.get("/records/campaigns/import").status_code == 403
    assert count(app, ProcessStepChange) == 0 and count(app, CampaignLog) == 0


def test_admins_keep_every_teams_records(app, client, world) -> None:
    signed_in(client, "admin@example.com")
    page = f"/records/teams/{world['quiet']}/campaigns"
    assert submit(client, page, campaign()).status_code == 302
    assert count(app, CampaignLog, CampaignLog.team_id == world["quiet"]) == 1


def test_a_withdrawn_learner_no_longer_gives_their_manager_the_team(app, client, world) -> None:
    with app.app_context():
        (enrolment,) = db.session.scalars(
            select(Enrolment).where(Enrolment.user_id == world["learner"])
        ).all()
        cohort_ops.withdraw(enrolment, "Left the company")
        db.session.commit()
        manager = db.session.get(User, world["manager"])
        assert ops.editable_team_ids(manager) == set()
    signed_in(client)
    assert client.get(f"/records/teams/{world['growth']}/processes").status_code == 404


def test_a_form_without_its_csrf_token_changes_nothing(app, client, world) -> None:
    signed_in(client)
    response = client.post(f"/records/teams/{world['growth']}/campaigns", data=campaign())
    assert response.status_code == 400
    assert count(app, CampaignLog) == 0


def test_signed_out_visitors_are_sent_to_sign_in(client, world) -> None:
    for url in ("/records/", "/records/endorse", f"/records/teams/{world['growth']}/processes"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
