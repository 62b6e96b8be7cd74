"""Statement validation by the rules of xAPI 1.0.3 (Data section): what a statement must and may
contain, and the form of each property. Returns every problem with the property's path, so a
client learns all that is wrong at once. Pure: no Flask, no database.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

VOIDED = "http://adlnet.gov/expapi/verbs/voided"
IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$")
LANGUAGE_TAG = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")
SHA1 = re.compile(r"^[0-9a-fA-F]{40}$")
DURATION = re.compile(
    r"^P(?!$)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?"
    r"(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$"
)

STATEMENT_KEYS = {
    "id",
    "actor",
    "verb",
    "object",
    "result",
    "context",
    "timestamp",
    "stored",
    "authority",
    "version",
    "attachments",
}
AGENT_KEYS = {"objectType", "name", "mbox", "mbox_sha1sum", "openid", "account"}
GROUP_KEYS = AGENT_KEYS | {"member"}
IFIS = ("mbox", "mbox_sha1sum", "openid", "account")
ACTIVITY_KEYS = {"objectType", "id", "definition"}
DEFINITION_KEYS = {
    "name",
    "description",
    "type",
    "moreInfo",
    "extensions",
    "interactionType",
    "correctResponsesPattern",
    "choices",
    "scale",
    "source",
    "target",
    "steps",
}
INTERACTION_TYPES = {
    "true-false",
    "choice",
    "fill-in",
    "long-fill-in",
    "matching",
    "performance",
    "sequencing",
    "likert",
    "numeric",
    "other",
}
RESULT_KEYS = {"score", "success", "completion", "response", "duration", "extensions"}
SCORE_KEYS = {"scaled", "raw", "min", "max"}
CONTEXT_KEYS = {
    "registration",
    "instructor",
    "team",
    "contextActivities",
    "revision",
    "platform",
    "language",
    "statement",
    "extensions",
}
CONTEXT_ACTIVITY_KEYS = {"parent", "grouping", "category", "other"}
ATTACHMENT_KEYS = {
    "usageType",
    "display",
    "description",
    "contentType",
    "length",
    "sha2",
    "fileUrl",
}
SUBSTATEMENT_KEYS = {
    "objectType",
    "actor",
    "verb",
    "object",
    "result",
    "context",
    "timestamp",
    "attachments",
}


def _is_uuid(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def _iri(value: Any) -> bool:
    return isinstance(value, str) and bool(IRI.match(value))


def is_timestamp(value: Any) -> bool:
    if not isinstance(value, str) or value.endswith("-00:00"):
        return False  # xAPI: an offset of -00:00 is refused
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return "T" in value


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def mapping(self, value: Any, path: str, allowed: set[str]) -> bool:
        if not isinstance(value, dict):
            self.fail(path, "must be a JSON object")
            return False
        for key in sorted(set(value) - allowed):
            self.fail(f"{path}.{key}", "is not a property xAPI allows here")
        return True

    def language_map(self, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            self.fail(path, "must be a language map (an object keyed by language tags)")
            return
        for tag, text in value.items():
            if not LANGUAGE_TAG.match(str(tag)):
                self.fail(f"{path}.{tag}", "is not a language tag such as en-US")
            if not isinstance(text, str):
                self.fail(f"{path}.{tag}", "must be a string")

    def extensions(self, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            self.fail(path, "must be an object keyed by IRIs")
            return
        for key in value:
            if not _iri(key):
                self.fail(f"{path}.{key}", "extension keys must be IRIs")

    def agent(self, value: Any, path: str, group_allowed: bool = True) -> None:
        if not isinstance(value, dict):
            self.fail(path, "must be an Agent or Group object")
            return
        kind = value.get("objectType", "Agent")
        if kind == "Group" and group_allowed:
            self.mapping(value, path, GROUP_KEYS)
            ifis = [k for k in IFIS if k in value]
            if len(ifis) > 1:
                self.fail(
                    path,
                    "a Group has at most one identifier (mbox, mbox_sha1sum, openid or account)",
                )
            members = value.get("member")
            if not ifis and not isinstance(members, list):
                self.fail(f"{path}.member", "an anonymous Group must list its members")
            if members is not None:
                if not isinstance(members, list):
                    self.fail(f"{path}.member", "must be an array of Agents")
                else:
                    for index, member in enumerate(members):
                        self.agent(member, f"{path}.member[{index}]", group_allowed=False)
            for ifi in ifis:
                self._ifi(value, ifi, path)
            return
        if kind != "Agent":
            self.fail(
                f"{path}.objectType", "must be Agent" + (" or Group" if group_allowed else "")
            )
            return
        self.mapping(value, path, AGENT_KEYS)
        ifis = [k for k in IFIS if k in value]
        if len(ifis) != 1:
            self.fail(
                path, "an Agent has exactly one identifier: mbox, mbox_sha1sum, openid or account"
            )
        for ifi in ifis:
            self._ifi(value, ifi, path)
        if "name" in value and not isinstance(value["name"], str):
            self.fail(f"{path}.name", "must be a string")

    def _ifi(self, value: dict, ifi: str, path: str) -> None:
        item = value[ifi]
        if ifi == "mbox" and not (
            isinstance(item, str) and re.match(r"^mailto:[^@\s]+@\S+$", item)
        ):
            self.fail(f"{path}.mbox", "must be a mailto: IRI such as mailto:ana@example.com")
        elif ifi == "mbox_sha1sum" and not (isinstance(item, str) and SHA1.match(item)):
            self.fail(f"{path}.mbox_sha1sum", "must be 40 hexadecimal characters")
        elif ifi == "openid" and not _iri(item):
            self.fail(f"{path}.openid", "must be a URI")
        elif ifi == "account" and self.mapping(item, f"{path}.account", {"homePage", "name"}):
            if not (
                isinstance(item.get("homePage"), str)
                and re.match(r"^https?://\S+$", item["homePage"])
            ):
                self.fail(f"{path}.account.homePage", "must be an IRL (an http(s) URL)")
            if not isinstance(item.get("name"), str) or not item.get("name"):
                self.fail(f"{path}.account.name", "is required and must be a string")

    def verb(self, value: Any, path: str) -> None:
        if not self.mapping(value, path, {"id", "display"}):
            return
        if not _iri(value.get("id")):
            self.fail(f"{path}.id", "is required and must be an IRI")
        if "display" in value:
            self.language_map(value["display"], f"{path}.display")

    def activity(self, value: Any, path: str) -> None:
        if not self.mapping(value, path, ACTIVITY_KEYS):
            return
        if not _iri(value.get("id")):
            self.fail(f"{path}.id", "is required and must be an IRI")
        definition = value.get("definition")
        if definition is None:
            return
        if not self.mapping(definition, f"{path}.definition", DEFINITION_KEYS):
            return
        for key in ("name", "description"):
            if key in definition:
                self.language_map(definition[key], f"{path}.definition.{key}")
        if "type" in definition and not _iri(definition["type"]):
            self.fail(f"{path}.definition.type", "must be an IRI")
        if "moreInfo" in definition and not _iri(definition["moreInfo"]):
            self.fail(f"{path}.definition.moreInfo", "must be an IRL")
        if "extensions" in definition:
            self.extensions(definition["extensions"], f"{path}.definition.extensions")
        kind = definition.get("interactionType")
        if kind is not None and kind not in INTERACTION_TYPES:
            self.fail(f"{path}.definition.interactionType", "is not an xAPI interaction type")
        if "correctResponsesPattern" in definition and not (
            isinstance(definition["correctResponsesPattern"], list)
            and all(isinstance(p, str) for p in definition["correctResponsesPattern"])
        ):
            self.fail(f"{path}.definition.correctResponsesPattern", "must be an array of strings")

    def statement_ref(self, value: Any, path: str) -> None:
        if self.mapping(value, path, {"objectType", "id"}) and not _is_uuid(value.get("id")):
            self.fail(f"{path}.id", "must be a UUID")

    def object(self, value: Any, path: str, substatement_allowed: bool = True) -> None:
        if not isinstance(value, dict):
            self.fail(path, "is required and must be a JSON object")
            return
        kind = value.get("objectType", "Activity")
        if kind == "Activity":
            self.activity(value, path)
        elif kind in ("Agent", "Group"):
            self.agent(value, path)
        elif kind == "StatementRef":
            self.statement_ref(value, path)
        elif kind == "SubStatement" and substatement_allowed:
            self.substatement(value, path)
        else:
            self.fail(f"{path}.objectType", f"{kind!r} is not allowed here")

    def substatement(self, value: dict, path: str) -> None:
        self.mapping(value, path, SUBSTATEMENT_KEYS)
        self.agent(value.get("actor"), f"{path}.actor")
        self.verb(value.get("verb"), f"{path}.verb")
        self.object(value.get("object"), f"{path}.object", substatement_allowed=False)
        self._common(value, path)

    def result(self, value: Any, path: str) -> None:
        if not self.mapping(value, path, RESULT_KEYS):
            return
        score = value.get("score")
        if score is not None and self.mapping(score, f"{path}.score", SCORE_KEYS):
            for key in SCORE_KEYS & set(score):
                if not isinstance(score[key], int | float) or isinstance(score[key], bool):
                    self.fail(f"{path}.score.{key}", "must be a number")
            numbers = {
                k: v
                for k, v in score.items()
                if isinstance(v, int | float) and not isinstance(v, bool)
            }
            if "scaled" in numbers and not -1 <= numbers["scaled"] <= 1:
                self.fail(f"{path}.score.scaled", "must be between -1 and 1")
            low, high = numbers.get("min"), numbers.get("max")
            if low is not None and high is not None and low > high:
                self.fail(f"{path}.score", "min must not exceed max")
            raw = numbers.get("raw")
            if raw is not None and (
                (low is not None and raw < low) or (high is not None and raw > high)
            ):
                self.fail(f"{path}.score.raw", "must lie between min and max")
        for key in ("success", "completion"):
            if key in value and not isinstance(value[key], bool):
                self.fail(f"{path}.{key}", "must be true or false")
        if "response" in value and not isinstance(value["response"], str):
            self.fail(f"{path}.response", "must be a string")
        if "duration" in value and not (
            isinstance(value["duration"], str) and DURATION.match(value["duration"])
        ):
            self.fail(f"{path}.duration", "must be an ISO 8601 duration such as PT1H30M")
        if "extensions" in value:
            self.extensions(value["extensions"], f"{path}.extensions")

    def context(self, value: Any, path: str, object_kind: str) -> None:
        if not self.mapping(value, path, CONTEXT_KEYS):
            return
        if "registration" in value and not _is_uuid(value["registration"]):
            self.fail(f"{path}.registration", "must be a UUID")
        if "instructor" in value:
            self.agent(value["instructor"], f"{path}.instructor")
        if "team" in value:
            team = value["team"]
            if not isinstance(team, dict) or team.get("objectType") != "Group":
                self.fail(f"{path}.team", "must be a Group")
            else:
                self.agent(team, f"{path}.team")
        activities = value.get("contextActivities")
        if activities is not None and self.mapping(
            activities, f"{path}.contextActivities", CONTEXT_ACTIVITY_KEYS
        ):
            for key, items in activities.items():
                for index, item in enumerate(items if isinstance(items, list) else [items]):
                    self.activity(item, f"{path}.contextActivities.{key}[{index}]")
        for key in ("revision", "platform"):
            if key in value:
                if not isinstance(value[key], str):
                    self.fail(f"{path}.{key}", "must be a string")
                if object_kind != "Activity":
                    self.fail(f"{path}.{key}", "is allowed only when the object is an Activity")
        if "language" in value and not (
            isinstance(value["language"], str) and LANGUAGE_TAG.match(value["language"])
        ):
            self.fail(f"{path}.language", "must be a language tag such as en-US")
        if "statement" in value:
            self.statement_ref(value["statement"], f"{path}.statement")
        if "extensions" in value:
            self.extensions(value["extensions"], f"{path}.extensions")

    def _common(self, value: dict, path: str) -> None:
        if "result" in value:
            self.result(value["result"], f"{path}.result")
        if "context" in value:
            kind = (
                (value.get("object") or {}).get("objectType", "Activity")
                if isinstance(value.get("object"), dict)
                else "Activity"
            )
            self.context(value["context"], f"{path}.context", kind)
        if "timestamp" in value and not is_timestamp(value["timestamp"]):
            self.fail(f"{path}.timestamp", "must be an ISO 8601 date and time")
        attachments = value.get("attachments")
        for index, attachment in enumerate(attachments if isinstance(attachments, list) else []):
            where = f"{path}.attachments[{index}]"
            if self.mapping(attachment, where, ATTACHMENT_KEYS):
                for key in ("usageType", "display", "contentType", "length", "sha2"):
                    if key not in attachment:
                        self.fail(f"{where}.{key}", "is required")
                if "usageType" in attachment and not _iri(attachment["usageType"]):
                    self.fail(f"{where}.usageType", "must be an IRI")
                if "display" in attachment:
                    self.language_map(attachment["display"], f"{where}.display")
                if "length" in attachment and (
                    not isinstance(attachment["length"], int)
                    or isinstance(attachment["length"], bool)
                ):
                    self.fail(f"{where}.length", "must be an integer")
        if "attachments" in value and not isinstance(value["attachments"], list):
            self.fail(f"{path}.attachments", "must be an array")


def statement_problems(statement: Any, path: str = "statement") -> list[str]:
    """Everything that makes `statement` invalid under xAPI 1.0.3; empty when it is valid."""
    check = _Checker()
    if not check.mapping(statement, path, STATEMENT_KEYS):
        return check.problems
    for key in ("actor", "verb", "object"):
        if key not in statement:
            check.fail(f"{path}.{key}", "is required")
    if "id" in statement and not _is_uuid(statement["id"]):
        check.fail(f"{path}.id", "must be a UUID")
    if "actor" in statement:
        check.agent(statement["actor"], f"{path}.actor")
    if "verb" in statement:
        check.verb(statement["verb"], f"{path}.verb")
    if "object" in statement:
        check.object(statement["object"], f"{path}.object")
    check._common(statement, path)
    if "stored" in statement and not is_timestamp(statement["stored"]):
        check.fail(f"{path}.stored", "must be an ISO 8601 date and time")
    if "authority" in statement:
        check.agent(statement["authority"], f"{path}.authority")
    if "version" in statement and not (
        isinstance(statement["version"], str) and re.match(r"^1\.0(\.\d+)?$", statement["version"])
    ):
        check.fail(f"{path}.version", "must be 1.0.x")
    verb = statement.get("verb") if isinstance(statement.get("verb"), dict) else {}
    target = statement.get("object") if isinstance(statement.get("object"), dict) else {}
    if verb.get("id") == VOIDED and target.get("objectType") != "StatementRef":
        check.fail(f"{path}.object", "a voiding statement's object must be a StatementRef")
    return check.problems
