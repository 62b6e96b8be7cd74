"""The main journeys in a real browser: Debian's chromium driven by Playwright.

Skipped when chromium is not installed, except in CI (CI=true), where a missing browser fails.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import threading
import zlib
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import delete, select
from werkzeug.serving import make_server

from lms.accounts.models import User
from lms.assessments.models import Assessment, Attempt, AttemptItem
from lms.curricula.models import LessonSection, Module, Programme
from lms.demo.seed import DEMO_PASSWORD, seed
from lms.extensions import db
from lms.feedback.models import ContentReport
from lms.learning.models import ModuleCompletion, SectionProgress
from lms.mail.models import OutboxMessage
from lms.organisation.models import Cohort, Enrolment
from lms.stages.engine import organisation_today, refresh
from lms.stages.models import StagePromotion

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.browser

if not os.path.exists(CHROMIUM) and os.environ.get("CI") != "true":
    pytest.skip("chromium is not installed (apt-get install chromium)", allow_module_level=True)


@pytest.fixture
def live_server(app: Flask, curricula) -> Iterator[str]:
    with app.app_context():
        seed()
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def page(live_server: str):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(base_url=live_server)
        tab = context.new_page()
        yield tab
        context.close()
        browser.close()


def sign_in(page, email: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_learner_signs_in_and_reads_a_programme(page) -> None:
    page.goto("/")
    assert "/login" in page.url  # signed-out visitors are sent to sign in
    sign_in(page, "learner@example.com")
    assert page.get_by_role("heading", name="Welcome, Dana").is_visible()
    cards = page.locator(".path-card")
    assert cards.count() == 2
    page.get_by_role("link", name="Marketing Automation Platform Training").click()
    assert page.get_by_role("heading", level=1).inner_text() == (
        "Marketing Automation Platform Training"
    )
    assert page.get_by_role("heading", name="Campaign Creation and Management").is_visible()
    # Keyboard use: the skip link is the first thing Tab reaches and it moves focus to main.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.get_by_role("button", name="Sign out").click()
    assert page.get_by_text("You have signed out, on every device.").is_visible()


def test_admin_invites_a_colleague_who_sets_a_password(page, app: Flask) -> None:
    sign_in(page, "admin@example.com")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
    page.get_by_role("link", name="Users and roles").click()
    page.get_by_role("link", name="Add a user").click()
    page.get_by_label("E-mail address").fill("new.marketer@example.com")
    page.get_by_label("Name").fill("Nia Marketer")
    page.get_by_label("Learner").check()
    page.get_by_role("button", name="Create user").click()
    assert page.get_by_role("heading", name="Nia Marketer").is_visible()
    page.get_by_role("button", name="Sign out").click()

    with app.app_context():
        message = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.to_address == "new.marketer@example.com")
        ).one()
        link = re.search(r"http://localhost(/invitation/\S+)", message.body).group(1)
    page.goto(link)
    assert page.get_by_role("heading", name="Welcome, Nia Marketer").is_visible()
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_label("Repeat the new password").fill("short")
    page.get_by_role("button", name="Save password").click()
    assert page.get_by_text("Use at least 10 characters.").is_visible()
    page.get_by_label("New password", exact=True).fill("a long and lovely passphrase")
    page.get_by_label("Repeat the new password").fill("a long and lovely passphrase")
    page.get_by_role("button", name="Save password").click()
    assert page.get_by_text("Your password is set and you are signed in").is_visible()
    assert page.get_by_role("heading", name="Welcome, Nia").is_visible()


def fresh_start(email: str, programme_slug: str) -> None:
    """The learner enrolled in the programme with no history in it: no lesson progress, no
    module attempts, back in the first stage (the demo gives learners a history)."""
    user = db.session.scalars(select(User).where(User.email == email)).one()
    programme = db.session.scalars(select(Programme).where(Programme.slug == programme_slug)).one()
    enrolment = db.session.scalars(
        select(Enrolment).where(
            Enrolment.user_id == user.id,
            Enrolment.programme_id == programme.id,
            Enrolment.status == "active",
        )
    ).first()
    if enrolment is None:
        cohort = Cohort(
            name="Browser journey cohort",
            start_date=organisation_today(),
            manager_id=db.session.scalars(
                select(User.id).where(User.email == "manager@example.com")
            ).one(),
        )
        cohort.programmes = [programme]
        enrolment = Enrolment(
            user_id=user.id,
            programme_id=programme.id,
            cohort=cohort,
            start_date=organisation_today(),
        )
        db.session.add(enrolment)
        db.session.flush()
    modules = select(Module.id).where(Module.programme_id == programme.id)
    attempts = list(
        db.session.scalars(
            select(Attempt.id)
            .join(Assessment, Assessment.id == Attempt.assessment_id)
            .where(
                Attempt.user_id == user.id,
                Assessment.programme_id == programme.id,
                Assessment.purpose == "module",
            )
        )
    )
    items = select(AttemptItem.id).where(AttemptItem.attempt_id.in_(attempts))
    # The demo's content reports point at attempt items (PostgreSQL enforces the key).
    db.session.execute(delete(ContentReport).where(ContentReport.attempt_item_id.in_(items)))
    db.session.execute(delete(AttemptItem).where(AttemptItem.attempt_id.in_(attempts)))
    db.session.execute(delete(Attempt).where(Attempt.id.in_(attempts)))
    db.session.execute(
        delete(SectionProgress).where(
            SectionProgress.user_id == user.id,
            SectionProgress.section_id.in_(
                select(LessonSection.id).where(LessonSection.module_id.in_(modules))
            ),
        )
    )
    db.session.execute(
        delete(ModuleCompletion).where(
            ModuleCompletion.user_id == user.id, ModuleCompletion.module_id.in_(modules)
        )
    )
    db.session.execute(delete(StagePromotion).where(StagePromotion.enrolment_id == enrolment.id))
    enrolment.stage_id = "initial"
    refresh([enrolment])
    db.session.commit()


def answer_right(question, snapshot: dict) -> None:
    """Answer one question of the attempt page as a learner would, by the labels shown."""
    key, kind = snapshot["key"], snapshot["type"]
    text_of = {option["id"]: option["text"] for option in snapshot.get("options", [])}
    if kind in ("single-choice", "scenario"):
        question.get_by_label(text_of[key], exact=True).check()
    elif kind == "multiple-response":
        for option_id in key:
            question.get_by_label(text_of[option_id], exact=True).check()
    elif kind == "numeric":
        question.get_by_label(re.compile(r"^Your answer")).fill(f"{key['answer']:g}")
    elif kind == "ordering":
        for place, item in enumerate(key, start=1):
            question.get_by_label(text_of[item], exact=True).select_option(str(place))
    elif kind == "matching":
        rights = {right["id"]: right["text"] for right in snapshot["rights"]}
        for left in snapshot["lefts"]:
            question.get_by_label(left["text"], exact=True).select_option(
                label=rights[key[left["id"]]]
            )
    else:
        raise AssertionError(f"no way to answer a {kind} question")


def test_learner_passes_a_module_assessment_and_the_gate_moves(page, app: Flask) -> None:
    from playwright.sync_api import expect

    programme = "Design and Governance of Integrated Marketing Systems"
    module = "Strategic Alignment of Digital Marketing Management Systems"
    with app.app_context():
        fresh_start("learner@example.com", "integrated-marketing-systems")
    sign_in(page, "learner@example.com")
    card = page.locator("li.path-card").filter(
        has=page.get_by_role("heading", name=programme, exact=True)
    )
    expect(card.get_by_text("Gate: 0 of 5 requirements met")).to_be_visible()
    card.get_by_text("Modules", exact=True).click()  # opens the list of modules
    card.get_by_role("link", name=module, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(module)
    expect(page.get_by_text("0 of 6 sections done")).to_be_visible()
    page.get_by_role("link", name="Go to the assessment").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Strategic alignment decisions")
    page.get_by_role("button", name="Start", exact=True).click()
    page.wait_for_url(re.compile(r"/attempts/\d+$"))

    with app.app_context():
        attempt = db.session.scalars(
            select(Attempt)
            .join(User, User.id == Attempt.user_id)
            .join(Assessment, Assessment.id == Attempt.assessment_id)
            .where(
                User.email == "learner@example.com",
                Assessment.slug == "strategic-alignment-check",
                Attempt.status == "in-progress",
            )
        ).one()
        shown = [item.snapshot for item in attempt.items]
    questions = page.locator("fieldset.question")
    expect(questions).to_have_count(8)
    for position, snapshot in enumerate(shown):
        answer_right(questions.nth(position), snapshot)
    page.get_by_role("button", name="Submit for grading").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Passed: 100%")
    expect(page.locator(".explanation")).to_have_count(8)
    expect(page.locator(".explanation").first).to_be_visible()
    expect(page.get_by_text("Right answer").first).to_be_visible()
    page.get_by_role("link", name="Back to my path").click()
    # The assessment is passed; the module itself is not completed yet.
    expect(card.get_by_text("Gate: 1 of 5 requirements met")).to_be_visible()
    expect(card.get_by_text("What remains to leave Initial Adoption (4)")).to_be_visible()
    expect(page.get_by_role("heading", name="Recent results")).to_be_visible()


# --- Practical demonstration, grading and the certificate ----------------------------------------


@pytest.fixture
def browser(live_server: str):
    """The browser itself, for journeys with more than one person (one context each)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


