"""The content linter (`flask curricula lint`): each rule on a small programme folder written by
the test, the formula evaluator that checks numeric keys without eval, and figures written once
in figures.yaml and shown in lessons and questions."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from lms.curricula.files import parse_tree
from lms.curricula.formulas import FormulaError, evaluate
from lms.curricula.lint import lint, table
from lms.curricula.loader import load_curricula
from lms.curricula.models import LessonSection
from lms.extensions import db
from tests.conftest import CURRICULA

PROGRAMME_YAML = """\
schema: lms/programme/1
id: lint-programme
version: 1.0.0
kind: curriculum
title: Lint Programme
source: written-by-the-tests.txt
summary: A programme the linter tests write.
modules:
- forecasting
- pending
"""

LESSON = """\
---
title: Forecasting
stage: initial
objectives:
- id: variance-review
  text: Review forecast variance.
- id: holdout-tests
  text: Read a holdout test.
estimated_minutes: 12
---

## When a forecast needs a review {#variance-review}

Review any channel whose forecast variance exceeds {{ figure('forecast-variance-threshold') }}.

## Reading a holdout {#holdout-tests}

A lift is real only with its interval and test.
"""

PENDING = """\
---
title: Still being written
stage: proficiency
objectives:
- id: later
  text: Something for later.
---
"""


def question(qid: str, objective: str, stem: str, *, feedback: bool = True) -> str:
    """One scenario question as YAML (strings JSON-quoted, which YAML reads as they are)."""
    lines = [
        f"- id: {qid}",
        "  type: scenario",
        f"  objectives: [{objective}]",
        f"  scenario: {json.dumps(stem)}",
        f"  prompt: {json.dumps(f'What do you do next about {qid}?')}",
        "  options:",
        "  - id: a",
        f"    text: {json.dumps(f'The defensible choice for {qid}.')}",
        "    correct: true",
        "    feedback: Because it follows the rule.",
        "  - id: b",
        f"    text: {json.dumps(f'The tempting choice for {qid}.')}",
    ]
    if feedback:
        lines.append("    feedback: Because it ignores the test.")
    lines.append(f"  explanation: {json.dumps(f'The principle behind {qid}.')}")
    return "\n".join(lines) + "\n"


NUMERIC = """\
- id: variance-number
  type: numeric
  objectives: [variance-review]
  prompt: Forecast 400 leads, actual 460. What is the forecast variance, in percent?
  answer: 15
  tolerance: 0.5
  unit: "%"
  formula: (actual - forecast) / forecast * 100
  inputs: {actual: 460, forecast: 400}
  wrong_answers: [13.04]
  explanation: (actual - forecast) / forecast = 60 / 400 = 15%.
