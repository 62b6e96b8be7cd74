"""Practical demonstrations: rubric scoring, the curriculum schema and loading of tasks, evidence
uploads (type by content, size, quota, safe names) and their download, the learner's journey from
draft to resubmission, grading, regrades and moderation, the assessors' queue, naming assessors,
who may open what, and personal data."""

from __future__ import annotations

import html
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from lms.accounts.models import User
from lms.audit.models import AuditEvent
from lms.certificates.models import Certificate
from lms.core.timeutil import now_utc
from lms.demonstrations import files, operations
from lms.demonstrations.models import (
    CohortAssessor,
    DemonstrationTask,
    EvidenceFile,
    Grade,
    Submission,
)
from lms.demonstrations.rubric import RubricError, recorded_verdict, score
from lms.extensions import db
from lms.figures import figure
from lms.mail.models import OutboxMessage
from lms.organisation.models import Cohort, Enrolment, Holiday
from lms.organisation.operations import organisation
from lms.privacy import erase_user, export_user_data
from lms.stages.engine import evaluate, organisation_today, refresh
from lms.stages.models import Exemption, StagePromotion
from tests.conftest import csrf_fields, login, make_user, submit
from tests.support.learning import enrol, make_cohort, programme
from tests.test_curricula import TEST_FILE, TEST_PROGRAMME, cli, edit, small_tree

PROGRAMME = "marketing-automation-platform"
TASK = "campaign-launch-sandbox"  # initial stage: checklist of 4, 150 words, a link, files
LATER_TASK = "nurture-workflow-crm-fallback"  # proficiency stage
MODERATED_PROGRAMME = "integrated-marketing-systems"  # moderated_stages: [expert]
MODERATED_TASK = "attribution-finance-reconciliation"  # its expert demonstration
STAGE_IDS = ["initial", "proficiency", "expert", "innovation", "partnership"]

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48
SCRIPT = b"<html><body><script>alert('hi')</script></body></html>"


def docx() -> bytes:
    """A real (minimal) Word document: a zip with the content types and the document part."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("word/document.xml", '<?xml version="1.0"?><w:document/>')
    return buffer.getvalue()


def pdf_of(size: int) -> bytes:
    return (PDF + b"0" * size)[:size]


def text(response) -> str:
    """The page's text with entities decoded and tags dropped, so sentences read as shown."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(True))))


# --- 1. Rubric scoring, without a database ---------------------------------------------------

RUBRIC = {
    "levels": ["Not yet", "Developing", "Proficient", "Exemplary"],
    "criteria": [
        {
            "id": f"c{n}",
            "title": f"Criterion {n}",
            "points": [0, 2, 3, 4],
            "descriptors": ["None.", "Some.", "Enough.", "All."],
        }
        for n in (1, 2, 3, 4)
    ],
}
ALL_PROFICIENT = {"c1": 2, "c2": 2, "c3": 2, "c4": 2}  # 3 + 3 + 3 + 3 = 12 of 16


def test_score_is_the_chosen_points_over_the_top_points() -> None:
    result = score(RUBRIC, {"c1": 3, "c2": 1, "c3": 0, "c4": 2}, 0.75)
    assert (result.points, result.max_points) == (4 + 2 + 0 + 3, 16)
    assert result.fraction == pytest.approx(9 / 16)
    assert not result.proficient


def test_exactly_three_quarters_is_proficient() -> None:
    result = score(RUBRIC, ALL_PROFICIENT, 0.75)
    assert (result.points, result.max_points, result.proficient) == (12, 16, True)


def test_one_point_under_three_quarters_is_not_proficient() -> None:
    result = score(RUBRIC, {**ALL_PROFICIENT, "c1": 1}, 0.75)
    assert (result.points, result.proficient) == (11, False)


def test_top_points_are_summed_per_criterion_even_when_uneven() -> None:
    rubric = {
        "levels": ["Low", "Mid", "High"],
        "criteria": [
            {"id": "a", "title": "A", "points": [1, 5, 10], "descriptors": ["x", "y", "z"]},
            {"id": "b", "title": "B", "points": [0, 1, 2], "descriptors": ["x", "y", "z"]},
        ],
    }
    result = score(rubric, {"a": 1, "b": 2}, 0.75)
    assert (result.points, result.max_points, result.proficient) == (7, 12, False)
    assert score(rubric, {"a": 2, "b": 1}, 0.75).proficient  # 11 of 12
    # 10 of 12 is over the threshold too, but "B" at the lowest level decides.
    assert score(rubric, {"a": 2, "b": 0}, 0.75).verdict == "needs work: “B” is at Low"


def test_a_not_yet_is_needs_work_whatever_the_total() -> None:
    result = score(RUBRIC, {"c1": 3, "c2": 3, "c3": 3, "c4": 0}, 0.75)
    assert (result.points, result.max_points) == (12, 16)  # the threshold alone would pass it
    assert not result.proficient
    assert result.verdict == "needs work: “Criterion 4” is at Not yet"


def test_the_verdict_names_every_criterion_at_not_yet() -> None:
    result = score(RUBRIC, {"c1": 0, "c2": 3, "c3": 0, "c4": 3}, 0.25)
    assert not result.proficient
    assert result.verdict == "needs work: “Criterion 1” and “Criterion 3” are at Not yet"


def test_the_verdict_says_how_far_under_the_threshold() -> None:
    assert score(RUBRIC, {**ALL_PROFICIENT, "c1": 1}, 0.75).verdict == (
        "needs work: 11 of 16 points, under the 75% needed"
    )
    assert score(RUBRIC, ALL_PROFICIENT, 0.75).verdict == "proficient"


def test_a_recorded_grade_keeps_its_outcome() -> None:
    """Grades given before the Not-yet rule are not re-evaluated: proficient stays proficient."""
    levels = {"c1": 3, "c2": 3, "c3": 3, "c4": 0}
    assert recorded_verdict(RUBRIC, levels, 12, 16, 0.75, True) == "proficient"
    assert recorded_verdict(RUBRIC, levels, 12, 16, 0.75, False) == (
        "needs work: “Criterion 4” is at Not yet"
    )


@pytest.mark.parametrize(
    ("levels", "named"),
    [
        ({"c1": 2, "c2": 2, "c3": 2}, "Criterion 4"),  # a criterion left out
        ({**ALL_PROFICIENT, "c9": 1}, "c9"),  # a criterion the rubric does not have
        ({**ALL_PROFICIENT, "c2": 4}, "Criterion 2"),  # past the last level
        ({**ALL_PROFICIENT, "c3": -1}, "Criterion 3"),  # before the first level
        ({**ALL_PROFICIENT, "c1": True}, "Criterion 1"),  # a boolean is not a level
        ({**ALL_PROFICIENT, "c4": "2"}, "Criterion 4"),  # nor is a string
    ],
)
def test_a_grade_that_does_not_fit_the_rubric_names_the_criterion(
    levels: dict[str, Any], named: str
) -> None:
    with pytest.raises(RubricError) as raised:
        score(RUBRIC, levels, 0.75)
    assert named in str(raised.value)


def test_the_tasks_own_threshold_decides() -> None:
    half = {"c1": 1, "c2": 1, "c3": 1, "c4": 1}  # 8 of 16
    assert score(RUBRIC, half, 0.5).proficient
    assert not score(RUBRIC, half, 0.75).proficient
    assert not score(RUBRIC, ALL_PROFICIENT, 0.8).proficient  # 12 of 16 is below 80%


# --- 2. The curriculum schema ----------------------------------------------------------------

# Appended to the test programme of test_curricula (22 lines), so line numbers are known:
# 23 demonstrations  24 - id  29 modules  30 evidence  31 - id: notes  34 - id: done
# 37 items  38 rubric  39 levels  41 - id: quality  43 points  44 descriptors  45 gates
# 46 initial  47 - demonstration-proficient
DEMONSTRATION = """\
demonstrations:
- id: first-demo
  title: First demonstration
  stage: initial
  summary: Show the first thing.
  instructions: Do it in the sandbox.
  modules: [first-module]
  evidence:
  - id: notes
    kind: text
    label: Notes
  - id: done
    kind: checklist
    label: Done
    items: [It is done]
  rubric:
    levels: [Not yet, Proficient]
    criteria:
    - id: quality
      title: Quality
      points: [0, 2]
      descriptors: [Poor., Good.]
gates:
  initial:
  - demonstration-proficient: first-demo
"""
WITH_DEMONSTRATION = TEST_PROGRAMME + DEMONSTRATION


def demonstration_tree(tmp_path: Path) -> Path:
    root = small_tree(tmp_path)
    (root / "programmes" / "test-programme.yaml").write_text(WITH_DEMONSTRATION)
    return root


def test_a_programme_with_a_demonstration_and_its_gate_is_valid(app: Flask, tmp_path) -> None:
    result = cli(app, "curricula", "validate", str(demonstration_tree(tmp_path)))
    assert result.exit_code == 0, result.output


