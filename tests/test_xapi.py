"""xAPI: statement validation by the xAPI 1.0.3 rules (the cases an LRS conformance suite sends),
and `/xapi/statements` as an LRS answers it: the version header, HTTP Basic or Bearer tokens,
statements stored by id (all or nothing per batch, 409 for a known id with other content), and
statements about a catalogue feature recorded as usage."""

from __future__ import annotations

import base64
import copy
import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from lms.accounts.models import User
from lms.adoption.models import Feature, HeldUsage, UsageEvent, XapiStatement
from lms.api import tokens
from lms.api.xapi_rules import statement_problems
from lms.core.timeutil import as_utc
from lms.extensions import db
from tests.conftest import CURRICULA

STATEMENT_ID = "3f1c1a2e-7a52-4f8e-9b6a-0c2d4e6f8a10"
OTHER_ID = "0b7a4c2d-1e3f-4a5b-8c6d-7e8f9a0b1c2d"
IRI_BASE = "https://adoption-academy.org/xapi/features/"
FEATURE_IRI = IRI_BASE + "marketing-automation/segmentation"
INTERACTED = "http://adlnet.gov/expapi/verbs/interacted"
VOIDED = "http://adlnet.gov/expapi/verbs/voided"
VERSION = {"X-Experience-API-Version": "1.0.3"}


def statement(**changes: Any) -> dict[str, Any]:
    """A valid statement: the learner used the segmentation feature."""
    base = {
        "id": STATEMENT_ID,
        "actor": {"objectType": "Agent", "name": "Learner", "mbox": "mailto:learner@example.com"},
        "verb": {"id": INTERACTED, "display": {"en-US": "interacted"}},
        "object": {
            "objectType": "Activity",
            "id": FEATURE_IRI,
            "definition": {"name": {"en-US": "Segmentation"}},
        },
        "timestamp": "2026-01-05T09:00:00Z",
    }
    base.update(changes)
    return base


def changed(edit) -> dict[str, Any]:
    value = copy.deepcopy(statement())
    edit(value)
    return value


# --- statement_problems: the xAPI 1.0.3 rules --------------------------------------------------

GROUP_MEMBERS = [
    {"mbox": "mailto:a@example.com"},
    {"account": {"homePage": "https://x.org", "name": "b"}},
]
SUB_STATEMENT = {
    "objectType": "SubStatement",
    "actor": {"mbox": "mailto:learner@example.com"},
    "verb": {"id": "http://example.com/verbs/will-use"},
    "object": {"id": FEATURE_IRI},
}

