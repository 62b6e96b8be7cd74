"""Assessments: each question type's parsing and scoring, the attempt engine as a learner meets
it in the browser (draw, resume, save, submit, time limits, attempts, feedback), snapshots that
outlive an edited question, and the item and decision-quality statistics."""

from __future__ import annotations

import json
import random
import re
import shutil
import statistics
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import pandas as pd
import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from lms.assessments import operations
from lms.assessments.models import Assessment, Attempt, AttemptItem, Question
from lms.assessments.questions import QUESTION_TYPES, public_view, question_type
from lms.assessments.statistics import decision_quality, item_statistics
from lms.core.timeutil import as_utc, now_utc
from lms.curricula.loader import load_curricula
from lms.extensions import db
from tests.conftest import CURRICULA, csrf_fields, login, make_user, submit
from tests.support.learning import FIRST_CHECK, SECOND_CHECK, assessment, right_answers

# --- Question types, without a database --------------------------------------------------------

SINGLE = {
    "id": "pick-one",
    "type": "single-choice",
    "prompt": "Which one?",
    "explanation": "Because option b fits the situation best.",
    "options": [
        {"id": "a", "text": "Option A", "feedback": "Option a misses the point."},
        {"id": "b", "text": "Option B", "correct": True, "feedback": "Option b is right."},
        {"id": "c", "text": "Option C"},
    ],
}
SCENARIO = {**SINGLE, "id": "decide", "type": "scenario", "scenario": "A team must decide."}
MULTIPLE = {
    "id": "pick-many",
    "type": "multiple-response",
    "prompt": "Which apply?",
    "explanation": "Four of the six options apply here.",
    "options": [
        {"id": "a", "text": "One", "correct": True, "feedback": "One applies."},
        {"id": "b", "text": "Two", "feedback": "Two does not apply."},
        {"id": "c", "text": "Three", "correct": True},
        {"id": "d", "text": "Four", "correct": True},
        {"id": "e", "text": "Five"},
        {"id": "f", "text": "Six", "correct": True},
    ],
}
NUMERIC = {
    "id": "share",
    "type": "numeric",
    "prompt": "What share is deleted?",
    "explanation": "One hundred and fifty thousand less seven thousand five hundred.",
    "answer": 28.5,
    "tolerance": 0.1,
    "unit": "%",
}
EXACT = {**NUMERIC, "id": "saving", "answer": 29700, "tolerance": 0, "unit": "USD"}
ORDERING = {
    "id": "steps",
    "type": "ordering",
    "prompt": "Put the steps in order.",
    "explanation": "Inventory first and verification last.",
    "items": [
        {"id": "a", "text": "First"},
        {"id": "b", "text": "Second"},
        {"id": "c", "text": "Third"},
        {"id": "d", "text": "Fourth"},
    ],
}
MATCHING = {
    "id": "pairs",
    "type": "matching",
    "prompt": "Match each technique.",
    "explanation": "Hashes are deterministic and vaults are reversible.",
    "pairs": [
        {"id": "plain", "left": "Plain hash", "right": "Matched against any list"},
        {"id": "keyed", "left": "Keyed hash", "right": "Needs a secret key"},
        {"id": "token", "left": "Tokenization", "right": "Reversible through a vault"},
        {"id": "general", "left": "Generalization", "right": "Age bands, not birth dates"},
    ],
}
EVERY_TYPE = [SINGLE, SCENARIO, MULTIPLE, NUMERIC, ORDERING, MATCHING]


def snapshot(spec: dict, seed: int = 1) -> dict[str, Any]:
    kind = question_type(spec["type"])
    return kind.present(kind.Spec.model_validate(spec), random.Random(seed))


def score(spec_or_snapshot: dict, answer: Any) -> float:
    shown = spec_or_snapshot if "key" in spec_or_snapshot else snapshot(spec_or_snapshot)
    return question_type(shown["type"]).score(shown, answer)


def parse(shown: dict, fields: dict, name: str = "q1") -> Any:
    return question_type(shown["type"]).parse(shown, MultiDict(fields), name)


def test_every_type_in_the_registry_is_covered() -> None:
    assert set(QUESTION_TYPES) == {spec["type"] for spec in EVERY_TYPE}
    assert QUESTION_TYPES["scenario"].is_scenario
    assert not QUESTION_TYPES["single-choice"].is_scenario


@pytest.mark.parametrize("spec", [SINGLE, SCENARIO], ids=["single-choice", "scenario"])
def test_single_choice_scores_right_wrong_and_missing(spec: dict) -> None:
    shown = snapshot(spec)
    assert score(shown, "b") == 1.0
    assert score(shown, "a") == 0.0
    assert score(shown, None) == 0.0
    assert parse(shown, {"q1": "b"}) == "b"
    assert parse(shown, {"q1": "z"}) is None  # not an option of this question
    assert parse(shown, {}) is None


