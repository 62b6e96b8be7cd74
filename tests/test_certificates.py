"""Certificates: one issued for each stage a learner leaves, with the evidence of its gate; the
PDF and the Open Badges credential for the holder, their cohort's manager and admins; the public
verify page (valid, expired, revoked, nothing personal beyond the name); revocation by admins;
expiry when a programme's major version changes and re-certification under the new content;
erasure; and the rate limit on public look-ups."""

from __future__ import annotations

import hashlib
import html
import json
import re
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from lms import create_app
from lms.accounts.models import User
from lms.assessments.models import Attempt
from lms.audit.models import AuditEvent
from lms.certificates.issuing import new_code
from lms.certificates.models import Certificate
from lms.cohorts import operations as cohort_operations
from lms.core.timeutil import as_utc, now_utc
from lms.demonstrations.models import DemonstrationTask, Submission
from lms.extensions import db
from lms.learning.models import ModuleCompletion
from lms.organisation.models import Enrolment
from lms.privacy import erase_user
from lms.ratelimits import LOOKUP_LIMIT
from lms.stages import engine
from lms.stages.engine import organisation_today, refresh
from tests.conftest import config_for_tests, csrf_fields, login, make_user, submit
from tests.support.learning import (
    FIRST_CHECK,
    FIRST_MODULE,
    PROGRAMME,
    SECOND_CHECK,
    SECOND_MODULE,
    assessment,
    enrol,
    make_cohort,
    module,
    programme,
)
from tests.test_curricula import cli, copy_curricula, edit

HOLDER_EMAIL = "priya.raman@example.com"
HOLDER_NAME = "Priya Raman"
TASK = "stack-journey-governance-audit"
INITIAL_GATE = [
    f"module-completed:{FIRST_MODULE}",
    f"module-completed:{SECOND_MODULE}",
    f"assessment-passed:{FIRST_CHECK}",
    f"assessment-passed:{SECOND_CHECK}",
    f"demonstration-proficient:{TASK}",
]
#: Four groups of four from Crockford's base 32: digits and capitals without I, L, O and U.
CODE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$")
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"


