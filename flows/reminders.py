"""Daily reminders: the patient picks a time and a time zone; the prompt arrives at that
local time every day, DST included, with the 0–10 buttons on it.

No job per patient: one periodic job reads the reminders that are due from SQLite, so
reminders survive restarts and the work does not grow with the number of patients. The
decision of what to send is `bot.painlog.decide_reminder` (pure, tested on its own).
`/stop` ends every message the bot starts (reminders and clinic updates).
"""

from __future__ import annotations

import functools
import logging
from datetime import date, time
from zoneinfo import ZoneInfo, available_timezones

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import Forbidden, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    CallbackContext,
    CallbackQueryHandler,
    CommandHandler,
)

from bot import callbacks
from bot.chat_filters import PRIVATE
from bot.consent import consent_screen
from bot.content import Language
from bot.logs import pseudonymous
from bot.menu import back_to_menu_row
from bot.outbox import RETRY_AFTER_MARGIN_SECONDS, SendPipeline, retry_after_seconds
from bot.pain_scale import score_rows
from bot.peg_button import peg_setting_button
from bot.painlog import SNOOZE, decide_reminder, next_occurrence, parse_local_time
from bot.safety import answered_by_safety_net
from bot.screens import Button, Screen, answer_query, send, show
from bot.services import Services, language, services
from bot.storage import Reminder

log = logging.getLogger(__name__)

PRESET_TIMES = ("08:00", "09:00", "12:00", "18:00", "20:00", "21:00")
COMMON_ZONES = (
    "America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
    "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu", "Europe/London",
)


# -- screens (pure) -------------------------------------------------------------------------


def zone_label(zone: str) -> str:
    """"America/Los_Angeles" → "Los Angeles": the city part of an IANA name."""
    return zone.rsplit("/", 1)[-1].replace("_", " ")


def back_to_reminders_row(lang: Language) -> tuple[Button, ...]:
    return (Button(lang.label("buttons.previous"), callbacks.REMINDERS),)


def time_rows(lang: Language) -> tuple[tuple[Button, ...], ...]:
    presets = [Button(preset, callbacks.reminder_time(preset.replace(":", ""))) for preset in PRESET_TIMES]
    return (tuple(presets[:3]), tuple(presets[3:]), (Button(lang.label("reminders.type_time"), callbacks.reminder_time("type")),))


def settings_screen(lang: Language, reminder: Reminder | None, opted_out: bool, peg_on: bool = False) -> Screen:
    if opted_out:
        rows = ((Button(lang.label("reminders.turn_back_on"), callbacks.RESUME_MESSAGES),), back_to_menu_row(lang))
        return Screen(lang.text("reminders.stopped"), rows)
    # The weekly PEG check is its own setting (flows/peg.py); this is its way in.
    peg_row = (peg_setting_button(lang, peg_on),)
    if reminder is None:
        return Screen(lang.text("reminders.none"), time_rows(lang) + (peg_row, back_to_menu_row(lang)))
    status_key = "reminders.status_paused" if reminder.paused else "reminders.status_on"
    text = lang.text(status_key, time=reminder.local_time, zone=zone_label(reminder.timezone))
    pause = (
        Button(lang.label("reminders.resume"), "rm:resume") if reminder.paused else Button(lang.label("reminders.pause"), "rm:pause")
    )
    rows = (
        (Button(lang.label("reminders.change_time"), "rm:time"), Button(lang.label("reminders.change_zone"), callbacks.reminder_zone("menu"))),
        (pause, Button(lang.label("reminders.turn_off"), "rm:off")),
        peg_row,
        back_to_menu_row(lang),
    )
    return Screen(text, rows)


def change_time_screen(lang: Language) -> Screen:
    return Screen(lang.text("reminders.pick_time"), time_rows(lang) + (back_to_reminders_row(lang),))


def zone_screen(lang: Language, clinic_zone: str) -> Screen:
    zones = [clinic_zone] + [zone for zone in COMMON_ZONES if zone != clinic_zone]
    buttons = [Button(zone_label(zone), callbacks.reminder_zone(zone)) for zone in zones]
    rows = tuple(tuple(buttons[index : index + 3]) for index in range(0, len(buttons), 3))
    rows += ((Button(lang.label("reminders.type_zone"), callbacks.reminder_zone("type")),), back_to_reminders_row(lang))
    return Screen(lang.text("reminders.pick_zone"), rows)


