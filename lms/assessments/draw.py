"""Which questions an attempt asks: a draw stratified by objective, so that every attempt tests
every objective its bank has questions for, the remaining places drawn at random.

Pure: the bank's questions with their objective tags in, the drawn questions out in the order
shown. The attempt's seeded generator makes the same seed give the same draw.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Sequence
from typing import TypeVar

T = TypeVar("T")


def draw_questions(
    questions: Sequence[T], tags: Sequence[Collection[str]], count: int, rng: random.Random
) -> list[T]:
    """`count` of `questions` (`tags[i]`: the objectives question i tests), in the order shown.

    First a set covering every tagged objective: objectives are taken in a random order and each
    one not yet covered gets one of its questions at random (a question may cover several, so
    the set never outnumbers the objectives). The other places are drawn at random from the
    rest, untagged questions included, and the whole is shuffled so the covering set is not
    always asked first.
    """
    count = min(count, len(questions))
    if not any(tags):
        # An untagged bank draws exactly as before tags existed: same seed, same attempt.
        return rng.sample(list(questions), count)
    # Sorted first: set order varies between processes, and a seed must give one draw.
    objectives = sorted({tag for question_tags in tags for tag in question_tags})
    rng.shuffle(objectives)
    chosen: list[int] = []
    covered: set[str] = set()
    for objective in objectives:
        if objective in covered:
            continue
        pick = rng.choice([index for index, found in enumerate(tags) if objective in found])
        chosen.append(pick)
        covered.update(tags[pick])
    # Only a draw smaller than the objectives cuts the cover short; the schema refuses that for
    # a module's bank, so it can only happen in a pre- or post-assessment with a small draw.
    chosen = chosen[:count]
    taken = set(chosen)
    rest = [index for index in range(len(questions)) if index not in taken]
    chosen += rng.sample(rest, count - len(chosen))
    rng.shuffle(chosen)
    return [questions[index] for index in chosen]