def test_scenario_keeps_its_situation() -> None:
    assert snapshot(SCENARIO)["scenario"] == "A team must decide."


@pytest.mark.parametrize(
    ("chosen", "credit"),
    [
        (["a", "c", "d", "f"], 1.0),  # every right option
        (["a", "c"], 0.5),  # (2 - 0) / 4
        (["a", "c", "d"], 0.75),  # (3 - 0) / 4
        (["a", "b", "c"], 0.25),  # (2 right - 1 wrong) / 4
        (["a", "b", "c", "d", "e", "f"], 0.5),  # everything ticked: (4 - 2) / 4
        (["a", "b", "e"], 0.0),  # (1 - 2) / 4 is negative: never below zero
        (["b", "e"], 0.0),  # (0 - 2) / 4
        ([], 0.0),
        (None, 0.0),
    ],
)
def test_multiple_response_partial_credit(chosen: list[str] | None, credit: float) -> None:
    assert score(MULTIPLE, chosen) == pytest.approx(credit)


def test_multiple_response_parse_keeps_known_options_once() -> None:
    shown = snapshot(MULTIPLE)
    fields = MultiDict([("q1", "f"), ("q1", "a"), ("q1", "a"), ("q1", "zz")])
    assert question_type("multiple-response").parse(shown, fields, "q1") == ["a", "f"]
    assert parse(shown, {}) == []


@pytest.mark.parametrize(
    ("given", "credit"),
    [
        (28.5, 1.0),
        (28.4, 1.0),  # 0.1 below: inside the tolerance
        (28.6, 1.0),  # 0.1 above, although 28.6 - 28.5 is 0.10000000000000142 in floats
        (28.39, 0.0),
        (28.61, 0.0),
        (-28.5, 0.0),
        (None, 0.0),
    ],
)
def test_numeric_tolerance_boundaries(given: float | None, credit: float) -> None:
    assert score(NUMERIC, given) == credit


def test_numeric_without_tolerance_needs_the_exact_number() -> None:
    assert score(EXACT, 29700.0) == 1.0
    assert score(EXACT, 29700.5) == 0.0
    assert score(EXACT, 29699.0) == 0.0


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("1,200", 1200.0),
        ("$29,700", 29700.0),
        ("28.5%", 28.5),
        (" 12 500 ", 12500.0),
        ("€3.5", 3.5),
        ("-4", -4.0),
        ("abc", None),
        ("nan", None),
        ("inf", None),
        ("", None),
    ],
)
def test_numeric_parse_accepts_what_people_type(typed: str, value: float | None) -> None:
    assert parse(snapshot(NUMERIC), {"q1": typed}) == value


def test_numeric_parse_without_the_field_is_no_answer() -> None:
    assert parse(snapshot(NUMERIC), {}) is None


@pytest.mark.parametrize(
    ("order", "credit"),
    [
        (["a", "b", "c", "d"], 1.0),
        (["b", "a", "c", "d"], 0.5),  # two of four in their place
        (["a", "b", "d", "c"], 0.5),
        (["a", "c", "d", "b"], 0.25),
        (["d", "c", "b", "a"], 0.0),
        (["b", "c", "d", "a"], 0.0),  # every item one place off
        ([], 0.0),
        (None, 0.0),
    ],
)
def test_ordering_credit_per_item_in_its_place(order: list[str] | None, credit: float) -> None:
    assert score(ORDERING, order) == credit


def test_ordering_parse_reads_position_numbers() -> None:
    shown = snapshot(ORDERING)
    positions = {"q1-a": "2", "q1-b": "1", "q1-c": "3", "q1-d": "4"}
    assert parse(shown, positions) == ["b", "a", "c", "d"]
    assert parse(shown, {**positions, "q1-a": "1"}) is None  # a tie
    assert parse(shown, {**positions, "q1-d": "5"}) is None  # a gap
    assert parse(shown, {**positions, "q1-c": ""}) is None  # one left out
    assert parse(shown, {**positions, "q1-c": "third"}) is None


def test_ordering_never_starts_in_the_right_order() -> None:
    for seed in range(300):
        shown = snapshot(ORDERING, seed)
        assert [o["id"] for o in shown["options"]] != shown["key"]


def test_matching_credit_per_pair() -> None:
    shown = snapshot(MATCHING)
    key = shown["key"]
    assert sorted(key) == ["general", "keyed", "plain", "token"]
    assert score(shown, dict(key)) == 1.0
    two_right = {**key, "plain": key["keyed"], "keyed": key["plain"]}
    assert score(shown, two_right) == 0.5
    assert score(shown, {"token": key["token"]}) == 0.25
    rights = [key[left] for left in ("plain", "keyed", "token", "general")]
    rotated = dict(
        zip(("plain", "keyed", "token", "general"), rights[1:] + rights[:1], strict=True)
    )
    assert score(shown, rotated) == 0.0
    assert score(shown, {}) == 0.0
    assert score(shown, None) == 0.0


