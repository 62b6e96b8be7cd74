"""Certificates after issue: lookup by code, expiry on a new major version, revocation."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from lms.accounts.models import User
from lms.audit.operations import record
from lms.certificates.issuing import normalise_code
from lms.certificates.models import Certificate
from lms.core.timeutil import now_utc
from lms.curricula.models import Programme
from lms.extensions import db
from lms.figures import figure
from lms.organisation.models import Cohort, Enrolment


def by_code(code: str) -> Certificate | None:
    return db.session.scalar(select(Certificate).where(Certificate.code == normalise_code(code)))


def expire_for_new_major(programme: Programme) -> int:
    """Give every valid certificate issued under an earlier major version of `programme` an
    expiry date, `recertification-grace-days` from now; re-certification replaces them."""
    major = programme.version.split(".")[0]
    deadline = now_utc() + timedelta(days=int(figure("recertification-grace-days")))
    count = 0
    for certificate in db.session.scalars(
        select(Certificate).where(
            Certificate.programme_id == programme.id,
            Certificate.revoked_at.is_(None),
            Certificate.expires_at.is_(None),
        )
    ):
        if certificate.programme_version.split(".")[0] != major:
            certificate.expires_at = deadline
            count += 1
    if count:
        record(
            "certificates.expiring",
            target=programme,
            version=programme.version,
            certificates=count,
            expires_at=deadline.isoformat(),
        )
    return count


class RevokeError(ValueError):
    pass


def revoke(certificate: Certificate, by: User, reason: str) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise RevokeError("Give the reason for revoking this certificate.")
    if certificate.revoked_at is not None:
        raise RevokeError("This certificate is already revoked.")
    certificate.revoked_at = now_utc()
    certificate.revoked_reason = reason
    certificate.revoked_by_id = by.id
    record("certificate.revoked", target=certificate, reason=reason, code=certificate.code)


def may_view(user: User, certificate: Certificate) -> bool:
    """The holder, admins, and the manager of a cohort the holder's enrolment belongs to."""
    if user.id == certificate.user_id or user.has_role("admin"):
        return True
    if not user.has_role("manager"):
        return False
    return (
        db.session.scalar(
            select(Cohort.id)
            .join(Enrolment, Enrolment.cohort_id == Cohort.id)
            .where(Enrolment.id == certificate.enrolment_id, Cohort.manager_id == user.id)
        )
        is not None
    )
