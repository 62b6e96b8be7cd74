"""Imports every model so SQLAlchemy's metadata (and Alembic's autogenerate) sees them all."""

from lms.accounts.models import AuthToken, Role, User, user_roles
from lms.adoption.models import (
    Feature,
    FeatureAlias,
    HeldUsage,
    ImportJob,
    Platform,
    UsageEvent,
    XapiStatement,
    feature_modules,
)
from lms.adoption.records import (
    CampaignLog,
    Endorsement,
    IntegrationCheckpoint,
    MetricBaseline,
    MetricSnapshot,
    ProcessStep,
    ProcessStepChange,
)
from lms.api.models import ApiToken
from lms.assessments.models import (
    Assessment,
    Attempt,
    AttemptItem,
    ExtraTime,
    Question,
    QuestionVersion,
)
from lms.audit.models import AuditEvent
from lms.certificates.models import Certificate
from lms.curricula.models import (
    ContentVersion,
    FrameworkDocument,
    LessonSection,
    Module,
    Objective,
    Programme,
    Stage,
)
from lms.demonstrations.models import (
    CohortAssessor,
    DemonstrationTask,
    EvidenceFile,
    Grade,
    Submission,
)
from lms.feedback.models import ContentReport
from lms.learning.models import ModuleCompletion, SectionProgress
from lms.mail.models import OutboxMessage
from lms.organisation.models import (
    Cohort,
    Enrolment,
    Holiday,
    Organisation,
    OrgUnit,
    cohort_programmes,
)
from lms.reports.models import ReportJob
from lms.stages.models import (
    ClockHold,
    ClockPause,
    Exemption,
    StagePromotion,
    WindowExtension,
)

__all__ = [
    "Certificate",
    "CohortAssessor",
    "ContentReport",
    "DemonstrationTask",
    "EvidenceFile",
    "Grade",
    "Submission",
    "ApiToken",
    "CampaignLog",
    "Endorsement",
    "HeldUsage",
    "ImportJob",
    "IntegrationCheckpoint",
    "MetricBaseline",
    "MetricSnapshot",
    "ProcessStep",
    "ProcessStepChange",
    "UsageEvent",
    "XapiStatement",
    "Feature",
    "FeatureAlias",
    "Platform",
    "feature_modules",
    "Assessment",
    "Attempt",
    "AttemptItem",
    "ClockHold",
    "ClockPause",
    "Exemption",
    "ExtraTime",
    "LessonSection",
    "ModuleCompletion",
    "Question",
    "QuestionVersion",
    "SectionProgress",
    "StagePromotion",
    "WindowExtension",
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
    "ReportJob",
    "Role",
    "Stage",
    "User",
    "cohort_programmes",
    "user_roles",
]
