"""The content linter (`flask curricula lint`, run in CI): what the schema cannot see but a
careful second reader would refuse.

It fails on: an objective of a taught module without a section or with fewer than two
questions; a question without per-option feedback; an impossible key (a numeric tolerance that
admits a listed wrong answer, a formula that does not give the key); duplicate stems; a
percentage or amount written after a figure's keywords that is not the figure; a pre- or
post-assessment item repeating bank text; a rubric cell without a real descriptor. It reports
per programme what is ready. Modules in preparation are listed, not failed.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lms.assessments.questions import NumericSpec
from lms.curricula import schema
from lms.curricula.files import ParsedFile, Problem
from lms.curricula.formulas import FormulaError, evaluate

#: Below this many questions an objective of a taught module is not assessed.
MIN_QUESTIONS_PER_OBJECTIVE = 2
#: Words a reader gets through in a minute of technical prose (tables, worked numbers).
WORDS_PER_MINUTE = 150
#: A run of this many words shared with a bank question is a copy, not a parallel item.
SHARED_RUN_WORDS = 8
#: How far after a figure's keyword a number is read as a statement of that figure.
KEYWORD_WINDOW = 40
PLACEHOLDERS = {"tbd", "todo", "...", "…", "-", "tba", "xxx"}

Location = tuple[Any, ...]


@dataclass
class ProgrammeSummary:
    """One row of the linter's table."""

    programme: str
    modules: int
    ready: int
    words: int
    minutes: int
    questions: int
    per_objective_min: int | None
    per_objective_max: int | None
    in_preparation: list[str] = field(default_factory=list)


