"""Accounts: signing in and out, the sign-in rate limit, invitations and password resets through
the e-mail outbox, and the user's own account page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from lms import create_app
from lms.accounts import operations
from lms.accounts.models import AuthToken, User
from lms.accounts.passwords import verify_password
from lms.audit.models import AuditEvent
from lms.core.timeutil import now_utc
from lms.extensions import db
from lms.mail.models import OutboxMessage
from tests.conftest import PASSWORD, config_for_tests, login, make_user, submit

NO_MATCH = "That e-mail address and password do not match an account."
NEW_PASSWORD = "a brand new passphrase"
LINK = re.compile(r"http://localhost(/(?:invitation|password/reset)/[\w.-]+)")


def text(response) -> str:
    return response.get_data(as_text=True)


def sign_out(client: FlaskClient):
    return submit(client, "/", {}, to="/logout")


def is_signed_in(client: FlaskClient) -> bool:
    response = client.get("/")
    if response.status_code == 302:
        assert "/login" in response.headers["Location"]
        return False
    assert response.status_code == 200
    return True


def outbox(app: Flask, address: str | None = None) -> list[OutboxMessage]:
    with app.app_context():
        statement = select(OutboxMessage).order_by(OutboxMessage.id)
        if address is not None:
            statement = statement.where(OutboxMessage.to_address == address)
        messages = list(db.session.scalars(statement))
        db.session.expunge_all()
        return messages


def link_in_latest_mail(app: Flask, address: str) -> str:
    messages = outbox(app, address)
    assert messages, f"no e-mail to {address}"
    match = LINK.search(messages[-1].body)
    assert match, messages[-1].body
    return match.group(1)


def user_row(app: Flask, email: str) -> User:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        assert user is not None, email
        db.session.expunge(user)
        return user


def audit_actions(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def choose_password(client: FlaskClient, link: str, password: str, confirm: str | None = None):
    return submit(client, link, {"password": password, "confirm": confirm or password})


# --- signing in and out -----------------------------------------------------------------------


def test_good_password_signs_in_and_lands_on_home(app, client, users) -> None:
    response = login(client, "learner@example.com")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert "Welcome, Learner" in text(home)
    assert user_row(app, "learner@example.com").last_login_at is not None


def test_sign_in_ignores_case_and_spaces_in_the_address(client, users) -> None:
    response = login(client, "  Learner@Example.COM ")
    assert response.status_code == 302
    assert is_signed_in(client)


def test_wrong_password_and_unknown_address_get_the_same_answer(client, users) -> None:
    wrong_password = login(client, "learner@example.com", "not the password at all")
    unknown = login(client, "nobody@example.com", PASSWORD)
    for response in (wrong_password, unknown):
        assert response.status_code == 200
        assert NO_MATCH in text(response)
        assert "deactivated" not in text(response)
    assert not is_signed_in(client)


def test_deactivated_user_is_refused_even_with_the_right_password(client, app) -> None:
    with app.app_context():
        make_user("gone@example.com", active=False)
    response = login(client, "gone@example.com")
    assert response.status_code == 200
    assert "This account is deactivated. Ask an administrator." in text(response)
    assert not is_signed_in(client)


def test_deactivated_user_with_a_wrong_password_learns_nothing(client, app) -> None:
    with app.app_context():
        make_user("gone@example.com", active=False)
    response = login(client, "gone@example.com", "not the password at all")
    assert NO_MATCH in text(response)
    assert "deactivated" not in text(response)


def test_anonymous_visitor_comes_back_to_the_page_they_asked_for(client, users) -> None:
    response = client.get("/account")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/account"
    response = login(client, "learner@example.com", to="/login?next=/account")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "http:/evil.example",
        "javascript:alert(1)",
        "account",
    ],
)
def test_next_pointing_off_site_is_ignored(client, users, target: str) -> None:
    response = login(client, "learner@example.com", to="/login?" + urlencode({"next": target}))
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_sign_in_starts_a_fresh_session(client, users) -> None:
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    login(client, "learner@example.com")
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"].startswith(f"{users['learner']}:")


def test_sign_out_is_post_only_and_signs_out(client, users) -> None:
    login(client, "learner@example.com")
    assert client.get("/logout").status_code == 405
    assert is_signed_in(client)
    # A forged cross-site post has no CSRF token and is refused.
    assert client.post("/logout").status_code == 400
    assert is_signed_in(client)

    response = sign_out(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert "You have signed out, on every device." in text(client.get("/login"))
    assert not is_signed_in(client)


def test_signing_out_ends_the_session_on_the_server(app, client, users) -> None:
    """Cookies copied before signing out (session and remember-me) open nothing afterwards."""
    submit(
        client, "/login", {"email": "learner@example.com", "password": PASSWORD, "remember": "y"}
    )
    cookies = {c.key: c.value for c in client._cookies.values()}
    assert "remember_token" in cookies and "session" in cookies
    assert client.get("/account").status_code == 200
    sign_out(client)
    for name in ("session", "remember_token"):
        thief = app.test_client()
        thief.set_cookie(name, cookies[name])
        response = thief.get("/account")
        assert response.status_code == 302, name
        assert response.headers["Location"].startswith("/login"), name


def test_keep_me_signed_in_lasts_thirty_days(app) -> None:
    from datetime import timedelta

    assert app.config["REMEMBER_COOKIE_DURATION"] == timedelta(days=30)


def test_keep_me_signed_in_sets_an_httponly_remember_cookie(client, users) -> None:
    login(client, "learner@example.com")
    assert client.get_cookie("remember_token") is None
    sign_out(client)

    submit(
        client,
        "/login",
        {"email": "learner@example.com", "password": PASSWORD, "remember": "y"},
    )
    cookie = client.get_cookie("remember_token")
    assert cookie is not None
    assert cookie.http_only
    assert cookie.same_site == "Lax"
    # The browser closes (session cookie gone): the remember cookie still signs them in.
    client.delete_cookie("session")
    assert is_signed_in(client)


# --- rate limit -------------------------------------------------------------------------------


@pytest.fixture
def limited_app(app: Flask, database_url: str) -> Iterator[Flask]:
    """An app with the sign-in limit at 3 a minute, on the session's database and tables."""
    limited = create_app(
        config_for_tests(database_url, RATELIMIT_ENABLED=True, LMS_LOGIN_RATE_LIMIT="3 per minute")
    )
    yield limited
    with limited.app_context():
        db.session.remove()
        db.engine.dispose()