def tiny_png() -> bytes:
    """A valid 1×1 PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\x1f\x4e\x79"))
        + chunk(b"IEND", b"")
    )


def only_the_demonstration_left(email: str, programme_slug: str, task_slug: str) -> str:
    """The learner back at the start of the programme, with every requirement of the initial
    gate but the demonstration exempted by their manager. Returns the task's title."""
    from lms.certificates.models import Certificate
    from lms.cohorts.operations import exempt
    from lms.demonstrations.models import DemonstrationTask, EvidenceFile, Grade, Submission

    user_id = db.session.scalars(select(User.id).where(User.email == email)).one()
    programme = db.session.scalars(select(Programme).where(Programme.slug == programme_slug)).one()
    task = db.session.scalars(
        select(DemonstrationTask).where(
            DemonstrationTask.programme_id == programme.id, DemonstrationTask.slug == task_slug
        )
    ).one()
    # No earlier work on the task and no certificate from the demo's history.
    earlier = select(Submission.id).where(
        Submission.user_id == user_id, Submission.task_id == task.id
    )
    db.session.execute(delete(Grade).where(Grade.submission_id.in_(earlier)))
    db.session.execute(delete(EvidenceFile).where(EvidenceFile.submission_id.in_(earlier)))
    db.session.execute(delete(Submission).where(Submission.id.in_(earlier)))
    db.session.execute(
        delete(Certificate).where(
            Certificate.user_id == user_id, Certificate.programme_id == programme.id
        )
    )
    db.session.commit()
    fresh_start(email, programme_slug)
    enrolment = db.session.scalars(
        select(Enrolment).where(
            Enrolment.user_id == user_id,
            Enrolment.programme_id == programme.id,
            Enrolment.status == "active",
        )
    ).one()
    for item in programme.gates["initial"]:
        if item["kind"] != "demonstration-proficient":
            exempt(enrolment, f"{item['kind']}:{item['ref']}", "Passed the vendor's course")
    db.session.commit()
    return task.title


