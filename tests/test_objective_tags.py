"""Questions tagged to objectives: what the file check refuses (with file, line and field), the
stratified draw that makes every attempt test every objective, and the item statistics per
objective. The curricula here are small ones the tests write, so they do not depend on how far
the real banks are tagged."""

from __future__ import annotations

import random
import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from lms.assessments.draw import draw_questions
from lms.assessments.models import Assessment, Attempt, Question
from lms.curricula.files import parse_file
from lms.curricula.loader import load_curricula
from lms.extensions import db
from tests.conftest import CURRICULA, login, submit

OBJECTIVES = ["kpis", "owners", "cadence", "thresholds"]


def question(qid: str, tags: list[str] | None = None, kind: str = "single-choice") -> dict:
    spec: dict[str, Any] = {
        "id": qid,
        "type": kind,
        "prompt": f"Which answer fits case {qid}?",
        "explanation": f"The right answer to case {qid} is the second option.",
        "options": [
            {"id": "a", "text": f"First option of {qid}"},
            {"id": "b", "text": f"Second option of {qid}", "correct": True},
        ],
    }
    if kind == "scenario":
        spec["scenario"] = f"A team faces case {qid}."
    if tags is not None:
        spec["objectives"] = tags
    return spec


def tagged_bank() -> list[dict]:
    """Two questions per objective, one of them testing two objectives, and one untagged."""
    return [
        question("q1", ["kpis"]),
        question("q2", ["kpis", "owners"]),
        question("q3", ["owners"]),
        question("q4", ["cadence"]),
        question("q5", ["cadence"]),
        question("q6", ["thresholds"]),
        question("q7", ["thresholds"]),
        question("q8"),
    ]


def programme(
    bank: list[dict] | None = None, *, draw: int | None = 4, pre_post: bool = False, **pre: Any
) -> dict:
    document: dict[str, Any] = {
        "schema": "lms/programme/1",
        "id": "tagged-programme",
        "version": "1.0.0",
        "kind": "curriculum",
        "title": "Tagged Programme",
        "source": "written-by-the-tests.txt",
        "summary": "A programme whose questions name the objectives they test.",
        "modules": [
            {
                "id": "alignment",
                "title": "Alignment",
                "stage": "initial",
                "objectives": [{"id": o, "text": f"Set the {o}."} for o in OBJECTIVES],
                "assessment": {
                    "id": "alignment-check",
                    "title": "Alignment check",
                    "draw": draw,
                    "questions": tagged_bank() if bank is None else bank,
                },
            },
            {
                "id": "governance",
                "title": "Governance",
                "stage": "proficiency",
                "objectives": [{"id": "consent", "text": "Keep consent."}],
            },
        ],
    }
    if pre_post:
        for name in ("pre_assessment", "post_assessment"):
            document[name] = {
                "id": name.replace("_", "-"),
                "title": f"Decisions ({name.split('_')[0]})",
                "attempts_allowed": 1,
                "feedback": "never",
                "questions": [
                    question("d1", ["alignment/kpis"], "scenario"),
                    question("d2", ["governance/consent"], "scenario"),
                ],
                **pre,
            }
    return document


def write(tmp_path: Path, document: dict) -> tuple[Path, str]:
    path = tmp_path / "tagged-programme.yaml"
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    return path, text


def problems(tmp_path: Path, document: dict) -> list[str]:
    path, _ = write(tmp_path, document)
    return [str(problem) for problem in parse_file(path, "tagged-programme.yaml").problems]


def line_of(text: str, pattern: str, nth: int = 0) -> int:
    """The line (1-based) of the nth line matching `pattern`."""
    found = [n for n, line in enumerate(text.splitlines(), 1) if re.search(pattern, line)]
    return found[nth]


# --- What the file check refuses ----------------------------------------------------------------


def test_tagged_and_untagged_questions_load(tmp_path: Path) -> None:
    assert problems(tmp_path, programme(pre_post=True)) == []
    untagged = [question(f"u{n}") for n in range(1, 5)]
    assert problems(tmp_path, programme(untagged)) == []


def test_a_tag_naming_no_objective_of_the_module_is_refused_at_its_line(tmp_path: Path) -> None:
    bank = tagged_bank()
    bank[2] = question("q3", ["owners", "budgets"])
    document = programme(bank)
    _, text = write(tmp_path, document)
    line = line_of(text, r"^\s*- budgets$")
    assert problems(tmp_path, document) == [
        f"tagged-programme.yaml:{line}: "
        "modules[0].assessment.questions[2].objectives[1]: "
        "no objective with id 'budgets' in module 'alignment'"
    ]