SCHEMA_BROKEN = {
    # case: (old, new, expected "file:line: field" start, words of the message)
    "too few descriptors": (
        "      descriptors: [Poor., Good.]\n",
        "      descriptors: [Poor.]\n",
        f"{TEST_FILE}:38: demonstrations[0].rubric: ",
        "criterion 'quality' needs 2 points and 2 descriptors",
    ),
    "too many points": (
        "      points: [0, 2]\n",
        "      points: [0, 1, 2]\n",
        f"{TEST_FILE}:38: demonstrations[0].rubric: ",
        "criterion 'quality' needs 2 points and 2 descriptors",
    ),
    "points not ascending": (
        "      points: [0, 2]\n",
        "      points: [2, 0]\n",
        f"{TEST_FILE}:43: demonstrations[0].rubric.criteria[0].points: ",
        "points rise from level to level",
    ),
    "checklist without items": (
        "    items: [It is done]\n",
        "",
        f"{TEST_FILE}:34: demonstrations[0].evidence[1]: ",
        "`items` lists the statements of a checklist",
    ),
    "gate of another stage": (
        "gates:\n  initial:\n",
        "gates:\n  proficiency:\n",
        f"{TEST_FILE}:47: gates.proficiency[0].demonstration-proficient: ",
        "demonstration 'first-demo' is placed in stage 'initial'",
    ),
    "unknown module": (
        "  modules: [first-module]\n",
        "  modules: [no-such-module]\n",
        f"{TEST_FILE}:29: demonstrations[0].modules[0]: ",
        "no module with id 'no-such-module'",
    ),
}


@pytest.mark.parametrize("case", SCHEMA_BROKEN)
def test_a_broken_demonstration_is_refused_with_file_line_and_field(
    app: Flask, tmp_path: Path, case: str
) -> None:
    old, new, where, message = SCHEMA_BROKEN[case]
    root = demonstration_tree(tmp_path)
    edit(root / "programmes" / "test-programme.yaml", old, new)
    result = cli(app, "curricula", "validate", str(root))
    assert result.exit_code != 0
    lines = [line for line in result.stderr.splitlines() if line.startswith(where)]
    assert lines, result.stderr
    assert message in lines[0]


# --- 3. Loading tasks from the curriculum files ----------------------------------------------


def task_row(slug: str = TASK, programme_slug: str = PROGRAMME) -> DemonstrationTask:
    return db.session.scalars(
        select(DemonstrationTask)
        .where(DemonstrationTask.slug == slug)
        .where(DemonstrationTask.programme_id == programme(programme_slug).id)
    ).one()


def test_every_platform_programme_has_a_demonstration_per_stage(app, ctx, curricula) -> None:
    from lms.curricula.models import Programme

    platforms = list(
        db.session.scalars(select(Programme).where(Programme.kind == "platform-track"))
    )
    assert len(platforms) == 5
    for taken in platforms:
        stages = list(
            db.session.scalars(
                select(DemonstrationTask.stage_id)
                .where(DemonstrationTask.programme_id == taken.id)
                .order_by(DemonstrationTask.position)
            )
        )
        assert stages == STAGE_IDS, taken.slug


def test_every_gates_demonstration_is_loaded_in_its_stage(app, ctx, curricula) -> None:
    from lms.curricula.models import Programme

    required = 0
    for taken in db.session.scalars(select(Programme)):
        tasks = {
            t.slug: t
            for t in db.session.scalars(
                select(DemonstrationTask).where(DemonstrationTask.programme_id == taken.id)
            )
        }
        for stage_id, gate in taken.gates.items():
            for item in gate:
                if item["kind"] == "demonstration-proficient":
                    required += 1
                    assert item["ref"] in tasks, (taken.slug, item["ref"])
                    assert tasks[item["ref"]].stage_id == stage_id
    # Every programme's first four gates ask for one, and seven completion lists (the Strategic
    # Partnership demonstrations; 001 and 003 have none).
    assert required == 9 * 4 + 7


def test_the_moderated_stage_marks_its_task_moderated(app, ctx, curricula) -> None:
    assert task_row(MODERATED_TASK, MODERATED_PROGRAMME).moderated
    others = db.session.scalars(
        select(DemonstrationTask).where(
            DemonstrationTask.programme_id == programme(MODERATED_PROGRAMME).id,
            DemonstrationTask.slug != MODERATED_TASK,
        )
    )
    assert [t.moderated for t in others] == [False] * 4
    # The same id in a programme without moderated stages is not moderated.
    assert not task_row(MODERATED_TASK, "marketing-analytics-platform").moderated


def test_a_task_without_its_own_threshold_takes_the_figure(app, ctx, curricula) -> None:
    task = task_row()
    assert task.proficient_at == figure("demonstration-proficient-threshold") == 0.75
    assert task.max_points == 16


def test_reloading_without_a_task_retires_it_and_keeps_submissions(
    app: Flask, users, tmp_path: Path
) -> None:
    root = demonstration_tree(tmp_path)
    path = root / "programmes" / "test-programme.yaml"
    assert cli(app, "curricula", "load", str(root)).exit_code == 0
    with app.app_context():
        task = task_row("first-demo", "test-programme")
        db.session.add(
            Submission(
                user_id=users["learner"],
                task_id=task.id,
                number=1,
                status="submitted",
                answers={"notes": "Done in the sandbox."},
                submitted_at=datetime.now(UTC),
            )
        )
        db.session.commit()
        task_id = task.id

    path.write_text(TEST_PROGRAMME.replace("version: 1.0.0", "version: 1.1.0"))
    result = cli(app, "curricula", "load", str(root))
    assert result.exit_code == 0, result.output
    with app.app_context():
        task = db.session.get(DemonstrationTask, task_id)
        assert task is not None and task.retired_at is not None
        kept = db.session.scalars(select(Submission).where(Submission.task_id == task_id)).one()
        assert kept.answers == {"notes": "Done in the sandbox."}

    # Putting it back brings the same row back to life.
    path.write_text(WITH_DEMONSTRATION.replace("version: 1.0.0", "version: 1.2.0"))
    assert cli(app, "curricula", "load", str(root)).exit_code == 0
    with app.app_context():
        assert task_row("first-demo", "test-programme").id == task_id
        assert db.session.get(DemonstrationTask, task_id).retired_at is None


# --- The people and places most tests share --------------------------------------------------


@dataclass
class World:
    learner: int
    learner2: int
    manager: int
    leader: int
    admin: int
    other_manager: int
    outsider: int  # a learner of the other manager's cohort
    north: int  # the manager's cohort: learner and learner2
    south: int  # the other manager's cohort: outsider
    task: int
    later_task: int


@pytest.fixture
def uploads(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "LMS_UPLOAD_DIR", str(folder))
    return folder


@pytest.fixture
def world(app: Flask, users, curricula, uploads) -> World:
    with app.app_context():
        other_manager = make_user("other.manager@example.com", ("manager",))
        outsider = make_user("outsider@example.com", name="Oscar Outsider")
        start = organisation_today() - timedelta(days=10)
        taken = programme(PROGRAMME)
        north = make_cohort("North cohort", start, users["manager"])
        south = make_cohort("South cohort", start, other_manager.id)
        north.programmes = [taken]
        south.programmes = [taken]
        enrol(users["learner"], start, PROGRAMME, cohort=north)
        enrol(users["learner2"], start, PROGRAMME, cohort=north)
        enrol(outsider.id, start, PROGRAMME, cohort=south)
        db.session.commit()
        return World(
            learner=users["learner"],
            learner2=users["learner2"],
            manager=users["manager"],
            leader=users["leader"],
            admin=users["admin"],
            other_manager=other_manager.id,
            outsider=outsider.id,
            north=north.id,
            south=south.id,
            task=task_row().id,
            later_task=task_row(LATER_TASK).id,
        )


def complete_values(task: DemonstrationTask) -> dict[str, Any]:
    """Answers to every required item: each checklist ticked, enough words, a link."""
    values: dict[str, Any] = {}
    for item in task.evidence:
        if item["kind"] == "checklist":
            values[item["id"]] = [str(i) for i in range(len(item["items"]))]
        elif item["kind"] == "text":
            values[item["id"]] = " ".join(["decision"] * (item.get("min_words") or 1))
        elif item["kind"] == "link":
            values[item["id"]] = "https://sandbox.example.com/campaigns/42"
    return values


def complete_form(app: Flask, task_id: int) -> dict[str, Any]:
    with app.app_context():
        values = complete_values(db.session.get(DemonstrationTask, task_id))
    return {f"ev-{key}": value for key, value in values.items()}


def levels_form(app: Flask, task_id: int, level: int, **fields: Any) -> dict[str, Any]:
    """The grading form with `level` chosen for every criterion, and some feedback."""
    with app.app_context():
        criteria = db.session.get(DemonstrationTask, task_id).rubric["criteria"]
    form = {f"level-{c['id']}": str(level) for c in criteria}
    form["feedback"] = "Overall this shows the workflow well."
    form.update(fields)
    return form


def make_submitted(
    app: Flask, user_id: int, task_id: int, *, submitted_at: datetime | None = None
) -> int:
    """A complete submission sent for grading, as the learner's pages would leave it."""
    with app.app_context():
        task = db.session.get(DemonstrationTask, task_id)
        draft = operations.open_draft(db.session.get(User, user_id), task)
        assert operations.save(draft, complete_values(task), [], []).ok
        operations.submit(draft)
        if submitted_at is not None:
            draft.submitted_at = submitted_at
        db.session.commit()
        return draft.id


def get_submission(app: Flask, submission_id: int) -> Submission:
    with app.app_context():
        row = db.session.get(Submission, submission_id)
        db.session.expunge(row)
        return row


def grades_of(app: Flask, submission_id: int) -> list[tuple[str, int, bool, bool]]:
    """(kind, points, proficient, superseded) per grade, oldest first."""
    with app.app_context():
        return [
            (g.kind, g.points, g.proficient, g.superseded_at is not None)
            for g in db.session.scalars(
                select(Grade).where(Grade.submission_id == submission_id).order_by(Grade.id)
            )
        ]


def sign_in(client: FlaskClient, email: str) -> None:
    assert login(client, email).status_code == 302


def events(app: Flask, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
        )


# --- 4. Upload validation --------------------------------------------------------------------