def prompt_screen(lang: Language) -> Screen:
    """The daily prompt: the check-in is one tap away, from the notification itself."""
    later = (Button(lang.label("reminders.snooze"), callbacks.SNOOZE), Button(lang.label("reminders.skip"), callbacks.SKIP_TODAY))
    return Screen(lang.text("reminders.prompt"), score_rows() + (later,))


def screens(lang: Language):
    yield consent_screen(lang, agree=callbacks.CONSENT_THEN_REMINDERS)
    joined = settings_screen(lang, None, opted_out=False)
    yield Screen(f"{lang.text('checkin.consent_thanks')}\n\n{joined.text}", joined.buttons)
    yield settings_screen(lang, None, opted_out=False)
    yield settings_screen(lang, None, opted_out=True)
    yield settings_screen(lang, Reminder(1, "21:30", "America/Argentina/ComodRivadavia", True, None, None, False), False)  # type: ignore[arg-type]
    yield change_time_screen(lang)
    yield zone_screen(lang, "America/Argentina/ComodRivadavia")
    yield prompt_screen(lang)


# -- the daily prompt job -------------------------------------------------------------------

# A prompt refused with 429 ("retry after") is tried this many times in all.
PROMPT_ATTEMPTS_AFTER_429 = 3


async def send_due_prompts(context: CallbackContext) -> None:
    """Runs every few seconds: send the prompts whose time has come, and move them on.

    Thousands due at the same minute go out at the full rate of the bot's shared budget,
    in order of due time, through the same pipeline as broadcasts (bot/outbox.py): sends
    start in bulk slots (answers to patients go first) and several are on their way at once.
    """
    used = services(context)
    storage = used.db()
    now = used.clock()
    pipeline = SendPipeline(context.bot, used.settings.broadcast_rate)
    try:
        while due := await storage.due_reminders(now):
            for reminder in due:
                decision = decide_reminder(
                    at=parse_local_time(reminder.local_time),
                    zone=ZoneInfo(reminder.timezone),
                    due=reminder.next_due,
                    snoozed=reminder.snoozed,
                    last_sent_day=_day(reminder.last_sent_day),
                    now=now,
                )
                # Claimed and committed before sending: a crash here loses the prompts in
                # flight at most, and an overlapping run that claimed it first makes us
                # leave it alone (never two prompts for one day, across restarts too).
                claimed = await storage.claim_reminder(reminder, decision.next_due, decision.day.isoformat() if decision.day else None)
                if claimed and decision.send:
                    await pipeline.wait_for_room()
                    await pipeline.take_slot()
                    pipeline.launch(_send_prompt(context, reminder.user_id, pipeline))
    finally:
        await pipeline.drain()


async def _send_prompt(context: CallbackContext, user_id: int, pipeline: SendPipeline) -> None:
    used = services(context)
    patient = await used.db().patient(user_id)
    lang = used.content.language(patient.language if patient else None)
    screen = prompt_screen(lang)
    for attempt in range(1, PROMPT_ATTEMPTS_AFTER_429 + 1):
        try:
            await context.bot.send_message(
                user_id, screen.text, parse_mode=ParseMode.HTML, reply_markup=screen.markup(),
                rate_limit_args=pipeline.rate_limit_args,
            )
            return
        except RetryAfter as error:
            # Telegram asked everyone to wait: so does every bulk send; then this one again.
            pipeline.retry_after(retry_after_seconds(error) + RETRY_AFTER_MARGIN_SECONDS)
            if attempt < PROMPT_ATTEMPTS_AFTER_429:
                await pipeline.take_slot()
        except Forbidden:
            await used.db().set_blocked(user_id, True)
            log.info("reminder not sent: patient %s has blocked the bot", await pseudonymous(used.db(), user_id))
            return
        except TelegramError as error:
            log.warning("reminder to patient %s failed: %s", await pseudonymous(used.db(), user_id), type(error).__name__)
            return
    log.warning("reminder to patient %s not sent: Telegram kept asking to wait", await pseudonymous(used.db(), user_id))


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def schedule(application: Application, shared: Services) -> None:
    application.job_queue.run_repeating(send_due_prompts, interval=shared.tick_seconds, first=1, name="daily prompts")


