"""Importing users from CSV: each bad row is reported with its line and reason, good rows are
kept, and a re-import is idempotent by e-mail address (it updates, never duplicates).

Columns: email, name (required); roles (separated by ";"), team, time_zone, external_id.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select

from lms.accounts import operations
from lms.accounts.models import RoleName, User
from lms.audit.operations import record
from lms.core.timeutil import is_valid_time_zone
from lms.extensions import db
from lms.organisation.models import OrgUnit

REQUIRED = ("email", "name")
OPTIONAL = ("roles", "team", "time_zone", "external_id")
ROLE_NAMES = {role.value for role in RoleName}


@dataclass
class RowProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{len(self.created)} created, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged, {len(self.problems)} rows refused"
        )


def decode_upload(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"the file is not UTF-8 text (byte {error.start}); save it as CSV UTF-8"
        ) from error


def import_users(text: str, *, invite: bool = True, source: str = "upload") -> ImportReport:
    """Create or update users from CSV `text`. The caller commits."""
    report = ImportReport()
    reader = csv.DictReader(io.StringIO(text))
    # Spreadsheets often save a trailing comma: empty column names are ignored.
    header = [name.strip().lower() for name in (reader.fieldnames or [])]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        report.problems.append(
            RowProblem(
                1,
                f"the header lacks the column(s) {', '.join(missing)}; "
                f"expected {', '.join(REQUIRED + OPTIONAL)}",
            )
        )
        return report
    unknown = [name for name in header if name and name not in REQUIRED + OPTIONAL]
    if unknown:
        report.problems.append(
            RowProblem(
                1,
                f"unknown column(s) {', '.join(unknown)}; "
                f"expected {', '.join(REQUIRED + OPTIONAL)}",
            )
        )
        return report
    reader.fieldnames = header
    teams = {
        unit.name.lower(): unit
        for unit in db.session.scalars(select(OrgUnit).where(OrgUnit.kind == "team"))
    }
    existing = {user.email: user for user in db.session.scalars(select(User))}
    external_ids = {user.external_id: user.email for user in existing.values() if user.external_id}
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        values = {key: (value or "").strip() for key, value in row.items() if key}
        if None in row:
            report.problems.append(RowProblem(line, "has more cells than the header has columns"))
            continue
        if not any(values.values()):
            continue
        problem, cleaned = _check_row(values, teams, external_ids)
        if problem:
            report.problems.append(RowProblem(line, problem))
            continue
        email = cleaned["email"]
        if email in seen:
            report.problems.append(
                RowProblem(line, f"{email} appears again (first on line {seen[email]})")
            )
            continue
        seen[email] = line
        user = existing.get(email)
        if user is None:
            user = _create(cleaned, invite)
            existing[email] = user
            report.created.append(email)
        elif _update(user, cleaned):
            report.updated.append(email)
        else:
            report.unchanged.append(email)
        if cleaned["external_id"]:
            external_ids[cleaned["external_id"]] = email
    record(
        "users.imported",
        target_type="users",
        source=source,
        created=len(report.created),
        updated=len(report.updated),
        unchanged=len(report.unchanged),
        refused=[str(problem) for problem in report.problems][:50],
    )
    return report


def _check_row(
    values: dict[str, str], teams: dict[str, OrgUnit], external_ids: dict[str, str]
) -> tuple[str | None, dict]:
    try:
        email = validate_email(values.get("email", ""), check_deliverability=False).normalized
    except EmailNotValidError as error:
        return f"email {values.get('email', '')!r} is not valid: {error}", {}
    email = operations.normalise_email(email)
    name = values.get("name", "")
    if not name:
        return "name is empty", {}
    if len(name) > 120:
        return "name is longer than 120 characters", {}
    roles_text = values.get("roles", "")
    roles = {
        part.strip().lower() for part in roles_text.replace("|", ";").split(";") if part.strip()
    }
    bad_roles = roles - ROLE_NAMES
    if bad_roles:
        return (
            f"roles: {', '.join(sorted(bad_roles))} is not a role "
            f"(use {', '.join(sorted(ROLE_NAMES))}, separated by ';')",
            {},
        )
    team_name = values.get("team", "")
    team = None
    if team_name:
        team = teams.get(team_name.lower())
        if team is None:
            return f"team {team_name!r} does not exist (an admin creates teams first)", {}
    zone = values.get("time_zone", "")
    if zone and not is_valid_time_zone(zone):
        return f"time_zone {zone!r} is not an IANA time zone such as Europe/London", {}
    external_id = values.get("external_id", "")
    if external_id and external_ids.get(external_id, email) != email:
        return f"external_id {external_id!r} already belongs to {external_ids[external_id]}", {}
    return None, {
        "email": email,
        "name": name,
        "roles": roles or None,
        "team": team,
        "time_zone": zone or None,
        "external_id": external_id or None,
    }


def _create(cleaned: dict, invite: bool) -> User:
    user = User(
        email=cleaned["email"],
        name=cleaned["name"],
        team=cleaned["team"],
        time_zone=cleaned["time_zone"],
        external_id=cleaned["external_id"],
    )
    user.roles = operations.roles_by_name(cleaned["roles"] or {"learner"})
    db.session.add(user)
    db.session.flush()
    record("user.created", target=user, roles=sorted(user.role_names), via="import")
    if invite:
        operations.send_invitation(user)
    return user


def _update(user: User, cleaned: dict) -> bool:
    changed = False
    for attribute in ("name", "time_zone", "external_id"):
        if cleaned[attribute] is not None and getattr(user, attribute) != cleaned[attribute]:
            setattr(user, attribute, cleaned[attribute])
            changed = True
    if cleaned["team"] is not None and user.team_id != cleaned["team"].id:
        user.team = cleaned["team"]
        changed = True
    if cleaned["roles"] is not None:
        changed = operations.set_roles(user, cleaned["roles"], reason="user import") or changed
    return changed
