"""Finding the test PostgreSQL server, and making a fresh database on it for one test run.

`python -m tests.support.postgres` prints the server URL and exits 0 when one answers, else 1.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def server_url() -> str:
    return os.environ.get("LMS_TEST_POSTGRES_URL", DEFAULT_URL)


def _connect(url: str):
    import psycopg

    return psycopg.connect(
        url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True, connect_timeout=3
    )


def available(url: str | None = None) -> bool:
    try:
        with _connect(url or server_url()):
            return True
    except Exception:  # noqa: BLE001 (any failure means: not available)
        return False


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


@contextmanager
def fresh_database(prefix: str = "lms_test") -> Iterator[str]:
    """Create an empty database on the test server; drop it afterwards."""
    admin = server_url()
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    with _connect(admin) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(admin, name)
    finally:
        with _connect(admin) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    if available():
        print(server_url())
        sys.exit(0)
    sys.exit(1)