@pytest.fixture
def draft(app, ctx, world) -> Submission:
    """The learner's draft of the campaign task, for saving through `operations.save`."""
    return operations.open_draft(db.session.get(User, world.learner), task_row())


def upload(name: str, content: bytes) -> operations.Upload:
    return operations.Upload("screenshots", name, content)


def test_a_file_over_the_size_limit_is_refused_and_the_rest_kept(
    app, draft: Submission, monkeypatch
) -> None:
    monkeypatch.setitem(app.config, "LMS_EVIDENCE_FILE_MAX_BYTES", 1024 * 1024)
    report = operations.save(
        draft,
        {"plan": "Objective, audience and thresholds."},
        [upload("big-export.pdf", pdf_of(1024 * 1024 + 512 * 1024))],
        [],
    )
    (message,) = report.problems["ev-screenshots"]
    assert "big-export.pdf" in message
    assert "1.5 MB" in message and "at most 1.0 MB" in message
    assert draft.files == []
    assert draft.answers["plan"] == "Objective, audience and thresholds."


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("report.pdf", EXE, "not a file type we accept"),
        ("report.pdf", PNG, "is named as a PDF but its content is a PNG image"),
        ("notes.txt", SCRIPT, "not a file type we accept"),
        ("notes.txt", b"\xff\xfe\x00bad", "not a file type we accept"),
        ("macro.docm", docx(), "named as a .docm file"),
        ("archive.docx", b"PK\x03\x04 not really a zip", "not a file type we accept"),
    ],
)
def test_a_file_whose_content_is_not_what_its_name_says_is_refused(
    uploads: Path, draft: Submission, name: str, content: bytes, says: str
) -> None:
    report = operations.save(draft, {}, [upload(name, content)], [])
    (message,) = report.problems["ev-screenshots"]
    assert name in message and says in message
    assert draft.files == []
    assert not uploads.exists() or not any(p.is_file() for p in uploads.rglob("*"))


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("report.pdf", PDF, "application/pdf"),
        ("chart.png", PNG, "image/png"),
        ("plan.docx", None, files.DOCX.content_type),
        ("notes.txt", b"Plain notes: the segment has 1,204 contacts.\n", "text/plain"),
        ("evidence", PDF, "application/pdf"),  # no extension: the content decides
    ],
)
def test_accepted_files_are_stored_with_the_detected_type(
    uploads: Path, draft: Submission, name: str, content: bytes | None, content_type: str
) -> None:
    content = content if content is not None else docx()
    report = operations.save(draft, {}, [upload(name, content)], [])
    assert report.ok and report.stored == [name]
    (row,) = draft.files
    assert (row.name, row.size) == (name, len(content))
    assert row.content_type.startswith(content_type)
    assert files.path_of(row.stored_name).read_bytes() == content


def test_a_path_in_the_name_is_dropped_and_the_file_stored_under_a_random_name(
    uploads: Path, draft: Submission
) -> None:
    report = operations.save(draft, {}, [upload("../../etc/passwd.txt", b"root:x:0:0\n")], [])
    assert report.ok
    (row,) = draft.files
    assert row.name == "etc_passwd.txt"
    assert re.fullmatch(r"[0-9a-f]{32}\.txt", row.stored_name)
    stored = files.path_of(row.stored_name).resolve()
    assert stored.is_relative_to(uploads.resolve())
    assert [p for p in uploads.rglob("*") if p.is_file()] == [stored]
    assert not (uploads.parent / "etc").exists()


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("..\\..\\windows\\system.ini.txt", "windows_system.ini.txt"),
        ("/absolute/path/notes.txt", "absolute_path_notes.txt"),
        ("...hidden.txt", "hidden.txt"),
        ('bad<>:"|?*name.txt', "bad_______name.txt"),
        ("", "evidence"),
    ],
)
def test_safe_names(given: str, shown: str) -> None:
    assert files.safe_name(given) == shown


def test_a_file_over_the_quota_is_refused(app, draft: Submission, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "LMS_EVIDENCE_QUOTA_BYTES", 1024 * 1024)
    first = operations.save(draft, {}, [upload("first.pdf", pdf_of(700 * 1024))], [])
    assert first.ok
    second = operations.save(draft, {}, [upload("second.pdf", pdf_of(700 * 1024))], [])
    (message,) = second.problems["ev-screenshots"]
    assert "second.pdf" in message and "quota" in message
    assert [f.name for f in draft.files] == ["first.pdf"]


def test_a_piece_of_evidence_holds_at_most_twenty_files(app, draft: Submission) -> None:
    assert operations.save(draft, {}, [upload(f"a{n}.txt", b"note\n") for n in range(15)], []).ok
    report = operations.save(draft, {}, [upload(f"b{n}.txt", b"note\n") for n in range(8)], [])
    assert len(draft.files) == operations.MAX_FILES_PER_ITEM == 20
    assert [m.split("”")[0] for m in report.problems["ev-screenshots"]] == [
        "“b5.txt",
        "“b6.txt",
        "“b7.txt",
    ]
    assert "holds at most 20 files" in report.problems["ev-screenshots"][0]


def test_files_of_one_request_count_together_against_the_quota(
    app, draft: Submission, monkeypatch
) -> None:
    monkeypatch.setitem(app.config, "LMS_EVIDENCE_QUOTA_BYTES", 1024 * 1024)
    report = operations.save(
        draft, {}, [upload("a.pdf", pdf_of(600 * 1024)), upload("b.pdf", pdf_of(600 * 1024))], []
    )
    assert report.stored == ["a.pdf"]
    assert "quota" in report.problems["ev-screenshots"][0]


def test_removing_a_file_frees_its_storage(uploads: Path, draft: Submission) -> None:
    operations.save(draft, {}, [upload("report.pdf", PDF)], [])
    (row,) = draft.files
    path = files.path_of(row.stored_name)
    assert path.exists()
    operations.save(draft, {}, [], [row.id])
    assert draft.files == [] and not path.exists()
    assert files.used_bytes(draft.user_id) == 0


def test_a_bad_link_is_refused_and_good_answers_kept(draft: Submission) -> None:
    report = operations.save(
        draft, {"sandbox-link": "javascript:alert(1)", "plan": "A plan."}, [], []
    )
    assert "https://" in report.problems["ev-sandbox-link"][0]
    assert "sandbox-link" not in draft.answers
    assert draft.answers["plan"] == "A plan."


def task_page(world: World) -> str:
    return f"/demonstrations/{world.task}"


def post_upload(client: FlaskClient, page: str, data: dict[str, Any], name: str, content: bytes):
    """`submit` with one file in `ev-screenshots`, the body encoded up front: the test client
    would keep a large upload in a temporary file it never closes."""
    fields = MultiDict(csrf_fields(client.get(page).get_data(as_text=True)))
    for key, value in data.items():
        fields.add(key, value)
    fields.add("ev-screenshots", FileStorage(io.BytesIO(content), filename=name))
    boundary, body = encode_multipart(fields)
    return client.post(page, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def test_the_form_refuses_a_large_file_by_name_and_limit_and_keeps_the_text(
    app, client, world, monkeypatch
) -> None:
    monkeypatch.setitem(app.config, "LMS_EVIDENCE_FILE_MAX_BYTES", 1024 * 1024)
    sign_in(client, "learner@example.com")
    response = post_upload(
        client,
        task_page(world),
        {"action": "save", "ev-plan": "Objective: 120 MQLs by June."},
        "huge-deck.pdf",
        pdf_of(2 * 1024 * 1024),
    )
    assert response.status_code == 200
    page = text(response)
    assert "“huge-deck.pdf” is 2.0 MB; a file may be at most 1.0 MB." in page
    assert "Saved what could be kept" in page
    with app.app_context():
        (row,) = db.session.scalars(select(Submission).where(Submission.user_id == world.learner))
        assert row.answers["plan"] == "Objective: 120 MQLs by June."
        assert row.files == []


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("report.pdf", EXE, "“report.pdf” is not a file type we accept"),
        ("report.pdf", PNG, "“report.pdf” is named as a PDF but its content is a PNG image"),
        ("notes.txt", SCRIPT, "“notes.txt” is not a file type we accept"),
    ],
)
def test_the_form_refuses_a_disguised_file(
    app, client, world, name: str, content: bytes, says: str
) -> None:
    sign_in(client, "learner@example.com")
    response = submit(
        client,
        task_page(world),
        {"action": "save", "ev-screenshots": (io.BytesIO(content), name)},
    )
    assert response.status_code == 200
    assert says in text(response)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(EvidenceFile)) == 0


def test_the_form_shows_a_path_name_made_safe(app, client, world, uploads: Path) -> None:
    sign_in(client, "learner@example.com")
    response = submit(
        client,
        task_page(world),
        {"action": "save", "ev-screenshots": (io.BytesIO(b"notes\n"), "../../etc/passwd.txt")},
        follow_redirects=True,
    )
    page = text(response)
    assert "Draft saved. Uploaded: etc_passwd.txt." in page
    assert "../" not in page
    with app.app_context():
        row = db.session.scalars(select(EvidenceFile)).one()
        assert row.name == "etc_passwd.txt"
        assert files.path_of(row.stored_name).resolve().is_relative_to(uploads.resolve())


def test_the_form_refuses_a_file_over_the_quota(app, client, world, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "LMS_EVIDENCE_QUOTA_BYTES", 1024 * 1024)
    sign_in(client, "learner@example.com")
    first = post_upload(client, task_page(world), {"action": "save"}, "one.pdf", pdf_of(800_000))
    assert first.status_code == 302
    response = post_upload(client, task_page(world), {"action": "save"}, "two.pdf", pdf_of(800_000))
    assert "“two.pdf” would take your evidence files over your 1.0 MB quota" in text(response)


