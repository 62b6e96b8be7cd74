"""Feature-usage ingestion: one validation path (`lms.adoption.usage.ingest`) behind the CSV upload
page, the `flask usage import` command and the JSON API. Bad rows are reported with their line
(or index) and reason and good rows kept; nothing is recorded twice; people and features are
matched loosely; unknown feature names are held until an admin maps them; large uploads run as a
background job; and who may open what."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from lms.accounts.models import User
from lms.adoption import jobs as usage_jobs
from lms.adoption import usage
from lms.adoption.models import Feature, FeatureAlias, HeldUsage, ImportJob, Platform, UsageEvent
from lms.api import tokens
from lms.audit.models import AuditEvent
from lms.extensions import db
from tests.conftest import CURRICULA, login, make_user, submit
from tests.support.rq import queued_app

HEADER = "email,platform,feature,timestamp,count,event_id\n"
GOOD_AND_BAD = (
    HEADER
    # line 2: good, two uses
    + "learner@example.com,marketing-automation,segmentation,2026-01-05T09:00:00Z,2,\n"
    + "nobody@example.com,marketing-automation,segmentation,2026-01-05T09:00:00Z,1,\n"
    + "learner@example.com,marketing-automation,segmentation,last tuesday,1,\n"
    + "learner@example.com,marketing-automation,segmentation,2999-01-01T00:00:00Z,1,\n"
    + "learner@example.com,marketing-automation,segmentation,2026-01-05T10:00:00Z,-3,\n"
    + "learner@example.com,marketing-automation,segmentation,2026-01-05T10:00:00Z,0,\n"
    + "learner@example.com,marketing-automation,segmentation,2026-01-05T10:00:00Z,1.5,\n"
    + "learner@example.com,marketing-automation,segmentation,2026-01-05T10:00:00Z,many,\n"
    + "learner@example.com,fax-machine,segmentation,2026-01-05T10:00:00Z,1,\n"
    + "learner@example.com,marketing-automation,,2026-01-05T10:00:00Z,1,\n"
    # line 12: good, by name and alias in other cases, with an offset
    + "LEARNER@Example.COM,Marketing Automation Platform,Smart Lists,2026-01-06T09:00:00+02:00,1,\n"
    # line 13: good, a platform user id, count defaults to 1
    + "crm-0042,marketing-analytics,KPI tracking,2026-01-07T09:00:00Z,,\n"
    + "learner@example.com,marketing-automation,segmentation,2026-01-05T10:00:00Z,inf,\n"
)
EXPECTED_PROBLEMS = {
    3: "no user has the e-mail address or platform id 'nobody@example.com'",
    4: "timestamp 'last tuesday' is not ISO 8601",
    5: "is in the future",
    6: "count -3 must be 1 or more",
    7: "count 0 must be 1 or more",
    8: "count '1.5' is not a whole number",
    9: "count 'many' is not a number",
    10: "platform 'fax-machine' is not in the feature catalogue",
    11: "feature is empty",
    14: "count 'inf' is not a number",
}


@pytest.fixture
def catalogue(app: Flask) -> None:
    """The feature catalogue (curricula/features.yaml) alone: enough for usage data."""
    from lms.adoption.loading import load_feature_catalogue
    from lms.curricula.files import parse_file

    with app.app_context():
        parsed = parse_file(CURRICULA / "features.yaml")
        assert not parsed.problems, parsed.problems
        load_feature_catalogue(parsed.document)
        db.session.commit()


@pytest.fixture
def people(app: Flask, users: dict[str, int], catalogue: None) -> dict[str, int]:
    """The users of every role; the second learner has a platform user id. Both learners are
    in a cohort the manager runs: a manager records usage only for their own learners."""
    from datetime import date

    from lms.curricula.models import Programme, Stage
    from lms.organisation.models import Cohort, Enrolment

    with app.app_context():
        db.session.get(User, users["learner2"]).external_id = "crm-0042"
        db.session.add(
            Stage(
                id="initial",
                position=1,
                name="Initial Adoption",
                window_start_day=0,
                window_end_day=30,
                focus="basics",
            )
        )
        programme = Programme(
            slug="usage-programme",
            kind="platform-track",
            title="Usage",
            summary="",
            source="test",
            version="1.0.0",
            content_hash="0" * 64,
        )
        cohort = Cohort(
            name="Usage cohort", start_date=date(2026, 1, 1), manager_id=users["manager"]
        )
        db.session.add_all([programme, cohort])
        db.session.flush()
        for learner in ("learner", "learner2"):
            db.session.add(
                Enrolment(
                    user_id=users[learner],
                    programme_id=programme.id,
                    cohort_id=cohort.id,
                    start_date=date(2026, 1, 1),
                )
            )
        db.session.commit()
    return users


def text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(True))))


def refused_rows(response) -> dict[int, str]:
    """The "Rows refused" table of the upload page: line -> reason."""
    body = response.get_data(as_text=True)
    return {
        int(line): html.unescape(reason)
        for line, reason in re.findall(r'<tr><td class="num">(\d+)</td><td>(.*?)</td></tr>', body)
    }


def count(app: Flask, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def usage_by_feature(app: Flask) -> dict[tuple[str, str], int]:
    """(user e-mail, feature id) -> total count of recorded uses."""
    with app.app_context():
        rows = db.session.execute(
            select(User.email, Feature.slug, func.sum(UsageEvent.count))
            .join(User, User.id == UsageEvent.user_id)
            .join(Feature, Feature.id == UsageEvent.feature_id)
            .group_by(User.email, Feature.slug)
        )
        return {(email, slug): total for email, slug, total in rows}


def upload(client: FlaskClient, content: str, filename: str = "usage.csv", **kwargs):
    return submit(
        client,
        "/adoption/usage/import",
        {"file": (io.BytesIO(content.encode()), filename)},
        content_type="multipart/form-data",
        **kwargs,
    )


def cli_import(app: Flask, path: Path):
    with app.app_context():
        return app.test_cli_runner().invoke(args=["usage", "import", str(path)])


def api_token(app: Flask, user_id: int, scopes=("usage:write",)) -> dict[str, str]:
    with app.app_context():
        issued = tokens.issue(db.session.get(User, user_id), "test", list(scopes))
        db.session.commit()
        return {"Authorization": f"Bearer {issued.plain}"}


def ingest(rows: list[dict], source: str = "api") -> usage.IngestReport:
    report = usage.ingest(list(enumerate(rows)), source=source, source_ref="test")
    db.session.commit()
    return report


def row(**changes) -> dict:
    base = {
        "user": "learner@example.com",
        "platform": "marketing-automation",
        "feature": "segmentation",
        "timestamp": "2026-01-05T09:00:00Z",
        "count": 1,
    }
    return {**base, **changes}


# --- the one validation path -------------------------------------------------------------------


def test_ingest_reports_each_bad_row_and_keeps_the_good_ones(app, ctx, people) -> None:
    report = ingest(
        [
            row(),
            row(user="nobody@example.com"),
            row(user=""),
            row(timestamp="05/01/2026"),
            row(timestamp=""),
            row(timestamp="2999-01-01T00:00:00Z"),
            row(count=-1),
            row(count=0),
            row(count=2.5),
            row(count="ten"),
            row(count=True),
            row(count=float("inf")),
            row(count=10**9),
            row(platform="nope"),
            row(feature="  "),
            row(timestamp="0001-01-01T00:00:00+01:00"),
            row(count="3", timestamp="2026-01-05T11:00:00Z"),
        ]
    )
    assert report.rows == 17
    assert report.accepted == 2 and report.held == 0 and report.duplicates == 0
    problems = {p.where: p.reason for p in report.problems}
    assert sorted(problems) == list(range(1, 16))
    assert "no user has" in problems[1]
    assert "user is empty" in problems[2]
    assert "not ISO 8601" in problems[3]
    assert "timestamp is empty" in problems[4]
    assert "in the future" in problems[5]
    assert "must be 1 or more" in problems[6] and "must be 1 or more" in problems[7]
    assert "not a whole number" in problems[8]
    assert "not a number" in problems[9] and "not a number" in problems[10]
    assert "not a number" in problems[11]
    assert "implausibly large" in problems[12]
    assert "not in the feature catalogue" in problems[13]
    assert "feature is empty" in problems[14]
    assert "timestamp" in problems[15]
    assert usage_by_feature(app) == {("learner@example.com", "segmentation"): 4}


def test_a_few_minutes_of_clock_skew_is_accepted(app, ctx, people) -> None:
    from datetime import timedelta

    from lms.core.timeutil import now_utc

    soon = (now_utc() + timedelta(minutes=2)).isoformat()
    later = (now_utc() + timedelta(minutes=30)).isoformat()
    report = ingest([row(timestamp=soon), row(timestamp=later)])
    assert report.accepted == 1
    assert [p.where for p in report.problems] == [1]


def test_timestamps_without_a_zone_are_utc_and_zones_are_converted(app, ctx, people) -> None:
    ingest(
        [
            row(timestamp="2026-01-05T09:00:00", event_id="naive"),
            row(timestamp="2026-01-05T09:00:00-05:00", event_id="offset"),
        ]
    )
    from lms.core.timeutil import as_utc

    found = {
        e.event_key.rsplit(":", 1)[1]: as_utc(e.occurred_at).isoformat()
        for e in db.session.scalars(select(UsageEvent))
    }
    assert found == {
        "naive": "2026-01-05T09:00:00+00:00",
        "offset": "2026-01-05T14:00:00+00:00",
    }


def test_people_are_matched_by_email_in_any_case_and_by_platform_id(app, ctx, people) -> None:
    report = ingest(
        [
            row(user="Learner@Example.com"),
            row(user="  learner@example.com ", timestamp="2026-01-06T09:00:00Z"),
            row(user="crm-0042"),
            row(user="CRM-0042"),  # platform ids are exact
        ]
    )
    assert report.accepted == 3
    assert [p.where for p in report.problems] == [3]
    assert usage_by_feature(app) == {
        ("learner@example.com", "segmentation"): 2,
        ("other.learner@example.com", "segmentation"): 1,
    }


@pytest.mark.parametrize(
    "platform, name, feature",
    [
        ("marketing-automation", "segmentation", "segmentation"),
        ("marketing-automation", "SEGMENTATION", "segmentation"),
        ("marketing-automation", "Smart Lists", "segmentation"),
        ("marketing-automation", "smart lists", "segmentation"),
        ("marketing-automation", "  Segment Builder ", "segmentation"),
        ("Marketing-Automation", "Campaign Builder", "campaign-creation"),
        ("marketing automation platform", "crm sync", "crm-integration"),
        ("marketing-analytics", "Attribution Report", "multi-channel-attribution"),
        ("marketing-analytics", "Forecasting models", "forecasting"),
    ],
)
def test_features_are_matched_by_id_name_and_alias(app, ctx, people, platform, name, feature):
    report = ingest([row(platform=platform, feature=name)])
    assert report.accepted == 1, report.problems
    assert usage_by_feature(app) == {("learner@example.com", feature): 1}


def test_a_feature_name_belongs_to_its_platform(app, ctx, people) -> None:
    """ "Segmentation" is a feature of the automation platform, not of the analytics one."""
    report = ingest([row(platform="marketing-analytics", feature="Segmentation")])
    assert report.accepted == 0 and report.held == 1


def test_the_same_rows_again_record_nothing_twice(app, ctx, people) -> None:
    rows = [
        row(),
        row(timestamp="2026-01-06T09:00:00Z"),
        row(event_id="evt-1", count=5),
        row(feature="Mystery Feature"),
    ]
    first = ingest(rows)
    assert (first.accepted, first.held, first.duplicates) == (3, 1, 0)
    second = ingest(rows)
    assert (second.accepted, second.held, second.duplicates) == (0, 0, 4)
    assert count(app, UsageEvent) == 3 and count(app, HeldUsage) == 1
    # Within one batch too.
    third = ingest([row(event_id="evt-2"), row(event_id="evt-2", count=3)])
    assert (third.accepted, third.duplicates) == (1, 1)


def test_the_same_event_id_from_csv_and_api_is_one_event(app, client, people) -> None:
    login(client, "manager@example.com")
    upload(
        client,
        HEADER + "learner@example.com,marketing-automation,segmentation,2026-01-05T09:00:00Z,1,"
        "crm-evt-77\n",
    )
    assert count(app, UsageEvent) == 1
    response = app.test_client().post(
        "/api/v1/usage-events",
        json={"events": [row(event_id="crm-evt-77", user="Learner@example.com")]},
        headers=api_token(app, people["manager"]),
    )
    assert response.status_code == 200
    assert response.get_json()["duplicates"] == 1 and response.get_json()["accepted"] == 0
    assert count(app, UsageEvent) == 1
    with app.app_context():
        key = db.session.scalar(select(UsageEvent.event_key))
        assert key.startswith("id:") and key.endswith(":crm-evt-77")


# --- the CSV upload page -----------------------------------------------------------------------


def test_upload_reports_refused_rows_by_line_and_keeps_good_rows(app, client, people) -> None:
    login(client, "manager@example.com")
    page = client.get("/adoption/usage/import")
    assert page.status_code == 200
    response = upload(client, GOOD_AND_BAD)
    assert response.status_code == 200
    shown = text(response)
    assert "13 rows: 3 recorded" in shown and f"{len(EXPECTED_PROBLEMS)} refused" in shown
    refused = refused_rows(response)
    assert sorted(refused) == sorted(EXPECTED_PROBLEMS)
    for line, reason in EXPECTED_PROBLEMS.items():
        assert reason in refused[line], (line, refused[line])
    assert usage_by_feature(app) == {
        ("learner@example.com", "segmentation"): 3,
        ("other.learner@example.com", "kpi-tracking"): 1,
    }
    with app.app_context():
        sources = set(db.session.execute(select(UsageEvent.source, UsageEvent.source_ref)))
        assert sources == {("csv", "usage.csv")}
        audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "usage.imported"))
        assert audit.actor_id == people["manager"] and audit.details["recorded"] == 3


def test_upload_again_records_nothing_twice(app, client, people) -> None:
    login(client, "manager@example.com")
    upload(client, GOOD_AND_BAD)
    before = count(app, UsageEvent)
    again = upload(client, GOOD_AND_BAD)
    shown = text(again)
    assert "0 recorded" in shown and "3 already recorded" in shown
    assert count(app, UsageEvent) == before == 3


def test_upload_accepts_the_user_column_by_any_of_its_names_and_a_bom(app, client, people):
    login(client, "manager@example.com")
    content = (
        "\ufeffExternal_ID,Platform,Feature,Timestamp\n"
        "crm-0042,marketing-automation,Workflows,2026-01-05T09:00:00Z\n"
        ",,,\n"  # an empty row is skipped, not refused
        "crm-0042,marketing-automation,Journeys,2026-01-06T09:00:00Z\n"
    )
    response = upload(client, content)
    assert refused_rows(response) == {}
    assert usage_by_feature(app) == {("other.learner@example.com", "workflow-automation"): 2}


def test_upload_refuses_a_file_without_the_needed_columns(app, client, people) -> None:
    login(client, "manager@example.com")
    response = upload(client, "who,what\nlearner@example.com,segmentation\n")
    refused = refused_rows(response)
    assert list(refused) == [1]
    assert "the header lacks the column(s) user, platform, feature, timestamp" in refused[1]
    assert count(app, UsageEvent) == 0


def test_upload_refuses_a_file_that_is_not_utf8(app, client, people) -> None:
    login(client, "manager@example.com")
    response = submit(
        client,
        "/adoption/usage/import",
        {"file": (io.BytesIO(HEADER.encode() + "Jos\xe9".encode("latin-1")), "usage.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert "not UTF-8" in text(response)


# --- the command line --------------------------------------------------------------------------


def test_cli_import_reports_lines_keeps_good_rows_and_exits_2(app, people, tmp_path) -> None:
    path = tmp_path / "usage.csv"
    path.write_text(GOOD_AND_BAD, encoding="utf-8")
    result = cli_import(app, path)
    assert result.exit_code == 2, result.output
    assert "3 recorded, 0 already recorded, 0 held" in result.stdout
    assert f"{len(EXPECTED_PROBLEMS)} refused" in result.stdout
    for line, reason in EXPECTED_PROBLEMS.items():
        assert re.search(
            rf"^{re.escape(str(path))}: line {line}: .*{re.escape(reason)}", result.stderr, re.M
        ), (line, result.stderr)
    assert usage_by_feature(app) == {
        ("learner@example.com", "segmentation"): 3,
        ("other.learner@example.com", "kpi-tracking"): 1,
    }

    again = cli_import(app, path)
    assert again.exit_code == 2
    assert "0 recorded, 3 already recorded" in again.stdout
    assert count(app, UsageEvent) == 3


def test_cli_import_of_a_clean_file_exits_0_and_is_idempotent(app, people, tmp_path) -> None:
    path = tmp_path / "clean.csv"
    path.write_text(
        HEADER
        + "learner@example.com,marketing-automation,segmentation,2026-01-05T09:00:00Z,2,\n"
        + "crm-0042,marketing-analytics,forecasting,2026-01-05T09:00:00Z,1,e-9\n",
        encoding="utf-8",
    )
    first = cli_import(app, path)
    assert first.exit_code == 0, first.output
    assert "2 rows: 2 recorded" in first.stdout
    second = cli_import(app, path)
    assert second.exit_code == 0
    assert "2 rows: 0 recorded, 2 already recorded" in second.stdout
    assert count(app, UsageEvent) == 2


def test_cli_import_exits_1_when_every_row_is_refused(app, people, tmp_path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        HEADER + "nobody@example.com,marketing-automation,segmentation,2026-01-05T09:00:00Z,,\n",
        encoding="utf-8",
    )
    result = cli_import(app, path)
    assert result.exit_code == 1
    assert "line 2: no user has" in result.stderr
    missing = cli_import(app, tmp_path / "missing.csv")
    assert missing.exit_code != 0


def test_cli_import_refuses_a_file_that_is_not_utf8(app, people, tmp_path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes(HEADER.encode() + "Jos\xe9,x,y,z\n".encode("latin-1"))
    result = cli_import(app, path)
    assert result.exit_code == 1
    assert "not UTF-8" in result.output
    assert count(app, UsageEvent) == 0


# --- unknown feature names ---------------------------------------------------------------------

HELD = (
    HEADER
    + "learner@example.com,marketing-automation,Predictive Audiences,2026-01-05T09:00:00Z,1,\n"
    + "crm-0042,marketing-automation,predictive audiences,2026-01-05T10:00:00Z,4,\n"
    + "learner@example.com,marketing-automation,segmentation,2026-01-05T11:00:00Z,1,\n"
)


def test_unknown_feature_names_are_held_mapped_and_replayed(app, client, people) -> None:
    login(client, "manager@example.com")
    shown = text(upload(client, HELD))
    assert "1 recorded" in shown and "2 held for an unknown feature" in shown
    assert count(app, UsageEvent) == 1 and count(app, HeldUsage) == 2

    admin = app.test_client()
    login(admin, "admin@example.com")
    page = admin.get("/adoption/unmapped")
    assert page.status_code == 200
    assert re.search(r"Marketing automation platform predictive audiences 2 ", text(page)), text(
        page
    )
    with app.app_context():
        platform = db.session.scalar(
            select(Platform).where(Platform.slug == "marketing-automation")
        )
        feature = db.session.scalar(select(Feature).where(Feature.slug == "segmentation"))
        platform_id, feature_id = platform.id, feature.id
    mapped = submit(
        admin,
        "/adoption/unmapped",
        {
            "platform_id": str(platform_id),
            "name": "predictive audiences",
            "feature_id": str(feature_id),
        },
    )
    assert mapped.status_code == 302
    after = admin.get(mapped.headers["Location"])
    assert "2 held rows recorded" in text(after)
    assert "No rows are held" in text(after)

    assert count(app, HeldUsage) == 0
    assert count(app, UsageEvent) == 3
    assert usage_by_feature(app) == {
        ("learner@example.com", "segmentation"): 2,
        ("other.learner@example.com", "segmentation"): 4,
    }
    with app.app_context():
        alias = db.session.scalar(
            select(FeatureAlias).where(FeatureAlias.name == "predictive audiences")
        )
        assert alias.source == "admin" and alias.feature_id == feature_id
        audit = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "feature.name_mapped")
        )
        assert audit.actor_id == people["admin"] and audit.details["replayed"] == 2

    # The held rows sent again are not recorded twice; new rows with the name go straight in.
    shown = text(upload(client, HELD))
    assert "0 recorded, 3 already recorded, 0 held" in shown
    shown = text(
        upload(
            client,
            HEADER
            + "learner@example.com,marketing-automation,PREDICTIVE AUDIENCES,"
            + "2026-01-08T09:00:00Z,1,\n",
        )
    )
    assert "1 recorded" in shown and "0 held" in shown
    assert count(app, HeldUsage) == 0 and count(app, UsageEvent) == 4


def test_a_name_maps_only_to_a_feature_of_its_own_platform(app, client, people) -> None:
    login(client, "manager@example.com")
    upload(client, HELD)
    admin = app.test_client()
    login(admin, "admin@example.com")
    with app.app_context():
        platform_id = db.session.scalar(
            select(Platform.id).where(Platform.slug == "marketing-automation")
        )
        elsewhere = db.session.scalar(select(Feature.id).where(Feature.slug == "kpi-tracking"))
    for platform, feature in ((platform_id, elsewhere), ("not-a-number", elsewhere)):
        crafted = submit(
            admin,
            "/adoption/unmapped",
            {
                "platform_id": str(platform),
                "name": "predictive audiences",
                "feature_id": str(feature),
            },
        )
        assert crafted.status_code == 400
    assert count(app, HeldUsage) == 2 and count(app, UsageEvent) == 1
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count(FeatureAlias.id)).where(FeatureAlias.source == "admin")
            )
            == 0
        )


def test_a_catalogue_reload_keeps_admin_mappings(app, ctx, people) -> None:
    from lms.adoption.loading import load_feature_catalogue
    from lms.curricula.files import parse_file

    ingest([row(feature="Audience Builder")])
    platform = db.session.scalar(select(Platform).where(Platform.slug == "marketing-automation"))
    feature = db.session.scalar(select(Feature).where(Feature.slug == "audience-targeting"))
    assert usage.map_name(platform, "Audience Builder", feature) == 1
    db.session.commit()
    # The catalogue is loaded again, now naming the same alias itself.
    document = parse_file(CURRICULA / "features.yaml").document
    target = next(f for f in document.platforms[0].features if f.id == "audience-targeting")
    target.aliases.append("Audience Builder")
    load_feature_catalogue(document)
    db.session.commit()
    report = ingest([row(feature="audience builder", timestamp="2026-01-09T09:00:00Z")])
    assert report.accepted == 1
    assert usage_by_feature(app) == {("learner@example.com", "audience-targeting"): 2}


# --- large uploads run as a job ----------------------------------------------------------------


def big_file(good: int, bad_lines: int = 1) -> str:
    lines = [
        f"learner@example.com,marketing-automation,segmentation,2026-01-05T{h:02d}:00:00Z,1,"
        for h in range(good)
    ]
    lines += ["nobody@example.com,marketing-automation,segmentation,2026-01-05T09:00:00Z,1,"] * (
        bad_lines
    )
    lines.append("learner@example.com,marketing-automation,Mystery,2026-01-05T09:00:00Z,1,")
    return HEADER + "\n".join(lines) + "\n"


def test_a_large_upload_runs_as_a_job_with_progress(app, client, people, monkeypatch) -> None:
    from lms.adoption import jobs

    monkeypatch.setattr(jobs, "BACKGROUND_FROM_ROWS", 5)
    monkeypatch.setattr(jobs, "PROGRESS_EVERY", 3)
    login(client, "manager@example.com")
    response = upload(client, big_file(7))
    assert response.status_code == 302
    location = response.headers["Location"]
    match = re.fullmatch(r"/adoption/jobs/(\d+)", location)
    assert match, location
    job_id = int(match.group(1))

    progress = client.get(location, headers={"Accept": "application/json"})
    assert progress.status_code == 200
    assert progress.get_json() == {
        "id": job_id,
        "status": "done",
        "total_rows": 9,
        "processed_rows": 9,
        "accepted": 7,
        "duplicates": 0,
        "held": 1,
        "problem_count": 1,
        "error": None,
    }
    page = client.get(location)
    assert page.status_code == 200
    shown = text(page)
    assert "Status: done" in shown and "9 of 9 rows processed" in shown
    assert re.search(r"Line Reason 9 no user has", shown), shown
    assert count(app, UsageEvent) == 7 and count(app, HeldUsage) == 1
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        assert job.payload is None and job.finished_at is not None
        assert job.created_by_id == people["manager"]
        assert job.problems == [{"row": 9, "reason": job.problems[0]["reason"]}]

    # Again: nothing twice.
    again = upload(client, big_file(7))
    result = client.get(again.headers["Location"], headers={"Accept": "application/json"})
    assert result.get_json()["duplicates"] == 8 and result.get_json()["accepted"] == 0
    assert count(app, UsageEvent) == 7


def test_a_job_that_fails_says_so_and_keeps_what_it_recorded(app, client, people, monkeypatch):
    from lms.adoption import jobs

    monkeypatch.setattr(jobs, "BACKGROUND_FROM_ROWS", 5)
    monkeypatch.setattr(jobs, "PROGRESS_EVERY", 3)
    real_ingest, calls = jobs.ingest, []

    def failing_second_chunk(rows, **kwargs):
        calls.append(len(rows))
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return real_ingest(rows, **kwargs)

    monkeypatch.setattr(jobs, "ingest", failing_second_chunk)
    login(client, "manager@example.com")
    location = upload(client, big_file(7)).headers["Location"]
    progress = client.get(location, headers={"Accept": "application/json"}).get_json()
    assert progress["status"] == "failed"
    assert progress["error"] == "the database went away"
    assert progress["processed_rows"] == 3 and progress["accepted"] == 3
    assert count(app, UsageEvent) == 3
    assert "The import stopped: the database went away" in text(client.get(location))
    with app.app_context():
        assert db.session.scalar(select(ImportJob.payload)) is None


def test_a_job_belongs_to_whoever_started_it(app, client, people, monkeypatch) -> None:
    from lms.adoption import jobs

    monkeypatch.setattr(jobs, "BACKGROUND_FROM_ROWS", 5)
    with app.app_context():
        make_user("second.manager@example.com", ("manager",))
    login(client, "manager@example.com")
    location = upload(client, big_file(7)).headers["Location"]

    other = app.test_client()
    login(other, "second.manager@example.com")
    assert other.get(location).status_code == 404
    refused = other.get(location, headers={"Accept": "application/json"})
    assert refused.status_code == 404
    assert refused.is_json and refused.get_json()["error"] == "not_found"

    admin = app.test_client()
    login(admin, "admin@example.com")
    assert admin.get(location).status_code == 200

    assert client.get("/adoption/jobs/999999").status_code == 404


# --- who may open what -------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["learner", "leader"])
def test_learners_and_leaders_cannot_open_usage_pages(app, client, people, who) -> None:
    login(client, f"{who}@example.com")
    for page in ("/adoption/usage/import", "/adoption/unmapped", "/adoption/jobs/1"):
        assert client.get(page).status_code == 403, page
    for page in ("/adoption/usage/import", "/adoption/unmapped"):
        crafted = submit(client, "/", {"name": "x", "platform_id": "1"}, to=page)
        assert crafted.status_code == 403, page


def test_managers_cannot_map_feature_names(app, client, people) -> None:
    login(client, "manager@example.com")
    upload(client, HELD)
    assert client.get("/adoption/unmapped").status_code == 403
    token = re.search(
        r'name="csrf_token"[^>]*value="([^"]+)"',
        client.get("/adoption/usage/import").get_data(as_text=True),
    ).group(1)
    with app.app_context():
        platform_id = db.session.scalar(select(Platform.id).limit(1))
        feature_id = db.session.scalar(select(Feature.id).limit(1))
    crafted = client.post(
        "/adoption/unmapped",
        data={
            "csrf_token": token,
            "platform_id": platform_id,
            "name": "predictive audiences",
            "feature_id": feature_id,
        },
    )
    assert crafted.status_code == 403
    assert count(app, HeldUsage) == 2


def test_signed_out_visitors_are_sent_to_sign_in(client, people) -> None:
    response = client.get("/adoption/usage/import")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- the JSON API ------------------------------------------------------------------------------


def test_api_batch_answers_accepted_held_and_problems_by_index(app, people) -> None:
    api = app.test_client()
    response = api.post(
        "/api/v1/usage-events",
        json={
            "events": [
                row(event_id="a-1"),
                row(user="nobody@example.com"),
                "not an event",
                row(feature="Mystery"),
                row(count=0),
                row(user="crm-0042", feature="Smart Lists", count=3),
            ]
        },
        headers=api_token(app, people["manager"]),
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["rows"] == 6
    assert (body["accepted"], body["held"], body["duplicates"]) == (2, 1, 0)
    assert [p["row"] for p in body["problems"]] == [1, 2, 4]
    assert "no user has" in body["problems"][0]["reason"]
    assert body["problems"][1]["reason"] == "each event must be a JSON object"
    assert "must be 1 or more" in body["problems"][2]["reason"]
    assert usage_by_feature(app) == {
        ("learner@example.com", "segmentation"): 1,
        ("other.learner@example.com", "segmentation"): 3,
    }
    # A list without the wrapper is accepted too; the same events again are duplicates.
    again = api.post(
        "/api/v1/usage-events", json=[row(event_id="a-1")], headers=api_token(app, people["admin"])
    )
    assert again.status_code == 200
    assert again.get_json()["duplicates"] == 1 and again.get_json()["accepted"] == 0


@pytest.mark.parametrize(
    "payload",
    [{"events": "all of them"}, {"events": {"user": "x"}}, {"no": "events"}, "text", 42, None],
)
def test_api_refuses_what_is_not_a_list_of_events(app, people, payload) -> None:
    response = app.test_client().post(
        "/api/v1/usage-events", json=payload, headers=api_token(app, people["manager"])
    )
    assert response.status_code == 400
    assert response.is_json and response.get_json()["error"] == "bad_request"


def test_api_refuses_a_body_that_is_not_json(app, people) -> None:
    response = app.test_client().post(
        "/api/v1/usage-events",
        data="user,platform\n",
        content_type="text/csv",
        headers=api_token(app, people["manager"]),
    )
    assert response.status_code == 400 and response.get_json()["error"] == "bad_request"


def test_api_timestamps_out_of_range_are_problems_not_crashes(app, people) -> None:
    response = app.test_client().post(
        "/api/v1/usage-events",
        data='{"events": [{"user": "learner@example.com", "platform": "marketing-automation",'
        ' "feature": "segmentation", "timestamp": "0001-01-01T00:00:00+01:00"},'
        ' {"user": "learner@example.com", "platform": "marketing-automation",'
        ' "feature": "segmentation", "timestamp": "2026-01-05T09:00:00Z", "count": 1e400}]}',
        content_type="application/json",
        headers=api_token(app, people["manager"]),
    )
    assert response.status_code == 200
    assert [p["row"] for p in response.get_json()["problems"]] == [0, 1]


def test_api_without_a_token_is_401_json_with_a_challenge(app, people) -> None:
    response = app.test_client().post("/api/v1/usage-events", json={"events": [row()]})
    assert response.status_code == 401
    assert response.is_json and response.get_json()["error"] == "unauthorised"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert count(app, UsageEvent) == 0


def test_api_token_without_usage_write_is_403_json(app, people) -> None:
    response = app.test_client().post(
        "/api/v1/usage-events",
        json={"events": [row()]},
        headers=api_token(app, people["leader"], scopes=("read",)),
    )
    assert response.status_code == 403
    assert response.is_json and response.get_json()["error"] == "forbidden"
    assert count(app, UsageEvent) == 0


def test_api_unknown_paths_and_methods_answer_json(app, people) -> None:
    api = app.test_client()
    missing = api.get("/api/v1/xyz", headers=api_token(app, people["manager"]))
    assert missing.status_code == 404
    assert missing.is_json and missing.get_json()["error"] == "not_found"
    wrong_method = api.get("/api/v1/usage-events")
    assert wrong_method.status_code == 405 and wrong_method.is_json


def test_api_index_names_its_resources(app) -> None:
    response = app.test_client().get("/api/v1/")
    assert response.status_code == 200
    links = response.get_json()["_links"]
    assert links == {
        "usage_events": "/api/v1/usage-events",
        "campaigns": "/api/v1/campaigns",
        "process_step_changes": "/api/v1/process-steps/changes",
        "integration_checkpoints": "/api/v1/integration-checkpoints",
        "xapi_statements": "/xapi/statements",
    }


def test_api_refuses_too_large_batches(app, people, monkeypatch) -> None:
    from lms.api import views

    monkeypatch.setattr(views, "MAX_BATCH", 3)
    response = app.test_client().post(
        "/api/v1/usage-events", json=[row()] * 4, headers=api_token(app, people["manager"])
    )
    assert response.status_code == 413 and response.get_json()["error"] == "too_large"
    assert count(app, UsageEvent) == 0


def test_the_same_event_id_from_two_platforms_is_two_events(app, ctx, people) -> None:
    """Platforms number their own events: id 1001 from the automation platform and 1001 from
    the analytics platform are different uses, so neither may be dropped as a duplicate."""
    report = ingest(
        [
            row(platform="marketing-automation", feature="segmentation", event_id="1001"),
            row(platform="marketing-analytics", feature="kpi-tracking", event_id="1001"),
        ]
    )
    assert (report.accepted, report.duplicates, report.problems) == (2, 0, [])


def test_a_manager_records_usage_only_for_their_own_learners(app, client, people) -> None:
    """Another person's usage feeds other managers' figures: a manager's upload refuses it by
    line; an admin may send anyone's."""
    with app.app_context():
        outsider = make_user("outsider@example.com")
        outsider_id = outsider.id
    body = "user,platform,feature,timestamp\n" + "\n".join(
        f"{who},marketing-automation,segmentation,2026-01-05T09:00:00Z"
        for who in ("learner@example.com", "outsider@example.com")
    )
    login(client, "manager@example.com")
    response = submit(
        client,
        "/adoption/usage/import",
        {"file": (io.BytesIO(body.encode()), "usage.csv")},
        content_type="multipart/form-data",
    )
    assert refused_rows(response) == {
        3: "outsider@example.com is not a learner in a cohort you manage"
    }
    with app.app_context():
        users_recorded = set(db.session.scalars(select(UsageEvent.user_id)))
    assert outsider_id not in users_recorded and people["learner"] in users_recorded