def text(response) -> str:
    """The page's text with entities decoded and tags dropped, so sentences read as shown."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(True))))


def pdf_text(data: bytes, tmp_path: Path) -> str:
    """What `pdftotext` reads from the PDF, with runs of white space made single spaces."""
    path = tmp_path / "certificate.pdf"
    path.write_bytes(data)
    result = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, check=True, text=True
    )
    return " ".join(result.stdout.split())


def events(app: Flask, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
        )


def signed_in(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    response = login(client, email)
    assert response.status_code == 302, f"{email} could not sign in"
    return client


# --- Setting up: learners in cohorts, gates met -------------------------------------------------


@pytest.fixture
def people(app: Flask, users: dict[str, int], curricula) -> dict[str, int]:
    """The holder in a cohort run by the manager; the second learner in another cohort, run by
    another manager. Both enrolled in the programme, stage engine run once."""
    with app.app_context():
        holder = make_user(HOLDER_EMAIL, name=HOLDER_NAME)
        other_manager = make_user("other.manager@example.com", ("manager",))
        today = organisation_today()
        mine = make_cohort("Holder's cohort", today, manager_id=users["manager"])
        mine.programmes = [programme()]
        theirs = make_cohort("Another cohort", today, manager_id=other_manager.id)
        theirs.programmes = [programme()]
        enrolment = enrol(holder.id, today, cohort=mine)
        other = enrol(users["learner2"], today, cohort=theirs)
        refresh([enrolment, other])
        db.session.commit()
        return {
            **users,
            "holder": holder.id,
            "enrolment": enrolment.id,
            "other_enrolment": other.id,
            "other_manager": other_manager.id,
        }


def exempt_gates(app: Flask, enrolment_id: int, *stages: str) -> None:
    """Exempt every requirement of these stages' gates the way a manager does (with a reason;
    each exemption runs the stage engine)."""
    with app.app_context():
        enrolment = db.session.get(Enrolment, enrolment_id)
        for stage in stages or ("initial",):
            for item in enrolment.programme.gates[stage]:
                cohort_operations.exempt(
                    enrolment, f"{item['kind']}:{item['ref']}", "Certified by the vendor"
                )
        db.session.commit()


def meet_all_but_the_demonstration(user_id: int) -> None:
    """Both modules completed and both checks passed, as rows (what doing them leaves behind)."""
    for slug in (FIRST_MODULE, SECOND_MODULE):
        db.session.add(
            ModuleCompletion(user_id=user_id, module_id=module(slug).id, completed_at=now_utc())
        )
    for slug in (FIRST_CHECK, SECOND_CHECK):
        db.session.add(
            Attempt(
                user_id=user_id,
                assessment_id=assessment(slug).id,
                number=1,
                seed=7,
                status="submitted",
                submitted_at=now_utc(),
                score=7,
                max_score=8,
                passed=True,
            )
        )
    db.session.flush()


def task() -> DemonstrationTask:
    return db.session.scalars(
        select(DemonstrationTask).where(
            DemonstrationTask.slug == TASK, DemonstrationTask.programme_id == programme().id
        )
    ).one()


def meet_initial_gate(app: Flask, user_id: int) -> None:
    """Every requirement of the initial gate met by evidence (the demonstration graded
    proficient as a row), then the stage engine run as after a graded event."""
    with app.app_context():
        meet_all_but_the_demonstration(user_id)
        db.session.add(
            Submission(
                user_id=user_id,
                task_id=task().id,
                number=1,
                status="proficient",
                answers={},
                submitted_at=now_utc() - timedelta(days=2),
                graded_at=now_utc(),
            )
        )
        db.session.flush()
        engine.after_graded_event(user_id, programme().id)
        db.session.commit()


def certificates_of(user_id: int) -> list[Certificate]:
    return list(
        db.session.scalars(
            select(Certificate).where(Certificate.user_id == user_id).order_by(Certificate.id)
        )
    )


def only_certificate(app: Flask, user_id: int) -> tuple[int, str]:
    with app.app_context():
        [certificate] = certificates_of(user_id)
        return certificate.id, certificate.code


@pytest.fixture
def issued(app: Flask, people: dict[str, int]) -> dict:
    """The holder has passed Initial Adoption by evidence: one certificate."""
    meet_initial_gate(app, people["holder"])
    certificate_id, code = only_certificate(app, people["holder"])
    return {**people, "certificate": certificate_id, "code": code}


def evidence_fields(demonstration: DemonstrationTask) -> dict:
    """Every required item of the evidence form filled in (no file: it is optional here)."""
    fields: dict = {}
    for item in demonstration.evidence:
        name = f"ev-{item['id']}"
        if item["kind"] == "checklist":
            fields[name] = [str(i) for i in range(len(item["items"]))]
        elif item["kind"] == "text":
            fields[name] = " ".join(["The audit found a figure for every step."] * 40)
        elif item["kind"] == "link":
            fields[name] = "https://sandbox.example.com/audit-workbook"
    return fields


# --- Issue -------------------------------------------------------------------------------------


def test_grading_the_demonstration_proficient_issues_one_certificate(
    app: Flask, people: dict[str, int]
) -> None:
    holder = people["holder"]
    with app.app_context():
        meet_all_but_the_demonstration(holder)
        engine.after_graded_event(holder, programme().id)
        db.session.commit()
        demonstration = task()
        task_id, fields = demonstration.id, evidence_fields(demonstration)
        rubric = demonstration.rubric
        assert certificates_of(holder) == []

    learner = signed_in(app, HOLDER_EMAIL)
    response = submit(learner, f"/demonstrations/{task_id}", {**fields, "action": "submit"})
    assert response.status_code == 302
    with app.app_context():
        sent = db.session.scalars(select(Submission).where(Submission.user_id == holder)).one()
        assert sent.status == "submitted"
        assert certificates_of(holder) == []  # sent is not graded

    manager = signed_in(app, "manager@example.com")
    levels = {f"level-{c['id']}": "2" for c in rubric["criteria"]}  # Proficient everywhere
    response = submit(
        manager, f"/grading/{sent.id}", {**levels, "feedback": "Every step has its figure."}
    )
    assert response.status_code == 302

    with app.app_context():
        enrolment = db.session.get(Enrolment, people["enrolment"])
        assert enrolment.stage_id == "proficiency"
        [certificate] = certificates_of(holder)
        taken = programme()
        assert certificate.holder_name == HOLDER_NAME
        assert certificate.programme_title == taken.title
        assert certificate.programme_version == taken.version
        assert (certificate.stage_id, certificate.stage_name) == ("initial", "Initial Adoption")
        assert certificate.enrolment_id == enrolment.id
        assert CODE.match(certificate.code), certificate.code
        assert certificate.expires_at is None and certificate.revoked_at is None
        assert [item["requirement"] for item in certificate.evidence] == INITIAL_GATE
        by_key = {item["requirement"]: item for item in certificate.evidence}
        assert by_key[f"demonstration-proficient:{TASK}"]["evidence"]["submission"] == sent.id
        assert by_key[f"demonstration-proficient:{TASK}"]["label"].startswith(
            f"Demonstrate “{demonstration.title}”"
        )
        assert by_key[f"module-completed:{FIRST_MODULE}"]["label"] == (
            f"Complete the module “{module(FIRST_MODULE).title}”"
        )
        assert not any(item["exempt"] for item in certificate.evidence)

        # The engine running again (another graded event, the nightly refresh) issues no more.
        engine.after_graded_event(holder, taken.id)
        db.session.commit()
        assert len(certificates_of(holder)) == 1


def test_exempted_requirements_count_and_are_marked_on_the_certificate(
    app: Flask, people: dict[str, int]
) -> None:
    exempt_gates(app, people["enrolment"], "initial")
    with app.app_context():
        [certificate] = certificates_of(people["holder"])
        assert certificate.stage_name == "Initial Adoption"
        assert [item["requirement"] for item in certificate.evidence] == INITIAL_GATE
        assert all(item["exempt"] for item in certificate.evidence)
        assert all(item["label"] for item in certificate.evidence)
        assert db.session.get(Enrolment, people["enrolment"]).stage_id == "proficiency"


def test_no_certificate_before_the_whole_gate_is_met(app: Flask, people: dict[str, int]) -> None:
    with app.app_context():
        meet_all_but_the_demonstration(people["holder"])
        engine.after_graded_event(people["holder"], programme().id)
        db.session.commit()
        assert certificates_of(people["holder"]) == []
        assert db.session.get(Enrolment, people["enrolment"]).stage_id == "initial"


def test_each_stage_passed_gets_its_own_certificate_with_a_unique_code(
    app: Flask, people: dict[str, int]
) -> None:
    exempt_gates(app, people["enrolment"], "initial", "proficiency", "expert", "innovation")
    exempt_gates(app, people["other_enrolment"], "initial")
    with app.app_context():
        gates = programme().gates
        mine = certificates_of(people["holder"])
        assert [c.stage_id for c in mine] == ["initial", "proficiency", "expert", "innovation"]
        assert [c.stage_name for c in mine] == [
            "Initial Adoption",
            "Proficiency Development",
            "Expert Mastery",
            "Innovation Leadership",
        ]
        for certificate in mine:
            assert len(certificate.evidence) == len(gates[certificate.stage_id])
        codes = [c.code for c in db.session.scalars(select(Certificate))]
    assert len(codes) == 5
    assert len(set(codes)) == 5
    assert all(CODE.match(code) for code in codes), codes
    many = {new_code() for _ in range(2000)}
    assert len(many) == 2000
    assert all(CODE.match(code) for code in many)


# --- PDF ---------------------------------------------------------------------------------------


def test_the_holder_downloads_a_pdf_that_reads_as_the_certificate(
    app: Flask, issued: dict, tmp_path: Path
) -> None:
    holder = signed_in(app, HOLDER_EMAIL)
    response = holder.get(f"/certificates/{issued['code']}.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.data.startswith(b"%PDF-")
    shown = pdf_text(response.data, tmp_path)
    with app.app_context():
        certificate = db.session.get(Certificate, issued["certificate"])
        labels = [item["label"] for item in certificate.evidence]
        title = certificate.programme_title
    for expected in (HOLDER_NAME, "Initial Adoption", title, issued["code"], *labels):
        assert expected in shown, f"{expected!r} is not in the PDF"


@pytest.mark.parametrize(
    ("email", "status"),
    [
        ("other.learner@example.com", 404),  # another learner
        ("manager@example.com", 200),  # the manager of the holder's cohort
        ("other.manager@example.com", 404),  # a manager of another cohort
        ("admin@example.com", 200),
        ("leader@example.com", 404),
    ],
)
def test_who_may_download_the_pdf(app: Flask, issued: dict, email: str, status: int) -> None:
    response = signed_in(app, email).get(f"/certificates/{issued['code']}.pdf")
    assert response.status_code == status
    if status == 200:
        assert response.mimetype == "application/pdf"


def test_signed_out_visitors_are_sent_to_sign_in_for_the_pdf(app: Flask, issued: dict) -> None:
    response = app.test_client().get(f"/certificates/{issued['code']}.pdf")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


# --- The public verify page --------------------------------------------------------------------


def test_verify_shows_a_valid_certificate_and_nothing_more(app: Flask, issued: dict) -> None:
    response = app.test_client().get(f"/verify/{issued['code']}")
    assert response.status_code == 200
    shown = text(response)
    with app.app_context():
        certificate = db.session.get(Certificate, issued["certificate"])
        title, issued_on = certificate.programme_title, certificate.issued_at.strftime("%d %b %Y")
        labels = [item["label"] for item in certificate.evidence]
    assert "Valid certificate" in shown
    for expected in (HOLDER_NAME, title, "Initial Adoption", issued_on, issued["code"]):
        assert expected in shown, f"{expected!r} is not on the page"
    assert HOLDER_EMAIL not in response.get_data(True)
    for label in labels:
        assert label not in shown
    assert "Complete the module" not in shown and "Demonstrat" not in shown
    assert "%" not in shown and "points" not in shown  # no scores


@pytest.mark.parametrize("typed", ["lower", "bare", "bare-lower", "spaced"])
def test_a_code_typed_loosely_redirects_to_the_canonical_page(
    app: Flask, issued: dict, typed: str
) -> None:
    code = issued["code"]
    loose = {
        "lower": code.lower(),
        "bare": code.replace("-", ""),
        "bare-lower": code.replace("-", "").lower(),
        "spaced": code.replace("-", " "),
    }[typed]
    response = app.test_client().get(f"/verify/{loose}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/verify/{code}")


def test_an_unknown_code_is_not_found(app: Flask, issued: dict) -> None:
    client = app.test_client()
    assert client.get("/verify/ABCD-EFGH-JKMN-PQRS").status_code == 404
    assert client.get("/verify/not-a-code").status_code == 404


def test_the_lookup_form_redirects_to_the_code_page(app: Flask, issued: dict) -> None:
    client = app.test_client()
    assert client.get("/verify").status_code == 200
    response = client.get("/verify", query_string={"code": issued["code"]})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/verify/{issued['code']}")
    # Typed in lower case: the lookup goes to that page, which sends on to the canonical one.
    response = client.get(
        "/verify", query_string={"code": issued["code"].lower()}, follow_redirects=True
    )
    assert response.status_code == 200
    assert response.request.path == f"/verify/{issued['code']}"
    assert "Valid certificate" in text(response)


def test_a_revoked_certificate_says_so(app: Flask, issued: dict) -> None:
    with app.app_context():
        certificate = db.session.get(Certificate, issued["certificate"])
        certificate.revoked_at = now_utc()
        certificate.revoked_reason = "Issued in error"
        db.session.commit()
    response = app.test_client().get(f"/verify/{issued['code']}")
    assert response.status_code == 200
    shown = text(response)
    assert "Revoked certificate" in shown
    assert "revoked and is no longer valid" in shown
    assert "Valid certificate" not in shown
    assert "Issued in error" not in shown  # the reason is for the audit log


def test_an_expired_certificate_says_so(app: Flask, issued: dict) -> None:
    with app.app_context():
        certificate = db.session.get(Certificate, issued["certificate"])
        certificate.expires_at = now_utc() - timedelta(days=1)
        db.session.commit()
    response = app.test_client().get(f"/verify/{issued['code']}")
    assert response.status_code == 200
    shown = text(response)
    assert "Expired certificate" in shown
    assert "has not re-certified under the new version" in shown
    assert "Valid certificate" not in shown


def test_a_certificate_expiring_later_is_still_valid(app: Flask, issued: dict) -> None:
    with app.app_context():
        certificate = db.session.get(Certificate, issued["certificate"])
        certificate.expires_at = now_utc() + timedelta(days=30)
        db.session.commit()
    assert "Valid certificate" in text(app.test_client().get(f"/verify/{issued['code']}"))


# --- Revocation --------------------------------------------------------------------------------


def test_an_admin_revokes_with_a_reason_that_goes_to_the_audit_log(
    app: Flask, issued: dict
) -> None:
    page = f"/admin/certificates/{issued['certificate']}"
    admin = signed_in(app, "admin@example.com")
    response = submit(admin, page, {"reason": "Evidence found to be copied"})
    assert response.status_code == 302
    assert f"Certificate {issued['code']} revoked." in text(admin.get(page))
    with app.app_context():
        certificate = db.session.get(Certificate, issued["certificate"])
        assert certificate.revoked_at is not None
        assert certificate.revoked_reason == "Evidence found to be copied"
        assert certificate.revoked_by_id == issued["admin"]
    [event] = events(app, "certificate.revoked")
    assert event.reason == "Evidence found to be copied"
    assert event.actor_id == issued["admin"]
    assert event.target_id == str(issued["certificate"])
    assert "Revoked certificate" in text(app.test_client().get(f"/verify/{issued['code']}"))


def test_revoking_without_a_reason_is_refused(app: Flask, issued: dict) -> None:
    page = f"/admin/certificates/{issued['certificate']}"
    admin = signed_in(app, "admin@example.com")
    for blank in ("", "   "):
        response = submit(admin, page, {"reason": blank})
        assert response.status_code == 200
        assert "Give the reason" in text(response)
    with app.app_context():
        assert db.session.get(Certificate, issued["certificate"]).revoked_at is None
    assert events(app, "certificate.revoked") == []


@pytest.mark.parametrize(
    "email", [HOLDER_EMAIL, "manager@example.com", "leader@example.com"], ids=str
)
def test_only_admins_open_the_certificate_admin_pages(app: Flask, issued: dict, email) -> None:
    client = signed_in(app, email)
    page = f"/admin/certificates/{issued['certificate']}"
    assert client.get("/admin/certificates").status_code == 403
    assert client.get(page).status_code == 403
    data = {**csrf_fields(client.get("/").get_data(True)), "reason": "Not mine to revoke"}
    assert client.post(page, data=data).status_code == 403
    with app.app_context():
        assert db.session.get(Certificate, issued["certificate"]).revoked_at is None


def test_the_learner_sees_a_revoked_certificate_as_revoked(app: Flask, issued: dict) -> None:
    with app.app_context():
        issued_on = db.session.get(Certificate, issued["certificate"]).issued_at.strftime(
            "%d %b %Y"
        )
    learner = signed_in(app, HOLDER_EMAIL)
    # The row reads: stage, programme, date issued, state, code.
    assert f"{issued_on} valid {issued['code']}" in text(learner.get("/certificates"))

    admin = signed_in(app, "admin@example.com")
    submit(admin, f"/admin/certificates/{issued['certificate']}", {"reason": "Issued in error"})
    after = text(learner.get("/certificates"))
    assert f"{issued_on} revoked {issued['code']}" in after
    assert " valid " not in after


# --- Open Badges 3.0 ---------------------------------------------------------------------------


def test_the_badge_is_an_open_badges_credential_without_the_email(app: Flask, issued: dict) -> None:
    response = signed_in(app, HOLDER_EMAIL).get(f"/certificates/{issued['code']}/badge.json")
    assert response.status_code == 200
    raw = response.get_data(True)
    assert HOLDER_EMAIL not in raw.lower()
    badge = json.loads(raw)
    assert "https://www.w3.org/ns/credentials/v2" in badge["@context"]
    assert OB_CONTEXT in badge["@context"]
    assert badge["@context"][0] == "https://www.w3.org/ns/credentials/v2"
    assert badge["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert badge["id"] == f"http://localhost/verify/{issued['code']}"
    issuer = badge["issuer"]
    assert issuer["id"] and issuer["name"]
    assert "Profile" in issuer["type"]
    with app.app_context():
        certificate = db.session.get(Certificate, issued["certificate"])
        issued_at = as_utc(certificate.issued_at)
        labels = [item["label"] for item in certificate.evidence]
    valid_from = datetime.fromisoformat(badge["validFrom"])
    assert valid_from.tzinfo is not None
    assert abs(valid_from - issued_at) < timedelta(seconds=1)
    assert "validUntil" not in badge  # it does not expire

    subject = badge["credentialSubject"]
    assert "AchievementSubject" in subject["type"]
    achievement = subject["achievement"]
    assert achievement["id"]
    assert "Achievement" in achievement["type"]
    assert "Initial Adoption" in achievement["name"]
    assert "Design and Governance of Integrated Marketing Systems" in achievement["description"]
    for label in labels:
        assert label in achievement["criteria"]["narrative"]
    [identity] = subject["identifier"]
    assert identity["hashed"] is True
    assert identity["identityType"] == "emailAddress"
    algorithm, digest = identity["identityHash"].split("$")
    assert algorithm == "sha256"
    # The hash of the address and the salt, as a relying party who knows the address checks it.
    assert digest == hashlib.sha256((HOLDER_EMAIL + identity["salt"]).encode()).hexdigest()


def test_another_learner_cannot_fetch_the_badge(app: Flask, issued: dict) -> None:
    client = signed_in(app, "other.learner@example.com")
    assert client.get(f"/certificates/{issued['code']}/badge.json").status_code == 404
    manager = signed_in(app, "manager@example.com")
    assert manager.get(f"/certificates/{issued['code']}/badge.json").status_code == 200


# --- Expiry and re-certification --------------------------------------------------------------


def bumped_curricula(tmp_path: Path, version: str) -> Path:
    """A copy of the curricula in which the programme has `version` and its first module a new
    title."""
    root = copy_curricula(tmp_path, with_test_programme=False)
    path = root / "programmes" / PROGRAMME / "programme.yaml"
    current = re.search(r"^version: (\S+)$", path.read_text(encoding="utf-8"), re.M).group(1)
    edit(path, f"version: {current}\n", f"version: {version}\n")
    edit(
        root / "programmes" / PROGRAMME / "modules" / "strategic-alignment.md",
        "title: Strategic Alignment of Digital Marketing Management Systems\n",
        "title: Strategic Alignment of Marketing Systems, Revised\n",
    )
    return root


def next_version(app: Flask, part: str) -> str:
    with app.app_context():
        major, minor, _patch = (int(n) for n in programme().version.split("."))
    return f"{major + 1}.0.0" if part == "major" else f"{major}.{minor + 1}.0"


def test_a_new_major_version_gives_certificates_the_grace_period(
    app: Flask, issued: dict, tmp_path: Path
) -> None:
    version = next_version(app, "major")
    result = cli(app, "curricula", "load", str(bumped_curricula(tmp_path, version)))
    assert result.exit_code == 0, result.output
    with app.app_context():
        [certificate] = certificates_of(issued["holder"])
        assert certificate.expires_at is not None
        deadline = now_utc() + timedelta(days=90)
        assert abs(as_utc(certificate.expires_at) - deadline) < timedelta(minutes=5)
        assert certificate.state(now_utc()) == "valid"
        assert certificate.state(now_utc() + timedelta(days=91)) == "expired"
    [event] = events(app, "certificates.expiring")
    assert event.details["version"] == version
    assert event.details["certificates"] == 1
    # The learner is told to re-certify, and the public page still says valid until then.
    page = text(signed_in(app, HOLDER_EMAIL).get("/certificates"))
    assert "re-certify by" in page
    assert "Valid certificate" in text(app.test_client().get(f"/verify/{issued['code']}"))


def test_a_minor_version_leaves_certificates_alone(
    app: Flask, issued: dict, tmp_path: Path
) -> None:
    version = next_version(app, "minor")
    result = cli(app, "curricula", "load", str(bumped_curricula(tmp_path, version)))
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert programme().version == version
        [certificate] = certificates_of(issued["holder"])
        assert certificate.expires_at is None
    assert events(app, "certificates.expiring") == []


def test_meeting_the_gate_under_the_new_major_version_replaces_the_certificate(
    app: Flask, issued: dict, tmp_path: Path
) -> None:
    version = next_version(app, "major")
    result = cli(app, "curricula", "load", str(bumped_curricula(tmp_path, version)))
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert len(certificates_of(issued["holder"])) == 1  # loading issues nothing

        # A graded event runs the engine: the learner meets the initial gate under the new
        # content (their completions, attempts and graded demonstration still count).
        engine.after_graded_event(issued["holder"], programme().id)
        db.session.commit()
        old, new = certificates_of(issued["holder"])
        assert old.code == issued["code"]
        assert old.replaced_by_id == new.id
        assert new.code != old.code and CODE.match(new.code)
        assert (new.stage_id, new.programme_version) == ("initial", version)
        assert new.expires_at is None and new.revoked_at is None
        assert new.holder_name == HOLDER_NAME
        labels = [item["label"] for item in new.evidence]
        assert "Complete the module “Strategic Alignment of Marketing Systems, Revised”" in labels
        assert [item["requirement"] for item in new.evidence] == INITIAL_GATE

        # Once replaced, nothing more is issued.
        engine.after_graded_event(issued["holder"], programme().id)
        db.session.commit()
        assert len(certificates_of(issued["holder"])) == 2
    assert "Valid certificate" in text(app.test_client().get(f"/verify/{new.code}"))


def test_the_replaced_certificate_says_it_was_replaced(
    app: Flask, issued: dict, tmp_path: Path
) -> None:
    result = cli(
        app, "curricula", "load", str(bumped_curricula(tmp_path, next_version(app, "major")))
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        engine.after_graded_event(issued["holder"], programme().id)
        db.session.commit()
    shown = text(app.test_client().get(f"/verify/{issued['code']}"))
    assert "Valid certificate" not in shown
    assert "replaced by a certificate for the programme's new version" in shown
    assert "has not re-certified" not in shown  # they have


# --- Privacy -----------------------------------------------------------------------------------


def test_erasing_the_holder_revokes_and_anonymises_their_certificates(
    app: Flask, issued: dict
) -> None:
    with app.app_context():
        erase_user(db.session.get(User, issued["holder"]))
        db.session.commit()
        [certificate] = certificates_of(issued["holder"])
        assert certificate.revoked_at is not None
        assert HOLDER_NAME not in certificate.holder_name
    response = app.test_client().get(f"/verify/{issued['code']}")
    assert response.status_code == 200
    shown = text(response)
    assert "Revoked certificate" in shown
    assert "Valid certificate" not in shown
    assert HOLDER_NAME not in shown and "Priya" not in shown


# --- Rate limit --------------------------------------------------------------------------------


@pytest.fixture
def limited_app(app: Flask, database_url: str) -> Iterator[Flask]:
    """An app with rate limits on, on the session's database and tables."""
    limited = create_app(config_for_tests(database_url, RATELIMIT_ENABLED=True))
    yield limited
    with limited.app_context():
        db.session.remove()
        db.engine.dispose()


def test_verify_lookups_are_rate_limited(limited_app: Flask, issued: dict) -> None:
    allowed = int(LOOKUP_LIMIT.split()[0])
    assert LOOKUP_LIMIT.endswith(" per minute")
    client = limited_app.test_client()
    # Guessing codes counts: each miss uses up a look-up.
    for n in range(allowed - 1):
        assert client.get(f"/verify/ABCD-EFGH-JKMN-{n:04d}").status_code == 404
    assert client.get(f"/verify/{issued['code']}").status_code == 200
    response = client.get(f"/verify/{issued['code']}")
    assert response.status_code == 429
    assert "Retry-After" in response.headers
    # Another address has its own allowance.
    other = client.get(f"/verify/{issued['code']}", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 200
