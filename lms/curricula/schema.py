"""The schema of the curriculum files in `curricula/`: one pydantic model per kind of file.

The schema is the contract between content authors and the code: a file that does not match it
is refused whole, with an error naming the file, line and field (see `lms.curricula.files`).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from lms.assessments.questions import QuestionSpec

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


StageId = Literal["initial", "proficiency", "expert", "innovation", "partnership"]
STAGE_IDS: tuple[str, ...] = ("initial", "proficiency", "expert", "innovation", "partnership")

#: Gate requirement kinds and what each refers to. `lms.stages.requirements` holds the class that
#: evaluates each; a kind whose feature has not landed yet simply has nothing to refer to.
REQUIREMENT_KINDS: dict[str, str] = {
    "module-completed": "module",
    "assessment-passed": "assessment",
    "exercise-passed": "exercise",
    "demonstration-proficient": "demonstration",
}

#: Where a file refers to something that does not exist: (location inside the file, message).
Reference = tuple[tuple[str | int, ...], str]


class Objective(Strict):
    id: Slug
    text: Text


class LessonSection(Strict):
    """One section of a module's lesson, in Markdown; learners mark each section done."""

    id: Slug
    title: Text
    body: Text
    #: The module's objectives it teaches; unset: the objective with the section's id, if any.
    objectives: list[Slug] | None = None
    #: `programme/module/section` when the section is written once elsewhere and shown here.
    included_from: str | None = None


class JobAid(Strict):
    """A template a learner downloads to produce an objective's artefact (a KPI definition card,
    a retention schedule): a Markdown or CSV file in the programme folder's `job-aids/`."""

    id: Slug
    title: Text
    file: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*\.(md|csv)$")]
    #: The objective whose artefact it is (an id of the module's objectives).
    objective: Slug | None = None
    #: The file's text, read from `job-aids/<file>` when the folder is assembled.
    content: Text


class Assessment(Strict):
    """A bank of questions with its rules. Unset values take the defaults in figures.yaml."""

    id: Slug
    title: Text
    #: Fraction of points needed to pass; default `assessment-pass-mark` (0.80).
    pass_mark: float | None = Field(default=None, gt=0, le=1)
    #: Submitted attempts allowed; None means unlimited.
    attempts_allowed: int | None = Field(default=3, ge=1)
    time_limit_minutes: int | None = Field(default=None, gt=0)
    #: Questions drawn at random for each attempt; None means every question.
    draw: int | None = Field(default=None, ge=1)
    #: When answers and explanations are shown: after every attempt, only once no attempts
    #: remain (or the learner has passed), or never (the score only: pre- and post-assessments,
    #: whose keys must not teach the answers to the parallel form).
    feedback: Literal["after-each-attempt", "after-last-attempt", "never"] = "after-each-attempt"
    questions: list[QuestionSpec] = Field(min_length=1)

    @field_validator("questions")
    @classmethod
    def _question_ids_unique(cls, value: list) -> list:
        return _unique_ids(value, "question")

    def references(self) -> list[Reference]:
        if self.draw is not None and self.draw > len(self.questions):
            return [
                (("draw",), f"draws {self.draw} questions from a bank of {len(self.questions)}")
            ]
        return []


class Module(Strict):
    id: Slug
    title: Text
    summary: Text | None = None
    #: The adoption stage this module is taught in (see docs/curricula.md for the placement).
    stage: StageId
    objectives: list[Objective] = Field(min_length=1)
    #: Reading time of the lesson, as the author estimates it.
    estimated_minutes: int | None = Field(default=None, ge=1, le=600)
    #: Modules of the same programme to study first (ids).
    prerequisites: list[Slug] = Field(default_factory=list)
    lesson: list[LessonSection] = Field(default_factory=list)
    assessment: Assessment | None = None
    job_aids: list[JobAid] = Field(default_factory=list)

    @property
    def in_preparation(self) -> bool:
        """A module without a lesson cannot be completed and counts for nothing."""
        return not self.lesson

    def section_objectives(self, section: LessonSection) -> list[str]:
        """The objectives a section teaches: as listed, or the objective sharing its id."""
        if section.objectives is not None:
            return list(section.objectives)
        return [section.id] if section.id in {o.id for o in self.objectives} else []

    def references(self) -> list[Reference]:
        problems: list[Reference] = []
        objective_ids = {objective.id for objective in self.objectives}
        for index, section in enumerate(self.lesson):
            for o_index, objective in enumerate(section.objectives or []):
                if objective not in objective_ids:
                    problems.append(
                        (
                            ("lesson", index, "objectives", o_index),
                            f"no objective {objective!r} in this module",
                        )
                    )
        if self.id in self.prerequisites:
            problems.append((("prerequisites",), "a module cannot be its own prerequisite"))
        seen: set[str] = set()
        for index, aid in enumerate(self.job_aids):
            if aid.objective is not None and aid.objective not in objective_ids:
                problems.append(
                    (
                        ("job_aids", index, "objective"),
                        f"no objective {aid.objective!r} in this module",
                    )
                )
            if aid.id in seen:
                problems.append((("job_aids", index, "id"), f"job aid id {aid.id!r} is used twice"))
            seen.add(aid.id)
        return problems

    @field_validator("objectives")
    @classmethod
    def _objective_ids_unique(cls, value: list[Objective]) -> list[Objective]:
        return _unique_ids(value, "objective")

    @field_validator("lesson")
    @classmethod
    def _section_ids_unique(cls, value: list[LessonSection]) -> list[LessonSection]:
        return _unique_ids(value, "lesson section")