def test_the_form_accepts_several_files_at_once(app, client, world) -> None:
    sign_in(client, "learner@example.com")
    response = submit(
        client,
        task_page(world),
        {
            "action": "save",
            "ev-screenshots": [
                (io.BytesIO(PDF), "report.pdf"),
                (io.BytesIO(PNG), "chart.png"),
                (io.BytesIO(docx()), "plan.docx"),
                (io.BytesIO(b"Plain notes.\n"), "notes.txt"),
            ],
        },
        follow_redirects=True,
    )
    assert "Uploaded: report.pdf, chart.png, plan.docx, notes.txt." in text(response)
    with app.app_context():
        kinds = list(db.session.scalars(select(EvidenceFile.content_type).order_by("id")))
    assert kinds == [
        "application/pdf",
        "image/png",
        files.DOCX.content_type,
        "text/plain; charset=utf-8",
    ]


# --- 5. Serving files ------------------------------------------------------------------------


def learner_file(app: Flask, world: World, name: str = "report.pdf", content: bytes = PDF) -> int:
    """A file in the learner's submitted campaign task; returns the file's id."""
    with app.app_context():
        task = db.session.get(DemonstrationTask, world.task)
        draft = operations.open_draft(db.session.get(User, world.learner), task)
        report = operations.save(
            draft, complete_values(task), [operations.Upload("screenshots", name, content)], []
        )
        assert report.ok
        operations.submit(draft)
        db.session.commit()
        return draft.files[0].id


def test_the_owner_downloads_a_file_as_an_attachment(app, client, world) -> None:
    file_id = learner_file(app, world, "../../etc/passwd.txt", b"plain words\n")
    sign_in(client, "learner@example.com")
    response = client.get(f"/demonstrations/files/{file_id}", buffered=True)
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == "attachment; filename=etc_passwd.txt"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.mimetype == "text/plain"
    assert response.get_data() == b"plain words\n"


def test_a_file_is_served_with_the_type_read_from_its_content(app, client, world) -> None:
    file_id = learner_file(app, world, "evidence", PNG)
    sign_in(client, "learner@example.com")
    response = client.get(f"/demonstrations/files/{file_id}", buffered=True)
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.headers["Content-Disposition"] == "attachment; filename=evidence"


def test_a_text_file_is_served_with_one_charset(app, client, world) -> None:
    file_id = learner_file(app, world, "notes.txt", b"plain words\n")
    sign_in(client, "learner@example.com")
    response = client.get(f"/demonstrations/files/{file_id}", buffered=True)
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_the_cohorts_manager_downloads_a_file(app, client, world) -> None:
    file_id = learner_file(app, world)
    sign_in(client, "manager@example.com")
    response = client.get(f"/demonstrations/files/{file_id}", buffered=True)
    assert response.status_code == 200 and response.get_data() == PDF
    assert response.mimetype == "application/pdf"


@pytest.mark.parametrize(
    "email", ["other.learner@example.com", "other.manager@example.com", "leader@example.com"]
)
def test_nobody_else_finds_a_file(app, client, world, email: str) -> None:
    file_id = learner_file(app, world)
    sign_in(client, email)
    assert client.get(f"/demonstrations/files/{file_id}").status_code == 404
    assert client.get(f"/demonstrations/files/{file_id + 1000}").status_code == 404


def test_an_anonymous_visitor_is_sent_to_sign_in_for_a_file(app, client, world) -> None:
    file_id = learner_file(app, world)
    response = client.get(f"/demonstrations/files/{file_id}")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


# --- 6. The learner's journey ----------------------------------------------------------------


def submissions(app: Flask, user_id: int) -> list[tuple[int, str]]:
    with app.app_context():
        return [
            (s.number, s.status)
            for s in db.session.scalars(
                select(Submission).where(Submission.user_id == user_id).order_by(Submission.id)
            )
        ]


def test_the_task_page_shows_instructions_rubric_and_the_form(client, world) -> None:
    sign_in(client, "learner@example.com")
    response = client.get(task_page(world))
    assert response.status_code == 200
    page = text(response)
    assert "Run the Campaign Creation and Launch Workflow in the sandbox" in page
    assert "Campaign Creation and Launch Workflow" in page
    assert "Objective and audience" in page and "Exemplary" in page
    assert "Proficient at 75% of 16 rubric points" in page
    assert "Send for grading" in page


def test_a_draft_saves_with_nothing_filled_in(app, client, world) -> None:
    sign_in(client, "learner@example.com")
    response = submit(client, task_page(world), {"action": "save"}, follow_redirects=True)
    assert "Draft saved." in text(response)
    assert submissions(app, world.learner) == [(1, "draft")]
    # Saving again keeps the one draft.
    submit(client, task_page(world), {"action": "save", "ev-plan": "Started."})
    assert submissions(app, world.learner) == [(1, "draft")]


def test_sending_names_every_missing_piece_of_evidence(app, client, world) -> None:
    sign_in(client, "learner@example.com")
    response = submit(
        client,
        task_page(world),
        {
            "action": "submit",
            "ev-steps-done": ["0", "2"],
            "ev-plan": "Only ten words written here about the campaign plan so far.",
        },
    )
    assert response.status_code == 200
    page = text(response)
    assert "3 piece(s) of evidence are missing" in page
    assert "Tick every statement of the checklist once it is true of your work." in page
    assert "Write at least 150 words (you have 11)." in page
    assert "Give the link." in page
    # What was written is kept, and nothing was sent.
    assert submissions(app, world.learner) == [(1, "draft")]
    with app.app_context():
        row = db.session.scalars(select(Submission)).one()
        assert row.answers["steps-done"] == [0, 2]


def test_a_complete_submission_is_sent_and_queued_for_the_manager(app, client, world) -> None:
    sign_in(client, "learner@example.com")
    response = submit(
        client, task_page(world), {**complete_form(app, world.task), "action": "submit"}
    )
    assert response.status_code == 302
    assert "/demonstrations/submissions/" in response.headers["Location"]
    page = text(client.get(response.headers["Location"]))
    assert "Waiting for grading" in page
    assert submissions(app, world.learner) == [(1, "submitted")]
    assert len(events(app, "demonstration.submitted")) == 1

    manager = FlaskClient(app, app.response_class, use_cookies=True)
    sign_in(manager, "manager@example.com")
    assert queue_rows(manager) == [("Learner", "Run the Campaign Creation and Launch Workflow")]


def test_a_double_submit_sends_once(app, client, world) -> None:
    sign_in(client, "learner@example.com")
    payload = csrf_fields(client.get(task_page(world)).get_data(as_text=True))
    payload.update({**complete_form(app, world.task), "action": "submit"})
    assert client.post(task_page(world), data=payload).status_code == 302
    assert client.post(task_page(world), data=payload).status_code == 409
    assert submissions(app, world.learner) == [(1, "submitted")]
    assert len(events(app, "demonstration.submitted")) == 1


def test_a_sent_draft_cannot_be_sent_again(app, ctx, world) -> None:
    task = task_row()
    draft = operations.open_draft(db.session.get(User, world.learner), task)
    operations.save(draft, complete_values(task), [], [])
    operations.submit(draft)
    with pytest.raises(operations.DemonstrationError, match="already sent"):
        operations.submit(draft)
    with pytest.raises(operations.DemonstrationError, match="waiting to be graded"):
        operations.open_draft(db.session.get(User, world.learner), task)


def test_a_withdrawn_learner_keeps_their_draft_but_cannot_send_it(app, client, world) -> None:
    sign_in(client, "learner@example.com")
    submit(client, task_page(world), {**complete_form(app, world.task), "action": "save"})
    with app.app_context():
        enrolment = db.session.scalars(
            select(Enrolment).where(Enrolment.user_id == world.learner)
        ).first()
        enrolment.status = "withdrawn"
        db.session.commit()
    response = submit(
        client, task_page(world), {**complete_form(app, world.task), "action": "submit"}
    )
    assert response.status_code == 200
    assert "You are no longer enrolled in this programme" in text(response)
    assert submissions(app, world.learner) == [(1, "draft")]
    assert events(app, "demonstration.submitted") == []


def test_the_learner_cannot_change_a_sent_submission(app, client, world) -> None:
    sent = make_submitted(app, world.learner, world.task)
    before = get_submission(app, sent).answers
    sign_in(client, "learner@example.com")
    page = client.get(task_page(world))
    assert "Submission 1 is waiting for grading." in text(page)
    assert "Send for grading" not in text(page)
    payload = csrf_fields(page.get_data(as_text=True))
    response = client.post(task_page(world), data={**payload, "action": "save", "ev-plan": "New"})
    assert response.status_code == 409
    assert get_submission(app, sent).answers == before
    with app.app_context(), pytest.raises(operations.DemonstrationError, match="Only a draft"):
        operations.save(db.session.get(Submission, sent), {"plan": "New"}, [], [])


