"""The organisation's settings and its units (regions, teams)."""

from __future__ import annotations

from datetime import date

from flask import current_app, has_request_context, request
from sqlalchemy import select

from lms.core.timeutil import working_days_between
from lms.extensions import db
from lms.organisation.models import Organisation, OrgUnit


def organisation() -> Organisation:
    """The installation's organisation, created with defaults on first use; looked up once per
    request."""
    # Kept on the request itself (not `g`, which may outlive a request in tests and scripts).
    cached = getattr(request, "lms_organisation", None) if has_request_context() else None
    if cached is not None:
        return cached
    org = db.session.scalar(select(Organisation).order_by(Organisation.id).limit(1))
    if org is None:
        org = Organisation(name=current_app.config["LMS_ORGANISATION_NAME"], time_zone="UTC")
        db.session.add(org)
        db.session.flush()
    if has_request_context():
        request.lms_organisation = org
    return org


def working_days(org: Organisation, start: date, end: date) -> int:
    holidays = frozenset(holiday.day for holiday in org.holidays)
    return working_days_between(start, end, org.weekdays, holidays)


def ensure_unit(kind: str, name: str, parent: OrgUnit | None = None) -> OrgUnit:
    unit = db.session.scalar(select(OrgUnit).where(OrgUnit.kind == kind, OrgUnit.name == name))
    if unit is None:
        unit = OrgUnit(kind=kind, name=name, parent=parent)
        db.session.add(unit)
        db.session.flush()
    return unit


def teams() -> list[OrgUnit]:
    return list(
        db.session.scalars(select(OrgUnit).where(OrgUnit.kind == "team").order_by(OrgUnit.name))
    )


def regions() -> list[OrgUnit]:
    return list(
        db.session.scalars(select(OrgUnit).where(OrgUnit.kind == "region").order_by(OrgUnit.name))
    )


def find_team(name: str) -> OrgUnit | None:
    return db.session.scalar(
        select(OrgUnit).where(OrgUnit.kind == "team", OrgUnit.name == name.strip())
    )
