"""Treatment sessions: "I had a TMS session / a ketamine treatment", today, yesterday or
on a typed date. They go on the pain chart, in the report, and into the comparison of pain
before the first session with pain now (flows/history.py).

Reached from /history and from the check-in summary. The date rides in the callback data
("ses:d:tms:20261130"), so an old button notes the day it offered, never a later one.
Sessions are health data: kept only after consent, like check-ins.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date, get_month_names
from telegram import Update
from telegram.ext import CallbackContext, CallbackQueryHandler

from bot import callbacks
from bot.chat_filters import in_private_chat
from bot.consent import consent_screen
from bot.content import Language
from bot.menu import back_to_menu_row
from bot.painlog import parse_day
from bot.safety import answered_by_safety_net
from bot.screens import Button, Screen, answer_query, send, show
from bot.staff import Guarded
from bot.services import Services, language, patient_zone, services
from bot.session_buttons import today_row
from bot.storage import TreatmentSession

TYPED_PURPOSES = {"session_tms": "tms", "session_ketamine": "ketamine"}


def day_text(lang: Language, day: date) -> str:
    return format_date(day, lang.label("history.chart_day_pattern"), locale=lang.code)


def _history_row(lang: Language) -> tuple[Button, ...]:
    return (Button(lang.label("checkin.history"), callbacks.HISTORY),)


def kind_screen(lang: Language) -> Screen:
    rows = (
        (Button(lang.label("sessions.tms"), callbacks.session_kind("tms")),),
        (Button(lang.label("sessions.ketamine"), callbacks.session_kind("ketamine")),),
        _history_row(lang),
    )
    return Screen(lang.text("sessions.ask_kind"), rows)


def day_screen(lang: Language, kind: str, today: date) -> Screen:
    yesterday = today - timedelta(days=1)
    rows = (
        (
            Button(lang.label("sessions.today"), callbacks.session_day(kind, today.strftime("%Y%m%d"))),
            Button(lang.label("sessions.yesterday"), callbacks.session_day(kind, yesterday.strftime("%Y%m%d"))),
        ),
        (Button(lang.label("sessions.type_day"), callbacks.session_day(kind, "type")),),
        (Button(lang.label("buttons.previous"), callbacks.SESSIONS),),
    )
    return Screen(lang.text("sessions.ask_day", kind=lang.label(f"sessions.kind_{kind}")), rows)


def saved_screen(lang: Language, session: TreatmentSession, all_sessions: list[TreatmentSession]) -> Screen:
    lines = [lang.text("sessions.saved", kind=lang.label(f"sessions.kind_{session.kind}"), day=day_text(lang, session.day))]
    if all_sessions:
        lines.append(lang.text("sessions.so_far", count=len(all_sessions), first=day_text(lang, all_sessions[0].day)))
    rows = ((Button(lang.label("sessions.remove"), callbacks.session_remove(session.id)),), _history_row(lang), back_to_menu_row(lang))
    return Screen("\n\n".join(lines), rows)


def example_day(lang: Language, today: date) -> str:
    return format_date(today - timedelta(days=2), lang.label("history.chart_short_day_pattern"), locale=lang.code)


def month_names(locale: str) -> dict[int, list[str]]:
    """1-12 to the full and short month names in the patient's language (Babel)."""
    names: dict[int, list[str]] = {number: [] for number in range(1, 13)}
    for width in ("wide", "abbreviated"):
        for context in ("format", "stand-alone"):
            for number, name in get_month_names(width, context, locale=locale).items():
                names[number].append(name)
    # "Sept" is common in English writing; Babel's short name is "Sep".
    names[9].append("sept")
    return names


def screens(lang: Language):
    today = date(2026, 11, 30)
    yield kind_screen(lang)
    yield day_screen(lang, "ketamine", today)
    session = TreatmentSession(999_999_999_999, 1, "ketamine", today)
    yield saved_screen(lang, session, [session])
    yield Screen(lang.text("sessions.bad_day", example=example_day(lang, today)), _typed_rows(lang))
    yield Screen(lang.text("sessions.type_day_help", example=example_day(lang, today)), _typed_rows(lang))
    yield Screen(lang.text("sessions.removed"), (_history_row(lang),))
    yield Screen(lang.text("sessions.ask_kind"), (today_row(lang, today),))


def _typed_rows(lang: Language) -> tuple[tuple[Button, ...], ...]:
    return ((Button(lang.label("buttons.previous"), callbacks.SESSIONS),),)


# -- handlers -------------------------------------------------------------------------------


async def _consented(update: Update, context: CallbackContext, lang: Language) -> bool:
    if await services(context).db().consent(update.effective_user.id):
        return True
    await show(update, consent_screen(lang))
    return False


