"""What learners and assessors do with demonstrations: drafts, submission, grading with
moderation and regrades, and who may see or grade what."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, has_request_context, url_for
from sqlalchemy import ColumnElement, Select, and_, case, exists, func, or_, select, update
from sqlalchemy.orm import selectinload

from lms.accounts.models import User
from lms.audit.operations import record
from lms.core.timeutil import local_date, now_utc, start_of_day
from lms.demonstrations import files
from lms.demonstrations.models import (
    CohortAssessor,
    DemonstrationTask,
    EvidenceFile,
    Grade,
    Submission,
)
from lms.demonstrations.rubric import RubricError, score
from lms.extensions import db
from lms.figures import figure
from lms.mail.outbox import queue as queue_mail
from lms.organisation.models import Cohort, Enrolment
from lms.organisation.operations import organisation, working_days
from lms.stages.engine import after_graded_event

WAITING = ("submitted", "moderation")
#: Files one piece of evidence may hold: enough for screenshots, too few to flood a grader.
MAX_FILES_PER_ITEM = 20
FINAL = ("needs-work", "proficient")


class DemonstrationError(ValueError):
    """Something a learner or assessor cannot do, in words for them. `field` names the form
    field it belongs to, when there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


# --- who may do what -----------------------------------------------------------------------


def is_enrolled(user: User, task: DemonstrationTask) -> bool:
    """Learners work on the tasks of programmes they are enrolled in (any status: a withdrawn
    learner still sees their past submissions, but cannot start new ones)."""
    return (
        db.session.scalar(
            select(Enrolment.id).where(
                Enrolment.user_id == user.id, Enrolment.programme_id == task.programme_id
            )
        )
        is not None
    )


def is_active_learner(user: User, task: DemonstrationTask) -> bool:
    return (
        db.session.scalar(
            select(Enrolment.id).where(
                Enrolment.user_id == user.id,
                Enrolment.programme_id == task.programme_id,
                Enrolment.status == "active",
            )
        )
        is not None
    )


def assessed_cohorts(user: User) -> Select:
    """Ids of the cohorts whose demonstrations `user` grades: those they manage and those an
    admin named them assessor for."""
    named = select(CohortAssessor.cohort_id).where(CohortAssessor.user_id == user.id)
    return select(Cohort.id).where(or_(Cohort.manager_id == user.id, Cohort.id.in_(named)))


def enrolment_covers_submission() -> ColumnElement[bool]:
    """SQL condition on Enrolment and Submission: the submission is work of that enrolment. A
    withdrawn enrolment covers what was sent before the withdrawal, not work done later for
    another cohort (whose manager grades it)."""
    return and_(
        Enrolment.user_id == Submission.user_id,
        Enrolment.programme_id == DemonstrationTask.programme_id,
        or_(Enrolment.status != "withdrawn", Submission.submitted_at <= Enrolment.withdrawn_at),
    )


def _assessable(user: User, cohort_id: int | None = None):
    """SQL condition on Submission (joined with its task): the learner is enrolled in the task's
    programme through a cohort `user` grades (`cohort_id`: through that cohort only)."""
    cohorts = assessed_cohorts(user) if not user.has_role("admin") else select(Cohort.id)
    condition = and_(enrolment_covers_submission(), Enrolment.cohort_id.in_(cohorts))
    if cohort_id is not None:
        condition = and_(condition, Enrolment.cohort_id == cohort_id)
    return exists().where(condition)


def is_assessor(user: User) -> bool:
    if user.has_role("admin"):
        return True
    return db.session.scalar(assessed_cohorts(user).limit(1)) is not None


def may_assess(user: User, submission: Submission) -> bool:
    if submission.user_id == user.id:
        return False  # nobody grades their own work
    if submission.status == "draft":
        return False  # nobody but the learner sees a draft
    if user.has_role("admin"):
        return True
    found = db.session.scalar(
        select(Submission.id)
        .join(DemonstrationTask, DemonstrationTask.id == Submission.task_id)
        .where(Submission.id == submission.id, _assessable(user))
    )
    return found is not None


def may_view(user: User, submission: Submission) -> bool:
    return submission.user_id == user.id or may_assess(user, submission)


# --- learners ------------------------------------------------------------------------------


def submissions_of(user_id: int, task_id: int) -> list[Submission]:
    return list(
        db.session.scalars(
            select(Submission)
            .where(Submission.user_id == user_id, Submission.task_id == task_id)
            .options(selectinload(Submission.files), selectinload(Submission.grades))
            .order_by(Submission.number)
        )
    )