def test_a_module_question_names_its_objectives_without_the_module(tmp_path: Path) -> None:
    bank = tagged_bank()
    bank[0] = question("q1", ["alignment/kpis"])
    found = problems(tmp_path, programme(bank))
    assert len(found) == 1
    assert "questions[0].objectives[0]: no objective with id 'alignment/kpis'" in found[0]
    assert "without the module id" in found[0]


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        ("alignment/budgets", "no objective with id 'budgets' in module 'alignment'"),
        ("finance/kpis", "no module with id 'finance' in this programme"),
        ("kpis", "'kpis' names no module"),
        ("governance/kpis", "no objective with id 'kpis' in module 'governance'"),
    ],
)
def test_a_pre_post_tag_names_a_module_and_one_of_its_objectives(
    tmp_path: Path, tag: str, message: str
) -> None:
    document = programme(pre_post=True)
    document["post_assessment"]["questions"][1]["objectives"] = [tag]
    _, text = write(tmp_path, document)
    line = line_of(text, rf"^\s*- {re.escape(tag)}$", nth=-1)
    found = problems(tmp_path, document)
    assert len(found) == 1, found
    assert found[0].startswith(
        f"tagged-programme.yaml:{line}: post_assessment.questions[1].objectives[0]: {message}"
    )


def test_a_draw_smaller_than_the_objectives_is_refused(tmp_path: Path) -> None:
    document = programme(draw=3)
    _, text = write(tmp_path, document)
    line = line_of(text, r"^\s*draw: 3$")
    assert problems(tmp_path, document) == [
        f"tagged-programme.yaml:{line}: modules[0].assessment.draw: "
        "draws 3 questions but the module has 4 objectives: every attempt must test each one"
    ]
    # Untagged banks too: the objective count is what an attempt must be able to cover.
    assert problems(tmp_path, programme([question(f"u{n}") for n in range(5)], draw=3))
    assert problems(tmp_path, programme(draw=4)) == []


@pytest.mark.parametrize("feedback", ["after-each-attempt", "after-last-attempt", None])
def test_pre_and_post_assessments_must_never_show_their_keys(
    tmp_path: Path, feedback: str | None
) -> None:
    document = programme(pre_post=True)
    if feedback is None:
        del document["pre_assessment"]["feedback"]  # the default shows keys after each attempt
    else:
        document["pre_assessment"]["feedback"] = feedback
    _, text = write(tmp_path, document)
    found = problems(tmp_path, document)
    assert len(found) == 1
    expected_line = (
        line_of(text, r"^pre_assessment:$")
        if feedback is None
        else line_of(text, rf"^\s*feedback: {feedback}$")
    )
    assert found[0].startswith(f"tagged-programme.yaml:{expected_line}: pre_assessment.feedback:")
    assert "must be `never`" in found[0]


def test_the_same_objective_twice_on_a_question_is_refused(tmp_path: Path) -> None:
    bank = tagged_bank()
    bank[0] = question("q1", ["kpis", "kpis"])
    found = problems(tmp_path, programme(bank))
    assert len(found) == 1
    assert "questions[0]" in found[0] and "objectives: " in found[0]
    assert "an objective is named twice" in found[0]


# --- The stratified draw, pure ------------------------------------------------------------------


def covered(drawn: list[int], tags: list[set[str]]) -> set[str]:
    return {tag for index in drawn for tag in tags[index]}


def bank_tags() -> list[set[str]]:
    return [set(q.get("objectives", [])) for q in tagged_bank()]


def test_every_attempt_covers_every_objective_and_the_rest_varies() -> None:
    tags = bank_tags()
    questions = list(range(len(tags)))
    seen: Counter[int] = Counter()
    orders = set()
    for seed in range(500):
        drawn = draw_questions(questions, tags, 4, random.Random(seed))
        assert len(drawn) == len(set(drawn)) == 4
        assert covered(drawn, tags) == set(OBJECTIVES), (seed, drawn)
        seen.update(drawn)
        orders.add(tuple(drawn))
    # Every question is asked in some attempts, the untagged one included (when q2 covers two
    # objectives a place is left for it), and attempts differ.
    assert set(seen) == set(questions)
    assert len(orders) > 100


