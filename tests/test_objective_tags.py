"""Questions tagged to objectives: what the file check refuses (with file, line and field), the
stratified draw that makes every attempt test every objective, and the item statistics per
objective. The curricula here are small ones the tests write, so they do not depend on how far
the real banks are tagged."""

from __future__ import annotations

import random
import re
import shutil
import statistics
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from lms.accounts.models import User
from lms.assessments.draw import draw_questions
from lms.assessments.models import Assessment, Attempt, AttemptItem, Question
from lms.assessments.statistics import item_statistics, objective_statistics
from lms.cohorts.operations import create_cohort, enrol
from lms.core.timeutil import now_utc
from lms.curricula.files import parse_file
from lms.curricula.loader import load_curricula
from lms.curricula.models import Programme
from lms.extensions import db
from lms.stages.engine import organisation_today
from tests.conftest import CURRICULA, login, make_user, submit

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
    for name in ("pre_assessment", "post_assessment"):  # parallel forms: both alike
        document[name]["questions"][1]["objectives"] = [tag]
    _, text = write(tmp_path, document)
    found = problems(tmp_path, document)
    assert len(found) == 2, found
    for index, name in enumerate(("pre_assessment", "post_assessment")):
        line = line_of(text, rf"^\s*- {re.escape(tag)}$", nth=index - 2)  # the last two
        assert found[index].startswith(
            f"tagged-programme.yaml:{line}: {name}.questions[1].objectives[0]: {message}"
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


# --- Item statistics per objective --------------------------------------------------------------

RULES = {"discrimination_floor": 0.2, "facility_ceiling": 0.95}
#: Six graded attempts, each asking q1, q3, q4 and q6 (one question per objective).
CREDITS = {
    "q1": [1, 1, 1, 1, 0, 0],
    "q3": [1, 1, 1, 1, 1, 0.8],
    "q4": [1, 1, 0, 0, 0, 0],
    "q6": [0, 1, 0, 1, 0, 1],
}
#: Attempt totals: 3, 4, 2, 3, 1, 1.8.
TOTALS = [sum(credits[n] for credits in CREDITS.values()) for n in range(6)]


def rest_correlation(question: str) -> float:
    credits = CREDITS[question]
    return statistics.correlation(credits, [t - c for t, c in zip(TOTALS, credits, strict=True)])


def frame() -> pd.DataFrame:
    return pd.DataFrame.from_records(
        [
            {"attempt": n, "question": q, "credit": float(c), "points": 1.0}
            for q, credits in CREDITS.items()
            for n, c in enumerate(credits, start=1)
        ]
    )


def test_item_notes_flag_weak_discrimination_and_high_facility() -> None:
    found = {s.question: s for s in item_statistics(frame(), **RULES)}
    assert found["q1"].note is None  # facility 0.67, discrimination well above 0.2
    assert found["q1"].discrimination == pytest.approx(rest_correlation("q1"))
    assert found["q1"].discrimination > 0.2
    # q3: facility 5.8 / 6 = 0.97.
    assert found["q3"].facility == pytest.approx(5.8 / 6)
    assert "almost everyone gets it right (0.97 > 0.95)" in found["q3"].note
    # q6: half right, unrelated to the rest of the attempt.
    weak = rest_correlation("q6")
    assert weak < 0.2
    assert found["q6"].note == (
        f"discriminates weakly ({weak:.2f} < 0.2): check the key and distractors"
    )
    # Both notes at once, joined: with a floor of 0.99 q3's discrimination is weak too.
    strict = {
        s.question: s for s in item_statistics(frame(), **{**RULES, "discrimination_floor": 0.99})
    }
    assert strict["q3"].note == (
        f"discriminates weakly ({rest_correlation('q3'):.2f} < 0.99): check the key and "
        "distractors; almost everyone gets it right (0.97 > 0.95)"
    )


def test_objective_statistics_by_hand() -> None:
    tags = {q["id"]: q.get("objectives", []) for q in tagged_bank()}
    items = item_statistics(frame(), **RULES)
    found = {
        s.objective: s
        for s in objective_statistics(frame(), tags, items, [*OBJECTIVES, "reporting"])
    }
    assert list(found) == [*OBJECTIVES, "reporting"]
    kpis = found["kpis"]  # q1 and q2; only q1 was asked
    assert (kpis.questions, kpis.attempts) == (2, 6)
    assert kpis.facility == pytest.approx(4 / 6)
    assert kpis.discrimination == pytest.approx(rest_correlation("q1"))
    owners = found["owners"]
    assert owners.facility == pytest.approx(5.8 / 6)
    assert owners.discrimination == pytest.approx(rest_correlation("q3"))
    assert found["cadence"].facility == pytest.approx(2 / 6)
    assert found["thresholds"].discrimination == pytest.approx(rest_correlation("q6"))
    assert (found["reporting"].questions, found["reporting"].note) == (0, "no question tests it")
    assert (
        objective_statistics(frame().head(3), tags, items, ["kpis"])[0].note
        == "too few attempts (3 of 5 needed)"
    )


def test_the_manager_sees_figures_per_objective_and_notes_per_item(
    app: Flask, users, tmp_path: Path
) -> None:
    assessment_id = load_tagged(app, tmp_path, programme())
    with app.app_context():
        chapter = db.session.scalar(select(Programme).where(Programme.slug == "tagged-programme"))
        cohort = create_cohort(
            "Tagged cohort",
            organisation_today(),
            db.session.get(User, users["manager"]),
            [chapter],
        )
        db.session.flush()
        versions = {
            q.slug: q.versions[-1]
            for q in db.session.scalars(
                select(Question).where(Question.assessment_id == assessment_id)
            )
        }
        for n in range(6):
            learner = make_user(f"tagged{n}@example.com")
            enrol(cohort, learner, organisation_today(), reason="test set-up")
            attempt = Attempt(
                user_id=learner.id,
                assessment_id=assessment_id,
                number=1,
                seed=n,
                status="submitted",
                submitted_at=now_utc(),
                score=TOTALS[n],
                max_score=4,
                passed=False,
            )
            db.session.add(attempt)
            db.session.flush()
            for position, (slug, credits) in enumerate(CREDITS.items(), start=1):
                db.session.add(
                    AttemptItem(
                        attempt_id=attempt.id,
                        position=position,
                        question_version_id=versions[slug].id,
                        snapshot={"type": "single-choice", "points": 1.0, "key": "b"},
                        answer="b",
                        credit=credits[n],
                    )
                )
        db.session.commit()
        cohort_id = cohort.id
    client = app.test_client()
    assert login(client, "manager@example.com").status_code == 302
    response = client.get(f"/cohorts/{cohort_id}/assessments/{assessment_id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    objectives = dict(
        re.findall(
            r'<span class="muted small">([a-z]+)</span></th>(.*?)</tr>',
            html.split('id="objectives-h"')[1].split('id="items-h"')[0],
            re.S,
        )
    )
    cells = {key: re.findall(r"<td[^>]*>([^<]*)</td>", row) for key, row in objectives.items()}
    assert cells["kpis"] == ["2", "6", f"{4 / 6:.2f}", f"{rest_correlation('q1'):.2f}", ""]
    assert cells["cadence"][:3] == ["2", "6", f"{2 / 6:.2f}"]
    assert "Set the kpis." in html  # the objective's text labels its row
    items = html.split('id="items-h"')[1]
    assert "tests: Set the kpis.; Set the owners." not in items  # q2 was never answered
    assert "tests: Set the thresholds." in items
    weak = rest_correlation("q6")
    assert f"discriminates weakly ({weak:.2f} &lt; 0.2): check the key and distractors" in items
    assert "almost everyone gets it right (0.97 &gt; 0.95)" in items
    assert "a discrimination below 0.2" in items and "a facility above 0.95" in items


# --- In the authoring layout, errors name the file the author opens -----------------------------

FOLDER = CURRICULA / "programmes" / "integrated-marketing-systems"
SHOWN = "curricula/programmes/integrated-marketing-systems"


def layout_copy(tmp_path: Path) -> Path:
    root = tmp_path / "curricula"
    (root / "programmes").mkdir(parents=True)
    shutil.copy(CURRICULA / "framework.yaml", root)
    shutil.copy(CURRICULA / "figures.yaml", root)
    shutil.copytree(FOLDER, root / "programmes" / FOLDER.name)
    return root


def replace_once(path: Path, old: str, new: str) -> int:
    """Replace `old` (found once) and return the line (1-based) where the change starts."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")
    return text[: text.index(old)].count("\n") + 1


def validation_errors(app: Flask, root: Path) -> str:
    result = app.test_cli_runner().invoke(args=["curricula", "validate", str(root)])
    assert result.exit_code == 1, result.output
    return result.stderr


def test_in_the_layout_a_bad_tag_and_a_small_draw_name_the_bank_file(
    app: Flask, tmp_path: Path
) -> None:
    root = layout_copy(tmp_path)
    bank = root / "programmes" / FOLDER.name / "modules" / "strategic-alignment.questions.yaml"
    draw = replace_once(bank, "\ndraw: 8\n", "\ndraw: 5\n") + 1
    tag = replace_once(
        bank,
        "- id: mql-target-met-pipeline-short\n  objectives: [cross-functional-kpis]\n",
        "- id: mql-target-met-pipeline-short\n  objectives: [no-such-objective]\n",
    )
    errors = validation_errors(app, root)
    shown = f"{SHOWN}/modules/strategic-alignment.questions.yaml"
    assert f"{shown}:{draw}: modules[0].assessment.draw: draws 5 questions" in errors
    assert (
        f"{shown}:{tag + 1}: modules[0].assessment.questions[0].objectives[0]: "
        "no objective with id 'no-such-objective' in module 'strategic-alignment'"
    ) in errors


def test_in_the_layout_a_pre_assessment_showing_keys_names_its_file(
    app: Flask, tmp_path: Path
) -> None:
    root = layout_copy(tmp_path)
    pre = root / "programmes" / FOLDER.name / "pre-assessment.yaml"
    line = replace_once(pre, "\nfeedback: never\n", "\nfeedback: after-last-attempt\n") + 1
    errors = validation_errors(app, root)
    assert f"{SHOWN}/pre-assessment.yaml:{line}: pre_assessment.feedback: must be `never`" in errors


def test_the_parallel_post_assessment_tests_the_same_objectives(tmp_path: Path) -> None:
    document = programme(pre_post=True)
    document["post_assessment"]["questions"][0]["objectives"] = ["alignment/owners"]
    _, text = write(tmp_path, document)
    line = line_of(text, r"^\s*- alignment/owners$") - 1  # the `objectives:` key above it
    assert problems(tmp_path, document) == [
        f"tagged-programme.yaml:{line}: post_assessment.questions[0].objectives: a parallel "
        "form tests what the pre-assessment's 'd1' tests: alignment/kpis"
    ]