def test_fourth_sign_in_attempt_within_a_minute_gets_a_friendly_429(limited_app, users) -> None:
    with limited_app.app_context():
        # The session's app created the tables and the users: this app sees them too.
        assert db.session.get(User, users["learner"]).email == "learner@example.com"
    client = limited_app.test_client()
    for _ in range(3):
        response = login(client, "learner@example.com", "not the password at all")
        assert response.status_code == 200
        assert NO_MATCH in text(response)

    response = login(client, "learner@example.com")  # right password, but too late
    assert response.status_code == 429
    assert "Too many attempts. Wait a minute, then try again." in text(response)
    assert "Retry-After" in response.headers
    assert not is_signed_in(client)
    # Looking at the sign-in page is not limited, only attempts are.
    assert client.get("/login").status_code == 200


# --- invitations ------------------------------------------------------------------------------


def _admin_creates(client: FlaskClient, email: str, name: str, *, invite: bool = True):
    login(client, "admin@example.com")
    data = {
        "email": email,
        "name": name,
        "roles": ["learner"],
        "team_id": "",
        "time_zone": "",
        "external_id": "",
    }
    if invite:
        data["send_invitation"] = "y"
    response = submit(client, "/admin/users/new", data)
    assert response.status_code == 302, text(response)
    sign_out(client)
    return response


