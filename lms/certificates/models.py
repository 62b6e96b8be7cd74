"""A certificate: one enrolment's passed stage, with the evidence behind it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.timeutil import as_utc, now_utc
from lms.extensions import db


class Certificate(db.Model):
    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Public verification code (random, unguessable), shown on the certificate.
    code: Mapped[str] = mapped_column(String(24), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), index=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    #: The stage passed.
    stage_id: Mapped[str] = mapped_column(ForeignKey("stages.id"))
    #: The programme version the gate was met under; its major number decides expiry.
    programme_version: Mapped[str] = mapped_column(String(20))
    #: As printed: kept so a certificate reads the same after renames.
    holder_name: Mapped[str] = mapped_column(String(120), info={"personal": True})
    programme_title: Mapped[str] = mapped_column(String(200))
    stage_name: Mapped[str] = mapped_column(String(80))
    issued_at: Mapped[datetime] = mapped_column(default=now_utc)
    #: The gate's requirements and how each was met (from the promotion).
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    promotion_id: Mapped[int | None] = mapped_column(ForeignKey("stage_promotions.id"))
    #: Set when the programme's major version changes: re-certify before this moment.
    expires_at: Mapped[datetime | None]
    #: The certificate that replaced this one after re-certification.
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"))
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    user = relationship("User", foreign_keys=[user_id])
    programme = relationship("Programme")
    stage = relationship("Stage")
    enrolment = relationship("Enrolment")

    @property
    def completes_programme(self) -> bool:
        """The last stage's certificate: the programme was completed, not a stage left."""
        return self.stage_id == "partnership"

    def state(self, now: datetime) -> str:
        """valid, revoked or expired."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and as_utc(self.expires_at) <= now:
            return "expired"
        return "valid"
