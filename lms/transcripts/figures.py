"""What a transcript says about attempts, submissions and promotions, worked out from plain
values: no session, no Flask, so each rule is tested on its own and read in one place.

Scores only: nothing here takes or returns a question, an option or an answer.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any


@dataclass(frozen=True)
class AttemptScore:
    """One graded attempt, as the transcript needs it."""

    number: int
    fraction: float | None
    passed: bool | None
    taken_on: date | None


@dataclass(frozen=True)
class AssessmentLine:
    title: str
    #: "pre" (baseline), "module" or "post" (follow-up).
    purpose: str
    pass_mark: float
    best: float | None
    latest: float | None
    #: True or False for module assessments; None for baseline and follow-up (no pass mark).
    passed: bool | None
    attempts_used: int
    attempts_allowed: int | None
    last_taken_on: date | None

    @property
    def attempts_text(self) -> str:
        if self.attempts_allowed is None:
            return str(self.attempts_used)
        return f"{self.attempts_used} of {self.attempts_allowed}"

    @property
    def result(self) -> str:
        if self.passed is None:
            return "taken"
        return "passed" if self.passed else "not passed"


def assessment_line(
    title: str,
    purpose: str,
    pass_mark: float,
    attempts_allowed: int | None,
    attempts: Sequence[AttemptScore],
) -> AssessmentLine:
    """Best and latest score, the result and the attempts used, from the graded attempts."""
    ordered = sorted(attempts, key=lambda a: a.number)
    scores = [a.fraction for a in ordered if a.fraction is not None]
    latest = ordered[-1] if ordered else None
    return AssessmentLine(
        title=title,
        purpose=purpose,
        pass_mark=pass_mark,
        best=max(scores) if scores else None,
        latest=latest.fraction if latest else None,
        passed=None if purpose != "module" else any(a.passed for a in ordered),
        attempts_used=len(ordered),
        attempts_allowed=attempts_allowed,
        last_taken_on=max((a.taken_on for a in ordered if a.taken_on), default=None),
    )


#: A submission's status in words, as the demonstration pages say it.
OUTCOME_WORDS = {
    "submitted": "waiting for grading",
    "moderation": "waiting for moderation",
    "needs-work": "needs work",
    "proficient": "proficient",
}


@dataclass(frozen=True)
class SubmissionOutcome:
    """One sent submission (drafts are not submissions yet) and the grade that decides it."""

    number: int
    status: str
    points: int | None
    max_points: int | None
    graded_on: date | None


@dataclass(frozen=True)
class DemonstrationLine:
    title: str
    stage_name: str
    submissions: int
    #: proficient, needs-work, submitted or moderation: the deciding submission's status.
    outcome: str
    points: int | None
    max_points: int | None
    graded_on: date | None

    @property
    def outcome_text(self) -> str:
        return OUTCOME_WORDS.get(self.outcome, self.outcome)

    @property
    def fraction(self) -> float | None:
        if self.points is None or not self.max_points:
            return None
        return self.points / self.max_points


def demonstration_line(
    title: str, stage_name: str, submissions: Sequence[SubmissionOutcome]
) -> DemonstrationLine | None:
    """The task's record: the first submission graded proficient decides it; until one is,
    the latest submission does. None when nothing was sent."""
    sent = sorted(submissions, key=lambda s: s.number)
    if not sent:
        return None
    deciding = next((s for s in sent if s.status == "proficient"), sent[-1])
    return DemonstrationLine(
        title=title,
        stage_name=stage_name,
        submissions=len(sent),
        outcome=deciding.status,
        points=deciding.points,
        max_points=deciding.max_points,
        graded_on=deciding.graded_on,
    )


_KIND_WORDS = {
    "module-completed": ("module completed", "modules completed"),
    "assessment-passed": ("assessment passed", "assessments passed"),
    "demonstration-proficient": (
        "demonstration graded proficient",
        "demonstrations graded proficient",
    ),
}


def evidence_summary(evidence: Iterable[dict[str, Any]]) -> str:
    """A promotion's evidence in one line: "2 modules completed, 1 assessment passed (88%),
    1 requirement exempted". Exempted requirements are counted apart from those met."""
    met: Counter[str] = Counter()
    scores: list[float] = []
    exempted = 0
    for item in evidence:
        found = item.get("evidence") or {}
        if item.get("exempt") and not found:
            exempted += 1
            continue
        kind = str(item.get("requirement", "")).split(":", 1)[0]
        met[kind] += 1
        if isinstance(found.get("score"), int | float):
            scores.append(float(found["score"]))
    parts = []
    for kind, (one, many) in _KIND_WORDS.items():
        if met[kind]:
            text = f"{met[kind]} {one if met[kind] == 1 else many}"
            if kind == "assessment-passed" and scores:
                text += " (" + ", ".join(f"{s:.0%}" for s in scores) + ")"
            parts.append(text)
    others = sum(n for kind, n in met.items() if kind not in _KIND_WORDS)
    if others:
        parts.append(f"{others} other requirement{'s' if others != 1 else ''} met")
    if exempted:
        parts.append(f"{exempted} requirement{'s' if exempted != 1 else ''} exempted")
    return ", ".join(parts) or "no requirements recorded"


def programme_summary(
    modules_completed: int,
    modules_total: int,
    stage_name: str,
    gate_met: int,
    gate_total: int,
) -> str:
    """The one line a transcript gives each programme: "Modules 3 of 12; gate of Proficiency
    Development: 1 of 3 requirements met"."""
    text = f"Modules {modules_completed} of {modules_total}"
    if gate_total:
        return f"{text}; gate of {stage_name}: {gate_met} of {gate_total} requirements met"
    return f"{text}; {stage_name} has no gate to pass"


def name_slug(name: str, fallback: str = "learner") -> str:
    """A file-name-safe form of a person's name: "Zoë O'Brien" becomes "zoe-o-brien"."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:60].rstrip("-") or fallback
