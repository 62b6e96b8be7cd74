"""An app whose background jobs wait in Redis for an RQ worker, for the tests of job queues."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask

REDIS_URL = "redis://127.0.0.1:6379/14"


@dataclass
class Queued:
    app: Flask
    #: Runs an in-process worker until the queue is empty, as `rq worker` would.
    work: Any


@contextmanager
def queued_app(
    database_url: str, monkeypatch: pytest.MonkeyPatch, **config: Any
) -> Iterator[Queued]:
    """An app with LMS_JOB_QUEUE=rq on a queue of its own. Skipped without Redis, except in CI
    (CI=true), where a missing Redis fails. The worker builds its own app from the environment,
    as `rq worker` does: DATABASE_URL and SECRET_KEY are set for it (and whatever else `config`
    names under `worker_env`)."""
    redis = pytest.importorskip("redis")
    rq = pytest.importorskip("rq")
    from lms import create_app
    from lms.extensions import db
    from tests.conftest import config_for_tests

    connection = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        connection.ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip("no Redis on 127.0.0.1:6379")
    worker_env = config.pop("worker_env", {})
    name = f"lms-test-{secrets.token_hex(4)}"
    app = create_app(
        config_for_tests(
            database_url,
            LMS_JOB_QUEUE="rq",
            LMS_REDIS_URL=REDIS_URL,
            LMS_JOB_QUEUE_NAME=name,
            **config,
        )
    )
    queue = rq.Queue(name, connection=connection)

    def work() -> None:
        monkeypatch.setenv("DATABASE_URL", database_url)
        monkeypatch.setenv("SECRET_KEY", "worker-secret-for-the-test")
        for key, value in worker_env.items():
            monkeypatch.setenv(key, value)
        rq.SimpleWorker([queue], connection=connection).work(burst=True)

    try:
        yield Queued(app, work)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        queue.delete(delete_jobs=True)
