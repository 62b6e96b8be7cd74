"""Work off the request: on an RQ worker over Redis when one is configured (LMS_JOB_QUEUE=rq),
otherwise in a thread of the web process. A job's state lives in a table of its own, which its
progress page reads, so either worker will do.

`dispatch(target, job_id)` takes the dotted path of a function `run(job_id)` that does the work
inside an application context; an RQ worker builds its own app for it (`run_in_new_app`).
"""

from __future__ import annotations

import threading
from importlib import import_module

from flask import Flask, current_app

from lms.extensions import db


def _resolve(target: str):
    module, _, name = target.rpartition(".")
    return getattr(import_module(module), name)


def dispatch(target: str, job_id: int) -> None:
    """Hand the committed job `job_id` to a worker that calls `target(job_id)`."""
    app = current_app._get_current_object()
    if app.config.get("LMS_JOB_QUEUE") == "rq" and app.config.get("LMS_REDIS_URL"):
        from redis import Redis
        from rq import Queue

        queue = Queue(
            app.config.get("LMS_JOB_QUEUE_NAME", "lms"),
            connection=Redis.from_url(app.config["LMS_REDIS_URL"]),
        )
        queue.enqueue(run_in_new_app, target, job_id)
        return
    thread = threading.Thread(target=_run_in_thread, args=(app, target, job_id), daemon=True)
    thread.start()
    if app.config.get("TESTING"):
        thread.join()  # tests read the finished job straight away


def _run_in_thread(app: Flask, target: str, job_id: int) -> None:
    with app.app_context():
        try:
            _resolve(target)(job_id)
        finally:
            db.session.remove()


def run_in_new_app(target: str, job_id: int) -> None:
    """Entry point for an RQ worker (`rq worker lms`), which runs with the web app's
    environment (DATABASE_URL, SECRET_KEY, ...)."""
    from lms import create_app

    with create_app().app_context():
        try:
            _resolve(target)(job_id)
        finally:
            # Each job builds its own app: close its connections rather than leave them open.
            db.session.remove()
            db.engine.dispose()
