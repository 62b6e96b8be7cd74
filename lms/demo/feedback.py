"""Demo content reports: a few learners flag a lesson section they read or a question of an
attempt they submitted; the older reports are closed by the admin with a note, so the queue has
open and closed rows at every size."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import insert, select

from lms.assessments.models import Assessment, Attempt, AttemptItem, Question, QuestionVersion
from lms.core.timeutil import as_utc, now_utc
from lms.curricula.models import LessonSection, Module, Programme
from lms.extensions import db
from lms.feedback.models import ContentReport
from lms.learning.models import SectionProgress

SECTION_COMMENTS = [
    "The worked example's totals do not add up: check the second step.",
    "This says the threshold is 80% but the assessment used 75%.",
    "The link between the second and third option is unclear; an example would help.",
    "The trade-off table lists the same cost twice.",
]
QUESTION_COMMENTS = [
    "I think option B is also right when the budget is fixed.",
    "The scenario gives two different figures for the same month.",
    "The explanation says the opposite of the option feedback.",
    "The tolerance seems too tight for a figure rounded in the scenario.",
]
RESOLUTIONS = [
    "Fixed in the next minor version: the figures now agree.",
    "No change: the key is right because the budget is not fixed in this scenario.",
    "Reworded the explanation so it matches the option feedback.",
]
#: One row in this many becomes a report: about fifteen at the demo size.
SECTION_EVERY = 25
ITEM_EVERY = 60


def simulate_content_reports(rng: random.Random, admin_id: int) -> None:
    now = now_utc()
    rows: list[dict] = []
    seen: set[tuple[int, str]] = set()

    def add(row: dict, when: datetime) -> None:
        if (row["user_id"], row["target"]) in seen:
            return  # one open report per learner and item, as the pages allow
        seen.add((row["user_id"], row["target"]))
        when = min(as_utc(when) + timedelta(minutes=rng.randint(1, 120)), now)
        row["created_at"] = when
        if (now - when).days > 7 and rng.random() < 0.6:
            row.update(
                status="closed",
                closed_at=min(when + timedelta(days=rng.randint(1, 6)), now),
                closed_by_id=admin_id,
                resolution=rng.choice(RESOLUTIONS),
            )
        else:
            row["status"] = "open"
        rows.append(row)

    # Sampled in SQL (every n-th row) so the larger sizes never load every progress row.
    for user_id, section_id, slug, module_id, programme_id, version, done_at in db.session.execute(
        select(
            SectionProgress.user_id,
            LessonSection.id,
            LessonSection.slug,
            Module.id,
            Programme.id,
            Programme.version,
            SectionProgress.completed_at,
        )
        .join(LessonSection, LessonSection.id == SectionProgress.section_id)
        .join(Module, Module.id == LessonSection.module_id)
        .join(Programme, Programme.id == Module.programme_id)
        .where(SectionProgress.id % SECTION_EVERY == 0)
        .order_by(SectionProgress.id)
    ):
        add(
            {
                "user_id": user_id,
                "kind": "section",
                "target": f"section:{section_id}",
                "programme_id": programme_id,
                "programme_version": version,
                "module_id": module_id,
                "section_id": section_id,
                "content_slug": slug,
                "comment": rng.choice(SECTION_COMMENTS),
            },
            done_at,
        )
    for (
        item_id,
        user_id,
        question_id,
        slug,
        number,
        programme_id,
        module_id,
        submitted_at,
    ) in db.session.execute(
        select(
            AttemptItem.id,
            Attempt.user_id,
            Question.id,
            Question.slug,
            QuestionVersion.number,
            Assessment.programme_id,
            Assessment.module_id,
            Attempt.submitted_at,
        )
        .join(Attempt, Attempt.id == AttemptItem.attempt_id)
        .join(QuestionVersion, QuestionVersion.id == AttemptItem.question_version_id)
        .join(Question, Question.id == QuestionVersion.question_id)
        .join(Assessment, Assessment.id == Question.assessment_id)
        .where(Attempt.status != "in-progress", AttemptItem.id % ITEM_EVERY == 0)
        .order_by(AttemptItem.id)
    ):
        add(
            {
                "user_id": user_id,
                "kind": "question",
                "target": f"question:{question_id}",
                "programme_id": programme_id,
                "programme_version": "",  # filled in below, from the programme
                "module_id": module_id,
                "question_id": question_id,
                "attempt_item_id": item_id,
                "question_version": number,
                "content_slug": slug,
                "comment": rng.choice(QUESTION_COMMENTS),
            },
            submitted_at or now,
        )
    versions = dict(db.session.execute(select(Programme.id, Programme.version)).all())
    # One bulk insert needs the same keys in every row.
    columns = [c.key for c in ContentReport.__table__.columns if c.key != "id"]
    for number, row in enumerate(rows):
        row["programme_version"] = row["programme_version"] or versions[row["programme_id"]]
        rows[number] = {column: row.get(column) for column in columns}
    if rows:
        db.session.execute(insert(ContentReport), rows)
