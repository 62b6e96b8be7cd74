"""Scoring against an analytic rubric: pure functions, no database.

The score follows from the levels chosen, one per criterion: the sum of their points over the sum
of each criterion's top points. Proficient is at least the task's threshold of that maximum, and
no criterion at the lowest level ("Not yet"): a piece of work that has not yet shown one of the
things the task asks for needs work, however well the rest is done.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

#: The level index that alone makes a demonstration "needs work".
NOT_YET = 0


class RubricError(ValueError):
    """A grade that does not fit the rubric; the message names the criterion."""


@dataclass(frozen=True)
class RubricScore:
    points: int
    max_points: int
    proficient: bool
    #: The threshold the points were held to, as a fraction of `max_points`.
    proficient_at: float = 0.75
    #: Titles of the criteria graded at the lowest level, in rubric order.
    not_yet: tuple[str, ...] = field(default_factory=tuple)
    #: The rubric's name for its lowest level ("Not yet" in every rubric we wrote).
    lowest_level: str = "Not yet"

    @property
    def fraction(self) -> float:
        return self.points / self.max_points if self.max_points else 0.0

    @property
    def verdict(self) -> str:
        """The outcome and, when it is "needs work", why."""
        return verdict_text(
            self.proficient,
            self.points,
            self.max_points,
            self.proficient_at,
            self.not_yet,
            self.lowest_level,
        )


def max_points(rubric: dict[str, Any]) -> int:
    return sum(max(criterion["points"]) for criterion in rubric["criteria"])


def meets_threshold(points: int, top: int, proficient_at: float) -> bool:
    # Compare in integers scaled by 10,000 so 0.75 of 16 is exactly 12, never 11.999.
    return points * 10_000 >= round(proficient_at * 10_000) * top


def _quoted(titles: Sequence[str]) -> str:
    quoted = [f"“{title}”" for title in titles]
    if len(quoted) == 1:
        return quoted[0]
    return ", ".join(quoted[:-1]) + " and " + quoted[-1]


def needs_work_reason(
    points: int,
    top: int,
    proficient_at: float,
    not_yet: Sequence[str] = (),
    lowest_level: str = "Not yet",
) -> str:
    """Why a grade is "needs work": the criteria at the lowest level first (they decide whatever
    the total), otherwise the points short of the threshold."""
    if not_yet:
        verb = "is" if len(not_yet) == 1 else "are"
        return f"{_quoted(not_yet)} {verb} at {lowest_level}"
    return f"{points} of {top} points, under the {proficient_at:.0%} needed"


def verdict_text(
    proficient: bool,
    points: int,
    top: int,
    proficient_at: float,
    not_yet: Sequence[str] = (),
    lowest_level: str = "Not yet",
) -> str:
    """The outcome, "proficient" or "needs work: " and the reason, as the grading page and the
    learner read it. The static script static/rubric.js writes the same sentences while levels
    are chosen; keep the two alike."""
    if proficient:
        return "proficient"
    return "needs work: " + needs_work_reason(points, top, proficient_at, not_yet, lowest_level)


def score(rubric: dict[str, Any], levels: dict[str, int], proficient_at: float) -> RubricScore:
    """The score of `levels` (level index per criterion id). Every criterion needs a level."""
    criteria = {c["id"]: c for c in rubric["criteria"]}
    unknown = sorted(set(levels) - set(criteria))
    if unknown:
        raise RubricError(f"no criterion {unknown[0]!r} in this rubric")
    total = 0
    not_yet: list[str] = []
    for criterion_id, criterion in criteria.items():
        if criterion_id not in levels:
            raise RubricError(f"choose a level for “{criterion['title']}”")
        index = levels[criterion_id]
        if not isinstance(index, int) or isinstance(index, bool):
            raise RubricError(f"the level for “{criterion['title']}” is not one of its levels")
        if not 0 <= index < len(criterion["points"]):
            raise RubricError(f"the level for “{criterion['title']}” is not one of its levels")
        total += criterion["points"][index]
        if index == NOT_YET:
            not_yet.append(criterion["title"])
    top = max_points(rubric)
    return RubricScore(
        points=total,
        max_points=top,
        proficient=meets_threshold(total, top, proficient_at) and not not_yet,
        proficient_at=proficient_at,
        not_yet=tuple(not_yet),
        lowest_level=lowest_level(rubric),
    )


def lowest_level(rubric: dict[str, Any]) -> str:
    levels = rubric.get("levels") or []
    return levels[NOT_YET] if levels else "Not yet"


def recorded_verdict(
    rubric: dict[str, Any],
    levels: dict[str, int],
    points: int,
    top: int,
    proficient_at: float,
    proficient: bool,
) -> str:
    """The verdict of a grade already recorded. Its outcome stands as it was decided (grades
    given before the Not-yet rule are not re-evaluated); only the reason is worked out."""
    not_yet = tuple(
        c["title"] for c in rubric.get("criteria", []) if levels.get(c["id"]) == NOT_YET
    )
    return verdict_text(proficient, points, top, proficient_at, not_yet, lowest_level(rubric))
