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
from lms.learning.models import ModuleCompletion, SectionProgress  # noqa: E402
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
                    "credit": item.credit,
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
