"""The weekly PEG check (Krebs and colleagues, J Gen Intern Med 2009): three 0-10
questions about the past week; the score is their mean. Opt-in, from /reminders.

Like the daily prompts, one periodic job reads the PEGs that are due from SQLite and
claims each with a compare-and-set before sending, so it survives restarts and never asks
twice. The first answer is keyed by the message it was tapped on (a double tap updates);
the later answers carry the answer's id, checked to be the tapper's own.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date
from telegram import Update
from telegram.constants import ParseMode
from telegram.error import Forbidden, TelegramError
from telegram.ext import Application, CallbackContext, CallbackQueryHandler

from bot import callbacks
from bot.chat_filters import in_private_chat
from bot.consent import consent_screen
from bot.content import Language
from bot.painlog import next_occurrence, parse_local_time, peg_score
from bot.report import number
from bot.screens import Button, Screen, answer_query, send, show
from bot.staff import Guarded
from bot.services import Services, language, patient_zone, services
from bot.storage import PegAnswer

log = logging.getLogger(__name__)

WEEK = timedelta(days=7)
DEFAULT_TIME = time(18, 0)  # when no daily reminder time is set: early evening, local


# -- screens (pure) -------------------------------------------------------------------------


def setting_screen(lang: Language, next_due: datetime | None, zone: ZoneInfo) -> Screen:
    if next_due is None:
        status = lang.text("peg.status_off")
        toggle = Button(lang.label("peg.turn_on"), "peg:on")
    else:
        day = format_date(next_due.astimezone(zone).date(), lang.label("history.chart_day_pattern"), locale=lang.code)
        status = lang.text("peg.status_on", day=day)
        toggle = Button(lang.label("peg.turn_off"), "peg:off")
    rows = ((toggle, Button(lang.label("peg.answer_now"), "peg:now")), (Button(lang.label("peg.back"), callbacks.REMINDERS),))
    return Screen(f"{lang.text('peg.about')}\n\n{status}", rows)


def _scale(data) -> tuple[tuple[Button, ...], ...]:
    return (
        tuple(Button(str(value), data(value)) for value in range(0, 6)),
        tuple(Button(str(value), data(value)) for value in range(6, 11)),
    )


def question_screen(lang: Language, step: int, answer_id: int | None = None) -> Screen:
    if step == 1:
        return Screen(f"{lang.text('peg.intro')}\n\n{lang.text('peg.q1')}", _scale(callbacks.peg_first))
    return Screen(lang.text(f"peg.q{step}"), _scale(lambda value: callbacks.peg_next(step, answer_id, value)))


def done_screen(lang: Language, answer: PegAnswer) -> Screen:
    score = number(peg_score(answer.pain, answer.enjoyment, answer.activity), lang.code)
    rows = ((Button(lang.label("checkin.history"), callbacks.HISTORY),),)
    return Screen(lang.text("peg.done", score=score, pain=answer.pain, enjoyment=answer.enjoyment, activity=answer.activity), rows)


def screens(lang: Language):
    zone = ZoneInfo("America/Los_Angeles")
    yield setting_screen(lang, None, zone)
    yield setting_screen(lang, datetime(2026, 12, 6, 2, 0).astimezone(), zone)
    yield question_screen(lang, 1)
    yield question_screen(lang, 2, 999_999_999_999)
    yield question_screen(lang, 3, 999_999_999_999)
    yield done_screen(lang, PegAnswer(1, 1, datetime(2026, 12, 1).astimezone(), 10, 10, 9))


# -- when the next one is due -----------------------------------------------------------------


async def next_due_after(context_or_app, user_id: int, after: datetime) -> datetime:
    """A week after `after`, at the patient's daily reminder time (else 18:00) in their zone."""
    used: Services = context_or_app.bot_data["services"] if isinstance(context_or_app, Application) else services(context_or_app)
    reminder = await used.db().reminder(user_id)
    at = parse_local_time(reminder.local_time) if reminder else DEFAULT_TIME
    zone = ZoneInfo(reminder.timezone if reminder else used.settings.clinic.timezone)
    return next_occurrence(at, zone, after + WEEK - timedelta(hours=12))


