"""CSV imports of the records behind the business metrics: process-step changes and integration
checkpoints (pages and CLI), and campaigns from the CLI. Every row is checked the way the JSON
API checks it; bad rows are reported by line, good rows kept, and a file imported twice records
nothing twice."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from lms.adoption import records_ops as ops
from lms.adoption.records import CampaignLog, IntegrationCheckpoint, ProcessStepChange
from lms.cli import RECORD_KINDS
from lms.extensions import db
from tests import test_records
from tests.conftest import submit
from tests.test_records import (
    api_token,
    checkpoint_of,
    count,
    events,
    refused_lines,
    signed_in,
    step_of,
    text,
    today,
)

# The fixtures of the records tests: the adoption framework, and three teams with managers.
framework = test_records.framework
world = test_records.world

STEPS_HEADER = "team,procedure,step_number,automated,changed_on,note\n"
CHECKPOINTS_HEADER = "team,domain,item,status,achieved_on,evidence\n"
CAMPAIGNS_HEADER = "team,campaign,launched_on,hours_spent,cost,attributed_revenue\n"
PAGES = {
    "process-changes": "/records/processes/import",
    "checkpoints": "/records/integration/import",
}


def upload(client: FlaskClient, page: str, content: str | bytes, filename: str = "records.csv"):
    raw = content if isinstance(content, bytes) else content.encode()
    return submit(
        client,
        page,
        {"file": (io.BytesIO(raw), filename)},
        content_type="multipart/form-data",
    )


def days_ago(days: int) -> str:
    return str(today() - timedelta(days=days))


def changes_of(app: Flask, team_id: int, procedure: str, number: int) -> list[tuple[bool, str]]:
    with app.app_context():
        step = step_of(team_id, procedure, number)
        return sorted((c.automated, c.changed_on.isoformat()) for c in step.changes)


# --- process-step changes ----------------------------------------------------------------------


def process_file() -> str:
    return (
        STEPS_HEADER
        + f"Growth,executive-reporting,1,true,{days_ago(10)},Nightly ETL\n"  # 2 good
        + f"growth,executive-reporting,2,yes,{days_ago(9)},\n"  # 3 good (any case)
        + f"Growth,executive-reporting,2,no,{days_ago(3)},Tool retired\n"  # 4 good: manual again
        + f"Growth,performance-optimization,1,manual,{days_ago(1)},\n"  # 5 after 6: ordered
        + f"Growth,performance-optimization,1,Automated,{days_ago(5)},\n"  # 6 good
        + f"Growth,nope,1,true,{days_ago(2)},\n"  # 7 unknown procedure
        + f"Growth,executive-reporting,9,true,{days_ago(2)},\n"  # 8 no such step
        + f"Growth,executive-reporting,3,perhaps,{days_ago(2)},\n"  # 9
        + f"Growth,executive-reporting,3,true,{today() + timedelta(days=1)},\n"  # 10 future
        + "Growth,executive-reporting,3,true,31/12/2025,\n"  # 11 bad date
        + f"Brand,executive-reporting,1,true,{days_ago(2)},\n"  # 12 another manager's team
        + f"Atlantis,executive-reporting,1,true,{days_ago(2)},\n"  # 13 no such team
        + f"Growth,executive-reporting,4,false,{days_ago(2)},\n"  # 14 manual already
        + f"Growth,executive-reporting,three,true,{days_ago(2)},\n"  # 15
        + "\n"  # 16 empty: skipped
        + f"Growth,executive-reporting,5,true,{days_ago(2)},a,b\n"  # 17 too many cells
        + f"Growth,executive-reporting,1,true,{days_ago(10)},Nightly ETL\n"  # 18 same as 2
    )


def test_process_changes_import_reports_bad_rows_by_line_and_keeps_good_ones(
    app, client, world
) -> None:
    signed_in(client)
    response = upload(client, PAGES["process-changes"], process_file())
    assert response.status_code == 200
    problems = refused_lines(response)
    assert sorted(problems) == [7, 8, 9, 10, 11, 12, 13, 14, 15, 17]
    assert problems[7].startswith("procedure 'nope' is not one of campaign-creation-launch")
    assert problems[8] == "step_number 9 is not a step of executive-reporting (1 to 5)"
    assert problems[9] == "automated 'perhaps' is not true or false"
    assert problems[10] == "The date it changed cannot be in the future."
    assert "is not a date such as" in problems[11]
    assert problems[12] == "team 'Brand' is not one whose records you keep"
    assert problems[13] == "team 'Atlantis' does not exist"
    assert problems[14] == "Every step starts manual: record the date it became automated."
    assert problems[15] == "step_number 'three' is not a whole number"
    assert "more cells" in problems[17]
    assert "5 recorded, 1 duplicates, 10 refused" in text(response)
    growth = world["growth"]
    assert changes_of(app, growth, "executive-reporting", 1) == [(True, days_ago(10))]
    assert changes_of(app, growth, "executive-reporting", 2) == [
        (False, days_ago(3)),
        (True, days_ago(9)),
    ]
    # The file listed the later change first: the rows are taken oldest first.
    assert changes_of(app, growth, "performance-optimization", 1) == [
        (False, days_ago(1)),
        (True, days_ago(5)),
    ]
    with app.app_context():
        step = step_of(growth, "executive-reporting", 1)
        assert step.changes[0].note == "Nightly ETL"
        assert step.changes[0].recorded_by_id == world["manager"]
    assert count(app, ProcessStepChange) == 5
    assert len(events(app, "process_step.changed")) == 5
    (event,) = events(app, "process_step_changes.imported")
    assert event.actor_id == world["manager"]
    assert (event.details["rows"], event.details["recorded"], event.details["duplicates"]) == (
        16,
        5,
        1,
    )
    assert event.details["source"] == "records.csv" and len(event.details["refused"]) == 10
    assert event.details["refused"][0].startswith("7: procedure 'nope'")


def test_importing_the_same_process_changes_again_records_nothing_twice(app, client, world) -> None:
    signed_in(client)
    upload(client, PAGES["process-changes"], process_file())
    again = upload(client, PAGES["process-changes"], process_file())
    assert "0 recorded, 6 duplicates, 10 refused" in text(again)
    assert sorted(refused_lines(again)) == [7, 8, 9, 10, 11, 12, 13, 14, 15, 17]
    assert count(app, ProcessStepChange) == 5
    assert len(events(app, "process_step.changed")) == 5
    assert len(events(app, "process_step_changes.imported")) == 2


def test_an_admin_imports_process_changes_for_any_team(app, client, world) -> None:
    signed_in(client, "admin@example.com")
    content = STEPS_HEADER + "".join(
        f"{team},executive-reporting,1,automated,{days_ago(4)},\n"
        for team in ("Growth", "Brand", "Quiet")
    )
    response = upload(client, PAGES["process-changes"], content)
    assert "3 recorded, 0 duplicates, 0 refused" in text(response)
    assert refused_lines(response) == {}
    for key in ("growth", "brand", "quiet"):
        assert changes_of(app, world[key], "executive-reporting", 1) == [(True, days_ago(4))]


def test_the_api_and_the_file_follow_the_same_rules(app, world) -> None:
    """One path: the words a file may use for `automated` are the API's too."""
    headers = api_token(app, world["manager"])
    change = {
        "team": "Growth",
        "procedure": "executive-reporting",
        "step_number": "1",
        "automated": "yes",
        "changed_on": days_ago(2),
    }
    body = app.test_client().post("/api/v1/process-steps/changes", json=[change], headers=headers)
    assert body.get_json()["recorded"] == 1
    assert events(app, "process_step_changes.imported") == []  # the API is not a file import


