"""Scoring against an analytic rubric: pure functions, no database.

The score follows from the levels chosen, one per criterion: the sum of their points over the sum
of each criterion's top points. Proficient is at least the task's threshold of that maximum.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class RubricError(ValueError):
    """A grade that does not fit the rubric; the message names the criterion."""


@dataclass(frozen=True)
class RubricScore:
    points: int
    max_points: int
    proficient: bool

    @property
    def fraction(self) -> float:
        return self.points / self.max_points if self.max_points else 0.0


def max_points(rubric: dict[str, Any]) -> int:
    return sum(max(criterion["points"]) for criterion in rubric["criteria"])


def score(rubric: dict[str, Any], levels: dict[str, int], proficient_at: float) -> RubricScore:
    """The score of `levels` (level index per criterion id). Every criterion needs a level."""
    criteria = {c["id"]: c for c in rubric["criteria"]}
    unknown = sorted(set(levels) - set(criteria))
    if unknown:
        raise RubricError(f"no criterion {unknown[0]!r} in this rubric")
    total = 0
    for criterion_id, criterion in criteria.items():
        if criterion_id not in levels:
            raise RubricError(f"choose a level for “{criterion['title']}”")
        index = levels[criterion_id]
        if not isinstance(index, int) or isinstance(index, bool):
            raise RubricError(f"the level for “{criterion['title']}” is not one of its levels")
        if not 0 <= index < len(criterion["points"]):
            raise RubricError(f"the level for “{criterion['title']}” is not one of its levels")
        total += criterion["points"][index]
    top = max_points(rubric)
    # Compare in integers scaled by 10,000 so 0.75 of 16 is exactly 12, never 11.999.
    proficient = total * 10_000 >= round(proficient_at * 10_000) * top
    return RubricScore(points=total, max_points=top, proficient=proficient)