def test_learner_demonstrates_the_manager_grades_and_a_certificate_follows(
    browser, live_server: str, app: Flask, monkeypatch, tmp_path
) -> None:
    from playwright.sync_api import expect

    from lms.certificates.models import Certificate

    programme = "Design and Governance of Integrated Marketing Systems"
    monkeypatch.setitem(app.config, "LMS_UPLOAD_DIR", str(tmp_path / "uploads"))
    with app.app_context():
        title = only_the_demonstration_left(
            "learner@example.com", "integrated-marketing-systems", "stack-journey-governance-audit"
        )
        learner_name = db.session.scalars(
            select(User.name).where(User.email == "learner@example.com")
        ).one()

    # The learner opens the demonstration from their path and sends their evidence.
    learner = browser.new_context(base_url=live_server).new_page()
    sign_in(learner, "learner@example.com")
    card = learner.locator("li.path-card").filter(
        has=learner.get_by_role("heading", name=programme, exact=True)
    )
    expect(card.get_by_text("Gate: 4 of 5 requirements met")).to_be_visible()
    card.get_by_role("link", name=re.compile(f"^Demonstrate “{re.escape(title)}”")).first.click()
    expect(learner.get_by_role("heading", level=1)).to_have_text(title)
    checklist = learner.get_by_role("group", name="Audit steps completed")
    boxes = checklist.get_by_role("checkbox")
    expect(boxes).to_have_count(5)
    for number in range(5):
        boxes.nth(number).check()
    findings = " ".join(
        ["Seats were sized from admin logs, the weakest journey link was named, and each"]
        + ["change has an owner, a date and its saving."] * 30
    )
    learner.get_by_label("Your findings and the three changes").fill(findings)
    learner.get_by_label(re.compile(r"^Link to the audit workbook")).fill(
        "https://sandbox.example.com/audit-workbook"
    )
    learner.get_by_label(re.compile(r"^Role export or screenshots")).set_input_files(
        {"name": "consent-test.png", "mimeType": "image/png", "buffer": tiny_png()}
    )
    learner.get_by_role("button", name="Send for grading").click()
    expect(learner.get_by_text("Sent for grading.")).to_be_visible()
    expect(learner.get_by_role("link", name="consent-test.png")).to_be_visible()

    # The cohort's manager grades it: a level for every criterion, and feedback.
    manager = browser.new_context(base_url=live_server).new_page()
    sign_in(manager, "manager@example.com")
    manager.get_by_role("navigation", name="Main").get_by_role("link", name="Grading").click()
    expect(manager.get_by_role("heading", name="Grading queue")).to_be_visible()
    manager.get_by_role("link", name=f"Grade {learner_name}: {title}").click()
    expect(manager.get_by_role("heading", level=1)).to_have_text(title)
    criteria = manager.locator("fieldset.criterion")
    expect(criteria).to_have_count(5)
    for number in range(5):
        criteria.nth(number).get_by_role("radio", name=re.compile(r"^Proficient")).check()
    criteria.first.get_by_role("radio", name=re.compile(r"^Exemplary")).press("Space")
    manager.get_by_label("Overall feedback for the learner").fill(
        "Every step rests on a figure from the records; the consent test is well timed."
    )
    manager.get_by_role("button", name="Save the grade").click()
    expect(manager.get_by_text("Graded proficient. The learner has been told.")).to_be_visible()

    # The learner has passed Initial Adoption: the next stage is current, and a certificate
    # is waiting, whose PDF holds their name and its code.
    learner.goto("/")
    expect(card.locator('[aria-current="step"]')).to_have_text("Proficiency Development")
    learner.get_by_role("navigation", name="Main").get_by_role("link", name="Certificates").click()
    expect(learner.get_by_role("heading", name="My certificates")).to_be_visible()
    with app.app_context():
        code = db.session.scalars(
            select(Certificate.code)
            .join(User, User.id == Certificate.user_id)
            .join(Programme, Programme.id == Certificate.programme_id)
            .where(
                User.email == "learner@example.com",
                Programme.slug == "integrated-marketing-systems",
            )
        ).one()
    expect(learner.get_by_text(code)).to_be_visible()
    with learner.expect_download() as download_info:
        learner.get_by_role("link", name=f"PDF of Initial Adoption, {programme}").click()
    saved = tmp_path / "certificate.pdf"
    download_info.value.save_as(saved)
    pdf = subprocess.run(["pdftotext", str(saved), "-"], capture_output=True, check=True, text=True)
    words = " ".join(pdf.stdout.split())
    assert learner_name in words
    assert code in words

    # Anyone can check it, signed in or not.
    visitor = browser.new_context(base_url=live_server).new_page()
    visitor.goto(f"/verify/{code}")
    expect(visitor.get_by_role("heading", level=1)).to_have_text("Valid certificate")
    expect(visitor.get_by_text(learner_name)).to_be_visible()


