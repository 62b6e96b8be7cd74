"""The schema of the curriculum files in `curricula/`: one pydantic model per kind of file.

The schema is the contract between content authors and the code: a file that does not match it
is refused whole, with an error naming the file, line and field (see `lms.curricula.files`).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from pydantic_core import PydanticCustomError

SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")

#: Stable identifiers: lower-case words joined by hyphens. They never change once published,
#: because learner records refer to content by them.
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=80)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _unique_ids(items: list, what: str) -> list:
    """Refuse a repeated id; the error carries the index of the repeat, so the message can
    point at its line rather than at the start of the list (see `lms.curricula.files`)."""
    seen: set[str] = set()
    for index, item in enumerate(items):
        if item.id in seen:
            raise PydanticCustomError(
                "duplicate_id",
                "duplicate {what} id {id}",
                {"what": what, "id": repr(item.id), "index": index},
            )
        seen.add(item.id)
    return items


class Objective(Strict):
    id: Slug
    text: Text


class Module(Strict):
    id: Slug
    title: Text
    summary: Text | None = None
    objectives: list[Objective] = Field(min_length=1)

    @field_validator("objectives")
    @classmethod
    def _objective_ids_unique(cls, value: list[Objective]) -> list[Objective]:
        return _unique_ids(value, "objective")


class Programme(Strict):
    """One programme: a deep-dive curriculum (seeds 000-003) or a platform track of seed 004."""

    schema_: Literal["lms/programme/1"] = Field(alias="schema")
    id: Slug
    version: str
    kind: Literal["curriculum", "platform-track"]
    title: Text
    source: Text
    summary: Text
    modules: list[Module] = Field(min_length=1)

    @field_validator("version")
    @classmethod
    def _semver(cls, value: str) -> str:
        if not SEMVER.match(value):
            raise ValueError("must be a semantic version such as 1.0.0")
        return value

    @field_validator("modules")
    @classmethod
    def _module_ids_unique(cls, value: list[Module]) -> list[Module]:
        return _unique_ids(value, "module")


class Stage(Strict):
    id: Literal["initial", "proficiency", "expert", "innovation", "partnership"]
    name: Text
    #: Window in days from the enrolment's start; `window_end_day` is None for open-ended stages.
    window_start_day: int = Field(ge=0)
    window_end_day: int | None = Field(default=None, gt=0)
    focus: Text
    source_text: Text


class Step(Strict):
    number: int = Field(ge=1)
    title: Text
    description: Text


class Procedure(Strict):
    id: Slug
    title: Text
    group: Text
    steps: list[Step] = Field(min_length=1)

    @field_validator("steps")
    @classmethod
    def _numbered_in_order(cls, value: list[Step]) -> list[Step]:
        numbers = [step.number for step in value]
        if numbers != list(range(1, len(value) + 1)):
            raise ValueError(f"steps must be numbered 1..{len(value)} in order, got {numbers}")
        return value


class Item(Strict):
    """A titled bullet of the framework: a best practice, a training topic, a success measure."""

    id: Slug
    title: Text
    description: Text


class ItemGroup(Strict):
    id: Slug
    title: Text
    section: Text
    items: list[Item] = Field(min_length=1)

    @field_validator("items")
    @classmethod
    def _item_ids_unique(cls, value: list[Item]) -> list[Item]:
        return _unique_ids(value, "item")


class IntegrationDomain(Strict):
    id: Literal["sales", "product", "customer-success", "finance"]
    title: Text
    items: list[Item] = Field(min_length=1)


class AcceptanceCriterion(Strict):
    id: Slug
    text: Text
    #: The metric in figures.yaml whose value decides this criterion, when the data can say.
    metric: Slug | None = None


class AcceptanceGroup(Strict):
    id: Slug
    title: Text
    criteria: list[AcceptanceCriterion] = Field(min_length=1)


class Framework(Strict):
    """Seed 004 apart from its platform tracks (which are programmes of their own)."""

    schema_: Literal["lms/framework/1"] = Field(alias="schema")
    id: Slug
    version: str
    title: Text
    source: Text
    summary: Text
    stages: list[Stage] = Field(min_length=5, max_length=5)
    procedures: list[Procedure] = Field(min_length=1)
    best_practices: list[ItemGroup] = Field(min_length=1)
    success_criteria: list[ItemGroup] = Field(min_length=1)
    integration_domains: list[IntegrationDomain] = Field(min_length=4, max_length=4)
    technical_integration: ItemGroup
    continuous_learning: list[ItemGroup] = Field(min_length=1)
    acceptance_criteria: list[AcceptanceGroup] = Field(min_length=1)

    @field_validator("version")
    @classmethod
    def _semver(cls, value: str) -> str:
        return Programme._semver(value)

    @field_validator("stages")
    @classmethod
    def _stages_in_order(cls, value: list[Stage]) -> list[Stage]:
        expected = ["initial", "proficiency", "expert", "innovation", "partnership"]
        if [stage.id for stage in value] != expected:
            raise ValueError(f"stages must be listed in the order {', '.join(expected)}")
        return value


class Target(Strict):
    value: float
    unit: Literal["ratio", "days", "minutes", "currency", "count", "points"]
    source: Text


class Figures(Strict):
    """Every figure the seeds name, kept once; code reads them from here (`lms.figures`)."""

    schema_: Literal["lms/figures/1"] = Field(alias="schema")
    version: str
    as_of: date | None = None
    figures: dict[Slug, Target] = Field(min_length=1)

    @field_validator("version")
    @classmethod
    def _semver(cls, value: str) -> str:
        return Programme._semver(value)
