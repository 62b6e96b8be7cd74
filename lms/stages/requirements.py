"""Gate requirement kinds, a registry of classes found by id (`REQUIREMENT_KINDS`).

Each kind loads the facts it needs for many learners at once (`load`, a fixed number of
queries whatever their number) and then answers, for one learner and one reference, whether the
requirement is met and by what evidence (`evaluate`), and whether it can be met at all with the
content as it stands (`missing_content`: a module in preparation cannot), which is what holds
the stage clock. Exercises and demonstrations plug in by
registering a class here when their features land.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from sqlalchemy import select

from lms.assessments.models import Assessment, Attempt
from lms.curricula.models import Module
from lms.curricula.readiness import is_ready
from lms.demonstrations.models import DemonstrationTask, Submission
from lms.extensions import db
from lms.learning.models import ModuleCompletion


@dataclass(frozen=True)
class Catalogue:
    """The content a gate can refer to, by programme id and slug."""

    modules: dict[tuple[int, str], Module]
    assessments: dict[tuple[int, str], Assessment]
    demonstrations: dict[tuple[int, str], DemonstrationTask] = field(default_factory=dict)


class RequirementKind:
    id: ClassVar[str]
    #: What a reference names: used in messages ("no module with id ...").
    refers_to: ClassVar[str]

    def label(self, catalogue: Catalogue, programme_id: int, ref: str) -> str:
        raise NotImplementedError

    def load(self, user_ids: set[int]) -> Any:
        raise NotImplementedError

    def evaluate(
        self, facts: Any, catalogue: Catalogue, user_id: int, programme_id: int, ref: str
    ) -> dict[str, Any] | None:
        """Evidence (a JSON-able dict) when met, else None. It names its reference under the
        key `refers_to`, which is how `describe_evidence` finds the kind again."""
        raise NotImplementedError

    def describe(self, evidence: dict[str, Any]) -> str:
        """The evidence in words, for the people who manage the enrolment."""
        raise NotImplementedError

    def missing_content(self, catalogue: Catalogue, programme_id: int, ref: str) -> str | None:
        """Why nobody can meet this requirement with today's content ("“X” is in
        preparation"), or None when it can be met."""
        return None


class ModuleCompleted(RequirementKind):
    id = "module-completed"
    refers_to = "module"

    def label(self, catalogue: Catalogue, programme_id: int, ref: str) -> str:
        module = catalogue.modules.get((programme_id, ref))
        return f"Complete the module “{module.title if module else ref}”"

    def load(self, user_ids: set[int]) -> dict[tuple[int, int], Any]:
        """Honest completions only: a self-attested one counts for nothing."""
        rows = db.session.execute(
            select(
                ModuleCompletion.user_id, ModuleCompletion.module_id, ModuleCompletion.completed_at
            ).where(
                ModuleCompletion.user_id.in_(user_ids), ModuleCompletion.self_attested.is_(False)
            )
        )
        return {(user, module): when for user, module, when in rows}

    def evaluate(self, facts, catalogue, user_id, programme_id, ref):
        module = catalogue.modules.get((programme_id, ref))
        if module is None or not is_ready(module):
            return None  # a module in preparation meets nothing
        when = facts.get((user_id, module.id))
        if when is None:
            return None
        return {"module": ref, "completed_at": when.isoformat()}

    def missing_content(self, catalogue: Catalogue, programme_id: int, ref: str) -> str | None:
        module = catalogue.modules.get((programme_id, ref))
        if module is None or module.retired_at is not None:
            return f"the module {ref} is not in the programme"
        if not is_ready(module):
            return f"“{module.title}” is in preparation"
        return None

    def describe(self, evidence: dict[str, Any]) -> str:
        return f"completed on {evidence['completed_at'][:10]}"


