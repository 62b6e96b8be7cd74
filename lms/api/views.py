"""The JSON API, version 1. Errors are JSON: {"error": ..., "message": ...}."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify, request, url_for

from lms.adoption import records_ops
from lms.adoption.usage import ingest, people_for
from lms.api.auth import api_error, token_required
from lms.api.openapi import document
from lms.extensions import db
from lms.security import public

bp = Blueprint("api", __name__)
MAX_BATCH = 10_000


@bp.route("/")
@public
def index() -> Any:
    return jsonify(
        name="Adoption Academy API",
        version="1",
        _links={
            "usage_events": url_for("api.usage_events"),
            "campaigns": url_for("api.campaigns"),
            "process_step_changes": url_for("api.process_step_changes"),
            "integration_checkpoints": url_for("api.integration_checkpoints"),
            "xapi_statements": url_for("xapi.statements"),
        },
        authentication="Authorization: Bearer lms_<key>_<secret> (tokens under Account)",
    )


@bp.route("/openapi.json")
@public
def openapi() -> Any:
    """The OpenAPI 3.1 document describing this API."""
    return jsonify(document(request.host_url.rstrip("/")))


@bp.route("/usage-events", methods=["POST"])
@token_required("usage:write")
def usage_events() -> Any:
    """A JSON batch: {"events": [{user, platform, feature, timestamp, count, event_id}, ...]}
    (or the list itself). Answers what was recorded, held and refused, by index."""
    payload = request.get_json(silent=True)
    events = payload.get("events") if isinstance(payload, dict) else payload
    if not isinstance(events, list):
        return api_error(400, "bad_request", 'Send JSON: {"events": [...]}.')
    if len(events) > MAX_BATCH:
        return api_error(413, "too_large", f"Send at most {MAX_BATCH} events per request.")
    rows, problems = [], []
    for index, event in enumerate(events):
        if isinstance(event, dict):
            rows.append((index, event))
        else:
            problems.append({"row": index, "reason": "each event must be a JSON object"})
    # A personal token sends no more than its owner may: a manager, their cohorts' learners.
    people = people_for(g.api_token.owner) if g.api_token.kind == "personal" else None
    report = ingest(rows, source="api", source_ref=f"token:{g.api_token.key}", people=people)
    db.session.commit()
    body = report.as_dict()
    body["rows"] = len(events)
    body["problems"] = sorted(problems + body["problems"], key=lambda p: p["row"])
    return jsonify(body), 200


def _records_keeper() -> tuple[set[int] | None, Any]:
    """The teams a metrics:write token may write the records of (None: every team), and who
    it acts as. A service token stands for an integration an admin set up: every team. A
    personal token acts as its owner: the teams the owner keeps the records of."""
    token = g.api_token
    if token.kind == "service":
        return None, token.owner
    return records_ops.editable_team_ids(token.owner), token.owner


def _batch(key: str) -> tuple[list[Any] | None, Any]:
    """The list under `key` (or the list itself, or one object as a batch of one), or the
    error response that says what to send."""
    payload = request.get_json(silent=True)
    if isinstance(payload, dict):
        items = payload.get(key, [payload] if "team" in payload else None)
    else:
        items = payload
    if not isinstance(items, list):
        return None, api_error(400, "bad_request", f'Send JSON: {{"{key}": [...]}}.')
    if len(items) > MAX_BATCH:
        return None, api_error(413, "too_large", f"Send at most {MAX_BATCH} {key} per request.")
    return items, None


@bp.route("/campaigns", methods=["POST"])
@token_required("metrics:write")
def campaigns() -> Any:
    """A JSON batch: {"campaigns": [{team, campaign, launched_on, hours_spent, cost,
    attributed_revenue, kpi_name, kpi_value}, ...]}, the columns of the CSV import. A campaign
    (team, campaign, launched_on) sent again updates the one recorded. Answers what was created,
    updated and left unchanged, and the problems by index."""
    items, error = _batch("campaigns")
    if error is not None:
        return error
    editable, actor = _records_keeper()
    report = records_ops.import_campaigns(
        list(enumerate(items)), editable=editable, actor=actor, source=f"token:{g.api_token.key}"
    )
    body = report.as_dict()
    db.session.commit()
    return jsonify(body), 200


@bp.route("/process-steps/changes", methods=["POST"])
@token_required("metrics:write")
def process_step_changes() -> Any:
    """A JSON batch: {"changes": [{team, procedure, step_number, automated, changed_on, note},
    ...]} (or one change). `procedure` is the framework's procedure id, `automated` true or
    false. The same change sent again is a duplicate, not a second change."""
    items, error = _batch("changes")
    if error is not None:
        return error
    editable, actor = _records_keeper()
    body = records_ops.apply_step_changes(items, editable=editable, actor=actor).as_dict()
    db.session.commit()
    return jsonify(body), 200


@bp.route("/integration-checkpoints", methods=["POST"])
@token_required("metrics:write")
def integration_checkpoints() -> Any:
    """A JSON batch: {"checkpoints": [{team, domain, item, status, achieved_on, evidence}, ...]}
    (or one). `status` is achieved (with achieved_on and evidence) or planned."""
    items, error = _batch("checkpoints")
    if error is not None:
        return error
    editable, actor = _records_keeper()
    body = records_ops.apply_checkpoints(items, editable=editable, actor=actor).as_dict()
    db.session.commit()
    return jsonify(body), 200