class EvidenceItem(Strict):
    """One piece of evidence a demonstration asks for."""

    id: Slug
    kind: Literal["checklist", "text", "link", "file"]
    label: Text
    help: Text | None = None
    #: Required items must be given (every checklist item ticked) before a submission is sent.
    required: bool = True
    #: checklist only: the statements the learner confirms.
    items: list[Text] = Field(default_factory=list)
    #: text only: the fewest words that count as an answer.
    min_words: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _fits_kind(self) -> EvidenceItem:
        if (self.kind == "checklist") != bool(self.items):
            raise ValueError("`items` lists the statements of a checklist, and only of one")
        if self.min_words is not None and self.kind != "text":
            raise ValueError("`min_words` applies to text evidence only")
        return self


class Criterion(Strict):
    """One row of an analytic rubric: points and a descriptor for each level."""

    id: Slug
    title: Text
    points: list[Annotated[int, Field(ge=0)]]
    descriptors: list[Text]

    @field_validator("points")
    @classmethod
    def _ascending(cls, value: list[int]) -> list[int]:
        if any(b <= a for a, b in zip(value, value[1:], strict=False)):
            raise ValueError(f"points rise from level to level, got {value}")
        if value and value[-1] == 0:
            raise ValueError("the top level earns points")
        return value


class Rubric(Strict):
    """An analytic rubric: criteria (rows) by levels (columns), a descriptor in every cell."""

    levels: list[Text] = Field(min_length=2, max_length=6)
    criteria: list[Criterion] = Field(min_length=1)

    @field_validator("criteria")
    @classmethod
    def _criterion_ids_unique(cls, value: list[Criterion]) -> list[Criterion]:
        return _unique_ids(value, "criterion")

    @model_validator(mode="after")
    def _every_cell(self) -> Rubric:
        size = len(self.levels)
        for criterion in self.criteria:
            if len(criterion.points) != size or len(criterion.descriptors) != size:
                raise ValueError(
                    f"criterion {criterion.id!r} needs {size} points and {size} descriptors, "
                    f"one per level ({', '.join(self.levels)})"
                )
        return self


class Demonstration(Strict):
    """A practical task graded against a rubric; a gate may require it graded proficient."""

    id: Slug
    title: Text
    stage: StageId
    summary: Text
    #: Markdown: what to do, where (a sandbox), and what a good result looks like.
    instructions: Text
    #: The modules whose learning it puts into practice (ids in this programme).
    modules: list[Slug] = Field(default_factory=list)
    evidence: list[EvidenceItem] = Field(min_length=1)
    rubric: Rubric
    #: Fraction of rubric points that counts as proficient; default
    #: `demonstration-proficient-threshold` (0.75) in figures.yaml.
    proficient_at: float | None = Field(default=None, gt=0, le=1)

    @field_validator("evidence")
    @classmethod
    def _evidence_ids_unique(cls, value: list[EvidenceItem]) -> list[EvidenceItem]:
        return _unique_ids(value, "evidence")


def _requirement(value: dict[str, str]) -> dict[str, str]:
    if not isinstance(value, dict) or len(value) != 1:
        raise ValueError("a requirement is one `kind: id` pair, e.g. `module-completed: intro`")
    kind = next(iter(value))
    if kind not in REQUIREMENT_KINDS:
        raise ValueError(f"{kind!r} is not a requirement kind ({', '.join(REQUIREMENT_KINDS)})")
    return value