def open_draft(user: User, task: DemonstrationTask) -> Submission:
    """The learner's draft for `task`, started when there is none. A draft after "needs work"
    starts from the evidence of the submission before it (files included)."""
    history = submissions_of(user.id, task.id)
    draft = next((s for s in history if s.status == "draft"), None)
    if draft is not None:
        return draft
    last = history[-1] if history else None
    if last is not None and last.status in WAITING:
        raise DemonstrationError("Your submission is waiting to be graded.")
    if last is not None and last.status == "proficient":
        raise DemonstrationError("This demonstration is already graded proficient.")
    if not is_active_learner(user, task):
        raise DemonstrationError("You are not enrolled in this programme any more.")
    draft = Submission(
        user_id=user.id,
        task_id=task.id,
        number=(last.number + 1) if last else 1,
        status="draft",
        answers=dict(last.answers) if last else {},
    )
    draft.task = task
    db.session.add(draft)
    if last is not None:
        for old in last.files:
            draft.files.append(
                EvidenceFile(
                    user_id=user.id,
                    evidence_id=old.evidence_id,
                    name=old.name,
                    stored_name=old.stored_name,
                    content_type=old.content_type,
                    size=old.size,
                    sha256=old.sha256,
                    uploaded_at=old.uploaded_at,
                )
            )
    db.session.flush()
    return draft


@dataclass
class Upload:
    evidence_id: str
    name: str
    content: bytes


@dataclass
class SaveReport:
    #: Problems by form field name ("ev-<evidence id>"), each a message for that field.
    problems: dict[str, list[str]] = field(default_factory=dict)
    stored: list[str] = field(default_factory=list)

    def add(self, evidence_id: str, message: str) -> None:
        self.problems.setdefault(f"ev-{evidence_id}", []).append(message)

    @property
    def ok(self) -> bool:
        return not self.problems


