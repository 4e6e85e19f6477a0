"""Daily check-in: pain now in one tap, then optional items, each skippable.

Nothing about pain is stored before the patient opts in (consent, with the notice version
and time). The score is saved the moment it is tapped, and committed before the bot says
so; later items update the same row. A second tap on the same message updates instead of
saving twice. Where we are rides in the callback data, so a restart loses nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.ext import CallbackContext, CallbackQueryHandler, CommandHandler

from bot import callbacks
from bot.chat_filters import PRIVATE
from bot.clinic import send_contact_card
from bot.consent import consent_screen
from bot.content import Language
from bot.menu import back_to_menu_row
from bot.pain_scale import score_rows
from bot.safety import help_button
from bot.painlog import Score, pain_alert, period_stats
from bot.screens import Button, Screen, answer_query, send, show
from bot.services import Services, language, patient_zone, services
from bot.session_buttons import today_row as session_today_row
from bot.storage import Checkin

# The optional steps in the order they are asked: (callback letter, storage column).
STEPS = (("i", "interference"), ("s", "sleep"), ("m", "mood"), ("n", "note"))
NOTE_LIMIT = 1000  # characters of a note kept; enough for a few sentences, no more
# A check-in that ends with a gentle word and the 🆘 button (issue 9): mood "low" is 1.
LOW_MOOD = 1
SEVERE_PAIN = 9


# -- screens (pure) -------------------------------------------------------------------------


def score_screen(lang: Language) -> Screen:
    return Screen(lang.text("checkin.question"), score_rows() + (back_to_menu_row(lang),))


def step_screen(lang: Language, checkin_id: int, pain: int, step: str) -> Screen:
    """The next optional item, under a line confirming the score is saved."""
    saved = lang.text("checkin.saved", pain=pain)
    finish = (Button(lang.label("checkin.finish"), callbacks.checkin_done(checkin_id)),)
    skip = Button(lang.label("checkin.skip"), callbacks.checkin_item(step, checkin_id, "x"))
    if step == "i":
        choices = (
            tuple(Button(str(value), callbacks.checkin_item("i", checkin_id, str(value))) for value in range(0, 6)),
            tuple(Button(str(value), callbacks.checkin_item("i", checkin_id, str(value))) for value in range(6, 11)),
        )
        return Screen(f"{saved}\n\n{lang.text('checkin.interference')}", choices + ((skip,) + finish,))
    if step in ("s", "m"):
        key = "sleep" if step == "s" else "mood"
        choices = tuple(
            Button(lang.label(f"checkin.{key}_{value}"), callbacks.checkin_item(step, checkin_id, str(value)))
            for value in (1, 2, 3)
        )
        return Screen(f"{saved}\n\n{lang.text(f'checkin.{key}')}", (choices, (skip,) + finish))
    rows = ((Button(lang.label("checkin.note_type"), callbacks.checkin_item("n", checkin_id, "t")),), finish)
    return Screen(f"{saved}\n\n{lang.text('checkin.note')}", rows)


def note_wait_screen(lang: Language, checkin_id: int) -> Screen:
    return Screen(lang.text("checkin.note_waiting"), ((Button(lang.label("checkin.finish"), callbacks.checkin_done(checkin_id)),),))


def alert_reason(checkin: Checkin, earlier: list[Checkin]) -> str | None:
    """"high" or "rise" when the check-in calls for a word with the clinic (bot.painlog)."""
    previous = [Score(item.created_at, item.pain) for item in earlier if item.id != checkin.id and item.created_at <= checkin.created_at]
    return pain_alert(Score(checkin.created_at, checkin.pain), previous)


def summary_screen(
    lang: Language, checkin: Checkin, earlier: list[Checkin], zone: ZoneInfo, now: datetime, offer_reminder: bool = False
) -> Screen:
    """The saved check-in, compared with the last one and the 7-day average; with
    `offer_reminder`, a button to set a daily reminder."""
    lines = [lang.text("checkin.summary", pain=checkin.pain, time=lang.time(checkin.created_at.astimezone(zone)))]
    previous = [item for item in earlier if item.id != checkin.id and item.created_at <= checkin.created_at]
    if previous:
        last = previous[-1]
        lines.append(lang.text("checkin.compare_last", pain=last.pain, when=lang.day_time(last.created_at.astimezone(zone))))
    scores = [Score(item.created_at, item.pain) for item in earlier]
    week = period_stats(scores, now - timedelta(days=7), now)
    if week.count > 1:
        lines.append(lang.text("checkin.week_average", average=lang.number(week.average, 1), count=week.count))
    if reason := alert_reason(checkin, earlier):
        lines.append(f"{lang.text(f'checkin.alert_{reason}')} {lang.text('checkin.alert')}")
    # The optional last item: a treatment session today, one tap (flows/sessions.py).
    session_row = session_today_row(lang, checkin.created_at.astimezone(zone).date())
    rows = (session_row, (Button(lang.label("checkin.history"), callbacks.HISTORY),), back_to_menu_row(lang))
    if offer_reminder:
        lines.append(lang.text("checkin.offer_reminder"))
        rows = ((Button(lang.label("checkin.set_reminder"), callbacks.REMINDERS),),) + rows
    if shows_distress(checkin):
        # Distress without crisis words: one kind line and the help button, not an alarm.
        lines.append(lang.text("crisis.checkin_gentle"))
        rows = ((help_button(lang),), *rows)
    return Screen("\n\n".join(lines), rows)


def shows_distress(checkin: Checkin) -> bool:
    """A low mood (1 of 1-3) or pain of 9-10."""
    return checkin.mood == LOW_MOOD or checkin.pain >= SEVERE_PAIN


def screens(lang: Language):
    """Every kind of screen this flow shows, for `python -m bot check`."""
    yield consent_screen(lang)
    yield score_screen(lang)
    now = datetime(2026, 11, 21, 17, 0).astimezone()
    worst = Checkin(2, 1, now, 10, 10, 1, 1, None)
    yield summary_screen(lang, worst, [Checkin(1, 1, now - timedelta(days=1), 0, None, None, None, None), worst], ZoneInfo("UTC"), now, offer_reminder=True)
    for letter, _column in STEPS:
        yield step_screen(lang, 999_999_999_999, 10, letter)
    yield note_wait_screen(lang, 999_999_999_999)


# -- handlers -------------------------------------------------------------------------------


async def start_checkin(update: Update, context: CallbackContext) -> None:
    """/checkin and the menu button: the notice first if the patient has not opted in."""
    lang = language(context, update.effective_user)
    if update.callback_query:
        await answer_query(update)
    consented = await services(context).db().consent(update.effective_user.id)
    await show(update, score_screen(lang) if consented else consent_screen(lang))


async def consent_given(update: Update, context: CallbackContext) -> None:
    used = services(context)
    lang = language(context, update.effective_user)
    await answer_query(update)
    await used.db().give_consent(update.effective_user.id, lang.label("privacy.version"), used.clock())
    await show(update, Screen(f"{lang.text('checkin.consent_thanks')}\n\n{lang.text('checkin.question')}", score_rows() + (back_to_menu_row(lang),)))


async def score_tapped(update: Update, context: CallbackContext) -> None:
    used = services(context)
    lang = language(context, update.effective_user)
    user_id = update.effective_user.id
    query = update.callback_query
    if not await used.db().consent(user_id):
        # A prompt from before the patient erased their data: ask again, store nothing.
        await answer_query(update)
        await show(update, consent_screen(lang))
        return
    pain = int(context.match.group(1))
    checkin_id = await used.db().save_score(user_id, query.message.message_id, pain, used.clock())
    # Committed above; only now do we say it is saved.
    await answer_query(update, lang.label("checkin.saved_toast", pain=pain))
    await show(update, step_screen(lang, checkin_id, pain, STEPS[0][0]))


async def item_tapped(update: Update, context: CallbackContext) -> None:
    used = services(context)
    lang = language(context, update.effective_user)
    user_id = update.effective_user.id
    # The pattern has one group triple per kind of step; exactly one of them matched.
    step, checkin_id, value = [group for group in context.match.groups() if group is not None]
    checkin_id = int(checkin_id)
    checkin = await used.db().checkin(user_id, checkin_id)
    if checkin is None:
        await answer_query(update, lang.label("toast.out_of_date"), alert=True)
        return
    await answer_query(update)
    if step == "n" and value == "t":
        await used.db().await_text(user_id, "note", used.clock(), checkin_id)
        await show(update, note_wait_screen(lang, checkin_id))
        return
    column = dict(STEPS)[step]
    if value != "x":
        await used.db().set_checkin_item(user_id, checkin_id, column, int(value))
    letters = [letter for letter, _ in STEPS]
    following = letters.index(step) + 1
    if following < len(letters):
        await show(update, step_screen(lang, checkin_id, checkin.pain, letters[following]))
    else:
        await _show_summary(update, context, checkin_id)


async def done_tapped(update: Update, context: CallbackContext) -> None:
    lang = language(context, update.effective_user)
    checkin_id = int(context.match.group(1))
    if await services(context).db().checkin(update.effective_user.id, checkin_id) is None:
        await answer_query(update, lang.label("toast.out_of_date"), alert=True)
        return
    await answer_query(update)
    await _show_summary(update, context, checkin_id)


async def note_typed(update: Update, context: CallbackContext, checkin_id: int | None) -> None:
    """The patient typed the note they were asked for: keep it, then show the summary."""
    used = services(context)
    lang = language(context, update.effective_user)
    user_id = update.effective_user.id
    text = update.message.text.strip()
    # The wait ends only once the answer is shown: if showing it fails (the Bot API is
    # down), the update pipeline handles the message again, and it must come here again.
    if checkin_id is None or not await used.db().set_checkin_item(user_id, checkin_id, "note", text[:NOTE_LIMIT]):
        await send(update, Screen(lang.text("toast.out_of_date"), (back_to_menu_row(lang),)))
        await used.db().stop_awaiting_text(user_id)
        return
    if len(text) > NOTE_LIMIT:
        await send(update, Screen(lang.text("checkin.note_cut", limit=NOTE_LIMIT)))
    await _show_summary(update, context, checkin_id)
    await used.db().stop_awaiting_text(user_id)


async def _show_summary(update: Update, context: CallbackContext, checkin_id: int) -> None:
    used = services(context)
    lang = language(context, update.effective_user)
    user_id = update.effective_user.id
    checkin = await used.db().checkin(user_id, checkin_id)
    now = used.clock()
    earlier = await used.db().checkins(user_id, since=now - timedelta(days=14))
    # The patient's first check-in (or the first in two weeks): a good moment to offer one.
    first = all(item.id == checkin.id for item in earlier)
    offer_reminder = first and await _may_offer_reminder(used, user_id)
    await show(update, summary_screen(lang, checkin, earlier, await patient_zone(context, user_id), now, offer_reminder))
    if alert_reason(checkin, earlier):
        await send_contact_card(update, used.settings)


async def _may_offer_reminder(used: Services, user_id: int) -> bool:
    """No daily reminder yet, and the patient has not asked for no messages (/stop)."""
    patient = await used.db().patient(user_id)
    return await used.db().reminder(user_id) is None and not (patient and patient.opted_out)


def typed_text_routes() -> dict:
    return {"note": note_typed}


def handlers(services: Services) -> list:
    return [
        CommandHandler("checkin", start_checkin, filters=PRIVATE),
        CallbackQueryHandler(start_checkin, pattern=callbacks.CHECKIN_PATTERN),
        CallbackQueryHandler(consent_given, pattern=callbacks.CONSENT_PATTERN),
        CallbackQueryHandler(score_tapped, pattern=callbacks.SCORE_PATTERN),
        CallbackQueryHandler(item_tapped, pattern=callbacks.CHECKIN_ITEM_PATTERN),
        CallbackQueryHandler(done_tapped, pattern=callbacks.CHECKIN_DONE_PATTERN),
    ]