def test_the_grading_page_shows_score_and_verdict_live_and_a_not_yet_decides(
    page, app: Flask, monkeypatch, tmp_path
) -> None:
    from playwright.sync_api import expect

    from lms.demonstrations import operations
    from lms.demonstrations.models import DemonstrationTask

    monkeypatch.setitem(app.config, "LMS_UPLOAD_DIR", str(tmp_path / "uploads"))
    with app.app_context():
        only_the_demonstration_left(
            "learner@example.com", "integrated-marketing-systems", "stack-journey-governance-audit"
        )
        learner = db.session.scalars(select(User).where(User.email == "learner@example.com")).one()
        task = db.session.scalars(
            select(DemonstrationTask)
            .join(Programme, Programme.id == DemonstrationTask.programme_id)
            .where(
                Programme.slug == "integrated-marketing-systems",
                DemonstrationTask.slug == "stack-journey-governance-audit",
            )
        ).one()
        draft = operations.open_draft(learner, task)
        answers = {}
        for item in task.evidence:
            if item["kind"] == "checklist":
                answers[item["id"]] = [str(i) for i in range(len(item["items"]))]
            elif item["kind"] == "text":
                answers[item["id"]] = " ".join(["finding"] * (item.get("min_words") or 1))
            elif item["kind"] == "link":
                answers[item["id"]] = "https://sandbox.example.com/audit"
        assert operations.save(draft, answers, [], []).ok
        operations.submit(draft)
        db.session.commit()
        submission_id = draft.id

    sign_in(page, "manager@example.com")
    page.goto(f"/grading/{submission_id}")
    verdict = page.locator("#live-verdict")
    expect(verdict).to_have_attribute("aria-live", "polite")
    expect(verdict).to_have_text(
        "So far 0 of 20 points (0%); choose a level for 5 more criteria to see the verdict."
    )
    criteria = page.locator("fieldset.criterion")
    # A Not yet decides at once, before the other levels are chosen.
    criteria.nth(2).get_by_role("radio", name=re.compile(r"^Not yet")).check()
    expect(verdict).to_have_text(
        re.compile(r"^So far 0 of 20 points \(0%\): needs work: “.+” is at Not yet\.$")
    )
    for number in range(4):
        criteria.nth(number).get_by_role("radio", name=re.compile(r"^Proficient")).check()
    expect(verdict).to_have_text(
        "So far 12 of 20 points (60%); choose a level for 1 more criterion to see the verdict."
    )
    criteria.nth(4).get_by_role("radio", name=re.compile(r"^Proficient")).check()
    expect(verdict).to_have_text("Score 15 of 20 points (75%): proficient.")
    criteria.nth(1).get_by_role("radio", name=re.compile(r"^Developing")).check()
    expect(verdict).to_have_text(
        "Score 14 of 20 points (70%): needs work: 14 of 20 points, under the 75% needed."
    )
    # Exemplary everywhere else makes the total 16 of 20, yet one Not yet decides.
    for number in range(1, 5):
        criteria.nth(number).get_by_role("radio", name=re.compile(r"^Exemplary")).check()
    criteria.first.get_by_role("radio", name=re.compile(r"^Not yet")).check()
    expect(verdict).to_have_text(
        "Score 16 of 20 points (80%): needs work: “Technology stack audit” is at Not yet."
    )
    page.get_by_label("Overall feedback for the learner").fill("The stack audit is missing.")
    page.get_by_role("button", name="Save the grade").click()
    # The server decides, and agrees.
    expect(
        page.get_by_text(
            "Graded: needs work: “Technology stack audit” is at Not yet. The learner has been told."
        )
    ).to_be_visible()