@dataclass
class LintReport:
    problems: list[Problem] = field(default_factory=list)
    summaries: list[ProgrammeSummary] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9%$]+(?:[.,'’][a-z0-9]+)*", text.casefold())


def _normal(text: str) -> str:
    return " ".join(_words(text))


def _shingles(text: str, size: int = SHARED_RUN_WORDS) -> set[tuple[str, ...]]:
    words = _words(text)
    return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}


def _question_texts(question: Any) -> Iterator[tuple[str, str]]:
    """(field, text) of every piece of a question a learner reads before answering."""
    scenario = getattr(question, "scenario", None)
    if scenario:
        yield "scenario", scenario
    yield "prompt", question.prompt
    for index, option in enumerate(getattr(question, "options", None) or []):
        yield f"options[{index}]", option.text
    for index, item in enumerate(getattr(question, "items", None) or []):
        yield f"items[{index}]", item.text
    for index, pair in enumerate(getattr(question, "pairs", None) or []):
        yield f"pairs[{index}]", f"{pair.left} {pair.right}"


def _stem(question: Any) -> str:
    return _normal(f"{getattr(question, 'scenario', '') or ''} {question.prompt}")


def _field_location(base: Location, name: str) -> Location:
    match = re.fullmatch(r"(\w+)\[(\d+)\]", name)
    return (*base, match[1], int(match[2])) if match else (*base, name)


class _Linter:
    def __init__(self, parsed: list[ParsedFile]) -> None:
        self.report = LintReport()
        self.programmes = [item for item in parsed if isinstance(item.document, schema.Programme)]
        self.equivalences = [
            item for item in parsed if isinstance(item.document, schema.Equivalences)
        ]
        figures = next(
            (item.document for item in parsed if isinstance(item.document, schema.Figures)), None
        )
        self.figures: dict[str, schema.Target] = dict(figures.figures) if figures else {}

    def fail(self, item: ParsedFile, location: Location, message: str) -> None:
        self.report.problems.append(item.problem(location, message))

    def run(self) -> LintReport:
        stems: dict[str, tuple[ParsedFile, Location]] = {}
        bank_shingles: dict[tuple[str, ...], str] = {}
        bank_texts: dict[str, str] = {}
        for item in self.programmes:
            programme: schema.Programme = item.document  # type: ignore[assignment]
            self._summarise(item, programme)
            for m_index, module in enumerate(programme.modules):
                if not module.in_preparation:
                    self._coverage(item, m_index, module)
            for base, assessment in programme.assessments():
                pair = base[0] in ("pre_assessment", "post_assessment")
                for q_index, question in enumerate(assessment.questions):
                    location = (*base, "questions", q_index)
                    self._question(item, location, question)
                    self._duplicate_stem(item, location, question, stems)
                    if not pair:
                        for _, text in _question_texts(question):
                            where = f"{programme.id}/{assessment.id}/{question.id}"
                            bank_texts.setdefault(_normal(text), where)
                            for shingle in _shingles(text):
                                bank_shingles.setdefault(shingle, where)
            self._rubrics(item, programme)
            self._figures_in(item, programme)
        for item in self.programmes:
            self._pair_repeats(item, item.document, bank_texts, bank_shingles)  # type: ignore[arg-type]
        for item in self.equivalences:
            self._equivalence_versions(item)
        return self.report

    def _equivalence_versions(self, item: ParsedFile) -> None:
        """An equivalence judged for an older major version credits nothing until reviewed."""
        versions = {p.document.id: p.document.version for p in self.programmes}  # type: ignore[union-attr]
        document: schema.Equivalences = item.document  # type: ignore[assignment]
        for index, equivalence in enumerate(document.equivalences):
            for programme_id, major in equivalence.versions.items():
                current = versions.get(programme_id)
                if current is not None and int(current.split(".")[0]) != major:
                    self.fail(
                        item,
                        ("equivalences", index, "versions", programme_id),
                        f"was judged for version {major} of {programme_id}, which is now "
                        f"{current}: it credits nothing until reviewed and raised here "
                        "(credits never cross a major version)",
                    )

    # --- coverage -------------------------------------------------------------------------

    def _coverage(self, item: ParsedFile, m_index: int, module: schema.Module) -> None:
        taught: dict[str, int] = defaultdict(int)
        for section in module.lesson:
            for objective in module.section_objectives(section):
                taught[objective] += 1
        asked: dict[str, int] = defaultdict(int)
        questions = module.assessment.questions if module.assessment else []
        for q_index, question in enumerate(questions):
            if not question.objectives:
                self.fail(
                    item,
                    ("modules", m_index, "assessment", "questions", q_index, "objectives"),
                    "names no objective: tag the objective(s) it tests",
                )
            for objective in question.objectives:
                asked[objective] += 1
        for o_index, objective in enumerate(module.objectives):
            location = ("modules", m_index, "objectives", o_index, "id")
            if not taught[objective.id]:
                self.fail(
                    item,
                    location,
                    f"objective {objective.id!r} has no lesson section (name it in a section's "
                    "id or `objectives=`)",
                )
            if asked[objective.id] < MIN_QUESTIONS_PER_OBJECTIVE:
                self.fail(
                    item,
                    location,
                    f"objective {objective.id!r} has {asked[objective.id]} question(s); "
                    f"a taught module needs at least {MIN_QUESTIONS_PER_OBJECTIVE} per objective",
                )

    # --- questions ------------------------------------------------------------------------

    def _question(self, item: ParsedFile, location: Location, question: Any) -> None:
        for index, option in enumerate(getattr(question, "options", None) or []):
            if not (option.feedback or "").strip():
                self.fail(
                    item,
                    (*location, "options", index, "feedback"),
                    f"option {option.id!r} has no feedback: say why it is right or wrong",
                )
        if isinstance(question, NumericSpec):
            self._numeric(item, location, question)

    def _numeric(self, item: ParsedFile, location: Location, question: NumericSpec) -> None:
        slack = question.tolerance + 1e-9 * max(1.0, abs(question.answer))
        if question.formula is None:
            self.fail(
                item,
                (*location, "formula"),
                "a numeric key declares how it is worked out: `formula:` over named `inputs:`",
            )
        else:
            try:
                value = evaluate(question.formula, question.inputs)
            except FormulaError as error:
                self.fail(item, (*location, "formula"), str(error))
            else:
                if abs(value - question.answer) > slack:
                    self.fail(
                        item,
                        (*location, "answer"),
                        f"is {question.answer:g} but the formula gives {value:.6g} "
                        f"(tolerance {question.tolerance:g})",
                    )
        for index, wrong in enumerate(question.wrong_answers):
            if abs(wrong - question.answer) <= slack:
                self.fail(
                    item,
                    (*location, "wrong_answers", index),
                    f"the tolerance ±{question.tolerance:g} around {question.answer:g} admits "
                    f"the wrong answer {wrong:g}",
                )

    def _duplicate_stem(
        self,
        item: ParsedFile,
        location: Location,
        question: Any,
        stems: dict[str, tuple[ParsedFile, Location]],
    ) -> None:
        stem = _stem(question)
        if stem in stems:
            other, where = stems[stem]
            display, line = other.sources.locate(where) if other.sources else (other.display, 0)
            self.fail(
                item,
                (*location, "prompt"),
                f"the same stem as the question at {display}:{line}",
            )
        else:
            stems[stem] = (item, location)

    def _pair_repeats(
        self,
        item: ParsedFile,
        programme: schema.Programme,
        bank_texts: dict[str, str],
        bank_shingles: dict[tuple[str, ...], str],
    ) -> None:
        for name in ("pre_assessment", "post_assessment"):
            assessment = getattr(programme, name)
            if assessment is None:
                continue
            for q_index, question in enumerate(assessment.questions):
                for field_name, text in _question_texts(question):
                    location = _field_location((name, "questions", q_index), field_name)
                    normal = _normal(text)
                    copied = bank_texts.get(normal) if len(normal.split()) >= 3 else None
                    if copied is None:
                        copied = next(
                            (bank_shingles[s] for s in _shingles(text) if s in bank_shingles), None
                        )
                    if copied is not None:
                        self.fail(
                            item,
                            location,
                            f"repeats text of the bank question {copied}: a pre- or "
                            "post-assessment item is written apart from the banks",
                        )

    # --- rubrics and figures --------------------------------------------------------------

    def _rubrics(self, item: ParsedFile, programme: schema.Programme) -> None:
        for d_index, demo in enumerate(programme.demonstrations):
            for c_index, criterion in enumerate(demo.rubric.criteria):
                for l_index, descriptor in enumerate(criterion.descriptors):
                    if descriptor.strip().casefold() in PLACEHOLDERS or len(descriptor) < 8:
                        self.fail(
                            item,
                            (
                                "demonstrations",
                                d_index,
                                "rubric",
                                "criteria",
                                c_index,
                                "descriptors",
                                l_index,
                            ),
                            f"the cell {criterion.id!r} × {demo.rubric.levels[l_index]!r} has "
                            "no descriptor a grader can use",
                        )

    def _texts(self, programme: schema.Programme) -> Iterator[tuple[Location, str]]:
        for m_index, module in enumerate(programme.modules):
            for s_index, section in enumerate(module.lesson):
                yield ("modules", m_index, "lesson", s_index, "body"), section.body
        for base, assessment in programme.assessments():
            for q_index, question in enumerate(assessment.questions):
                for field_name, text in _question_texts(question):
                    yield _field_location((*base, "questions", q_index), field_name), text
                yield (*base, "questions", q_index, "explanation"), question.explanation
        for d_index, demo in enumerate(programme.demonstrations):
            yield ("demonstrations", d_index, "instructions"), demo.instructions

    def _figures_in(self, item: ParsedFile, programme: schema.Programme) -> None:
        by_keyword: dict[str, list[schema.Target]] = defaultdict(list)
        for target in self.figures.values():
            for keyword in target.keywords:
                by_keyword[keyword.casefold()].append(target)
        if not by_keyword:
            return
        for location, text in self._texts(programme):
            lowered = text.casefold()
            for keyword, targets in by_keyword.items():
                for match in re.finditer(re.escape(keyword), lowered):
                    window = text[match.end() : match.end() + KEYWORD_WINDOW]
                    stated = _first_amount(window, targets[0].unit)
                    if stated is None:
                        continue
                    if not any(_same(stated, target) for target in targets):
                        wanted = " or ".join(_shown(target) for target in targets)
                        self.fail(
                            item,
                            location,
                            f"says {_shown_value(stated, targets[0].unit)} after “{keyword}”, "
                            f"but figures.yaml has {wanted}: write the figure "
                            "(`{{ figure('id') }}`) or reword",
                        )

    # --- the table ------------------------------------------------------------------------

    def _summarise(self, item: ParsedFile, programme: schema.Programme) -> None:
        ready = [m for m in programme.modules if not m.in_preparation]
        words = sum(len(s.body.split()) for m in ready for s in m.lesson)
        minutes = sum(
            m.estimated_minutes
            or -(-sum(len(s.body.split()) for s in m.lesson) // WORDS_PER_MINUTE)
            for m in ready
        )
        counts: list[int] = []
        questions = 0
        for module in ready:
            bank = module.assessment.questions if module.assessment else []
            questions += len(bank)
            for objective in module.objectives:
                counts.append(sum(objective.id in q.objectives for q in bank))
        self.report.summaries.append(
            ProgrammeSummary(
                programme=programme.id,
                modules=len(programme.modules),
                ready=len(ready),
                words=words,
                minutes=minutes,
                questions=questions,
                per_objective_min=min(counts) if counts else None,
                per_objective_max=max(counts) if counts else None,
                in_preparation=[m.id for m in programme.modules if m.in_preparation],
            )
        )


_AMOUNT = {
    "ratio": re.compile(r"(\d+(?:\.\d+)?)\s?(?:%|per ?cent)"),
    "currency": re.compile(r"\$\s?(\d[\d,]*(?:\.\d+)?)\s?([kKmM]\b)?"),
    "minutes": re.compile(r"(\d+(?:\.\d+)?)\s?(?:minutes?|mins?)\b"),
    "days": re.compile(r"(\d+(?:\.\d+)?)\s?days?\b"),
}


def _first_amount(window: str, unit: str) -> float | None:
    """The first amount of `unit` in the window, before the sentence ends."""
    sentence = re.split(r"(?<!\d)[.;:!?](?!\d)|\n", window, maxsplit=1)[0]
    pattern = _AMOUNT.get(unit)
    match = pattern.search(sentence) if pattern else None
    if match is None:
        return None
    value = float(match.group(1).replace(",", ""))
    if unit == "ratio":
        return value / 100
    if unit == "currency" and match.group(2):
        value *= 1000 if match.group(2).lower() == "k" else 1_000_000
    return value


def _same(value: float, target: schema.Target) -> bool:
    return abs(value - target.value) <= 1e-9 * max(1.0, abs(target.value))


def _shown_value(value: float, unit: str) -> str:
    from lms.curricula.figure_text import format_figure

    return format_figure(schema.Target(value=value, unit=unit, source="-"))  # type: ignore[arg-type]


def _shown(target: schema.Target) -> str:
    return _shown_value(target.value, target.unit)


def lint(parsed: list[ParsedFile]) -> LintReport:
    """Lint validated curriculum documents (those with problems are left to `validate`)."""
    return _Linter(parsed).run()


def table(summaries: list[ProgrammeSummary]) -> str:
    """The per-programme table, as Markdown."""
    rows = [
        "| programme | modules ready | words | reading minutes | questions | "
        "questions per objective | in preparation |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for s in summaries:
        spread = (
            "-"
            if s.per_objective_min is None
            else f"{s.per_objective_min}"
            + (f"-{s.per_objective_max}" if s.per_objective_max != s.per_objective_min else "")
        )
        rows.append(
            f"| {s.programme} | {s.ready} of {s.modules} | {s.words:,} | {s.minutes} | "
            f"{s.questions} | {spread} | {', '.join(s.in_preparation) or '-'} |"
        )
    return "\n".join(rows)
