"""Metric snapshots for trends: every metric for the organisation, each team, region and cohort
on one day, stored as MetricSnapshot rows. Storing a day again replaces that day's rows, so the
nightly job can be re-run safely. The caller commits."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import delete, select

from lms.adoption.records import MetricSnapshot
from lms.extensions import db
from lms.metrics.data import all_scopes, compute_all
from lms.metrics.definitions import MetricResult

#: MetricSnapshot.reason holds at most this many characters.
REASON_LENGTH = 300


@dataclass
class SnapshotReport:
    as_of: date
    scopes: int = 0
    stored: int = 0
    replaced: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    organisation: dict[str, MetricResult] = field(default_factory=dict)


def _reason(text: str | None) -> str | None:
    if text is None or len(text) <= REASON_LENGTH:
        return text
    return text[: REASON_LENGTH - 1] + "…"


def store_snapshots(as_of: date) -> SnapshotReport:
    """Compute every metric for every scope on `as_of` and store the results, replacing any
    rows already stored for that day."""
    report = SnapshotReport(as_of)
    report.replaced = (
        db.session.execute(delete(MetricSnapshot).where(MetricSnapshot.as_of == as_of)).rowcount
        or 0
    )
    rows = []
    for scope in all_scopes():
        results = compute_all(scope, as_of=as_of)
        report.scopes += 1
        if scope.kind == "organisation":
            report.organisation = results
        for result in results.values():
            report.statuses[result.status] += 1
            rows.append(
                MetricSnapshot(
                    metric=result.metric,
                    scope=scope.kind,
                    scope_id=scope.id,
                    as_of=as_of,
                    value=result.value,
                    status=result.status,
                    reason=_reason(result.reason),
                    basis=result.basis,
                )
            )
    db.session.add_all(rows)
    db.session.flush()
    report.stored = len(rows)
    return report


def snapshot_days(first: date, last: date) -> set[date]:
    """The days from `first` to `last` that have snapshots stored (one query)."""
    return set(
        db.session.scalars(
            select(MetricSnapshot.as_of)
            .where(MetricSnapshot.as_of >= first, MetricSnapshot.as_of <= last)
            .distinct()
        )
    )
