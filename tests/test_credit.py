"""Credit across programmes, per objective: the equivalence map is checked against the
programmes (file, line, field), an objective mastered in one programme is credited in another
the learner is enrolled in, a module only when all its objectives are, audited, and never across
a major version."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from lms.assessments import operations as attempts
from lms.audit.models import AuditEvent
from lms.curricula.loader import load_curricula
from lms.curricula.models import Objective
from lms.extensions import db
from lms.learning import credit
from lms.learning.models import EquivalenceMember, ObjectiveCredit
from lms.learning.operations import mark_section_done
from lms.stages.engine import organisation_today
from tests.conftest import CURRICULA, submit
from tests.support.learning import assessment, enrol, module, right_answers

PROGRAMME = """\
schema: lms/programme/1
id: {pid}
version: {version}
kind: curriculum
title: {title}
source: written-by-the-tests.txt
summary: A programme for the credit tests.
modules:
- id: measuring
  title: Measuring
  stage: initial
  objectives:
  - id: holdouts
    text: Read a holdout test.
  - id: {second}
    text: Something else entirely.
  lesson:
  - id: holdouts
    title: Reading a holdout
    body: A lift is real only with its interval and its test.
  - id: {second}
    title: The other thing
    body: Something else, taught here.
  assessment:
    id: measuring-check
    title: Measuring check
    questions:
    - id: holdout-{pid}
      type: single-choice
      objectives: [holdouts]
      prompt: "{pid}: when is a lift real?"
      options:
      - {{id: a, text: With its interval and test, correct: true, feedback: Right.}}
      - {{id: b, text: When it is positive, feedback: Noise is positive half the time.}}
      explanation: An interval and a test first.
    - id: other-{pid}
      type: single-choice
      objectives: [{second}]
      prompt: "{pid}: the other thing?"
      options:
      - {{id: a, text: This one, correct: true, feedback: Right.}}
      - {{id: b, text: That one, feedback: No.}}
      explanation: Because.
"""

MAP = """\
schema: lms/equivalences/1
version: 1.0.0
equivalences:
- id: holdout-reading
  objectives:
  - first-programme/measuring/holdouts
  - second-programme/measuring/holdouts
  versions: {first-programme: 1, second-programme: 1}
  same: Both read a holdout test with its interval and test.
