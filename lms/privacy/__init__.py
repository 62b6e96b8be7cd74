"""Personal data: every model that holds it registers how to export and erase it.

`export_user_data(user)` gathers every registered model's export; `erase_user(user)` runs every
eraser. A test fails when a model with personal data (a column marked `info={"personal": True}`
or a foreign key to users) is missing from the registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Exporter = Callable[[Any], list[dict[str, Any]]]
Eraser = Callable[[Any], None]


@dataclass(frozen=True)
class PersonalDataHandler:
    model: type
    export: Exporter
    erase: Eraser
    #: Why erasure does what it does (shown to admins beside the export).
    policy: str


REGISTRY: dict[str, PersonalDataHandler] = {}


def register(model: type, *, export: Exporter, erase: Eraser, policy: str) -> None:
    REGISTRY[model.__tablename__] = PersonalDataHandler(model, export, erase, policy)


def export_user_data(user: Any) -> dict[str, Any]:
    return {
        name: {"policy": handler.policy, "records": handler.export(user)}
        for name, handler in sorted(REGISTRY.items())
    }


def erase_user(user: Any) -> None:
    # The user row goes last: other erasers may still need its id and e-mail address.
    for _name, handler in sorted(REGISTRY.items(), key=lambda item: item[0] == "users"):
        handler.erase(user)