# -- handlers -------------------------------------------------------------------------------


async def _current_settings(context: CallbackContext, user_id: int, lang: Language) -> Screen:
    storage = services(context).db()
    patient = await storage.patient(user_id)
    peg_on = await storage.peg_next_due(user_id) is not None
    return settings_screen(lang, await storage.reminder(user_id), bool(patient and patient.opted_out), peg_on)


async def reminders_opened(update: Update, context: CallbackContext) -> None:
    lang = language(context, update.effective_user)
    if update.callback_query:
        await answer_query(update)
    if not await services(context).db().consent(update.effective_user.id):
        await show(update, consent_screen(lang, agree=callbacks.CONSENT_THEN_REMINDERS))
        return
    await show(update, await _current_settings(context, update.effective_user.id, lang))


async def consent_given(update: Update, context: CallbackContext) -> None:
    """"I agree" on the notice /reminders showed: join, then the reminder setup."""
    used = services(context)
    lang = language(context, update.effective_user)
    await answer_query(update)
    await used.db().give_consent(update.effective_user.id, lang.label("privacy.version"), used.clock())
    settings = await _current_settings(context, update.effective_user.id, lang)
    await show(update, Screen(f"{lang.text('checkin.consent_thanks')}\n\n{settings.text}", settings.buttons))


async def time_chosen(update: Update, context: CallbackContext) -> None:
    used = services(context)
    lang = language(context, update.effective_user)
    user_id = update.effective_user.id
    await answer_query(update)
    if not await used.db().consent(user_id):
        await show(update, consent_screen(lang, agree=callbacks.CONSENT_THEN_REMINDERS))
        return
    choice = context.match.group(1)
    if choice == "type":
        await used.db().await_text(user_id, "time", used.clock())
        await show(update, Screen(lang.text("reminders.type_time_help"), (back_to_reminders_row(lang),)))
        return
    await _set_time(context, user_id, time(int(choice[:2]), int(choice[2:])))
    await show(update, await _current_settings(context, user_id, lang))


async def _set_time(context: CallbackContext, user_id: int, at: time) -> None:
    used = services(context)
    existing = await used.db().reminder(user_id)
    zone = existing.timezone if existing else used.settings.clinic.timezone
    await used.db().set_reminder(user_id, at.strftime("%H:%M"), zone, next_occurrence(at, ZoneInfo(zone), used.clock()))


async def time_typed(update: Update, context: CallbackContext, _checkin_id: int | None) -> None:
    lang = language(context, update.effective_user)
    if answered_by_safety_net(update, context):
        return
    at = parse_local_time(update.message.text)
    if at is None:
        await send(update, Screen(lang.text("reminders.bad_time"), (back_to_reminders_row(lang),)))
        return
    # Stored, answered, and only then no longer awaited: if the answer fails (the API is
    # down), the pipeline handles the message again and it still reads as the time.
    await _set_time(context, update.effective_user.id, at)
    await send(update, await _current_settings(context, update.effective_user.id, lang))
    await services(context).db().stop_awaiting_text(update.effective_user.id)


async def zone_chosen(update: Update, context: CallbackContext) -> None:
    used = services(context)
    lang = language(context, update.effective_user)
    user_id = update.effective_user.id
    choice = context.match.group(1)
    reminder = await used.db().reminder(user_id)
    if reminder is None:
        await answer_query(update, lang.label("toast.out_of_date"), alert=True)
        return
    await answer_query(update)
    if choice == "menu":
        await show(update, zone_screen(lang, used.settings.clinic.timezone))
    elif choice == "type":
        await used.db().await_text(user_id, "timezone", used.clock())
        await show(update, Screen(lang.text("reminders.type_zone_help"), (back_to_reminders_row(lang),)))
    elif (zone := _known_zone(choice)) is not None:
        await _set_zone(context, reminder, zone)
        await show(update, await _current_settings(context, user_id, lang))
    else:
        await show(update, zone_screen(lang, used.settings.clinic.timezone))


@functools.cache
def _zones_by_lower_name() -> dict[str, str]:
    # available_timezones() reads the tz database from disk: once is enough.
    return {zone.lower(): zone for zone in available_timezones()}


def _known_zone(name: str) -> str | None:
    """The IANA zone a patient meant, whatever the capitals and spaces; None if none."""
    return _zones_by_lower_name().get(name.strip().replace(" ", "_").lower())


