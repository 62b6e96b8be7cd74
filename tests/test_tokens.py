"""API tokens: made on the account page (personal) or by an admin (service), shown once and kept
only as a hash, sent as Bearer or HTTP Basic, revoked, limited to their owner's rights, and never
written into the session cookie."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from lms.accounts.models import User
from lms.accounts.operations import roles_by_name
from lms.adoption.models import UsageEvent
from lms.api import tokens
from lms.api.models import ApiToken
from lms.audit.models import AuditEvent
from lms.extensions import db
from tests.conftest import CURRICULA, login, make_user, submit

TOKEN_IN_PAGE = re.compile(r'value="(lms_([0-9a-f]{16})_([A-Za-z0-9_-]+))"')
EVENT = {
    "user": "learner@example.com",
    "platform": "marketing-automation",
    "feature": "segmentation",
    "timestamp": "2026-01-05T09:00:00Z",
    "count": 1,
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


def issue(app: Flask, user_id: int, scopes: list[str], kind: str = "personal") -> str:
    with app.app_context():
        issued = tokens.issue(db.session.get(User, user_id), "test token", scopes, kind=kind)
        db.session.commit()
        return issued.plain


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def basic(user: str, password: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


def send_usage(client: FlaskClient, headers: dict[str, str], events=None):
    return client.post(
        "/api/v1/usage-events",
        json={"events": [EVENT] if events is None else events},
        headers=headers,
    )


def stored_tokens(app: Flask) -> list[ApiToken]:
    with app.app_context():
        found = list(db.session.scalars(select(ApiToken).order_by(ApiToken.id)))
        db.session.expunge_all()
        return found


def token_row(app: Flask, key: str) -> ApiToken:
    with app.app_context():
        found = db.session.scalar(select(ApiToken).where(ApiToken.key == key))
        db.session.expunge_all()
        return found


def create_on_page(client: FlaskClient, page: str, name: str, scopes: list[str]):
    return submit(client, page, {"name": name, "scopes": scopes})


def revoke_on_page(client: FlaskClient, page: str, token_id: int):
    return submit(client, page, {}, to=f"/tokens/{token_id}/revoke")


# --- personal tokens ---------------------------------------------------------------------------


def test_manager_token_is_shown_once_and_only_its_hash_is_stored(app, client, users) -> None:
    login(client, "manager@example.com")
    page = client.get("/account/tokens").get_data(as_text=True)
    for scope in ("read", "usage:write", "metrics:write"):
        assert f'value="{scope}"' in page

    response = create_on_page(client, "/account/tokens", "CRM nightly export", ["usage:write"])
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    match = TOKEN_IN_PAGE.search(html)
    assert match, "the new token is shown in the page that made it"
    plain, key, secret = match.groups()
    assert "copy it now" in html

    [token] = stored_tokens(app)
    assert (token.kind, token.owner_id, token.name) == (
        "personal",
        users["manager"],
        "CRM nightly export",
    )
    assert token.scopes == ["usage:write"]
    assert token.key == key
    assert token.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    with app.app_context():
        row = db.session.get(ApiToken, token.id)
        for column in ApiToken.__table__.columns:
            value = str(getattr(row, column.key))
            assert secret not in value and plain not in value, column.key

    again = client.get("/account/tokens").get_data(as_text=True)
    assert "CRM nightly export" in again and key in again  # listed by name and key
    assert secret not in again and plain not in again
    assert not TOKEN_IN_PAGE.search(again)

    with app.app_context():
        issued = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "api_token.issued")
        )
        assert issued is not None and secret not in str(issued.details)


def test_token_is_never_written_into_the_session_cookie(app, client, users) -> None:
    login(client, "manager@example.com")
    response = create_on_page(client, "/account/tokens", "Export", ["usage:write", "read"])
    plain, key, secret = TOKEN_IN_PAGE.search(response.get_data(as_text=True)).groups()
    cookie = client.get_cookie("session")
    assert cookie is not None
    session = app.session_interface.get_signing_serializer(app).loads(cookie.value)
    assert secret not in str(session) and plain not in str(session)
    assert secret not in cookie.value
    # Revoking flashes a message (which lives in the session): the name, never the secret.
    token_id = stored_tokens(app)[0].id
    revoke_on_page(client, "/account/tokens", token_id)
    session = app.session_interface.get_signing_serializer(app).loads(
        client.get_cookie("session").value
    )
    assert "Export" in str(session) and secret not in str(session)


def test_personal_token_works_as_bearer_and_records_last_use(app, client, users, catalogue) -> None:
    # An admin's personal token may send anyone's usage (a manager's only their learners').
    login(client, "admin@example.com")
    response = create_on_page(client, "/account/tokens", "Export", ["usage:write"])
    plain, key, _ = TOKEN_IN_PAGE.search(response.get_data(as_text=True)).groups()
    assert token_row(app, key).last_used_at is None

    api = app.test_client()  # no cookie: the token alone
    answer = send_usage(api, bearer(plain))
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["accepted"] == 1
    assert token_row(app, key).last_used_at is not None
    with app.app_context():
        event = db.session.scalar(select(UsageEvent))
        assert event.source == "api" and event.source_ref == f"token:{key}"


def test_revoked_token_stops_working(app, client, users, catalogue) -> None:
    login(client, "manager@example.com")
    response = create_on_page(client, "/account/tokens", "Export", ["usage:write"])
    plain, key, _ = TOKEN_IN_PAGE.search(response.get_data(as_text=True)).groups()
    api = app.test_client()
    assert send_usage(api, bearer(plain)).status_code == 200

    token_id = token_row(app, key).id
    revoked = revoke_on_page(client, "/account/tokens", token_id)
    assert revoked.status_code == 302 and revoked.headers["Location"].endswith("/account/tokens")
    assert token_row(app, key).revoked_at is not None
    assert "revoked" in client.get("/account/tokens").get_data(as_text=True)

    refused = send_usage(api, bearer(plain))
    assert refused.status_code == 401
    assert refused.get_json()["error"] == "unauthorised"
    with app.app_context():
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "api_token.revoked"))


def test_revoking_needs_the_csrf_token(app, client, users) -> None:
    issue(app, users["manager"], ["usage:write"])
    login(client, "manager@example.com")
    token_id = stored_tokens(app)[0].id
    assert client.post(f"/tokens/{token_id}/revoke").status_code == 400
    assert stored_tokens(app)[0].revoked_at is None


def test_learner_cannot_create_tokens(app, client, users) -> None:
    login(client, "learner@example.com")
    page = client.get("/account/tokens")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "there is nothing a token could do for you" in html
    assert 'name="scopes"' not in html

    crafted = submit(
        client, "/account/tokens", {"name": "sneaky", "scopes": ["usage:write", "read"]}
    )
    assert crafted.status_code == 200
    assert not TOKEN_IN_PAGE.search(crafted.get_data(as_text=True))
    assert stored_tokens(app) == []
    with app.app_context(), pytest.raises(tokens.TokenError):
        tokens.issue(db.session.get(User, users["learner"]), "x", ["read"])


def test_personal_token_cannot_carry_a_scope_its_owner_lacks(app, client, users) -> None:
    login(client, "leader@example.com")
    html = client.get("/account/tokens").get_data(as_text=True)
    assert 'value="read"' in html and 'value="usage:write"' not in html

    crafted = create_on_page(client, "/account/tokens", "more", ["read", "usage:write"])
    assert crafted.status_code == 200
    assert not TOKEN_IN_PAGE.search(crafted.get_data(as_text=True))
    assert stored_tokens(app) == []

    made = create_on_page(client, "/account/tokens", "reports", ["read"])
    assert TOKEN_IN_PAGE.search(made.get_data(as_text=True))
    assert [t.scopes for t in stored_tokens(app)] == [["read"]]

    with app.app_context():
        leader = db.session.get(User, users["leader"])
        with pytest.raises(tokens.TokenError):
            tokens.issue(leader, "x", ["usage:write"])
        with pytest.raises(tokens.TokenError):
            tokens.issue(leader, "x", ["no-such-scope"])
        with pytest.raises(tokens.TokenError):
            tokens.issue(leader, "x", [])


def test_personal_token_loses_what_its_owner_loses(app, users, catalogue) -> None:
    """A token acts as its owner: a manager who is no longer one cannot send usage through an
    old token."""
    plain = issue(app, users["manager"], ["usage:write"])
    api = app.test_client()
    assert send_usage(api, bearer(plain)).status_code == 200
    with app.app_context():
        manager = db.session.get(User, users["manager"])
        manager.roles = roles_by_name({"learner"})
        db.session.commit()
    refused = send_usage(api, bearer(plain))
    assert refused.status_code == 403
    assert refused.get_json()["error"] == "forbidden"


def test_token_of_a_deactivated_owner_stops_working(app, users, catalogue) -> None:
    plain = issue(app, users["manager"], ["usage:write"])
    api = app.test_client()
    assert send_usage(api, bearer(plain)).status_code == 200
    with app.app_context():
        db.session.get(User, users["manager"]).active = False
        db.session.commit()
    assert send_usage(api, bearer(plain)).status_code == 401


def test_someone_elses_token_cannot_be_revoked(app, client, users) -> None:
    with app.app_context():
        other = make_user("other.manager@example.com", ("manager",)).id
    issue(app, other, ["usage:write"])
    issue(app, users["admin"], ["usage:write"], kind="service")
    theirs, service = (t.id for t in stored_tokens(app))

    login(client, "manager@example.com")
    assert revoke_on_page(client, "/account/tokens", theirs).status_code == 404
    assert revoke_on_page(client, "/account/tokens", service).status_code == 404
    assert revoke_on_page(client, "/account/tokens", 999_999).status_code == 404
    assert all(t.revoked_at is None for t in stored_tokens(app))
    # Their token is not listed on my page either.
    assert "test token" not in client.get("/account/tokens").get_data(as_text=True)


# --- service tokens ----------------------------------------------------------------------------


def test_admin_creates_and_revokes_service_tokens(app, client, users, catalogue) -> None:
    login(client, "admin@example.com")
    response = create_on_page(client, "/admin/tokens", "Authoring tool LRS", ["usage:write"])
    assert response.status_code == 200
    plain, key, secret = TOKEN_IN_PAGE.search(response.get_data(as_text=True)).groups()
    [token] = stored_tokens(app)
    assert token.kind == "service" and token.owner_id == users["admin"]

    api = app.test_client()
    # HTTP Basic with key and secret, as xAPI clients send it, works on the JSON API too.
    assert send_usage(api, basic(key, secret)).status_code == 200
    assert send_usage(api, bearer(plain)).status_code == 200

    # Service tokens are not personal: they are not on the admin's account page.
    assert "Authoring tool LRS" not in client.get("/account/tokens").get_data(as_text=True)
    assert "Authoring tool LRS" in client.get("/admin/tokens").get_data(as_text=True)
    revoked = revoke_on_page(client, "/admin/tokens", token.id)
    assert revoked.status_code == 302 and revoked.headers["Location"].endswith("/admin/tokens")
    assert send_usage(api, basic(key, secret)).status_code == 401


@pytest.mark.parametrize("who", ["manager", "leader", "learner"])
def test_only_admins_open_service_tokens(app, client, users, who) -> None:
    login(client, f"{who}@example.com")
    assert client.get("/admin/tokens").status_code == 403
    page = client.get("/account/tokens").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    crafted = client.post(
        "/admin/tokens", data={"csrf_token": token, "name": "x", "scopes": ["usage:write"]}
    )
    assert crafted.status_code == 403
    assert stored_tokens(app) == []


def test_signed_out_visitors_are_sent_to_sign_in(client, users) -> None:
    for page in ("/account/tokens", "/admin/tokens"):
        response = client.get(page)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- authentication ----------------------------------------------------------------------------


def test_bad_credentials_are_401_json_with_a_challenge(app, users, catalogue) -> None:
    plain = issue(app, users["manager"], ["usage:write"])
    _, key, secret = plain.split("_", 2)
    api = app.test_client()
    for headers in (
        {},
        bearer(f"lms_{key}_wrong-secret"),
        bearer(f"lms_nosuchkey_{secret}"),
        bearer("not-a-token"),
        bearer(""),
        basic(key, "wrong-secret"),
        basic("nosuchkey", secret),
        {"Authorization": "Basic !!!not-base64!!!"},
        {"Authorization": f"Token {plain}"},
    ):
        response = send_usage(api, headers)
        assert response.status_code == 401, headers
        assert response.get_json()["error"] == "unauthorised"
        assert "Bearer" in response.headers["WWW-Authenticate"]
        assert "Basic" in response.headers["WWW-Authenticate"]
    with app.app_context():
        assert db.session.scalar(select(func.count(UsageEvent.id))) == 0
    # The whole token pasted as the HTTP Basic user name works too.
    assert send_usage(api, basic(plain, "")).status_code == 200


def test_token_without_the_scope_is_403_json(app, users, catalogue) -> None:
    plain = issue(app, users["manager"], ["read"])
    response = send_usage(app.test_client(), bearer(plain))
    assert response.status_code == 403
    body = response.get_json()
    assert body["error"] == "forbidden" and "usage:write" in body["message"]
    with app.app_context():
        assert db.session.scalar(select(func.count(UsageEvent.id))) == 0


def test_api_ignores_the_session_cookie(app, client, users, catalogue) -> None:
    """A signed-in browser is not an API client: cookies without a token are refused, so a
    cross-site form cannot post usage as the signed-in manager."""
    login(client, "manager@example.com")
    response = send_usage(client, {})
    assert response.status_code == 401