def test_matching_parse_keeps_known_choices_only() -> None:
    shown = snapshot(MATCHING)
    fields = {"q1-plain": shown["key"]["plain"], "q1-keyed": "r99", "q1-other": "r1"}
    assert parse(shown, fields) == {"plain": shown["key"]["plain"]}
    # The right-hand choices are numbered, so their ids say nothing about the pairing.
    assert sorted(r["id"] for r in shown["rights"]) == ["r1", "r2", "r3", "r4"]


@pytest.mark.parametrize("spec", EVERY_TYPE, ids=lambda spec: spec["type"])
def test_public_view_carries_no_key_explanation_or_feedback(spec: dict) -> None:
    shown = snapshot(spec)
    view = public_view(shown)
    assert "key" not in view
    assert "explanation" not in view
    for option in view.get("options", []):
        assert set(option) == {"id", "text"}
    text = json.dumps(view)
    assert spec["explanation"] not in text
    assert "correct" not in text
    for option in spec.get("options", []):
        if option.get("feedback"):
            assert option["feedback"] not in text
    if spec["type"] == "numeric":
        assert "28.5" not in text
    # What the learner needs to answer is still there.
    assert view["prompt"] == spec["prompt"]


# --- The attempt engine, through the browser's requests ----------------------------------------


def text(response) -> str:
    return response.get_data(as_text=True)


def attempt_id_from(response) -> int:
    assert response.status_code == 302, response.status_code
    match = re.fullmatch(r"/attempts/(\d+)", urlsplit(response.location).path)
    assert match, response.location
    return int(match.group(1))


def start(client: FlaskClient, assessment_id: int) -> int:
    """Press Start (or Resume) on the assessment's page; the attempt's id."""
    return attempt_id_from(
        submit(
            client, f"/assessments/{assessment_id}", {}, to=f"/assessments/{assessment_id}/start"
        )
    )


def send(client: FlaskClient, attempt_id: int, answers: dict, action: str = "submit", **kw):
    return submit(client, f"/attempts/{attempt_id}", {**answers, "action": action}, **kw)


def signed_in(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    assert login(client, email).status_code == 302
    return client


def plain_snippet(source: str) -> str:
    """The longest run of plain words in `source`: found in a page whatever the escaping."""
    return max(re.findall(r"[A-Za-z0-9 ]{12,}", source), key=len).strip()


def question_chunks(html: str) -> list[str]:
    """The attempt page's questions, one chunk of HTML each, in the order shown."""
    return re.findall(r'<fieldset class="card question".*?</fieldset>', html, re.S)


@pytest.fixture
def learner(app: Flask, users, curricula) -> FlaskClient:
    return signed_in(app, "learner@example.com")


@pytest.fixture
def check(app: Flask, curricula) -> int:
    """The first module's assessment: 12 questions, 8 drawn, 3 attempts, pass mark 80%."""
    with app.app_context():
        return assessment(FIRST_CHECK).id


def configure(app: Flask, slug: str = FIRST_CHECK, **values: Any) -> int:
    with app.app_context():
        row = assessment(slug)
        for name, value in values.items():
            setattr(row, name, value)
        db.session.commit()
        return row.id


def answers_to(app: Flask, attempt_id: int, positions: set[int] | None = None) -> dict:
    with app.app_context():
        return right_answers(db.session.get(Attempt, attempt_id), positions)


def snapshots(app: Flask, attempt_id: int) -> list[dict]:
    with app.app_context():
        return [item.snapshot for item in db.session.get(Attempt, attempt_id).items]


def attempt_row(app: Flask, attempt_id: int) -> SimpleNamespace:
    with app.app_context():
        row = db.session.get(Attempt, attempt_id)
        return SimpleNamespace(
            status=row.status,
            score=row.score,
            max_score=row.max_score,
            passed=row.passed,
            answers=[item.answer for item in row.items],
            credits=[item.credit for item in row.items],
        )


def attempts_of(app: Flask, email: str, assessment_id: int) -> list[Attempt]:
    from lms.accounts.models import User

    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.email == email))
        return list(
            db.session.scalars(
                select(Attempt).where(
                    Attempt.user_id == user_id, Attempt.assessment_id == assessment_id
                )
            )
        )


def test_the_same_seed_gives_the_same_draw_and_option_order(
    app: Flask, ctx, users, curricula, monkeypatch
) -> None:
    def seeded(value: int) -> None:
        monkeypatch.setattr(operations, "secrets", SimpleNamespace(randbits=lambda bits: value))

    third = make_user("third.learner@example.com").id
    checked = assessment(FIRST_CHECK)
    seeded(12345)
    mine = operations.start_attempt(users["learner"], checked)
    theirs = operations.start_attempt(users["learner2"], checked)
    seeded(54321)
    other = operations.start_attempt(third, checked)
    db.session.commit()

    def shown(attempt: Attempt) -> list[tuple[int, Any]]:
        return [(item.question_version_id, item.snapshot) for item in attempt.items]

    assert mine.seed == theirs.seed == 12345
    assert len(mine.items) == 8
    assert len({version for version, _ in shown(mine)}) == 8
    assert shown(mine) == shown(theirs)
    assert shown(mine) != shown(other)


