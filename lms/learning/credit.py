"""Credit across programmes, per objective (DESIGN.md section 4).

`curricula/equivalences.yaml` names objectives of different programmes taught alike. A learner
who has mastered one (every lesson section teaching it done, and every question testing it
answered right in one passed attempt of its module's check) is credited with the others in the
programmes they are enrolled in. A module is credited only when all its objectives are; it then
counts as completed. A credit is audited and never crosses a major version: it counts only
while both programmes keep the major versions it was granted under, and an equivalence is live
only for the majors it was judged for.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import selectinload

from lms.assessments.models import Assessment, Attempt, AttemptItem, QuestionVersion
from lms.audit.operations import record
from lms.curricula import schema
from lms.curricula.models import Module, Objective, Programme
from lms.extensions import db
from lms.learning.models import EquivalenceMember, ObjectiveCredit, SectionProgress
from lms.organisation.models import Enrolment


def major(version: str) -> int:
    return int(version.split(".")[0])


def load_equivalences(document: schema.Equivalences) -> list[str]:
    """Replace the equivalence rows with the file's (they hold no learner data)."""
    db.session.execute(delete(EquivalenceMember))
    wanted = {ref for item in document.equivalences for ref in item.objectives}
    rows = db.session.execute(
        select(Objective.id, Programme.slug, Module.slug, Objective.slug)
        .join(Module, Module.id == Objective.module_id)
        .join(Programme, Programme.id == Module.programme_id)
    )
    ids = {f"{p}/{m}/{o}": oid for oid, p, m, o in rows if f"{p}/{m}/{o}" in wanted}
    for item in document.equivalences:
        for ref in item.objectives:
            db.session.add(
                EquivalenceMember(
                    equivalence=item.id,
                    objective_id=ids[ref],
                    programme_major=item.versions[ref.split("/")[0]],
                )
            )
    db.session.flush()
    return [
        f"equivalence {item.id}: {len(item.objectives)} objectives"
        for item in document.equivalences
    ]


@dataclass(frozen=True)
class _Member:
    equivalence: str
    objective: Objective
    programme: Programme
    live: bool  # the programme is still at the major version the equivalence was judged for


def _members() -> list[_Member]:
    rows = db.session.execute(
        select(EquivalenceMember, Objective, Programme)
        .join(Objective, Objective.id == EquivalenceMember.objective_id)
        .join(Module, Module.id == Objective.module_id)
        .join(Programme, Programme.id == Module.programme_id)
        .options(selectinload(Objective.module).selectinload(Module.sections))
    )
    return [
        _Member(
            member.equivalence,
            objective,
            programme,
            live=major(programme.version) == member.programme_major
            and objective.retired_at is None
            and programme.retired_at is None,
        )
        for member, objective, programme in rows
    ]


def _teaching_sections(objective: Objective) -> list[Any]:
    return [
        s
        for s in objective.module.sections
        if s.retired_at is None and objective.slug in (s.objectives or [])
    ]


