"""The pure arithmetic of check-ins and reminders, checked against hand-worked cases."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.painlog import (
    Score,
    decide_reminder,
    first_and_last_week,
    meaningful_change,
    next_occurrence,
    pain_alert,
    parse_local_time,
    period_stats,
    rolling_average,
)

LA = ZoneInfo("America/Los_Angeles")
UTC = timezone.utc


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("9:05", time(9, 5)), ("09:05", time(9, 5)), ("21.30", time(21, 30)), ("2130", time(21, 30)), (" 7:00 ", time(7, 0)),
     # 12-hour, as US patients and phones write it.
     ("7:30pm", time(19, 30)), ("7:30 PM", time(19, 30)), ("7pm", time(19, 0)), ("7.30 p.m.", time(19, 30)),
     ("8 am", time(8, 0)), ("12am", time(0, 0)), ("12:15 pm", time(12, 15)), ("19h", time(19, 0)), ("19h30", time(19, 30))],
)
def test_times_a_patient_might_type(text: str, expected: time) -> None:
    assert parse_local_time(text) == expected


@pytest.mark.parametrize("text", ["25:00", "9", "noon", "12:60", "", "13pm", "0am", "7:30 xm"])
def test_not_times(text: str) -> None:
    assert parse_local_time(text) is None


def test_next_occurrence_keeps_local_time_across_dst() -> None:
    # US daylight saving starts on 8 March 2026: 09:00 in Los Angeles moves from 17:00 to 16:00 UTC.
    before = next_occurrence(time(9, 0), LA, at("2026-03-07T12:00:00+00:00"))
    assert before == at("2026-03-07T17:00:00+00:00")
    after = next_occurrence(time(9, 0), LA, before)
    assert after == at("2026-03-08T16:00:00+00:00")
    assert after.astimezone(LA).hour == 9


def test_a_time_skipped_by_the_clock_change_happens_an_hour_later() -> None:
    moment = next_occurrence(time(2, 30), LA, at("2026-03-08T08:00:00+00:00"))
    assert moment.astimezone(LA).strftime("%Y-%m-%d %H:%M") == "2026-03-08 03:30"


def test_a_prompt_up_to_two_hours_late_is_sent_once() -> None:
    nine = at("2026-11-21T09:00:00-08:00")
    late = decide_reminder(at=time(9), zone=LA, due=nine, snoozed=False, last_sent_day=None, now=nine + timedelta(hours=2))
    assert late.send and late.day == date(2026, 11, 21)
    assert late.next_due == at("2026-11-22T09:00:00-08:00")
    again = decide_reminder(at=time(9), zone=LA, due=nine, snoozed=False, last_sent_day=date(2026, 11, 21), now=nine + timedelta(hours=2))
    assert not again.send


def test_a_prompt_more_than_two_hours_late_is_skipped() -> None:
    nine = at("2026-11-21T09:00:00-08:00")
    decision = decide_reminder(at=time(9), zone=LA, due=nine, snoozed=False, last_sent_day=None, now=nine + timedelta(hours=2, seconds=1))
    assert not decision.send
    assert decision.next_due == at("2026-11-22T09:00:00-08:00")


def test_after_days_down_only_todays_prompt_can_go() -> None:
    due = at("2026-11-18T09:00:00-08:00")
    decision = decide_reminder(at=time(9), zone=LA, due=due, snoozed=False, last_sent_day=date(2026, 11, 17), now=at("2026-11-21T10:00:00-08:00"))
    assert decision.send and decision.day == date(2026, 11, 21)


def test_a_snooze_past_midnight_does_not_use_up_the_next_day() -> None:
    due = at("2026-11-22T00:30:00-08:00")
    decision = decide_reminder(at=time(23, 30), zone=LA, due=due, snoozed=True, last_sent_day=date(2026, 11, 21), now=due)
    assert decision.send and decision.day is None


def test_period_stats_and_rolling_average() -> None:
    now = at("2026-11-21T12:00:00+00:00")
    scores = [Score(now - timedelta(days=day), pain) for day, pain in [(0, 4), (1, 6), (2, 8), (10, 2)]]
    week = period_stats(scores, now - timedelta(days=7), now)
    assert (week.count, week.average, week.lowest, week.highest) == (3, 6.0, 4, 8)
    assert period_stats(scores, now - timedelta(days=1, hours=1), now - timedelta(hours=1)).count == 1
    averages = dict(rolling_average(scores))
    assert averages[now - timedelta(days=10)] == 2
    assert averages[now] == 6.0  # the 2 from ten days ago has left the window


@pytest.mark.parametrize(("before", "after", "expected"), [(6, 4, -1), (6, 4.5, 0), (3, 2, -1), (3, 2.2, 0), (4, 6, 1), (0, 1, 0)])
def test_meaningful_change_is_two_points_or_thirty_percent(before: float, after: float, expected: int) -> None:
    assert meaningful_change(before, after) == expected


def test_first_and_last_week_need_two_separate_weeks() -> None:
    start = at("2026-11-01T12:00:00+00:00")
    scores = [Score(start + timedelta(days=day), 7 if day < 7 else 4) for day in range(0, 21)]
    assert first_and_last_week(scores, start + timedelta(days=10)) is None
    assert first_and_last_week(scores, start + timedelta(days=20, hours=1)) == (7, 4)


def test_pain_alert_for_high_scores_and_weekly_rises() -> None:
    now = at("2026-11-21T12:00:00+00:00")
    week = [Score(now - timedelta(days=day), 3) for day in range(1, 6)]
    assert pain_alert(Score(now, 9), [])
    assert pain_alert(Score(now, 6), week)
    assert not pain_alert(Score(now, 5), week)
    assert not pain_alert(Score(now, 8), [Score(now - timedelta(days=9), 2)])  # older than a week