def test_a_resumed_attempt_shows_the_same_questions_in_the_same_order(
    app: Flask, learner: FlaskClient, check: int
) -> None:
    attempt_id = start(learner, check)
    first = text(learner.get(f"/attempts/{attempt_id}"))
    shown = snapshots(app, attempt_id)
    chunks = question_chunks(first)
    assert len(chunks) == len(shown) == 8
    for chunk, snap in zip(chunks, shown, strict=True):
        texts = [str(escape(o["text"])) for o in snap.get("options", [])]
        places = [chunk.index(t) for t in texts]
        assert places == sorted(places)  # the options in the snapshot's order
    # Coming back (another GET, or Start pressed again) shows exactly the same attempt.
    again = text(learner.get(f"/attempts/{attempt_id}"))
    assert question_chunks(again) == chunks
    overview = text(learner.get(f"/assessments/{check}"))
    assert "Resume your attempt" in overview
    assert start(learner, check) == attempt_id
    assert question_chunks(text(learner.get(f"/attempts/{attempt_id}"))) == chunks
    assert len(attempts_of(app, "learner@example.com", check)) == 1


@pytest.mark.parametrize("slug", [FIRST_CHECK, SECOND_CHECK])
def test_the_attempt_page_carries_no_answer_key(
    app: Flask, learner: FlaskClient, slug: str
) -> None:
    assessment_id = configure(app, slug, draw=None)  # every question, every type
    attempt_id = start(learner, assessment_id)
    page = text(learner.get(f"/attempts/{attempt_id}"))
    shown = snapshots(app, attempt_id)
    assert len(question_chunks(page)) == len(shown) == 13
    assert '"correct"' not in page
    assert "correct=" not in page
    for snap in shown:
        assert plain_snippet(snap["explanation"]) not in page
        for option in snap.get("options", []):
            if option.get("feedback"):
                assert plain_snippet(option["feedback"]) not in page
        if snap["type"] == "numeric":
            assert f'value="{snap["key"]["answer"]:g}"' not in page
    # The same snippets are found once feedback may be shown: the check above can fail.
    send(learner, attempt_id, answers_to(app, attempt_id))
    result = text(learner.get(f"/attempts/{attempt_id}/result"))
    assert all(plain_snippet(snap["explanation"]) in result for snap in shown)


def test_saved_answers_survive_and_are_shown_again(app: Flask, learner: FlaskClient) -> None:
    assessment_id = configure(app, draw=None)
    attempt_id = start(learner, assessment_id)
    response = send(learner, attempt_id, answers_to(app, attempt_id), "save")
    assert response.status_code == 302
    assert urlsplit(response.location).path == f"/attempts/{attempt_id}"
    saved_page = text(learner.get(f"/attempts/{attempt_id}"))
    assert "Your answers are saved." in saved_page

    row = attempt_row(app, attempt_id)
    assert row.status == "in-progress"
    assert row.score is None
    assert all(answer not in (None, [], {}) for answer in row.answers)

    page = text(learner.get(f"/attempts/{attempt_id}"))  # a new visit, as after a closed tab
    for position, (chunk, snap) in enumerate(
        zip(question_chunks(page), snapshots(app, attempt_id), strict=True), start=1
    ):
        key, kind, name = snap["key"], snap["type"], f"q{position}"
        if kind in ("single-choice", "scenario"):
            assert chunk.count(" checked") == 1
            assert f'value="{key}" checked' in chunk
        elif kind == "multiple-response":
            assert chunk.count(" checked") == len(key)
            assert all(f'value="{k}" checked' in chunk for k in key)
        elif kind == "numeric":
            assert f'value="{key["answer"]:g}"' in chunk
        elif kind == "ordering":
            for place, item in enumerate(key, start=1):
                select_html = re.search(rf'<select id="{name}-{item}".*?</select>', chunk, re.S)
                assert f'<option value="{place}" selected>' in select_html.group(0)


def test_grading_happens_on_the_server(app: Flask, learner: FlaskClient, check: int) -> None:
    attempt_id = start(learner, check)
    forged = {"score": "100", "max_score": "8", "percent": "1", "passed": "1", "credit": "1"}
    response = send(learner, attempt_id, forged)
    assert urlsplit(response.location).path == f"/attempts/{attempt_id}/result"
    row = attempt_row(app, attempt_id)
    assert (row.status, row.score, row.max_score, row.passed) == ("submitted", 0, 8, False)
    assert "Not passed yet: 0%" in text(learner.get(f"/attempts/{attempt_id}/result"))