VALID = [
    pytest.param(lambda s: None, id="the-base-statement"),
    pytest.param(lambda s: s.pop("id"), id="without-id"),
    pytest.param(lambda s: s.pop("timestamp"), id="without-timestamp"),
    pytest.param(lambda s: s.update(version="1.0.0"), id="version-1.0.0"),
    pytest.param(lambda s: s.update(version="1.0.3"), id="version-1.0.3"),
    pytest.param(lambda s: s.update(timestamp="2026-01-05T09:00:00.123+00:00"), id="ts-fraction"),
    pytest.param(lambda s: s.update(timestamp="2026-01-05T14:30:00+05:30"), id="ts-offset"),
    pytest.param(lambda s: s.update(timestamp="2026-01-05T09:00:00"), id="ts-without-zone"),
    pytest.param(
        lambda s: s.update(actor={"mbox_sha1sum": "a" * 32 + "0123456F"}), id="mbox-sha1sum"
    ),
    pytest.param(lambda s: s.update(actor={"openid": "https://id.example.com/ana"}), id="openid"),
    pytest.param(
        lambda s: s.update(actor={"account": {"homePage": "https://crm.example.com", "name": "7"}}),
        id="account",
    ),
    pytest.param(
        lambda s: s.update(actor={"objectType": "Group", "member": GROUP_MEMBERS}),
        id="anonymous-group",
    ),
    pytest.param(
        lambda s: s.update(
            actor={"objectType": "Group", "mbox": "mailto:team@example.com", "member": []}
        ),
        id="identified-group",
    ),
    pytest.param(lambda s: s["verb"].pop("display"), id="verb-without-display"),
    pytest.param(
        lambda s: s["verb"].update(display={"en-US": "used", "zh-Hant-TW": "用", "de": "x"}),
        id="language-tags",
    ),
    pytest.param(lambda s: s["object"].pop("objectType"), id="object-type-defaults-to-activity"),
    pytest.param(
        lambda s: s.update(object={"objectType": "Agent", "mbox": "mailto:b@example.com"}),
        id="object-agent",
    ),
    pytest.param(
        lambda s: s.update(
            verb={"id": VOIDED}, object={"objectType": "StatementRef", "id": OTHER_ID}
        ),
        id="voiding",
    ),
    pytest.param(lambda s: s.update(object=SUB_STATEMENT), id="sub-statement"),
    pytest.param(
        lambda s: s["object"]["definition"].update(
            description={"en-US": "x"},
            type="http://adlnet.gov/expapi/activities/interaction",
            moreInfo="https://example.com/segmentation",
            interactionType="choice",
            correctResponsesPattern=["a"],
            choices=[{"id": "a", "description": {"en-US": "A"}}],
            extensions={"https://example.com/ext/x": {"any": ["value"]}},
        ),
        id="activity-definition",
    ),
    pytest.param(
        lambda s: s.update(
            result={
                "score": {"scaled": -1, "raw": 0, "min": 0, "max": 10},
                "success": True,
                "completion": False,
                "response": "b",
                "duration": "PT1H30M",
                "extensions": {"https://example.com/ext/clicks": 3},
            }
        ),
        id="result",
    ),
    pytest.param(lambda s: s.update(result={"duration": "P1D"}), id="duration-days"),
    pytest.param(lambda s: s.update(result={"duration": "PT0.5S"}), id="duration-fraction"),
    pytest.param(lambda s: s.update(result={"duration": "P1Y2M3DT4H5M6S"}), id="duration-full"),
    pytest.param(lambda s: s.update(result={"duration": "P4W"}), id="duration-weeks"),
    pytest.param(lambda s: s.update(result={"score": {"scaled": 1}}), id="scaled-1"),
    pytest.param(
        lambda s: s.update(
            context={
                "registration": str(uuid.uuid4()),
                "instructor": {"mbox": "mailto:manager@example.com"},
                "team": {"objectType": "Group", "member": GROUP_MEMBERS},
                "contextActivities": {
                    "parent": {"id": "https://example.com/course"},
                    "grouping": [{"id": "https://example.com/programme"}],
                    "category": [{"id": "https://example.com/profile", "objectType": "Activity"}],
                    "other": [],
                },
                "revision": "2",
                "platform": "CRM",
                "language": "en-GB",
                "statement": {"objectType": "StatementRef", "id": OTHER_ID},
                "extensions": {"https://example.com/ext/team": "emea"},
            }
        ),
        id="context",
    ),
    pytest.param(
        lambda s: s.update(
            attachments=[
                {
                    "usageType": "http://adlnet.gov/expapi/attachments/signature",
                    "display": {"en-US": "Signature"},
                    "contentType": "application/octet-stream",
                    "length": 4235,
                    "sha2": "672fa5fa658017f1b72d65036f13379c6ab05d4ab3b6664908d8acf0b6a0c634",
                }
            ]
        ),
        id="attachment",
    ),
    pytest.param(
        lambda s: s.update(
            stored="2026-01-05T09:00:01Z",
            authority={"account": {"homePage": "https://lrs.example.com", "name": "client"}},
        ),
        id="stored-and-authority",
    ),
]


@pytest.mark.parametrize("edit", VALID)
def test_valid_statements_have_no_problems(edit) -> None:
    assert statement_problems(changed(edit)) == []


