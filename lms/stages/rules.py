"""The stage rules of DESIGN.md section 5, as pure functions over dates and numbers.

- The stage clock counts days from the enrolment's start in the organisation's calendar, less
  the days it stood still: paused by a manager (leave) or held by the engine while the gate
  waits for content (a requirement that cannot be met because its content is in preparation).
  A day both paused and held counts once.
- While the gate waits for content the status is "waiting-for-content", whatever the day: the
  learner cannot meet the gate, so the window is not held against them.
- A windowed stage (the first three) is overdue once its window (plus extensions) has passed,
  at risk when more than 75% of it has passed and less than half of its gate is met, otherwise
  on track. The open-ended stages are active with activity in the last 30 days, else inactive.
The thresholds come from figures.yaml; callers pass them in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Window:
    start_day: int
    end_day: int | None  # None: open-ended

    @property
    def open_ended(self) -> bool:
        return self.end_day is None


@dataclass(frozen=True)
class Thresholds:
    at_risk_elapsed: float = 0.75
    at_risk_gate_below: float = 0.5
    active_within_days: int = 30


@dataclass(frozen=True)
class StageStatus:
    status: str  # on-track, at-risk, overdue, active, inactive, waiting-for-content
    reason: str
    day: int
    window_end_day: int | None


WAITING = "waiting-for-content"


def paused_days(pauses: list[tuple[date, date | None]], today: date) -> int:
    """Days the clock stood still up to `today`; an open span runs until today. Overlapping
    spans (a pause during a hold) count their common days once."""
    spans = sorted(
        (start, min(end or today, today)) for start, end in pauses if start < (end or today)
    )
    total = 0
    covered_to: date | None = None
    for start, end in spans:
        if covered_to is not None and start < covered_to:
            start = covered_to
        if end > start:
            total += (end - start).days
            covered_to = end
    return total


def hold_from(stage_entered: date, released: list[date]) -> date:
    """Where a new hold of the clock starts: the day the enrolment entered its stage (we cannot
    know when the content went missing, and a module without a lesson has, in practice, never
    had one, so the whole stage so far was spent waiting), or the day an earlier hold in this
    stage was released, when later (the days between count: content was there)."""
    return max([stage_entered, *released])


def clock_day(start: date, today: date, pauses: list[tuple[date, date | None]]) -> int:
    """The enrolment's stage-clock day: 0 on its start date. Only days from the start stand
    still (a start date moved later leaves no earlier pause or hold to count)."""
    spans = [(max(begin, start), end) for begin, end in pauses]
    return (today - start).days - paused_days(spans, today)


def stage_status(
    window: Window,
    day: int,
    *,
    extension_days: int,
    gate_met: int,
    gate_total: int,
    last_activity: date | None,
    today: date,
    thresholds: Thresholds,
    waiting_for: str | None = None,
) -> StageStatus:
    """`waiting_for`: why the gate cannot be met with today's content, if it cannot."""
    end_day = None if window.open_ended else window.end_day + extension_days  # type: ignore[operator]
    if waiting_for:
        return StageStatus(
            WAITING,
            f"waiting for content: {waiting_for}; the stage clock is held on day {day}",
            day,
            end_day,
        )
    if window.open_ended:
        if last_activity is not None and (today - last_activity).days <= (
            thresholds.active_within_days
        ):
            return StageStatus("active", f"active on {last_activity.isoformat()}", day, None)
        when = f"since {last_activity.isoformat()}" if last_activity else "yet"
        return StageStatus(
            "inactive",
            f"no learning activity in the last {thresholds.active_within_days} days ({when})"
            if last_activity
            else "no learning activity yet",
            day,
            None,
        )
    end = window.end_day + extension_days  # type: ignore[operator]
    length = max(1, end - window.start_day)
    met = gate_met / gate_total if gate_total else 1.0
    if day > end:
        return StageStatus(
            "overdue",
            f"window ended on day {end} with {gate_met} of {gate_total} gate requirements met",
            day,
            end,
        )
    elapsed = (day - window.start_day) / length
    if elapsed > thresholds.at_risk_elapsed and met < thresholds.at_risk_gate_below:
        return StageStatus(
            "at-risk",
            f"{elapsed:.0%} of the window gone with {gate_met} of {gate_total} gate "
            "requirements met",
            day,
            end,
        )
    return StageStatus(
        "on-track", f"day {day} of {end}; gate {gate_met} of {gate_total} met", day, end
    )
