"""The xAPI statements resource (`/xapi/statements`), as an LRS answers it.

Statements are validated by xAPI 1.0.3 (`lms.api.xapi_rules`), stored by id (a batch is all or
nothing; a known id with the same content is accepted again, with different content refused
with 409), and those whose object is a feature of the catalogue become usage rows through the
same validation path as CSV files and the JSON API.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from flask import Blueprint, g, jsonify, make_response, request
from sqlalchemy import select

from lms.accounts.models import User
from lms.adoption.models import Feature, Platform, XapiStatement
from lms.adoption.usage import ingest, people_for
from lms.api.auth import api_error, token_required
from lms.api.xapi_rules import VOIDED, statement_problems
from lms.core.timeutil import now_utc
from lms.extensions import db
from lms.security import public

bp = Blueprint("xapi", __name__)
VERSION = "1.0.3"


def _version_problem() -> Any:
    version = request.headers.get("X-Experience-API-Version", "")
    if not version.startswith("1.0"):
        return api_error(400, "bad_request", "Send the header X-Experience-API-Version: 1.0.3.")
    return None


def _xapi_response(body: Any, status: int = 200) -> Any:
    response = jsonify(body) if body is not None else make_response("", status)
    response.status_code = status
    response.headers["X-Experience-API-Version"] = VERSION
    return response


@bp.after_request
def _version_header(response: Any) -> Any:
    # xAPI 1.0.3: the LRS includes the header in every response, errors too.
    response.headers["X-Experience-API-Version"] = VERSION
    return response


@bp.route("/about")
@public
def about() -> Any:
    return _xapi_response({"version": [VERSION]})


def _canonical(statement: dict[str, Any]) -> str:
    # Compared without what the LRS itself sets, so a re-sent statement matches.
    core = {k: v for k, v in statement.items() if k not in ("stored", "authority", "version")}
    return json.dumps(core, sort_keys=True)


@bp.route("/statements", methods=["POST", "PUT"])
@token_required("usage:write")
def statements() -> Any:
    problem = _version_problem()
    if problem is not None:
        return problem
    payload = request.get_json(silent=True)
    if payload is None:
        return api_error(
            400,
            "bad_request",
            "Send a statement or an array of statements as JSON (Content-Type: application/json).",
        )
    if request.method == "PUT":
        statement_id = request.args.get("statementId", "")
        if not isinstance(payload, dict):
            return api_error(400, "bad_request", "PUT takes one statement.")
        if "id" in payload and str(payload["id"]).lower() != statement_id.lower():
            return api_error(400, "bad_request", "statementId and the statement's id differ.")
        try:
            uuid.UUID(statement_id)
        except ValueError:
            return api_error(400, "bad_request", "statementId must be a UUID.")
        payload = {**payload, "id": statement_id.lower()}
    batch = payload if isinstance(payload, list) else [payload]
    # UUIDs are case-insensitive: one statement, whichever case its id was sent in.
    batch = [
        {**s, "id": s["id"].lower()} if isinstance(s, dict) and isinstance(s.get("id"), str) else s
        for s in batch
    ]
    problems = [
        p for index, s in enumerate(batch) for p in statement_problems(s, f"statements[{index}]")
    ]
    ids = [s.get("id") for s in batch if isinstance(s, dict) and s.get("id")]
    if len(ids) != len(set(ids)):
        problems.append("statements: the same id appears twice in this batch")
    if problems:
        return api_error(400, "invalid_statement", "The batch was not stored.", problems=problems)
    known = (
        {
            row.id: row
            for row in db.session.scalars(select(XapiStatement).where(XapiStatement.id.in_(ids)))
        }
        if ids
        else {}
    )
    for statement in batch:
        existing = known.get(statement.get("id"))
        if existing is not None and _canonical(existing.statement) != _canonical(statement):
            return api_error(
                409, "conflict", f"Statement {statement['id']} exists with other content."
            )
    stored_ids = []
    usage_rows = []
    stored_at = now_utc()
    authority = {
        "objectType": "Agent",
        "name": g.api_token.name,
        "account": {"homePage": request.host_url.rstrip("/"), "name": g.api_token.key},
    }
    catalogue = _Catalogue.load()
    people = _people(batch)
    for index, statement in enumerate(batch):
        statement_id = statement.get("id") or str(uuid.uuid4())
        stored_ids.append(statement_id)
        if statement_id in known:
            continue
        full = {
            **statement,
            "id": statement_id,
            "stored": stored_at.isoformat(),
            "authority": authority,
            "version": statement.get("version", VERSION),
        }
        row = _usage_row(full, catalogue)
        db.session.add(
            XapiStatement(
                id=statement_id,
                statement=full,
                stored_at=stored_at,
                token_id=g.api_token.id,
                user_id=people.get(_actor_ref(full["actor"])),
            )
        )
        if row is not None:
            usage_rows.append((index, row))
    people = people_for(g.api_token.owner) if g.api_token.kind == "personal" else None
    report = ingest(usage_rows, source="xapi", source_ref=f"token:{g.api_token.key}", people=people)
    db.session.commit()
    response = _xapi_response(
        None if request.method == "PUT" else stored_ids, 204 if request.method == "PUT" else 200
    )
    response.headers["X-LMS-Usage"] = (
        f"recorded={report.accepted}; duplicates={report.duplicates}; held={report.held}; "
        f"refused={len(report.problems)}"
    )
    return response


class _Catalogue:
    """Feature IRIs and the catalogue's IRI base, loaded once per request, not per statement."""

    def __init__(self, features: dict[str, tuple[str, str]], prefix: str | None) -> None:
        self.features = features
        self.prefix = prefix

    @classmethod
    def load(cls) -> _Catalogue:
        features = {
            iri: (feature, platform)
            for iri, feature, platform in db.session.execute(
                select(Feature.iri, Feature.slug, Platform.slug).join(
                    Platform, Platform.id == Feature.platform_id
                )
            )
        }
        # Feature IRIs are base + platform/feature: the base is any IRI less two segments.
        prefix = next(iter(features)).rsplit("/", 2)[0] + "/" if features else None
        return cls(features, prefix)


