"""Usage ingestion: one validation path for CSV files, the JSON API and xAPI statements.

Each row names a person (e-mail or platform user id), a platform, a feature (its id, name or an
alias), a time, a count and optionally an event id. Every row is checked; bad rows are reported
with their line or index and reason and the good ones kept. A row whose feature the catalogue
does not know is held aside and replayed once an admin maps the name. Ingestion is idempotent:
the event id (or a hash of the row) is unique, so re-sending doubles nothing.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select

from lms.accounts.models import User
from lms.adoption.models import Feature, FeatureAlias, HeldUsage, Platform, UsageEvent
from lms.audit.operations import record
from lms.core.csvfile import RowProblem
from lms.core.csvfile import read_csv as read_rows
from lms.core.timeutil import now_utc
from lms.extensions import db

COLUMNS = ("user", "platform", "feature", "timestamp", "count", "event_id")
#: Clocks differ: a timestamp this far ahead of ours is still accepted.
CLOCK_SKEW = timedelta(minutes=5)
MAX_COUNT = 1_000_000
BATCH = 1000


@dataclass
class IngestReport:
    accepted: int = 0
    duplicates: int = 0
    held: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    rows: int = 0

    def merge(self, other: IngestReport) -> None:
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.held += other.held
        self.problems.extend(other.problems)
        self.rows += other.rows

    def summary(self) -> str:
        return (
            f"{self.rows} rows: {self.accepted} recorded, {self.duplicates} already "
            f"recorded, {self.held} held for an unknown feature, {len(self.problems)} refused"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "held": self.held,
            "problems": [{"row": p.where, "reason": p.reason} for p in self.problems],
        }


def parse_timestamp(value: Any) -> datetime:
    """ISO 8601 with a time zone (a time without one is taken as UTC)."""
    if isinstance(value, datetime):
        moment = value
    else:
        text = str(value or "").strip()
        if not text:
            raise ValueError("timestamp is empty")
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as error:
            raise ValueError(
                f"timestamp {text!r} is not ISO 8601 (for example 2026-11-02T14:30:00Z)"
            ) from error
    try:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError as error:  # 0001-01-01T00:00+01:00 is before the first UTC day
        raise ValueError(f"timestamp {value!s} is out of range") from error


def _count(value: Any) -> int:
    if value in (None, ""):
        return 1
    try:
        if isinstance(value, bool):  # JSON true is not a count
            raise TypeError(value)
        number = float(value)
    except (TypeError, ValueError, OverflowError) as error:
        raise ValueError(f"count {value!r} is not a number") from error
    if not math.isfinite(number):  # "inf", "nan", 1e400
        raise ValueError(f"count {value!r} is not a number")
    if number != int(number):
        raise ValueError(f"count {value!r} is not a whole number")
    if number < 1:
        raise ValueError(f"count {int(number)} must be 1 or more")
    if number > MAX_COUNT:
        raise ValueError(f"count {int(number)} is implausibly large")
    return int(number)


class _Lookups:
    """Users, platforms and feature names, loaded once per batch of rows."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        refs = {str(r.get("user") or "").strip() for r in rows}
        emails = {ref.lower() for ref in refs if "@" in ref}
        others = {ref for ref in refs if ref and "@" not in ref}
        self.users: dict[str, int] = {}
        if emails:
            self.users.update(
                {
                    email: uid
                    for uid, email in db.session.execute(
                        select(User.id, User.email).where(User.email.in_(emails))
                    )
                }
            )
        if others:
            self.users.update(
                {
                    ext: uid
                    for uid, ext in db.session.execute(
                        select(User.id, User.external_id).where(User.external_id.in_(others))
                    )
                }
            )
        self.platforms = {p.slug: p.id for p in db.session.scalars(select(Platform))}
        self.platforms.update(
            {p.name.casefold(): p.id for p in db.session.scalars(select(Platform))}
        )
        self.aliases = {
            (a.platform_id, a.name): a.feature_id for a in db.session.scalars(select(FeatureAlias))
        }

    def user(self, ref: str) -> int | None:
        ref = ref.strip()
        return self.users.get(ref.lower() if "@" in ref else ref)


