"""The stage rules of DESIGN.md section 5 as pure functions: the stage clock with pauses, and the
status of a windowed stage (on track, at risk, overdue) or an open-ended one (active, inactive).

Every expected number here is worked out by hand in the comment beside it.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from lms.stages.rules import Thresholds, Window, clock_day, paused_days, stage_status

INITIAL = Window(0, 30)
PROFICIENCY = Window(30, 60)
INNOVATION = Window(90, None)
TODAY = date(2025, 6, 30)
LIMITS = Thresholds()  # 75% of the window, half the gate, 30 days: as in figures.yaml


def status(
    window: Window,
    day: int,
    *,
    met: int = 0,
    total: int = 4,
    extension: int = 0,
    last_activity: date | None = None,
    thresholds: Thresholds = LIMITS,
):
    return stage_status(
        window,
        day,
        extension_days=extension,
        gate_met=met,
        gate_total=total,
        last_activity=last_activity,
        today=TODAY,
        thresholds=thresholds,
    )


# --- The stage clock -------------------------------------------------------------------------


def test_the_clock_is_day_zero_on_the_start_date() -> None:
    assert clock_day(date(2025, 1, 1), date(2025, 1, 1), []) == 0
    assert clock_day(date(2025, 1, 1), date(2025, 1, 31), []) == 30


def test_a_start_in_the_future_gives_a_negative_day() -> None:
    assert clock_day(date(2025, 2, 10), date(2025, 2, 1), []) == -9


def test_a_closed_pause_takes_its_days_off_the_clock() -> None:
    # 1 Jan to 31 Jan is 30 days; paused 10 Jan, resumed 15 Jan: 5 days stood still.
    pauses = [(date(2025, 1, 10), date(2025, 1, 15))]
    assert paused_days(pauses, date(2025, 1, 31)) == 5
    assert clock_day(date(2025, 1, 1), date(2025, 1, 31), pauses) == 25


def test_an_open_pause_stops_the_clock_until_today() -> None:
    # Paused on 25 Jan and not resumed: 6 days stood still by 31 Jan, 7 by 1 Feb.
    pauses = [(date(2025, 1, 25), None)]
    assert clock_day(date(2025, 1, 1), date(2025, 1, 31), pauses) == 24
    assert clock_day(date(2025, 1, 1), date(2025, 2, 1), pauses) == 24  # the clock stands still
    assert clock_day(date(2025, 1, 1), date(2025, 1, 25), pauses) == 24  # paused today: no loss


def test_closed_and_open_pauses_add_up() -> None:
    # 30 days, less 5 (10-15 Jan) and 6 (25 Jan until today, 31 Jan): day 19.
    pauses = [(date(2025, 1, 10), date(2025, 1, 15)), (date(2025, 1, 25), None)]
    assert clock_day(date(2025, 1, 1), date(2025, 1, 31), pauses) == 19


def test_a_pause_only_counts_up_to_today() -> None:
    # Paused 20 Jan, resumption planned for 10 Feb; on 31 Jan 11 days have stood still.
    pauses = [(date(2025, 1, 20), date(2025, 2, 10))]
    assert clock_day(date(2025, 1, 1), date(2025, 1, 31), pauses) == 19
    # A pause that starts after today has taken nothing yet.
    assert paused_days([(date(2025, 2, 5), None)], date(2025, 1, 31)) == 0


# --- Windowed stages: on track or at risk ------------------------------------------------------


def test_exactly_three_quarters_of_the_window_is_still_on_track() -> None:
    # Window 0-20: day 15 is exactly 75% gone, which is not "more than 75%".
    window = Window(0, 20)
    assert status(window, 15, met=0).status == "on-track"
    # Day 16 is 80% gone with nothing of the gate met.
    assert status(window, 16, met=0).status == "at-risk"


def test_at_risk_boundary_in_the_initial_window() -> None:
    # Window 0-30: day 22 is 73% gone, day 23 is 77%.
    assert status(INITIAL, 22, met=1).status == "on-track"
    at_risk = status(INITIAL, 23, met=1)
    assert at_risk.status == "at-risk"
    assert "77%" in at_risk.reason
    assert "1 of 4" in at_risk.reason


def test_the_window_counts_from_its_own_start_day() -> None:
    # Proficiency runs from day 30 to day 60: day 52 is 22 of 30 days (73%), day 53 is 77%.
    assert status(PROFICIENCY, 52, met=0).status == "on-track"
    assert status(PROFICIENCY, 53, met=0).status == "at-risk"


def test_a_gate_exactly_half_met_is_not_at_risk() -> None:
    # Late in the window (day 28 of 30, 93% gone): 2 of 4 is half, which is not "less than half".
    assert status(INITIAL, 28, met=2, total=4).status == "on-track"
    assert status(INITIAL, 28, met=1, total=4).status == "at-risk"
    # 1 of 3 is a third: at risk; 2 of 3 is not.
    assert status(INITIAL, 28, met=1, total=3).status == "at-risk"
    assert status(INITIAL, 28, met=2, total=3).status == "on-track"


def test_a_stage_without_a_gate_is_never_at_risk() -> None:
    assert status(INITIAL, 29, met=0, total=0).status == "on-track"


def test_thresholds_come_from_the_caller() -> None:
    strict = Thresholds(at_risk_elapsed=0.5, at_risk_gate_below=0.75, active_within_days=7)
    # Day 16 of 30 is 53% gone; 2 of 4 is below 75%: at risk under these thresholds only.
    assert status(INITIAL, 16, met=2).status == "on-track"
    assert status(INITIAL, 16, met=2, thresholds=strict).status == "at-risk"


# --- Windowed stages: overdue and extensions ---------------------------------------------------


def test_overdue_the_day_after_the_window_ends_and_not_on_it() -> None:
    on_the_last_day = status(INITIAL, 30, met=2)
    assert on_the_last_day.status == "on-track"
    assert on_the_last_day.window_end_day == 30
    assert status(INITIAL, 30, met=0).status == "at-risk"  # 100% gone, gate not half met
    overdue = status(INITIAL, 31, met=3)
    assert overdue.status == "overdue"  # even with most of the gate met
    assert overdue.window_end_day == 30
    assert "day 30" in overdue.reason
    assert "3 of 4" in overdue.reason
    assert status(PROFICIENCY, 61, met=3).status == "overdue"


def test_an_extension_moves_the_end_of_the_window() -> None:
    # 14 days more: the window ends on day 44 instead of 30.
    extended = status(INITIAL, 31, met=0, extension=14)
    assert extended.window_end_day == 44
    # Day 31 of 0-44 is 70% gone: on track even with nothing met.
    assert extended.status == "on-track"
    assert status(INITIAL, 44, met=2, extension=14).status == "on-track"
    assert status(INITIAL, 45, met=2, extension=14).status == "overdue"


def test_an_extension_also_moves_the_at_risk_point() -> None:
    # Window 0-40 after a 10-day extension: 75% is day 30, so day 30 is on track, day 31 not.
    assert status(INITIAL, 30, met=0, extension=10).status == "on-track"
    assert status(INITIAL, 31, met=0, extension=10).status == "at-risk"


# --- Open-ended stages -----------------------------------------------------------------------


def test_active_at_exactly_thirty_days_since_activity_and_inactive_at_31() -> None:
    active = status(INNOVATION, 120, last_activity=TODAY - timedelta(days=30))
    assert active.status == "active"
    assert active.window_end_day is None
    inactive = status(INNOVATION, 120, last_activity=TODAY - timedelta(days=31))
    assert inactive.status == "inactive"
    assert (TODAY - timedelta(days=31)).isoformat() in inactive.reason


def test_activity_today_is_active() -> None:
    assert status(INNOVATION, 95, last_activity=TODAY).status == "active"


def test_no_activity_yet_is_inactive() -> None:
    result = status(INNOVATION, 95, last_activity=None)
    assert result.status == "inactive"
    assert result.reason == "no learning activity yet"


def test_open_ended_stages_are_never_overdue_or_at_risk() -> None:
    # Day 400 with none of the gate met: an open-ended stage has no window to run out of.
    result = status(INNOVATION, 400, met=0, total=1, last_activity=TODAY - timedelta(days=2))
    assert result.status == "active"


@pytest.mark.parametrize("days", [0, 7, 8])
def test_the_activity_window_comes_from_the_thresholds(days: int) -> None:
    week = Thresholds(active_within_days=7)
    result = status(INNOVATION, 100, last_activity=TODAY - timedelta(days=days), thresholds=week)
    assert result.status == ("active" if days <= 7 else "inactive")
