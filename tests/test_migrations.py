"""Migrations: one head, upgrade from an empty database, and models that agree with them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import upgrade
from sqlalchemy import create_engine, inspect

from lms import create_app
from lms.extensions import db
from tests.conftest import config_for_tests, database_kind
from tests.support import postgres

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[str]:
    if database_kind() == "postgresql":
        with postgres.fresh_database("lms_migrations") as url:
            yield url
    else:
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"


def test_there_is_one_migration_head() -> None:
    from alembic.config import Config

    config = Config(str(MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, heads


def test_upgrade_from_empty_matches_the_models(empty_database: str) -> None:
    application = create_app(config_for_tests(empty_database))
    with application.app_context():
        upgrade(directory=str(MIGRATIONS))
        tables = set(inspect(db.engine).get_table_names())
        assert {"users", "programmes", "enrolments", "audit_events"} <= tables
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "render_as_batch": True}
            )
            differences = compare_metadata(context, db.metadata)
        assert differences == []
        db.session.remove()
        db.engine.dispose()


def test_the_demo_loads_on_a_migrated_database(empty_database: str) -> None:
    """`make run`'s sequence: upgrade, load curricula, seed."""
    from lms.curricula.loader import load_curricula
    from lms.demo.seed import seed

    application = create_app(config_for_tests(empty_database))
    with application.app_context():
        upgrade(directory=str(MIGRATIONS))
        assert load_curricula(Path(application.config["LMS_CURRICULA_PATH"])).ok
        report = seed()
        db.session.commit()
        assert report.learners == 40
        db.session.remove()
        db.engine.dispose()
    engine = create_engine(empty_database.replace("postgresql://", "postgresql+psycopg://"))
    engine.dispose()