"""


def tree(tmp_path: Path, *, second_version: str = "1.0.0", equivalences: str = MAP) -> Path:
    root = tmp_path / "curricula"
    (root / "programmes").mkdir(parents=True, exist_ok=True)
    shutil.copy(CURRICULA / "framework.yaml", root)
    shutil.copy(CURRICULA / "figures.yaml", root)
    for pid, title, version, second in (
        ("first-programme", "First Programme", "1.0.0", "budgets"),
        ("second-programme", "Second Programme", second_version, "forecasts"),
    ):
        (root / "programmes" / f"{pid}.yaml").write_text(
            PROGRAMME.format(pid=pid, title=title, version=version, second=second)
        )
    (root / "equivalences.yaml").write_text(equivalences)
    return root


def validate(app: Flask, root: Path) -> str:
    result = app.test_cli_runner().invoke(args=["curricula", "validate", str(root)])
    assert result.exit_code == 1, result.output
    return result.stderr


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "- second-programme/measuring/holdouts\n",
            "- second-programme/measuring/holdout\n",
            "equivalences.yaml:7: equivalences[0].objectives[1]: no objective "
            "second-programme/measuring/holdout",
        ),
        (
            "- second-programme/measuring/holdouts\n",
            "- first-programme/measuring/budgets\n",
            "equivalences[0]: Value error, each objective of an equivalence comes from a "
            "different programme",
        ),
    ],
)
def test_the_map_is_checked_against_the_programmes(
    app: Flask, tmp_path: Path, old: str, new: str, message: str
) -> None:
    root = tree(tmp_path, equivalences=MAP.replace(old, new))
    assert message in validate(app, root)


def test_an_equivalence_for_another_major_version_credits_nothing_and_fails_the_linter(
    app: Flask, tmp_path: Path
) -> None:
    from lms.curricula.files import parse_tree
    from lms.curricula.lint import lint

    stale = MAP.replace("second-programme: 1}", "second-programme: 2}")
    parsed = parse_tree(tree(tmp_path, equivalences=stale))
    assert [p for item in parsed for p in item.problems] == []
    messages = [str(p) for p in lint(parsed).problems]
    assert (
        "curricula/equivalences.yaml:8: equivalences[0].versions.second-programme: was judged "
        "for version 2 of second-programme, which is now 1.0.0: it credits nothing until "
        "reviewed" in "\n".join(messages)
    )


def test_the_repository_map_names_real_objectives(app: Flask, curricula) -> None:
    with app.app_context():
        members = list(db.session.scalars(select(EquivalenceMember)))
        assert len(members) >= 20
        assert len({m.equivalence for m in members}) >= 10


@pytest.fixture
def two_programmes(app: Flask, users, tmp_path: Path) -> dict[str, int]:
    with app.app_context():
        assert load_curricula(tree(tmp_path)).ok
        today = organisation_today()
        first = enrol(users["learner"], today, "first-programme")
        second = enrol(users["learner"], today, "second-programme")
        db.session.commit()
        return {"first": first.id, "second": second.id}


def master_holdouts(user_id: int, *, right: bool = True, read: bool = True) -> None:
    """Read the first programme's holdout section and pass its check."""
    taught = module("measuring", "first-programme")
    section = next(s for s in taught.sections if s.slug == "holdouts")
    if read:
        mark_section_done(user_id, section)
    attempt = attempts.start_attempt(user_id, assessment("measuring-check", "first-programme"))
    answers = right_answers(attempt)
    if not right:  # get the holdout question wrong, the other right: 50%, not passed
        holdout = next(i for i in attempt.items if "when is a lift real" in i.snapshot["prompt"])
        answers[f"q{holdout.position}"] = next(
            o["id"] for o in holdout.snapshot["options"] if o["id"] != holdout.snapshot["key"]
        )
    attempts.submit_attempt(attempt, _form(answers))


def _form(answers: dict):
    from werkzeug.datastructures import MultiDict

    return MultiDict(answers)


def test_mastery_in_one_programme_credits_the_objective_in_the_other(
    app: Flask, users, two_programmes
) -> None:
    with app.app_context():
        learner = users["learner"]
        master_holdouts(learner)  # passing the check grants what it earns, at once
        db.session.commit()
        (grant,) = credit.current_credits(learner)
        target = db.session.get(Objective, grant.objective_id)
        source = db.session.get(Objective, grant.source_objective_id)
        assert (target.module.programme.slug, target.slug) == ("second-programme", "holdouts")
        assert (source.module.programme.slug, source.slug) == ("first-programme", "holdouts")
        assert grant.evidence["sections"] == ["holdouts"] and grant.evidence["questions"] == 1
        # Audited; a second run grants nothing more.
        assert db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "objective.credited")
        )
        assert credit.refresh_credits(learner) == []
        # One objective of two: the module is not credited.
        second = module("measuring", "second-programme")
        assert credit.credited_modules(learner, [second]) == {}


def test_no_credit_without_the_section_or_with_a_wrong_answer(
    app: Flask, users, two_programmes
) -> None:
    with app.app_context():
        learner = users["learner"]
        master_holdouts(learner, read=False)  # passed, every answer right, section unread
        assert credit.refresh_credits(learner) == credit.current_credits(learner) == []
        learner2 = users["learner2"]
        enrol(learner2, organisation_today(), "second-programme")
        master_holdouts(learner2, right=False)  # read, but the holdout question wrong
        assert credit.refresh_credits(learner2) == credit.current_credits(learner2) == []