def test_right_answers_pass_with_full_marks(app: Flask, learner: FlaskClient, check: int) -> None:
    attempt_id = start(learner, check)
    response = send(learner, attempt_id, answers_to(app, attempt_id), follow_redirects=True)
    page = text(response)
    assert "Passed: 100%" in page
    assert "You scored 8 of 8 points; the pass mark is 80%." in page
    row = attempt_row(app, attempt_id)
    assert (row.score, row.passed, row.credits) == (8, True, [1.0] * 8)


@pytest.mark.parametrize(("right", "passed"), [(8, True), (7, False)])
def test_the_pass_mark_is_80_percent_inclusive(
    app: Flask, learner: FlaskClient, right: int, passed: bool
) -> None:
    assessment_id = configure(app, draw=10)
    attempt_id = start(learner, assessment_id)
    send(learner, attempt_id, answers_to(app, attempt_id, set(range(1, right + 1))))
    row = attempt_row(app, attempt_id)
    assert (row.score, row.max_score, row.passed) == (right, 10, passed)
    heading = "Passed: 80%" if passed else "Not passed yet: 70%"
    assert heading in text(learner.get(f"/attempts/{attempt_id}/result"))


def graded(points: list[float], right: list[bool], pass_mark: float = 0.8) -> Attempt:
    """An attempt of numeric questions, graded in memory."""
    attempt = Attempt(assessment=Assessment(pass_mark=pass_mark))
    for position, (worth, ok) in enumerate(zip(points, right, strict=True), start=1):
        shown = {**snapshot({**EXACT, "points": worth}), "points": worth}
        attempt.items.append(
            AttemptItem(position=position, snapshot=shown, answer=29700.0 if ok else 1.0)
        )
    operations.grade(attempt)
    return attempt


def test_the_pass_mark_survives_float_rounding() -> None:
    # Fifteen questions of 0.1 points, 12 right: 80%, which floats make 0.7999999999999998.
    assert graded([0.1] * 15, [True] * 12 + [False] * 3).passed is True
    assert graded([0.1] * 15, [True] * 11 + [False] * 4).passed is False
    assert graded([1] * 100, [True] * 80 + [False] * 20).passed is True
    assert graded([1] * 100, [True] * 79 + [False] * 21).passed is False
    # Points weigh: 4 of 5 points is 80% although only one question of two is right.
    weighted = graded([4, 1], [True, False])
    assert (weighted.score, weighted.max_score, weighted.passed) == (4, 5, True)


def test_attempts_allowed_is_enforced(app: Flask, learner: FlaskClient, check: int) -> None:
    for number in (1, 2, 3):
        attempt_id = start(learner, check)
        send(learner, attempt_id, {})
        result = text(learner.get(f"/attempts/{attempt_id}/result"))
        assert ("Try again" in result) == (number < 3)
    response = submit(learner, f"/assessments/{check}", {}, to=f"/assessments/{check}/start")
    assert urlsplit(response.location).path == f"/assessments/{check}"
    page = text(learner.get(f"/assessments/{check}"))
    assert "You have used every attempt this assessment allows." in page
    assert "You have used every attempt." in page
    assert len(attempts_of(app, "learner@example.com", check)) == 3


def test_after_passing_no_new_attempt_starts(app: Flask, learner: FlaskClient, check: int) -> None:
    attempt_id = start(learner, check)
    send(learner, attempt_id, answers_to(app, attempt_id))
    response = submit(learner, f"/assessments/{check}", {}, to=f"/assessments/{check}/start")
    assert urlsplit(response.location).path == f"/assessments/{check}"
    page = text(learner.get(f"/assessments/{check}"))
    assert "You have passed this assessment already." in page
    assert "Start another attempt" not in page
    assert len(attempts_of(app, "learner@example.com", check)) == 1


def test_feedback_after_the_last_attempt_stays_hidden_until_then(
    app: Flask, learner: FlaskClient
) -> None:
    assessment_id = configure(app, feedback="after-last-attempt")
    for number in (1, 2, 3):
        attempt_id = start(learner, assessment_id)
        send(learner, attempt_id, {})
        page = text(learner.get(f"/attempts/{attempt_id}/result"))
        explanations = [plain_snippet(s["explanation"]) for s in snapshots(app, attempt_id)]
        if number < 3:
            assert "shown once you pass or have used your last attempt" in page
            assert "Right answer" not in page
            assert not any(snippet in page for snippet in explanations)
        else:
            assert "Right answer" in page
            assert all(snippet in page for snippet in explanations)
    # The earlier results open up too, now that no attempt is left.
    first = attempts_of(app, "learner@example.com", assessment_id)[0]
    assert "Right answer" in text(learner.get(f"/attempts/{first.id}/result"))


