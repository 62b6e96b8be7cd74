"""Issuing certificates: one per stage promotion, and again on re-certification. Imported by
the stage engine, so it depends on models only."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import select

from lms.accounts.models import User
from lms.audit.operations import record
from lms.certificates.models import Certificate
from lms.core.timeutil import now_utc
from lms.curricula.models import Programme, Stage
from lms.extensions import db
from lms.organisation.models import Enrolment
from lms.stages.models import StagePromotion

#: The stage that is never left: its certificate is the programme's, earned by its completion
#: list (see `lms.curricula.schema.Programme.completion`).
LAST_STAGE = "partnership"

#: Crockford's base-32 alphabet: no I, L, O or U to misread when a code is typed from paper.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_code() -> str:
    """80 random bits as XXXX-XXXX-XXXX-XXXX."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(16))
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def normalise_code(text: str) -> str:
    """What a person typed, as stored: upper case, hyphens where they belong, O read as 0."""
    raw = "".join(ch for ch in text.upper() if ch.isalnum())
    raw = raw.translate(str.maketrans({"O": "0", "I": "1", "L": "1"}))
    if len(raw) != 16:
        return text
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def _context(enrolment_ids: Iterable[int]) -> tuple[dict, dict, dict, dict]:
    ids = set(enrolment_ids)
    enrolments = {
        e.id: e for e in db.session.scalars(select(Enrolment).where(Enrolment.id.in_(ids)))
    }
    users = {
        u.id: u
        for u in db.session.scalars(
            select(User).where(User.id.in_({e.user_id for e in enrolments.values()}))
        )
    }
    programmes = {
        p.id: p
        for p in db.session.scalars(
            select(Programme).where(Programme.id.in_({e.programme_id for e in enrolments.values()}))
        )
    }
    stages = {s.id: s for s in db.session.scalars(select(Stage))}
    return enrolments, users, programmes, stages


def _certificate(
    enrolment: Enrolment,
    user: User,
    programme: Programme,
    stage: Stage,
    evidence: list[dict[str, Any]],
    promotion_id: int | None,
) -> Certificate:
    return Certificate(
        code=new_code(),
        user_id=enrolment.user_id,
        enrolment_id=enrolment.id,
        programme_id=programme.id,
        stage_id=stage.id,
        programme_version=programme.version,
        holder_name=user.name,
        programme_title=programme.title,
        stage_name=stage.name,
        issued_at=now_utc(),
        evidence=evidence,
        promotion_id=promotion_id,
    )


def issue_for_promotions(promotions: list[StagePromotion]) -> list[Certificate]:
    """A certificate for the stage each promotion leaves. The caller flushes and commits."""
    if not promotions:
        return []
    db.session.flush()  # promotion ids
    enrolments, users, programmes, stages = _context(p.enrolment_id for p in promotions)
    issued = []
    for promotion in promotions:
        enrolment = enrolments[promotion.enrolment_id]
        certificate = _certificate(
            enrolment,
            users[enrolment.user_id],
            programmes[enrolment.programme_id],
            stages[promotion.from_stage_id],
            promotion.evidence,
            promotion.id,
        )
        if promotion.promoted_at is not None:
            certificate.issued_at = promotion.promoted_at
        issued.append(certificate)
    db.session.add_all(issued)
    return issued


def issue_for_completions(
    completed: list[tuple[Enrolment, list[dict[str, Any]]]],
) -> list[Certificate]:
    """The programme certificate for each enrolment whose completion list is met, once: an
    enrolment that holds one (valid or expired, not revoked) gets no second. The certificate is
    the last stage's, with the completion list as its evidence."""
    if not completed:
        return []
    holding = set(
        db.session.scalars(
            select(Certificate.enrolment_id).where(
                Certificate.enrolment_id.in_([e.id for e, _ in completed]),
                Certificate.stage_id == LAST_STAGE,
                Certificate.revoked_at.is_(None),
            )
        )
    )
    due = [(e, evidence) for e, evidence in completed if e.id not in holding]
    if not due:
        return []
    enrolments, users, programmes, stages = _context(e.id for e, _ in due)
    issued = []
    for enrolment, evidence in due:
        issued.append(
            _certificate(
                enrolment,
                users[enrolment.user_id],
                programmes[enrolment.programme_id],
                stages[LAST_STAGE],
                evidence,
                None,
            )
        )
        record("programme.completed", target=enrolment, requirements=len(evidence))
    db.session.add_all(issued)
    return issued


#: Given an enrolment and a stage id, the evidence of that stage's gate under the programme's
#: current content when every requirement is met, else None (provided by the stage engine).
GateCheck = Callable[[Enrolment, str], "list[dict[str, Any]] | None"]


def recertify(enrolments: list[Enrolment], gate_check: GateCheck) -> list[Certificate]:
    """Re-issue each expiring certificate of these enrolments whose stage's gate is met under
    the programme's current version. One query to find them, whatever the number."""
    ids = [e.id for e in enrolments]
    if not ids:
        return []
    due = list(
        db.session.scalars(
            select(Certificate).where(
                Certificate.enrolment_id.in_(ids),
                Certificate.expires_at.is_not(None),
                Certificate.replaced_by_id.is_(None),
                Certificate.revoked_at.is_(None),
            )
        )
    )
    if not due:
        return []
    by_id = {e.id: e for e in enrolments}
    enrolment_rows, users, programmes, stages = _context(c.enrolment_id for c in due)
    issued = []
    for old in due:
        enrolment = by_id[old.enrolment_id]
        programme = programmes[old.programme_id]
        if programme.version.split(".")[0] == old.programme_version.split(".")[0]:
            continue
        evidence = gate_check(enrolment, old.stage_id)
        if evidence is None:
            continue
        new = _certificate(
            enrolment, users[enrolment.user_id], programme, stages[old.stage_id], evidence, None
        )
        db.session.add(new)
        db.session.flush()
        old.replaced_by_id = new.id
        # The new certificate takes over: the old one ends now (its verify page says so).
        old.expires_at = now_utc()
        issued.append(new)
    return issued