def _event_key(
    row: dict[str, Any], user_id: int, platform_id: int, name: str, moment: datetime, count: int
) -> str:
    given = str(row.get("event_id") or "").strip()
    if given:
        # Event ids are unique within one platform's export, not across platforms.
        return f"id:{platform_id}:{given}"[:200]
    digest = hashlib.sha256(
        f"{user_id}|{platform_id}|{name}|{moment.isoformat()}|{count}".encode()
    ).hexdigest()
    return f"row:{digest}"


def ingest(
    rows: Iterable[tuple[int, dict[str, Any]]],
    *,
    source: str,
    source_ref: str | None,
    now: datetime | None = None,
    people: set[int] | None = None,
) -> IngestReport:
    """Check and record `rows` (each with its line number or index). `people`, when given,
    limits whose usage may be recorded (a manager: the learners of their cohorts). The caller
    commits."""
    report = IngestReport()
    batch: list[tuple[int, dict[str, Any]]] = []
    for item in rows:
        batch.append(item)
        if len(batch) >= BATCH:
            report.merge(_ingest_batch(batch, source, source_ref, now or now_utc(), people))
            batch = []
    if batch:
        report.merge(_ingest_batch(batch, source, source_ref, now or now_utc(), people))
    return report


def people_for(user: Any) -> set[int] | None:
    """Whose usage `user` may send: everyone for an admin, else the learners of the cohorts
    they manage (withdrawn or not: their history is still theirs to correct)."""
    if user is None or user.has_role("admin"):
        return None
    from lms.organisation.models import Cohort, Enrolment

    return set(
        db.session.scalars(
            select(Enrolment.user_id)
            .join(Cohort, Cohort.id == Enrolment.cohort_id)
            .where(Cohort.manager_id == user.id)
        )
    )


def _ingest_batch(
    batch: list[tuple[int, dict[str, Any]]],
    source: str,
    source_ref: str | None,
    now: datetime,
    people: set[int] | None = None,
) -> IngestReport:
    report = IngestReport(rows=len(batch))
    lookups = _Lookups([row for _, row in batch])
    events: dict[str, dict[str, Any]] = {}
    held: dict[str, dict[str, Any]] = {}
    for where, row in batch:
        try:
            user_ref = str(row.get("user") or "").strip()
            if not user_ref:
                raise ValueError("user is empty (give an e-mail address or platform user id)")
            user_id = lookups.user(user_ref)
            if user_id is None:
                raise ValueError(f"no user has the e-mail address or platform id {user_ref!r}")
            if people is not None and user_id not in people:
                raise ValueError(f"{user_ref} is not a learner in a cohort you manage")
            platform_ref = str(row.get("platform") or "").strip()
            platform_id = lookups.platforms.get(platform_ref) or lookups.platforms.get(
                platform_ref.casefold()
            )
            if platform_id is None:
                raise ValueError(f"platform {platform_ref!r} is not in the feature catalogue")
            name = str(row.get("feature") or "").strip().casefold()
            if not name:
                raise ValueError("feature is empty")
            moment = parse_timestamp(row.get("timestamp"))
            if moment > now + CLOCK_SKEW:
                raise ValueError(f"timestamp {moment.isoformat()} is in the future")
            count = _count(row.get("count"))
        except ValueError as problem:
            report.problems.append(RowProblem(where, str(problem)))
            continue
        key = _event_key(row, user_id, platform_id, name, moment, count)
        if key in events or key in held:
            report.duplicates += 1
            continue
        feature_id = lookups.aliases.get((platform_id, name))
        values = {
            "event_key": key,
            "user_id": user_id,
            "occurred_at": moment,
            "count": count,
            "source": source,
            "source_ref": source_ref,
        }
        if feature_id is None:
            held[key] = {**values, "platform_id": platform_id, "feature_name": name}
        else:
            events[key] = {**values, "feature_id": feature_id}
    report.accepted, dup_events = _insert_new(UsageEvent, events)
    report.held, dup_held = _insert_new(HeldUsage, held)
    report.duplicates += dup_events + dup_held
    # A held row that arrives again once its name is mapped would be recorded twice otherwise.
    return report


