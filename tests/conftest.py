"""Shared fixtures: the app on SQLite or PostgreSQL, a clean database per test, users, forms.

The database comes from `LMS_TEST_DATABASE=postgresql` (a fresh database on the test server,
created and dropped by the run) or SQLite by default (a file in a temporary folder).
CSRF stays on: tests post forms the way a browser does, with the token from the page.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, event

from lms import create_app
from lms.accounts.models import User
from lms.accounts.operations import ensure_roles, roles_by_name
from lms.accounts.passwords import hash_password
from lms.extensions import db
from tests.support import postgres

ROOT = Path(__file__).resolve().parent.parent
CURRICULA = ROOT / "curricula"
SEEDS = Path(__file__).resolve().parent / "data"
PASSWORD = "correct horse battery"


def database_kind() -> str:
    return os.environ.get("LMS_TEST_DATABASE", "sqlite")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if database_kind() == "postgresql":
        if not postgres.available():
            pytest.exit("LMS_TEST_DATABASE=postgresql but no PostgreSQL answers", returncode=3)
        with postgres.fresh_database() as url:
            yield url
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


def config_for_tests(database_url: str, **overrides) -> dict:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "RATELIMIT_ENABLED": False,
        "LMS_FAST_PASSWORD_HASH": True,
        "LMS_CURRICULA_PATH": str(CURRICULA),
        "LMS_BASE_URL": "http://localhost",
        "SERVER_NAME": None,
    }
    config.update(overrides)
    return config


@pytest.fixture(scope="session")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    application = create_app(config_for_tests(database_url))
    with application.app_context():
        db.create_all()
    yield application
    with application.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def _clear_database() -> None:
    db.session.rollback()
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(delete(table))
    db.session.commit()


@pytest.fixture(autouse=True)
def _clean_database(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test starts with an empty database and leaves nothing behind."""
    if "app" not in request.fixturenames:
        yield
        return
    application = request.getfixturevalue("app")
    with application.app_context():
        _clear_database()
        ensure_roles()
        db.session.commit()
    yield
    with application.app_context():
        _clear_database()


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    with app.app_context():
        yield
        db.session.rollback()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def curricula(app: Flask) -> None:
    """Load every curriculum file of the repository."""
    from lms.curricula.loader import load_curricula

    with app.app_context():
        report = load_curricula(CURRICULA)
        assert report.ok, report.problems
        db.session.commit()


def make_user(
    email: str,
    roles: tuple[str, ...] = ("learner",),
    *,
    name: str | None = None,
    password: str | None = PASSWORD,
    active: bool = True,
    team=None,
) -> User:
    """Create and commit a user (inside an app context)."""
    user = User(
        email=email,
        name=name or email.split("@")[0].replace(".", " ").title(),
        password_hash=hash_password(password) if password else None,
        active=active,
        team=team,
    )
    user.roles = roles_by_name(set(roles))
    db.session.add(user)
    db.session.commit()
    return user


@pytest.fixture
def users(app: Flask) -> dict[str, int]:
    """One user per role (plus a second learner); returns their ids by role."""
    with app.app_context():
        made = {
            "learner": make_user("learner@example.com"),
            "learner2": make_user("other.learner@example.com"),
            "manager": make_user("manager@example.com", ("manager",)),
            "leader": make_user("leader@example.com", ("leader",)),
            "admin": make_user("admin@example.com", ("admin",)),
        }
        return {key: user.id for key, user in made.items()}


CSRF_INPUT = re.compile(
    r'<input[^>]*name="(?P<name>[\w-]*csrf_token)"[^>]*value="(?P<value>[^"]*)"'
)


def csrf_fields(html: str) -> dict[str, str]:
    return {m.group("name"): m.group("value") for m in CSRF_INPUT.finditer(html)}


def submit(client: FlaskClient, page: str, data: dict, *, to: str | None = None, **kwargs):
    """Open `page` like a browser, then post `data` with the page's CSRF token(s) to `to`
    (default: the same page)."""
    response = client.get(page)
    assert response.status_code == 200, f"GET {page} gave {response.status_code}"
    payload = csrf_fields(response.get_data(as_text=True))
    payload.update(data)
    return client.post(to or page, data=payload, **kwargs)


def login(client: FlaskClient, email: str, password: str = PASSWORD, **kwargs):
    return submit(client, "/login", {"email": email, "password": password}, **kwargs)


@pytest.fixture
def count_queries(app: Flask):
    """A context manager counting SQL statements run inside it."""
    from contextlib import contextmanager

    @contextmanager
    def counting() -> Iterator[list[str]]:
        statements: list[str] = []
        with app.app_context():
            engine = db.engine

        def before(conn, cursor, statement, parameters, context, executemany):
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", before)
        try:
            yield statements
        finally:
            event.remove(engine, "before_cursor_execute", before)

    return counting
