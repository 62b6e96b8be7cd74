"""Curriculum files: validation with file, line and field; loading all-or-nothing, idempotent and
by stable ids; the catalogue and framework pages; the figures of figures.yaml."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from flask import Flask
from markupsafe import escape
from sqlalchemy import func, select

from lms.curricula import loader as curricula_loader
from lms.curricula.loader import load_curricula
from lms.curricula.models import ContentVersion, FrameworkDocument, Module, Objective, Programme
from lms.curricula.models import Stage as StageRow
from lms.extensions import db
from lms.figures import figure, target
from lms.organisation.models import Cohort, Enrolment
from tests.conftest import CURRICULA, login, make_user

# A small programme written by the tests, so that line numbers are known. Line by line:
#  1 schema  2 id  3 version  4 kind  5 title  6 source  7 summary  8 modules
#  9 - id: first-module  10 title  11 objectives  12 - id: first-objective  13 text
# 14 - id: second-objective  15 text  16 stage  17 - id: second-module  18 title
# 19 objectives  20 - id: third-objective  21 text  22 stage
TEST_PROGRAMME = """\
schema: lms/programme/1
id: test-programme
version: 1.0.0
kind: curriculum
title: Test Programme
source: written-by-the-tests.txt
summary: A programme the tests write, break and load.
modules:
- id: first-module
  title: First Module
  objectives:
  - id: first-objective
    text: Do the first thing.
  - id: second-objective
    text: Do the second thing.
  stage: initial
- id: second-module
  title: Second Module
  objectives:
  - id: third-objective
    text: Do the third thing.
  stage: proficiency
"""
TEST_FILE = "curricula/programmes/test-programme.yaml"

REPOSITORY_PROGRAMMES = sorted(
    p.parent.name for p in (CURRICULA / "programmes").glob("*/programme.yaml")
)
FILES = (
    len(REPOSITORY_PROGRAMMES) + 5
)  # programmes, framework, figures, features, equivalences, glossary


# --- Helpers ---------------------------------------------------------------------------------


def copy_curricula(tmp_path: Path, *, with_test_programme: bool = True) -> Path:
    """A copy of the repository's curricula under tmp_path/curricula, to break or change."""
    root = tmp_path / "curricula"
    shutil.copytree(CURRICULA, root)
    if with_test_programme:
        (root / "programmes" / "test-programme.yaml").write_text(TEST_PROGRAMME)
    return root


def small_tree(tmp_path: Path) -> Path:
    """The test programme beside one real programme and the framework: quicker to parse than
    the whole repository, and still more than one file to tell apart."""
    root = tmp_path / "curricula"
    (root / "programmes").mkdir(parents=True)
    shutil.copy(CURRICULA / "framework.yaml", root)
    shutil.copytree(
        CURRICULA / "programmes" / "ai-machine-learning",
        root / "programmes" / "ai-machine-learning",
    )
    (root / "programmes" / "test-programme.yaml").write_text(TEST_PROGRAMME)
    return root


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not in {path} exactly once"
    path.write_text(text.replace(old, new), encoding="utf-8")


def cli(app: Flask, *args: str):
    return app.test_cli_runner().invoke(args=list(args))


def programme_snapshot(app: Flask, slug: str) -> dict:
    with app.app_context():
        programme = db.session.scalar(select(Programme).where(Programme.slug == slug))
        return {
            "id": programme.id,
            "version": programme.version,
            "title": programme.title,
            "modules": {
                m.slug: (m.id, m.position, m.title, m.retired_at is not None)
                for m in programme.modules
            },
            "objectives": {
                o.slug: (o.id, o.text, o.retired_at is not None)
                for m in programme.modules
                for o in m.objectives
            },
        }