def test_extra_places_are_drawn_from_the_rest() -> None:
    tags = bank_tags()
    questions = list(range(len(tags)))
    for seed in range(200):
        drawn = draw_questions(questions, tags, 6, random.Random(seed))
        assert len(set(drawn)) == 6
        assert covered(drawn, tags) == set(OBJECTIVES)
    # Every question, in some order: the whole bank.
    every = draw_questions(questions, tags, 20, random.Random(3))
    assert sorted(every) == questions


def test_the_covering_questions_are_not_always_shown_first() -> None:
    tags = bank_tags()
    firsts = {draw_questions(list(range(8)), tags, 6, random.Random(s))[0] for s in range(200)}
    assert 7 in firsts  # the untagged question, only ever an extra place, is sometimes first


def test_the_same_seed_draws_the_same_questions_in_the_same_order() -> None:
    tags = bank_tags()
    runs = [draw_questions(list("abcdefgh"), tags, 5, random.Random(42)) for _ in range(3)]
    assert runs[0] == runs[1] == runs[2]


def test_an_untagged_bank_draws_as_it_always_did() -> None:
    questions = list(range(10))
    for seed in range(20):
        assert draw_questions(questions, [set()] * 10, 4, random.Random(seed)) == random.Random(
            seed
        ).sample(questions, 4)


# --- The draw through the browser ---------------------------------------------------------------


def load_tagged(app: Flask, tmp_path: Path, document: dict) -> int:
    """Load the tagged programme (with the framework, for its stages); the bank's id."""
    root = tmp_path / "curricula"
    (root / "programmes").mkdir(parents=True, exist_ok=True)
    shutil.copy(CURRICULA / "framework.yaml", root)
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    (root / "programmes" / "tagged-programme.yaml").write_text(text, encoding="utf-8")
    with app.app_context():
        report = load_curricula(root)
        assert report.ok, report.problems
        db.session.commit()
        return db.session.scalar(select(Assessment.id).where(Assessment.slug == "alignment-check"))


def start(client: FlaskClient, assessment_id: int) -> int:
    response = submit(
        client, f"/assessments/{assessment_id}", {}, to=f"/assessments/{assessment_id}/start"
    )
    assert response.status_code == 302
    return int(re.fullmatch(r".*/attempts/(\d+)", response.location)[1])


def test_each_learners_attempt_tests_every_objective(app: Flask, users, tmp_path: Path) -> None:
    assessment_id = load_tagged(app, tmp_path, programme())
    with app.app_context():
        slugs = {
            q.id: q.slug
            for q in db.session.scalars(
                select(Question).where(Question.assessment_id == assessment_id)
            )
        }
        # The tags travel with the stored question, so the draw can read them.
        tags = {
            q.slug: set(q.versions[-1].spec.get("objectives", []))
            for q in db.session.scalars(
                select(Question).where(Question.assessment_id == assessment_id)
            )
        }
    assert tags["q2"] == {"kpis", "owners"} and tags["q8"] == set()
    asked = set()
    for email in ("learner@example.com", "other.learner@example.com"):
        client = app.test_client()
        assert login(client, email).status_code == 302
        for _ in range(3):  # three attempts each: 3 allowed by default
            attempt_id = start(client, assessment_id)
            page = client.get(f"/attempts/{attempt_id}").get_data(as_text=True)
            with app.app_context():
                attempt = db.session.get(Attempt, attempt_id)
                shown = [slugs[item.question_version.question_id] for item in attempt.items]
            assert len(shown) == 4
            assert {t for slug in shown for t in tags[slug]} == set(OBJECTIVES)
            for slug in shown:
                assert f"Which answer fits case {slug}?" in page
            asked.add(tuple(shown))
            submit(client, f"/attempts/{attempt_id}", {"action": "submit"})
    assert len(asked) > 1


def test_tagging_a_question_makes_a_new_version_and_untagged_ones_keep_theirs(
    app: Flask, tmp_path: Path
) -> None:
    untagged = [question(f"u{n}") for n in range(1, 5)]
    document = programme(untagged)
    assessment_id = load_tagged(app, tmp_path, document)
    document["version"] = "1.1.0"
    document["modules"][0]["assessment"]["questions"][0]["objectives"] = ["kpis"]
    load_tagged(app, tmp_path, document)
    with app.app_context():
        versions = {
            q.slug: [v.number for v in q.versions]
            for q in db.session.scalars(
                select(Question).where(Question.assessment_id == assessment_id)
            )
        }
    assert versions == {"u1": [1, 2], "u2": [1], "u3": [1], "u4": [1]}