INVALID = [
    # Required properties and no others.
    (lambda s: s.pop("actor"), "statement.actor", "is required"),
    (lambda s: s.pop("verb"), "statement.verb", "is required"),
    (lambda s: s.pop("object"), "statement.object", "is required"),
    (lambda s: s.update(feature="segmentation"), "statement.feature", "not a property"),
    (lambda s: s.update(id="1234"), "statement.id", "UUID"),
    (lambda s: s.update(id="{" + STATEMENT_ID + "}"), "statement.id", "UUID"),
    (lambda s: s.update(id=42), "statement.id", "UUID"),
    # Actor: exactly one inverse functional identifier, each in its form.
    (
        lambda s: s["actor"].update(account={"homePage": "https://x.org", "name": "a"}),
        "statement.actor",
        "exactly one identifier",
    ),
    (lambda s: s.update(actor={"name": "Nobody"}), "statement.actor", "exactly one identifier"),
    (lambda s: s["actor"].update(mbox="learner@example.com"), "statement.actor.mbox", "mailto:"),
    (lambda s: s["actor"].update(mbox="mailto:learner"), "statement.actor.mbox", "mailto:"),
    (lambda s: s.update(actor={"mbox_sha1sum": "abc123"}), "statement.actor.mbox_sha1sum", "40"),
    (lambda s: s.update(actor={"mbox_sha1sum": "g" * 40}), "statement.actor.mbox_sha1sum", "40"),
    (
        lambda s: s.update(actor={"account": {"name": "crm-0042"}}),
        "statement.actor.account.homePage",
        "IRL",
    ),
    (
        lambda s: s.update(actor={"account": {"homePage": "crm", "name": "crm-0042"}}),
        "statement.actor.account.homePage",
        "IRL",
    ),
    (
        lambda s: s.update(actor={"account": {"homePage": "https://crm.example.com"}}),
        "statement.actor.account.name",
        "required",
    ),
    (
        lambda s: s.update(actor={"account": {"homePage": "https://x.org", "name": "a", "id": 1}}),
        "statement.actor.account.id",
        "not a property",
    ),
    (lambda s: s.update(actor={"openid": "not a uri"}), "statement.actor.openid", "URI"),
    (lambda s: s["actor"].update(objectType="Person"), "statement.actor.objectType", "Agent"),
    (lambda s: s["actor"].update(name=["Ana"]), "statement.actor.name", "string"),
    (lambda s: s["actor"].update(member=[]), "statement.actor.member", "not a property"),
    (lambda s: s.update(actor="learner@example.com"), "statement.actor", "Agent or Group"),
    # Groups.
    (lambda s: s.update(actor={"objectType": "Group"}), "statement.actor.member", "members"),
    (
        lambda s: s.update(actor={"objectType": "Group", "name": "Team"}),
        "statement.actor.member",
        "members",
    ),
    (
        lambda s: s.update(actor={"objectType": "Group", "member": {"mbox": "mailto:a@b.org"}}),
        "statement.actor.member",
        "array",
    ),
    (
        lambda s: s.update(
            actor={"objectType": "Group", "member": [{"objectType": "Group", "member": []}]}
        ),
        "statement.actor.member[0].objectType",
        "must be Agent",
    ),
    (
        lambda s: s.update(
            actor={
                "objectType": "Group",
                "mbox": "mailto:team@example.com",
                "openid": "https://id.example.com/team",
            }
        ),
        "statement.actor",
        "at most one identifier",
    ),
    (
        lambda s: s.update(actor={"objectType": "Group", "member": [{"name": "no identifier"}]}),
        "statement.actor.member[0]",
        "exactly one identifier",
    ),
    # Verb.
    (lambda s: s["verb"].update(id="interacted"), "statement.verb.id", "IRI"),
    (lambda s: s["verb"].pop("id"), "statement.verb.id", "IRI"),
    (lambda s: s.update(verb=INTERACTED), "statement.verb", "JSON object"),
    (lambda s: s["verb"].update(display="interacted"), "statement.verb.display", "language map"),
    (lambda s: s["verb"].update(display={"en_US": "x"}), "statement.verb.display.en_US", "tag"),
    (
        lambda s: s["verb"].update(display={"not a tag": "x"}),
        "statement.verb.display.not a tag",
        "tag",
    ),
    (lambda s: s["verb"].update(display={"en-US": 1}), "statement.verb.display.en-US", "string"),
    (lambda s: s["verb"].update(name="x"), "statement.verb.name", "not a property"),
    # Object.
    (lambda s: s["object"].pop("id"), "statement.object.id", "IRI"),
    (lambda s: s["object"].update(id="segmentation"), "statement.object.id", "IRI"),
    (lambda s: s["object"].update(objectType="Thing"), "statement.object.objectType", "'Thing'"),
    (lambda s: s["object"].update(objectType="activity"), "statement.object.objectType", ""),
    (lambda s: s.update(object=FEATURE_IRI), "statement.object", "JSON object"),
    (
        lambda s: s["object"]["definition"].update(name="Segmentation"),
        "statement.object.definition.name",
        "language map",
    ),
    (
        lambda s: s["object"]["definition"].update(type="interaction"),
        "statement.object.definition.type",
        "IRI",
    ),
    (
        lambda s: s["object"]["definition"].update(moreInfo="see the docs"),
        "statement.object.definition.moreInfo",
        "IRL",
    ),
    (
        lambda s: s["object"]["definition"].update(interactionType="drag-and-drop"),
        "statement.object.definition.interactionType",
        "interaction type",
    ),
    (
        lambda s: s["object"]["definition"].update(correctResponsesPattern="a"),
        "statement.object.definition.correctResponsesPattern",
        "array",
    ),
    (
        lambda s: s["object"]["definition"].update(extensions={"clicks": 3}),
        "statement.object.definition.extensions.clicks",
        "IRI",
    ),
    (
        lambda s: s.update(object={"objectType": "StatementRef", "id": "not-a-uuid"}),
        "statement.object.id",
        "UUID",
    ),
    (
        lambda s: s.update(object={**SUB_STATEMENT, "object": SUB_STATEMENT}),
        "statement.object.object.objectType",
        "not allowed",
    ),
    (
        lambda s: s.update(object={**SUB_STATEMENT, "id": OTHER_ID}),
        "statement.object.id",
        "not a property",
    ),
    (
        lambda s: s.update(object={**SUB_STATEMENT, "stored": "2026-01-05T09:00:00Z"}),
        "statement.object.stored",
        "not a property",
    ),
    (
        lambda s: s.update(object={k: v for k, v in SUB_STATEMENT.items() if k != "verb"}),
        "statement.object.verb",
        "JSON object",
    ),
    (
        lambda s: s.update(object={**SUB_STATEMENT, "timestamp": "soon"}),
        "statement.object.timestamp",
        "ISO 8601",
    ),
    # Voiding.
    (lambda s: s["verb"].update(id=VOIDED), "statement.object", "StatementRef"),
    (
        lambda s: s.update(
            verb={"id": VOIDED}, object={"objectType": "Agent", "mbox": "mailto:a@b.c"}
        ),
        "statement.object",
        "StatementRef",
    ),
    # Timestamps.
    (lambda s: s.update(timestamp="yesterday"), "statement.timestamp", "ISO 8601"),
    (lambda s: s.update(timestamp="2026-13-01T09:00:00Z"), "statement.timestamp", "ISO 8601"),
    (lambda s: s.update(timestamp="2026-01-05"), "statement.timestamp", "ISO 8601"),
    (lambda s: s.update(timestamp="2026-01-05 09:00:00Z"), "statement.timestamp", "ISO 8601"),
    (lambda s: s.update(timestamp="2026-01-05T09:00:00-00:00"), "statement.timestamp", "ISO 8601"),
    (lambda s: s.update(timestamp=1767603600), "statement.timestamp", "ISO 8601"),
    (lambda s: s.update(stored="later"), "statement.stored", "ISO 8601"),
    # Result.
    (lambda s: s.update(result={"score": {"scaled": 1.5}}), "statement.result.score.scaled", "-1"),
    (lambda s: s.update(result={"score": {"scaled": -1.01}}), "statement.result.score.scaled", ""),
    (
        lambda s: s.update(result={"score": {"raw": 11, "min": 0, "max": 10}}),
        "statement.result.score.raw",
        "between min and max",
    ),
    (
        lambda s: s.update(result={"score": {"raw": -1, "min": 0}}),
        "statement.result.score.raw",
        "between min and max",
    ),
    (
        lambda s: s.update(result={"score": {"min": 10, "max": 0}}),
        "statement.result.score",
        "min must not exceed max",
    ),
    (lambda s: s.update(result={"score": {"raw": "5"}}), "statement.result.score.raw", "number"),
    (lambda s: s.update(result={"score": {"scaled": True}}), "statement.result.score.scaled", ""),
    (lambda s: s.update(result={"score": {"percent": 50}}), "statement.result.score.percent", ""),
    (lambda s: s.update(result={"success": "true"}), "statement.result.success", "true or false"),
    (lambda s: s.update(result={"completion": 1}), "statement.result.completion", "true or false"),
    (lambda s: s.update(result={"response": 3}), "statement.result.response", "string"),
    (lambda s: s.update(result={"duration": "1 hour"}), "statement.result.duration", "ISO 8601"),
    (lambda s: s.update(result={"duration": "PT"}), "statement.result.duration", "ISO 8601"),
    (lambda s: s.update(result={"duration": "P"}), "statement.result.duration", "ISO 8601"),
    (lambda s: s.update(result={"duration": "PT1H30"}), "statement.result.duration", "ISO 8601"),
    (lambda s: s.update(result={"duration": 90}), "statement.result.duration", "ISO 8601"),
    (lambda s: s.update(result={"grade": "A"}), "statement.result.grade", "not a property"),
    (
        lambda s: s.update(result={"extensions": {"clicks": 3}}),
        "statement.result.extensions.clicks",
        "IRI",
    ),
    (lambda s: s.update(result={"extensions": [1]}), "statement.result.extensions", "IRIs"),
    # Context.
    (
        lambda s: s.update(context={"registration": "abc"}),
        "statement.context.registration",
        "UUID",
    ),
    (
        lambda s: s.update(
            object={"objectType": "Agent", "mbox": "mailto:b@example.com"},
            context={"revision": "2"},
        ),
        "statement.context.revision",
        "only when the object is an Activity",
    ),
    (
        lambda s: s.update(
            object={"objectType": "StatementRef", "id": OTHER_ID}, context={"platform": "CRM"}
        ),
        "statement.context.platform",
        "only when the object is an Activity",
    ),
    (
        lambda s: s.update(context={"team": {"mbox": "mailto:team@example.com"}}),
        "statement.context.team",
        "Group",
    ),
    (
        lambda s: s.update(context={"instructor": {"name": "Ms Smith"}}),
        "statement.context.instructor",
        "identifier",
    ),
    (lambda s: s.update(context={"language": "en_GB"}), "statement.context.language", "tag"),
    (
        lambda s: s.update(context={"contextActivities": {"sibling": []}}),
        "statement.context.contextActivities.sibling",
        "not a property",
    ),
    (
        lambda s: s.update(context={"contextActivities": {"parent": [{"id": "course"}]}}),
        "statement.context.contextActivities.parent[0].id",
        "IRI",
    ),
    (
        lambda s: s.update(context={"statement": {"objectType": "StatementRef", "id": "x"}}),
        "statement.context.statement.id",
        "UUID",
    ),
    (
        lambda s: s.update(context={"extensions": {"team": "emea"}}),
        "statement.context.extensions.team",
        "IRI",
    ),
    (lambda s: s.update(context={"mood": "good"}), "statement.context.mood", "not a property"),
    # Attachments, authority, version.
    (
        lambda s: s.update(attachments=[{"usageType": "http://example.com/u"}]),
        "statement.attachments[0].sha2",
        "required",
    ),
    (lambda s: s.update(attachments=5), "statement.attachments", "array"),
    (lambda s: s.update(attachments=True), "statement.attachments", "array"),
    (lambda s: s.update(attachments={"usageType": "x"}), "statement.attachments", "array"),
    (lambda s: s.update(authority={"name": "client"}), "statement.authority", "identifier"),
    (lambda s: s.update(version="2.0"), "statement.version", "1.0"),
    (lambda s: s.update(version="1.1.0"), "statement.version", "1.0"),
    (lambda s: s.update(version=1.0), "statement.version", "1.0"),
]