def test_feedback_after_the_last_attempt_also_shows_once_passed(
    app: Flask, learner: FlaskClient
) -> None:
    assessment_id = configure(app, feedback="after-last-attempt")
    failed = start(learner, assessment_id)
    send(learner, failed, {})
    assert "Right answer" not in text(learner.get(f"/attempts/{failed}/result"))
    passed = start(learner, assessment_id)
    send(learner, passed, answers_to(app, passed))
    assert "Right answer" in text(learner.get(f"/attempts/{passed}/result"))


def test_feedback_after_each_attempt_shows_at_once(
    app: Flask, learner: FlaskClient, check: int
) -> None:
    attempt_id = start(learner, check)
    send(learner, attempt_id, {})
    page = text(learner.get(f"/attempts/{attempt_id}/result"))
    assert "Right answer" in page
    assert plain_snippet(snapshots(app, attempt_id)[0]["explanation"]) in page


def move_into_the_past(app: Flask, attempt_id: int, minutes: int) -> None:
    with app.app_context():
        row = db.session.get(Attempt, attempt_id)
        row.started_at = as_utc(row.started_at) - timedelta(minutes=minutes)
        row.deadline_at = as_utc(row.deadline_at) - timedelta(minutes=minutes)
        db.session.commit()


def test_the_time_limit_grades_what_was_saved_before_it(app: Flask, learner: FlaskClient) -> None:
    assessment_id = configure(app, time_limit_minutes=20)
    assert "Time limit: 20 minutes" in text(learner.get(f"/assessments/{assessment_id}"))
    attempt_id = start(learner, assessment_id)
    with app.app_context():
        row = db.session.get(Attempt, attempt_id)
        assert as_utc(row.deadline_at) - as_utc(row.started_at) == timedelta(minutes=20)
    assert "Time left" in text(learner.get(f"/attempts/{attempt_id}"))
    send(learner, attempt_id, answers_to(app, attempt_id, {1}), "save")

    move_into_the_past(app, attempt_id, 25)  # the deadline passed five minutes ago
    everything = answers_to(app, attempt_id)
    refused = send(learner, attempt_id, everything, "save", follow_redirects=True)
    assert "The time for this attempt is over" in text(refused)
    saved = attempt_row(app, attempt_id).answers
    assert saved[0] is not None
    assert all(answer in (None, [], {}) for answer in saved[1:])  # nothing else saved

    response = send(learner, attempt_id, everything, follow_redirects=True)
    assert "The time limit had passed" in text(response)
    row = attempt_row(app, attempt_id)
    assert row.status == "expired"
    assert (row.score, row.passed) == (1, False)  # only the first answer was saved in time
    assert row.credits == [1.0] + [0.0] * 7


def test_extra_time_extends_a_running_attempt(app: Flask, ctx, users, curricula) -> None:
    learner = users["learner"]
    timed = assessment(FIRST_CHECK)
    timed.time_limit_minutes = 20
    attempt = operations.start_attempt(learner, timed)
    attempt.started_at = now_utc() - timedelta(minutes=30)
    attempt.deadline_at = attempt.started_at + timedelta(minutes=20)
    db.session.commit()
    assert not operations.is_open(attempt)
    with pytest.raises(operations.AttemptRefused):
        operations.save_answers(attempt, MultiDict())

    operations.grant_extra_time(learner, timed, 15, "Reading support", users["manager"])
    db.session.commit()
    assert as_utc(attempt.deadline_at) - as_utc(attempt.started_at) == timedelta(minutes=35)
    assert operations.is_open(attempt)  # five minutes left again
    operations.save_answers(attempt, MultiDict(right_answers(attempt, {1})))

    # A new grant replaces the old one: 20 + 5 minutes, not 20 + 15 + 5.
    operations.grant_extra_time(learner, timed, 5, "Adjusted", users["manager"])
    assert as_utc(attempt.deadline_at) - as_utc(attempt.started_at) == timedelta(minutes=25)
    assert not operations.is_open(attempt)

    # Someone granted time before starting gets it from the start.
    operations.grant_extra_time(users["learner2"], timed, 10, "Reading support", None)
    theirs = operations.start_attempt(users["learner2"], timed)
    assert as_utc(theirs.deadline_at) - as_utc(theirs.started_at) == timedelta(minutes=30)


def test_a_double_submit_is_graded_once(app: Flask, learner: FlaskClient, check: int) -> None:
    attempt_id = start(learner, check)
    page = text(learner.get(f"/attempts/{attempt_id}"))
    token = csrf_fields(page)
    right = {**token, **answers_to(app, attempt_id), "action": "submit"}
    wrong = {**token, "action": "submit"}
    first = learner.post(f"/attempts/{attempt_id}", data=right)
    second = learner.post(f"/attempts/{attempt_id}", data=wrong)  # the second click
    assert urlsplit(first.location).path == urlsplit(second.location).path
    row = attempt_row(app, attempt_id)
    assert (row.status, row.score, row.passed) == ("submitted", 8, True)
    attempts = attempts_of(app, "learner@example.com", check)
    assert len(attempts) == 1
    overview = text(learner.get(f"/assessments/{check}"))
    assert overview.count(f'href="/attempts/{attempt_id}/result"') == 1
    assert "Passed: see result" in overview


