"""The JSON API, version 1. Errors are JSON: {"error": ..., "message": ...}."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify, request, url_for

from lms.adoption.usage import ingest
from lms.api.auth import api_error, token_required
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
            "xapi_statements": url_for("xapi.statements"),
        },
        authentication="Authorization: Bearer lms_<key>_<secret> (tokens under Account)",
    )


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
    report = ingest(rows, source="api", source_ref=f"token:{g.api_token.key}")
    db.session.commit()
    body = report.as_dict()
    body["rows"] = len(events)
    body["problems"] = sorted(problems + body["problems"], key=lambda p: p["row"])
    return jsonify(body), 200