def mastered(user_id: int, objectives: list[Objective]) -> dict[int, dict[str, Any]]:
    """The objectives (by id) this learner has mastered, with the evidence: every live section
    teaching it done, and every item testing it right in one passed attempt of its module's
    knowledge check (at least one such item). A fixed number of queries."""
    if not objectives:
        return {}
    sections = {o.id: _teaching_sections(o) for o in objectives}
    section_ids = [s.id for found in sections.values() for s in found]
    done = set(
        db.session.scalars(
            select(SectionProgress.section_id).where(
                SectionProgress.user_id == user_id, SectionProgress.section_id.in_(section_ids)
            )
        )
        if section_ids
        else []
    )
    module_ids = {o.module_id for o in objectives}
    items = db.session.execute(
        select(Attempt.id, Assessment.module_id, AttemptItem.credit, QuestionVersion.spec)
        .join(Assessment, Assessment.id == Attempt.assessment_id)
        .join(AttemptItem, AttemptItem.attempt_id == Attempt.id)
        .join(QuestionVersion, QuestionVersion.id == AttemptItem.question_version_id)
        .where(
            Attempt.user_id == user_id,
            Attempt.passed.is_(True),
            Assessment.purpose == "module",
            Assessment.module_id.in_(module_ids),
        )
        .order_by(Attempt.submitted_at, Attempt.id)
    )
    # attempt id -> (module id, objective slug -> credits of the items testing it)
    tested: dict[int, tuple[int, dict[str, list[float]]]] = {}
    for attempt_id, module_id, credit, spec in items:
        entry = tested.setdefault(attempt_id, (module_id, defaultdict(list)))
        for slug in spec.get("objectives") or []:
            entry[1][slug].append(credit or 0.0)
    found: dict[int, dict[str, Any]] = {}
    for objective in objectives:
        teaching = sections[objective.id]
        if not teaching or any(s.id not in done for s in teaching):
            continue
        for attempt_id, (module_id, by_objective) in tested.items():
            credits = by_objective.get(objective.slug)
            if module_id == objective.module_id and credits and min(credits) >= 1 - 1e-9:
                found[objective.id] = {
                    "sections": [s.slug for s in teaching],
                    "attempt": attempt_id,
                    "questions": len(credits),
                }
                break
    return found


def current_credits(user_id: int, module_ids: set[int] | None = None) -> list[ObjectiveCredit]:
    """The learner's credits that still count: granted under both programmes' current majors."""
    statement = select(ObjectiveCredit).where(ObjectiveCredit.user_id == user_id)
    if module_ids is not None:
        statement = statement.join(Objective, Objective.id == ObjectiveCredit.objective_id).where(
            Objective.module_id.in_(module_ids)
        )
    credits = list(db.session.scalars(statement))
    if not credits:
        return []
    objective_ids = {c.objective_id for c in credits} | {c.source_objective_id for c in credits}
    majors = {
        oid: major(version)
        for oid, version in db.session.execute(
            select(Objective.id, Programme.version)
            .join(Module, Module.id == Objective.module_id)
            .join(Programme, Programme.id == Module.programme_id)
            .where(Objective.id.in_(objective_ids))
        )
    }
    return [
        c
        for c in credits
        if majors.get(c.objective_id) == c.target_major
        and majors.get(c.source_objective_id) == c.source_major
    ]


def refresh_credits(user_id: int) -> list[ObjectiveCredit]:
    """Grant every credit the learner's work now earns in the programmes they are enrolled in.
    Returns the new credits (each audited). The caller runs the stage engine and commits."""
    members = [m for m in _members() if m.live]
    if not members:
        return []
    enrolled = set(
        db.session.scalars(
            select(Enrolment.programme_id).where(
                Enrolment.user_id == user_id, Enrolment.status == "active"
            )
        )
    )
    groups: dict[str, list[_Member]] = defaultdict(list)
    for member in members:
        groups[member.equivalence].append(member)
    targets = [m for m in members if m.programme.id in enrolled]
    if not targets:
        return []
    have = {
        (c.objective_id, c.target_major)
        for c in db.session.scalars(
            select(ObjectiveCredit).where(ObjectiveCredit.user_id == user_id)
        )
    }
    mastery = mastered(user_id, [m.objective for m in members])
    granted = []
    for target in targets:
        target_major = major(target.programme.version)
        if target.objective.id in mastery or (target.objective.id, target_major) in have:
            continue
        source = next(
            (
                m
                for m in groups[target.equivalence]
                if m is not target and m.objective.id in mastery
            ),
            None,
        )
        if source is None:
            continue
        credit = ObjectiveCredit(
            user_id=user_id,
            objective_id=target.objective.id,
            source_objective_id=source.objective.id,
            equivalence=target.equivalence,
            target_major=target_major,
            source_major=major(source.programme.version),
            evidence=mastery[source.objective.id],
        )
        db.session.add(credit)
        have.add((target.objective.id, target_major))
        granted.append(credit)
        record(
            "objective.credited",
            target_type="objective",
            target_id=target.objective.id,
            learner=user_id,
            objective=f"{target.programme.slug}/{target.objective.module.slug}/"
            f"{target.objective.slug}",
            credited_from=f"{source.programme.slug}/{source.objective.module.slug}/"
            f"{source.objective.slug}",
            equivalence=target.equivalence,
        )
    db.session.flush()
    return granted