@pytest.mark.parametrize(
    "edit, path, phrase",
    INVALID,
    ids=[f"{path}:{index}" for index, (_, path, _) in enumerate(INVALID)],
)
def test_invalid_statements_are_refused_naming_the_property(edit, path, phrase) -> None:
    problems = statement_problems(changed(edit))
    matching = [p for p in problems if p.startswith(f"{path}: ")]
    assert matching, problems
    assert any(phrase in p for p in matching), problems


@pytest.mark.parametrize("value", [[], "statement", None, 3])
def test_a_statement_must_be_an_object(value) -> None:
    assert statement_problems(value) == ["statement: must be a JSON object"]


def test_every_problem_is_reported_at_once_under_the_given_path() -> None:
    problems = statement_problems(
        statement(id="x", verb={"id": "nope"}, timestamp="now"), "statements[3]"
    )
    assert {p.split(":")[0] for p in problems} == {
        "statements[3].id",
        "statements[3].verb.id",
        "statements[3].timestamp",
    }


# --- the statements resource -------------------------------------------------------------------


@pytest.fixture
def catalogue(app: Flask) -> None:
    """The feature catalogue (curricula/features.yaml) alone: enough for usage data."""
    from lms.adoption.loading import load_feature_catalogue
    from lms.curricula.files import parse_file

    with app.app_context():
        parsed = parse_file(CURRICULA / "features.yaml")
        assert not parsed.problems, parsed.problems
        load_feature_catalogue(parsed.document)
        db.session.commit()