# --- integration checkpoints -------------------------------------------------------------------


def checkpoints_file() -> str:
    return (
        CHECKPOINTS_HEADER
        + f"Growth,sales,crm-integration,achieved,{days_ago(3)},Sync live\n"  # 2 good
        + "growth,finance,roi-calculation,planned,,\n"  # 3 planned already: unchanged
        + f"Growth,sales,pipeline-influence,achieved,{days_ago(3)},\n"  # 4 no evidence
        + "Growth,sales,lead-quality-enhancement,achieved,,Report\n"  # 5 no date
        + f"Growth,sales,sales-attribution,achieved,{today() + timedelta(days=2)},X\n"  # 6
        + f"Growth,legal,contracts,achieved,{days_ago(3)},X\n"  # 7 unknown domain
        + f"Growth,sales,crm,achieved,{days_ago(3)},X\n"  # 8 unknown item
        + f"Growth,sales,sales-attribution,done,{days_ago(3)},X\n"  # 9 unknown status
        + f"Brand,sales,crm-integration,achieved,{days_ago(3)},X\n"  # 10 not kept
        + f'Growth,product,{{item}},achieved,{days_ago(1)},"Roadmap, signed off"\n'  # 11 good
        + "Growth,sales,crm-integration,achieved,2026-13-01,X\n"  # 12 bad date
    )


