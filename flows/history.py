"""History: how pain changed over the last 7 and 30 days, and a chart of it."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.ext import CallbackContext, CallbackQueryHandler, CommandHandler

from bot import callbacks
from bot.chart import render_pain_chart
from bot.chat_filters import PRIVATE
from bot.content import Language
from bot.menu import back_to_menu_row
from bot.painlog import (
    PeriodStats,
    Score,
    first_and_last_week,
    meaningful_change,
    period_stats,
)
from bot.screens import Button, Screen, answer_query, send
from bot.services import Services, language, patient_zone, services


def _period_line(lang: Language, key: str, stats: PeriodStats) -> str:
    if stats.count == 0:
        return lang.text(f"{key}_none")
    return lang.text(key, average=lang.number(stats.average, 1), lowest=stats.lowest, highest=stats.highest, count=stats.count)


def history_screen(lang: Language, scores: list[Score], now: datetime) -> Screen:
    """The numbers a patient (and later their clinician) wants: averages, range, count."""
    rows = ((Button(lang.label("menu.checkin"), callbacks.CHECKIN),), back_to_menu_row(lang))
    if not scores:
        return Screen(lang.text("history.empty"), rows)
    lines = [
        lang.text("history.heading"),
        _period_line(lang, "history.week", period_stats(scores, now - timedelta(days=7), now)),
        _period_line(lang, "history.month", period_stats(scores, now - timedelta(days=30), now)),
    ]
    weeks = first_and_last_week(scores, now)
    if weeks:
        first, last = weeks
        change = meaningful_change(first, last)
        if change:
            key = "history.change_down" if change < 0 else "history.change_up"
            lines.append(lang.text(key, first=lang.number(first, 1), last=lang.number(last, 1)))
    return Screen("\n\n".join(lines), rows)


def chart_labels(lang: Language) -> dict[str, str]:
    return {name: lang.label(f"history.chart_{name}") for name in ("title", "score", "average", "axis")}


def screens(lang: Language):
    now = datetime(2026, 11, 21, 12, 0).astimezone()
    yield history_screen(lang, [], now)
    sample = [Score(now - timedelta(days=day), (day * 3) % 11) for day in range(0, 40)]
    yield history_screen(lang, sample, now)


async def show_history(update: Update, context: CallbackContext) -> None:
    used = services(context)
    lang = language(context, update.effective_user)
    user_id = update.effective_user.id
    if update.callback_query:
        await answer_query(update)
    now = used.clock()
    checkins = await used.db().checkins(user_id, since=now - timedelta(days=400))
    scores = [Score(checkin.created_at, checkin.pain) for checkin in checkins]
    screen = history_screen(lang, scores, now)
    if scores:
        zone: ZoneInfo = await patient_zone(context, user_id)
        month = [score for score in scores if score.at >= now - timedelta(days=90)] or scores
        # Drawing takes a while; in a thread, the bot keeps answering other patients.
        png = await asyncio.to_thread(render_pain_chart, month, zone, chart_labels(lang), locale=lang.code)
        await update.effective_chat.send_photo(png, caption=lang.label("history.chart_caption"))
    await send(update, screen)


def handlers(services: Services) -> list:
    return [
        CommandHandler("history", show_history, filters=PRIVATE),
        CallbackQueryHandler(show_history, pattern=callbacks.HISTORY_PATTERN),
    ]