"""


def bank(questions: str) -> str:
    return "id: forecasting-check\ntitle: Forecasting check\ndraw: 4\nquestions:\n" + questions


def write_tree(tmp_path: Path, *, questions: str | None = None, lesson: str = LESSON) -> Path:
    root = tmp_path / "curricula"
    folder = root / "programmes" / "lint-programme"
    (folder / "modules").mkdir(parents=True)
    shutil.copy(CURRICULA / "framework.yaml", root)
    shutil.copy(CURRICULA / "figures.yaml", root)
    (folder / "programme.yaml").write_text(PROGRAMME_YAML)
    (folder / "modules" / "forecasting.md").write_text(lesson)
    (folder / "modules" / "pending.md").write_text(PENDING)
    if questions is None:
        questions = (
            question("rising-leads", "variance-review", "Leads ran 18% over forecast.")
            + question("flat-leads", "variance-review", "Leads ran 4% under forecast.")
            + question("small-test", "holdout-tests", "A 200-person holdout converted at 3%.")
            + question("big-test", "holdout-tests", "A 20,000-person holdout converted at 3%.")
            + NUMERIC
        )
    (folder / "modules" / "forecasting.questions.yaml").write_text(bank(questions))
    return root


def run(root: Path):
    parsed = parse_tree(root)
    problems = [p for item in parsed for p in item.problems]
    assert problems == [], problems
    return lint(parsed)


def messages(root: Path) -> str:
    return "\n".join(str(p) for p in run(root).problems)


BANK = "curricula/programmes/lint-programme/modules/forecasting.questions.yaml"
MD = "curricula/programmes/lint-programme/modules/forecasting.md"


def test_a_complete_module_passes_and_the_table_counts_it(tmp_path: Path) -> None:
    report = run(write_tree(tmp_path))
    assert report.ok, report.problems
    (summary,) = report.summaries
    assert (summary.ready, summary.modules, summary.questions) == (1, 2, 5)
    assert (summary.per_objective_min, summary.per_objective_max) == (2, 3)
    assert summary.minutes == 12
    assert summary.in_preparation == ["pending"]  # listed, not failed
    assert "| lint-programme | 1 of 2 |" in table(report.summaries)


def test_an_objective_with_one_question_fails(tmp_path: Path) -> None:
    questions = (
        question("rising-leads", "variance-review", "Leads ran 18% over forecast.")
        + question("flat-leads", "variance-review", "Leads ran 4% under forecast.")
        + question("small-test", "holdout-tests", "A 200-person holdout converted at 3%.")
        + NUMERIC
    )
    text = messages(write_tree(tmp_path, questions=questions))
    assert f"{MD}:7: modules[0].objectives[1].id: objective 'holdout-tests' has 1 question(s)" in (
        text
    )


def test_an_objective_without_a_section_fails(tmp_path: Path) -> None:
    lesson = LESSON.replace("{#holdout-tests}", "{#reading-holdouts}")
    text = messages(write_tree(tmp_path, lesson=lesson))
    assert "objective 'holdout-tests' has no lesson section" in text


def test_an_untagged_question_and_an_option_without_feedback_fail(tmp_path: Path) -> None:
    questions = (
        question("rising-leads", "variance-review", "Leads ran 18% over forecast.", feedback=False)
        + question("flat-leads", "variance-review", "Leads ran 4% under forecast.")
        + question("small-test", "holdout-tests", "A 200-person holdout converted at 3%.")
        + question("big-test", "holdout-tests", "A 20,000-person holdout converted at 3%.").replace(
            "objectives: [holdout-tests]", "objectives: []"
        )
        + question("bigger-test", "holdout-tests", "A 40,000-person holdout converted at 3%.")
    )
    text = messages(write_tree(tmp_path, questions=questions))
    assert "questions[0].options[1].feedback: option 'b' has no feedback" in text
    assert "questions[3].objectives: names no objective" in text


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            "answer: 15\n",
            "answer: 16\n",
        ),
        ("tolerance: 0.5\n", "tolerance: 2\n"),
        ("formula: (actual - forecast) / forecast * 100", "formula: __import__('os')"),
    ],
)
def test_a_numeric_key_is_recomputed(tmp_path: Path, change, expected) -> None:
    questions = (
        question("rising-leads", "variance-review", "Leads ran 18% over forecast.")
        + question("small-test", "holdout-tests", "A 200-person holdout converted at 3%.")
        + question("big-test", "holdout-tests", "A 20,000-person holdout converted at 3%.")
        + NUMERIC.replace(change, expected)
    )
    text = messages(write_tree(tmp_path, questions=questions))
    if "answer" in change:
        assert "questions[3].answer: is 16 but the formula gives 15" in text
    elif "tolerance" in change:
        assert "the tolerance ±2 around 15 admits the wrong answer 13.04" in text
    else:
        assert "questions[3].formula: only numbers, inputs" in text


def test_duplicate_stems_fail(tmp_path: Path) -> None:
    questions = (
        question("rising-leads", "variance-review", "Leads ran 18% over forecast.")
        + question("rising-leads-again", "variance-review", "Leads ran 18% over forecast.").replace(
            "about rising-leads-again", "about rising-leads"
        )
        + question("small-test", "holdout-tests", "A 200-person holdout converted at 3%.")
        + question("big-test", "holdout-tests", "A 20,000-person holdout converted at 3%.")
        + NUMERIC
    )
    text = messages(write_tree(tmp_path, questions=questions))
    assert f"questions[1].prompt: the same stem as the question at {BANK}:" in text


def test_a_threshold_written_differently_from_its_figure_fails(tmp_path: Path) -> None:
    lesson = LESSON.replace(
        "A lift is real only with its interval and test.",
        "A lift is real only with its interval and test. Flag channels whose forecast variance "
        "exceeds 10% for review.",
    )
    text = messages(write_tree(tmp_path, lesson=lesson))
    assert "says 10% after “variance exceeds”, but figures.yaml has 15%" in text


def test_a_pre_assessment_repeating_bank_text_fails(tmp_path: Path) -> None:
    root = write_tree(tmp_path)
    folder = root / "programmes" / "lint-programme"
    pair = (
        "id: {id}\ntitle: Pair\nattempts_allowed: 1\nfeedback: {feedback}\nquestions:\n"
        + question("pair-one", "forecasting/variance-review", "{stem}")
    )
    (folder / "pre-assessment.yaml").write_text(
        pair.format(id="pre", feedback="never", stem="Leads ran 18% over forecast.")
    )
    (folder / "post-assessment.yaml").write_text(
        pair.format(id="post", feedback="never", stem="Pipeline ran 30% under plan in March.")
    )
    text = "\n".join(str(p) for p in run(root).problems)
    assert (
        "pre_assessment.questions[0].scenario: repeats text of the bank question "
        "lint-programme/forecasting-check/rising-leads" in text
    )
    assert "post_assessment.questions[0].scenario" not in text


def test_a_rubric_cell_without_a_descriptor_fails(tmp_path: Path) -> None:
    root = write_tree(tmp_path)
    path = root / "programmes" / "lint-programme" / "programme.yaml"
    path.write_text(
        path.read_text()
        + textwrap.dedent("""\
        demonstrations:
        - id: variance-review-task
          title: Review a forecast
          stage: initial
          summary: Review one.
          instructions: Review a forecast against actuals.
          modules: [forecasting]
          evidence:
          - {id: review, kind: text, label: Your review}
          rubric:
            levels: [Not yet, Developing, Proficient, Exemplary]
            criteria:
            - id: variance
              title: Variance
              points: [0, 2, 3, 4]
              descriptors: [No variance computed, Computed with errors, TBD, Computed and explained]
        """)
    )
    text = messages(root)
    assert "the cell 'variance' × 'Proficient' has no descriptor a grader can use" in text


# --- Formulas, never eval'd --------------------------------------------------------------------


def test_formulas_do_arithmetic_over_inputs() -> None:
    assert evaluate("(actual - forecast) / forecast", {"actual": 460, "forecast": 400}) == 0.15
    z = evaluate(
        "(p1 - p2) / sqrt(p * (1 - p) * (1 / n + 1 / n))",
        {"p1": 0.03, "p2": 0.024, "p": 0.027, "n": 4000},
    )
    assert round(z, 2) == 1.66


@pytest.mark.parametrize(
    "formula",
    ["__import__('os').system('true')", "x.real", "[1, 2]", "open('f')", "2 ** 1000", "y + 1"],
)
def test_formulas_refuse_anything_but_arithmetic(formula: str) -> None:
    with pytest.raises(FormulaError):
        evaluate(formula, {"x": 1.0})


# --- Figures in prose ---------------------------------------------------------------------------


def test_a_figure_is_shown_from_figures_yaml(app: Flask, tmp_path: Path) -> None:
    with app.app_context():
        assert load_curricula(write_tree(tmp_path)).ok
        db.session.commit()
        body = db.session.scalar(
            select(LessonSection.body).where(LessonSection.slug == "variance-review")
        )
    assert "whose forecast variance exceeds 15%." in body


def test_an_unknown_figure_names_its_file_and_line(app: Flask, tmp_path: Path) -> None:
    lesson = LESSON.replace("forecast-variance-threshold", "forecast-varience")
    root = write_tree(tmp_path, lesson=lesson)
    result = app.test_cli_runner().invoke(args=["curricula", "validate", str(root)])
    assert result.exit_code == 1
    assert f"{MD}:14: modules[0].lesson[0].body: no figure 'forecast-varience' in figures.yaml" in (
        result.stderr
    )


def test_the_lint_command_prints_the_table_and_fails_on_a_problem(
    app: Flask, tmp_path: Path
) -> None:
    runner = app.test_cli_runner()
    good = runner.invoke(args=["curricula", "lint", str(write_tree(tmp_path))])
    assert good.exit_code == 0, good.output
    assert "| lint-programme | 1 of 2 |" in good.output
    lesson = LESSON.replace("{#holdout-tests}", "{#reading-holdouts}")
    bad = runner.invoke(
        args=["curricula", "lint", str(write_tree(tmp_path / "bad", lesson=lesson))]
    )
    assert bad.exit_code == 1
    assert "objective 'holdout-tests' has no lesson section" in bad.stderr