def test_a_learner_flags_a_section_and_reads_what_the_admin_did(
    browser, live_server: str, app: Flask
) -> None:
    from playwright.sync_api import expect

    from lms.feedback.models import ContentReport

    with app.app_context():
        # The demo's own reports aside, so the learner starts with none.
        db.session.execute(delete(ContentReport))
        db.session.commit()
        section = db.session.scalars(
            select(LessonSection)
            .join(Module, Module.id == LessonSection.module_id)
            .where(Module.slug == "strategic-alignment")
            .order_by(LessonSection.position)
        ).first()
        title = section.title

    learner = browser.new_context(base_url=live_server).new_page()
    sign_in(learner, "learner@example.com")
    learner.goto("/learn/integrated-marketing-systems/strategic-alignment")
    card = learner.locator("section.lesson-section").first
    card.get_by_text("This looks wrong").click()
    card.get_by_label(f"What looks wrong in the section “{title}”?").fill(
        "The worked example adds 40 and 25 to make 75."
    )
    card.get_by_role("button", name="Send the report").click()
    expect(card.get_by_text(re.compile(r"You reported this on .* — open"))).to_be_visible()

    admin = browser.new_context(base_url=live_server).new_page()
    sign_in(admin, "admin@example.com")
    admin.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
    admin.get_by_role("link", name="Content reports").click()
    expect(admin.get_by_text("The worked example adds 40 and 25 to make 75.")).to_be_visible()
    admin.get_by_role("link", name=re.compile("^Review and close")).click()
    admin.get_by_role("button", name="Close the report").click()
    expect(admin.get_by_text("Say what was done.")).to_be_visible()
    admin.get_by_label("What was done").fill("Fixed in 1.3.1: the sum now reads 65.")
    admin.get_by_role("button", name="Close the report").click()
    expect(admin.get_by_text("Report closed.")).to_be_visible()

    learner.reload()
    expect(
        card.get_by_text(re.compile(r"— closed .*: Fixed in 1.3.1: the sum now reads 65."))
    ).to_be_visible()