Requirement = Annotated[dict[str, Slug], AfterValidator(_requirement)]


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
    #: What must be met to be promoted out of each stage. A stage without a gate is not left
    #: automatically (Strategic Partnership, the last, never is).
    gates: dict[StageId, list[Requirement]] = Field(default_factory=dict)
    #: What completes the programme: Strategic Partnership is never left, so instead of a gate
    #: it has this list (its modules and demonstration), met in that stage, which earns the
    #: programme certificate. Empty: the programme is complete on reaching the stage.
    completion: list[Requirement] = Field(default_factory=list)
    #: A parallel pair: the same decisions before and after the programme (decision quality).
    pre_assessment: Assessment | None = None
    post_assessment: Assessment | None = None
    #: Practical demonstrations, each placed in a stage.
    demonstrations: list[Demonstration] = Field(default_factory=list)
    #: Stages whose demonstration grades count only once a second assessor confirms them.
    moderated_stages: list[StageId] = Field(default_factory=list)

    @field_validator("version")
    @classmethod
    def _semver(cls, value: str) -> str:
        if not SEMVER.match(value):
            raise ValueError("must be a semantic version such as 1.0.0")
        return value

    def assessments(self) -> list[tuple[tuple[str | int, ...], Assessment]]:
        """Every assessment of the programme with its location in the file."""
        found: list[tuple[tuple[str | int, ...], Assessment]] = [
            (("modules", index, "assessment"), module.assessment)
            for index, module in enumerate(self.modules)
            if module.assessment is not None
        ]
        for name in ("pre_assessment", "post_assessment"):
            if getattr(self, name) is not None:
                found.append(((name,), getattr(self, name)))
        return found

    def references(self) -> list[Reference]:
        """Checks across the file: ids refer to things that exist, and are not reused."""
        problems: list[Reference] = []
        targets: dict[str, set[str]] = {
            "module": {module.id for module in self.modules},
            "assessment": set(),
            "exercise": set(),
            "demonstration": {demo.id for demo in self.demonstrations},
        }
        demo_stage = {demo.id: demo.stage for demo in self.demonstrations}
        for index, module in enumerate(self.modules):
            problems.extend(
                (("modules", index, *where), message) for where, message in module.references()
            )
            for p_index, prerequisite in enumerate(module.prerequisites):
                if prerequisite not in targets["module"]:
                    problems.append(
                        (
                            ("modules", index, "prerequisites", p_index),
                            f"no module with id {prerequisite!r} in this programme",
                        )
                    )
        for index, demo in enumerate(self.demonstrations):
            for m_index, module in enumerate(demo.modules):
                if module not in targets["module"]:
                    problems.append(
                        (
                            ("demonstrations", index, "modules", m_index),
                            f"no module with id {module!r} in this programme",
                        )
                    )
        for location, assessment in self.assessments():
            if assessment.id in targets["assessment"]:
                problems.append(
                    (
                        (*location, "id"),
                        f"assessment id {assessment.id!r} is used twice in this programme",
                    )
                )
            targets["assessment"].add(assessment.id)
            problems.extend(
                ((*location, *where), message) for where, message in assessment.references()
            )
        problems.extend(self._objective_references())
        lists: list[tuple[tuple[str | int, ...], str, list[dict[str, str]]]] = [
            (("gates", stage), stage, requirements) for stage, requirements in self.gates.items()
        ]
        lists.append((("completion",), "partnership", self.completion))
        if "partnership" in self.gates:
            problems.append(
                (
                    ("gates", "partnership"),
                    "Strategic Partnership is never left: what completes the programme is "
                    "its `completion:` list",
                )
            )
        for where, stage, requirements in lists:
            for index, requirement in enumerate(requirements):
                kind, ref = next(iter(requirement.items()))
                what = REQUIREMENT_KINDS[kind]
                if ref not in targets[what]:
                    problems.append(
                        ((*where, index, kind), f"no {what} with id {ref!r} in this programme")
                    )
                elif what == "demonstration" and demo_stage[ref] != stage:
                    problems.append(
                        (
                            (*where, index, kind),
                            f"demonstration {ref!r} is placed in stage {demo_stage[ref]!r}; "
                            f"the {stage!r} list can only require its own stage's "
                            "demonstrations",
                        )
                    )
        if self.pre_assessment is not None and self.post_assessment is not None:
            pre = [(q.id, q.type) for q in self.pre_assessment.questions]
            post = [(q.id, q.type) for q in self.post_assessment.questions]
            if pre != post:
                problems.append(
                    (
                        ("post_assessment", "questions"),
                        "a parallel post-assessment "
                        "asks the same decisions as the pre-assessment: the same question "
                        "ids and types, in the same order",
                    )
                )
            else:
                pairs = zip(
                    self.pre_assessment.questions, self.post_assessment.questions, strict=True
                )
                for index, (before, after) in enumerate(pairs):
                    if sorted(before.objectives) != sorted(after.objectives):
                        problems.append(
                            (
                                ("post_assessment", "questions", index, "objectives"),
                                f"a parallel form tests what the pre-assessment's {before.id!r} "
                                f"tests: {', '.join(before.objectives) or 'no objective'}",
                            )
                        )
        for name in ("pre_assessment", "post_assessment"):
            measured = getattr(self, name)
            if measured is not None and measured.feedback != "never":
                problems.append(
                    (
                        (name, "feedback"),
                        f"must be `never`, not {measured.feedback!r}: a pre- or post-assessment "
                        "shows the score only, so its keys cannot teach the answers to the "
                        "parallel form",
                    )
                )
        if (self.pre_assessment is None) != (self.post_assessment is None):
            present = "pre_assessment" if self.pre_assessment else "post_assessment"
            problems.append(
                (
                    (present,),
                    "a pre-assessment and a post-assessment come as a "
                    "parallel pair: give both or neither",
                )
            )
        return problems

    def _objective_references(self) -> list[Reference]:
        """Each question's `objectives` name objectives that exist: of its own module in a
        module's bank, as `module-id/objective-id` in the pre- and post-assessment. A module's
        draw is at least its objective count, so an attempt can test every objective."""
        problems: list[Reference] = []
        objectives = {
            module.id: {objective.id for objective in module.objectives} for module in self.modules
        }
        for m_index, module in enumerate(self.modules):
            bank = module.assessment
            if bank is None:
                continue
            where = ("modules", m_index, "assessment")
            if bank.draw is not None and bank.draw < len(module.objectives):
                problems.append(
                    (
                        (*where, "draw"),
                        f"draws {bank.draw} questions but the module has "
                        f"{len(module.objectives)} objectives: every attempt must test each one",
                    )
                )
            for q_index, question in enumerate(bank.questions):
                for t_index, tag in enumerate(question.objectives):
                    if tag not in objectives[module.id]:
                        hint = (
                            " (a module's own questions name its objectives without the module id)"
                            if "/" in tag
                            else ""
                        )
                        problems.append(
                            (
                                (*where, "questions", q_index, "objectives", t_index),
                                f"no objective with id {tag!r} in module {module.id!r}{hint}",
                            )
                        )
        for name in ("pre_assessment", "post_assessment"):
            measured = getattr(self, name)
            if measured is None:
                continue
            for q_index, question in enumerate(measured.questions):
                for t_index, tag in enumerate(question.objectives):
                    module_id, _, objective_id = tag.partition("/")
                    if objective_id in objectives.get(module_id, ()):
                        continue
                    if not objective_id:
                        message = (
                            f"{tag!r} names no module: a programme's {name.replace('_', '-')} "
                            "names objectives as `module-id/objective-id`"
                        )
                    elif module_id not in objectives:
                        message = f"no module with id {module_id!r} in this programme"
                    else:
                        message = f"no objective with id {objective_id!r} in module {module_id!r}"
                    problems.append(((name, "questions", q_index, "objectives", t_index), message))
        return problems

    @field_validator("modules")
    @classmethod
    def _module_ids_unique(cls, value: list[Module]) -> list[Module]:
        return _unique_ids(value, "module")

    @field_validator("demonstrations")
    @classmethod
    def _demonstration_ids_unique(cls, value: list[Demonstration]) -> list[Demonstration]:
        return _unique_ids(value, "demonstration")


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