def credited_modules(user_id: int, modules: list[Module]) -> dict[int, list[ObjectiveCredit]]:
    """Modules (by id) every live objective of which is credited, with the credits."""
    objective_module = {o.id: m.id for m in modules for o in m.objectives if o.retired_at is None}
    by_module: dict[int, dict[int, ObjectiveCredit]] = defaultdict(dict)
    for credit in current_credits(user_id, {m.id for m in modules}):
        module_id = objective_module.get(credit.objective_id)
        if module_id is not None:
            by_module[module_id][credit.objective_id] = credit
    return {
        m.id: list(by_module[m.id].values())
        for m in modules
        if m.objectives
        and all(o.id in by_module[m.id] for o in m.objectives if o.retired_at is None)
    }


@dataclass(frozen=True)
class CreditSource:
    """Where an objective's credit came from, for the learner's module page."""

    programme: str
    module: str
    credited_at: Any


def credit_sources(user_id: int, module: Module) -> dict[int, CreditSource]:
    """The module's objectives (by id) credited to the learner, with where from."""
    credits = current_credits(user_id, {module.id})
    if not credits:
        return {}
    sources = {
        oid: (programme, title)
        for oid, programme, title in db.session.execute(
            select(Objective.id, Programme.title, Module.title)
            .join(Module, Module.id == Objective.module_id)
            .join(Programme, Programme.id == Module.programme_id)
            .where(Objective.id.in_({c.source_objective_id for c in credits}))
        )
    }
    return {
        c.objective_id: CreditSource(*sources[c.source_objective_id], c.credited_at)
        for c in credits
        if c.source_objective_id in sources
    }


def grant_credits(user_id: int) -> tuple[list[ObjectiveCredit], set[int]]:
    """Grant what the learner's work now earns, and complete every module all of whose
    objectives are credited (marked `credited_from`). Returns the new credits and the
    programmes whose gates may have moved; the caller runs the stage engine and commits."""
    from lms.learning.models import ModuleCompletion

    granted = refresh_credits(user_id)
    if not granted:
        return [], set()
    objective_ids = {c.objective_id for c in granted}
    module_ids = select(Objective.module_id).where(Objective.id.in_(objective_ids))
    modules = list(
        db.session.scalars(
            select(Module).where(Module.id.in_(module_ids)).options(selectinload(Module.objectives))
        )
    )
    touched: set[int] = set()
    for module_id, credits in credited_modules(user_id, modules).items():
        module = next(m for m in modules if m.id == module_id)
        sources = sorted(
            {
                f"{source.module.programme.title}: {source.module.title}"
                for source in db.session.scalars(
                    select(Objective).where(
                        Objective.id.in_({c.source_objective_id for c in credits})
                    )
                )
            }
        )
        row = db.session.scalar(
            select(ModuleCompletion).where(
                ModuleCompletion.user_id == user_id, ModuleCompletion.module_id == module_id
            )
        )
        if row is not None and not row.self_attested:
            continue  # completed by the learner's own work already
        if row is None:
            row = ModuleCompletion(user_id=user_id, module_id=module_id)
            db.session.add(row)
        row.self_attested = False
        row.credited_from = "; ".join(sources)[:300]
        record(
            "module.credited",
            target=module,
            learner=user_id,
            credited_from=row.credited_from,
        )
        touched.add(module.programme_id)
    db.session.flush()
    return granted, touched