def test_invitation_mail_lets_the_new_user_choose_a_password_and_sign_in(app, users) -> None:
    admin = app.test_client()
    _admin_creates(admin, "new.person@example.com", "Nora Newcomer")

    [message] = outbox(app, "new.person@example.com")
    assert "invited" in message.subject
    assert "Hello Nora Newcomer" in message.body
    assert message.sent_at is not None  # the console sender delivered it
    link = link_in_latest_mail(app, "new.person@example.com")
    assert link.startswith("/invitation/")

    client = app.test_client()
    # No password yet: nothing signs them in.
    assert NO_MATCH in text(login(client, "new.person@example.com", PASSWORD))

    page = client.get(link)
    assert page.status_code == 200
    assert "Welcome, Nora Newcomer" in text(page)
    assert "new.person@example.com" in text(page)

    for weak, problem in (
        ("short", "Use at least 10 characters."),
        ("aaaaaaaaaaaa", "Use a password with more variety of characters."),
        ("new.person@example.com", "Do not use your e-mail address as your password."),
    ):
        response = choose_password(client, link, weak)
        assert response.status_code == 200
        assert problem in text(response)
    response = choose_password(client, link, NEW_PASSWORD, "something else entirely")
    assert "The two passwords differ." in text(response)
    assert user_row(app, "new.person@example.com").password_hash is None
    assert not is_signed_in(client)

    response = choose_password(client, link, NEW_PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    home = client.get("/")
    assert "Welcome! Your password is set and you are signed in." in text(home)
    assert "Welcome, Nora" in text(home)
    assert "user.invitation_redeemed" in audit_actions(app)

    sign_out(client)
    assert login(client, "new.person@example.com", NEW_PASSWORD).status_code == 302


def test_invitation_link_works_only_once(app, users) -> None:
    _admin_creates(app.test_client(), "new.person@example.com", "Nora Newcomer")
    link = link_in_latest_mail(app, "new.person@example.com")
    assert choose_password(app.test_client(), link, NEW_PASSWORD).status_code == 302

    stranger = app.test_client()
    response = stranger.get(link)
    assert response.status_code == 400
    assert "This link has already been used. Ask for a new one." in text(response)
    # Posting a new password through the used link changes nothing.
    response = stranger.post(link, data={"password": "stolen password 1", "confirm": "x"})
    assert response.status_code == 400
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "new.person@example.com"))
        assert verify_password(user.password_hash, NEW_PASSWORD)
    assert not is_signed_in(stranger)


def test_admin_can_create_a_user_without_sending_an_invitation(app, users) -> None:
    _admin_creates(app.test_client(), "quiet@example.com", "Quinn Quiet", invite=False)
    assert outbox(app, "quiet@example.com") == []
    assert user_row(app, "quiet@example.com").name == "Quinn Quiet"


def _invite_directly(app: Flask, email: str = "new.person@example.com") -> str:
    with app.app_context():
        user = make_user(email, password=None)
        operations.send_invitation(user)
        db.session.commit()
    return link_in_latest_mail(app, email)


def test_expired_invitation_is_refused(app, client) -> None:
    link = _invite_directly(app)
    with app.app_context():
        token = db.session.scalar(select(AuthToken))
        token.expires_at = now_utc() - timedelta(minutes=1)
        db.session.commit()
    response = client.get(link)
    assert response.status_code == 400
    assert "This link has expired. Ask for a new one." in text(response)
    response = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 400
    assert user_row(app, "new.person@example.com").password_hash is None


@pytest.mark.parametrize("how", ["payload", "made-up", "other purpose"])
def test_tampered_link_is_refused(app, client, how: str) -> None:
    link = _invite_directly(app)
    token = link.rsplit("/", 1)[1]
    if how == "payload":
        flipped = "A" if token[3] != "A" else "B"
        bad = f"/invitation/{token[:3]}{flipped}{token[4:]}"
    elif how == "made-up":
        bad = "/invitation/not-a-real-token"
    else:  # an invitation token offered as a password-reset link
        bad = f"/password/reset/{token}"
    response = client.get(bad)
    assert response.status_code == 400
    assert "This link is not valid. Ask for a new one." in text(response)
    assert "Choose a password" not in text(response)
    # The genuine link still works.
    assert client.get(link).status_code == 200


def test_invitation_to_a_deactivated_account_cannot_be_used(app, client) -> None:
    link = _invite_directly(app)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "new.person@example.com"))
        operations.deactivate(user, reason="left before starting")
        db.session.commit()
    response = client.get(link)
    assert response.status_code == 400
    assert "This account is deactivated." in text(response)


# --- password reset ---------------------------------------------------------------------------

RESET_ANSWER = "If that address has an account, a reset link is on its way."


