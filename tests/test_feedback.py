"""Learners flag content that looks wrong: a lesson section or a question of their result; admins
close each report with a note the learner then reads. The doors, the limits and personal data."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from lms.accounts.models import User
from lms.assessments import operations as assessments
from lms.assessments.models import Attempt
from lms.audit.models import AuditEvent
from lms.curricula.models import LessonSection
from lms.extensions import db
from lms.feedback import operations
from lms.feedback.models import ContentReport
from lms.privacy import erase_user, export_user_data
from tests.conftest import login, submit
from tests.support.learning import FIRST_CHECK, FIRST_MODULE, PROGRAMME, assessment, module

MODULE_PAGE = f"/learn/{PROGRAMME}/{FIRST_MODULE}"
COMMENT = "The worked example adds 40 and 25 to make 75; it should be 65."


@dataclass
class World:
    section_slug: str
    section_title: str
    second_section_slug: str
    attempt: int
    item: int
    question_slug: str
    question_version: int
    in_progress_item: int


def text(response) -> str:
    return response.get_data(as_text=True)


def signed_in(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    assert login(client, email).status_code == 302
    return client


@pytest.fixture
def world(app: Flask, users, curricula) -> World:
    with app.app_context():
        sections = [s for s in module(FIRST_MODULE).sections if s.retired_at is None]
        check = assessment(FIRST_CHECK)
        learner = db.session.get(User, users["learner"])
        attempt = assessments.start_attempt(learner.id, check)
        db.session.flush()
        assessments.submit_attempt(attempt, MultiDict())
        item = attempt.items[1]
        # Another learner's attempt, still in progress.
        other = assessments.start_attempt(users["learner2"], check)
        db.session.commit()
        return World(
            section_slug=sections[0].slug,
            section_title=sections[0].title,
            second_section_slug=sections[1].slug,
            attempt=attempt.id,
            item=item.id,
            question_slug=item.question_version.question.slug,
            question_version=item.question_version.number,
            in_progress_item=other.items[0].id,
        )


def section_report_url(slug: str) -> str:
    return f"{MODULE_PAGE}/sections/{slug}/report"


def reports(app: Flask) -> list[ContentReport]:
    with app.app_context():
        rows = list(db.session.scalars(select(ContentReport).order_by(ContentReport.id)))
        for row in rows:
            db.session.expunge(row)
        return rows


def flag_section(client: FlaskClient, world: World, comment: str = COMMENT, **kwargs):
    return submit(
        client,
        MODULE_PAGE,
        {"comment": comment},
        to=section_report_url(world.section_slug),
        **kwargs,
    )


# --- sections ---------------------------------------------------------------------------------


def test_every_section_offers_a_report_form_with_csrf(app, world) -> None:
    page = text(signed_in(app, "learner@example.com").get(MODULE_PAGE))
    form = re.search(
        rf'<form method="post" action="{re.escape(section_report_url(world.section_slug))}"'
        r".*?</form>",
        page,
        re.S,
    )
    assert form, "no report form under the first section"
    assert 'name="csrf_token"' in form.group(0)
    assert 'minlength="10" maxlength="2000"' in form.group(0)
    assert f"What looks wrong in the section “{world.section_title}”?" in page
    assert section_report_url(world.second_section_slug) in page


def test_a_learner_reports_a_section_and_sees_it_open(app, world) -> None:
    client = signed_in(app, "learner@example.com")
    response = flag_section(client, world)
    assert response.status_code == 302
    with app.app_context():
        section_id = db.session.scalars(
            select(LessonSection.id).where(LessonSection.slug == world.section_slug)
        ).first()
    # Back to the section's report status, which now says it is open.
    assert response.location.endswith(f"{MODULE_PAGE}#flag-section-{section_id}")
    (report,) = reports(app)
    with app.app_context():
        version = module(FIRST_MODULE).programme.version
    assert (report.kind, report.content_slug, report.status) == (
        "section",
        world.section_slug,
        "open",
    )
    assert report.programme_version == version
    assert report.comment == COMMENT
    page = text(client.get(MODULE_PAGE))
    assert "Thank you: your report is with the content team." in page
    assert re.search(r"You reported this on [^<]+ — open: the content team will look at it.", page)
    # While it is open the section offers no second report; the other sections still do.
    assert section_report_url(world.section_slug) not in page
    assert section_report_url(world.second_section_slug) in page


def test_one_open_report_per_learner_and_section(app, world) -> None:
    client = signed_in(app, "learner@example.com")
    flag_section(client, world)
    again = submit(
        client,
        section_report_url(world.second_section_slug),  # any page with a token will do
        {"comment": "Still wrong after a second reading."},
        to=section_report_url(world.section_slug),
        follow_redirects=True,
    )
    assert "You have already reported this; it is still open." in text(again)
    assert len(reports(app)) == 1
    # Another learner may report the same section.
    flag_section(signed_in(app, "other.learner@example.com"), world)
    assert len(reports(app)) == 2


@pytest.mark.parametrize(
    ("comment", "shown"),
    [
        ("Wrong.", "Write between 10 and 2000 characters."),
        ("x" * 2001, "Write between 10 and 2000 characters."),
        ("   ", "Say what looks wrong."),
    ],
)
def test_a_comment_outside_the_limits_is_refused_and_kept(app, world, comment, shown) -> None:
    client = signed_in(app, "learner@example.com")
    response = submit(client, section_report_url(world.section_slug), {"comment": comment})
    assert response.status_code == 200
    page = text(response)
    assert shown in page
    if comment.strip():
        assert comment[:50] in page  # what was typed is still in the box
    assert reports(app) == []


def test_the_report_page_works_without_javascript_and_escapes(app, world) -> None:
    client = signed_in(app, "learner@example.com")
    page = text(client.get(section_report_url(world.section_slug)))
    assert f"Report a problem with the section “{world.section_title}”" in page
    comment = "<script>alert('x')</script> looks wrong"
    submit(client, section_report_url(world.section_slug), {"comment": comment})
    admin = signed_in(app, "admin@example.com")
    queue = text(admin.get("/admin/content-reports"))
    assert "<script>alert" not in queue
    assert "&lt;script&gt;alert(" in queue


def test_an_unknown_or_retired_section_is_not_found(app, world) -> None:
    client = signed_in(app, "learner@example.com")
    assert client.get(section_report_url("no-such-section")).status_code == 404
    with app.app_context():
        section = db.session.scalars(
            select(LessonSection).where(LessonSection.slug == world.section_slug)
        ).first()
        section.retired_at = func.now()
        db.session.commit()
    assert client.get(section_report_url(world.section_slug)).status_code == 404


def test_a_visitor_is_sent_to_sign_in(app, world) -> None:
    response = app.test_client().post(section_report_url(world.section_slug), data={})
    assert response.status_code == 302
    assert "/login" in response.location


# --- questions --------------------------------------------------------------------------------


def item_url(item_id: int) -> str:
    return f"/attempt-items/{item_id}/report"


def test_a_learner_reports_a_question_of_their_result_with_the_version_seen(app, world) -> None:
    client = signed_in(app, "learner@example.com")
    result = f"/attempts/{world.attempt}/result"
    page = text(client.get(result))
    assert f'action="{item_url(world.item)}"' in page
    response = submit(client, result, {"comment": COMMENT}, to=item_url(world.item))
    assert response.status_code == 302
    assert response.location.endswith(f"{result}#flag-item-{world.item}")
    (report,) = reports(app)
    assert (report.kind, report.content_slug, report.attempt_item_id) == (
        "question",
        world.question_slug,
        world.item,
    )
    assert report.question_version == world.question_version
    page = text(client.get(result))
    assert "You reported this on" in page
    assert f'action="{item_url(world.item)}"' not in page


def test_another_learners_attempt_item_is_not_found(app, world) -> None:
    other = signed_in(app, "other.learner@example.com")
    assert other.get(item_url(world.item)).status_code == 404
    # Even with a valid token from a page of their own.
    response = submit(other, MODULE_PAGE, {"comment": COMMENT}, to=item_url(world.item))
    assert response.status_code == 404
    assert reports(app) == []


def test_a_question_cannot_be_reported_before_submission(app, world) -> None:
    other = signed_in(app, "other.learner@example.com")
    assert other.get(item_url(world.in_progress_item)).status_code == 404
    response = submit(other, MODULE_PAGE, {"comment": COMMENT}, to=item_url(world.in_progress_item))
    assert response.status_code == 404
    assert reports(app) == []


def test_a_post_without_the_csrf_token_is_refused(app, world) -> None:
    client = signed_in(app, "learner@example.com")
    response = client.post(item_url(world.item), data={"comment": COMMENT})
    assert response.status_code == 400
    assert reports(app) == []


# --- the admins' queue ------------------------------------------------------------------------


def test_the_queue_lists_open_reports_with_their_content_and_version(app, world) -> None:
    learner = signed_in(app, "learner@example.com")
    flag_section(learner, world)
    submit(
        learner, f"/attempts/{world.attempt}/result", {"comment": COMMENT}, to=item_url(world.item)
    )
    admin = signed_in(app, "admin@example.com")
    assert "Content reports" in text(admin.get("/admin/"))
    page = text(admin.get("/admin/content-reports"))
    with app.app_context():
        version = module(FIRST_MODULE).programme.version
    assert world.section_slug in page and world.question_slug in page
    assert f"{version}, question v{world.question_version}" in page
    assert f'href="{MODULE_PAGE}#section-{world.section_slug}"' in page
    assert "Learner" in page  # who reported
    assert "it should be 65" in page


@pytest.mark.parametrize(
    "email", ["learner@example.com", "manager@example.com", "leader@example.com"]
)
def test_only_admins_see_the_queue_and_close_reports(app, world, email) -> None:
    flag_section(signed_in(app, "learner@example.com"), world)
    (report,) = reports(app)
    client = signed_in(app, email)
    assert client.get("/admin/content-reports").status_code == 403
    assert client.get(f"/admin/content-reports/{report.id}").status_code == 403
    response = submit(
        client, MODULE_PAGE, {"note": "Fixed in 1.4.1."}, to=f"/admin/content-reports/{report.id}"
    )
    assert response.status_code == 403
    assert reports(app)[0].status == "open"


def test_closing_needs_a_note_and_is_audited_and_the_learner_reads_it(app, users, world) -> None:
    learner = signed_in(app, "learner@example.com")
    flag_section(learner, world)
    (report,) = reports(app)
    admin = signed_in(app, "admin@example.com")
    page = f"/admin/content-reports/{report.id}"
    response = submit(admin, page, {"note": ""})
    assert response.status_code == 200
    assert "Say what was done." in text(response)
    assert reports(app)[0].status == "open"

    response = submit(admin, page, {"note": "Fixed in 1.4.1: the sum now reads 65."})
    assert response.status_code == 302
    (closed,) = reports(app)
    assert closed.status == "closed"
    assert closed.closed_by_id == users["admin"]
    assert closed.closed_at is not None
    assert closed.resolution == "Fixed in 1.4.1: the sum now reads 65."
    with app.app_context():
        (event,) = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "content-report.closed")
        )
        assert (event.actor_id, event.target_id) == (users["admin"], str(report.id))
        assert event.reason == "Fixed in 1.4.1: the sum now reads 65."

    # Closed reports leave the open queue and appear under closed ones.
    assert world.section_slug not in text(admin.get("/admin/content-reports"))
    assert "the sum now reads 65" in text(admin.get("/admin/content-reports?status=closed"))
    # A closed report cannot be closed again.
    submit(admin, page, {"note": "Closing twice."})
    assert reports(app)[0].resolution == "Fixed in 1.4.1: the sum now reads 65."

    # The learner reads the outcome beside the section, and may report it again.
    module_page = text(learner.get(MODULE_PAGE))
    assert re.search(
        r"You reported this on [^<]+ — closed [^<]+: Fixed in 1.4.1: the sum now reads 65.",
        module_page,
    )
    assert "Report it again" in module_page
    flag_section(learner, world, "The sum is right now but the label still says 75.")
    assert [r.status for r in reports(app)] == ["closed", "open"]


def test_only_an_admin_closes_through_the_operations_too(app, users, world) -> None:
    flag_section(signed_in(app, "learner@example.com"), world)
    with app.app_context():
        report = db.session.scalars(select(ContentReport)).one()
        manager = db.session.get(User, users["manager"])
        with pytest.raises(operations.ReportRefused):
            operations.close(report, manager, "Looks fine to me.")


def test_the_queue_takes_the_same_queries_for_few_or_many_reports(
    app, users, world, count_queries
) -> None:
    from tests.conftest import make_user

    admin = signed_in(app, "admin@example.com")

    def flag_as_new_learners(how_many: int, start: int) -> None:
        with app.app_context():
            section = db.session.scalars(
                select(LessonSection).where(LessonSection.slug == world.section_slug)
            ).first()
            for number in range(start, start + how_many):
                learner = make_user(f"flagger{number}@example.com")
                operations.report_section(learner, section, f"Report number {number} here.")
            db.session.commit()

    flag_as_new_learners(2, 0)
    with count_queries() as few:
        assert admin.get("/admin/content-reports").status_code == 200
    flag_as_new_learners(12, 2)
    with count_queries() as many:
        assert admin.get("/admin/content-reports").status_code == 200
    assert len(many) == len(few)


# --- personal data ----------------------------------------------------------------------------


def test_reports_are_exported_and_their_words_erased(app, users, world) -> None:
    flag_section(signed_in(app, "learner@example.com"), world)
    with app.app_context():
        learner = db.session.get(User, users["learner"])
        exported = export_user_data(learner)["content_reports"]["records"]
        assert exported[0]["comment"] == COMMENT
        assert exported[0]["content"] == world.section_slug
        erase_user(learner)
        db.session.commit()
        report = db.session.scalars(select(ContentReport)).one()
        assert report.comment == "(erased)"
        assert report.content_slug == world.section_slug  # the content's history stays


def test_attempt_counts_are_untouched_by_reports(app, world) -> None:
    """Reporting is not answering: the attempt and its score stay as graded."""
    with app.app_context():
        before = db.session.get(Attempt, world.attempt).score
    submit(
        signed_in(app, "learner@example.com"),
        f"/attempts/{world.attempt}/result",
        {"comment": COMMENT},
        to=item_url(world.item),
    )
    with app.app_context():
        assert db.session.get(Attempt, world.attempt).score == before


def test_the_demo_has_open_and_closed_reports_in_the_queue(app, curricula) -> None:
    from lms.demo.seed import DEMO_PASSWORD, seed

    with app.app_context():
        seed()
        db.session.commit()
        statuses = set(db.session.scalars(select(ContentReport.status)))
        kinds = set(db.session.scalars(select(ContentReport.kind)))
    assert statuses == {"open", "closed"}
    assert kinds == {"section", "question"}
    admin = app.test_client()
    assert login(admin, "admin@example.com", DEMO_PASSWORD).status_code == 302
    assert "Review and close" in text(admin.get("/admin/content-reports"))
    assert "What was done" in text(admin.get("/admin/content-reports?status=closed"))


def test_the_result_page_takes_the_same_queries_with_or_without_reports(
    app, world, count_queries
) -> None:
    client = signed_in(app, "learner@example.com")
    result = f"/attempts/{world.attempt}/result"
    client.get(result)
    with count_queries() as before:
        assert client.get(result).status_code == 200
    submit(client, result, {"comment": COMMENT}, to=item_url(world.item))
    client.get(result)
    with count_queries() as after:
        assert client.get(result).status_code == 200
    assert len(after) == len(before)
    # Reading the reports is one query for the items' questions and one for the reports,
    # however many questions the attempt has.
    assert sum("content_reports" in statement for statement in after) == 1
    assert sum("FROM question_versions" in statement for statement in after) == 1
