"""Question types as a registry of classes, one per type, found by id (`QUESTION_TYPES`).

Each type knows three things, and nothing about Flask or the database:
- its `Spec`: the pydantic model of the question as written in a curriculum file;
- `present(spec, rng)`: the question as shown to one learner in one attempt (options shuffled by
  the attempt's seeded random generator) together with the answer key for exactly that view.
  The pair is the attempt's snapshot: later edits of the file never change a past result;
- `parse(form)` and `score(snapshot, answer)`: read an answer from a submitted form, and grade it
  on the server as a fraction from 0 to 1.

The key never leaves the server before submission: templates get `public_view(snapshot)`.
"""

from __future__ import annotations

import math
import random
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=80)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
#: An objective a question tests: its id in a module's bank, "module-id/objective-id" in a
#: programme's pre- or post-assessment. Which form fits is checked against the programme
#: (`lms.curricula.schema.Programme.references`).
ObjectiveTag = Annotated[
    str,
    StringConstraints(
        pattern=r"^[a-z0-9]+(-[a-z0-9]+)*(/[a-z0-9]+(-[a-z0-9]+)*)?$", max_length=161
    ),
]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Slug
    #: The objectives it tests: ids of the module's objectives (in a programme's pre- and
    #: post-assessment, `module-id/objective-id`). Optional here so untagged banks still load;
    #: the content linter demands tags in taught modules.
    objectives: list[ObjectiveTag] = Field(default_factory=list)
    prompt: Text
    explanation: Text
    points: float = Field(default=1, gt=0)

    @field_validator("objectives")
    @classmethod
    def _tags_once(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("an objective is named twice")
        return value


class Option(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Slug
    text: Text
    correct: bool = False
    #: Why this option is right or wrong, shown with the feedback.
    feedback: str | None = None


def _check_option_ids(options: list[Option]) -> None:
    ids = [option.id for option in options]
    if len(set(ids)) != len(ids):
        raise ValueError("option ids must be unique within a question")


class SingleChoiceSpec(_Spec):
    type: Literal["single-choice"]
    options: list[Option] = Field(min_length=2)

    @model_validator(mode="after")
    def _one_correct(self) -> SingleChoiceSpec:
        _check_option_ids(self.options)
        if sum(option.correct for option in self.options) != 1:
            raise ValueError("exactly one option must be marked correct")
        return self


class ScenarioSpec(SingleChoiceSpec):
    """A situation, then the decision: scored like single choice, counted for decision quality."""

    type: Literal["scenario"]  # type: ignore[assignment]
    scenario: Text


class MultipleResponseSpec(_Spec):
    type: Literal["multiple-response"]
    options: list[Option] = Field(min_length=2)

    @model_validator(mode="after")
    def _some_correct(self) -> MultipleResponseSpec:
        _check_option_ids(self.options)
        if not any(option.correct for option in self.options):
            raise ValueError("at least one option must be marked correct")
        return self


class NumericSpec(_Spec):
    type: Literal["numeric"]
    answer: float
    #: Accepted distance from the answer, absolute (in the answer's unit).
    tolerance: float = Field(default=0, ge=0)
    unit: str | None = None
    #: How the key is worked out, over the named `inputs` (arithmetic only, never eval'd): the
    #: content linter recomputes `answer` from it.
    formula: str | None = None
    inputs: dict[str, float] = Field(default_factory=dict)
    #: Answers a learner might plausibly give by a known mistake; the tolerance must exclude them.
    wrong_answers: list[float] = Field(default_factory=list)


class OrderingSpec(_Spec):
    type: Literal["ordering"]
    #: The items in their correct order.
    items: list[Option] = Field(min_length=2)


class Pair(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Slug
    left: Text
    right: Text


class MatchingSpec(_Spec):
    type: Literal["matching"]
    pairs: list[Pair] = Field(min_length=2)


QuestionSpec = Annotated[
    SingleChoiceSpec
    | ScenarioSpec
    | MultipleResponseSpec
    | NumericSpec
    | OrderingSpec
    | MatchingSpec,
    Field(discriminator="type"),
]


class QuestionType:
    """Base class: subclasses set `id`, `name`, `Spec` and implement the three steps."""

    id: ClassVar[str]
    name: ClassVar[str]
    Spec: ClassVar[type[_Spec]]
    #: Counted in the scenario (decision) score of pre- and post-assessments.
    is_scenario: ClassVar[bool] = False

    def present(self, spec: Any, rng: random.Random) -> dict[str, Any]:
        raise NotImplementedError

    def parse(self, snapshot: dict[str, Any], form: Any, field: str) -> Any:
        raise NotImplementedError

    def score(self, snapshot: dict[str, Any], answer: Any) -> float:
        raise NotImplementedError

    def describe_answer(self, snapshot: dict[str, Any], answer: Any) -> str:
        return str(answer)

    def describe_key(self, snapshot: dict[str, Any]) -> str:
        return str(snapshot["key"])

    @staticmethod
    def _base(spec: _Spec) -> dict[str, Any]:
        return {
            "type": spec.type,  # type: ignore[attr-defined]
            "prompt": spec.prompt,
            "explanation": spec.explanation,
            "points": spec.points,
        }


def _shuffled(items: list, rng: random.Random) -> list:
    copy = list(items)
    rng.shuffle(copy)
    return copy


def _option_text(snapshot: dict[str, Any], option_id: str) -> str:
    for option in snapshot["options"]:
        if option["id"] == option_id:
            return option["text"]
    return option_id


class SingleChoice(QuestionType):
    id = "single-choice"
    name = "Single choice"
    Spec = SingleChoiceSpec

    def present(self, spec: Any, rng: random.Random) -> dict[str, Any]:
        options = _shuffled(spec.options, rng)
        return {
            **self._base(spec),
            "options": [{"id": o.id, "text": o.text, "feedback": o.feedback} for o in options],
            "key": next(o.id for o in spec.options if o.correct),
        }

    def parse(self, snapshot: dict[str, Any], form: Any, field: str) -> Any:
        value = form.get(field)
        return value if value in {o["id"] for o in snapshot["options"]} else None

    def score(self, snapshot: dict[str, Any], answer: Any) -> float:
        return 1.0 if answer is not None and answer == snapshot["key"] else 0.0

    def describe_answer(self, snapshot: dict[str, Any], answer: Any) -> str:
        return _option_text(snapshot, answer) if answer else "No answer"

    def describe_key(self, snapshot: dict[str, Any]) -> str:
        return _option_text(snapshot, snapshot["key"])


class Scenario(SingleChoice):
    id = "scenario"
    name = "Scenario"
    Spec = ScenarioSpec
    is_scenario = True

    def present(self, spec: Any, rng: random.Random) -> dict[str, Any]:
        return {**super().present(spec, rng), "scenario": spec.scenario}


class MultipleResponse(QuestionType):
    """Partial credit: (right choices − wrong choices) ÷ right options, never below zero."""

    id = "multiple-response"
    name = "Multiple response"
    Spec = MultipleResponseSpec

    def present(self, spec: Any, rng: random.Random) -> dict[str, Any]:
        options = _shuffled(spec.options, rng)
        return {
            **self._base(spec),
            "options": [{"id": o.id, "text": o.text, "feedback": o.feedback} for o in options],
            "key": sorted(o.id for o in spec.options if o.correct),
        }

    def parse(self, snapshot: dict[str, Any], form: Any, field: str) -> Any:
        valid = {o["id"] for o in snapshot["options"]}
        return sorted({value for value in form.getlist(field) if value in valid})

    def score(self, snapshot: dict[str, Any], answer: Any) -> float:
        key = set(snapshot["key"])
        chosen = set(answer or [])
        return max(0.0, (len(chosen & key) - len(chosen - key)) / len(key))

    def describe_answer(self, snapshot: dict[str, Any], answer: Any) -> str:
        return "; ".join(_option_text(snapshot, a) for a in answer) if answer else "No answer"

    def describe_key(self, snapshot: dict[str, Any]) -> str:
        return "; ".join(_option_text(snapshot, k) for k in snapshot["key"])


class Numeric(QuestionType):
    id = "numeric"
    name = "Numeric"
    Spec = NumericSpec

    def present(self, spec: Any, rng: random.Random) -> dict[str, Any]:
        return {
            **self._base(spec),
            "unit": spec.unit,
            "key": {"answer": spec.answer, "tolerance": spec.tolerance},
        }

    def parse(self, snapshot: dict[str, Any], form: Any, field: str) -> Any:
        # Accept what people type: thousands separators, a currency sign, a percent sign.
        text = (form.get(field) or "").strip().replace(",", "").replace(" ", "")
        text = text.lstrip("$€£").removesuffix("%")
        try:
            value = float(text)
        except ValueError:
            return None
        return value if math.isfinite(value) else None

    def score(self, snapshot: dict[str, Any], answer: Any) -> float:
        if answer is None:
            return 0.0
        key = snapshot["key"]
        # A hair of slack so 0.1 + 0.2 style rounding never fails a right answer.
        return 1.0 if abs(answer - key["answer"]) <= key["tolerance"] + 1e-9 else 0.0

    def describe_answer(self, snapshot: dict[str, Any], answer: Any) -> str:
        unit = f" {snapshot['unit']}" if snapshot.get("unit") else ""
        return "No answer" if answer is None else f"{answer:g}{unit}"

    def describe_key(self, snapshot: dict[str, Any]) -> str:
        key = snapshot["key"]
        unit = f" {snapshot['unit']}" if snapshot.get("unit") else ""
        within = f" (± {key['tolerance']:g})" if key["tolerance"] else ""
        return f"{key['answer']:g}{unit}{within}"


class Ordering(QuestionType):
    """Credit for each item in its right place."""

    id = "ordering"
    name = "Ordering"
    Spec = OrderingSpec

    def present(self, spec: Any, rng: random.Random) -> dict[str, Any]:
        shown = _shuffled(spec.items, rng)
        if len(shown) > 1 and [i.id for i in shown] == [i.id for i in spec.items]:
            shown = shown[1:] + shown[:1]  # never show the answer as the starting order
        return {
            **self._base(spec),
            "options": [{"id": i.id, "text": i.text} for i in shown],
            "key": [i.id for i in spec.items],
        }

    def parse(self, snapshot: dict[str, Any], form: Any, field: str) -> Any:
        """Each item gets a position number (1 = first); ties and gaps make no answer."""
        positions = {}
        for option in snapshot["options"]:
            try:
                positions[option["id"]] = int(form.get(f"{field}-{option['id']}", ""))
            except ValueError:
                return None
        if sorted(positions.values()) != list(range(1, len(positions) + 1)):
            return None
        return [item for item, _ in sorted(positions.items(), key=lambda pair: pair[1])]

    def score(self, snapshot: dict[str, Any], answer: Any) -> float:
        if not answer:
            return 0.0
        key = snapshot["key"]
        return sum(a == k for a, k in zip(answer, key, strict=False)) / len(key)

    def describe_answer(self, snapshot: dict[str, Any], answer: Any) -> str:
        return " → ".join(_option_text(snapshot, a) for a in answer) if answer else "No answer"

    def describe_key(self, snapshot: dict[str, Any]) -> str:
        return " → ".join(_option_text(snapshot, k) for k in snapshot["key"])


class Matching(QuestionType):
    """Credit for each left-hand item matched to its right-hand partner."""

    id = "matching"
    name = "Matching"
    Spec = MatchingSpec

    def present(self, spec: Any, rng: random.Random) -> dict[str, Any]:
        lefts = _shuffled(spec.pairs, rng)
        rights = _shuffled(spec.pairs, rng)
        return {
            **self._base(spec),
            "lefts": [{"id": p.id, "text": p.left} for p in lefts],
            # Right-hand choices get ids of their own, so the form does not reveal the pairing.
            "rights": [{"id": f"r{n}", "text": p.right} for n, p in enumerate(rights, 1)],
            "key": {p.id: f"r{rights.index(p) + 1}" for p in spec.pairs},
        }

    def parse(self, snapshot: dict[str, Any], form: Any, field: str) -> Any:
        valid = {r["id"] for r in snapshot["rights"]}
        answer = {}
        for left in snapshot["lefts"]:
            value = form.get(f"{field}-{left['id']}")
            if value in valid:
                answer[left["id"]] = value
        return answer

    def score(self, snapshot: dict[str, Any], answer: Any) -> float:
        key = snapshot["key"]
        return sum((answer or {}).get(left) == right for left, right in key.items()) / len(key)

    def _right(self, snapshot: dict[str, Any], right_id: str | None) -> str:
        return next((r["text"] for r in snapshot["rights"] if r["id"] == right_id), "nothing")

    def describe_answer(self, snapshot: dict[str, Any], answer: Any) -> str:
        return "; ".join(
            f"{left['text']} → {self._right(snapshot, (answer or {}).get(left['id']))}"
            for left in snapshot["lefts"]
        )

    def describe_key(self, snapshot: dict[str, Any]) -> str:
        return "; ".join(
            f"{left['text']} → {self._right(snapshot, snapshot['key'][left['id']])}"
            for left in snapshot["lefts"]
        )


QUESTION_TYPES: dict[str, QuestionType] = {
    kind.id: kind()
    for kind in (SingleChoice, Scenario, MultipleResponse, Numeric, Ordering, Matching)
}


def question_type(type_id: str) -> QuestionType:
    return QUESTION_TYPES[type_id]


def public_view(snapshot: dict[str, Any]) -> dict[str, Any]:
    """What the browser may see before submission: the snapshot without key or explanations."""
    hidden = {"key", "explanation"}
    view = {name: value for name, value in snapshot.items() if name not in hidden}
    if "options" in view:
        view["options"] = [{"id": o["id"], "text": o["text"]} for o in view["options"]]
    return view