# -- the weekly job ---------------------------------------------------------------------------


async def send_due_pegs(context: CallbackContext) -> None:
    used = services(context)
    storage = used.db()
    now = used.clock()
    while due := await storage.due_pegs(now):
        for user_id, due_at in due:
            following = await next_due_after(context, user_id, now)
            # Claimed and committed before sending: a crash loses one PEG at most.
            if await storage.claim_peg(user_id, due_at, following) and now - due_at <= timedelta(days=1):
                await _send_first_question(context, user_id)


async def _send_first_question(context: CallbackContext, user_id: int) -> None:
    used = services(context)
    patient = await used.db().patient(user_id)
    lang = used.content.language(patient.language if patient else None)
    screen = question_screen(lang, 1)
    try:
        await context.bot.send_message(user_id, screen.text, parse_mode=ParseMode.HTML, reply_markup=screen.markup())
    except Forbidden:
        await used.db().set_blocked(user_id, True)
        log.info("weekly PEG not sent: the patient has blocked the bot")
    except TelegramError as error:
        log.warning("a weekly PEG could not be sent: %s", type(error).__name__)


def schedule(application: Application, shared: Services) -> None:
    application.job_queue.run_repeating(send_due_pegs, interval=shared.tick_seconds, first=2, name="weekly PEG")


# -- handlers -------------------------------------------------------------------------------


async def setting_tapped(update: Update, context: CallbackContext) -> None:
    used = services(context)
    lang = language(context, update.effective_user)
    user_id = update.effective_user.id
    await answer_query(update)
    if not await used.db().consent(user_id):
        await show(update, consent_screen(lang))
        return
    action = context.match.group(1)
    if action == "now":
        await send(update, question_screen(lang, 1))
        return
    if action == "on":
        await used.db().set_peg(user_id, await next_due_after(context, user_id, used.clock()))
    elif action == "off":
        await used.db().set_peg(user_id, None)
    zone = await patient_zone(context, user_id)
    await show(update, setting_screen(lang, await used.db().peg_next_due(user_id), zone))


async def first_answered(update: Update, context: CallbackContext) -> None:
    used = services(context)
    lang = language(context, update.effective_user)
    user_id = update.effective_user.id
    if not await used.db().consent(user_id):
        # A question from before the patient erased their data: store nothing.
        await answer_query(update)
        await show(update, consent_screen(lang))
        return
    answer_id = await used.db().start_peg_answer(user_id, update.callback_query.message.message_id, int(context.match.group(1)), used.clock())
    await answer_query(update, lang.label("peg.saved_toast"))
    await show(update, question_screen(lang, 2, answer_id))


async def next_answered(update: Update, context: CallbackContext) -> None:
    used = services(context)
    lang = language(context, update.effective_user)
    user_id = update.effective_user.id
    step, answer_id, value = int(context.match.group(1)), int(context.match.group(2)), int(context.match.group(3))
    item = "enjoyment" if step == 2 else "activity"
    if not await used.db().set_peg_item(user_id, answer_id, item, value):
        await answer_query(update, lang.label("toast.out_of_date"), alert=True)
        return
    await answer_query(update, lang.label("peg.saved_toast"))
    if step == 2:
        await show(update, question_screen(lang, 3, answer_id))
        return
    answer = await used.db().peg_answer(user_id, answer_id)
    if not answer.complete:  # a forged or replayed last step, with the second unanswered
        await show(update, question_screen(lang, 2, answer_id))
        return
    # Answered now: the next weekly one comes a week from today.
    if await used.db().peg_next_due(user_id) is not None:
        await used.db().set_peg(user_id, await next_due_after(context, user_id, used.clock()))
    await show(update, done_screen(lang, answer))


def handlers(services: Services) -> list:
    return [
        Guarded(CallbackQueryHandler(setting_tapped, pattern=callbacks.PEG_SETTING_PATTERN), in_private_chat),
        Guarded(CallbackQueryHandler(first_answered, pattern=callbacks.PEG_FIRST_PATTERN), in_private_chat),
        Guarded(CallbackQueryHandler(next_answered, pattern=callbacks.PEG_NEXT_PATTERN), in_private_chat),
    ]