def _actor_ref(actor: dict[str, Any]) -> str:
    """The person an actor names: an e-mail address (mbox) or a platform user id (account)."""
    if "mbox" in actor:
        return actor["mbox"].removeprefix("mailto:").lower()
    if "account" in actor:
        return actor["account"]["name"]
    return ""


def _people(batch: list[dict[str, Any]]) -> dict[str, int]:
    """User ids for the actors of a batch, in two queries."""
    refs = {_actor_ref(s["actor"]) for s in batch if isinstance(s.get("actor"), dict)}
    emails = {r for r in refs if "@" in r}
    others = refs - emails - {""}
    found: dict[str, int] = {}
    if emails:
        found.update(
            {
                e: i
                for i, e in db.session.execute(
                    select(User.id, User.email).where(User.email.in_(emails))
                )
            }
        )
    if others:
        found.update(
            {
                x: i
                for i, x in db.session.execute(
                    select(User.id, User.external_id).where(User.external_id.in_(others))
                )
            }
        )
    return found


def _usage_row(statement: dict[str, Any], catalogue: _Catalogue) -> dict[str, Any] | None:
    """The usage a statement reports, when its object is a feature of the catalogue."""
    if statement["verb"]["id"] == VOIDED:
        return None
    target = statement["object"]
    if target.get("objectType", "Activity") != "Activity":
        return None
    iri = target["id"]
    if iri in catalogue.features:
        feature, platform = catalogue.features[iri]
    else:
        # An IRI under the catalogue's base that names an unknown feature is held, not lost.
        prefix = catalogue.prefix
        if prefix is None or not iri.startswith(prefix) or iri[len(prefix) :].count("/") != 1:
            return None
        platform, feature = iri[len(prefix) :].split("/")
    return {
        "user": _actor_ref(statement["actor"]),
        "platform": platform,
        "feature": feature,
        "timestamp": statement.get("timestamp") or statement["stored"],
        "count": 1,
        "event_id": statement["id"],
    }
