"""Demo learning history: lesson progress, module completions, assessment attempts, pauses and
extensions, generated per learner from a seeded pace, then run through the real stage engine.

The result is a cohort in flight: some learners promoted (with the evidence recorded), some on
track, some at risk, some overdue, a few with their clock paused. Deterministic for a seed.

Completion is honest here too: a module with a lesson is completed when its sections are done
and its knowledge check passed (on the day of the passing attempt); a module in preparation is
never completed, so learners whose gate names one wait for content, their clock held.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import insert, select, update
from sqlalchemy.orm import selectinload

from lms.assessments.models import Assessment, Attempt, AttemptItem, Question
from lms.assessments.operations import grade
from lms.assessments.questions import QuestionSpec, question_type
from lms.certificates.models import Certificate
from lms.curricula.models import Module, Stage
from lms.demo.demonstrations import simulate_demonstrations
from lms.extensions import db
from lms.learning.models import ModuleCompletion, SectionProgress
from lms.organisation.models import Enrolment
from lms.stages.engine import refresh
from lms.stages.models import ClockHold, ClockPause, StagePromotion, WindowExtension

_SPEC = TypeAdapter(QuestionSpec)
#: How fast a learner works through the programme, relative to the stage windows.
PACES = [(1.3, 25), (1.0, 35), (0.65, 25), (0.25, 15)]
#: Chance to pass an assessment at the first attempt, by pace.
PASS_CHANCE = {1.3: 0.95, 1.0: 0.85, 0.65: 0.6, 0.25: 0.5}
#: Days within which the open-ended stages' modules are studied, for the simulation only.
OPEN_STAGE_DAYS = {"innovation": (90, 120), "partnership": (120, 150)}
PAUSE_REASONS = ["Parental leave", "Seconded to the product launch", "Long-term sick leave"]


def _moment(day: date, rng: random.Random) -> datetime:
    return datetime.combine(
        day, time(hour=rng.randint(8, 17), minute=rng.randint(0, 59)), tzinfo=UTC
    )


def _due_days(modules: list[Module], stages: dict[str, Stage]) -> dict[int, float]:
    """The day a learner at normal pace completes each module: spread through its stage."""
    by_stage: dict[str, list[Module]] = defaultdict(list)
    for module in modules:
        by_stage[module.stage_id or "initial"].append(module)
    due = {}
    for stage_id, members in by_stage.items():
        stage = stages[stage_id]
        start, end = OPEN_STAGE_DAYS.get(stage_id, (stage.window_start_day, stage.window_end_day))
        for k, module in enumerate(sorted(members, key=lambda m: m.position)):
            due[module.id] = start + (end - start) * (k + 1) / (len(members) + 1)
    return due


def _answer(snapshot: dict[str, Any], right: bool, rng: random.Random) -> Any:
    key = snapshot["key"]
    kind = snapshot["type"]
    if right:
        if kind == "numeric":
            return key["answer"]
        return key
    if kind in ("single-choice", "scenario"):
        others = [o["id"] for o in snapshot["options"] if o["id"] != key]
        return rng.choice(others)
    if kind == "multiple-response":
        return sorted(set(key[:1]) | {snapshot["options"][0]["id"]})
    if kind == "numeric":
        return key["answer"] * 1.5 + 1
    if kind == "ordering":
        return list(reversed(key))
    return {}


def _attempt(
    user_id: int,
    assessment: Assessment,
    number: int,
    when: datetime,
    skill: float,
    rng: random.Random,
) -> Attempt:
    """A graded attempt whose answers are right with probability `skill`."""
    questions = [q for q in assessment.questions if q.retired_at is None and q.versions]
    seed = rng.getrandbits(31)
    draw_rng = random.Random(seed)
    drawn = draw_rng.sample(questions, min(assessment.draw or len(questions), len(questions)))
    attempt = Attempt(
        user_id=user_id,
        assessment_id=assessment.id,
        number=number,
        seed=seed,
        status="submitted",
        started_at=when - timedelta(minutes=rng.randint(8, 25)),
        submitted_at=when,
    )
    attempt.assessment = assessment
    for position, question in enumerate(drawn, start=1):
        version = question.versions[-1]
        snapshot = question_type(version.type).present(
            _SPEC.validate_python(version.spec), draw_rng
        )
        attempt.items.append(
            AttemptItem(
                position=position,
                question_version_id=version.id,
                snapshot=snapshot,
                answer=_answer(snapshot, rng.random() < skill, rng),
            )
        )
    grade(attempt)
    return attempt


def simulate(today: date, rng: random.Random, showcase_user_id: int) -> None:
    """Give every active enrolment a believable history up to `today`, then refresh stages."""
    stages = {s.id: s for s in db.session.scalars(select(Stage))}
    enrolments = list(
        db.session.scalars(
            select(Enrolment).where(Enrolment.status == "active").order_by(Enrolment.id)
        )
    )
    programme_ids = {e.programme_id for e in enrolments}
    modules = list(
        db.session.scalars(
            select(Module)
            .where(Module.programme_id.in_(programme_ids), Module.retired_at.is_(None))
            .options(selectinload(Module.sections))
        )
    )
    assessments = list(
        db.session.scalars(
            select(Assessment)
            .where(Assessment.programme_id.in_(programme_ids), Assessment.retired_at.is_(None))
            .options(selectinload(Assessment.questions).selectinload(Question.versions))
        )
    )
    modules_of: dict[int, list[Module]] = defaultdict(list)
    for module in modules:
        modules_of[module.programme_id].append(module)
    due = {pid: _due_days(members, stages) for pid, members in modules_of.items()}
    module_assessment = {a.module_id: a for a in assessments if a.module_id}
    pre_post = {(a.programme_id, a.purpose): a for a in assessments if a.purpose != "module"}

    pace_of: dict[int, float] = {}
    completions, sections, attempts = [], [], []
    for enrolment in enrolments:
        user = enrolment.user_id
        if user not in pace_of:
            pace_of[user] = rng.choices([p for p, _ in PACES], [w for _, w in PACES])[0]
        pace = pace_of[user]
        age = (today - enrolment.start_date).days
        if user == showcase_user_id:
            pace = 1.0
        finished_day = 0.0
        for module in sorted(
            modules_of[enrolment.programme_id], key=lambda m: due[enrolment.programme_id][m.id]
        ):
            day = due[enrolment.programme_id][module.id] / pace
            if (
                user == showcase_user_id
                and enrolment.programme.slug == ("integrated-marketing-systems")
                and module.position > 1
            ):
                break  # the showcase learner is mid-way through module 2
            live_sections = [s for s in module.sections if s.retired_at is None]
            if not live_sections:
                continue  # in preparation: nothing to study, nothing completes it
            if day > age:
                # The module in progress: some of its sections done.
                done = int(len(live_sections) * max(0.0, 1 - (day - age) / 10))
                for section in live_sections[:done]:
                    sections.append(
                        {
                            "user_id": user,
                            "section_id": section.id,
                            "completed_at": _moment(today - timedelta(days=1), rng),
                        }
                    )
                break
            when = enrolment.start_date + timedelta(days=int(day))
            for section in live_sections:
                sections.append(
                    {"user_id": user, "section_id": section.id, "completed_at": _moment(when, rng)}
                )
            completed_at: datetime | None = _moment(when, rng)
            finished_day = day
            assessment = module_assessment.get(module.id)
            if assessment is not None:
                # The module completes with its knowledge check's passing attempt, if any.
                completed_at = None
                first_pass = user == showcase_user_id or rng.random() < PASS_CHANCE.get(pace, 0.8)
                tries = [0.95] if first_pass else [0.45, 0.95]
                for number, skill in enumerate(tries, start=1):
                    taken = min(today, when + timedelta(days=number))
                    attempt = _attempt(user, assessment, number, _moment(taken, rng), skill, rng)
                    attempts.append(attempt)
                    if attempt.passed and completed_at is None:
                        completed_at = attempt.submitted_at
            if completed_at is not None:
                completions.append(
                    {"user_id": user, "module_id": module.id, "completed_at": completed_at}
                )
        pre = pre_post.get((enrolment.programme_id, "pre"))
        post = pre_post.get((enrolment.programme_id, "post"))
        if pre is not None:
            attempts.append(
                _attempt(
                    user, pre, 1, _moment(enrolment.start_date, rng), rng.uniform(0.3, 0.6), rng
                )
            )
            if post is not None and finished_day >= 45 and age >= 50:
                taken = enrolment.start_date + timedelta(days=int(finished_day) + 2)
                attempts.append(
                    _attempt(
                        user, post, 1, _moment(min(taken, today), rng), rng.uniform(0.55, 0.9), rng
                    )
                )
    # Unique per learner: a section or module shared by two enrolments counts once.
    db.session.execute(
        insert(SectionProgress),
        list({(r["user_id"], r["section_id"]): r for r in sections}.values()),
    )
    db.session.execute(
        insert(ModuleCompletion),
        list({(r["user_id"], r["module_id"]): r for r in completions}.values()),
    )
    db.session.add_all(attempts)
    db.session.flush()

    # A few clocks paused (open), a few paused and resumed, a few windows extended.
    for index, enrolment in enumerate(enrolments):
        if enrolment.user_id == showcase_user_id:
            continue
        if index % 17 == 3:
            db.session.add(
                ClockPause(
                    enrolment_id=enrolment.id,
                    paused_on=today - timedelta(days=rng.randint(3, 12)),
                    reason=rng.choice(PAUSE_REASONS),
                )
            )
        elif index % 23 == 7 and (today - enrolment.start_date).days > 20:
            start = enrolment.start_date + timedelta(days=10)
            db.session.add(
                ClockPause(
                    enrolment_id=enrolment.id,
                    paused_on=start,
                    resumed_on=start + timedelta(days=8),
                    reason=rng.choice(PAUSE_REASONS),
                )
            )
        elif index % 29 == 11:
            db.session.add(
                WindowExtension(
                    enrolment_id=enrolment.id,
                    stage_id="initial",
                    days=14,
                    reason="Joined after a role change",
                )
            )
    db.session.flush()
    simulate_demonstrations(
        today,
        rng,
        enrolments,
        pace_of,
        due,
        {m.id: m.stage_id or "initial" for m in modules},
        showcase_user_id,
    )
    for start in range(0, len(enrolments), 2000):
        refresh(enrolments[start : start + 2000], today=today)
    _date_promotions(enrolments)
    _date_holds(enrolments)
    for start in range(0, len(enrolments), 2000):  # statuses and days with the dated holds
        refresh(enrolments[start : start + 2000], today=today)


def _date_holds(enrolments: list[Enrolment]) -> None:
    """The engine opened each clock hold from the day it saw the enrolment enter its stage,
    'now' for a promotion it just made: in the demo that day is the promotion's (dated above)."""
    starts = {e.id: e.start_date for e in enrolments}
    entered = {
        (promotion.enrolment_id, promotion.to_stage_id): promotion.promoted_at.date()
        for promotion in db.session.scalars(select(StagePromotion))
    }
    for hold in db.session.scalars(select(ClockHold).where(ClockHold.released_on.is_(None))):
        start = starts.get(hold.enrolment_id)
        if start is not None:
            hold.held_from = max(entered.get((hold.enrolment_id, hold.stage_id), start), start)
    db.session.flush()


def _date_promotions(enrolments: list[Enrolment]) -> None:
    """The engine promotes 'now'; in the demo a promotion happened when its evidence did."""
    starts = {e.id: e.start_date for e in enrolments}
    for promotion in db.session.scalars(select(StagePromotion)):
        moments = [
            datetime.fromisoformat(value)
            for item in promotion.evidence
            for key, value in (item.get("evidence") or {}).items()
            if key in ("completed_at", "submitted_at", "graded_at") and value
        ]
        if moments:
            latest = max(moments)
            promotion.promoted_at = latest
            promotion.on_day = (latest.date() - starts[promotion.enrolment_id]).days
    db.session.flush()
    # Certificates were issued 'now' with their promotions: date them likewise.
    db.session.execute(
        update(Certificate)
        .where(Certificate.promotion_id == StagePromotion.id)
        .values(issued_at=StagePromotion.promoted_at)
    )
