"""How each model holding personal data is exported and erased.

Learning records (enrolments, later attempts and grades) are the organisation's records about
the person: they are exported, and on erasure kept but anonymised through the user row, so
cohort figures stay true while nothing identifies the person any more.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update

from lms.accounts.models import AuthToken, User
from lms.audit.models import AuditEvent
from lms.core.timeutil import now_utc
from lms.extensions import db
from lms.mail.models import OutboxMessage
from lms.organisation.models import Cohort, Enrolment
from lms.privacy import register


def _rows(statement: Any, *columns: str) -> list[dict[str, Any]]:
    return [
        {column: getattr(row, column) for column in columns}
        for row in db.session.scalars(statement)
    ]


def _export_user(user: User) -> list[dict[str, Any]]:
    return [
        {
            "email": user.email,
            "name": user.name,
            "roles": sorted(user.role_names),
            "team": user.team.name if user.team else None,
            "time_zone": user.time_zone,
            "external_id": user.external_id,
            "active": user.active,
            "created_at": user.created_at,
            "last_login_at": user.last_login_at,
        }
    ]


def _erase_user(user: User) -> None:
    user.email = f"erased-user-{user.id}@erased.invalid"
    user.name = f"Erased user {user.id}"
    user.password_hash = None
    user.external_id = None
    user.time_zone = None
    user.active = False
    user.erased_at = now_utc()
    user.rotate_session_token()


register(
    User,
    export=_export_user,
    erase=_erase_user,
    policy="Name, e-mail, password and platform id are replaced; the row stays so that "
    "learning records remain counted, anonymised.",
)

register(
    AuthToken,
    export=lambda user: _rows(
        select(AuthToken).where(AuthToken.user_id == user.id),
        "purpose",
        "created_at",
        "expires_at",
        "used_at",
    ),
    erase=lambda user: db.session.execute(delete(AuthToken).where(AuthToken.user_id == user.id)),
    policy="Invitation and reset links are deleted.",
)

register(
    OutboxMessage,
    export=lambda user: _rows(
        select(OutboxMessage).where(OutboxMessage.user_id == user.id),
        "created_at",
        "to_address",
        "subject",
        "sent_at",
    ),
    erase=lambda user: db.session.execute(
        delete(OutboxMessage).where(
            (OutboxMessage.user_id == user.id) | (OutboxMessage.to_address == user.email)
        )
    ),
    policy="E-mails sent to the person are deleted.",
)

register(
    AuditEvent,
    export=lambda user: _rows(
        select(AuditEvent).where(AuditEvent.actor_id == user.id).order_by(AuditEvent.id),
        "created_at",
        "action",
        "target_type",
        "target_id",
        "reason",
    ),
    erase=lambda user: db.session.execute(
        update(AuditEvent).where(AuditEvent.actor_id == user.id).values(ip_address=None)
    ),
    policy="Audit events are kept (accountability) with IP addresses removed; they point to "
    "the anonymised user.",
)

register(
    Cohort,
    export=lambda user: _rows(
        select(Cohort).where(Cohort.manager_id == user.id), "name", "start_date", "due_date"
    ),
    erase=lambda user: None,
    policy="Cohorts the person managed belong to the organisation and are kept.",
)

register(
    Enrolment,
    export=lambda user: [
        {
            "programme": enrolment.programme.title,
            "cohort": enrolment.cohort.name,
            "start_date": enrolment.start_date,
            "status": enrolment.status,
            "withdrawn_at": enrolment.withdrawn_at,
        }
        for enrolment in db.session.scalars(
            select(Enrolment).where(Enrolment.user_id == user.id).order_by(Enrolment.id)
        )
    ],
    erase=lambda user: None,
    policy="Enrolments are kept, anonymised through the user record, so cohort figures stay true.",
)


# --- learning records -----------------------------------------------------------------------
# Progress, attempts and stage history are the organisation's learning records: exported in
# full, kept on erasure (anonymised through the user row). Who granted or paused something is
# the manager's accountability record, kept likewise.

from lms.assessments.models import Attempt, ExtraTime  # noqa: E402
from lms.learning.models import ModuleCompletion, ObjectiveCredit, SectionProgress  # noqa: E402
from lms.stages.models import ClockPause, Exemption, WindowExtension  # noqa: E402

_KEPT = "Kept, anonymised through the user record, so cohort figures stay true."

register(
    SectionProgress,
    export=lambda user: _rows(
        select(SectionProgress).where(SectionProgress.user_id == user.id),
        "section_id",
        "completed_at",
    ),
    erase=lambda user: None,
    policy=_KEPT,
)
register(
    ModuleCompletion,
    export=lambda user: _rows(
        select(ModuleCompletion).where(ModuleCompletion.user_id == user.id),
        "module_id",
        "completed_at",
        "self_attested",
    ),
    erase=lambda user: None,
    policy=_KEPT,
)
register(
    ObjectiveCredit,
    export=lambda user: _rows(
        select(ObjectiveCredit).where(ObjectiveCredit.user_id == user.id),
        "objective_id",
        "source_objective_id",
        "equivalence",
        "credited_at",
    ),
    erase=lambda user: None,
    policy=_KEPT,
)
register(
    Attempt,
    export=lambda user: [
        {
            "assessment": attempt.assessment.title,
            "number": attempt.number,
            "status": attempt.status,
            "started_at": attempt.started_at,
            "submitted_at": attempt.submitted_at,
            "score": attempt.score,
            "max_score": attempt.max_score,
            "passed": attempt.passed,
            "answers": [
                {
                    "question": item.snapshot.get("prompt"),
                    "answer": item.answer,
                    # Not for feedback `never` (pre/post): credit beside the answer is the key.
                    **({} if attempt.assessment.feedback == "never" else {"credit": item.credit}),
                }
                for item in attempt.items
            ],
        }
        for attempt in db.session.scalars(
            select(Attempt).where(Attempt.user_id == user.id).order_by(Attempt.id)
        )
    ],
    erase=lambda user: None,
    policy=_KEPT,
)
register(
    ExtraTime,
    export=lambda user: _rows(
        select(ExtraTime).where(ExtraTime.user_id == user.id),
        "assessment_id",
        "minutes",
        "reason",
        "created_at",
    ),
    erase=lambda user: None,
    policy=_KEPT,
)
for _model in (ClockPause, WindowExtension, Exemption):
    register(
        _model,
        export=lambda user, model=_model: _rows(
            select(model).where(model.created_by_id == user.id), "enrolment_id", "reason"
        ),
        erase=lambda user: None,
        policy="Actions a manager took on an enrolment: kept for accountability; the learner's "
        "side is exported with their enrolments.",
    )


# --- platform usage and API tokens ----------------------------------------------------------
from lms.adoption.models import HeldUsage, ImportJob, UsageEvent, XapiStatement  # noqa: E402
from lms.api.models import ApiToken  # noqa: E402

register(
    UsageEvent,
    export=lambda user: [
        {
            "feature": event.feature_id,
            "occurred_at": event.occurred_at,
            "count": event.count,
            "source": event.source,
        }
        for event in db.session.scalars(
            select(UsageEvent).where(UsageEvent.user_id == user.id).order_by(UsageEvent.id)
        )
    ],
    erase=lambda user: None,
    policy="Platform usage is kept, anonymised through the user record, so adoption figures "
    "stay true.",
)
register(
    HeldUsage,
    export=lambda user: _rows(
        select(HeldUsage).where(HeldUsage.user_id == user.id),
        "feature_name",
        "occurred_at",
        "count",
        "source",
    ),
    erase=lambda user: db.session.execute(delete(HeldUsage).where(HeldUsage.user_id == user.id)),
    policy="Usage rows held for an unmapped feature name are deleted.",
)
register(
    XapiStatement,
    export=lambda user: [
        row.statement
        for row in db.session.scalars(select(XapiStatement).where(XapiStatement.user_id == user.id))
    ],
    erase=lambda user: db.session.execute(
        delete(XapiStatement).where(XapiStatement.user_id == user.id)
    ),
    policy="Stored xAPI statements about the person (they carry their e-mail address) are "
    "deleted; the usage they reported stays, anonymised.",
)
register(
    ApiToken,
    export=lambda user: _rows(
        select(ApiToken).where(ApiToken.owner_id == user.id),
        "name",
        "kind",
        "key",
        "scopes",
        "created_at",
        "revoked_at",
    ),
    erase=lambda user: db.session.execute(
        update(ApiToken)
        .where(ApiToken.owner_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now_utc())
    ),
    policy="The person's tokens are revoked and kept as a record of what they made.",
)
register(
    ImportJob,
    export=lambda user: _rows(
        select(ImportJob).where(ImportJob.created_by_id == user.id),
        "filename",
        "status",
        "created_at",
    ),
    erase=lambda user: None,
    policy="Imports the person ran are kept as the organisation's record of where data came from.",
)


# --- business records and recognition -------------------------------------------------------
from lms.adoption.records import (  # noqa: E402
    CampaignLog,
    Endorsement,
    IntegrationCheckpoint,
    ProcessStepChange,
)

for _model, _column in (
    (ProcessStepChange, "recorded_by_id"),
    (CampaignLog, "recorded_by_id"),
    (IntegrationCheckpoint, "updated_by_id"),
):
    register(
        _model,
        export=lambda user, model=_model, column=_column: _rows(
            select(model).where(getattr(model, column) == user.id), "id"
        ),
        erase=lambda user: None,
        policy="The team's business records: kept; who recorded them points to the "
        "anonymised user.",
    )

register(
    Endorsement,
    export=lambda user: _rows(
        select(Endorsement).where(
            (Endorsement.endorser_id == user.id) | (Endorsement.endorsee_id == user.id)
        ),
        "endorser_id",
        "endorsee_id",
        "note",
        "created_at",
    ),
    erase=lambda user: db.session.execute(
        update(Endorsement)
        .where((Endorsement.endorser_id == user.id) | (Endorsement.endorsee_id == user.id))
        .values(note="(erased)")
    ),
    policy="Endorsements given or received are kept for peer-recognition counts, with their "
    "words erased.",
)


# Demonstrations and certificates.

from lms.certificates.models import Certificate  # noqa: E402
from lms.demonstrations import files as evidence_files  # noqa: E402
from lms.demonstrations.models import (  # noqa: E402
    CohortAssessor,
    EvidenceFile,
    Grade,
    Submission,
)


def _export_submissions(user: Any) -> list[dict[str, Any]]:
    return [
        {
            "task": submission.task.title,
            "number": submission.number,
            "status": submission.status,
            "answers": submission.answers,
            "created_at": submission.created_at,
            "submitted_at": submission.submitted_at,
            "graded_at": submission.graded_at,
            "grades": [
                {
                    "kind": grade.kind,
                    "points": grade.points,
                    "max_points": grade.max_points,
                    "proficient": grade.proficient,
                    "feedback": grade.feedback,
                    "comments": grade.comments,
                    "graded_at": grade.created_at,
                    "replaced_at": grade.superseded_at,
                }
                for grade in submission.grades
            ],
        }
        for submission in db.session.scalars(
            select(Submission).where(Submission.user_id == user.id).order_by(Submission.id)
        )
    ]


def _erase_submissions(user: Any) -> None:
    # What the person wrote goes; the outcome (status, points) stays for the cohort's figures.
    db.session.execute(update(Submission).where(Submission.user_id == user.id).values(answers={}))


def _erase_files(user: Any) -> None:
    stored = set(
        db.session.scalars(select(EvidenceFile.stored_name).where(EvidenceFile.user_id == user.id))
    )
    db.session.execute(delete(EvidenceFile).where(EvidenceFile.user_id == user.id))
    db.session.flush()
    for name in stored:
        evidence_files.remove_if_unused(name)


def _erase_grades(user: Any) -> None:
    # Feedback written about the person goes; points stay. Grades the person gave stay,
    # anonymised through their user row.
    own = select(Submission.id).where(Submission.user_id == user.id)
    db.session.execute(
        update(Grade).where(Grade.submission_id.in_(own)).values(feedback="", comments={})
    )


def _erase_certificates(user: Any) -> None:
    now = now_utc()
    for certificate in db.session.scalars(
        select(Certificate).where(Certificate.user_id == user.id)
    ):
        certificate.holder_name = f"Erased user {user.id}"
        if certificate.revoked_at is None:
            certificate.revoked_at = now
            certificate.revoked_reason = "The holder's personal data was erased."


register(
    Submission,
    export=_export_submissions,
    erase=_erase_submissions,
    policy="Answers written for demonstrations are deleted; status and points are kept, "
    "anonymised through the user record, so cohort figures stay true.",
)
register(
    EvidenceFile,
    export=lambda user: _rows(
        select(EvidenceFile).where(EvidenceFile.user_id == user.id).order_by(EvidenceFile.id),
        "name",
        "content_type",
        "size",
        "uploaded_at",
    ),
    erase=_erase_files,
    policy="Uploaded evidence files are deleted, from the database and from storage.",
)
register(
    Grade,
    export=lambda user: [
        {"submission": grade.submission_id, "kind": grade.kind, "graded_at": grade.created_at}
        for grade in db.session.scalars(
            select(Grade).where(Grade.assessor_id == user.id).order_by(Grade.id)
        )
    ],
    erase=_erase_grades,
    policy="Feedback about the person is deleted and points kept; grades the person gave as "
    "an assessor are kept, anonymised through the user record.",
)
register(
    Certificate,
    export=lambda user: _rows(
        select(Certificate).where(Certificate.user_id == user.id).order_by(Certificate.id),
        "code",
        "programme_title",
        "stage_name",
        "programme_version",
        "issued_at",
        "expires_at",
        "revoked_at",
    ),
    erase=_erase_certificates,
    policy="The name on each certificate is replaced and the certificate revoked, so its "
    "verification page no longer confirms anyone.",
)
register(
    CohortAssessor,
    export=lambda user: [
        {"cohort": row.cohort.name, "since": row.added_at}
        for row in db.session.scalars(
            select(CohortAssessor).where(CohortAssessor.user_id == user.id)
        )
    ],
    erase=lambda user: db.session.execute(
        delete(CohortAssessor).where(CohortAssessor.user_id == user.id)
    ),
    policy="The person stops being an assessor of any cohort.",
)


# --- reports ---------------------------------------------------------------------------------
from lms.reports.models import ReportJob  # noqa: E402

register(
    ReportJob,
    export=lambda user: _rows(
        select(ReportJob).where(ReportJob.created_by_id == user.id),
        "kind",
        "as_of",
        "status",
        "created_at",
    ),
    erase=lambda user: db.session.execute(
        delete(ReportJob).where(ReportJob.created_by_id == user.id)
    ),
    policy="Reports the person asked for hold only the organisation's aggregates: deleted, "
    "since any report can be built again.",
)


# --- content reports -------------------------------------------------------------------------
from lms.feedback.models import ContentReport  # noqa: E402


def _export_content_reports(user: Any) -> list[dict[str, Any]]:
    made = [
        {
            "kind": report.kind,
            "content": report.content_slug,
            "programme_version": report.programme_version,
            "question_version": report.question_version,
            "comment": report.comment,
            "status": report.status,
            "reported_at": report.created_at,
            "closed_at": report.closed_at,
            "what_was_done": report.resolution,
        }
        for report in db.session.scalars(
            select(ContentReport).where(ContentReport.user_id == user.id).order_by(ContentReport.id)
        )
    ]
    closed = [
        {"closed_report": report_id, "closed_at": closed_at}
        for report_id, closed_at in db.session.execute(
            select(ContentReport.id, ContentReport.closed_at)
            .where(ContentReport.closed_by_id == user.id)
            .order_by(ContentReport.id)
        )
    ]
    return made + closed


register(
    ContentReport,
    export=_export_content_reports,
    erase=lambda user: db.session.execute(
        update(ContentReport).where(ContentReport.user_id == user.id).values(comment="(erased)")
    ),
    policy="Reports the person made about content are kept, so the content's history of problems "
    "and fixes stays, with their words erased; reports the person closed keep the note of what "
    "was done, anonymised through the user record.",
)
