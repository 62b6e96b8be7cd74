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
from sqlalchemy import select
from werkzeug.serving import make_server

from lms.demo.seed import DEMO_PASSWORD, seed
from lms.extensions import db
from lms.mail.models import OutboxMessage

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
    cards = page.get_by_role("heading", level=3)
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
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Users").click()
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
