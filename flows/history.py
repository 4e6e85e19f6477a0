"""History: how pain changed over the last 7 and 30 days, the change since the first
treatment session, the latest PEG check, and a chart of 7, 30 or 90 days."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date
from telegram import Update
from telegram.ext import CallbackContext, CallbackQueryHandler, CommandHandler

from bot import callbacks
from bot.chart import chart_labels, render_pain_chart
from bot.chat_filters import PRIVATE, in_private_chat
from bot.content import Language
from bot.menu import back_to_menu_row
from bot.painlog import (
    CourseChange,
    PeriodStats,
    Score,
    course_change,
    first_and_last_week,
    meaningful_change,
    peg_score,
    period_stats,
)
from bot.report import change_figures, number
from bot.screens import Button, Screen, answer_query, send
from bot.staff import Guarded
from bot.services import Services, language, patient_zone, services
from bot.storage import PegAnswer

DEFAULT_DAYS = 30


def _period_line(lang: Language, key: str, stats: PeriodStats) -> str:
    if stats.count == 0:
        return lang.text(f"{key}_none")
    return lang.text(key, average=lang.number(stats.average, 1), lowest=stats.lowest, highest=stats.highest, count=stats.count)


def course_change_lines(lang: Language, change: CourseChange) -> list[str]:
    """The change since the first session, in plain figures, with IMMPACT's thresholds as
    theirs and the clinic as the one who says what it means. Never a verdict."""
    figures = change_figures(change, lang.code, lang.label("history.chart_day_pattern"))
    if round(change.points, 1) == 0:
        direction = lang.text("sessions.change_same")
    elif change.points < 0:
        direction = lang.text("sessions.change_lower", **figures)
    elif change.percent is None:
        direction = lang.text("sessions.change_higher_from_zero", **figures)
    else:
        direction = lang.text("sessions.change_higher", **figures)
    return [f"{lang.text('sessions.change', **figures)} {direction}", lang.text("sessions.change_context")]


def history_screen(
    lang: Language, scores: list[Score], now: datetime, change: CourseChange | None = None,
    latest_peg: tuple[date, float] | None = None,
) -> Screen:
    """The numbers a patient (and later their clinician) wants: averages, range, count."""
    rows = (
        (Button(lang.label("sessions.button"), callbacks.SESSIONS),),
        (Button(lang.label("menu.checkin"), callbacks.CHECKIN),),
        back_to_menu_row(lang),
    )
    if not scores:
        return Screen(lang.text("history.empty"), rows)
    lines = [
        lang.text("history.heading"),
        _period_line(lang, "history.week", period_stats(scores, now - timedelta(days=7), now)),
        _period_line(lang, "history.month", period_stats(scores, now - timedelta(days=30), now)),
    ]
    if change is not None:
        # Where a course of treatment started, that is the comparison that matters.
        lines += course_change_lines(lang, change)
    elif weeks := first_and_last_week(scores, now):
        first, last = weeks
        if movement := meaningful_change(first, last):
            key = "history.change_down" if movement < 0 else "history.change_up"
            lines.append(lang.text(key, first=lang.number(first, 1), last=lang.number(last, 1)))
    if latest_peg is not None:
        day, score = latest_peg
        lines.append(lang.text("history.peg_latest", day=_day(lang, day), score=number(score, lang.code)))
    return Screen("\n\n".join(lines), rows)


def period_rows(lang: Language) -> tuple[tuple[Button, ...], ...]:
    return (tuple(Button(lang.label(f"history.chart_{days}"), callbacks.history_period(days)) for days in callbacks.CHART_PERIODS),)


def latest_complete_peg(answers: list[PegAnswer], zone: ZoneInfo) -> tuple[date, float] | None:
    complete = [answer for answer in answers if answer.complete]
    if not complete:
        return None
    newest = complete[-1]
    return newest.created_at.astimezone(zone).date(), peg_score(newest.pain, newest.enjoyment, newest.activity)


def _day(lang: Language, day: date) -> str:
    return format_date(day, lang.label("history.chart_day_pattern"), locale=lang.code)


def screens(lang: Language):
    now = datetime(2026, 11, 21, 12, 0).astimezone()
    yield history_screen(lang, [], now)
    sample = [Score(now - timedelta(days=day), (day * 3) % 11) for day in range(0, 40)]
    yield history_screen(lang, sample, now)
    change = CourseChange(date(2026, 11, 1), 6.25, 7, 4.0, 6)
    yield history_screen(lang, sample, now, change, (date(2026, 11, 20), 5.333))
    yield history_screen(lang, sample, now, CourseChange(date(2026, 11, 1), 0, 3, 2.0, 6))
    yield Screen(lang.text("history.chart_caption", days=90), period_rows(lang))


# -- handlers -------------------------------------------------------------------------------


async def _send_chart(update: Update, context: CallbackContext, days: int) -> bool:
    """The chart of the last `days` days, with buttons for the other periods; False when
    the patient has no check-in at all."""
    used = services(context)
    lang = language(context, update.effective_user)
    user_id = update.effective_user.id
    now = used.clock()
    zone: ZoneInfo = await patient_zone(context, user_id)
    today = now.astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    # A week more than shown: the 7-day average of the first days shown needs them.
    checkins = await used.db().checkins(user_id, since=now - timedelta(days=days + 8))
    if not checkins:
        return False
    scores = [Score(checkin.created_at, checkin.pain) for checkin in checkins]
    sessions = [(session.day, session.kind) for session in await used.db().sessions(user_id, since=first)]
    # Drawing takes a while; in a thread, the bot keeps answering other patients.
    png = await asyncio.to_thread(
        render_pain_chart, scores, zone, chart_labels(lang, days),
        first=first, last=today, sessions=sessions, locale=lang.code,
    )
    await update.effective_chat.send_photo(
        png, caption=lang.label("history.chart_caption", days=days), reply_markup=Screen("", period_rows(lang)).markup()
    )
    return True


async def show_history(update: Update, context: CallbackContext) -> None:
    used = services(context)
    lang = language(context, update.effective_user)
    user_id = update.effective_user.id
    if update.callback_query:
        await answer_query(update)
    now = used.clock()
    zone: ZoneInfo = await patient_zone(context, user_id)
    checkins = await used.db().checkins(user_id, since=now - timedelta(days=400))
    scores = [Score(checkin.created_at, checkin.pain) for checkin in checkins]
    sessions = await used.db().sessions(user_id)
    change = course_change(scores, sessions[0].day if sessions else None, zone, now)
    peg = latest_complete_peg(await used.db().peg_answers(user_id, since=now - timedelta(days=90)), zone)
    await _send_chart(update, context, DEFAULT_DAYS)
    await send(update, history_screen(lang, scores, now, change, peg))


async def period_tapped(update: Update, context: CallbackContext) -> None:
    lang = language(context, update.effective_user)
    await answer_query(update)
    if not await _send_chart(update, context, int(context.match.group(1))):
        # Buttons left from before /delete: nothing to draw.
        await send(update, history_screen(lang, [], services(context).clock()))


def handlers(services: Services) -> list:
    return [
        CommandHandler("history", show_history, filters=PRIVATE),
        CallbackQueryHandler(show_history, pattern=callbacks.HISTORY_PATTERN),
        Guarded(CallbackQueryHandler(period_tapped, pattern=callbacks.HISTORY_PERIOD_PATTERN), in_private_chat),
    ]
