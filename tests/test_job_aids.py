"""Job aids: templates a learner downloads to produce an objective's artefact, kept as files in
the programme folder's job-aids/, listed on the module page and beside the section they serve."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from tests.conftest import login
from tests.test_curricula import cli, copy_curricula, edit

PROGRAMME = "integrated-marketing-systems"
MODULE = f"/learn/{PROGRAMME}/strategic-alignment"
FOLDER = f"curricula/programmes/{PROGRAMME}"


def test_a_learner_downloads_a_template(client, users, curricula) -> None:
    login(client, "learner@example.com")
    page = client.get(MODULE).get_data(as_text=True)
    assert "Templates to download" in page
    href = f"{MODULE}/job-aids/kpi-definition-card"
    assert f'href="{href}" download>KPI definition card</a>' in page
    assert "Template for this decision:" in page
    response = client.get(href)
    assert response.status_code == 200
    assert response.mimetype == "text/markdown"
    assert (
        response.headers["Content-Disposition"] == 'attachment; filename="kpi-definition-card.md"'
    )
    assert "# KPI definition card" in response.get_data(as_text=True)
    csv = client.get(f"/learn/{PROGRAMME}/data-governance-compliance/job-aids/retention-schedule")
    assert csv.mimetype == "text/csv"
    assert csv.get_data(as_text=True).startswith("data category,examples,purpose it serves")


def test_an_unknown_template_is_not_found_and_visitors_sign_in(client, users, curricula) -> None:
    assert client.get(f"{MODULE}/job-aids/kpi-definition-card").status_code == 302
    login(client, "learner@example.com")
    assert client.get(f"{MODULE}/job-aids/no-such-template").status_code == 404
    # A template of another module is not found under this one.
    assert client.get(f"{MODULE}/job-aids/retention-schedule").status_code == 404


def test_a_missing_or_unnamed_file_is_named(app: Flask, tmp_path: Path) -> None:
    root = copy_curricula(tmp_path, with_test_programme=False)
    folder = root / "programmes" / PROGRAMME
    (folder / "job-aids" / "kpi-definition-card.md").rename(folder / "job-aids" / "kpi-card.md")
    result = cli(app, "curricula", "validate", str(root))
    assert result.exit_code == 1
    errors = result.stderr
    assert f"no file {FOLDER}/job-aids/kpi-definition-card.md" in errors
    assert f"{FOLDER}/job-aids/kpi-card.md: is not named by any module's `job_aids:`" in errors
    assert "equivalences.yaml" not in errors  # the broken programme is reported once


def test_a_template_for_an_objective_the_module_lacks_is_refused(
    app: Flask, tmp_path: Path
) -> None:
    root = copy_curricula(tmp_path, with_test_programme=False)
    lesson = root / "programmes" / PROGRAMME / "modules" / "data-governance-compliance.md"
    edit(lesson, "objective: data-retention-policies}", "objective: data-retention}")
    result = cli(app, "curricula", "validate", str(root))
    assert result.exit_code == 1
    assert (
        f"{FOLDER}/modules/data-governance-compliance.md:" in result.stderr
        and "modules[1].job_aids[1].objective: no objective 'data-retention' in this module"
        in result.stderr
    )


def test_every_module_of_000_offers_a_template(app: Flask, curricula) -> None:
    from sqlalchemy import select

    from lms.curricula.models import Module, Programme
    from lms.extensions import db

    with app.app_context():
        modules = db.session.scalars(
            select(Module).join(Programme).where(Programme.slug == PROGRAMME)
        ).all()
        counts = {m.slug: len([a for a in m.job_aids if a.retired_at is None]) for m in modules}
    assert all(counts.values()), counts
    assert sum(counts.values()) >= 13