def test_after_needs_work_the_next_submission_starts_from_the_last(app, client, world) -> None:
    sign_in(client, "learner@example.com")
    first = {**complete_form(app, world.task), "ev-plan": "My first plan " * 50}
    response = submit(
        client,
        task_page(world),
        {**first, "action": "submit", "ev-screenshots": (io.BytesIO(PDF), "setup.pdf")},
    )
    assert response.status_code == 302
    with app.app_context():
        sent = db.session.scalars(select(Submission)).one()
        sent_id, stored = sent.id, sent.files[0].stored_name

    manager = FlaskClient(app, app.response_class, use_cookies=True)
    sign_in(manager, "manager@example.com")
    graded = submit(manager, f"/grading/{sent_id}", levels_form(app, world.task, 1))
    assert graded.status_code == 302
    assert get_submission(app, sent_id).status == "needs-work"

    page = client.get(task_page(world))
    shown = page.get_data(as_text=True)
    assert "Resubmit: start from your last submission" in text(page)
    assert "My first plan My first plan" in shown
    assert 'value="https://sandbox.example.com/campaigns/42"' in shown
    boxes = re.findall(r'<input[^>]*name="ev-steps-done"[^>]*>', shown)
    assert len(boxes) == 4 and all("checked" in box for box in boxes)

    # The browser posts the form back as shown; the files come along by themselves.
    saved = submit(client, task_page(world), {**first, "action": "save"}, follow_redirects=True)
    assert "Your draft (submission 2)" in text(saved)
    assert "setup.pdf" in text(saved)
    with app.app_context():
        again = db.session.scalars(select(Submission).where(Submission.number == 2)).one()
        assert again.status == "draft"
        assert again.answers == db.session.get(Submission, sent_id).answers
        assert [(f.name, f.stored_name) for f in again.files] == [("setup.pdf", stored)]
    sent_again = submit(client, task_page(world), {**first, "action": "submit"})
    assert sent_again.status_code == 302
    assert submissions(app, world.learner) == [(1, "needs-work"), (2, "submitted")]


def test_a_manager_does_not_see_a_learners_draft(app, client, world) -> None:
    sign_in(client, "learner@example.com")
    submit(
        client,
        task_page(world),
        {"action": "save", "ev-screenshots": (io.BytesIO(PDF), "unfinished.pdf")},
    )
    with app.app_context():
        draft = db.session.scalars(select(Submission)).one()
        draft_id, file_id = draft.id, draft.files[0].id
    manager = FlaskClient(app, app.response_class, use_cookies=True)
    sign_in(manager, "manager@example.com")
    assert manager.get(f"/demonstrations/submissions/{draft_id}").status_code == 404
    assert manager.get(f"/grading/{draft_id}").status_code == 404
    assert manager.get(f"/demonstrations/files/{file_id}").status_code == 404


# --- 7. Grading ------------------------------------------------------------------------------


def test_the_grading_page_shows_the_evidence_and_the_rubric(app, client, world) -> None:
    sent = make_submitted(app, world.learner, world.task)
    sign_in(client, "manager@example.com")
    response = client.get(f"/grading/{sent}")
    assert response.status_code == 200
    page = text(response)
    for words in (
        "Objective and audience",
        "Quality assurance",
        "Not yet",
        "Exemplary",
        "A measurable objective with a date and a saved segment whose rules and size are stated.",
        "Proficient at 75% of 16 points",
        "https://sandbox.example.com/campaigns/42",
    ):
        assert words in page, words


def test_the_score_is_worked_out_on_the_server(app, client, world) -> None:
    sent = make_submitted(app, world.learner, world.task)
    sign_in(client, "manager@example.com")
    response = submit(
        client,
        f"/grading/{sent}",
        levels_form(app, world.task, 1, score="16", points="16", proficient="y"),
        follow_redirects=True,
    )
    assert (
        "Graded: needs work: 8 of 16 points, under the 75% needed. The learner has been told."
        in text(response)
    )
    assert grades_of(app, sent) == [("first", 8, False, False)]
    assert get_submission(app, sent).status == "needs-work"


def test_proficient_levels_make_the_submission_proficient(app, client, world) -> None:
    sent = make_submitted(app, world.learner, world.task)
    sign_in(client, "manager@example.com")
    response = submit(client, f"/grading/{sent}", levels_form(app, world.task, 2))
    assert response.status_code == 302
    assert grades_of(app, sent) == [("first", 12, True, False)]
    assert get_submission(app, sent).status == "proficient"
    assert len(events(app, "demonstration.graded")) == 1


def test_a_not_yet_makes_a_high_total_needs_work_and_says_why(app, client, world) -> None:
    sent = make_submitted(app, world.learner, world.task)
    sign_in(client, "manager@example.com")
    # Exemplary everywhere but "Quality assurance": 12 of 16, the threshold, yet not proficient.
    form = levels_form(app, world.task, 3, **{"level-quality-assurance": "0"})
    response = submit(client, f"/grading/{sent}", form, follow_redirects=True)
    assert (
        "Graded: needs work: “Quality assurance” is at Not yet. The learner has been told."
        in text(response)
    )
    assert grades_of(app, sent) == [("first", 12, False, False)]
    assert get_submission(app, sent).status == "needs-work"
    with app.app_context():
        (mail,) = db.session.scalars(select(OutboxMessage))
        assert "Why: “Quality assurance” is at Not yet." in mail.body
    learner = FlaskClient(app, app.response_class, use_cookies=True)
    sign_in(learner, "learner@example.com")
    page = text(learner.get(f"/demonstrations/submissions/{sent}"))
    assert (
        "Your grade: 12 of 16 points (75%), needs work: “Quality assurance” is at Not yet" in page
    )
    assert "Improve and resubmit" in page


def test_a_grade_recorded_before_the_not_yet_rule_stands(app, client, world) -> None:
    sent = make_submitted(app, world.learner, world.task)
    with app.app_context():
        submission = db.session.get(Submission, sent)
        task = submission.task
        levels = {c["id"]: 3 for c in task.rubric["criteria"]}
        levels["quality-assurance"] = 0
        # As the old rule recorded it: 12 of 16 was proficient.
        submission.grades.append(
            Grade(
                assessor_id=world.manager,
                kind="first",
                levels=levels,
                comments={},
                feedback="Good.",
                points=12,
                max_points=16,
                proficient=True,
                rubric=task.rubric,
                proficient_at=0.75,
            )
        )
        submission.status = "proficient"
        db.session.commit()
    sign_in(client, "learner@example.com")
    page = text(client.get(f"/demonstrations/submissions/{sent}"))
    assert "Your grade: 12 of 16 points (75%), proficient" in page
    assert get_submission(app, sent).status == "proficient"


def test_the_grading_page_carries_the_live_verdict_for_the_script(app, client, world) -> None:
    sent = make_submitted(app, world.learner, world.task)
    sign_in(client, "manager@example.com")
    response = client.get(f"/grading/{sent}")
    page = response.get_data(as_text=True)
    # A static script (the policy allows no inline script) and a polite live region, hidden
    # until the script fills it so the page reads as before without JavaScript.
    assert '<script src="/static/rubric.js" defer></script>' in page
    assert "<script>" not in page
    assert re.search(r'<p class="live-verdict"[^>]*aria-live="polite"[^>]*hidden>', page)
    assert 'data-max-points="16"' in page and 'data-proficient-at="0.75"' in page
    assert 'data-criterion="Quality assurance" data-points="0 2 3 4"' in page
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    script = client.get("/static/rubric.js")
    script.close()
    assert script.status_code == 200


def test_a_grade_needs_every_level_and_feedback(app, client, world) -> None:
    sent = make_submitted(app, world.learner, world.task)
    sign_in(client, "manager@example.com")
    form = levels_form(app, world.task, 2, feedback="")
    del form["level-quality-assurance"]
    response = submit(client, f"/grading/{sent}", form)
    assert response.status_code == 200
    page = text(response)
    assert "Choose a level for “Quality assurance”." in page
    assert "Write the overall feedback." in page
    assert grades_of(app, sent) == []


def test_the_learner_reads_grade_feedback_and_comments(app, client, world) -> None:
    sent = make_submitted(app, world.learner, world.task)
    manager = FlaskClient(app, app.response_class, use_cookies=True)
    sign_in(manager, "manager@example.com")
    submit(
        manager,
        f"/grading/{sent}",
        levels_form(
            app,
            world.task,
            2,
            **{
                "level-objective-audience": "3",
                "feedback": "A plan a colleague could repeat.",
                "comment-quality-assurance": "Say which fallback failed in QA.",
            },
        ),
    )
    sign_in(client, "learner@example.com")
    page = text(client.get(f"/demonstrations/submissions/{sent}"))
    assert "Your grade: 13 of 16 points (81%), proficient" in page
    assert "A plan a colleague could repeat." in page
    assert "Say which fallback failed in QA." in page
    with app.app_context():
        (mail,) = db.session.scalars(select(OutboxMessage))
        assert mail.to_address == "learner@example.com"
        assert "13 of 16 points" in mail.body


def test_the_graded_mail_links_to_the_configured_address(app, client, world, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "LMS_BASE_URL", "https://academy.example.com/")
    by_web = make_submitted(app, world.learner, world.task)
    by_code = make_submitted(app, world.learner2, world.task)
    sign_in(client, "manager@example.com")
    submit(client, f"/grading/{by_web}", levels_form(app, world.task, 2))
    with app.app_context():
        # Graded outside any request (a script, a background job).
        submission = db.session.get(Submission, by_code)
        levels = {c["id"]: 1 for c in submission.task.rubric["criteria"]}
        operations.grade(submission, db.session.get(User, world.manager), levels, {}, "Again.")
        db.session.commit()
        bodies = list(db.session.scalars(select(OutboxMessage.body).order_by(OutboxMessage.id)))
    assert f"https://academy.example.com/demonstrations/submissions/{by_web}\n" in bodies[0]
    assert f"https://academy.example.com/demonstrations/submissions/{by_code}\n" in bodies[1]