async def _set_zone(context: CallbackContext, reminder: Reminder, zone: str) -> None:
    used = services(context)
    at = parse_local_time(reminder.local_time)
    await used.db().set_reminder(reminder.user_id, reminder.local_time, zone, next_occurrence(at, ZoneInfo(zone), used.clock()))


async def zone_typed(update: Update, context: CallbackContext, _checkin_id: int | None) -> None:
    used = services(context)
    lang = language(context, update.effective_user)
    if answered_by_safety_net(update, context):
        return
    user_id = update.effective_user.id
    zone = _known_zone(update.message.text)
    reminder = await used.db().reminder(user_id)
    if zone is None or reminder is None:
        await send(update, Screen(lang.text("reminders.bad_zone"), (back_to_reminders_row(lang),)))
        return
    await _set_zone(context, reminder, zone)
    await send(update, await _current_settings(context, user_id, lang))
    await used.db().stop_awaiting_text(user_id)  # after the answer, as for the time


async def action_tapped(update: Update, context: CallbackContext) -> None:
    used = services(context)
    lang = language(context, update.effective_user)
    user_id = update.effective_user.id
    action = context.match.group(1)
    reminder = await used.db().reminder(user_id)
    if reminder is None:
        await answer_query(update, lang.label("toast.out_of_date"), alert=True)
        return
    await answer_query(update)
    now = used.clock()
    zone = ZoneInfo(reminder.timezone)
    at = parse_local_time(reminder.local_time)
    if action == "snooze":
        until = now + SNOOZE
        patient = await used.db().patient(user_id)
        if patient is None or patient.opted_out or not await used.db().snooze_reminder(user_id, until):
            # Paused, or messages stopped with /stop: promising a reminder would be untrue.
            await show(update, await _current_settings(context, user_id, lang))
            return
        await show(update, Screen(lang.text("reminders.snoozed", time=lang.time(until.astimezone(zone)))))
    elif action == "skip":
        await used.db().skip_reminder(user_id, next_occurrence(at, zone, now))
        await show(update, Screen(lang.text("reminders.skipped", time=reminder.local_time)))
    elif action == "time":
        await show(update, change_time_screen(lang))
    else:
        if action == "off":
            await used.db().delete_reminder(user_id)
        else:
            await used.db().set_reminder_paused(user_id, action == "pause", next_occurrence(at, zone, now))
        await show(update, await _current_settings(context, user_id, lang))


async def stop_command(update: Update, context: CallbackContext) -> None:
    """/stop: no more messages the bot starts (daily prompts, clinic updates)."""
    lang = language(context, update.effective_user)
    await services(context).db().set_opted_out(update.effective_user.id, True)
    rows = ((Button(lang.label("reminders.turn_back_on"), callbacks.RESUME_MESSAGES),), back_to_menu_row(lang))
    await send(update, Screen(lang.text("reminders.stop_done"), rows))


async def resume_tapped(update: Update, context: CallbackContext) -> None:
    lang = language(context, update.effective_user)
    await answer_query(update)
    await services(context).db().set_opted_out(update.effective_user.id, False)
    settings = await _current_settings(context, update.effective_user.id, lang)
    await show(update, Screen(f"{lang.text('reminders.back_on')}\n\n{settings.text}", settings.buttons))


def typed_text_routes() -> dict:
    return {"time": time_typed, "timezone": zone_typed}


def handlers(services: Services) -> list:
    return [
        CommandHandler("reminders", reminders_opened, filters=PRIVATE),
        CommandHandler("stop", stop_command, filters=PRIVATE),
        CallbackQueryHandler(reminders_opened, pattern=callbacks.REMINDERS_PATTERN),
        CallbackQueryHandler(consent_given, pattern=callbacks.CONSENT_THEN_REMINDERS_PATTERN),
        CallbackQueryHandler(time_chosen, pattern=callbacks.REMINDER_TIME_PATTERN),
        CallbackQueryHandler(zone_chosen, pattern=callbacks.REMINDER_ZONE_PATTERN),
        CallbackQueryHandler(action_tapped, pattern=callbacks.REMINDER_ACTION_PATTERN),
        CallbackQueryHandler(resume_tapped, pattern=callbacks.RESUME_MESSAGES_PATTERN),
    ]