def test_submitting_a_graded_attempt_again_changes_nothing(
    app: Flask, ctx, users, curricula
) -> None:
    attempt = operations.start_attempt(users["learner"], assessment(FIRST_CHECK))
    db.session.flush()
    first = operations.submit_attempt(attempt, MultiDict(right_answers(attempt)))
    db.session.commit()
    again = operations.submit_attempt(attempt, MultiDict())
    db.session.commit()
    assert (first.graded_now, again.graded_now) == (True, False)
    assert (attempt.score, attempt.passed) == (8, True)
    state = operations.summary(users["learner"], assessment(FIRST_CHECK))
    assert (state.submitted, state.passed) == (1, True)


def test_a_snapshot_keeps_what_the_learner_saw_after_the_question_changes(
    app: Flask, users, tmp_path: Path
) -> None:
    root = tmp_path / "curricula"
    (root / "programmes").mkdir(parents=True)
    shutil.copy(CURRICULA / "framework.yaml", root)
    shutil.copy(CURRICULA / "figures.yaml", root)  # lessons and questions write figures
    programme = root / "programmes" / "integrated-marketing-systems"
    shutil.copytree(CURRICULA / "programmes" / "integrated-marketing-systems", programme)
    path = programme / "modules" / "strategic-alignment.questions.yaml"
    version_path = programme / "programme.yaml"
    with app.app_context():
        assert load_curricula(root).ok
        db.session.commit()
    assessment_id = configure(app, draw=None)  # so the edited question is in the attempt

    old, new = "60 seats of a social-listening tool", "60 seats of a brand-monitoring tool"
    client = signed_in(app, "learner@example.com")
    attempt_id = start(client, assessment_id)
    send(client, attempt_id, answers_to(app, attempt_id))
    assert old in text(client.get(f"/attempts/{attempt_id}/result"))

    source = path.read_text(encoding="utf-8")
    assert source.count(old) == 1
    path.write_text(source.replace(old, new), encoding="utf-8")
    metadata = version_path.read_text(encoding="utf-8")
    version = re.search(r"^version: (\d+)\.(\d+)\.(\d+)$", metadata, re.M)
    bumped = f"version: {version[1]}.{version[2]}.{int(version[3]) + 1}"
    version_path.write_text(metadata.replace(version[0], bumped), encoding="utf-8")
    with app.app_context():
        report = load_curricula(root)
        assert report.ok, report.problems
        db.session.commit()
        question = db.session.scalars(
            select(Question).where(
                Question.assessment_id == assessment_id, Question.slug == "license-saving"
            )
        ).one()
        assert [v.number for v in question.versions] == [1, 2]
        assert new in question.versions[1].spec["prompt"]
        assert old in question.versions[0].spec["prompt"]
        item = db.session.scalars(
            select(AttemptItem).where(
                AttemptItem.attempt_id == attempt_id,
                AttemptItem.question_version_id.in_([v.id for v in question.versions]),
            )
        ).one()
        assert item.question_version_id == question.versions[0].id
        assert old in item.snapshot["prompt"]
        # The other questions did not change, so they kept their one version.
        assert (
            db.session.scalar(
                select(func.count(Question.id)).where(
                    Question.assessment_id == assessment_id, Question.versions.any(number=2)
                )
            )
            == 1
        )

    result = text(client.get(f"/attempts/{attempt_id}/result"))
    assert old in result
    assert new not in result
    # A new attempt shows the new text.
    configure(app, draw=None)
    other = signed_in(app, "other.learner@example.com")
    fresh = start(other, assessment_id)
    assert new in text(other.get(f"/attempts/{fresh}"))


# --- Statistics, on frames worked out by hand --------------------------------------------------


def responses(rows: dict[str, list[float | None]], points: dict[str, float] | None = None):
    """One row per graded item: credits per question across attempts 1, 2, ... (None: the
    question was not in that attempt)."""
    records = [
        {"attempt": n, "question": q, "credit": c, "points": (points or {}).get(q, 1.0)}
        for q, credits in rows.items()
        for n, c in enumerate(credits, start=1)
        if c is not None
    ]
    return pd.DataFrame.from_records(records)


#: The thresholds of the item notes, as figures.yaml sets them.
RULES = {"discrimination_floor": 0.2, "facility_ceiling": 0.95}