class Feature(Strict):
    id: Slug
    name: Text
    description: Text
    #: The modules that teach it, as "programme-id/module-id".
    taught_by: list[Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]+/[a-z0-9-]+$")]] = Field(
        min_length=1
    )
    #: Other names platforms export for this feature (matched case-insensitively).
    aliases: list[Text] = Field(default_factory=list)


class Platform(Strict):
    id: Slug
    name: Text
    features: list[Feature] = Field(min_length=1)


class FeatureCatalogue(Strict):
    """The platform features whose use is measured (from the platform tracks of seed 004)."""

    schema_: Literal["lms/features/1"] = Field(alias="schema")
    id: Literal["features"] = "features"
    version: str
    #: Feature IRIs for xAPI statements are this base + "platform-id/feature-id".
    iri_base: Annotated[str, StringConstraints(pattern=r"^https?://\S+/$")]
    platforms: list[Platform] = Field(min_length=1)

    @field_validator("version")
    @classmethod
    def _semver(cls, value: str) -> str:
        return Programme._semver(value)

    @field_validator("platforms")
    @classmethod
    def _platform_ids_unique(cls, value: list[Platform]) -> list[Platform]:
        return _unique_ids(value, "platform")

    def references(self) -> list[Reference]:
        problems: list[Reference] = []
        seen: set[str] = set()
        names: dict[str, str] = {}
        for p_index, platform in enumerate(self.platforms):
            for f_index, feature in enumerate(platform.features):
                where = ("platforms", p_index, "features", f_index)
                if feature.id in seen:
                    problems.append(((*where, "id"), f"feature id {feature.id!r} is used twice"))
                seen.add(feature.id)
                for name in [feature.name, *feature.aliases]:
                    key = f"{platform.id}:{name.casefold()}"
                    if key in names and names[key] != feature.id:
                        problems.append(
                            (
                                (*where, "aliases"),
                                f"the name {name!r} already means {names[key]!r} on this platform",
                            )
                        )
                    names[key] = feature.id
        return problems


