"""Imports every model so SQLAlchemy's metadata (and Alembic's autogenerate) sees them all."""

from lms.accounts.models import AuthToken, Role, User, user_roles
from lms.audit.models import AuditEvent
from lms.curricula.models import (
    ContentVersion,
    FrameworkDocument,
    Module,
    Objective,
    Programme,
    Stage,
)
from lms.mail.models import OutboxMessage
from lms.organisation.models import (
    Cohort,
    Enrolment,
    Holiday,
    Organisation,
    OrgUnit,
    cohort_programmes,
)

__all__ = [
    "AuditEvent",
    "AuthToken",
    "Cohort",
    "ContentVersion",
    "Enrolment",
    "FrameworkDocument",
    "Holiday",
    "Module",
    "Objective",
    "OrgUnit",
    "Organisation",
    "OutboxMessage",
    "Programme",
    "Role",
    "Stage",
    "User",
    "cohort_programmes",
    "user_roles",
]
