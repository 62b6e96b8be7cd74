"""Item statistics and decision quality: pure functions over pandas frames.

- Facility: the mean credit learners earned on a question (1.0 = everyone got it right).
- Discrimination: the corrected item-total correlation, i.e. the correlation between the credit on
  the question and the score on the rest of the attempt. High values mean the question separates
  strong from weak learners; values near zero or below mean it does not (or is flawed).
- Decision quality (DESIGN.md section 6): the relative change of the mean scenario score from the
  pre-assessment to the parallel post-assessment, over learners who took both.
"""

from __future__ import annotations

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


def item_statistics(
    responses: pd.DataFrame, min_attempts: int = MIN_ATTEMPTS
) -> list[ItemStatistic]:
    """`responses`: one row per graded item, columns attempt, question, credit, points."""
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
        if credit.std() == 0 or rest.std() == 0:
            note = (
                "everyone scored the same on it"
                if credit.std() == 0
                else ("the rest of the attempts scored the same")
            )
            results.append(ItemStatistic(str(question), count, facility, None, note))
            continue
        discrimination = float(pd.Series(credit).corr(pd.Series(rest)))
        results.append(ItemStatistic(str(question), count, facility, discrimination, None))
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
