"""Reporting content that looks wrong, and closing reports: the rules, whoever calls them.

A learner reports a lesson section they can read, or a question from their own attempt once it
is submitted (so a report cannot fish for keys, and it names the version they were shown). One
open report per learner and piece of content; closing needs a note of what was done, and is
audited. The caller owns the commit.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from lms.accounts.models import User
from lms.assessments.models import Assessment, AttemptItem, Question, QuestionVersion
from lms.audit.operations import record
from lms.core.timeutil import now_utc
from lms.curricula.models import LessonSection, Module, Programme
from lms.extensions import db
from lms.feedback.models import ContentReport

#: Long enough to say what is wrong, short enough to read in the queue.
COMMENT_MIN = 10
COMMENT_MAX = 2000
NOTE_MIN = 5
NOTE_MAX = 2000


class ReportRefused(ValueError):
    """Something the person cannot do, in words for them."""


def _comment(text: str, least: int, most: int, what: str) -> str:
    cleaned = (text or "").strip()
    if len(cleaned) < least:
        raise ReportRefused(f"Write at least {least} characters in the {what}.")
    if len(cleaned) > most:
        raise ReportRefused(f"Keep the {what} to {most} characters (it has {len(cleaned)}).")
    return cleaned


def _open_report(user_id: int, target: str) -> ContentReport | None:
    return db.session.scalar(
        select(ContentReport).where(
            ContentReport.user_id == user_id,
            ContentReport.target == target,
            ContentReport.status == "open",
        )
    )


def _add(report: ContentReport) -> ContentReport:
    if _open_report(report.user_id, report.target) is not None:
        raise ReportRefused("You have already reported this; it is still open.")
    # The partial unique index settles two requests at once: the second one is refused.
    try:
        with db.session.begin_nested():
            db.session.add(report)
    except IntegrityError as clash:
        raise ReportRefused("You have already reported this; it is still open.") from clash
    return report


def report_section(user: User, section: LessonSection, comment: str) -> ContentReport:
    """`user` reports that `section` looks wrong."""
    module: Module = section.module
    programme: Programme = module.programme
    return _add(
        ContentReport(
            user_id=user.id,
            kind="section",
            target=f"section:{section.id}",
            programme_id=programme.id,
            programme_version=programme.version,
            module_id=module.id,
            section_id=section.id,
            content_slug=section.slug,
            comment=_comment(comment, COMMENT_MIN, COMMENT_MAX, "comment"),
        )
    )


def may_report_item(user: User, item: AttemptItem) -> bool:
    """Only the learner who answered it, and only once the attempt is graded."""
    attempt = item.attempt
    return attempt.user_id == user.id and attempt.status != "in-progress"


def report_question(user: User, item: AttemptItem, comment: str) -> ContentReport:
    """`user` reports that the question of their attempt item `item` looks wrong."""
    if not may_report_item(user, item):
        raise ReportRefused("You can report a question of your own attempt once it is submitted.")
    version: QuestionVersion = item.question_version
    question: Question = version.question
    assessment: Assessment = question.assessment
    return _add(
        ContentReport(
            user_id=user.id,
            kind="question",
            target=f"question:{question.id}",
            programme_id=assessment.programme_id,
            programme_version=assessment.programme.version,
            module_id=assessment.module_id,
            question_id=question.id,
            attempt_item_id=item.id,
            question_version=version.number,
            content_slug=question.slug,
            comment=_comment(comment, COMMENT_MIN, COMMENT_MAX, "comment"),
        )
    )


def close(report: ContentReport, admin: User, note: str) -> ContentReport:
    """Close `report` with a note of what was done; the learner reads the note."""
    if not admin.has_role("admin"):
        raise ReportRefused("Only an administrator closes content reports.")
    if not report.is_open:
        raise ReportRefused("This report is already closed.")
    report.resolution = _comment(note, NOTE_MIN, NOTE_MAX, "note")
    report.status = "closed"
    report.closed_at = now_utc()
    report.closed_by_id = admin.id
    db.session.flush()
    record(
        "content-report.closed",
        target=report,
        actor=admin,
        reason=report.resolution[:500],
        content=f"{report.kind} {report.content_slug}",
        reported_by=report.user_id,
    )
    return report


# --- what pages show ----------------------------------------------------------------------------


def latest_by_target(user_id: int, targets: list[str]) -> dict[str, ContentReport]:
    """The learner's latest report on each of `targets`, in one query."""
    if not targets:
        return {}
    latest: dict[str, ContentReport] = {}
    for report in db.session.scalars(
        select(ContentReport)
        .where(ContentReport.user_id == user_id, ContentReport.target.in_(targets))
        .order_by(ContentReport.created_at, ContentReport.id)
    ):
        latest[report.target] = report
    return latest


def section_reports(user_id: int, sections: list[LessonSection]) -> dict[int, ContentReport]:
    """By section id: the learner's latest report on each section of a module page."""
    found = latest_by_target(user_id, [f"section:{s.id}" for s in sections])
    return {s.id: found[f"section:{s.id}"] for s in sections if f"section:{s.id}" in found}


def item_reports(user_id: int, items: list[AttemptItem]) -> dict[int, ContentReport]:
    """By attempt item id: the learner's latest report on each item's question."""
    if not items:
        return {}
    # One query for the questions behind the items, rather than one per item.
    question_by_version = dict(
        db.session.execute(
            select(QuestionVersion.id, QuestionVersion.question_id).where(
                QuestionVersion.id.in_({item.question_version_id for item in items})
            )
        ).all()
    )
    question_of = {item.id: question_by_version[item.question_version_id] for item in items}
    found = latest_by_target(user_id, [f"question:{q}" for q in question_of.values()])
    return {
        item_id: found[f"question:{question_id}"]
        for item_id, question_id in question_of.items()
        if f"question:{question_id}" in found
    }


@dataclass(frozen=True)
class QueueFilter:
    #: "open" or "closed".
    status: str = "open"


def queue_statement(filters: QueueFilter) -> Select:
    """Reports for the admins' queue, oldest open first (or newest closed first), with what
    the queue shows loaded alongside, so the page's queries do not grow with its rows."""
    statement = select(ContentReport).options(
        selectinload(ContentReport.user),
        selectinload(ContentReport.closed_by),
        selectinload(ContentReport.programme),
        selectinload(ContentReport.module),
        selectinload(ContentReport.section),
        selectinload(ContentReport.question).selectinload(Question.assessment),
        selectinload(ContentReport.attempt_item),
    )
    if filters.status == "closed":
        return statement.where(ContentReport.status == "closed").order_by(
            ContentReport.closed_at.desc(), ContentReport.id.desc()
        )
    return statement.where(ContentReport.status == "open").order_by(
        ContentReport.created_at, ContentReport.id
    )
