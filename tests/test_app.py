"""The application as a whole: configuration, health check, headers, and who may open what."""

from __future__ import annotations

import os
import re

import pytest
from flask import Flask

from lms import create_app
from lms.config import ConfigError
from lms.extensions import db
from lms.security import PUBLIC
from tests.conftest import config_for_tests, login

# Routes anyone may open without signing in; every other route must send them away.
PUBLIC_ENDPOINTS = {
    "main.healthz",
    "accounts.login",
    "accounts.logout",
    "accounts.forgot_password",
    "accounts.accept_invitation",
    "accounts.reset_password",
    "api.index",  # what the API offers and how to authenticate
    "api.openapi",  # the OpenAPI document of the API
    "xapi.about",  # an LRS answers /about to anyone (xAPI 1.0.3)
    "certificates.verify",  # anyone checks a certificate by its code (name, stage, date only)
    "certificates.verify_lookup",  # the form to type a code
    "static",
}


def _example_url(rule) -> str:
    url = rule.rule
    for argument in rule.arguments:
        value = "1" if "int:" in url.split(argument)[0].rsplit("<", 1)[-1] else "example"
        url = re.sub(r"<(?:[^:>]+:)?" + argument + ">", value, url)
    return url


def test_every_route_declares_who_may_open_it(app: Flask) -> None:
    undeclared = [
        endpoint
        for endpoint, view in app.view_functions.items()
        if endpoint != "static" and getattr(view, "_access", None) is None
    ]
    assert undeclared == []


def test_only_the_public_list_is_public(app: Flask) -> None:
    public = {
        endpoint
        for endpoint, view in app.view_functions.items()
        if getattr(view, "_access", None) == PUBLIC
    }
    assert public == PUBLIC_ENDPOINTS - {"static"}


def test_anonymous_visitor_is_sent_to_sign_in_everywhere_else(app: Flask, client) -> None:
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        url = _example_url(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            assert response.status_code in (302, 401, 403), (method, url, response.status_code)
            if response.status_code == 302:
                assert "/login" in response.headers["Location"], (method, url)
            checked += 1
    assert checked > 15


def test_signed_in_learner_is_refused_admin_pages(app: Flask, client, users) -> None:
    login(client, "learner@example.com")
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("admin.") and "GET" in rule.methods:
            response = client.get(_example_url(rule))
            assert response.status_code == 403, rule.rule
            assert "You do not have access" in response.get_data(as_text=True)


def test_healthz_reports_database_and_curricula(client, curricula) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "curricula": 9}


def test_pages_carry_security_headers(client) -> None:
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_no_inline_script_or_style_in_pages(client, users, curricula) -> None:
    login(client, "admin@example.com")
    for url in ("/", "/catalogue", "/framework", "/admin/users", "/account"):
        html = client.get(url).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), url
        assert " style=" not in html and "<style" not in html, url
        external = re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="(?:https?:)?//', html)
        assert external == [], url


def test_session_cookie_is_httponly_and_lax(client) -> None:
    client.get("/login")
    cookie = client.get_cookie("session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"


def test_not_found_page_is_in_the_site_style(client, users) -> None:
    login(client, "learner@example.com")
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "There is no page at this address" in response.get_data(as_text=True)


def test_api_paths_answer_json_errors(client) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


def test_secret_key_is_generated_once_and_kept(tmp_path, monkeypatch, database_url) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    config = config_for_tests(database_url)
    config.pop("SECRET_KEY")
    first = create_app({**config, "TESTING": True})
    key = first.config["SECRET_KEY"]
    assert len(key) >= 32 and key != "test-secret-key-not-for-production"
    second = create_app({**config, "TESTING": True})
    assert second.config["SECRET_KEY"] == key


def test_production_refuses_to_start_without_secret_key(monkeypatch) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/none")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()


def test_production_keeps_rate_limits_in_redis(monkeypatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/none")
    monkeypatch.delenv("LMS_REDIS_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    application = create_app()
    assert application.config["LMS_PRODUCTION"] is True
    assert application.config["RATELIMIT_STORAGE_URI"].startswith("redis://")
    assert application.config["SESSION_COOKIE_SECURE"] is True
    assert application.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")


def _post_logins(application: Flask, times: int) -> list[int]:
    client = application.test_client()
    codes = [
        client.post("/login", data={"email": "x@example.com", "password": "wrong"}).status_code
        for _ in range(times)
    ]
    with application.app_context():  # close this app's connections now, not at collection
        db.session.remove()
        db.engine.dispose()
    return codes


def test_each_app_has_its_own_rate_limiter(database_url) -> None:
    limited = create_app(
        config_for_tests(
            database_url,
            RATELIMIT_ENABLED=True,
            LMS_LOGIN_RATE_LIMIT="2 per minute",
            WTF_CSRF_ENABLED=False,
        )
    )
    unlimited = create_app(config_for_tests(database_url, WTF_CSRF_ENABLED=False))
    assert _post_logins(limited, 3) == [200, 200, 429]
    # Building the second app did not switch limits on for it, nor off for the first.
    assert _post_logins(unlimited, 5) == [200] * 5
    assert _post_logins(limited, 1) == [429]


def test_rate_limits_are_kept_in_redis_when_configured(database_url) -> None:
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/15"
    try:
        connection = redis.Redis.from_url(url, socket_connect_timeout=1)
        connection.ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip("no Redis on 127.0.0.1:6379")
    connection.flushdb()
    config = config_for_tests(
        database_url,
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI=url,
        LMS_LOGIN_RATE_LIMIT="2 per minute",
        WTF_CSRF_ENABLED=False,
    )
    # Two processes sharing nothing but Redis: the second sees the first's attempts.
    assert _post_logins(create_app(config), 2) == [200, 200]
    assert _post_logins(create_app(config), 1) == [429]
    assert connection.keys("*")
    connection.flushdb()


def test_the_api_serves_an_openapi_document_naming_every_api_route(app: Flask, client) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.")
    documented = {
        (path, method.upper()) for path, item in document["paths"].items() for method in item
    }
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] in ("api", "xapi"):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert (rule.rule, method) in documented, (rule.rule, method)
