"""Page speed against a floor: a bare Flask route served by the same app in the same way.

    python benchmarks/run.py [--size demo|S|M|L] [--requests 50]

Builds a throw-away SQLite database with the curricula and demo data of the chosen size and one
day of metric snapshots (as the nightly job leaves them), then times each page through the WSGI
stack (Flask's test client, no network) and counts its SQL statements. Prints median and
95th-percentile milliseconds beside the floor. Heavy pages (the leadership report) are timed
over fewer requests, and the report's PDF is timed as `flask reports build` builds it.
Not part of CI.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import event

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lms import create_app  # noqa: E402
from lms.curricula.loader import load_curricula  # noqa: E402
from lms.demo.seed import DEMO_PASSWORD, seed  # noqa: E402
from lms.extensions import db  # noqa: E402
from lms.metrics.snapshots import store_snapshots  # noqa: E402
from lms.reports.paper import build_pdf  # noqa: E402
from lms.security import public  # noqa: E402
from lms.stages.engine import organisation_today  # noqa: E402

#: Pages too slow to time fifty times at size L: their request count is capped.
HEAVY_PAGES = {"/reports/leadership": 5}
PDF_BUILDS = 3


def build(size: str, folder: Path):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "benchmark",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.sqlite3'}",
            "RATELIMIT_ENABLED": False,
            "WTF_CSRF_ENABLED": False,  # the benchmark signs in by posting directly
        }
    )

    @app.route("/__floor")
    @public
    def floor() -> str:
        return "ok"

    with app.app_context():
        db.create_all()
        started = time.perf_counter()
        assert load_curricula(Path(app.config["LMS_CURRICULA_PATH"])).ok
        report = seed(size)
        db.session.commit()
        print(
            f"seeded {report.learners} learners, {report.enrolments} enrolments "
            f"in {time.perf_counter() - started:.1f} s"
        )
        started = time.perf_counter()
        stored = store_snapshots(organisation_today())
        db.session.commit()
        print(
            f"stored {stored.stored} metric snapshots ({stored.scopes} scopes) "
            f"in {time.perf_counter() - started:.1f} s"
        )
    return app


def measure(client, path: str, requests: int, statements: list[str]) -> tuple[float, float, int]:
    client.get(path)  # warm up
    timings = []
    for _ in range(requests):
        statements.clear()
        started = time.perf_counter()
        response = client.get(path)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.95) - 1], len(statements)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", default="M", choices=["demo", "S", "M", "L"])
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        app = build(args.size, Path(folder))
        statements: list[str] = []
        with app.app_context():
            event.listen(
                db.engine, "before_cursor_execute", lambda *a, **k: statements.append(a[2])
            )
        pages = {
            None: ["/__floor", "/healthz", "/login"],
            "learner@example.com": ["/", "/catalogue", "/framework"],
            "manager@example.com": [
                "/",
                "/cohorts",
                "/cohorts/1",
                "/utilisation/cohorts/1",
                "/dashboard",
            ],
            # The leader's dashboard is the whole organisation's.
            "leader@example.com": ["/", "/metrics", "/reports/leadership", "/dashboard"],
            "admin@example.com": ["/", "/admin/users", "/admin/audit"],
        }
        print(f"\nsize {args.size}, {args.requests} requests each; floor = bare Flask route")
        header = ("user", "page", "median ms", "p95 ms", "× floor", "SQL")
        print("{:<22} {:<20} {:>10} {:>8} {:>8} {:>5}".format(*header))
        floor_median = None
        for email, paths in pages.items():
            client = app.test_client()
            if email:
                client.post("/login", data={"email": email, "password": DEMO_PASSWORD})
            for path in paths:
                count = min(args.requests, HEAVY_PAGES.get(path, args.requests))
                median, p95, queries = measure(client, path, count, statements)
                floor_median = floor_median or median
                print(
                    f"{email or 'anonymous':<22} {path:<20} {median:>10.2f} {p95:>8.2f} "
                    f"{median / floor_median:>8.1f} {queries:>5}"
                )
        print()
        print(pdf_timing(app, statements))


def pdf_timing(app, statements: list[str]) -> str:
    """The leadership PDF as `flask reports build` makes it: the first build in this process
    (charts and layout engines loading) and the median of the next ones."""
    timings = []
    with app.app_context():
        for _ in range(PDF_BUILDS + 1):
            statements.clear()
            started = time.perf_counter()
            build_pdf()
            timings.append(time.perf_counter() - started)
    first, rest = timings[0], sorted(timings[1:])
    return (
        f"leadership report PDF (build_pdf): first {first:.2f} s, then median "
        f"{statistics.median(rest):.2f} s over {len(rest)} builds; {len(statements)} SQL"
    )


if __name__ == "__main__":
    main()
