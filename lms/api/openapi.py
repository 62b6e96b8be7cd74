"""The OpenAPI document of the JSON API and the xAPI resource, served at /api/v1/openapi.json.

Written by hand next to the endpoints it describes; a test checks that every API route is in it,
so a new endpoint cannot go undocumented.
"""

from __future__ import annotations

from typing import Any


def _batch(name: str, item: dict[str, Any], required: list[str]) -> dict[str, Any]:
    record = {"type": "object", "required": required, "properties": item}
    return {
        "oneOf": [
            {
                "type": "object",
                "required": [name],
                "properties": {name: {"type": "array", "items": record}},
            },
            {"type": "array", "items": record},
            record,
        ]
    }


_STRING = {"type": "string"}
_DATE = {"type": "string", "format": "date"}
_NUMBER = {"type": "number"}
_ERROR = {
    "description": "An error",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}
_REPORT = {
    "description": "What was recorded and what was refused, by index",
    "content": {"application/json": {"schema": {"type": "object"}}},
}


def _post(summary: str, scope: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "security": [{"bearer": [scope]}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
            "responses": {"200": _REPORT, "400": _ERROR, "401": _ERROR, "403": _ERROR},
        }
    }


def document(server_url: str) -> dict[str, Any]:
    usage_event = _batch(
        "events",
        {
            "user": {**_STRING, "description": "e-mail address or platform user id"},
            "platform": {**_STRING, "description": "platform id from the feature catalogue"},
            "feature": {**_STRING, "description": "feature id, name or alias"},
            "timestamp": {**_STRING, "format": "date-time"},
            "count": {"type": "integer", "minimum": 1, "default": 1},
            "event_id": {**_STRING, "description": "the sender's id, unique per platform"},
        },
        ["user", "platform", "feature", "timestamp"],
    )
    campaign = _batch(
        "campaigns",
        {
            "team": _STRING,
            "campaign": _STRING,
            "launched_on": _DATE,
            "hours_spent": _NUMBER,
            "cost": _NUMBER,
            "attributed_revenue": _NUMBER,
            "kpi_name": _STRING,
            "kpi_value": _NUMBER,
        },
        ["team", "campaign", "launched_on", "hours_spent", "cost", "attributed_revenue"],
    )
    change = _batch(
        "changes",
        {
            "team": _STRING,
            "procedure": _STRING,
            "step_number": {"type": "integer"},
            "automated": {"type": "boolean"},
            "changed_on": _DATE,
            "note": _STRING,
        },
        ["team", "procedure", "step_number", "automated", "changed_on"],
    )
    checkpoint = _batch(
        "checkpoints",
        {
            "team": _STRING,
            "domain": {"enum": ["sales", "product", "customer-success", "finance"]},
            "item": _STRING,
            "status": {"enum": ["planned", "achieved"]},
            "achieved_on": _DATE,
            "evidence": _STRING,
        },
        ["team", "domain", "item", "status"],
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Adoption Academy API",
            "version": "1",
            "description": "Platform usage in, and the records behind the business "
            "metrics. Tokens are made under Account → API tokens.",
        },
        "servers": [{"url": server_url}],
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "lms_<key>_<secret>"},
                "basic": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "the token's key and secret (xAPI clients)",
                },
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "message"],
                    "properties": {"error": _STRING, "message": _STRING},
                }
            },
        },
        "paths": {
            "/api/v1/": {
                "get": {
                    "summary": "What the API offers",
                    "responses": {"200": {"description": "Links"}},
                }
            },
            "/api/v1/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": {"description": "OpenAPI"}},
                }
            },
            "/api/v1/usage-events": _post(
                "Record platform feature usage", "usage:write", usage_event
            ),
            "/api/v1/campaigns": _post(
                "Add or update campaigns in a team's log", "metrics:write", campaign
            ),
            "/api/v1/process-steps/changes": _post(
                "Record steps of the workflow procedures becoming automated or manual",
                "metrics:write",
                change,
            ),
            "/api/v1/integration-checkpoints": _post(
                "Mark integration checkpoints planned or achieved", "metrics:write", checkpoint
            ),
            "/xapi/statements": {
                "post": {
                    "summary": "Store xAPI 1.0.3 statements; those about a catalogue feature "
                    "become usage",
                    "security": [{"bearer": ["usage:write"]}, {"basic": ["usage:write"]}],
                    "parameters": [
                        {
                            "name": "X-Experience-API-Version",
                            "in": "header",
                            "required": True,
                            "schema": _STRING,
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"oneOf": [{"type": "object"}, {"type": "array"}]}
                            }
                        },
                    },
                    "responses": {
                        "200": {"description": "The statement ids"},
                        "400": _ERROR,
                        "401": _ERROR,
                        "409": _ERROR,
                    },
                },
                "put": {
                    "summary": "Store one statement under the given id",
                    "security": [{"bearer": ["usage:write"]}, {"basic": ["usage:write"]}],
                    "parameters": [
                        {
                            "name": "statementId",
                            "in": "query",
                            "required": True,
                            "schema": {**_STRING, "format": "uuid"},
                        },
                        {
                            "name": "X-Experience-API-Version",
                            "in": "header",
                            "required": True,
                            "schema": _STRING,
                        },
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    "responses": {
                        "204": {"description": "Stored"},
                        "400": _ERROR,
                        "401": _ERROR,
                        "409": _ERROR,
                    },
                },
            },
            "/xapi/about": {
                "get": {
                    "summary": "The xAPI version",
                    "responses": {"200": {"description": "Versions"}},
                }
            },
        },
    }
