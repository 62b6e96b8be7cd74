"""Item statistics and decision quality: pure functions over pandas frames.

- Facility: the mean credit learners earned on a question (1.0 = everyone got it right).
- Discrimination: the corrected item-total correlation, i.e. the correlation between the credit on
  the question and the score on the rest of the attempt. High values mean the question separates
  strong from weak learners; values near zero or below mean it does not (or is flawed).
- Notes flag an item to look at: discrimination below a floor, or facility above a ceiling (the
  figures `item-discrimination-floor` and `item-facility-ceiling`, passed in by the caller).
- Per objective: the facility over the answers to the items tagged with it, and the mean of those
  items' discriminations, so a manager sees which objectives the cohort has not learned.
- Decision quality (DESIGN.md section 6): the relative change of the mean scenario score from the
  pre-assessment to the parallel post-assessment, over learners who took both.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

#: Below this many graded attempts a statistic says "too few attempts" instead of a number.
MIN_ATTEMPTS = 5


@dataclass(frozen=True)
class ItemStatistic:
    question: str
    attempts: int
    facility: float | None
    discrimination: float | None
    note: str | None


def _flags(
    facility: float, discrimination: float | None, floor: float, ceiling: float
) -> list[str]:
    flags = []
    if discrimination is not None and discrimination < floor:
        flags.append(
            f"discriminates weakly ({discrimination:.2f} < {floor:g}): "
            "check the key and distractors"
        )
    if facility > ceiling:
        flags.append(f"almost everyone gets it right ({facility:.2f} > {ceiling:g})")
    return flags


def item_statistics(
    responses: pd.DataFrame,
    min_attempts: int = MIN_ATTEMPTS,
    *,
    discrimination_floor: float,
    facility_ceiling: float,
) -> list[ItemStatistic]:
    """`responses`: one row per graded item, columns attempt, question, credit, points.
    An item gets a note when it cannot be computed, discriminates below `discrimination_floor`
    or has a facility above `facility_ceiling` (several notes are joined with "; ")."""
    if responses.empty:
        return []
    frame = responses.assign(earned=responses["credit"] * responses["points"])
    totals = frame.groupby("attempt")["earned"].sum()
    results = []
    for question, rows in frame.groupby("question", sort=True):
        count = len(rows)
        if count < min_attempts:
            results.append(
                ItemStatistic(
                    str(question),
                    count,
                    None,
                    None,
                    f"too few attempts ({count} of {min_attempts} needed)",
                )
            )
            continue
        facility = float(rows["credit"].mean())
        rest = totals.loc[rows["attempt"]].to_numpy() - rows["earned"].to_numpy()
        credit = rows["credit"].to_numpy()
        notes = []
        discrimination = None
        if credit.std() == 0:
            notes.append("everyone scored the same on it")
        elif rest.std() == 0:
            notes.append("the rest of the attempts scored the same")
        else:
            discrimination = float(pd.Series(credit).corr(pd.Series(rest)))
        notes += _flags(facility, discrimination, discrimination_floor, facility_ceiling)
        results.append(
            ItemStatistic(str(question), count, facility, discrimination, "; ".join(notes) or None)
        )
    return results


@dataclass(frozen=True)
class ObjectiveStatistic:
    objective: str
    #: Questions tagged with the objective.
    questions: int
    #: Graded attempts that asked at least one of them.
    attempts: int
    facility: float | None
    #: The mean of its items' discriminations (those that could be computed).
    discrimination: float | None
    note: str | None


def objective_statistics(
    responses: pd.DataFrame,
    tags: Mapping[str, Collection[str]],
    items: Sequence[ItemStatistic],
    objectives: Sequence[str] | None = None,
    min_attempts: int = MIN_ATTEMPTS,
) -> list[ObjectiveStatistic]:
    """Per objective: `responses` as for `item_statistics`; `tags`: question -> the objectives
    it tests; `items`: `item_statistics` of the same responses; `objectives`: the objectives to
    report, in order (default: every tagged one, sorted).

    Facility is the mean credit over every answer to the objective's items (an item asked more
    often weighs more, as it does in the learners' scores); discrimination is the plain mean of
    its items' discriminations, since a correlation does not pool across items."""
    wanted = list(objectives) if objectives is not None else sorted(set().union(*tags.values()))
    discriminations = {
        item.question: item.discrimination for item in items if item.discrimination is not None
    }
    results = []
    for objective in wanted:
        questions = [question for question, found in tags.items() if objective in found]
        rows = (
            responses[responses["question"].isin(questions)] if not responses.empty else responses
        )
        attempts = int(rows["attempt"].nunique()) if not rows.empty else 0
        if not questions:
            results.append(ObjectiveStatistic(objective, 0, 0, None, None, "no question tests it"))
            continue
        if attempts < min_attempts:
            results.append(
                ObjectiveStatistic(
                    objective,
                    len(questions),
                    attempts,
                    None,
                    None,
                    f"too few attempts ({attempts} of {min_attempts} needed)",
                )
            )
            continue
        found = [discriminations[q] for q in questions if q in discriminations]
        results.append(
            ObjectiveStatistic(
                objective,
                len(questions),
                attempts,
                float(rows["credit"].mean()),
                sum(found) / len(found) if found else None,
                None if found else "no item's discrimination could be computed",
            )
        )
    return results


