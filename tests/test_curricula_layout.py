"""The authoring layout: a programme is a folder, each module a Markdown lesson with a question
bank beside it. Moving to it changed no row id and no learner record; errors name the file an
author opens, with its line and field; sections can be written once and included elsewhere;
`curricula load --dry-run` says what a load would change and writes nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from lms.curricula.loader import load_curricula
from lms.curricula.models import ContentVersion, LessonSection, Module
from lms.extensions import db
from tests.conftest import CURRICULA
from tests.support.content_ids import content_ids, learner_records

DATA = Path(__file__).resolve().parent / "data"
BEFORE = DATA / "curricula-before-layout"
FIXTURE = json.loads((DATA / "content-ids-before-layout.json").read_text())
PROGRAMME = "integrated-marketing-systems"


def _load(path: Path) -> None:
    report = load_curricula(path)
    assert report.ok, report.problems
    db.session.commit()


def _unchanged(before: dict[str, dict[str, int]], after: dict[str, dict[str, int]]) -> None:
    for kind, ids in before.items():
        moved = {path: (ids[path], after[kind].get(path)) for path in ids}
        moved = {path: pair for path, pair in moved.items() if pair[0] != pair[1]}
        assert moved == {}, f"{kind} whose row id changed: {moved}"


def before_layout(tmp_path: Path) -> Path:
    """Today's copy of the files as they were before the move. Pre- and post-assessments now
    never show their keys (a rule the old files predate), so the copy says so too."""
    root = tmp_path / "before"
    shutil.copytree(BEFORE, root)
    path = root / "programmes" / f"{PROGRAMME}.yaml"
    text = path.read_text(encoding="utf-8")
    # Only the pair sets `attempts_allowed: 1` with this feedback (two places).
    old = "  attempts_allowed: 1\n  feedback: after-last-attempt\n"
    assert text.count(old) == 2
    path.write_text(
        text.replace(old, "  attempts_allowed: 1\n  feedback: never\n")
        if _never_exists()
        else text,
        encoding="utf-8",
    )
    return root


def _never_exists() -> bool:
    from lms.curricula.schema import Assessment

    return "never" in str(Assessment.model_fields["feedback"].annotation)


#: Rows a fresh load numbers in file order, and that content written since the move adds to
#: (questions tagged to objectives, the rewritten pre/post pair, the knowledge checks of modules
#: 3-8, loaded before the pair): in a fresh database their ids
#: shift. That a load over existing data keeps every id is the next test's check.
GROWN_SINCE_THE_MOVE = {"questions", "question_versions", "assessments"}


def test_a_fresh_load_gives_every_content_row_the_id_it_had_before_the_move(
    tmp_path: Path,
) -> None:
    """In a database of its own, as the fixture was taken: ids start from 1 on both kinds."""
    from contextlib import nullcontext

    from lms import create_app
    from tests.conftest import config_for_tests, database_kind
    from tests.support import postgres

    if database_kind() == "postgresql":
        database = postgres.fresh_database("lms_layout_ids")
    else:
        database = nullcontext(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    with database as url:
        application = create_app(config_for_tests(url))
        with application.app_context():
            db.create_all()
            _load(CURRICULA)
            before = {k: v for k, v in FIXTURE["content"].items() if k not in GROWN_SINCE_THE_MOVE}
            _unchanged(before, content_ids())
            db.session.remove()
            db.engine.dispose()


def test_loading_the_new_layout_over_the_old_keeps_every_id_and_record(
    app: Flask, tmp_path: Path
) -> None:
    from lms.demo.seed import seed

    with app.app_context():
        _load(before_layout(tmp_path))
        seed("demo")
        db.session.commit()
        content, records = content_ids(), learner_records()
        assert records["attempts"] and records["grades"] and records["certificates"]
        _load(CURRICULA)
        _unchanged(content, content_ids())
        assert learner_records() == records


def test_the_two_written_modules_assemble_from_their_files(app: Flask) -> None:
    with app.app_context():
        _load(CURRICULA)
        modules = {
            m.slug: m
            for m in db.session.scalars(
                select(Module).where(
                    Module.slug.in_(["strategic-alignment", "data-governance-compliance"])
                )
            )
        }
        for module in modules.values():
            sections = [s for s in module.sections if s.retired_at is None]
            assert len(sections) == 6
            assert module.estimated_minutes and module.estimated_minutes >= 10
            # Each section teaches the objective it is named after.
            assert all(s.objectives == [s.slug] for s in sections)
            assert {s.slug for s in sections} == {o.slug for o in module.objectives}


# --- Errors name the file, line and field ------------------------------------------------------


def programme_copy(tmp_path: Path) -> Path:
    root = tmp_path / "curricula"
    (root / "programmes").mkdir(parents=True)
    shutil.copy(CURRICULA / "framework.yaml", root)
    shutil.copy(CURRICULA / "figures.yaml", root)
    shutil.copytree(CURRICULA / "programmes" / PROGRAMME, root / "programmes" / PROGRAMME)
    return root


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not in {path} exactly once"
    path.write_text(text.replace(old, new), encoding="utf-8")


def line_of(path: Path, text: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, 1) if text in line)


def validate(app: Flask, root: Path) -> str:
    result = app.test_cli_runner().invoke(args=["curricula", "validate", str(root)])
    assert result.exit_code == 1, result.output
    return result.stderr


FOLDER = f"curricula/programmes/{PROGRAMME}"
LESSON = f"{FOLDER}/modules/strategic-alignment.md"
BANK = f"{FOLDER}/modules/strategic-alignment.questions.yaml"


def test_a_misspelt_front_matter_field_names_the_lesson_file_and_line(
    app: Flask, tmp_path: Path
) -> None:
    root = programme_copy(tmp_path)
    lesson = root / "programmes" / PROGRAMME / "modules" / "strategic-alignment.md"
    edit(lesson, "stage: initial\n", "stagе: initial\n")  # a Cyrillic e
    line = line_of(lesson, "stagе: initial")
    errors = validate(app, root)
    assert f"{LESSON}:{line}: modules[0].stagе: is not a known field" in errors


def test_a_bad_question_id_names_the_bank_file_and_line(app: Flask, tmp_path: Path) -> None:
    root = programme_copy(tmp_path)
    bank = root / "programmes" / PROGRAMME / "modules" / "strategic-alignment.questions.yaml"
    text = bank.read_text(encoding="utf-8")
    assert text.startswith("id: strategic-alignment-check\n")
    edit(bank, "- id: mql-target-met-pipeline-short\n", "- id: Not A Slug\n")
    line = line_of(bank, "- id: Not A Slug")
    errors = validate(app, root)
    assert f"{BANK}:{line}: modules[0].assessment.questions[0].id:" in errors


def test_a_section_heading_without_an_id_names_its_line(app: Flask, tmp_path: Path) -> None:
    root = programme_copy(tmp_path)
    lesson = root / "programmes" / PROGRAMME / "modules" / "strategic-alignment.md"
    edit(
        lesson,
        "## Choosing KPIs that sales, marketing and finance all sign {#cross-functional-kpis}",
        "## Choosing KPIs that sales, marketing and finance all sign",
    )
    line = line_of(lesson, "## Choosing KPIs that sales")
    errors = validate(app, root)
    assert f"{LESSON}:{line}: section: a section heading needs a stable id" in errors


def test_a_section_naming_an_unknown_objective_is_refused(app: Flask, tmp_path: Path) -> None:
    root = programme_copy(tmp_path)
    lesson = root / "programmes" / PROGRAMME / "modules" / "strategic-alignment.md"
    edit(lesson, "{#cross-functional-kpis}", '{#cross-functional-kpis objectives="kpis-xyz"}')
    line = line_of(lesson, "{#cross-functional-kpis")
    errors = validate(app, root)
    assert f"{LESSON}:{line}: modules[0].lesson[0].objectives[0]: no objective 'kpis-xyz'" in errors


def test_a_module_listed_without_its_file_and_a_stray_file_are_named(
    app: Flask, tmp_path: Path
) -> None:
    root = programme_copy(tmp_path)
    modules = root / "programmes" / PROGRAMME / "modules"
    (modules / "risk-business-continuity.md").rename(modules / "risk-continuity.md")
    errors = validate(app, root)
    assert f"no file {FOLDER}/modules/risk-business-continuity.md for this module" in errors
    assert f"{FOLDER}/modules/risk-continuity.md: is not a module listed" in errors


def test_a_broken_folder_loads_nothing(app: Flask, tmp_path: Path) -> None:
    root = programme_copy(tmp_path)
    edit(
        root / "programmes" / PROGRAMME / "modules" / "data-governance-compliance.md",
        "stage: initial\n",
        "stage: someday\n",
    )
    with app.app_context():
        report = load_curricula(root)
        assert not report.ok
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(Module)) == 0


# --- Sections written once, shown in two modules ------------------------------------------------


def test_a_section_included_from_another_module_shows_its_text(app: Flask, tmp_path: Path) -> None:
    root = programme_copy(tmp_path)
    modules = root / "programmes" / PROGRAMME / "modules"
    lesson = modules / "measurement-attribution.md"
    lesson.write_text(
        lesson.read_text(encoding="utf-8") + '\n## {#kpi-recap objectives="conversion-definition" '
        "include=integrated-marketing-systems/strategic-alignment/cross-functional-kpis}\n",
        encoding="utf-8",
    )
    with app.app_context():
        _load(root)
        sections = {(s.module.slug, s.slug): s for s in db.session.scalars(select(LessonSection))}
        original = sections[("strategic-alignment", "cross-functional-kpis")]
        shown = sections[("measurement-attribution", "kpi-recap")]
        assert (shown.title, shown.body) == (original.title, original.body)
        assert (
            shown.included_from == "integrated-marketing-systems/strategic-alignment/"
            "cross-functional-kpis"
        )
        assert shown.objectives == ["conversion-definition"]


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("integrated-marketing-systems/strategic-alignment/no-such-section", "no such section"),
        ("strategic-alignment/cross-functional-kpis", "names programme-id/module-id/section-id"),
    ],
)
def test_an_include_of_nothing_is_refused_at_its_heading(
    app: Flask, tmp_path: Path, reference: str, message: str
) -> None:
    root = programme_copy(tmp_path)
    lesson = root / "programmes" / PROGRAMME / "modules" / "measurement-attribution.md"
    lesson.write_text(
        lesson.read_text(encoding="utf-8") + f"\n## {{#kpi-recap include={reference}}}\n",
        encoding="utf-8",
    )
    line = line_of(lesson, "{#kpi-recap include=")
    errors = validate(app, root)
    assert f"{FOLDER}/modules/measurement-attribution.md:{line}: modules[4].lesson[6]:" in errors
    assert message in errors


# --- Dry run ------------------------------------------------------------------------------------


def test_dry_run_prints_the_changes_and_writes_nothing(app: Flask, tmp_path: Path) -> None:
    root = programme_copy(tmp_path)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["curricula", "load", str(root)]).exit_code == 0
    folder = root / "programmes" / PROGRAMME
    edit(folder / "programme.yaml", "version: ", "version: 9")  # 1.4.0 -> 91.4.0
    edit(
        folder / "modules" / "strategic-alignment.md",
        "Marketing automation produces activity",
        "Marketing automation produces a great deal of activity",
    )
    edit(
        folder / "modules" / "strategic-alignment.questions.yaml",
        "What should the marketing operations lead propose for next quarter's KPIs?",
        "Which KPIs should the marketing operations lead propose for next quarter?",
    )
    with app.app_context():
        versions = db.session.scalar(select(func.count()).select_from(ContentVersion))
    result = runner.invoke(args=["curricula", "load", "--dry-run", str(root)])
    assert result.exit_code == 0, result.output
    assert f"section {PROGRAMME}/strategic-alignment#cross-functional-kpis: updated" in (
        result.output
    )
    assert (
        f"question {PROGRAMME}/strategic-alignment-check/mql-target-met-pipeline-short: "
        "new version 2"
    ) in result.output
    assert "Dry run: nothing was written." in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ContentVersion)) == versions
        body = db.session.scalar(
            select(LessonSection.body).where(LessonSection.slug == "cross-functional-kpis")
        )
        assert "a great deal of activity" not in body
    # The same load for real.
    assert runner.invoke(args=["curricula", "load", str(root)]).exit_code == 0
    with app.app_context():
        body = db.session.scalar(
            select(LessonSection.body).where(LessonSection.slug == "cross-functional-kpis")
        )
        assert "a great deal of activity" in body


def test_a_lesson_table_scrolls_in_its_own_box(client, users, curricula) -> None:
    """On a phone a wide lesson table scrolls inside its box instead of widening the page."""
    from tests.conftest import login

    login(client, "learner@example.com")
    page = client.get(f"/learn/{PROGRAMME}/strategic-alignment").get_data(as_text=True)
    tables = page.count("<table>")
    assert tables >= 5
    assert page.count('<div class="table-wrap" tabindex="0"><table>') == tables
