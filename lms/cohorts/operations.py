"""Cohort and enrolment operations. Every manager action takes a reason that goes to the audit
log; the caller commits. Views, the CSV importer and the CLI all call these."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from lms.accounts.models import User
from lms.accounts.operations import normalise_email
from lms.assessments import operations as assessment_operations
from lms.assessments.models import Assessment, ExtraTime
from lms.audit.operations import record
from lms.core.timeutil import now_utc
from lms.curricula.models import Programme, Stage
from lms.extensions import db
from lms.organisation.models import Cohort, Enrolment
from lms.stages.engine import organisation_today, refresh
from lms.stages.models import ClockPause, Exemption, WindowExtension


class CohortError(ValueError):
    """A manager action that cannot be done, in words for the manager. `field` names the form
    field the problem belongs to, when there is one (a page shows the message beside it)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def visible_cohorts(user: User):
    """Managers see the cohorts they manage; admins (and leaders, read-only) see every one."""
    statement = select(Cohort).order_by(Cohort.start_date.desc(), Cohort.name)
    if user.has_role("admin", "leader"):
        return statement
    return statement.where(Cohort.manager_id == user.id)


def managed_cohorts(user: User):
    """The cohorts `user` may manage (and so open on the cohort pages): admins every one,
    anyone else those they manage, whatever other roles they hold."""
    statement = select(Cohort).order_by(Cohort.start_date.desc(), Cohort.name)
    if user.has_role("admin"):
        return statement
    return statement.where(Cohort.manager_id == user.id)


def may_manage(user: User, cohort: Cohort) -> bool:
    return user.has_role("admin") or cohort.manager_id == user.id


def create_cohort(
    name: str,
    start_date: date,
    manager: User,
    programmes: list[Programme],
    due_date: date | None = None,
) -> Cohort:
    if not manager.has_role("manager", "admin"):
        raise CohortError(f"{manager.name} is not a manager.", field="manager_id")
    if not programmes:
        raise CohortError("Choose at least one programme.", field="programmes")
    if due_date is not None and due_date < start_date:
        raise CohortError("The due date cannot be before the start date.", field="due_date")
    if db.session.scalar(select(Cohort.id).where(Cohort.name == name)):
        raise CohortError(f"A cohort named {name} exists already.", field="name")
    cohort = Cohort(name=name, start_date=start_date, due_date=due_date, manager=manager)
    cohort.programmes = list(programmes)
    db.session.add(cohort)
    db.session.flush()
    record(
        "cohort.created",
        target=cohort,
        name=name,
        manager=manager.email,
        programmes=[p.slug for p in programmes],
    )
    return cohort


def enrol(
    cohort: Cohort,
    user: User,
    start_date: date | None = None,
    reason: str | None = None,
    *,
    run_engine: bool = True,
) -> list[Enrolment]:
    """Enrol `user` in every programme of the cohort (those not already active). Returns the new
    enrolments; a learner enrolled before is left as they are. With `run_engine=False` the
    caller runs the stage engine itself (once for a whole import, say)."""
    if not user.active:
        raise CohortError(f"{user.name} is deactivated.")
    if not user.has_role("learner"):
        raise CohortError(f"{user.name} does not have the learner role.")
    start = start_date or max(cohort.start_date, organisation_today())
    existing = {
        e.programme_id: e
        for e in db.session.scalars(
            select(Enrolment).where(Enrolment.user_id == user.id, Enrolment.cohort_id == cohort.id)
        )
    }
    created = []
    for programme in cohort.programmes:
        enrolment = existing.get(programme.id)
        if enrolment is None:
            enrolment = Enrolment(
                user_id=user.id,
                programme_id=programme.id,
                cohort_id=cohort.id,
                start_date=start,
                stage_id="initial",
            )
            db.session.add(enrolment)
            created.append(enrolment)
        elif enrolment.status == "withdrawn":
            enrolment.status = "active"
            enrolment.withdrawn_at = None
            enrolment.withdrawal_reason = None
            created.append(enrolment)
    if created:
        db.session.flush()
        record(
            "enrolment.created",
            target=cohort,
            reason=reason,
            learner=user.email,
            programmes=[e.programme_id for e in created],
        )
        if run_engine:
            refresh(created)
    return created