def product_item(app: Flask) -> str:
    with app.app_context():
        (domain,) = [d for d in ops.framework_domains() if d["id"] == "product"]
        return domain["items"][0]["id"]


def test_checkpoints_import_reports_bad_rows_by_line_and_keeps_good_ones(
    app, client, world
) -> None:
    signed_in(client)
    item = product_item(app)
    response = upload(client, PAGES["checkpoints"], checkpoints_file().replace("{item}", item))
    assert response.status_code == 200
    problems = refused_lines(response)
    assert sorted(problems) == [4, 5, 6, 7, 8, 9, 10, 12]
    assert "evidence is required" in problems[4]
    assert problems[5] == "Give the date it was achieved."
    assert problems[6] == "The date it was achieved cannot be in the future."
    assert problems[7] == "domain 'legal' is not one of sales, product, customer-success, finance"
    assert problems[8].startswith("item 'crm' is not an item of sales")
    assert problems[9] == "status 'done' is not planned or achieved"
    assert problems[10] == "team 'Brand' is not one whose records you keep"
    assert "is not a date such as" in problems[12]
    assert "2 updated, 1 unchanged, 8 refused" in text(response)
    with app.app_context():
        crm = checkpoint_of(world["growth"], "sales", "crm-integration")
        assert (crm.status, crm.achieved_on.isoformat(), crm.evidence, crm.updated_by_id) == (
            "achieved",
            days_ago(3),
            "Sync live",
            world["manager"],
        )
        product = checkpoint_of(world["growth"], "product", item)
        assert (product.status, product.evidence) == ("achieved", "Roadmap, signed off")
        assert checkpoint_of(world["growth"], "sales", "pipeline-influence").status == "planned"
        assert checkpoint_of(world["brand"], "sales", "crm-integration") is None
    (event,) = events(app, "integration_checkpoints.imported")
    assert (event.details["rows"], event.details["updated"], event.details["unchanged"]) == (
        11,
        2,
        1,
    )
    assert event.actor_id == world["manager"] and len(event.details["refused"]) == 8
    # The same file again changes nothing.
    again = upload(client, PAGES["checkpoints"], checkpoints_file().replace("{item}", item))
    assert "0 updated, 3 unchanged, 8 refused" in text(again)
    assert len(events(app, "integration_checkpoint.achieved")) == 2
    assert len(events(app, "integration_checkpoints.imported")) == 2


# --- refused files and who may import ----------------------------------------------------------


def test_a_file_without_the_needed_columns_is_refused_naming_them(app, client, world) -> None:
    signed_in(client)
    steps = upload(client, PAGES["process-changes"], "team,procedure,note\nGrowth,x,y\n")
    assert refused_lines(steps) == {
        1: "the header lacks the column(s) step_number, automated, changed_on; expected "
        "team, procedure, step_number, automated, changed_on, note"
    }
    cps = upload(client, PAGES["checkpoints"], "team,domain,item,evidence\nGrowth,sales,x,y\n")
    assert refused_lines(cps) == {
        1: "the header lacks the column(s) status; expected "
        "team, domain, item, status, achieved_on, evidence"
    }
    unknown = upload(client, PAGES["checkpoints"], "team,domain,item,status,colour\n")
    assert refused_lines(unknown) == {
        1: "unknown column(s) colour; expected team, domain, item, status, achieved_on, evidence"
    }
    assert count(app, ProcessStepChange) == 0
    with app.app_context():
        assert db.session.scalars(select(IntegrationCheckpoint)).all() == []