def _is_link(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in value


def words(text: str) -> int:
    return len(re.findall(r"\w+", text or ""))


def save(
    submission: Submission,
    values: dict[str, Any],
    uploads: list[Upload],
    remove_file_ids: list[int],
) -> SaveReport:
    """Keep what the learner entered. Every good value is kept even when another is refused;
    a refused file or link is reported by its field."""
    if submission.status != "draft":
        raise DemonstrationError("Only a draft can be changed.")
    report = SaveReport()
    answers = dict(submission.answers or {})
    for item in submission.task.evidence:
        key = item["id"]
        if key not in values:
            continue
        value = values[key]
        if item["kind"] == "checklist":
            ticked = sorted({int(v) for v in value if str(v).isdigit()})
            answers[key] = [i for i in ticked if 0 <= i < len(item["items"])]
        elif item["kind"] == "link":
            value = (value or "").strip()
            if value and not _is_link(value):
                report.add(key, "Give a full web address starting with https:// or http://.")
                continue
            answers[key] = value
        elif item["kind"] == "text":
            answers[key] = (value or "").strip()
    submission.answers = answers

    for file_row in list(submission.files):
        if file_row.id in remove_file_ids:
            submission.files.remove(file_row)
            db.session.delete(file_row)
            db.session.flush()
            files.remove_if_unused(file_row.stored_name)

    kinds = {item["id"]: item["kind"] for item in submission.task.evidence}
    if uploads:
        # One upload at a time per learner: two requests at once would each see the other's
        # files as unused quota. (PostgreSQL locks the row; SQLite has one writer anyway.)
        db.session.execute(
            select(User.id).where(User.id == submission.user_id).with_for_update()
        ).all()
    held = Counter(f.evidence_id for f in submission.files)
    pending = 0
    for upload in uploads:
        if kinds.get(upload.evidence_id) != "file":
            continue
        name = files.safe_name(upload.name)
        if held[upload.evidence_id] >= MAX_FILES_PER_ITEM:
            report.add(
                upload.evidence_id,
                f"“{name}” was not kept: a piece of evidence holds at most "
                f"{MAX_FILES_PER_ITEM} files. Remove some, or combine them into one.",
            )
            continue
        try:
            kind = files.check(name, upload.content, submission.user_id, pending)
        except files.UploadRefused as refused:
            report.add(upload.evidence_id, str(refused))
            continue
        stored, digest = files.store(upload.content, kind)
        pending += len(upload.content)
        held[upload.evidence_id] += 1
        submission.files.append(
            EvidenceFile(
                user_id=submission.user_id,
                evidence_id=upload.evidence_id,
                name=name,
                stored_name=stored,
                content_type=kind.content_type,
                size=len(upload.content),
                sha256=digest,
            )
        )
        report.stored.append(name)
    submission.updated_at = now_utc()
    db.session.flush()
    return report


def missing(submission: Submission) -> dict[str, str]:
    """What a submission still lacks before it can be sent, by evidence id."""
    gaps: dict[str, str] = {}
    answers = submission.answers or {}
    for item in submission.task.evidence:
        key, kind = item["id"], item["kind"]
        if not item.get("required", True):
            continue
        if kind == "checklist" and len(answers.get(key) or []) < len(item["items"]):
            gaps[key] = "Tick every statement of the checklist once it is true of your work."
        elif kind == "text":
            least = item.get("min_words") or 1
            if words(answers.get(key, "")) < least:
                gaps[key] = (
                    f"Write at least {least} words (you have {words(answers.get(key, ''))})."
                )
        elif kind == "link" and not answers.get(key):
            gaps[key] = "Give the link."
        elif kind == "file" and not any(f.evidence_id == key for f in submission.files):
            gaps[key] = "Upload at least one file."
    return gaps


def submit(submission: Submission) -> None:
    if not is_active_learner(submission.user, submission.task):
        # A withdrawn (or completed) enrolment keeps its draft, but nothing more is graded.
        raise DemonstrationError(
            "You are no longer enrolled in this programme, so this demonstration cannot be sent."
        )
    gaps = missing(submission)
    if gaps:
        raise DemonstrationError(
            f"{len(gaps)} piece(s) of evidence are missing; see the marked fields."
        )
    now = now_utc()
    # A conditional update: a double click or a second tab sends once.
    sent = db.session.execute(
        update(Submission)
        .where(Submission.id == submission.id, Submission.status == "draft")
        .values(status="submitted", submitted_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not sent:
        raise DemonstrationError("This submission was already sent.")
    db.session.refresh(submission)
    record("demonstration.submitted", target=submission, task=submission.task.slug)


# --- assessors -----------------------------------------------------------------------------


@dataclass
class QueueFilters:
    cohort_id: int | None = None
    stage_id: str | None = None
    programme_id: int | None = None
    #: Only submissions waiting at least this many working days.
    min_age: int | None = None
    #: "grading", "moderation" or None for both.
    waiting_for: str | None = None


def queue_statement(user: User, filters: QueueFilters) -> Select:
    """Submissions waiting for `user`: first grading, or moderation by someone other than the
    first assessor. Oldest first."""
    statement = (
        select(Submission)
        .join(DemonstrationTask, DemonstrationTask.id == Submission.task_id)
        .where(Submission.status.in_(WAITING), _assessable(user, filters.cohort_id))
        .options(
            selectinload(Submission.user),
            selectinload(Submission.task).selectinload(DemonstrationTask.programme),
            selectinload(Submission.task).selectinload(DemonstrationTask.stage),
            selectinload(Submission.grades),
        )
        .order_by(Submission.submitted_at, Submission.id)
    )
    first_by_me = exists().where(
        Grade.submission_id == Submission.id,
        Grade.kind == "first",
        Grade.superseded_at.is_(None),
        Grade.assessor_id == user.id,
    )
    # Nobody moderates their own grade; those stay out of their queue.
    statement = statement.where(or_(Submission.status == "submitted", ~first_by_me))
    statement = statement.where(Submission.user_id != user.id)
    if filters.waiting_for == "grading":
        statement = statement.where(Submission.status == "submitted")
    elif filters.waiting_for == "moderation":
        statement = statement.where(Submission.status == "moderation")
    if filters.stage_id:
        statement = statement.where(DemonstrationTask.stage_id == filters.stage_id)
    if filters.programme_id:
        statement = statement.where(DemonstrationTask.programme_id == filters.programme_id)
    if filters.min_age:
        statement = statement.where(Submission.submitted_at < submitted_before(filters.min_age))
    return statement


def submitted_before(min_age: int, today: date | None = None) -> datetime:
    """The moment before which a submission has waited at least `min_age` working days: the
    end of the latest local day from which `min_age` working days have passed by today."""
    org = organisation()
    today = today or local_date(now_utc(), org.time_zone)
    day = today
    while working_days(org, day, today) < min_age:
        day -= timedelta(days=1)
    return start_of_day(day + timedelta(days=1), org.time_zone)


def age_in_working_days(moment: datetime | None, today: date | None = None) -> int:
    if moment is None:
        return 0
    org = organisation()
    today = today or local_date(now_utc(), org.time_zone)
    return working_days(org, local_date(moment, org.time_zone), today)


def sla_days() -> int:
    return int(figure("grading-sla-working-days"))


def _grade_kind(submission: Submission, assessor: User) -> str:
    task = submission.task
    if submission.status == "draft":
        raise DemonstrationError("This submission has not been sent yet.")
    if not task.moderated:
        return "first"
    first = submission.first_grade
    if submission.status == "submitted" or first is None:
        return "first"
    if first.assessor_id == assessor.id:
        if submission.status == "moderation":
            return "first"  # the first assessor may revise before moderation
        raise DemonstrationError(
            "This grade was moderated; another assessor regrades it, not the first assessor."
        )
    if submission.status in FINAL:
        # A regrade of a moderated outcome is a new first grade: another assessor confirms it,
        # so no single person overrides what two agreed.
        return "first"
    return "moderation"


def grade(
    submission: Submission,
    assessor: User,
    levels: dict[str, int],
    comments: dict[str, str],
    feedback: str,
) -> Grade:
    """Grade (or regrade) against the task's rubric; the score follows from the levels. A final
    grade sets the submission's outcome, tells the learner and runs the stage engine."""
    task = submission.task
    kind = _grade_kind(submission, assessor)
    try:
        result = score(task.rubric, levels, task.proficient_at)
    except RubricError as problem:
        raise DemonstrationError(str(problem), field="levels") from problem
    now = now_utc()
    reopened = task.moderated and kind == "first" and submission.status in FINAL
    # Reopening a moderated outcome sets its moderation aside too: it has to be given again.
    replaced = [g for g in submission.current_grades if g.kind == kind or reopened]
    for old in replaced:
        old.superseded_at = now
    new = Grade(
        submission_id=submission.id,
        assessor_id=assessor.id,
        kind=kind,
        levels=dict(levels),
        comments={k: v.strip() for k, v in comments.items() if v and v.strip()},
        feedback=(feedback or "").strip(),
        points=result.points,
        max_points=result.max_points,
        proficient=result.proficient,
        rubric=task.rubric,
        proficient_at=task.proficient_at,
        created_at=now,
    )
    submission.grades.append(new)
    final = kind == "moderation" or not task.moderated
    if final:
        submission.status = "proficient" if result.proficient else "needs-work"
        submission.graded_at = now
    else:
        submission.status = "moderation"
    submission.updated_at = now
    db.session.flush()
    record(
        "demonstration.regraded" if replaced else "demonstration.graded",
        target=submission,
        kind=kind,
        points=result.points,
        max_points=result.max_points,
        proficient=result.proficient,
    )
    if final:
        after_graded_event(submission.user_id, task.programme_id)
        _tell_learner(submission, new)
    return new


def _tell_learner(submission: Submission, final: Grade) -> None:
    outcome = "proficient" if final.proficient else "needs more work"
    # The configured address, as in every other mail: not the request's Host header, and it
    # works outside a request too.
    path = (
        url_for("demonstrations.submission", submission_id=submission.id)
        if has_request_context()
        else current_app.url_map.bind("localhost").build(
            "demonstrations.submission", {"submission_id": submission.id}
        )
    )
    link = current_app.config["LMS_BASE_URL"].rstrip("/") + path
    queue_mail(
        submission.user.email,
        f"Your demonstration “{submission.task.title}” is graded",
        f"Hello {submission.user.name},\n\n"
        f"Your demonstration “{submission.task.title}” was graded {outcome}: "
        f"{final.points} of {final.max_points} points.\n\n"
        + ("" if final.proficient else f"Why: {final.verdict.removeprefix('needs work: ')}.\n\n")
        + f"Read the feedback for each criterion: {link}\n",
        user_id=submission.user_id,
    )


def name_assessor(cohort: Cohort, user: User) -> CohortAssessor:
    if cohort.manager_id == user.id:
        raise DemonstrationError(
            f"{user.name} manages this cohort and grades its work already.", field="email"
        )
    existing = db.session.scalar(
        select(CohortAssessor).where(
            CohortAssessor.cohort_id == cohort.id, CohortAssessor.user_id == user.id
        )
    )
    if existing is not None:
        raise DemonstrationError(f"{user.name} already assesses {cohort.name}.", field="email")
    row = CohortAssessor(cohort_id=cohort.id, user_id=user.id)
    db.session.add(row)
    record("cohort.assessor-named", target=cohort, assessor=user.email)
    return row


def remove_assessor(row: CohortAssessor) -> None:
    record("cohort.assessor-removed", target=row.cohort, assessor=row.user.email)
    db.session.delete(row)


def waiting_summary(user: User) -> dict[str, int]:
    """For the home page: how many wait for `user`, and how many are past the grading target
    (more than `grading-sla-working-days` working days), in one scan of the queue."""
    sla = sla_days()
    waiting = queue_statement(user, QueueFilters()).order_by(None).options().subquery()
    late = waiting.c.submitted_at < submitted_before(sla + 1)
    total, past = db.session.execute(
        select(func.count(), func.coalesce(func.sum(case((late, 1), else_=0)), 0)).select_from(
            waiting
        )
    ).one()
    return {"waiting": total, "late": int(past), "sla": sla}