def test_forgot_password_answers_the_same_for_unknown_addresses(app, client, users) -> None:
    response = submit(client, "/password/forgot", {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert RESET_ANSWER in text(client.get("/login"))
    assert outbox(app) == []

    response = submit(client, "/password/forgot", {"email": "Learner@example.com"})
    assert response.status_code == 302
    assert RESET_ANSWER in text(client.get("/login"))
    [message] = outbox(app)
    assert message.to_address == "learner@example.com"
    assert message.subject == "Reset your password"
    assert "/password/reset/" in message.body


def test_forgot_password_queues_nothing_for_a_deactivated_account(app, client) -> None:
    with app.app_context():
        make_user("gone@example.com", active=False)
    response = submit(client, "/password/forgot", {"email": "gone@example.com"})
    assert response.status_code == 302
    assert RESET_ANSWER in text(client.get("/login"))
    assert outbox(app) == []


def test_password_reset_replaces_the_password_and_signs_out_other_sessions(app, users) -> None:
    laptop = app.test_client()
    login(laptop, "learner@example.com")
    assert is_signed_in(laptop)

    phone = app.test_client()
    submit(phone, "/password/forgot", {"email": "learner@example.com"})
    link = link_in_latest_mail(app, "learner@example.com")
    assert link.startswith("/password/reset/")
    page = phone.get(link)
    assert page.status_code == 200
    assert "Choose a new password" in text(page)

    response = choose_password(phone, link, NEW_PASSWORD)
    assert response.status_code == 302
    assert "Your password has been changed and you are signed in." in text(phone.get("/"))
    assert "user.password_reset_redeemed" in audit_actions(app)

    # The session signed in before the reset is over.
    response = laptop.get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]

    fresh = app.test_client()
    assert NO_MATCH in text(login(fresh, "learner@example.com", PASSWORD))
    assert login(fresh, "learner@example.com", NEW_PASSWORD).status_code == 302

    assert "already been used" in text(app.test_client().get(link))


def test_a_newer_reset_link_replaces_the_older_one(app, client, users) -> None:
    submit(client, "/password/forgot", {"email": "learner@example.com"})
    first = link_in_latest_mail(app, "learner@example.com")
    submit(client, "/password/forgot", {"email": "learner@example.com"})
    second = link_in_latest_mail(app, "learner@example.com")
    assert first != second
    assert client.get(first).status_code == 400
    assert client.get(second).status_code == 200


# --- the account page -------------------------------------------------------------------------


def test_account_page_changes_name_and_time_zone(app, client, users) -> None:
    login(client, "learner@example.com")
    response = submit(
        client,
        "/account",
        {
            "profile-name": "Lena Learner",
            "profile-time_zone": "Europe/Berlin",
            "profile-submit": "1",
        },
    )
    assert response.status_code == 302
    page = text(client.get("/account"))
    assert "Your details are saved." in page
    assert "Lena Learner" in page
    user = user_row(app, "learner@example.com")
    assert (user.name, user.time_zone) == ("Lena Learner", "Europe/Berlin")

    # Back to the organisation's time zone.
    submit(
        client,
        "/account",
        {"profile-name": "Lena Learner", "profile-time_zone": "", "profile-submit": "1"},
    )
    assert user_row(app, "learner@example.com").time_zone is None


def test_account_page_refuses_an_unknown_time_zone_and_an_empty_name(app, client, users) -> None:
    login(client, "learner@example.com")
    response = submit(
        client,
        "/account",
        {"profile-name": "", "profile-time_zone": "Mars/Olympus", "profile-submit": "1"},
    )
    assert response.status_code == 200
    assert "Not a valid choice" in text(response)
    assert "This field is required." in text(response)
    user = user_row(app, "learner@example.com")
    assert (user.name, user.time_zone) == ("Learner", None)


def _change_password(client: FlaskClient, current: str, new: str, confirm: str | None = None):
    return submit(
        client,
        "/account",
        {
            "password-current": current,
            "password-password": new,
            "password-confirm": confirm or new,
            "password-submit": "1",
        },
    )


def test_change_password_needs_the_current_password(app, client, users) -> None:
    login(client, "learner@example.com")
    response = _change_password(client, "not my password", NEW_PASSWORD)
    assert response.status_code == 200
    assert "That is not your current password." in text(response)
    with app.app_context():
        user = db.session.get(User, users["learner"])
        assert verify_password(user.password_hash, PASSWORD)

    response = _change_password(client, PASSWORD, "short")
    assert "Use at least 10 characters." in text(response)


def test_change_password_keeps_this_session_and_signs_out_the_others(app, client, users) -> None:
    other_device = app.test_client()
    login(other_device, "learner@example.com")
    login(client, "learner@example.com")

    response = _change_password(client, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 302
    page = client.get("/account")
    assert page.status_code == 200
    assert "Your password is changed. Other devices have been signed out." in text(page)
    assert not is_signed_in(other_device)
    assert "user.password_changed" in audit_actions(app)

    fresh = app.test_client()
    assert NO_MATCH in text(login(fresh, "learner@example.com", PASSWORD))
    assert login(fresh, "learner@example.com", NEW_PASSWORD).status_code == 302