def test_a_regrade_replaces_the_grade_and_keeps_the_history(app, client, world) -> None:
    sent = make_submitted(app, world.learner, world.task)
    sign_in(client, "manager@example.com")
    submit(client, f"/grading/{sent}", levels_form(app, world.task, 1))
    page = text(client.get(f"/demonstrations/submissions/{sent}"))
    assert "Regrade" in page
    submit(client, f"/grading/{sent}", levels_form(app, world.task, 2, feedback="Regraded."))
    assert grades_of(app, sent) == [("first", 8, False, True), ("first", 12, True, False)]
    assert get_submission(app, sent).status == "proficient"
    assert len(events(app, "demonstration.regraded")) == 1

    history = text(client.get(f"/grading/{sent}"))
    assert "8 / 16 needs work: 8 of 16 points, under the 75% needed replaced" in history
    assert "12 / 16 proficient current" in history

    learner = FlaskClient(app, app.response_class, use_cookies=True)
    sign_in(learner, "learner@example.com")
    seen = text(learner.get(f"/demonstrations/submissions/{sent}"))
    assert "Your grade: 12 of 16 points" in seen
    assert "8 of 16" not in seen


def enrolment_of(user_id: int, programme_slug: str = PROGRAMME) -> Enrolment:
    return db.session.scalars(
        select(Enrolment).where(
            Enrolment.user_id == user_id,
            Enrolment.programme_id == programme(programme_slug).id,
        )
    ).one()


def test_a_proficient_grade_counts_toward_the_gate(app, client, world) -> None:
    with app.app_context():
        enrolment = enrolment_of(world.learner)
        refresh([enrolment])
        db.session.commit()
        assert (enrolment.gate_met, enrolment.gate_total) == (0, 3)
    sent = make_submitted(app, world.learner, world.task)
    sign_in(client, "manager@example.com")
    submit(client, f"/grading/{sent}", levels_form(app, world.task, 2))
    with app.app_context():
        enrolment = enrolment_of(world.learner)
        assert (enrolment.gate_met, enrolment.stage_id) == (1, "initial")
        (state,) = evaluate([enrolment]).values()
        (met,) = (r for r in state.gate if r.met)
        assert met.key == f"demonstration-proficient:{TASK}"
        assert (met.evidence["demonstration"], met.evidence["submission"]) == (TASK, sent)
        cohort_id, enrolment_id = enrolment.cohort_id, enrolment.id
        graded_on = db.session.get(Submission, sent).graded_at.isoformat()[:10]
    # The manager's enrolment page says what met it, in words.
    page = text(client.get(f"/cohorts/{cohort_id}/enrolments/{enrolment_id}"))
    assert f"submission {sent} graded proficient on {graded_on}" in page
    assert "graded_at" not in page


def test_a_needs_work_grade_does_not_count(app, client, world) -> None:
    sent = make_submitted(app, world.learner, world.task)
    sign_in(client, "manager@example.com")
    submit(client, f"/grading/{sent}", levels_form(app, world.task, 1))
    with app.app_context():
        assert enrolment_of(world.learner).gate_met == 0


def test_the_last_requirement_promotes_and_certifies(app, client, world) -> None:
    with app.app_context():
        enrolment = enrolment_of(world.learner)
        for module_slug in ("campaign-creation-management", "segmentation-personalization"):
            db.session.add(
                Exemption(
                    enrolment_id=enrolment.id,
                    requirement=f"module-completed:{module_slug}",
                    reason="Certified elsewhere",
                )
            )
        refresh([enrolment])
        db.session.commit()
        assert (enrolment.gate_met, enrolment.stage_id) == (2, "initial")
    sent = make_submitted(app, world.learner, world.task)
    sign_in(client, "manager@example.com")
    submit(client, f"/grading/{sent}", levels_form(app, world.task, 2))
    with app.app_context():
        enrolment = enrolment_of(world.learner)
        assert enrolment.stage_id == "proficiency"
        (promotion,) = db.session.scalars(
            select(StagePromotion).where(StagePromotion.enrolment_id == enrolment.id)
        )
        (certificate,) = db.session.scalars(
            select(Certificate).where(Certificate.user_id == world.learner)
        )
        assert (certificate.stage_id, certificate.promotion_id) == ("initial", promotion.id)
        assert certificate.holder_name == "Learner"
        shown = certificate.evidence[-1]
        assert shown["requirement"] == f"demonstration-proficient:{TASK}"
        assert shown["evidence"]["submission"] == sent


def test_nobody_grades_their_own_submission(app, client, world) -> None:
    # The manager is also a learner of their own cohort.
    with app.app_context():
        from lms.organisation.models import Cohort

        enrol(
            world.manager,
            organisation_today(),
            PROGRAMME,
            cohort=db.session.get(Cohort, world.north),
        )
        db.session.commit()
    own = make_submitted(app, world.manager, world.task)
    sign_in(client, "manager@example.com")
    assert client.get(f"/grading/{own}").status_code == 404
    assert queue_rows(client) == []
    page = client.get(f"/demonstrations/submissions/{own}")
    assert page.status_code == 200  # their own, to read
    assert f'href="/grading/{own}"' not in page.get_data(as_text=True)
    assert grades_of(app, own) == []


def test_a_learner_cannot_open_the_grading_page(app, client, world) -> None:
    sent = make_submitted(app, world.learner2, world.task)
    own = make_submitted(app, world.learner, world.task)
    sign_in(client, "learner@example.com")
    assert client.get(f"/grading/{sent}").status_code == 404
    assert client.get(f"/grading/{own}").status_code == 404
    assert client.get("/grading").status_code == 403


# --- 8. Moderation ---------------------------------------------------------------------------


@dataclass
class Moderated:
    task: int
    submission: int
    assessor: int  # named for the cohort, not its manager


@pytest.fixture
def moderated(app: Flask, world: World) -> Moderated:
    """The learner in the manager's cohort for integrated-marketing-systems, in the expert stage,
    with a submission of its moderated demonstration waiting; a second assessor is named."""
    with app.app_context():
        from lms.organisation.models import Cohort

        taken = programme(MODERATED_PROGRAMME)
        cohort = db.session.get(Cohort, world.north)
        cohort.programmes = [*cohort.programmes, taken]
        enrolment = enrol(world.learner, organisation_today(), MODERATED_PROGRAMME, cohort=cohort)
        enrolment.stage_id = "expert"
        assessor = make_user("assessor@example.com", ("manager",), name="Ada Assessor")
        db.session.add(CohortAssessor(cohort_id=cohort.id, user_id=assessor.id))
        db.session.commit()
        task_id = task_row(MODERATED_TASK, MODERATED_PROGRAMME).id
        assessor_id = assessor.id
    return Moderated(task_id, make_submitted(app, world.learner, task_id), assessor_id)


def requirement_met(app: Flask, user_id: int) -> bool:
    with app.app_context():
        (state,) = evaluate([enrolment_of(user_id, MODERATED_PROGRAMME)]).values()
        return next(
            r.met for r in state.gate if r.key == f"demonstration-proficient:{MODERATED_TASK}"
        )


def test_a_first_grade_waits_for_moderation(app, client, world, moderated: Moderated) -> None:
    sign_in(client, "manager@example.com")
    response = submit(
        client,
        f"/grading/{moderated.submission}",
        levels_form(app, moderated.task, 2),
        follow_redirects=True,
    )
    assert "it now waits for a second assessor to moderate" in text(response)
    assert get_submission(app, moderated.submission).status == "moderation"
    assert grades_of(app, moderated.submission) == [("first", 15, True, False)]
    assert not requirement_met(app, world.learner)
    # The first assessor does not moderate their own grade.
    assert queue_rows(client) == []
    assert queue_rows(client, "?waiting_for=moderation") == []

    learner = FlaskClient(app, app.response_class, use_cookies=True)
    sign_in(learner, "learner@example.com")
    page = text(learner.get(f"/demonstrations/submissions/{moderated.submission}"))
    assert "Waiting for moderation" in page
    assert "Your grade" not in page and "15 of 20" not in page


def test_a_second_assessor_moderates_and_the_grade_counts(
    app, client, world, moderated: Moderated
) -> None:
    manager = FlaskClient(app, app.response_class, use_cookies=True)
    sign_in(manager, "manager@example.com")
    submit(manager, f"/grading/{moderated.submission}", levels_form(app, moderated.task, 2))

    sign_in(client, "assessor@example.com")
    assert queue_rows(client) == [("Learner", "Choose an attribution model on an agreed")]
    page = text(client.get(f"/grading/{moderated.submission}"))
    assert "Moderate: confirm or change the first grade" in page
    with app.app_context():
        first_criterion = db.session.get(DemonstrationTask, moderated.task).rubric["criteria"][0]
    response = submit(
        client,
        f"/grading/{moderated.submission}",
        levels_form(
            app,
            moderated.task,
            2,
            **{f"level-{first_criterion['id']}": "3", "feedback": "Confirmed, one level up."},
        ),
    )
    assert response.status_code == 302
    assert get_submission(app, moderated.submission).status == "proficient"
    assert grades_of(app, moderated.submission) == [
        ("first", 15, True, False),
        ("moderation", 16, True, False),
    ]
    assert requirement_met(app, world.learner)

    learner = FlaskClient(app, app.response_class, use_cookies=True)
    sign_in(learner, "learner@example.com")
    seen = text(learner.get(f"/demonstrations/submissions/{moderated.submission}"))
    assert "Your grade: 16 of 20 points (80%), proficient" in seen
    assert "Confirmed, one level up." in seen
    assert "15 of 20" not in seen and "Overall this shows the workflow well." not in seen