def _insert_new(model: type, rows: dict[str, dict[str, Any]]) -> tuple[int, int]:
    """Insert rows whose event key is new; returns (inserted, already there)."""
    if not rows:
        return 0, 0
    keys = list(rows)
    existing = set(
        db.session.scalars(select(UsageEvent.event_key).where(UsageEvent.event_key.in_(keys)))
    )
    existing |= set(
        db.session.scalars(select(HeldUsage.event_key).where(HeldUsage.event_key.in_(keys)))
    )
    fresh = [row for key, row in rows.items() if key not in existing]
    if fresh:
        # Another process may insert the same key between our check and this insert: the
        # unique key decides, and the row is simply not inserted twice.
        db.session.execute(_insert_ignoring_duplicates(model), fresh)
    return len(fresh), len(rows) - len(fresh)


def _insert_ignoring_duplicates(model: type) -> Any:
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(model.__table__).on_conflict_do_nothing(index_elements=["event_key"])


def read_csv(text: str) -> tuple[list[tuple[int, dict[str, str]]], list[RowProblem]]:
    """Rows of a usage CSV with their line numbers. The user column may be called user, email
    or external_id; other columns a platform export carries are ignored."""
    return read_rows(
        text,
        ("user", "platform", "feature", "timestamp"),
        ("count", "event_id"),
        aliases={"email": "user", "external_id": "user", "user_id": "user"},
        extra_columns="ignore",
    )


def map_name(platform: Platform, name: str, feature: Feature) -> int:
    """Map a platform's name for a feature, then replay the rows held for it. Returns how many
    held rows became usage events. The caller commits."""
    name = name.strip().casefold()
    alias = db.session.scalar(
        select(FeatureAlias).where(
            FeatureAlias.platform_id == platform.id, FeatureAlias.name == name
        )
    )
    if alias is None:
        alias = FeatureAlias(
            platform_id=platform.id, name=name, feature_id=feature.id, source="admin"
        )
        db.session.add(alias)
    else:
        alias.feature_id = feature.id
    held = list(
        db.session.scalars(
            select(HeldUsage).where(
                HeldUsage.platform_id == platform.id, HeldUsage.feature_name == name
            )
        )
    )
    rows = {
        h.event_key: {
            "event_key": h.event_key,
            "user_id": h.user_id,
            "feature_id": feature.id,
            "occurred_at": h.occurred_at,
            "count": h.count,
            "source": h.source,
            "source_ref": h.source_ref,
        }
        for h in held
    }
    db.session.execute(delete(HeldUsage).where(HeldUsage.id.in_([h.id for h in held])))
    inserted, _ = _insert_new(UsageEvent, rows)
    record(
        "feature.name_mapped", target=feature, platform=platform.slug, name=name, replayed=inserted
    )
    return inserted


def held_names() -> list[tuple[Platform, str, int, datetime]]:
    """Unknown feature names with how many rows wait for each, most rows first."""
    rows = db.session.execute(
        select(
            HeldUsage.platform_id,
            HeldUsage.feature_name,
            func.count(HeldUsage.id),
            func.max(HeldUsage.received_at),
        )
        .group_by(HeldUsage.platform_id, HeldUsage.feature_name)
        .order_by(func.count(HeldUsage.id).desc())
    ).all()
    platforms = {p.id: p for p in db.session.scalars(select(Platform))}
    return [(platforms[pid], name, count, last) for pid, name, count, last in rows]


ProgressCallback = Callable[[int, IngestReport], None]
