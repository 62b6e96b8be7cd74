"""Every content row id a curriculum load creates, by stable path, and where learner records
point: the before-and-after of a change of file layout (tests/test_curricula_layout.py).

`python -m tests.support.content_ids OUT.json` loads the repository's curricula into a fresh
SQLite database, seeds the demo organisation and writes the snapshot.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import select

from lms.assessments.models import Assessment, Attempt, AttemptItem, Question, QuestionVersion
from lms.certificates.models import Certificate
from lms.curricula.models import LessonSection, Module, Objective, Programme
from lms.demonstrations.models import DemonstrationTask, Grade, Submission
from lms.extensions import db
from lms.learning.models import ModuleCompletion, SectionProgress


def content_ids() -> dict[str, dict[str, int]]:
    """Row id of every programme, module, objective, section, assessment, question, question
    version and demonstration, keyed by a path of slugs."""
    programmes = {p.id: p.slug for p in db.session.scalars(select(Programme))}
    modules = {
        m.id: (programmes[m.programme_id], m.slug) for m in db.session.scalars(select(Module))
    }
    assessments = {
        a.id: (programmes[a.programme_id], a.slug) for a in db.session.scalars(select(Assessment))
    }
    questions = {
        q.id: (*assessments[q.assessment_id], q.slug) for q in db.session.scalars(select(Question))
    }
    return {
        "programmes": {slug: pid for pid, slug in programmes.items()},
        "modules": {"/".join(path): mid for mid, path in modules.items()},
        "objectives": {
            "/".join((*modules[o.module_id], o.slug)): o.id
            for o in db.session.scalars(select(Objective))
        },
        "sections": {
            "/".join((*modules[s.module_id], s.slug)): s.id
            for s in db.session.scalars(select(LessonSection))
        },
        "assessments": {"/".join(path): aid for aid, path in assessments.items()},
        "questions": {"/".join(path): qid for qid, path in questions.items()},
        "question_versions": {
            "/".join((*questions[v.question_id], str(v.number))): v.id
            for v in db.session.scalars(select(QuestionVersion))
        },
        "demonstrations": {
            f"{programmes[t.programme_id]}/{t.slug}": t.id
            for t in db.session.scalars(select(DemonstrationTask))
        },
    }


def learner_records() -> dict[str, list[Any]]:
    """What each learner record points at, as content paths: attempts and their items, section
    progress, completions, submissions and grades, certificates."""
    ids = content_ids()
    by_id = {kind: {v: k for k, v in table.items()} for kind, table in ids.items()}
    return {
        "attempts": sorted(
            (a.id, by_id["assessments"][a.assessment_id])
            for a in db.session.scalars(select(Attempt))
        ),
        "attempt_items": sorted(
            (i.id, by_id["question_versions"][i.question_version_id])
            for i in db.session.scalars(select(AttemptItem))
        ),
        "section_progress": sorted(
            (p.id, by_id["sections"][p.section_id])
            for p in db.session.scalars(select(SectionProgress))
        ),
        "module_completions": sorted(
            (c.id, by_id["modules"][c.module_id])
            for c in db.session.scalars(select(ModuleCompletion))
        ),
        "submissions": sorted(
            (s.id, by_id["demonstrations"][s.task_id])
            for s in db.session.scalars(select(Submission))
        ),
        "grades": sorted((g.id, g.submission_id) for g in db.session.scalars(select(Grade))),
        "certificates": sorted(
            (c.id, by_id["programmes"][c.programme_id], c.stage_id)
            for c in db.session.scalars(select(Certificate))
        ),
    }


def _main(out: Path) -> None:
    from lms import create_app
    from lms.curricula.loader import load_curricula
    from lms.demo.seed import seed

    root = Path(__file__).resolve().parents[2]
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "snapshot",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/snapshot.sqlite3",
                "LMS_FAST_PASSWORD_HASH": True,
                "LMS_CURRICULA_PATH": str(root / "curricula"),
            }
        )
        with app.app_context():
            db.create_all()
            report = load_curricula(root / "curricula")
            assert report.ok, report.problems
            db.session.commit()
            seed("demo")
            db.session.commit()
            snapshot = {"content": content_ids(), "records": learner_records()}
            db.engine.dispose()
    out.write_text(json.dumps(snapshot, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    _main(Path(sys.argv[1]))