ObjectiveRef = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9-]+/[a-z0-9-]+/[a-z0-9-]+$", max_length=250)
]


class Equivalence(Strict):
    """Objectives of different programmes taught alike: mastering one credits the others."""

    id: Slug
    #: `programme/module/objective`, two or more, each of a different programme.
    objectives: list[ObjectiveRef] = Field(min_length=2)
    #: The major version of each programme the equivalence was judged against. A credit never
    #: crosses a major version: when a programme's major version rises, the equivalence must
    #: be reviewed and its version here raised, and credits made before stop counting.
    versions: dict[Slug, int]
    #: What both teach alike, and what each adds that is not credited.
    same: Text
    differs: Text | None = None

    @model_validator(mode="after")
    def _programmes(self) -> Equivalence:
        programmes = [ref.split("/")[0] for ref in self.objectives]
        if len(set(programmes)) != len(programmes):
            raise ValueError("each objective of an equivalence comes from a different programme")
        if set(self.versions) != set(programmes):
            raise ValueError(
                "`versions` gives the major version of each programme it names: "
                + ", ".join(sorted(set(programmes)))
            )
        return self


class Equivalences(Strict):
    """What two or more programmes teach alike (DESIGN.md section 4), credited per objective."""

    schema_: Literal["lms/equivalences/1"] = Field(alias="schema")
    id: Literal["equivalences"] = "equivalences"
    version: str
    equivalences: list[Equivalence] = Field(default_factory=list)

    @field_validator("version")
    @classmethod
    def _semver(cls, value: str) -> str:
        return Programme._semver(value)

    @field_validator("equivalences")
    @classmethod
    def _ids_unique(cls, value: list[Equivalence]) -> list[Equivalence]:
        return _unique_ids(value, "equivalence")

    def references(self) -> list[Reference]:
        problems: list[Reference] = []
        seen: dict[str, str] = {}
        for index, item in enumerate(self.equivalences):
            for o_index, ref in enumerate(item.objectives):
                if ref in seen:
                    problems.append(
                        (
                            ("equivalences", index, "objectives", o_index),
                            f"{ref} is already in the equivalence {seen[ref]!r}",
                        )
                    )
                seen[ref] = item.id
        return problems


class Term(Strict):
    """One glossary entry: the term as written, other ways of writing it, and its definition."""

    id: Slug
    term: Text
    aliases: list[Text] = Field(default_factory=list)
    #: Markdown, a sentence or three; the first sentence is shown where the term is linked.
    definition: Text


class Glossary(Strict):
    """The terms the lessons use, defined once (issue 11): linked from their first use."""

    schema_: Literal["lms/glossary/1"] = Field(alias="schema")
    id: Literal["glossary"] = "glossary"
    version: str
    terms: list[Term] = Field(min_length=1)

    @field_validator("version")
    @classmethod
    def _semver(cls, value: str) -> str:
        return Programme._semver(value)

    @field_validator("terms")
    @classmethod
    def _ids_unique(cls, value: list[Term]) -> list[Term]:
        return _unique_ids(value, "term")

    def references(self) -> list[Reference]:
        problems: list[Reference] = []
        seen: dict[str, str] = {}
        for index, term in enumerate(self.terms):
            for name in (term.term, *term.aliases):
                key = name.casefold()
                if key in seen and seen[key] != term.id:
                    problems.append(
                        (("terms", index, "term"), f"{name!r} already names the term {seen[key]!r}")
                    )
                seen[key] = term.id
        return problems


class Target(Strict):
    value: float
    unit: Literal["ratio", "days", "minutes", "currency", "count", "points"]
    source: Text
    #: Phrases that state this figure's rule in prose ("forecast variance above"): the content
    #: linter refuses a number of the figure's unit written just after one that is not a figure
    #: sharing the phrase.
    keywords: list[Text] = Field(default_factory=list)


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