def test_a_manager_narrows_the_dashboard_drills_down_and_downloads_what_they_saw(
    page, tmp_path
) -> None:
    from playwright.sync_api import expect

    sign_in(page, "manager@example.com")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cohort dashboard")

    # Narrow to one team: the lead says so, and the figures are that team's.
    team = page.get_by_label("Team")
    chosen = team.locator("option").nth(1).inner_text()
    team.select_option(label=chosen)
    page.get_by_role("button", name="Show").click()
    expect(page.locator("p.lead")).to_contain_text(f"narrowed to team {chosen}")

    # The overdue figure opens exactly the learners behind it.
    overdue = page.get_by_role("link", name=re.compile(r"^\d+ overdue: show them$"))
    count = int(overdue.inner_text())
    assert count > 0, "the demo manager's teams have overdue learners"
    overdue.click()
    expect(page.locator("p.lead")).to_contain_text(f"{count} row")
    expect(page.locator("table tbody tr")).to_have_count(min(count, 50))  # a page holds 50
    page.go_back()

    # The status table downloads with the figure on screen.
    with page.expect_download() as info:
        page.get_by_role("link", name=re.compile(r"^CSV\W+Enrolments by status$")).click()
    saved = tmp_path / "status.csv"
    info.value.save_as(saved)
    rows = {line.split(",")[0]: line.split(",")[1] for line in saved.read_text().splitlines()}
    assert rows["Overdue"] == str(count)


def test_a_leader_reads_the_report_and_takes_the_pdf_to_the_board(page, tmp_path) -> None:
    from playwright.sync_api import expect

    sign_in(page, "leader@example.com")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Grading")).to_have_count(0)
    nav.get_by_role("link", name="Report").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Adoption-success report")
    summary = page.locator("#summary")
    expect(summary.get_by_role("heading", name="Executive summary")).to_be_visible()
    headline = summary.locator("p").first.inner_text()
    figure = re.search(r"Proficiency within 60 days is (\d+(?:\.\d)?%)", summary.inner_text())
    assert figure, headline
    # Every chart carries a text alternative a screen reader reads.
    first_chart = page.locator("#metrics figure svg").first
    expect(first_chart).to_have_attribute("role", "img")
    expect(first_chart).to_have_attribute("aria-label", re.compile("Line chart"))

    with page.expect_download() as info:
        page.get_by_role("button", name="Download as PDF").click()
    saved = tmp_path / "report.pdf"
    info.value.save_as(saved)
    text = subprocess.run(
        ["pdftotext", str(saved), "-"], capture_output=True, check=True, text=True
    ).stdout
    words = " ".join(text.split())
    assert "Adoption-success report" in words
    assert f"Proficiency within 60 days is {figure.group(1)}" in words


def test_a_learner_sees_neither_dashboard_nor_report(page) -> None:
    from playwright.sync_api import expect

    sign_in(page, "learner@example.com")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Home")).to_be_visible()
    for name in ("Dashboard", "Report"):
        expect(nav.get_by_role("link", name=name, exact=True)).to_have_count(0)
    for path in ("/dashboard", "/reports/leadership"):
        response = page.goto(path)
        assert response is not None and response.status == 403