def count(app: Flask, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


# --- Validation ------------------------------------------------------------------------------


def test_repository_curricula_are_valid(app: Flask) -> None:
    result = cli(app, "curricula", "validate")
    assert result.exit_code == 0, result.output
    assert f"{FILES} file(s) valid." in result.output


def test_valid_tree_with_a_new_programme_exits_zero(app: Flask, tmp_path: Path) -> None:
    root = copy_curricula(tmp_path)
    result = cli(app, "curricula", "validate", str(root))
    assert result.exit_code == 0, result.output
    assert f"{FILES + 1} file(s) valid." in result.output


BROKEN = {
    # case: (old, new, expected "file:line: field: message" start, a word of the message)
    "yaml syntax": (
        "  title: Second Module\n",
        "  title: Second: Module\n",
        f"{TEST_FILE}:18: is not valid YAML",
        "mapping values are not allowed",
    ),
    "unknown field": (
        "  title: Second Module\n",
        "  titel: Second Module\n",
        f"{TEST_FILE}:18: modules[1].titel: ",
        "is not a known field",
    ),
    "missing module title": (
        "  title: Second Module\n",
        "",
        f"{TEST_FILE}:17: modules[1].title: ",
        "Field required",
    ),
    "missing summary": (
        "summary: A programme the tests write, break and load.\n",
        "",
        f"{TEST_FILE}:1: summary: ",
        "Field required",
    ),
    "version not semantic": (
        "version: 1.0.0\n",
        'version: "1.0"\n',
        f"{TEST_FILE}:3: version: ",
        "semantic version",
    ),
    "version a number": (
        "version: 1.0.0\n",
        "version: 1.0\n",
        f"{TEST_FILE}:3: version: ",
        "string",
    ),
    "duplicate module id": (
        "- id: second-module\n",
        "- id: first-module\n",
        f"{TEST_FILE}:17: modules[1].id: ",
        "duplicate module id 'first-module'",
    ),
    "duplicate objective id": (
        "  - id: second-objective\n",
        "  - id: first-objective\n",
        f"{TEST_FILE}:14: modules[0].objectives[1].id: ",
        "duplicate objective id 'first-objective'",
    ),
    "duplicate yaml key": (
        "title: Test Programme\n",
        "title: Test Programme\nkind: platform-track\n",
        f"{TEST_FILE}:6: kind: ",
        "duplicate key (first given on line 4)",
    ),
    "duplicate nested yaml key": (
        "    text: Do the third thing.\n",
        "    text: Do the third thing.\n    text: Again.\n",
        f"{TEST_FILE}:22: modules[1].objectives[0].text: ",
        "duplicate key (first given on line 21)",
    ),
    "wrong schema": (
        "schema: lms/programme/1\n",
        "schema: lms/programme/9\n",
        f"{TEST_FILE}:1: schema: ",
        "must be one of: lms/programme/1",
    ),
    "bad kind": (
        "kind: curriculum\n",
        "kind: webinar\n",
        f"{TEST_FILE}:4: kind: ",
        "'curriculum' or 'platform-track'",
    ),
    "id not a slug": (
        "  - id: third-objective\n",
        "  - id: Third Objective\n",
        f"{TEST_FILE}:20: modules[1].objectives[0].id: ",
        "should match pattern",
    ),
    "id taken by the framework": (
        "id: test-programme\n",
        "id: adoption-framework\n",
        f"{TEST_FILE}:2: id: ",
        "'adoption-framework' is already used by curricula/framework.yaml",
    ),
}


@pytest.mark.parametrize("case", BROKEN)
def test_broken_file_is_named_with_line_and_field(app: Flask, tmp_path: Path, case: str) -> None:
    old, new, where, message = BROKEN[case]
    root = small_tree(tmp_path)
    edit(root / "programmes" / "test-programme.yaml", old, new)
    result = cli(app, "curricula", "validate", str(root))
    assert result.exit_code != 0
    lines = [line for line in result.stderr.splitlines() if line.startswith(where)]
    assert lines, result.stderr
    assert message in lines[0]
    # Only the broken file is blamed.
    blamed = {line.split(":")[0] for line in result.stderr.splitlines() if ".yaml:" in line}
    assert blamed == {TEST_FILE}


def test_programme_id_used_by_two_files(app: Flask, tmp_path: Path) -> None:
    root = copy_curricula(tmp_path)
    edit(
        root / "programmes" / "test-programme.yaml",
        "id: test-programme\n",
        "id: ai-machine-learning\n",
    )
    result = cli(app, "curricula", "validate", str(root))
    assert result.exit_code != 0
    assert (
        f"{TEST_FILE}:2: id: 'ai-machine-learning' is already used by "
        "curricula/programmes/ai-machine-learning"
    ) in result.stderr


def test_figures_version_must_be_semantic(app: Flask, tmp_path: Path) -> None:
    root = copy_curricula(tmp_path, with_test_programme=False)
    figures = root / "figures.yaml"
    lines = figures.read_text().splitlines()
    current = next(text for text in lines if text.startswith("version: "))
    line = lines.index(current) + 1
    edit(figures, current + "\n", "version: one\n")
    result = cli(app, "curricula", "validate", str(root))
    assert result.exit_code != 0
    assert f"curricula/figures.yaml:{line}: version: " in result.stderr


def test_several_problems_are_all_reported(app: Flask, tmp_path: Path) -> None:
    root = copy_curricula(tmp_path)
    edit(root / "programmes" / "test-programme.yaml", "version: 1.0.0\n", "version: v1\n")
    edit(root / "framework.yaml", "  window_end_day: 30\n", "  window_end_day: -30\n")
    result = cli(app, "curricula", "validate", str(root))
    assert result.exit_code != 0
    assert f"{TEST_FILE}:3: version: " in result.stderr
    assert "curricula/framework.yaml:" in result.stderr
    assert "stages[0].window_end_day: " in result.stderr
    assert f"2 problem(s) in {FILES + 1} file(s)." in result.stderr


def test_a_folder_without_curricula_is_refused(app: Flask, tmp_path: Path) -> None:
    result = cli(app, "curricula", "validate", str(tmp_path))
    assert result.exit_code != 0
    assert "holds no curriculum files" in result.stderr


# --- Loading ---------------------------------------------------------------------------------


def test_load_creates_every_document(app: Flask) -> None:
    result = cli(app, "curricula", "load")
    assert result.exit_code == 0, result.output
    assert f"{FILES} created, 0 updated, 0 unchanged." in result.output
    with app.app_context():
        slugs = sorted(db.session.scalars(select(Programme.slug)))
        stages = list(db.session.scalars(select(StageRow.id).order_by(StageRow.position)))
    assert slugs == REPOSITORY_PROGRAMMES
    assert stages == ["initial", "proficiency", "expert", "innovation", "partnership"]
    assert count(app, Module) == 8 + 7 + 8 + 7 + 5 + 5 + 4 + 5 + 5
    assert count(app, ContentVersion) == FILES


def test_one_broken_file_loads_nothing(app: Flask, tmp_path: Path) -> None:
    root = copy_curricula(tmp_path)
    edit(root / "programmes" / "test-programme.yaml", "  title: First Module\n", "  titel: X\n")
    result = cli(app, "curricula", "load", str(root))
    assert result.exit_code != 0
    assert f"{TEST_FILE}:10: modules[0].titel: " in result.stderr
    assert "Nothing was loaded." in result.stderr
    assert count(app, Programme) == 0
    assert count(app, Module) == 0
    assert count(app, StageRow) == 0
    assert count(app, ContentVersion) == 0


def test_a_good_change_beside_a_broken_file_is_not_applied(app: Flask, tmp_path: Path) -> None:
    root = copy_curricula(tmp_path)
    assert cli(app, "curricula", "load", str(root)).exit_code == 0
    ai = root / "programmes" / "ai-machine-learning" / "programme.yaml"
    current = next(text for text in ai.read_text().splitlines() if text.startswith("version: "))
    edit(ai, current, "version: 9.0.0")
    edit(
        ai,
        "title: AI and Machine Learning Integration\n",
        "title: AI and ML Integration\n",
    )
    edit(root / "programmes" / "test-programme.yaml", "kind: curriculum\n", "kind: webinar\n")
    result = cli(app, "curricula", "load", str(root))
    assert result.exit_code != 0
    assert "Nothing was loaded." in result.stderr
    assert programme_snapshot(app, "ai-machine-learning")["title"] == (
        "AI and Machine Learning Integration"
    )
    assert count(app, ContentVersion) == FILES + 1


def test_a_database_error_midway_leaves_nothing_behind(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = curricula_loader._load_programme
    calls = []

    def failing_on_the_third(document, content_hash):
        calls.append(document.id)
        if len(calls) == 3:
            raise RuntimeError("the database went away")
        return real(document, content_hash)

    monkeypatch.setattr(curricula_loader, "_load_programme", failing_on_the_third)
    result = cli(app, "curricula", "load")
    assert result.exit_code != 0
    assert isinstance(result.exception, RuntimeError)
    assert len(calls) == 3
    assert count(app, Programme) == 0
    assert count(app, StageRow) == 0
    assert count(app, FrameworkDocument) == 0
    assert count(app, ContentVersion) == 0


def test_loading_the_same_tree_again_changes_nothing(app: Flask, tmp_path: Path) -> None:
    root = copy_curricula(tmp_path)
    assert cli(app, "curricula", "load", str(root)).exit_code == 0

    def state():
        with app.app_context():
            return (
                db.session.scalar(select(func.count(ContentVersion.id))),
                sorted(db.session.execute(select(Programme.slug, Programme.loaded_at)).all()),
                list(db.session.scalars(select(FrameworkDocument.loaded_at))),
                sorted(db.session.execute(select(Module.id, Module.position)).all()),
            )

    before = state()
    result = cli(app, "curricula", "load", str(root))
    assert result.exit_code == 0, result.output
    assert f"0 created, 0 updated, {FILES + 1} unchanged." in result.output
    unchanged = {line.split()[1] for line in result.output.splitlines() if "unchanged  " in line}
    assert unchanged == {
        *REPOSITORY_PROGRAMMES,
        "test-programme",
        "adoption-framework",
        "figures",
        "features",
        "equivalences",
        "glossary",
    }
    assert state() == before
    assert before[0] == FILES + 1


def test_changed_file_without_a_new_version_is_refused(app: Flask, tmp_path: Path) -> None:
    root = small_tree(tmp_path)
    assert cli(app, "curricula", "load", str(root)).exit_code == 0
    edit(root / "programmes" / "test-programme.yaml", "Do the first thing.", "Do it first.")
    result = cli(app, "curricula", "load", str(root))
    assert result.exit_code != 0
    assert f"{TEST_FILE}:3: version: the content changed since version 1.0.0" in result.stderr
    assert "Nothing was loaded." in result.stderr
    # Validation alone does not know what was loaded, so it passes.
    assert cli(app, "curricula", "validate", str(root)).exit_code == 0
    objectives = programme_snapshot(app, "test-programme")["objectives"]
    assert objectives["first-objective"][1] == "Do the first thing."


def test_a_lower_version_is_refused_too(app: Flask, tmp_path: Path) -> None:
    root = small_tree(tmp_path)
    path = root / "programmes" / "test-programme.yaml"
    edit(path, "version: 1.0.0", "version: 1.2.0")
    assert cli(app, "curricula", "load", str(root)).exit_code == 0
    edit(path, "version: 1.2.0", "version: 1.1.9")
    edit(path, "title: Test Programme\n", "title: Renamed Programme\n")
    result = cli(app, "curricula", "load", str(root))
    assert result.exit_code != 0
    assert f"{TEST_FILE}:3: version: the content changed since version 1.2.0" in result.stderr


def test_new_version_updates_by_stable_id(app: Flask, tmp_path: Path) -> None:
    root = small_tree(tmp_path)
    path = root / "programmes" / "test-programme.yaml"
    assert cli(app, "curricula", "load", str(root)).exit_code == 0
    before = programme_snapshot(app, "test-programme")

    # Retitle the first module and put the second module first.
    head, first, second = (
        TEST_PROGRAMME[: TEST_PROGRAMME.index("- id: first-module")],
        TEST_PROGRAMME[
            TEST_PROGRAMME.index("- id: first-module") : TEST_PROGRAMME.index("- id: second-module")
        ],
        TEST_PROGRAMME[TEST_PROGRAMME.index("- id: second-module") :],
    )
    path.write_text(
        head.replace("version: 1.0.0", "version: 1.1.0")
        + second
        + first.replace("title: First Module", "title: First Module, Retitled")
    )
    result = cli(app, "curricula", "load", str(root))
    assert result.exit_code == 0, result.output
    assert "  updated  test-programme" in result.output
    assert "0 created, 1 updated, 2 unchanged." in result.output
    after = programme_snapshot(app, "test-programme")

    assert after["id"] == before["id"]
    assert after["version"] == "1.1.0"
    assert after["modules"]["first-module"][0] == before["modules"]["first-module"][0]
    assert after["modules"]["second-module"][0] == before["modules"]["second-module"][0]
    assert after["modules"]["first-module"][1:3] == (2, "First Module, Retitled")
    assert after["modules"]["second-module"][1:3] == (1, "Second Module")
    assert {k: v[0] for k, v in after["objectives"].items()} == {
        k: v[0] for k, v in before["objectives"].items()
    }
    assert count(app, ContentVersion) == 4
    with app.app_context():
        history = list(
            db.session.scalars(
                select(ContentVersion.version)
                .where(ContentVersion.document == "test-programme")
                .order_by(ContentVersion.id)
            )
        )
    assert history == ["1.0.0", "1.1.0"]


def test_removed_module_and_objective_are_retired_not_deleted(
    app: Flask, client, users, tmp_path: Path
) -> None:
    root = small_tree(tmp_path)
    path = root / "programmes" / "test-programme.yaml"
    assert cli(app, "curricula", "load", str(root)).exit_code == 0
    login(client, "learner@example.com")
    page = client.get("/catalogue/test-programme").get_data(as_text=True)
    assert "Second Module" in page and "Do the second thing." in page
    before = programme_snapshot(app, "test-programme")
    rows = (count(app, Module), count(app, Objective))

    edit(path, "version: 1.0.0", "version: 2.0.0")
    edit(path, "  - id: second-objective\n    text: Do the second thing.\n", "")
    text = path.read_text()
    path.write_text(text[: text.index("- id: second-module")])
    result = cli(app, "curricula", "load", str(root))
    assert result.exit_code == 0, result.output

    after = programme_snapshot(app, "test-programme")
    assert after["modules"]["second-module"][0] == before["modules"]["second-module"][0]
    assert after["modules"]["second-module"][3] is True  # retired
    assert after["modules"]["first-module"][3] is False
    assert after["objectives"]["second-objective"][2] is True
    assert after["objectives"]["first-objective"][2] is False
    assert (count(app, Module), count(app, Objective)) == rows

    for url in ("/catalogue", "/catalogue/test-programme"):
        page = client.get(url).get_data(as_text=True)
        assert "First Module" in page and "Do the first thing." in page, url
        assert "Second Module" not in page, url
        assert "Do the second thing." not in page, url
        assert "Do the third thing." not in page, url

    # Putting them back brings the same rows back to life.
    path.write_text(TEST_PROGRAMME.replace("version: 1.0.0", "version: 2.1.0"))
    assert cli(app, "curricula", "load", str(root)).exit_code == 0
    again = programme_snapshot(app, "test-programme")
    assert again["modules"]["second-module"] == (
        before["modules"]["second-module"][0],
        2,
        "Second Module",
        False,
    )
    assert again["objectives"] == before["objectives"]
    assert "Do the second thing." in client.get("/catalogue/test-programme").get_data(as_text=True)


def test_learner_records_survive_a_new_version(app: Flask, tmp_path: Path) -> None:
    root = small_tree(tmp_path)
    path = root / "programmes" / "test-programme.yaml"
    assert cli(app, "curricula", "load", str(root)).exit_code == 0
    with app.app_context():
        from datetime import date

        manager = make_user("manager@example.com", ("manager",))
        learner = make_user("learner@example.com")
        programme = db.session.scalar(select(Programme).where(Programme.slug == "test-programme"))
        cohort = Cohort(name="Spring cohort", start_date=date(2025, 3, 3), manager_id=manager.id)
        cohort.programmes = [programme]
        db.session.add(cohort)
        db.session.flush()
        enrolment = Enrolment(
            user_id=learner.id,
            programme_id=programme.id,
            cohort_id=cohort.id,
            start_date=date(2025, 3, 3),
        )
        db.session.add(enrolment)
        db.session.commit()
        enrolment_id, programme_id = enrolment.id, programme.id

    path.write_text(
        TEST_PROGRAMME.replace("version: 1.0.0", "version: 2.0.0")
        .replace("title: Test Programme", "title: Test Programme, Second Edition")
        .replace("    text: Do the third thing.\n", "    text: Do the third thing well.\n")
    )
    result = cli(app, "curricula", "load", str(root))
    assert result.exit_code == 0, result.output
    with app.app_context():
        enrolment = db.session.get(Enrolment, enrolment_id)
        assert enrolment is not None
        assert enrolment.programme_id == programme_id
        assert enrolment.programme.title == "Test Programme, Second Edition"
        assert enrolment.cohort.name == "Spring cohort"
        assert [p.id for p in enrolment.cohort.programmes] == [programme_id]


def test_reverting_to_older_text_with_a_higher_version(app: Flask, tmp_path: Path) -> None:
    root = small_tree(tmp_path)
    path = root / "programmes" / "test-programme.yaml"
    assert cli(app, "curricula", "load", str(root)).exit_code == 0
    path.write_text(
        TEST_PROGRAMME.replace("version: 1.0.0", "version: 1.1.0").replace(
            "Do the first thing.", "Do the first thing, better."
        )
    )
    assert cli(app, "curricula", "load", str(root)).exit_code == 0
    assert programme_snapshot(app, "test-programme")["objectives"]["first-objective"][1] == (
        "Do the first thing, better."
    )

    # The old text under its old version is the past: refused.
    path.write_text(TEST_PROGRAMME)
    refused = cli(app, "curricula", "load", str(root))
    assert refused.exit_code != 0
    assert "since version 1.1.0" in refused.stderr

    # The old text under a new version is a revert: loaded.
    path.write_text(TEST_PROGRAMME.replace("version: 1.0.0", "version: 1.2.0"))
    result = cli(app, "curricula", "load", str(root))
    assert result.exit_code == 0, result.output
    assert "  updated  test-programme" in result.output
    snapshot = programme_snapshot(app, "test-programme")
    assert snapshot["version"] == "1.2.0"
    assert snapshot["objectives"]["first-objective"][1] == "Do the first thing."
    with app.app_context():
        versions = list(
            db.session.scalars(
                select(ContentVersion.version)
                .where(ContentVersion.document == "test-programme")
                .order_by(ContentVersion.id)
            )
        )
    assert versions == ["1.0.0", "1.1.0", "1.2.0"]


def test_changing_the_framework_renames_a_stage_in_place(app: Flask, tmp_path: Path) -> None:
    root = copy_curricula(tmp_path, with_test_programme=False)
    assert cli(app, "curricula", "load", str(root)).exit_code == 0
    framework = root / "framework.yaml"
    edit(framework, "version: 1.0.1", "version: 1.0.2")
    edit(framework, "  name: Expert Mastery\n", "  name: Expert Mastery Stage\n")
    result = cli(app, "curricula", "load", str(root))
    assert result.exit_code == 0, result.output
    assert "  updated  adoption-framework" in result.output
    with app.app_context():
        stages = db.session.execute(
            select(StageRow.id, StageRow.position, StageRow.name).order_by(StageRow.position)
        ).all()
    assert [tuple(s) for s in stages][2] == ("expert", 3, "Expert Mastery Stage")
    assert len(stages) == 5


def test_loader_in_an_app_context_reports_what_it_did(app: Flask, tmp_path: Path) -> None:
    root = copy_curricula(tmp_path)
    with app.app_context():
        report = load_curricula(root)
        assert report.ok and report.changed
        assert sorted(report.created) == sorted(
            [
                *REPOSITORY_PROGRAMMES,
                "test-programme",
                "adoption-framework",
                "figures",
                "features",
                "equivalences",
                "glossary",
            ]
        )
        db.session.commit()
        again = load_curricula(root)
        assert again.ok and not again.changed and len(again.unchanged) == FILES + 1


# --- Pages -----------------------------------------------------------------------------------


def test_catalogue_lists_every_programme(client, users, curricula) -> None:
    login(client, "learner@example.com")
    response = client.get("/catalogue")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    with client.application.app_context():
        programmes = list(db.session.scalars(select(Programme)))
    assert len(programmes) == 9
    for programme in programmes:
        assert str(escape(programme.title)) in page, programme.slug
        assert f'href="/catalogue/{programme.slug}"' in page
    assert "Strategic Alignment of Digital Marketing Management Systems" in page
    assert (
        "Standardize UTM parameter conventions across campaigns to ensure consistent "
        "attribution in analytics platforms."
    ) in page
    assert str(escape('Define what constitutes a "conversion" across departments')) in page


def test_programme_page(client, users, curricula) -> None:
    login(client, "learner@example.com")
    response = client.get("/catalogue/it-budget-allocation")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "IT Budget Allocation in Digital Marketing" in page
    assert "Scalability and Future-Proofing Investments" in page
    assert page.count('class="card" id="module-') == 8


def test_unknown_programme_is_not_found(client, users, curricula) -> None:
    login(client, "learner@example.com")
    response = client.get("/catalogue/no-such-programme")
    assert response.status_code == 404
    assert "There is no page at this address" in response.get_data(as_text=True)


def test_catalogue_before_any_load(client, users) -> None:
    login(client, "learner@example.com")
    page = client.get("/catalogue").get_data(as_text=True)
    assert page.count("None loaded.") == 2
    framework = client.get("/framework").get_data(as_text=True)
    assert "The framework is not loaded yet" in framework


def test_framework_page_shows_stages_and_procedures(client, users, curricula) -> None:
    login(client, "manager@example.com")
    response = client.get("/framework")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for stage in (
        "Initial Adoption",
        "Proficiency Development",
        "Expert Mastery",
        "Innovation Leadership",
        "Strategic Partnership",
    ):
        assert f'<th scope="row">{stage}</th>' in page
    assert "days 0–30" in page and "days 60–90" in page and "ongoing" in page
    for procedure in (
        "Campaign Creation and Launch Workflow",
        "Cross-Channel Coordination Workflow",
        "Executive Reporting Workflow",
        "Performance Optimization Workflow",
    ):
        assert f"<h3>{procedure}</h3>" in page
    assert "<strong>Root Cause Analysis:</strong>" in page
    assert "95% platform proficiency achievement within 60 days" in page


def test_html_in_a_curriculum_text_is_escaped(app: Flask, client, users, tmp_path: Path) -> None:
    root = tmp_path / "curricula"
    (root / "programmes").mkdir(parents=True)
    shutil.copy(CURRICULA / "framework.yaml", root)  # programmes place modules in its stages
    (root / "programmes" / "test-programme.yaml").write_text(
        TEST_PROGRAMME.replace("Do the first thing.", "'<script>alert(1)</script>'").replace(
            "title: Second Module", "title: <b>Bold</b> & Co"
        )
    )
    with app.app_context():
        report = load_curricula(root)
        assert report.ok, report.problems
        db.session.commit()
    login(client, "learner@example.com")
    for url in ("/catalogue", "/catalogue/test-programme"):
        page = client.get(url).get_data(as_text=True)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, url
        assert "<script>alert(1)" not in page, url
        assert "&lt;b&gt;Bold&lt;/b&gt; &amp; Co" in page, url


def test_catalogue_runs_a_bounded_number_of_queries(
    app: Flask, client, users, tmp_path: Path, count_queries
) -> None:
    root = tmp_path / "curricula"
    (root / "programmes").mkdir(parents=True)
    shutil.copy(CURRICULA / "framework.yaml", root)  # programmes place modules in its stages
    for slug in ("ai-machine-learning", "it-budget-allocation"):
        shutil.copytree(CURRICULA / "programmes" / slug, root / "programmes" / slug)
    with app.app_context():
        assert load_curricula(root).ok
        db.session.commit()
    login(client, "learner@example.com")
    client.get("/catalogue")  # warm up: anything a first request loads once

    with count_queries() as few:
        page = client.get("/catalogue").get_data(as_text=True)
    assert page.count('class="card programme"') == 2

    with app.app_context():
        assert load_curricula(CURRICULA).ok
        db.session.commit()
    with count_queries() as many:
        page = client.get("/catalogue").get_data(as_text=True)
    assert page.count('class="card programme"') == 9
    assert len(many) == len(few)
    assert len(many) <= 8, many


def test_programme_page_runs_a_bounded_number_of_queries(
    client, users, curricula, count_queries
) -> None:
    login(client, "learner@example.com")
    counts = []
    for slug in ("cross-domain-integration", "integrated-marketing-systems"):
        with count_queries() as statements:
            assert client.get(f"/catalogue/{slug}").status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1] <= 8


def test_catalogue_needs_a_signed_in_user(client, curricula) -> None:
    for url in ("/catalogue", "/catalogue/it-budget-allocation", "/framework"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]


# --- Figures ---------------------------------------------------------------------------------

SEED_TARGETS = {
    "proficiency-within-60-days": (0.95, "ratio"),
    "proficiency-horizon-days": (60, "days"),
    "feature-adoption-rate": (0.95, "ratio"),
    "productivity-improvement": (0.40, "ratio"),
    "manual-process-reduction": (0.60, "ratio"),
    "roi-improvement": (0.25, "ratio"),
    "cross-domain-integration": (0.80, "ratio"),
    "decision-quality": (0.30, "ratio"),
    "forecast-variance-threshold": (0.15, "ratio"),
    "cac-ltv-pause-ratio": (0.30, "ratio"),
    "lead-response-sla-minutes": (5, "minutes"),
    "creative-fatigue-ctr-decline": (0.20, "ratio"),
    "vendor-cfo-signoff-spend": (50_000, "currency"),
    "contingency-reserve-min": (0.10, "ratio"),
    "contingency-reserve-max": (0.15, "ratio"),
    "stage-initial-end-day": (30, "days"),
    "stage-proficiency-end-day": (60, "days"),
    "stage-expert-end-day": (90, "days"),
}


@pytest.mark.parametrize(("key", "expected"), SEED_TARGETS.items())
def test_figures_hold_the_seed_targets(ctx, key: str, expected: tuple[float, str]) -> None:
    value, unit = expected
    assert figure(key) == pytest.approx(value)
    assert target(key).unit == unit
    assert target(key).source.startswith(("004_", "001_", "002_"))


def test_an_unknown_figure_is_an_error(ctx) -> None:
    with pytest.raises(KeyError, match="no-such-figure"):
        figure("no-such-figure")


def test_figures_need_an_app_context() -> None:
    with pytest.raises(RuntimeError, match="application context"):
        figure("feature-adoption-rate")


def test_stage_windows_agree_with_the_figures(app: Flask, curricula) -> None:
    with app.app_context():
        stages = {s.id: s for s in db.session.scalars(select(StageRow))}
        assert stages["initial"].window_end_day == figure("stage-initial-end-day")
        assert stages["proficiency"].window_end_day == figure("stage-proficiency-end-day")
        assert stages["expert"].window_end_day == figure("stage-expert-end-day")
        assert not stages["innovation"].is_windowed and not stages["partnership"].is_windowed


def test_objective_rows_match_the_files(app: Flask, curricula) -> None:
    with app.app_context():
        objectives = db.session.scalar(select(func.count(Objective.id)))
        retired = db.session.scalar(
            select(func.count(Objective.id)).where(Objective.retired_at.is_not(None))
        )
    # 30 modules of six objectives in the four curricula, plus the platform tracks'.
    assert objectives > 30 * 6
    assert retired == 0