@pytest.fixture
def lrs(app: Flask, users: dict[str, int], catalogue: None) -> dict[str, str]:
    """A service token for an LRS client, and the second learner's platform id."""
    with app.app_context():
        db.session.get(User, users["learner2"]).external_id = "crm-0042"
        issued = tokens.issue(
            db.session.get(User, users["admin"]), "LRS client", ["usage:write"], kind="service"
        )
        db.session.commit()
        return {
            "plain": issued.plain,
            "key": issued.token.key,
            "secret": issued.plain.split("_", 2)[2],
        }


def basic(lrs: dict[str, str]) -> dict[str, str]:
    encoded = base64.b64encode(f"{lrs['key']}:{lrs['secret']}".encode()).decode()
    return {"Authorization": f"Basic {encoded}", **VERSION}


def post(client: FlaskClient, lrs, payload, **kwargs):
    headers = kwargs.pop("headers", None) or basic(lrs)
    return client.post("/xapi/statements", json=payload, headers=headers, **kwargs)


def count(app: Flask, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_about_says_the_version(client) -> None:
    response = client.get("/xapi/about")
    assert response.status_code == 200
    assert response.get_json() == {"version": ["1.0.3"]}
    assert response.headers["X-Experience-API-Version"] == "1.0.3"


def test_statements_need_the_version_header(app, client, lrs) -> None:
    auth = {"Authorization": basic(lrs)["Authorization"]}
    for headers in (auth, {**auth, "X-Experience-API-Version": "2.0"}):
        response = post(client, lrs, statement(), headers=headers)
        assert response.status_code == 400
        assert "X-Experience-API-Version" in response.get_json()["message"]
        assert response.headers["X-Experience-API-Version"] == "1.0.3"
    assert count(app, XapiStatement) == 0
    short = post(client, lrs, statement(), headers={**auth, "X-Experience-API-Version": "1.0"})
    assert short.status_code == 200
    assert count(app, XapiStatement) == 1


def test_statements_need_credentials(app, client, lrs) -> None:
    for headers in (
        VERSION,
        {**VERSION, "Authorization": "Basic " + base64.b64encode(b"key:secret").decode()},
        {**VERSION, "Authorization": f"Bearer lms_{lrs['key']}_wrong"},
    ):
        response = post(client, lrs, statement(), headers=headers)
        assert response.status_code == 401
        assert "Basic" in response.headers["WWW-Authenticate"]
        assert response.headers["X-Experience-API-Version"] == "1.0.3"
    assert count(app, XapiStatement) == 0


def test_a_token_without_usage_write_is_403(app, client, users, catalogue) -> None:
    with app.app_context():
        issued = tokens.issue(db.session.get(User, users["admin"]), "reader", ["read"], "service")
        db.session.commit()
    response = client.post(
        "/xapi/statements",
        json=statement(),
        headers={"Authorization": f"Bearer {issued.plain}", **VERSION},
    )
    assert response.status_code == 403
    assert count(app, XapiStatement) == 0


def test_basic_and_bearer_both_work(app, client, lrs) -> None:
    assert post(client, lrs, statement()).status_code == 200
    bearer = {"Authorization": f"Bearer {lrs['plain']}", **VERSION}
    response = post(client, lrs, statement(id=OTHER_ID), headers=bearer)
    assert response.status_code == 200 and response.get_json() == [OTHER_ID]
    assert count(app, XapiStatement) == 2


def test_a_statement_about_a_feature_is_stored_and_recorded_as_usage(app, client, lrs, users):
    response = post(client, lrs, statement())
    assert response.status_code == 200
    assert response.get_json() == [STATEMENT_ID]
    assert response.headers["X-Experience-API-Version"] == "1.0.3"
    assert "recorded=1" in response.headers["X-LMS-Usage"]
    with app.app_context():
        stored = db.session.get(XapiStatement, STATEMENT_ID)
        assert stored.user_id == users["learner"]
        assert stored.statement["actor"] == statement()["actor"]
        assert stored.statement["version"] == "1.0.3"
        assert stored.statement["authority"]["account"]["name"] == lrs["key"]
        assert "stored" in stored.statement
        event = db.session.scalar(select(UsageEvent))
        # Event ids are scoped to the feature's platform.
        platform_id = db.session.get(Feature, event.feature_id).platform_id
        assert event.event_key == f"id:{platform_id}:{STATEMENT_ID}"
        assert event.user_id == users["learner"]
        assert db.session.get(Feature, event.feature_id).slug == "segmentation"
        assert event.source == "xapi" and event.source_ref == f"token:{lrs['key']}"
        assert as_utc(event.occurred_at).isoformat() == "2026-01-05T09:00:00+00:00"
        assert event.count == 1


def test_the_same_statement_again_changes_nothing(app, client, lrs) -> None:
    assert post(client, lrs, statement()).status_code == 200
    again = post(client, lrs, statement())
    assert again.status_code == 200 and again.get_json() == [STATEMENT_ID]
    # Re-sent with what an LRS adds itself (as a statement fetched from another LRS would be).
    with app.app_context():
        full = db.session.get(XapiStatement, STATEMENT_ID).statement
    assert post(client, lrs, full).status_code == 200
    assert count(app, XapiStatement) == 1 and count(app, UsageEvent) == 1


def test_a_known_id_with_other_content_is_409(app, client, lrs) -> None:
    assert post(client, lrs, statement()).status_code == 200
    conflict = post(client, lrs, statement(timestamp="2026-01-06T09:00:00Z"))
    assert conflict.status_code == 409
    assert conflict.get_json()["error"] == "conflict"
    assert conflict.headers["X-Experience-API-Version"] == "1.0.3"
    # In a batch, the conflict stores nothing of the batch.
    batch = post(client, lrs, [statement(id=OTHER_ID), statement(verb={"id": INTERACTED})])
    assert batch.status_code == 409
    with app.app_context():
        kept = db.session.get(XapiStatement, STATEMENT_ID).statement
        assert kept["timestamp"] == "2026-01-05T09:00:00Z"
    assert count(app, XapiStatement) == 1 and count(app, UsageEvent) == 1


def test_a_batch_with_one_invalid_statement_stores_nothing(app, client, lrs) -> None:
    response = post(
        client,
        lrs,
        [statement(), statement(id=OTHER_ID, verb={"id": "interacted"}, result={"score": 2})],
    )
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "invalid_statement"
    assert any(p.startswith("statements[1].verb.id: ") for p in body["problems"]), body
    assert any(p.startswith("statements[1].result.score: ") for p in body["problems"]), body
    assert not any(p.startswith("statements[0]") for p in body["problems"])
    assert count(app, XapiStatement) == 0 and count(app, UsageEvent) == 0


def test_a_batch_with_the_same_id_twice_is_refused(app, client, lrs) -> None:
    response = post(client, lrs, [statement(), statement(timestamp="2026-01-06T09:00:00Z")])
    assert response.status_code == 400
    assert count(app, XapiStatement) == 0


@pytest.mark.parametrize(
    "payload, path",
    [
        (statement(actor={"mbox": "learner@example.com"}), "statements[0].actor.mbox"),
        (statement(version="2.0"), "statements[0].version"),
        (statement(timestamp="2026-01-05T09:00:00-00:00"), "statements[0].timestamp"),
        (statement(attachments=5), "statements[0].attachments"),
        ([statement(), "not a statement"], "statements[1]"),
    ],
)
def test_invalid_statements_over_http_are_400_naming_the_path(app, client, lrs, payload, path):
    response = post(client, lrs, payload)
    assert response.status_code == 400
    problems = response.get_json()["problems"]
    assert any(p.startswith(f"{path}: ") for p in problems), problems
    assert response.headers["X-Experience-API-Version"] == "1.0.3"
    assert count(app, XapiStatement) == 0


def test_a_body_that_is_not_json_is_400(app, client, lrs) -> None:
    response = client.post(
        "/xapi/statements", data="actor=me", content_type="text/plain", headers=basic(lrs)
    )
    assert response.status_code == 400 and response.is_json


def test_put_with_a_statement_id_stores_it_and_answers_204(app, client, lrs, users) -> None:
    body = {k: v for k, v in statement().items() if k != "id"}
    response = client.put(f"/xapi/statements?statementId={OTHER_ID}", json=body, headers=basic(lrs))
    assert response.status_code == 204
    assert response.get_data() == b""
    assert response.headers["X-Experience-API-Version"] == "1.0.3"
    with app.app_context():
        assert db.session.get(XapiStatement, OTHER_ID).statement["id"] == OTHER_ID
        assert db.session.scalar(select(UsageEvent.event_key)).endswith(f":{OTHER_ID}")
    # The same again is fine; other content under that id is a conflict.
    again = client.put(f"/xapi/statements?statementId={OTHER_ID}", json=body, headers=basic(lrs))
    assert again.status_code == 204
    other = {**body, "timestamp": "2026-01-06T09:00:00Z"}
    conflict = client.put(
        f"/xapi/statements?statementId={OTHER_ID}", json=other, headers=basic(lrs)
    )
    assert conflict.status_code == 409
    assert count(app, XapiStatement) == 1 and count(app, UsageEvent) == 1


@pytest.mark.parametrize(
    "query, payload",
    [
        ("", {k: v for k, v in statement().items() if k != "id"}),
        ("?statementId=not-a-uuid", {k: v for k, v in statement().items() if k != "id"}),
        (f"?statementId={OTHER_ID}", statement()),  # the body says another id
        (f"?statementId={OTHER_ID}", [statement(id=OTHER_ID)]),
    ],
)
def test_put_refuses_a_missing_or_mismatched_id(app, client, lrs, query, payload) -> None:
    response = client.put(f"/xapi/statements{query}", json=payload, headers=basic(lrs))
    assert response.status_code == 400 and response.is_json
    assert count(app, XapiStatement) == 0


def test_a_statement_without_id_gets_a_uuid(app, client, lrs) -> None:
    body = {k: v for k, v in statement().items() if k != "id"}
    response = post(client, lrs, [body, body])
    assert response.status_code == 200
    ids = response.get_json()
    assert len(ids) == 2 and ids[0] != ids[1]
    for given in ids:
        assert str(uuid.UUID(given)) == given
    with app.app_context():
        stored = {s.id: s.statement["id"] for s in db.session.scalars(select(XapiStatement))}
        assert stored == {given: given for given in ids}
        keys = set(db.session.scalars(select(UsageEvent.event_key)))
        assert {key.rsplit(":", 1)[1] for key in keys} == set(ids)


def test_the_actor_may_be_an_account_with_the_platform_user_id(app, client, lrs, users) -> None:
    actor = {"account": {"homePage": "https://crm.example.com", "name": "crm-0042"}}
    response = post(client, lrs, statement(actor=actor))
    assert response.status_code == 200
    with app.app_context():
        assert db.session.scalar(select(UsageEvent.user_id)) == users["learner2"]
        assert db.session.get(XapiStatement, STATEMENT_ID).user_id == users["learner2"]


def test_an_mbox_matches_the_email_in_any_case(app, client, lrs, users) -> None:
    post(client, lrs, statement(actor={"mbox": "mailto:Learner@Example.com"}))
    with app.app_context():
        assert db.session.scalar(select(UsageEvent.user_id)) == users["learner"]


def test_statements_about_other_things_are_stored_without_usage(app, client, lrs) -> None:
    ref = statement(verb={"id": VOIDED}, object={"objectType": "StatementRef", "id": OTHER_ID})
    course = statement(id=OTHER_ID, object={"id": "https://example.com/courses/crm-101"})
    elsewhere = statement(
        id=str(uuid.uuid4()), object={"id": "https://example.com/xapi/features/a/b"}
    )
    for payload in (ref, course, elsewhere):
        response = post(client, lrs, payload)
        assert response.status_code == 200, response.get_json()
        assert "recorded=0" in response.headers["X-LMS-Usage"]
    assert count(app, XapiStatement) == 3 and count(app, UsageEvent) == 0


def test_an_unknown_feature_under_the_catalogue_base_is_held(app, client, lrs) -> None:
    unknown = statement(object={"id": IRI_BASE + "marketing-automation/predictive-audiences"})
    response = post(client, lrs, unknown)
    assert response.status_code == 200
    assert "held=1" in response.headers["X-LMS-Usage"]
    with app.app_context():
        held = db.session.scalar(select(HeldUsage))
        assert held.feature_name == "predictive-audiences"
        assert held.event_key == f"id:{held.platform_id}:{STATEMENT_ID}"


def test_usage_the_statement_cannot_be_recorded_for_is_reported_not_lost(app, client, lrs):
    """The statement is valid xAPI, so the LRS stores it; the usage it reports is refused."""
    cases = [
        statement(actor={"mbox": "mailto:nobody@example.com"}),
        statement(id=OTHER_ID, timestamp="2999-01-01T00:00:00Z"),
        statement(id=str(uuid.uuid4()), timestamp="0001-01-01T00:00:00+01:00"),
        statement(id=str(uuid.uuid4()), actor={"mbox_sha1sum": "a" * 40}),
    ]
    for payload in cases:
        response = post(client, lrs, payload)
        assert response.status_code == 200
        assert "refused=1" in response.headers["X-LMS-Usage"]
    assert count(app, XapiStatement) == 4 and count(app, UsageEvent) == 0


def test_a_statement_and_an_api_event_with_its_id_are_one_event(app, client, lrs) -> None:
    assert post(client, lrs, statement()).status_code == 200
    response = client.post(
        "/api/v1/usage-events",
        json=[
            {
                "user": "learner@example.com",
                "platform": "marketing-automation",
                "feature": "segmentation",
                "timestamp": "2026-01-05T09:00:00Z",
                "event_id": STATEMENT_ID,
            }
        ],
        headers={"Authorization": f"Bearer {lrs['plain']}"},
    )
    assert response.get_json()["duplicates"] == 1
    assert count(app, UsageEvent) == 1
