"""Demo demonstrations: each learner submits a stage's task once its modules are done, the
cohort's manager grades it a few days later (with a second manager moderating where the stage
is moderated); some need work and are resubmitted; the latest wait in the queue, a few of them
past the grading target. Rows go in with bulk inserts so the L dataset stays quick to seed."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text

from lms.curricula.models import Stage
from lms.demonstrations import files as evidence_files
from lms.demonstrations.models import DemonstrationTask, EvidenceFile, Grade, Submission
from lms.demonstrations.rubric import score
from lms.extensions import db
from lms.organisation.models import Cohort, Enrolment

#: Chance that a first submission is graded proficient, by pace.
PROFICIENT_CHANCE = {1.3: 0.9, 1.0: 0.8, 0.65: 0.6, 0.25: 0.5}

FEEDBACK = {
    True: [
        "A clear, repeatable piece of work: a colleague could run it from what you wrote. "
        "See the criterion comments for the one step that would make it exemplary.",
        "Well evidenced. The decisions at each step are stated with the figures behind them.",
    ],
    False: [
        "Good start, but the evidence does not yet show each step. Add the missing figures and "
        "say what you would do at each threshold, then resubmit.",
        "The set-up is there; the reasoning is not. Explain the choices the rubric asks about "
        "and attach the export of your configuration.",
    ],
}
COMMENTS = [
    "Meets the descriptor.",
    "Name the threshold and the action it triggers.",
    "Show the figure this is based on.",
    "Good: this is specific and checkable.",
]


def _moment(day: date, rng: random.Random) -> datetime:
    return datetime.combine(day, time(rng.randint(8, 17), rng.randint(0, 59)), tzinfo=UTC)


def _answers(task: DemonstrationTask, user_id: int) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for item in task.evidence:
        if item["kind"] == "checklist":
            answers[item["id"]] = list(range(len(item["items"])))
        elif item["kind"] == "text":
            words = max(item.get("min_words") or 50, 50)
            paragraphs = [
                f"I took “{task.title}” through each step in the sandbox and kept a note of the "
                "decision at each one, with the figure it rested on.",
                "The objective was set as one measurable target with a date, agreed with my "
                "manager before any build work started.",
                "Where the default settings did not fit the objective I changed them and wrote "
                "down why, so a colleague can repeat the set-up without asking me.",
                "Testing found two problems: a personalisation field that fell back to an empty "
                "greeting, and a tracking parameter missing from one link. Both were fixed and "
                "re-tested before launch.",
                "After launch I watch two figures. If either crosses the threshold I named, the "
                "action is already agreed: swap the variant, or pause and review the segment.",
                "What I would do differently next time: agree the thresholds with the team "
                "before the build, using the results of the last three comparable campaigns.",
            ]
            text_so_far: list[str] = []
            while sum(len(p.split()) for p in text_so_far) < words:
                text_so_far.append(paragraphs[len(text_so_far) % len(paragraphs)])
            answers[item["id"]] = "\n\n".join(text_so_far)
        elif item["kind"] == "link":
            answers[item["id"]] = f"https://sandbox.example.com/{task.slug}/{user_id}"
    return answers


def _attach_files(submissions: list[dict[str, Any]], tasks: dict[int, DemonstrationTask]) -> None:
    """Required file evidence gets a small CSV export: one stored file per task, which every
    demo submission refers to (as resubmissions do), so seeding writes a handful of files."""
    stored: dict[tuple[int, str], tuple[str, str, int]] = {}
    rows = []
    for submission in submissions:
        task = tasks[submission["task_id"]]
        for item in task.evidence:
            if item["kind"] != "file" or not item.get("required", True):
                continue
            key = (task.id, item["id"])
            if key not in stored:
                content = (
                    "step,owner,status,checked_on\n"
                    + "".join(
                        f"{n},{role},done,2026-11-0{n}\n"
                        for n, role in enumerate(["marketing ops", "sales ops", "analyst"], 1)
                    )
                ).encode()
                name, digest = evidence_files.store(content, evidence_files.TEXT)
                stored[key] = (name, digest, len(content))
            name, digest, size = stored[key]
            rows.append(
                {
                    "submission_id": submission["id"],
                    "user_id": submission["user_id"],
                    "evidence_id": item["id"],
                    "name": f"{task.slug}-export.csv",
                    "stored_name": name,
                    "content_type": evidence_files.TEXT.content_type,
                    "size": size,
                    "sha256": digest,
                    "uploaded_at": submission["updated_at"],
                }
            )
    if rows:
        db.session.execute(insert(EvidenceFile), rows)


def _levels(task: DemonstrationTask, proficient: bool, rng: random.Random) -> dict[str, int]:
    criteria = task.rubric["criteria"]
    while True:
        if proficient:
            levels = {c["id"]: rng.choice([2, 2, 2, 3]) for c in criteria}
        else:
            levels = {c["id"]: rng.choice([1, 1, 2, 0]) for c in criteria}
        if score(task.rubric, levels, task.proficient_at).proficient == proficient:
            return levels


def simulate_demonstrations(
    today: date,
    rng: random.Random,
    enrolments: list[Enrolment],
    pace_of: dict[int, float],
    due: dict[int, dict[int, float]],
    module_stage: dict[int, str],
    showcase_user_id: int,
) -> None:
    stages = {s.id: s for s in db.session.scalars(select(Stage))}
    tasks_of: dict[int, list[DemonstrationTask]] = defaultdict(list)
    for task in db.session.scalars(
        select(DemonstrationTask).where(DemonstrationTask.retired_at.is_(None))
    ):
        tasks_of[task.programme_id].append(task)
    managers = {cid: mid for cid, mid in db.session.execute(select(Cohort.id, Cohort.manager_id))}
    manager_list = sorted(set(managers.values()))
    submissions: list[dict[str, Any]] = []
    grades: list[dict[str, Any]] = []
    seen: set[tuple[int, int]] = set()
    next_id = (db.session.scalar(select(func.max(Submission.id))) or 0) + 1

    def add(row: dict[str, Any]) -> int:
        nonlocal next_id
        row["id"] = next_id
        next_id += 1
        submissions.append(row)
        return row["id"]

    def grade_row(task, submission_id, assessor, kind, levels, when, superseded=None):
        result = score(task.rubric, levels, task.proficient_at)
        grades.append(
            {
                "submission_id": submission_id,
                "assessor_id": assessor,
                "kind": kind,
                "levels": levels,
                "comments": {c: rng.choice(COMMENTS) for c in list(levels)[:2]},
                "feedback": rng.choice(FEEDBACK[result.proficient]),
                "points": result.points,
                "max_points": result.max_points,
                "proficient": result.proficient,
                "rubric": task.rubric,
                "proficient_at": task.proficient_at,
                "created_at": when,
                "superseded_at": superseded,
            }
        )

    for enrolment in enrolments:
        user = enrolment.user_id
        if (user, enrolment.programme_id) in seen:
            continue
        seen.add((user, enrolment.programme_id))
        pace = 1.0 if user == showcase_user_id else pace_of.get(user, 1.0)
        age = (today - enrolment.start_date).days
        programme_due = due.get(enrolment.programme_id, {})
        manager = managers.get(enrolment.cohort_id, manager_list[0])
        moderator = next((m for m in manager_list if m != manager), manager)
        for task in sorted(
            tasks_of[enrolment.programme_id], key=lambda t: stages[t.stage_id].position
        ):
            stage_modules = [
                day
                for module_id, day in programme_due.items()
                if module_stage.get(module_id) == task.stage_id
            ]
            stage = stages[task.stage_id]
            ready = (max(stage_modules) if stage_modules else stage.window_start_day + 20) + 3
            day = ready / pace
            if user == showcase_user_id and task.programme.slug == "integrated-marketing-systems":
                break  # the showcase learner has not reached a demonstration there yet
            if day > age:
                if day - age < 6:  # working on it: a draft
                    add(
                        {
                            "user_id": user,
                            "task_id": task.id,
                            "number": 1,
                            "status": "draft",
                            "answers": _answers(task, user),
                            "created_at": _moment(today - timedelta(days=2), rng),
                            "updated_at": _moment(today - timedelta(days=1), rng),
                            "submitted_at": None,
                            "graded_at": None,
                        }
                    )
                break
            sent = enrolment.start_date + timedelta(days=int(day))
            proficient_first = user == showcase_user_id or rng.random() < PROFICIENT_CHANCE.get(
                pace, 0.75
            )
            number = 1
            outcome_ok = proficient_first
            stop = False
            while True:
                # Most are graded within the week; a few wait past the 5-working-day target.
                graded_day = sent + timedelta(days=rng.choice([1, 2, 2, 3, 4, 6, 9, 14]))
                waiting = graded_day > today
                status = "submitted" if waiting else ("proficient" if outcome_ok else "needs-work")
                if not waiting and task.moderated:
                    moderated_day = graded_day + timedelta(days=rng.choice([1, 2, 3]))
                    if moderated_day > today:
                        status = "moderation"
                sid = add(
                    {
                        "user_id": user,
                        "task_id": task.id,
                        "number": number,
                        "status": status,
                        "answers": _answers(task, user),
                        "created_at": _moment(sent - timedelta(days=2), rng),
                        "updated_at": _moment(sent, rng),
                        "submitted_at": _moment(sent, rng),
                        "graded_at": None,
                    }
                )
                if waiting:
                    stop = True
                    break
                levels = _levels(task, outcome_ok, rng)
                first_at = _moment(graded_day, rng)
                grade_row(task, sid, manager, "first", levels, first_at)
                final_at = first_at
                if task.moderated:
                    if status == "moderation":
                        stop = True
                        break
                    final_at = _moment(moderated_day, rng)
                    grade_row(task, sid, moderator, "moderation", levels, final_at)
                submissions[-1]["graded_at"] = final_at
                submissions[-1]["updated_at"] = final_at
                if outcome_ok:
                    break
                # Needs work: the learner improves it and resubmits a few days later.
                sent = final_at.date() + timedelta(days=rng.choice([2, 3, 5]))
                number += 1
                outcome_ok = True
                if sent > today:
                    stop = True
                    break
            if stop:
                break
    if submissions:
        db.session.execute(insert(Submission), submissions)
        _attach_files(submissions, {t.id: t for ts in tasks_of.values() for t in ts})
    if grades:
        db.session.execute(insert(Grade), grades)
    if db.engine.dialect.name == "postgresql" and submissions:
        # Ids were given explicitly (grades refer to them): move the sequence past them.
        db.session.execute(
            text(
                "SELECT setval(pg_get_serial_sequence('submissions', 'id'), "
                "(SELECT MAX(id) FROM submissions))"
            )
        )
    db.session.flush()