def test_a_file_that_is_not_utf8_is_refused_with_a_clear_message(app, client, world) -> None:
    signed_in(client)
    for page, content in (
        (
            PAGES["process-changes"],
            STEPS_HEADER + f"Growth,executive-reporting,1,true,{days_ago(1)},Café\n",
        ),
        (
            PAGES["checkpoints"],
            CHECKPOINTS_HEADER + f"Growth,sales,crm-integration,achieved,{days_ago(1)},Café\n",
        ),
    ):
        response = upload(client, page, content.encode("latin-1"))
        assert response.status_code == 200
        assert "The file is not UTF-8 text" in text(response) and "save it as CSV UTF-8" in text(
            response
        )
    assert count(app, ProcessStepChange) == 0
    assert events(app, "process_step_changes.imported") == []
    with app.app_context():
        assert checkpoint_of(world["growth"], "sales", "crm-integration") is None


def test_a_file_sent_without_the_csrf_token_changes_nothing(app, client, world) -> None:
    signed_in(client)
    content = STEPS_HEADER + f"Growth,executive-reporting,1,true,{days_ago(1)},\n"
    response = client.post(
        PAGES["process-changes"],
        data={"file": (io.BytesIO(content.encode()), "c.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code in (200, 400)
    assert count(app, ProcessStepChange) == 0


def test_learners_and_leaders_may_not_import(app, client, world) -> None:
    signed_in(client, "learner@example.com")
    content = STEPS_HEADER + f"Growth,executive-reporting,1,true,{days_ago(1)},\n"
    for page in PAGES.values():
        assert client.get(page).status_code == 403
        # A form sent with a valid token (from a page learners may open) is still forbidden.
        sent = submit(
            client,
            "/records/endorse",
            {"file": (io.BytesIO(content.encode()), "c.csv")},
            to=page,
            content_type="multipart/form-data",
        )
        assert sent.status_code == 403
    assert count(app, ProcessStepChange) == 0
    leader = app.test_client()
    signed_in(leader, "leader@example.com")
    for page in PAGES.values():
        assert leader.get(page).status_code == 403


def test_the_import_pages_are_linked_from_the_records_pages(app, client, world) -> None:
    signed_in(client)
    growth = world["growth"]
    processes = client.get(f"/records/teams/{growth}/processes").get_data(as_text=True)
    integration = client.get(f"/records/teams/{growth}/integration").get_data(as_text=True)
    assert f'href="{PAGES["process-changes"]}"' in processes
    assert f'href="{PAGES["checkpoints"]}"' in integration
    index = client.get("/records/").get_data(as_text=True)
    assert all(f'href="{page}"' in index for page in PAGES.values())
    page = text(client.get(PAGES["process-changes"]))
    assert "Growth" in page and "Brand" not in page and "executive-reporting" in page
    leader = app.test_client()
    signed_in(leader, "leader@example.com")
    read_only = leader.get(f"/records/teams/{growth}/processes").get_data(as_text=True)
    assert PAGES["process-changes"] not in read_only


# --- the command line --------------------------------------------------------------------------


def cli(app: Flask, kind: str, path: Path):
    with app.app_context():
        return app.test_cli_runner().invoke(args=["records", "import", kind, str(path)])


def test_the_cli_imports_every_kind_for_any_team_as_the_system(app, world, tmp_path) -> None:
    assert set(RECORD_KINDS) == set(ops.IMPORT_KINDS)
    files = {
        "campaigns": CAMPAIGNS_HEADER + f"Brand,Spring,{days_ago(5)},10,100,300\n",
        "process-changes": STEPS_HEADER
        + f"Quiet,executive-reporting,1,true,{days_ago(5)},From the CLI\n",
        "checkpoints": CHECKPOINTS_HEADER
        + f"Brand,sales,crm-integration,achieved,{days_ago(5)},Sync live\n",
    }
    for kind, content in files.items():
        path = tmp_path / f"{kind}.csv"
        path.write_text(content, encoding="utf-8")
        result = cli(app, kind, path)
        assert result.exit_code == 0, result.output
        assert "0 refused" in result.stdout and result.stderr == ""
        again = cli(app, kind, path)  # the same file again: nothing twice
        assert again.exit_code == 0, again.output
    assert count(app, CampaignLog) == 1
    assert changes_of(app, world["quiet"], "executive-reporting", 1) == [(True, days_ago(5))]
    with app.app_context():
        assert checkpoint_of(world["brand"], "sales", "crm-integration").status == "achieved"
        step = step_of(world["quiet"], "executive-reporting", 1)
        assert step.changes[0].recorded_by_id is None  # the system
    for action in (
        "campaigns.imported",
        "process_step_changes.imported",
        "integration_checkpoints.imported",
    ):
        first, second = events(app, action)
        assert first.actor_id is None and first.details["source"].endswith(".csv")
    assert events(app, "process_step_changes.imported")[1].details["duplicates"] == 1
    assert events(app, "integration_checkpoints.imported")[1].details["unchanged"] == 1


def test_the_cli_reports_refused_rows_by_line_with_exit_codes(app, world, tmp_path) -> None:
    files = {
        "campaigns": (
            CAMPAIGNS_HEADER
            + f"Growth,Spring,{days_ago(5)},10,100,300\n"
            + f"Growth,Summer,{days_ago(5)},-1,100,300\n",
            "line 3: hours_spent cannot be negative",
        ),
        "process-changes": (
            STEPS_HEADER
            + f"Growth,executive-reporting,1,true,{days_ago(5)},\n"
            + f"Atlantis,executive-reporting,1,true,{days_ago(5)},\n",
            "line 3: team 'Atlantis' does not exist",
        ),
        "checkpoints": (
            CHECKPOINTS_HEADER
            + f"Growth,sales,crm-integration,achieved,{days_ago(5)},Sync live\n"
            + f"Growth,sales,pipeline-influence,achieved,{days_ago(5)},\n",
            "line 3: Say what shows it was achieved: the evidence is required.",
        ),
    }
    for kind, (content, reason) in files.items():
        path = tmp_path / f"{kind}.csv"
        path.write_text(content, encoding="utf-8")
        some = cli(app, kind, path)
        assert some.exit_code == 2, some.output
        assert f"{path}: {reason}" in some.stderr
        assert "1 refused" in some.stdout
        # Only the bad row: every row refused.
        header, _, bad = content.splitlines(keepends=True)
        only_bad = tmp_path / f"{kind}-bad.csv"
        only_bad.write_text(header + bad, encoding="utf-8")
        every = cli(app, kind, only_bad)
        assert every.exit_code == 1, every.output
        assert f"{only_bad}: line 2: " in every.stderr
    assert count(app, CampaignLog) == 1 and count(app, ProcessStepChange) == 1


def test_the_cli_refuses_an_unreadable_file_or_header(app, world, tmp_path) -> None:
    latin = tmp_path / "latin.csv"
    latin.write_bytes(
        (STEPS_HEADER + f"Growth,executive-reporting,1,true,{days_ago(1)},Café\n").encode("latin-1")
    )
    result = cli(app, "process-changes", latin)
    assert result.exit_code == 1
    assert f"{latin}: the file is not UTF-8 text" in result.output
    header = tmp_path / "header.csv"
    header.write_text("team,domain\nGrowth,sales\n", encoding="utf-8")
    refused = cli(app, "checkpoints", header)
    assert refused.exit_code == 1
    assert (
        f"{header}: line 1: the header lacks the column(s) item, status; expected team, domain, "
        "item, status, achieved_on, evidence"
    ) in refused.stderr
    unknown_kind = cli(app, "baselines", header)
    assert unknown_kind.exit_code == 2 and "Invalid value" in unknown_kind.output
    assert count(app, ProcessStepChange) == 0


def test_a_step_number_in_other_digits_is_a_refused_row_not_an_error() -> None:
    """'²' is a digit to str.isdigit() but not a number to int(): refused like any bad value."""
    from lms.adoption import records_ops

    with pytest.raises(records_ops.RecordsError, match="is not a whole number"):
        records_ops._whole_number("²", "step_number")
    assert records_ops._whole_number("12", "step_number") == 12
