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


# The ways patients type a time of day (after lower-casing and trimming):
_TIME_PATTERNS = (
    re.compile(r"(?P<hour>[01]?\d|2[0-3])\s*[:.h]\s*(?P<minute>[0-5]\d)"),    # 9:05, 21.30, 19h30
    re.compile(r"(?P<hour>[01]?\d|2[0-3])(?P<minute>[0-5]\d)"),                 # 2130, 930
    re.compile(r"(?P<hour>[01]?\d|2[0-3])\s*h"),                               # 19h
    # 12-hour, as phones and US patients write it: 7pm, 7:30 pm, 7.30PM, 12:15 a.m.
    re.compile(r"(?P<hour>0?[1-9]|1[0-2])(?:\s*[:.]\s*(?P<minute>[0-5]\d))?\s*(?P<half>[ap])\.?\s*m\.?"),
)


def parse_local_time(text: str) -> time | None:
    """A time of day typed by a patient, 24-hour or with am/pm; None if it is not one.

    A bare hour ('9') is refused: 9 in the morning or at night is the patient's to say."""
    typed = text.strip().lower()
    for pattern in _TIME_PATTERNS:
        if match := pattern.fullmatch(typed):
            parts = match.groupdict()
            hour = int(parts["hour"])
            if parts.get("half"):
                hour = hour % 12 + (12 if parts["half"] == "p" else 0)
            return time(hour, int(parts.get("minute") or 0))
    return None


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


# -- a course of treatment ----------------------------------------------------------------
# The issue asks to compare the week before the first session with the last week, and to
# cite the IMMPACT group's thresholds as theirs (Dworkin RH et al., J Pain 2008;9:105-121:
# a fall of about 30% is a moderately important change, about 50% a substantial one). The
# bot reports the figures; what they mean for a patient is for the clinic to say.
IMMPACT_MODERATE = 0.30
IMMPACT_SUBSTANTIAL = 0.50


@dataclass(frozen=True)
class CourseChange:
    first_session: date
    before: float          # average of the check-ins in the 7 days before the first session
    before_count: int
    last: float            # average of the check-ins in the last 7 days
    last_count: int

    @property
    def points(self) -> float:
        """After minus before: negative when pain is lower now."""
        return self.last - self.before

    @property
    def percent(self) -> float | None:
        """The change as a per cent of the average before; None when that was 0."""
        if self.before == 0:
            return None
        return 100 * (self.last - self.before) / self.before


def course_change(scores: list[Score], first_session: date | None, zone: ZoneInfo, now: datetime) -> CourseChange | None:
    """The 7 local days before the first session against the last 7 days (by `now`).

    None without a session, without check-ins in either week, or while the two weeks
    overlap (the first session was less than 7 days ago): there is nothing fair to compare.
    """
    if first_session is None:
        return None
    session_start = datetime.combine(first_session, time(0, 0), tzinfo=zone).astimezone(timezone.utc)
    before_start = session_start - timedelta(days=7)
    last_start = now - timedelta(days=7)
    if last_start < session_start:
        return None
    before = [score.pain for score in scores if before_start <= score.at < session_start]
    # The same 7 days as the history's "Last 7 days" line (period_stats), edges included.
    last = [score.pain for score in scores if last_start <= score.at <= now]
    if not before or not last:
        return None
    return CourseChange(first_session, mean(before), len(before), mean(last), len(last))


def peg_score(pain: int, enjoyment: int, activity: int) -> float:
    """The PEG score: the mean of its three 0-10 items (Krebs EE et al., J Gen Intern Med
    2009;24:733-738)."""
    return (pain + enjoyment + activity) / 3


@dataclass(frozen=True)
class WeekSummary:
    start: date            # the first local day of the week (weeks end on the report's last day)
    end: date
    checkins: int
    pain: float | None
    interference: float | None


def weekly_summaries(
    days: list[tuple[date, int, int | None]], first: date, last: date
) -> list[WeekSummary]:
    """Average pain and interference per 7-day week from `first` to `last` (local dates),
    the last week ending on `last`; `days` holds (local date, pain, interference or None)."""
    weeks = []
    end = last
    while end >= first:
        start = max(first, end - timedelta(days=6))
        chosen = [(pain, interference) for day, pain, interference in days if start <= day <= end]
        interferences = [interference for _, interference in chosen if interference is not None]
        weeks.append(WeekSummary(
            start, end, len(chosen),
            mean(pain for pain, _ in chosen) if chosen else None,
            mean(interferences) if interferences else None,
        ))
        end = start - timedelta(days=1)
    return list(reversed(weeks))


def parse_day(text: str, today: date, month_names: dict[int, list[str]]) -> date | None:
    """A date a patient typed: "2026-11-30", "30 Nov", "Nov 30", "30 November"; None if it
    is not one, or is in the future, or more than a year ago. `month_names` maps 1-12 to
    the names (full and short, any case) in the patient's language, from Babel."""
    cleaned = text.strip().lower().replace(",", " ").replace(".", " ")
    if match := re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", cleaned):
        year, month, day = (int(part) for part in match.groups())
    else:
        words = cleaned.split()
        names = {name.lower().rstrip("."): number for number, all_names in month_names.items() for name in all_names}
        numbers = [word for word in words if word.isdigit()]
        months = [names[word] for word in words if word in names]
        if len(words) not in (2, 3) or len(months) != 1 or not numbers:
            return None
        month, day = months[0], int(numbers[0])
        year = int(numbers[1]) if len(numbers) > 1 else today.year
        if len(numbers) == 1 and (month, day) > (today.month, today.day):
            year -= 1  # "30 Dec" typed on 2 Jan means last December
    try:
        result = date(year, month, day)
    except ValueError:
        return None
    if result > today or result < today - timedelta(days=366):
        return None
    return result