def withdraw(enrolment: Enrolment, reason: str) -> None:
    if enrolment.status == "withdrawn":
        return
    _require_reason(reason)
    enrolment.status = "withdrawn"
    enrolment.withdrawn_at = now_utc()
    enrolment.withdrawal_reason = reason
    enrolment.stage_status = "withdrawn"
    record("enrolment.withdrawn", target=enrolment, reason=reason)


def extend_window(enrolment: Enrolment, days: int, reason: str) -> WindowExtension:
    _require_reason(reason)
    stage = db.session.get(Stage, enrolment.stage_id)
    if stage is None or stage.window_end_day is None:
        raise CohortError("Only the first three stages have a window to extend.")
    if not 1 <= days <= 365:
        raise CohortError("Extend by 1 to 365 days.")
    extension = WindowExtension(
        enrolment_id=enrolment.id,
        stage_id=stage.id,
        days=days,
        reason=reason,
        created_by_id=_actor_id(),
    )
    db.session.add(extension)
    record("enrolment.window_extended", target=enrolment, reason=reason, stage=stage.id, days=days)
    return extension


def open_pause(enrolment: Enrolment) -> ClockPause | None:
    return next((p for p in enrolment.pauses if p.resumed_on is None), None)


def pause(enrolment: Enrolment, reason: str, on: date | None = None) -> ClockPause:
    _require_reason(reason)
    if open_pause(enrolment) is not None:
        raise CohortError("The clock is paused already.")
    paused = ClockPause(
        enrolment_id=enrolment.id,
        paused_on=on or organisation_today(),
        reason=reason,
        created_by_id=_actor_id(),
    )
    db.session.add(paused)
    enrolment.pauses.append(paused)
    record("enrolment.clock_paused", target=enrolment, reason=reason)
    return paused


def resume(enrolment: Enrolment, reason: str, on: date | None = None) -> ClockPause:
    _require_reason(reason)
    paused = open_pause(enrolment)
    if paused is None:
        raise CohortError("The clock is not paused.")
    paused.resumed_on = max(on or organisation_today(), paused.paused_on)
    record(
        "enrolment.clock_resumed",
        target=enrolment,
        reason=reason,
        paused_days=(paused.resumed_on - paused.paused_on).days,
    )
    return paused


def exempt(enrolment: Enrolment, requirement: str, reason: str) -> Exemption:
    """Waive one gate requirement ("kind:ref") for this enrolment, then run the engine."""
    _require_reason(reason)
    gates = enrolment.programme.gates or {}
    known = {f"{r['kind']}:{r['ref']}" for items in gates.values() for r in items}
    if requirement not in known:
        raise CohortError("That is not a requirement of this programme's gates.")
    if db.session.scalar(
        select(Exemption.id).where(
            Exemption.enrolment_id == enrolment.id, Exemption.requirement == requirement
        )
    ):
        raise CohortError("That requirement is exempted already.")
    exemption = Exemption(
        enrolment_id=enrolment.id, requirement=requirement, reason=reason, created_by_id=_actor_id()
    )
    db.session.add(exemption)
    db.session.flush()
    record(
        "enrolment.requirement_exempted", target=enrolment, reason=reason, requirement=requirement
    )
    refresh([enrolment])
    return exemption


#: The most extra time a manager can grant on one assessment, in minutes.
MAX_EXTRA_MINUTES = 600


def grant_extra_time(
    enrolment: Enrolment, assessment: Assessment, minutes: int, reason: str
) -> ExtraTime:
    """Give the enrolment's learner `minutes` on top of a timed assessment of its programme,
    replacing an earlier grant (0 takes it back); an attempt already running gets the new
    deadline too."""
    if assessment.programme_id != enrolment.programme_id:
        raise CohortError("That assessment is not part of this enrolment's programme.")
    if not assessment.time_limit_minutes:
        raise CohortError("That assessment has no time limit.")
    if not 0 <= minutes <= MAX_EXTRA_MINUTES:
        raise CohortError(f"Grant 0 to {MAX_EXTRA_MINUTES} minutes.", field="minutes")
    _require_reason(reason)
    grant = assessment_operations.grant_extra_time(
        enrolment.user_id, assessment, minutes, reason, _actor_id()
    )
    record(
        "assessment.extra_time_granted",
        target=enrolment,
        reason=reason,
        assessment=assessment.slug,
        minutes=minutes,
    )
    return grant