def test_a_large_upload_runs_on_an_rq_worker_when_configured(
    app: Flask, people, database_url: str, monkeypatch
) -> None:
    """With LMS_JOB_QUEUE=rq the job waits in Redis until a worker (here an in-process one, as
    `rq worker` would run) takes it; its state lives in the database throughout."""
    monkeypatch.setattr(usage_jobs, "BACKGROUND_FROM_ROWS", 2)
    body = "user,platform,feature,timestamp\n" + "\n".join(
        f"learner@example.com,marketing-automation,segmentation,2026-01-0{day}T09:00:00Z"
        for day in range(1, 6)
    )
    with queued_app(database_url, monkeypatch) as queued:
        client = queued.app.test_client()
        login(client, "manager@example.com")
        response = submit(
            client,
            "/adoption/usage/import",
            {"file": (io.BytesIO(body.encode()), "big.csv")},
            content_type="multipart/form-data",
        )
        assert response.status_code == 302 and "/adoption/jobs/" in response.headers["Location"]
        with queued.app.app_context():
            job = db.session.scalar(select(ImportJob))
            assert job.status == "queued"  # nothing ran in the web process
            job_id = job.id
        queued.work()
        with queued.app.app_context():
            db.session.expire_all()
            job = db.session.get(ImportJob, job_id)
            assert (job.status, job.accepted, job.total_rows) == ("done", 5, 5)


def test_usage_files_may_carry_columns_we_do_not_use(app, client, people) -> None:
    """A platform export has more columns than we need: they are ignored, not refused, and a
    row with more cells than the header still is."""
    login(client, "manager@example.com")
    response = upload(
        client,
        "email,platform,feature,timestamp,browser\n"
        "learner@example.com,marketing-automation,segmentation,2026-01-05T09:00:00Z,Firefox\n"
        "learner@example.com,marketing-automation,segmentation,2026-01-06T09:00:00Z,x,y\n",
    )
    assert refused_rows(response) == {3: "has more cells than the header has columns"}
    assert count(app, UsageEvent) == 1