def test_another_admin_may_moderate(app, client, world, moderated: Moderated) -> None:
    with app.app_context():
        make_user("second.admin@example.com", ("admin",))
    first = FlaskClient(app, app.response_class, use_cookies=True)
    sign_in(first, "admin@example.com")
    submit(first, f"/grading/{moderated.submission}", levels_form(app, moderated.task, 1))
    assert get_submission(app, moderated.submission).status == "moderation"
    assert queue_rows(first) == []

    sign_in(client, "second.admin@example.com")
    assert [name for name, _ in queue_rows(client, "?waiting_for=moderation")] == ["Learner"]
    submit(client, f"/grading/{moderated.submission}", levels_form(app, moderated.task, 1))
    assert get_submission(app, moderated.submission).status == "needs-work"
    assert [kind for kind, *_ in grades_of(app, moderated.submission)] == [
        "first",
        "moderation",
    ]
    assert not requirement_met(app, world.learner)


def test_a_regrade_of_a_moderated_outcome_needs_moderating_again(
    app, client, world, moderated: Moderated
) -> None:
    manager = FlaskClient(app, app.response_class, use_cookies=True)
    sign_in(manager, "manager@example.com")
    submit(manager, f"/grading/{moderated.submission}", levels_form(app, moderated.task, 1))
    assessor = FlaskClient(app, app.response_class, use_cookies=True)
    sign_in(assessor, "assessor@example.com")
    submit(assessor, f"/grading/{moderated.submission}", levels_form(app, moderated.task, 1))
    assert get_submission(app, moderated.submission).status == "needs-work"

    # A third person's regrade does not overrule the two: it waits for someone to confirm it.
    sign_in(client, "admin@example.com")
    submit(client, f"/grading/{moderated.submission}", levels_form(app, moderated.task, 3))
    assert get_submission(app, moderated.submission).status == "moderation"
    assert grades_of(app, moderated.submission) == [
        ("first", 10, False, True),
        ("moderation", 10, False, True),
        ("first", 20, True, False),
    ]
    assert not requirement_met(app, world.learner)
    assert queue_rows(client) == []  # not theirs to confirm

    assert names(queue_rows(manager, "?waiting_for=moderation")) == ["Learner"]
    submit(manager, f"/grading/{moderated.submission}", levels_form(app, moderated.task, 3))
    assert get_submission(app, moderated.submission).status == "proficient"
    assert requirement_met(app, world.learner)


def test_the_first_assessor_may_revise_before_moderation(
    app, client, world, moderated: Moderated
) -> None:
    sign_in(client, "manager@example.com")
    submit(client, f"/grading/{moderated.submission}", levels_form(app, moderated.task, 1))
    submit(client, f"/grading/{moderated.submission}", levels_form(app, moderated.task, 2))
    assert grades_of(app, moderated.submission) == [
        ("first", 10, False, True),
        ("first", 15, True, False),
    ]
    assert get_submission(app, moderated.submission).status == "moderation"


# --- 9. The queue ----------------------------------------------------------------------------

ROW = re.compile(r'<th scope="row">(?P<name>[^<]*)</th>\s*<td>(?P<title>[^<]*)<br>')


def queue_rows(client: FlaskClient, query: str = "") -> list[tuple[str, str]]:
    """(learner, task title up to its first five words) per row of the grading queue."""
    response = client.get(f"/grading{query}")
    assert response.status_code == 200, response.status_code
    return [
        (html.unescape(m["name"]), " ".join(html.unescape(m["title"]).split()[:7]))
        for m in ROW.finditer(response.get_data(as_text=True))
    ]


def names(rows: list[tuple[str, str]]) -> list[str]:
    return [name for name, _ in rows]


def test_the_queue_holds_only_the_managers_cohorts(app, client, world) -> None:
    make_submitted(app, world.learner, world.task)
    theirs = make_submitted(app, world.outsider, world.task)
    sign_in(client, "manager@example.com")
    assert names(queue_rows(client)) == ["Learner"]
    assert client.get(f"/grading/{theirs}").status_code == 404
    assert client.get(f"/demonstrations/submissions/{theirs}").status_code == 404
    assert client.get(f"/grading?cohort={world.south}").status_code == 404

    other = FlaskClient(app, app.response_class, use_cookies=True)
    sign_in(other, "other.manager@example.com")
    assert names(queue_rows(other)) == ["Oscar Outsider"]


def test_a_withdrawn_enrolment_shows_its_old_manager_only_the_work_sent_before(
    app, client, world
) -> None:
    # Oscar was in North, withdrew, and now learns in South: North's manager keeps what he sent
    # while in North, and never sees what he sends for South.
    with app.app_context():
        north = db.session.get(Cohort, world.north)
        left = enrol(
            world.outsider, organisation_today() - timedelta(days=10), PROGRAMME, cohort=north
        )
        left.status, left.withdrawn_at = "withdrawn", now_utc() - timedelta(days=3)
        db.session.commit()
    before = make_submitted(
        app, world.outsider, world.task, submitted_at=now_utc() - timedelta(days=5)
    )
    with app.app_context():
        db.session.get(Submission, before).status = "needs-work"
        db.session.commit()
    after = make_submitted(app, world.outsider, world.task)
    sign_in(client, "manager@example.com")
    assert client.get(f"/demonstrations/submissions/{before}").status_code == 200
    assert client.get(f"/grading/{after}").status_code == 404
    assert client.get(f"/demonstrations/submissions/{after}").status_code == 404
    assert "Oscar Outsider" not in names(queue_rows(client))
    waiting = client.get("/dashboard/learners?figure=queue-waiting&value=all")
    assert "Oscar Outsider" not in text(waiting)
    other = FlaskClient(app, app.response_class, use_cookies=True)
    sign_in(other, "other.manager@example.com")
    assert names(queue_rows(other)) == ["Oscar Outsider"]


def test_the_queue_filters_by_cohort_for_an_admin(app, client, world) -> None:
    make_submitted(app, world.learner, world.task)
    make_submitted(app, world.outsider, world.task)
    sign_in(client, "admin@example.com")
    assert sorted(names(queue_rows(client))) == ["Learner", "Oscar Outsider"]
    assert names(queue_rows(client, f"?cohort={world.north}")) == ["Learner"]
    assert names(queue_rows(client, f"?cohort={world.south}")) == ["Oscar Outsider"]


def test_the_queue_filters_by_stage(app, client, world) -> None:
    make_submitted(app, world.learner, world.task)
    make_submitted(app, world.learner2, world.later_task)
    sign_in(client, "manager@example.com")
    assert names(queue_rows(client, "?stage=initial")) == ["Learner"]
    assert names(queue_rows(client, "?stage=proficiency")) == ["Other Learner"]
    assert queue_rows(client, "?stage=expert") == []
    assert "Nothing is waiting with these filters." in text(client.get("/grading?stage=expert"))


def test_the_queue_filters_by_what_is_waiting(app, client, world) -> None:
    make_submitted(app, world.learner, world.task)
    waiting = make_submitted(app, world.learner2, world.later_task)
    with app.app_context():
        db.session.get(DemonstrationTask, world.later_task).moderated = True
        submission = db.session.get(Submission, waiting)
        criteria = submission.task.rubric["criteria"]
        operations.grade(
            submission,
            db.session.get(User, world.admin),
            {c["id"]: 2 for c in criteria},
            {},
            "First look.",
        )
        db.session.commit()
    sign_in(client, "manager@example.com")
    assert sorted(names(queue_rows(client))) == ["Learner", "Other Learner"]
    assert names(queue_rows(client, "?waiting_for=grading")) == ["Learner"]
    assert names(queue_rows(client, "?waiting_for=moderation")) == ["Other Learner"]


# A Wednesday; eight calendar days before it is the Tuesday of the week before.
TODAY = datetime(2025, 3, 12, 10, 0, tzinfo=UTC)


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> datetime:
    monkeypatch.setattr(operations, "now_utc", lambda: TODAY)
    return TODAY


def test_a_submission_past_five_working_days_is_flagged(app, client, world, frozen) -> None:
    make_submitted(app, world.learner, world.task, submitted_at=frozen - timedelta(days=8))
    make_submitted(app, world.learner2, world.task, submitted_at=frozen - timedelta(days=5))
    sign_in(client, "manager@example.com")
    assert names(queue_rows(client)) == ["Learner", "Other Learner"]  # oldest first
    shown = client.get("/grading").get_data(as_text=True)
    assert re.findall(r'<td class="num">(\d+)', shown) == ["6", "3"]
    old_row, new_row = shown.split('<th scope="row">')[1:3]
    assert "over 5 days" in old_row and "over 5 days" not in new_row
    assert names(queue_rows(client, "?age=5")) == ["Learner"]
    assert sorted(names(queue_rows(client, "?age=2"))) == ["Learner", "Other Learner"]


def test_the_home_page_counts_what_waits_and_what_is_late(app, client, world, frozen) -> None:
    sign_in(client, "manager@example.com")
    assert "Nothing is waiting for you." in text(client.get("/"))
    make_submitted(app, world.learner, world.task, submitted_at=frozen - timedelta(days=8))
    make_submitted(app, world.learner2, world.task, submitted_at=frozen - timedelta(days=5))
    home = " ".join(text(client.get("/")).split())
    assert "2 submissions waiting for you, 1 past the 5-working-day target." in home


def test_holidays_do_not_count_as_working_days(app, client, world, frozen) -> None:
    make_submitted(app, world.learner, world.task, submitted_at=frozen - timedelta(days=8))
    with app.app_context():
        db.session.add(
            Holiday(organisation_id=organisation().id, day=date(2025, 3, 10), name="Spring day")
        )
        db.session.commit()
    sign_in(client, "manager@example.com")
    shown = client.get("/grading").get_data(as_text=True)
    # Wednesday 5, Thursday 6, Friday 7, Tuesday 11 and Wednesday 12: five, not six.
    assert re.findall(r'<td class="num">(\d+)', shown) == ["5"]
    assert "over 5 days" not in shown
    assert names(queue_rows(client, "?age=5")) == ["Learner"]
    # The filter for "past the target" agrees with the flag: exactly five is not past it.
    assert '<option value="6">6+ working days (past the 5-day grading target)</option>' in shown
    assert queue_rows(client, "?age=6") == []
    assert queue_rows(client, "?age=10") == []


