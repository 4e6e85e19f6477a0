"""The arithmetic of daily check-ins and reminders. Pure functions: no Telegram, no I/O.

Scores use the 0–10 numeric rating scale (0 = no pain, 10 = worst pain imaginable).
Thresholds come from the issue that specified the feature and the pain-research convention
that a change of 2 points or 30% on this scale is clinically meaningful (IMMPACT).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from statistics import mean
from zoneinfo import ZoneInfo

# A prompt missed while the bot was down is still sent if it is at most this late.
MISSED_PROMPT_GRACE = timedelta(hours=2)
SNOOZE = timedelta(hours=1)
HIGH_PAIN = 9                 # a score this high suggests calling the clinic
WEEKLY_RISE_ALERT = 3         # ...as does a rise of this much over the week before
MEANINGFUL_POINTS = 2.0
MEANINGFUL_FRACTION = 0.30


@dataclass(frozen=True)
class Score:
    at: datetime  # aware, UTC
    pain: int


@dataclass(frozen=True)
class PeriodStats:
    count: int
    average: float | None
    lowest: int | None
    highest: int | None


def parse_local_time(text: str) -> time | None:
    """'9:05', '09:05', '21.30' or '2130' as a time of day; None if it is not one."""
    match = re.fullmatch(r"\s*([01]?\d|2[0-3])\s*[:.h]?\s*([0-5]\d)\s*", text)
    if not match:
        return None
    return time(int(match.group(1)), int(match.group(2)))


def local_occurrence(day: date, at: time, zone: ZoneInfo) -> datetime:
    """`at` on `day` in `zone`, as UTC. A time skipped by a spring-forward change happens
    an hour later that day (02:30 becomes 03:30); an ambiguous one at its first occurrence."""
    local = datetime.combine(day, at, tzinfo=zone)
    return local.astimezone(timezone.utc)


def next_occurrence(at: time, zone: ZoneInfo, after: datetime) -> datetime:
    """The first time strictly after `after` that the clock in `zone` shows `at` (UTC)."""
    day = after.astimezone(zone).date() - timedelta(days=1)
    while True:
        candidate = local_occurrence(day, at, zone)
        if candidate > after:
            return candidate
        day += timedelta(days=1)


def latest_occurrence(at: time, zone: ZoneInfo, until: datetime) -> datetime:
    """The last time at or before `until` that the clock in `zone` showed `at` (UTC)."""
    day = until.astimezone(zone).date() + timedelta(days=1)
    while True:
        candidate = local_occurrence(day, at, zone)
        if candidate <= until:
            return candidate
        day -= timedelta(days=1)


@dataclass(frozen=True)
class ReminderDecision:
    send: bool
    day: date | None      # the local day a daily prompt is sent for, to record (not for a snooze)
    next_due: datetime    # when to look at this reminder again


def decide_reminder(
    *, at: time, zone: ZoneInfo, due: datetime, snoozed: bool, last_sent_day: date | None, now: datetime
) -> ReminderDecision:
    """What to do with a reminder whose due time has come.

    A daily prompt goes out if the latest scheduled time is at most 2 hours ago and no
    prompt went out for that day yet (so never two for one day, even after a restart). A
    snoozed prompt is the same day's prompt asked again by the patient: it goes out if it is
    at most 2 hours late. Either way the next look is the next scheduled time after now.
    """
    following = next_occurrence(at, zone, now)
    if snoozed:
        # The day was recorded when the daily prompt went out; a snooze past midnight must
        # not mark the next day as done.
        return ReminderDecision(now - due <= MISSED_PROMPT_GRACE, None, following)
    scheduled = latest_occurrence(at, zone, now)
    day = scheduled.astimezone(zone).date()
    send = now - scheduled <= MISSED_PROMPT_GRACE and day != last_sent_day
    return ReminderDecision(send, day if send else None, following)


def period_stats(scores: list[Score], start: datetime, end: datetime) -> PeriodStats:
    chosen = [score.pain for score in scores if start <= score.at <= end]
    if not chosen:
        return PeriodStats(0, None, None, None)
    return PeriodStats(len(chosen), round(mean(chosen), 1), min(chosen), max(chosen))


def meaningful_change(before: float, after: float) -> int:
    """+1 for a clinically meaningful rise, -1 for a drop, 0 otherwise (2 points or 30%)."""
    difference = after - before
    if abs(difference) >= MEANINGFUL_POINTS or (before > 0 and abs(difference) / before >= MEANINGFUL_FRACTION):
        return 1 if difference > 0 else -1
    return 0


def first_and_last_week(scores: list[Score], now: datetime) -> tuple[float, float] | None:
    """Averages of the first 7 days of check-ins and of the last 7 days, when they differ.

    None until there are two separate weeks to compare (the first week ended more than
    a week ago, so the two do not overlap).
    """
    if not scores:
        return None
    first_day = min(score.at for score in scores)
    first_week_end = first_day + timedelta(days=7)
    last_week_start = now - timedelta(days=7)
    if first_week_end > last_week_start:
        return None
    first = [score.pain for score in scores if score.at < first_week_end]
    last = [score.pain for score in scores if score.at >= last_week_start]
    if not first or not last:
        return None
    return mean(first), mean(last)


def pain_alert(current: Score, earlier: list[Score]) -> str | None:
    """Why to suggest contacting the clinic: "high" for a score of 9 or 10, "rise" for 3+
    points above the average of the 7 days before this check-in; None for no reason.

    It is not a diagnosis, only a nudge to talk to people who can judge.
    """
    if current.pain >= HIGH_PAIN:
        return "high"
    week = [score.pain for score in earlier if current.at - timedelta(days=7) <= score.at < current.at]
    if week and current.pain - mean(week) >= WEEKLY_RISE_ALERT:
        return "rise"
    return None


def rolling_average(scores: list[Score], days: int = 7) -> list[tuple[datetime, float]]:
    """For each check-in, the average of the check-ins in the `days` before and including it."""
    ordered = sorted(scores, key=lambda score: score.at)
    result = []
    start = 0
    total = 0
    for index, score in enumerate(ordered):
        total += score.pain
        while ordered[start].at < score.at - timedelta(days=days):
            total -= ordered[start].pain
            start += 1
        result.append((score.at, total / (index - start + 1)))
    return result