def test_item_statistics_facility_and_discrimination() -> None:
    frame = responses(
        {
            "q-easy": [1, 1, 1, 1, 0],
            "q-split": [1, 1, 0, 0, 0],
            "q-flat": [1, 1, 1, 1, 1],
            "q-rare": [1, 0, 1, None, None],
        }
    )
    # Attempt totals: 4, 3, 3, 2, 1.
    found = {s.question: s for s in item_statistics(frame, **RULES)}
    assert list(found) == ["q-easy", "q-flat", "q-rare", "q-split"]

    easy = found["q-easy"]
    assert (easy.attempts, easy.facility, easy.note) == (5, 0.8, None)
    # The rest of each attempt: 3, 2, 2, 1, 1; the correlation is sqrt(0.8 / 2.8).
    assert easy.discrimination == pytest.approx(
        statistics.correlation([1, 1, 1, 1, 0], [3, 2, 2, 1, 1])
    )
    assert easy.discrimination == pytest.approx((2 / 7) ** 0.5)

    split = found["q-split"]
    assert split.facility == pytest.approx(0.4)
    # Rest: 3, 2, 3, 2, 1; covariance sum 0.6 over sqrt(1.2 × 2.8).
    assert split.discrimination == pytest.approx(0.6 / (1.2 * 2.8) ** 0.5)

    flat = found["q-flat"]
    assert (flat.facility, flat.discrimination) == (1.0, None)
    assert flat.note == (
        "everyone scored the same on it; almost everyone gets it right (1.00 > 0.95)"
    )

    rare = found["q-rare"]
    assert (rare.attempts, rare.facility, rare.discrimination) == (3, None, None)
    assert rare.note == "too few attempts (3 of 5 needed)"

    lenient = {s.question: s for s in item_statistics(frame, min_attempts=3, **RULES)}
    assert lenient["q-rare"].facility == pytest.approx(2 / 3)


def test_item_statistics_weigh_the_rest_by_points() -> None:
    frame = responses(
        {"q-heavy": [1, 1, 0, 0, 0.5], "q-light": [1, 0, 1, 0, 0]}, points={"q-heavy": 2}
    )
    found = {s.question: s for s in item_statistics(frame, **RULES)}
    # Facility is the mean credit, not points: (1 + 1 + 0 + 0 + 0.5) / 5.
    assert found["q-heavy"].facility == pytest.approx(0.5)
    # For q-light the rest is q-heavy's points earned: 2, 2, 0, 0, 1.
    assert found["q-light"].discrimination == pytest.approx(
        statistics.correlation([1, 0, 1, 0, 0], [2, 2, 0, 0, 1])
    )


def test_item_statistics_when_the_rest_does_not_vary() -> None:
    frame = responses({"q-varies": [1, 0, 1, 0, 1], "q-flat": [1, 1, 1, 1, 1]})
    found = {s.question: s for s in item_statistics(frame, **RULES)}
    assert found["q-varies"].facility == pytest.approx(0.6)
    assert found["q-varies"].discrimination is None
    assert found["q-varies"].note == "the rest of the attempts scored the same"


def test_item_statistics_of_nothing_is_empty() -> None:
    empty = pd.DataFrame(columns=["attempt", "question", "credit", "points"])
    assert item_statistics(empty, **RULES) == []


def scores(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["learner", "purpose", "scenario_score"])


def test_decision_quality_over_learners_with_both() -> None:
    result = decision_quality(
        scores(
            [
                ("ann", "pre", 0.4),
                ("ann", "pre", 0.3),  # the better of two rows counts
                ("ann", "post", 0.6),
                ("bo", "pre", 0.6),
                ("bo", "post", 0.75),
                ("cy", "pre", 0.5),  # no post yet: left out
                ("di", "post", 0.9),  # no pre: left out
            ]
        )
    )
    # Pre mean (0.4 + 0.6) / 2 = 0.5, post mean (0.6 + 0.75) / 2 = 0.675: +35%.
    assert result.learners == 2
    assert result.pre_mean == pytest.approx(0.5)
    assert result.post_mean == pytest.approx(0.675)
    assert result.improvement == pytest.approx(0.35)
    assert result.note is None


def test_decision_quality_can_fall() -> None:
    result = decision_quality(scores([("ann", "pre", 0.8), ("ann", "post", 0.6)]))
    assert result.improvement == pytest.approx(-0.25)


def test_decision_quality_with_a_pre_mean_of_zero_says_why() -> None:
    result = decision_quality(
        scores([("ann", "pre", 0.0), ("ann", "post", 0.5), ("bo", "pre", 0.0), ("bo", "post", 0.7)])
    )
    assert (result.learners, result.pre_mean) == (2, 0.0)
    assert result.post_mean == pytest.approx(0.6)
    assert result.improvement is None
    assert "pre-assessment mean is zero" in result.note


@pytest.mark.parametrize(
    ("rows", "note"),
    [
        ([], "no pre- and post-assessment results yet"),
        ([("ann", "pre", 0.5), ("bo", "pre", 0.6)], "nobody has taken both"),
        ([("ann", "pre", 0.5), ("bo", "post", 0.6)], "nobody has taken both"),
    ],
)
def test_decision_quality_without_pairs_says_why(rows: list, note: str) -> None:
    result = decision_quality(scores(rows))
    assert (result.learners, result.improvement, result.pre_mean) == (0, None, None)
    assert note in result.note