def test_working_day_ages(app, ctx) -> None:
    today = date(2025, 3, 12)
    assert operations.age_in_working_days(datetime(2025, 3, 4, 10, tzinfo=UTC), today) == 6
    assert operations.age_in_working_days(datetime(2025, 3, 7, 10, tzinfo=UTC), today) == 3
    assert operations.age_in_working_days(None, today) == 0
    assert operations.submitted_before(5, today) == datetime(2025, 3, 6)


def test_a_named_assessor_sees_the_cohorts_queue(app, client, world) -> None:
    make_submitted(app, world.learner, world.task)
    make_submitted(app, world.outsider, world.task)
    with app.app_context():
        assessor = make_user("assessor@example.com", name="Ada Assessor")
        db.session.add(CohortAssessor(cohort_id=world.south, user_id=assessor.id))
        db.session.commit()
    sign_in(client, "assessor@example.com")
    assert names(queue_rows(client)) == ["Oscar Outsider"]
    with app.app_context():
        outsiders = db.session.scalars(
            select(Submission.id).where(Submission.user_id == world.outsider)
        ).one()
        mine = db.session.scalars(
            select(Submission.id).where(Submission.user_id == world.learner)
        ).one()
    assert client.get(f"/grading/{outsiders}").status_code == 200
    assert client.get(f"/grading/{mine}").status_code == 404


def test_the_queue_runs_a_fixed_number_of_queries(app, client, world, count_queries) -> None:
    with app.app_context():
        from lms.organisation.models import Cohort

        north = db.session.get(Cohort, world.north)
        learners = []
        for number in range(12):
            person = make_user(f"queued{number}@example.com", name=f"Queued {number:02}")
            enrol(person.id, organisation_today(), PROGRAMME, cohort=north)
            learners.append(person.id)
        db.session.commit()
    sign_in(client, "manager@example.com")
    counts = []
    for batch in (learners[:3], learners[3:]):
        for person in batch:
            make_submitted(app, person, world.task)
        client.get("/grading")  # warm: the organisation row and such
        with count_queries() as statements:
            response = client.get("/grading")
        assert response.status_code == 200
        counts.append(len(statements))
    assert len(queue_rows(client)) == 12
    assert counts[0] == counts[1], counts


# --- 10. Naming assessors --------------------------------------------------------------------


def test_an_admin_names_an_assessor_by_email(app, client, world) -> None:
    with app.app_context():
        make_user("assessor@example.com", name="Ada Assessor")
    sign_in(client, "admin@example.com")
    response = submit(
        client,
        "/grading/assessors",
        {"email": " Assessor@Example.com ", "cohort": str(world.north)},  # pasted with spaces
        follow_redirects=True,
    )
    page = text(response)
    assert "Ada Assessor now grades the demonstrations of North cohort." in page
    with app.app_context():
        row = db.session.scalars(select(CohortAssessor)).one()
        assert row.cohort_id == world.north
    (event,) = events(app, "cohort.assessor-named")
    assert event.actor_id == world.admin
    assert event.details["assessor"] == "assessor@example.com"


def test_an_unknown_email_is_refused(app, client, world) -> None:
    sign_in(client, "admin@example.com")
    response = submit(
        client, "/grading/assessors", {"email": "nobody@example.com", "cohort": str(world.north)}
    )
    assert response.status_code == 200
    assert "No active user has this e-mail address." in text(response)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CohortAssessor)) == 0


def test_the_manager_is_not_named_twice(app, client, world) -> None:
    sign_in(client, "admin@example.com")
    response = submit(
        client, "/grading/assessors", {"email": "manager@example.com", "cohort": str(world.north)}
    )
    assert "manages this cohort and grades its work already" in text(response)


def test_an_admin_removes_an_assessor(app, client, world) -> None:
    with app.app_context():
        assessor = make_user("assessor@example.com", name="Ada Assessor")
        row = CohortAssessor(cohort_id=world.north, user_id=assessor.id)
        db.session.add(row)
        db.session.commit()
        row_id = row.id
    sign_in(client, "admin@example.com")
    assert "Ada Assessor" in text(client.get("/grading/assessors"))
    response = submit(
        client,
        "/grading/assessors",
        {},
        to=f"/grading/assessors/{row_id}/remove",
        follow_redirects=True,
    )
    assert "Assessor removed." in text(response)
    with app.app_context():
        assert db.session.get(CohortAssessor, row_id) is None
    assert len(events(app, "cohort.assessor-removed")) == 1


@pytest.mark.parametrize(
    "email", ["manager@example.com", "learner@example.com", "leader@example.com"]
)
def test_only_admins_name_assessors(app, client, world, email: str) -> None:
    sign_in(client, email)
    assert client.get("/grading/assessors").status_code == 403
    # With a valid token (from the sign-out form every page has), still refused.
    token = csrf_fields(client.get("/").get_data(as_text=True))
    form = {**token, "email": "leader@example.com", "cohort": str(world.north)}
    assert client.post("/grading/assessors", data=form).status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CohortAssessor)) == 0


# --- 11. Doors -------------------------------------------------------------------------------


def test_a_learner_cannot_open_another_learners_submission(app, client, world) -> None:
    theirs = make_submitted(app, world.learner2, world.task)
    sign_in(client, "learner@example.com")
    assert client.get(f"/demonstrations/submissions/{theirs}").status_code == 404
    assert client.get(f"/demonstrations/submissions/{theirs + 1000}").status_code == 404


def test_a_task_of_another_programme_is_not_found(app, client, world) -> None:
    with app.app_context():
        elsewhere = task_row(MODERATED_TASK, MODERATED_PROGRAMME).id
    sign_in(client, "learner@example.com")
    assert client.get(f"/demonstrations/{elsewhere}").status_code == 404
    assert client.get(f"/demonstrations/{elsewhere + 1000}").status_code == 404


def test_leaders_open_neither_submissions_nor_the_queue(app, client, world) -> None:
    sent = make_submitted(app, world.learner, world.task)
    sign_in(client, "leader@example.com")
    assert client.get(f"/demonstrations/submissions/{sent}").status_code == 404
    assert client.get(f"/grading/{sent}").status_code == 404
    assert client.get("/grading").status_code == 403
    assert client.get(f"/demonstrations/{world.task}").status_code == 404


def test_a_withdrawn_learner_reads_but_cannot_start(app, client, world) -> None:
    with app.app_context():
        enrolment_of(world.learner).status = "withdrawn"
        db.session.commit()
    sign_in(client, "learner@example.com")
    page = client.get(task_page(world))
    assert page.status_code == 200 and "Send for grading" not in text(page)
    payload = csrf_fields(page.get_data(as_text=True))
    assert client.post(task_page(world), data={**payload, "action": "save"}).status_code == 409
    assert submissions(app, world.learner) == []


# --- 12. Personal data -----------------------------------------------------------------------


def test_erasing_a_learner_deletes_their_files_and_answers(
    app, client, world, uploads: Path
) -> None:
    sign_in(client, "learner@example.com")
    form = complete_form(app, world.task)
    submit(
        client,
        task_page(world),
        {**form, "action": "submit", "ev-screenshots": (io.BytesIO(PDF), "setup.pdf")},
    )
    with app.app_context():
        sent = db.session.scalars(select(Submission)).one()
        operations.grade(
            sent,
            db.session.get(User, world.manager),
            {c["id"]: 1 for c in sent.task.rubric["criteria"]},
            {"build-quality": "Use the brand template."},
            "Needs the trigger.",
        )
        # A second draft shares the stored file with the first submission.
        operations.open_draft(db.session.get(User, world.learner), sent.task)
        db.session.commit()
        stored = files.path_of(sent.files[0].stored_name)
    assert stored.exists()

    with app.app_context():
        exported = export_user_data(db.session.get(User, world.learner))
        records = exported["submissions"]["records"]
        assert [(r["number"], r["status"]) for r in records] == [(1, "needs-work"), (2, "draft")]
        assert records[0]["task"] == "Run the Campaign Creation and Launch Workflow in the sandbox"
        assert records[0]["answers"]["sandbox-link"] == "https://sandbox.example.com/campaigns/42"
        assert records[0]["grades"][0]["feedback"] == "Needs the trigger."
        assert [r["name"] for r in exported["evidence_files"]["records"]] == [
            "setup.pdf",
            "setup.pdf",
        ]

        erase_user(db.session.get(User, world.learner))
        db.session.commit()

    assert not stored.exists()
    assert not any(p.is_file() for p in uploads.rglob("*"))
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(EvidenceFile)) == 0
        kept = list(db.session.scalars(select(Submission).order_by(Submission.id)))
        assert [(s.status, s.answers) for s in kept] == [("needs-work", {}), ("draft", {})]
        (grade,) = db.session.scalars(select(Grade))
        assert (grade.points, grade.feedback, grade.comments) == (8, "", {})


def test_erasing_one_learner_keeps_anothers_files(app, world, uploads: Path) -> None:
    with app.app_context():
        task = db.session.get(DemonstrationTask, world.task)
        kept = []
        for user_id in (world.learner, world.learner2):
            draft = operations.open_draft(db.session.get(User, user_id), task)
            operations.save(draft, {}, [operations.Upload("screenshots", "a.pdf", PDF)], [])
            kept.append(files.path_of(draft.files[0].stored_name))
        db.session.commit()
        erase_user(db.session.get(User, world.learner))
        db.session.commit()
    assert not kept[0].exists() and kept[1].exists()
