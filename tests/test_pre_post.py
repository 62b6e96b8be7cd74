"""Pre- and post-assessments that measure: feedback `never` shows the score and nothing that
gives a key away (result page, overview, the learner's data export), and after the
post-assessment the learner sees their change since the pre-assessment."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from lms.accounts.models import User
from lms.assessments.models import Assessment, Attempt
from lms.assessments.statistics import score_change
from lms.curricula.loader import load_curricula
from lms.extensions import db
from lms.privacy import export_user_data
from tests.conftest import CURRICULA, login, submit
from tests.support.learning import right_answers


def question(qid: str, kind: str, points: float = 1) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "id": qid,
        "type": kind,
        "points": points,
        "prompt": f"What should the team do in case {qid}?",
        "explanation": f"Explanation kept secret for case {qid} of the measured form.",
        "options": [
            {"id": "a", "text": f"Wrong move {qid}", "feedback": f"Feedback on wrong move {qid}"},
            {"id": "b", "text": f"Right move {qid}", "correct": True},
        ],
        "objectives": ["alignment/kpis"],
    }
    if kind == "scenario":
        spec["scenario"] = f"The situation of case {qid}."
    return spec


def measured(name: str) -> dict[str, Any]:
    """Four questions: two scenarios (1 point each) and two single-choice (1 and 2 points)."""
    return {
        "id": f"{name}-decisions",
        "title": f"Decisions {name} the programme",
        "attempts_allowed": 1,
        "feedback": "never",
        "questions": [
            question("s1", "scenario"),
            question("s2", "scenario"),
            question("k1", "single-choice"),
            question("k2", "single-choice", points=2),
        ],
    }


PROGRAMME = {
    "schema": "lms/programme/1",
    "id": "measured-programme",
    "version": "1.0.0",
    "kind": "curriculum",
    "title": "Measured Programme",
    "source": "written-by-the-tests.txt",
    "summary": "A programme with a parallel pre- and post-assessment.",
    "modules": [
        {
            "id": "alignment",
            "title": "Alignment",
            "stage": "initial",
            "objectives": [{"id": "kpis", "text": "Set shared KPIs."}],
        }
    ],
    "pre_assessment": measured("before"),
    "post_assessment": measured("after"),
}


@pytest.fixture
def ids(app: Flask, users, tmp_path: Path) -> dict[str, int]:
    root = tmp_path / "curricula"
    (root / "programmes").mkdir(parents=True)
    shutil.copy(CURRICULA / "framework.yaml", root)
    (root / "programmes" / "measured.yaml").write_text(
        yaml.safe_dump(PROGRAMME, sort_keys=False), encoding="utf-8"
    )
    with app.app_context():
        report = load_curricula(root)
        assert report.ok, report.problems
        db.session.commit()
        return {
            a.purpose: a.id
            for a in db.session.scalars(select(Assessment).where(Assessment.purpose != "module"))
        }


@pytest.fixture
def learner(app: Flask, users) -> FlaskClient:
    client = app.test_client()
    assert login(client, "learner@example.com").status_code == 302
    return client


def take(app: Flask, client: FlaskClient, assessment_id: int, right: set[str]) -> int:
    """Start, answer the questions whose ids are in `right` correctly (the rest wrongly: no
    answer), submit; the attempt's id."""
    response = submit(
        client, f"/assessments/{assessment_id}", {}, to=f"/assessments/{assessment_id}/start"
    )
    attempt_id = int(re.fullmatch(r".*/attempts/(\d+)", response.location)[1])
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        positions = {
            item.position
            for item in attempt.items
            if item.snapshot["prompt"].split("case ")[1].rstrip("?") in right
        }
        answers = right_answers(attempt, positions)
    response = submit(client, f"/attempts/{attempt_id}", {**answers, "action": "submit"})
    assert response.status_code == 302
    return attempt_id


