"""The main journeys in a real browser: Debian's chromium driven by Playwright.

Skipped when chromium is not installed, except in CI (CI=true), where a missing browser fails.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
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
    assert page.get_by_text("You have signed out.").is_visible()


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
    expect(card.get_by_text("Gate: 0 of 4 requirements met")).to_be_visible()
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
    expect(card.get_by_text("Gate: 1 of 4 requirements met")).to_be_visible()
    expect(card.get_by_text("What remains to leave Initial Adoption (3)")).to_be_visible()
    expect(page.get_by_role("heading", name="Recent results")).to_be_visible()