async def _today(context: CallbackContext, user_id: int) -> tuple[date, ZoneInfo]:
    zone = await patient_zone(context, user_id)
    return services(context).clock().astimezone(zone).date(), zone


async def sessions_opened(update: Update, context: CallbackContext) -> None:
    lang = language(context, update.effective_user)
    await answer_query(update)
    if await _consented(update, context, lang):
        await show(update, kind_screen(lang))


async def kind_chosen(update: Update, context: CallbackContext) -> None:
    lang = language(context, update.effective_user)
    await answer_query(update)
    if not await _consented(update, context, lang):
        return
    today, _zone = await _today(context, update.effective_user.id)
    await show(update, day_screen(lang, context.match.group(1), today))


async def day_chosen(update: Update, context: CallbackContext) -> None:
    used = services(context)
    lang = language(context, update.effective_user)
    user_id = update.effective_user.id
    kind, choice = context.match.group(1), context.match.group(2)
    if not await used.db().consent(user_id):
        await answer_query(update)
        await show(update, consent_screen(lang))
        return
    today, _zone = await _today(context, user_id)
    if choice == "type":
        await answer_query(update)
        await used.db().await_text(user_id, f"session_{kind}", used.clock())
        await show(update, Screen(lang.text("sessions.type_day_help", example=example_day(lang, today)), _typed_rows(lang)))
        return
    try:
        day = datetime.strptime(choice, "%Y%m%d").date()
    except ValueError:
        day = None
    if day is None or day > today or day < today - timedelta(days=366):
        # A forged date, or a button from a day that no longer makes sense.
        await answer_query(update, lang.label("toast.out_of_date"), alert=True)
        return
    await answer_query(update)
    await _note(update, context, kind, day, edit=True)


async def _note(update: Update, context: CallbackContext, kind: str, day: date, edit: bool) -> None:
    used = services(context)
    lang = language(context, update.effective_user)
    user_id = update.effective_user.id
    session_id = await used.db().note_session(user_id, kind, day, used.clock())
    everything = await used.db().sessions(user_id)
    screen = saved_screen(lang, TreatmentSession(session_id, user_id, kind, day), everything)
    await (show(update, screen) if edit and _on_day_screen(update) else send(update, screen))


def _on_day_screen(update: Update) -> bool:
    """True when the tap came from this flow's own day screen (edit it); a tap on the
    check-in summary keeps the summary and answers below it."""
    message = update.callback_query.message if update.callback_query else None
    markup = getattr(message, "reply_markup", None)
    if markup is None:
        return False
    return any(button.callback_data == callbacks.SESSIONS for row in markup.inline_keyboard for button in row)


async def day_typed(update: Update, context: CallbackContext, _unused: int | None, kind: str) -> None:
    used = services(context)
    lang = language(context, update.effective_user)
    if answered_by_safety_net(update, context):
        return
    today, _zone = await _today(context, update.effective_user.id)
    day = parse_day(update.message.text, today, month_names(lang.code))
    if day is None:
        await send(update, Screen(lang.text("sessions.bad_day", example=example_day(lang, today)), _typed_rows(lang)))
        return
    # Noted (once: one row per kind and day), answered, then no longer awaited: a retry
    # after a failed answer reads the message as the day again.
    await _note(update, context, kind, day, edit=False)
    await used.db().stop_awaiting_text(update.effective_user.id)


async def remove_tapped(update: Update, context: CallbackContext) -> None:
    used = services(context)
    lang = language(context, update.effective_user)
    if not await used.db().remove_session(update.effective_user.id, int(context.match.group(1))):
        await answer_query(update, lang.label("toast.out_of_date"), alert=True)
        return
    await answer_query(update)
    await show(update, Screen(lang.text("sessions.removed"), (_history_row(lang),)))


def typed_text_routes() -> dict:
    async def tms(update, context, unused):
        await day_typed(update, context, unused, "tms")

    async def ketamine(update, context, unused):
        await day_typed(update, context, unused, "ketamine")

    return {"session_tms": tms, "session_ketamine": ketamine}


def handlers(services: Services) -> list:
    return [
        Guarded(CallbackQueryHandler(sessions_opened, pattern=callbacks.SESSIONS_PATTERN), in_private_chat),
        Guarded(CallbackQueryHandler(kind_chosen, pattern=callbacks.SESSION_KIND_PATTERN), in_private_chat),
        Guarded(CallbackQueryHandler(day_chosen, pattern=callbacks.SESSION_DAY_PATTERN), in_private_chat),
        Guarded(CallbackQueryHandler(remove_tapped, pattern=callbacks.SESSION_REMOVE_PATTERN), in_private_chat),
    ]