class AssessmentPassed(RequirementKind):
    id = "assessment-passed"
    refers_to = "assessment"

    def label(self, catalogue: Catalogue, programme_id: int, ref: str) -> str:
        assessment = catalogue.assessments.get((programme_id, ref))
        if assessment is None:
            return f"Pass the assessment {ref}"
        return f"Pass “{assessment.title}” ({assessment.pass_mark:.0%} or more)"

    def load(self, user_ids: set[int]) -> dict[tuple[int, int], Any]:
        """The first passing attempt per learner and assessment: the one that met it."""
        rows = db.session.execute(
            select(
                Attempt.user_id,
                Attempt.assessment_id,
                Attempt.id,
                Attempt.score,
                Attempt.max_score,
                Attempt.submitted_at,
            )
            .where(Attempt.user_id.in_(user_ids), Attempt.passed.is_(True))
            .order_by(Attempt.submitted_at, Attempt.id)
        )
        found: dict[tuple[int, int], Any] = {}
        for user, assessment, attempt_id, score, max_score, when in rows:
            found.setdefault((user, assessment), (attempt_id, score / max_score, when))
        return found

    def evaluate(self, facts, catalogue, user_id, programme_id, ref):
        assessment = catalogue.assessments.get((programme_id, ref))
        hit = facts.get((user_id, assessment.id)) if assessment else None
        if hit is None:
            return None
        attempt_id, score, when = hit
        return {
            "assessment": ref,
            "attempt": attempt_id,
            "score": round(float(score), 4),
            "submitted_at": when.isoformat() if when else None,
        }

    def missing_content(self, catalogue: Catalogue, programme_id: int, ref: str) -> str | None:
        assessment = catalogue.assessments.get((programme_id, ref))
        if assessment is None or assessment.retired_at is not None:
            return f"the assessment {ref} is not in the programme"
        module = assessment.module
        if module is not None and not is_ready(module):
            # Its questions may exist, but there is no lesson to learn them from.
            return f"“{module.title}”, which “{assessment.title}” checks, is in preparation"
        if not any(q.retired_at is None for q in assessment.questions):
            return f"“{assessment.title}” has no questions yet"
        return None

    def describe(self, evidence: dict[str, Any]) -> str:
        score = evidence.get("score")
        when = (evidence.get("submitted_at") or "")[:10]
        scored = f" scored {score:.0%}" if isinstance(score, int | float) else ""
        return f"attempt {evidence['attempt']}{scored}" + (f" on {when}" if when else "")


class DemonstrationProficient(RequirementKind):
    id = "demonstration-proficient"
    refers_to = "demonstration"

    def label(self, catalogue: Catalogue, programme_id: int, ref: str) -> str:
        task = catalogue.demonstrations.get((programme_id, ref))
        if task is None:
            return f"Demonstration {ref} graded proficient"
        return f"Demonstrate “{task.title}” (graded {task.proficient_at:.0%} or more)"

    def load(self, user_ids: set[int]) -> dict[tuple[int, int], Any]:
        """The first submission graded proficient per learner and task (the final grade: after
        moderation where the task is moderated)."""
        rows = db.session.execute(
            select(Submission.user_id, Submission.task_id, Submission.id, Submission.graded_at)
            .where(Submission.user_id.in_(user_ids), Submission.status == "proficient")
            .order_by(Submission.graded_at, Submission.id)
        )
        found: dict[tuple[int, int], Any] = {}
        for user, task, submission_id, when in rows:
            found.setdefault((user, task), (submission_id, when))
        return found

    def evaluate(self, facts, catalogue, user_id, programme_id, ref):
        task = catalogue.demonstrations.get((programme_id, ref))
        hit = facts.get((user_id, task.id)) if task else None
        if hit is None:
            return None
        submission_id, when = hit
        return {
            "demonstration": ref,
            "submission": submission_id,
            "graded_at": when.isoformat() if when else None,
        }

    def missing_content(self, catalogue: Catalogue, programme_id: int, ref: str) -> str | None:
        task = catalogue.demonstrations.get((programme_id, ref))
        if task is None or task.retired_at is not None:
            return f"the demonstration {ref} is not in the programme"
        return None

    def describe(self, evidence: dict[str, Any]) -> str:
        when = (evidence.get("graded_at") or "")[:10]
        return f"submission {evidence['submission']} graded proficient" + (
            f" on {when}" if when else ""
        )


REQUIREMENT_KINDS: dict[str, RequirementKind] = {
    kind.id: kind() for kind in (ModuleCompleted, AssessmentPassed, DemonstrationProficient)
}


def describe_evidence(evidence: dict[str, Any] | None) -> str:
    """What met a requirement, in words, by the kind whose reference the evidence names."""
    if not evidence:
        return ""
    for kind in REQUIREMENT_KINDS.values():
        if kind.refers_to in evidence:
            return kind.describe(evidence)
    return ", ".join(f"{key}: {value}" for key, value in evidence.items())


def requirement_key(kind: str, ref: str) -> str:
    return f"{kind}:{ref}"