def test_a_module_is_credited_when_every_objective_is(app: Flask, users, two_programmes) -> None:
    with app.app_context():
        learner = users["learner"]
        master_holdouts(learner)
        credit.refresh_credits(learner)
        second = module("measuring", "second-programme")
        # Map the other objective too, as a later version of the map would.
        forecasts = next(o for o in second.objectives if o.slug == "forecasts")
        budgets = next(
            o for o in module("measuring", "first-programme").objectives if o.slug == "budgets"
        )
        for objective in (forecasts, budgets):
            db.session.add(
                EquivalenceMember(equivalence="other", objective_id=objective.id, programme_major=1)
            )
        mark_section_done(
            learner,
            next(s for s in module("measuring", "first-programme").sections if s.slug == "budgets"),
        )
        credit.refresh_credits(learner)
        db.session.commit()
        credited = credit.credited_modules(learner, [second])
        assert set(credited) == {second.id}
        assert {c.equivalence for c in credited[second.id]} == {"holdout-reading", "other"}


def test_a_credit_never_crosses_a_major_version(
    app: Flask, users, two_programmes, tmp_path: Path
) -> None:
    with app.app_context():
        learner = users["learner"]
        master_holdouts(learner)
        credit.refresh_credits(learner)
        db.session.commit()
        assert len(credit.current_credits(learner)) == 1
        # The second programme moves to 2.0.0; until the map is reviewed, nothing credits.
        assert load_curricula(tree(tmp_path / "v2-stale", second_version="2.0.0")).ok
        db.session.commit()
        assert credit.current_credits(learner) == []
        assert credit.refresh_credits(learner) == []
        # The map is reviewed for it.
        reviewed = MAP.replace("second-programme: 1}", "second-programme: 2}")
        report = load_curricula(
            tree(
                tmp_path / "v2",
                second_version="2.0.0",
                equivalences=reviewed.replace("version: 1.0.0", "version: 1.1.0"),
            )
        )
        assert report.ok, report.problems
        db.session.commit()
        assert credit.current_credits(learner) == []  # granted under 1.x: no longer counts
        # Under the reviewed map, the same mastery earns a new credit for version 2.
        (again,) = credit.refresh_credits(learner)
        assert again.target_major == 2
        assert len(db.session.scalars(select(ObjectiveCredit)).all()) == 2


# --- Through the web ------------------------------------------------------------------------------


def test_a_learner_sees_where_credit_came_from(app: Flask, users, two_programmes) -> None:
    from tests.test_assessments import answers_to, send, signed_in, start
    from tests.test_certificates import text

    client = signed_in(app, "learner@example.com")
    first = "/learn/first-programme/measuring"
    for section in ("holdouts", "budgets"):
        response = submit(client, first, {}, to=f"{first}/sections/{section}/done")
        assert response.status_code == 302
    with app.app_context():
        check = assessment("measuring-check", "first-programme").id
        # Map the second objectives too, so the whole module is credited.
        second = module("measuring", "second-programme")
        forecasts = next(o for o in second.objectives if o.slug == "forecasts")
        budgets = next(
            o for o in module("measuring", "first-programme").objectives if o.slug == "budgets"
        )
        for objective in (forecasts, budgets):
            db.session.add(
                EquivalenceMember(equivalence="other", objective_id=objective.id, programme_major=1)
            )
        db.session.commit()
    attempt_id = start(client, check)
    result = send(client, attempt_id, answers_to(app, attempt_id), follow_redirects=True)
    assert "Credited in your other programmes: 2 objectives taught alike" in text(result)

    page = text(client.get("/learn/second-programme/measuring"))
    assert "Read a holdout test. credited from First Programme: Measuring" in page
    assert (
        "Credited: every objective of this module was mastered in First Programme: Measuring"
        in page
    )
    with app.app_context():
        assert credit.credited_modules(users["learner"], [module("measuring", "second-programme")])
        audited = {
            e.action
            for e in db.session.scalars(
                select(AuditEvent).where(
                    AuditEvent.action.in_(["objective.credited", "module.credited"])
                )
            )
        }
        assert audited == {"objective.credited", "module.credited"}
    # Another learner's module page shows them no credit of this learner's.
    other = signed_in(app, "other.learner@example.com")
    assert "credited" not in text(other.get("/learn/second-programme/measuring"))
