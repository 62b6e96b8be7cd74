"""What completes a programme: Strategic Partnership is never left, so its modules and
demonstration count through the programme's completion list, which earns a programme
certificate once; a programme that teaches nothing in that stage is complete on reaching it."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from lms.certificates.models import Certificate
from lms.cohorts import operations as cohort_operations
from lms.extensions import db
from lms.organisation.models import Enrolment
from lms.stages.engine import organisation_today, refresh
from tests.conftest import login, make_user
from tests.support.learning import enrol, proficient_submission
from tests.test_certificates import pdf_text, signed_in, text
from tests.test_curricula import cli, copy_curricula, edit

PROGRAMME = "integrated-marketing-systems"
WINDOWED = ("initial", "proficiency", "expert", "innovation")


def to_partnership(enrolment: Enrolment) -> None:
    """Exempt every gate on the way, as a manager would for a learner certified elsewhere."""
    for stage in WINDOWED:
        for item in enrolment.programme.gates.get(stage, []):
            cohort_operations.exempt(
                enrolment, f"{item['kind']}:{item['ref']}", "Certified by the vendor"
            )
    assert enrolment.stage_id == "partnership"


def programme_certificates(enrolment_id: int) -> list[Certificate]:
    return list(
        db.session.scalars(
            select(Certificate).where(
                Certificate.enrolment_id == enrolment_id, Certificate.stage_id == "partnership"
            )
        )
    )


@pytest.fixture
def in_partnership(app: Flask, users, curricula) -> int:
    with app.app_context():
        enrolment = enrol(users["learner"], organisation_today())
        to_partnership(enrolment)
        db.session.commit()
        return enrolment.id


def test_the_completion_list_is_the_partnership_stage_requirements(
    app: Flask, in_partnership: int
) -> None:
    with app.app_context():
        enrolment = db.session.get(Enrolment, in_partnership)
        assert enrolment.programme.gates["partnership"] == [
            {"kind": "module-completed", "ref": "risk-business-continuity"},
            {"kind": "demonstration-proficient", "ref": "continuity-drill-review"},
        ]
        assert programme_certificates(in_partnership) == []


def test_meeting_the_completion_list_earns_one_programme_certificate(
    app: Flask, users, in_partnership: int, tmp_path: Path
) -> None:
    with app.app_context():
        enrolment = db.session.get(Enrolment, in_partnership)
        proficient_submission(users["learner"], "continuity-drill-review")
        refresh([enrolment])
        assert programme_certificates(in_partnership) == []  # the module is still to do
        cohort_operations.exempt(
            enrolment, "module-completed:risk-business-continuity", "Ran the drill as lead"
        )
        refresh([enrolment])  # a second run issues nothing more
        db.session.commit()
        (certificate,) = programme_certificates(in_partnership)
        assert [e["requirement"] for e in certificate.evidence] == [
            "module-completed:risk-business-continuity",
            "demonstration-proficient:continuity-drill-review",
        ]
        code = certificate.code
    client = signed_in(app, "learner@example.com")
    pdf = client.get(f"/certificates/{code}.pdf")
    assert pdf.status_code == 200
    words = pdf_text(pdf.data, tmp_path)
    assert "has completed the programme Design and Governance of Integrated Marketing" in words
    badge = client.get(f"/certificates/{code}/badge.json").get_json()
    assert badge["credentialSubject"]["achievement"]["description"].startswith("Completed ")


def test_the_learner_sees_what_completes_the_programme(app: Flask, in_partnership: int) -> None:
    client = app.test_client()
    login(client, "learner@example.com")
    page = text(client.get("/"))
    assert "What completes the programme: 0 of 2 requirements met" in page
    assert "What completes the programme (2)" in page


def test_a_programme_with_nothing_in_partnership_is_complete_on_reaching_it(
    app: Flask, users, curricula
) -> None:
    with app.app_context():
        learner = make_user("finance.learner@example.com")
        enrolment = enrol(learner.id, organisation_today(), "measurement-finance-sales")
        to_partnership(enrolment)
        db.session.commit()
        (certificate,) = programme_certificates(enrolment.id)
        assert certificate.evidence == []


def test_completion_refers_to_partnership_content_only(app: Flask, tmp_path: Path) -> None:
    root = copy_curricula(tmp_path, with_test_programme=False)
    path = root / "programmes" / PROGRAMME / "programme.yaml"
    edit(
        path,
        "- demonstration-proficient: continuity-drill-review\n",
        "- demonstration-proficient: campaign-deployment-sop\n- module-completed: no-such\n",
    )
    result = cli(app, "curricula", "validate", str(root))
    assert result.exit_code == 1
    shown = f"curricula/programmes/{PROGRAMME}/programme.yaml"
    assert (
        f"{shown}:" in result.stderr
        and "completion[1].demonstration-proficient: demonstration 'campaign-deployment-sop' "
        "is placed in stage 'innovation'"
        in result.stderr
    )
    assert "completion[2].module-completed: no module with id 'no-such'" in result.stderr


def test_a_partnership_gate_is_refused(app: Flask, tmp_path: Path) -> None:
    root = copy_curricula(tmp_path, with_test_programme=False)
    path = root / "programmes" / PROGRAMME / "programme.yaml"
    edit(path, "gates:\n", "gates:\n  partnership:\n  - module-completed: strategic-alignment\n")
    result = cli(app, "curricula", "validate", str(root))
    assert result.exit_code == 1
    assert "gates.partnership: Strategic Partnership is never left" in result.stderr