def _require_reason(reason: str | None) -> None:
    if not (reason or "").strip():
        raise CohortError("Give a reason: it goes to the audit log.", field="reason")


def _actor_id() -> int | None:
    from flask import has_request_context
    from flask_login import current_user

    if has_request_context() and current_user.is_authenticated:
        return current_user.id
    return None


BULK_ACTIONS = {
    "withdraw": "Withdraw from the programme",
    "extend": "Extend the current stage window",
    "pause": "Pause the stage clock",
    "resume": "Resume the stage clock",
}


@dataclass
class BulkReport:
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def bulk(
    enrolments: list[Enrolment], action: str, reason: str, days: int | None = None
) -> BulkReport:
    """Apply one action to many enrolments; the ones it cannot apply to are listed, not failed."""
    if action not in BULK_ACTIONS:
        raise CohortError("Choose an action.", field="action")
    _require_reason(reason)
    report = BulkReport()
    for enrolment in enrolments:
        who = f"{enrolment.user.name} ({enrolment.programme.title})"
        if enrolment.status == "withdrawn":
            report.skipped.append(f"{who}: withdrawn already")
            continue
        try:
            if action == "withdraw":
                withdraw(enrolment, reason)
            elif action == "extend":
                extend_window(enrolment, days or 0, reason)
            elif action == "pause":
                pause(enrolment, reason)
            elif action == "resume":
                resume(enrolment, reason)
        except CohortError as problem:
            report.skipped.append(f"{who}: {problem}")
        else:
            report.done.append(who)
    db.session.flush()
    refresh([e for e in enrolments if e.status == "active"])
    return report


@dataclass
class EnrolImportReport:
    enrolled: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)


def enrol_from_csv(cohort: Cohort, text: str, reason: str) -> EnrolImportReport:
    """Columns: email (required), start_date (optional, YYYY-MM-DD). Bad rows are reported by
    line; good rows are enrolled."""
    report = EnrolImportReport()
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip().lower() for name in (reader.fieldnames or []) if name]
    if "email" not in header:
        report.problems.append((1, "the header needs an email column (start_date optional)"))
        return report
    reader.fieldnames = [name.strip().lower() for name in reader.fieldnames or []]
    # `line_num` after reading a row is the line it ends on: the line a spreadsheet shows.
    rows = [(reader.line_num, row) for row in reader]
    wanted = {normalise_email(row.get("email") or "") for _, row in rows} - {""}
    users = {
        user.email: user for user in db.session.scalars(select(User).where(User.email.in_(wanted)))
    }
    seen: set[str] = set()
    new_enrolments: list[Enrolment] = []
    for line, row in rows:
        email = normalise_email(row.get("email") or "")
        if not email:
            report.problems.append((line, "email is empty"))
            continue
        if email in seen:
            report.problems.append((line, f"{email} appears twice in the file"))
            continue
        user = users.get(email)
        if user is None:
            report.problems.append((line, f"no user has the e-mail address {email}"))
            continue
        start = None
        raw_start = (row.get("start_date") or "").strip()
        if raw_start:
            try:
                start = date.fromisoformat(raw_start)
            except ValueError:
                report.problems.append(
                    (line, f"start_date {raw_start!r} is not a date such as 2026-09-01")
                )
                continue
        # A row refused above may come again corrected; a row taken may not come twice.
        seen.add(email)
        try:
            created = enrol(cohort, user, start, reason=reason, run_engine=False)
        except CohortError as problem:
            report.problems.append((line, str(problem)))
            continue
        new_enrolments.extend(created)
        (report.enrolled if created else report.unchanged).append(email)
    refresh(new_enrolments)  # once for the whole file: a fixed number of queries
    return report