@dataclass(frozen=True)
class DecisionQuality:
    learners: int
    pre_mean: float | None
    post_mean: float | None
    improvement: float | None
    note: str | None


def scenario_scores(items: pd.DataFrame) -> pd.DataFrame:
    """`items`: one row per graded item, columns learner, purpose, attempt, type (as the
    attempt's snapshot shows it), credit and points. Returns one row per attempt with scenario
    items, columns learner, purpose, scenario_score = sum(credit × points) ÷ sum(points) over
    its scenario items: the input of `decision_quality`."""
    columns = ["learner", "purpose", "scenario_score"]
    scenario = items[items["type"] == "scenario"]
    if scenario.empty:
        return pd.DataFrame(columns=columns)
    frame = scenario.assign(earned=scenario["credit"] * scenario["points"])
    sums = frame.groupby(["learner", "purpose", "attempt"], as_index=False)[
        ["earned", "points"]
    ].sum()
    sums = sums[sums["points"] > 0]
    return sums.assign(scenario_score=sums["earned"] / sums["points"])[columns].reset_index(
        drop=True
    )


def decision_quality(scores: pd.DataFrame) -> DecisionQuality:
    """`scores`: one row per learner and purpose ("pre" or "post"), columns learner, purpose,
    scenario_score (a fraction). Only learners with both count."""
    if scores.empty:
        return DecisionQuality(0, None, None, None, "no pre- and post-assessment results yet")
    table = scores.pivot_table(
        index="learner", columns="purpose", values="scenario_score", aggfunc="max"
    )
    if "pre" not in table or "post" not in table:
        return DecisionQuality(
            0, None, None, None, "nobody has taken both the pre- and the post-assessment yet"
        )
    both = table.dropna(subset=["pre", "post"])
    if both.empty:
        return DecisionQuality(
            0, None, None, None, "nobody has taken both the pre- and the post-assessment yet"
        )
    pre, post = float(both["pre"].mean()), float(both["post"].mean())
    if pre == 0:
        return DecisionQuality(
            len(both),
            pre,
            post,
            None,
            "the pre-assessment mean is zero, so a relative change is undefined",
        )
    return DecisionQuality(len(both), pre, post, (post - pre) / pre, None)


@dataclass(frozen=True)
class ScoreChange:
    """One learner's post-assessment against their pre-assessment, in whole percentages.

    Rounded first and subtracted after, so "45%, now 80%: +35 points" always adds up on the page.
    `pre` is None when the learner never took the pre-assessment; the scenario figures are None
    when either side has no scenario questions.
    """

    pre: int | None
    post: int
    pre_scenario: int | None
    post_scenario: int | None

    @property
    def points(self) -> int | None:
        return None if self.pre is None else self.post - self.pre

    @property
    def scenario_points(self) -> int | None:
        if self.pre_scenario is None or self.post_scenario is None:
            return None
        return self.post_scenario - self.pre_scenario


def _whole_percent(fraction: float) -> int:
    # round() halves to even like the '%.0f' the result page's heading uses, so both agree.
    return round(fraction * 100)


def score_change(items: pd.DataFrame) -> ScoreChange | None:
    """`items`: one row per graded item of one learner's post-assessment attempt and of their
    pre-assessment attempts, columns purpose ("pre" or "post"), attempt, type, credit, points.
    Scores are points earned ÷ points; of several pre attempts the best counts, and the scenario
    score is `scenario_scores`'s, as in `decision_quality`. None without a post attempt."""
    frame = items.assign(earned=items["credit"] * items["points"])
    sums = frame.groupby(["purpose", "attempt"])[["earned", "points"]].sum()
    sums = sums[sums["points"] > 0]
    overall = (sums["earned"] / sums["points"]).groupby(level="purpose").max()
    if "post" not in overall:
        return None
    scenario = scenario_scores(items.assign(learner=0)).groupby("purpose")["scenario_score"].max()

    def percent(series: pd.Series, purpose: str) -> int | None:
        return _whole_percent(float(series[purpose])) if purpose in series else None

    return ScoreChange(
        pre=percent(overall, "pre"),
        post=_whole_percent(float(overall["post"])),
        pre_scenario=percent(scenario, "pre"),
        post_scenario=percent(scenario, "post"),
    )