def page(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def assert_no_key(html: str) -> None:
    for qid in ("s1", "s2", "k1", "k2"):
        assert f"Explanation kept secret for case {qid}" not in html
        assert f"Feedback on wrong move {qid}" not in html
    assert "Right answer" not in html
    assert "Your answer" not in html
    # Not even right or wrong per question: with the learner's memory of their answer, that is
    # the key.
    assert "result-mark" not in html
    assert "Not right" not in html


def test_the_pre_assessment_shows_the_score_only_even_after_the_last_attempt(
    app: Flask, ids, learner: FlaskClient
) -> None:
    assert "You see your score only" in page(learner, f"/assessments/{ids['pre']}")
    attempt_id = take(app, learner, ids["pre"], right={"s1", "k2"})
    result = page(learner, f"/attempts/{attempt_id}/result")
    # 1 + 2 of 5 points: 60%.
    assert "Your result: 60%" in result
    assert "You scored 3 of 5 points" in result
    assert "Its answers are never shown" in result
    assert_no_key(result)
    assert "change since the pre-assessment" not in result
    # Every attempt is used (one allowed): under the other modes that opens the keys; not here.
    assert "used every attempt" in page(learner, f"/assessments/{ids['pre']}")
    assert_no_key(page(learner, f"/attempts/{attempt_id}/result"))


def test_after_the_post_assessment_the_learner_sees_their_change(
    app: Flask, ids, learner: FlaskClient
) -> None:
    take(app, learner, ids["pre"], right={"s1"})  # 1 of 5 points: 20%; scenarios 1 of 2: 50%
    post = take(app, learner, ids["post"], right={"s1", "s2", "k2"})  # 4 of 5: 80%; 100%
    result = page(learner, f"/attempts/{post}/result")
    assert "Your result: 80%" in result
    assert "Before the programme 20%, now 80%: +60 points." in result
    assert "Decisions (the scenario questions): before 50%, now 100%: +50 points." in result
    assert_no_key(result)


def test_a_fall_is_shown_as_a_fall(app: Flask, ids, learner: FlaskClient) -> None:
    take(app, learner, ids["pre"], right={"s1", "s2", "k1"})  # 3 of 5: 60%; scenarios 100%
    post = take(app, learner, ids["post"], right={"s1", "k1", "k2"})  # 4 of 5: 80%; 50%
    result = page(learner, f"/attempts/{post}/result")
    assert "Before the programme 60%, now 80%: +20 points." in result
    assert "before 100%, now 50%: −50 points." in result


def test_without_the_pre_assessment_the_post_result_says_so(
    app: Flask, ids, learner: FlaskClient
) -> None:
    post = take(app, learner, ids["post"], right={"s1", "s2", "k1", "k2"})
    result = page(learner, f"/attempts/{post}/result")
    assert "Your result: 100%" in result
    assert "You did not take the pre-assessment" in result
    assert "Before the programme" not in result
    assert_no_key(result)


def test_another_learners_pre_assessment_does_not_count(
    app: Flask, ids, learner: FlaskClient
) -> None:
    other = app.test_client()
    assert login(other, "other.learner@example.com").status_code == 302
    take(app, other, ids["pre"], right={"s1"})
    post = take(app, learner, ids["post"], right={"s1"})
    assert "You did not take the pre-assessment" in page(learner, f"/attempts/{post}/result")


def test_the_data_export_gives_no_per_question_credit_for_a_measured_form(
    app: Flask, ids, learner: FlaskClient
) -> None:
    take(app, learner, ids["pre"], right={"s1"})
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "learner@example.com"))
        records = export_user_data(user)["attempts"]["records"]
    assert records[0]["score"] == 1
    assert records[0]["answers"]
    assert all("credit" not in answer for answer in records[0]["answers"])


def test_the_repository_pre_and_post_assessments_never_show_keys(app: Flask, curricula) -> None:
    with app.app_context():
        modes = {
            a.purpose: a.feedback
            for a in db.session.scalars(select(Assessment).where(Assessment.purpose != "module"))
        }
    assert modes == {"pre": "never", "post": "never"}


# --- The change, pure -------------------------------------------------------------------------


def items(rows: list[tuple[str, int, str, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["purpose", "attempt", "type", "credit", "points"])


def test_score_change_by_hand() -> None:
    change = score_change(
        items(
            [
                # Pre attempt 1: 1 of 4 points (25%), scenarios 1 of 2 (50%).
                ("pre", 1, "scenario", 1.0, 1),
                ("pre", 1, "scenario", 0.0, 1),
                ("pre", 1, "single-choice", 0.0, 2),
                # Pre attempt 2, the better: 2.5 of 4 (62.5%, shown 62), scenarios 0.5 of 2.
                ("pre", 2, "scenario", 0.5, 1),
                ("pre", 2, "scenario", 0.0, 1),
                ("pre", 2, "single-choice", 1.0, 2),
                # Post: 3.5 of 4 (87.5%, shown 88), scenarios 1.5 of 2 (75%).
                ("post", 3, "scenario", 1.0, 1),
                ("post", 3, "scenario", 0.5, 1),
                ("post", 3, "single-choice", 1.0, 2),
            ]
        )
    )
    # Best of each, as decision quality takes it: the scenario best is attempt 1's 50%.
    assert (change.pre, change.post) == (62, 88)  # halves to even, like the page's '%.0f'
    assert change.points == 26
    assert (change.pre_scenario, change.post_scenario, change.scenario_points) == (50, 75, 25)


def test_score_change_without_a_pre_or_scenarios() -> None:
    change = score_change(items([("post", 1, "single-choice", 1.0, 1)]))
    assert (change.pre, change.post, change.points) == (None, 100, None)
    assert change.scenario_points is None
    assert score_change(items([("pre", 1, "scenario", 1.0, 1)])) is None
