"""The safety net: a message about suicide, self-harm or an emergency gets help at once.

It runs before every other handler (group -1), in any state of any flow. It does not stop
the update: a flow that was waiting for typed text (a check-in note) still keeps what the
patient wrote; the fallback stays quiet for an update the safety net answered. How a message
is read is bot/crisis_detector.py with content/<lang>/crisis.yaml; the numbers come from the
clinic's config (crisis.country, bot/crisis_lines.yaml).

The same reply, and the same staff alert, answer the 🆘 button (main menu, /help) and /sos,
which need no detection at all.

A burst of worrying messages gets the full reply once; each later one within
FULL_REPLY_INTERVAL gets a short reply with the numbers only, so no reply waits behind
Telegram's limit of about one message a second in a chat.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter
from telegram.ext import CallbackContext, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot import callbacks
from bot.clinic import send_contact_card
from bot.config import Crisis, Settings
from bot.content import Language
from bot.menu import back_to_menu_row
from bot.rate_limiter import OWN_RETRIES
from bot.screens import Button, Screen, answer_query, send
from bot.services import Services, language, services
from bot.storage import Storage

log = logging.getLogger(__name__)

ANSWERED = "safety_net_answered_update"
LAST_FULL_REPLY = "safety_net_full_reply_at"
SAFE_YES, SAFE_NO = "safe:yes", "safe:no"
SAFE_PATTERN = r"^safe:(yes|no)$"
# Within this time of a full reply, a worrying message gets the short one (numbers only).
FULL_REPLY_INTERVAL = timedelta(seconds=60)
# Staff get at most one alert per patient in this window, however many messages follow
# ("I'm not safe" always alerts).
ALERT_INTERVAL = timedelta(minutes=15)
ALERT_ATTEMPTS = 5

# The reply's lines in order, each with the crisis setting it needs (None: always shown).
REPLY_LINES = (
    ("emergency", None),
    ("line", None),
    ("text", "crisis_text"),
    ("chat", "crisis_chat"),
    ("veterans", "veterans_text"),
    ("spanish", "spanish_press"),
    ("clinic", None),
    ("care", None),
)
# The short reply keeps every option of the full one, one line each: a veteran or a
# Spanish speaker may only read the later replies.
SHORT_LINES = tuple(line for line in REPLY_LINES if line[0] != "care")


# -- screens (pure) -------------------------------------------------------------------------


def _lines(lang: Language, crisis: Crisis, prefix: str, lines: tuple) -> list[str]:
    return [lang.text(f"{prefix}.{key}") for key, needs in lines if needs is None or getattr(crisis, needs)]


def crisis_reply(lang: Language, crisis: Crisis, staff_alerted: bool) -> Screen:
    """Every number in one message, emergency first; then "Are you safe right now?"."""
    lines = _lines(lang, crisis, "crisis.reply", REPLY_LINES)
    if staff_alerted:
        lines.append(lang.text("crisis.reply.staff_told"))
    lines.append(lang.text("crisis.reply.question"))
    buttons = ((Button(lang.label("crisis.safe_yes"), SAFE_YES), Button(lang.label("crisis.safe_no"), SAFE_NO)),)
    return Screen("\n\n".join(lines), buttons, origin=lang.text_origins.get("crisis.reply.emergency", ""))


def short_reply(lang: Language, crisis: Crisis) -> Screen:
    """The numbers alone, for each later message of a burst."""
    return Screen("\n".join(_lines(lang, crisis, "crisis.short", SHORT_LINES)), origin=lang.text_origins.get("crisis.short.emergency", ""))


def not_safe_reply(lang: Language, crisis: Crisis) -> Screen:
    text = lang.text("crisis.answer_not_safe")
    if crisis.crisis_text:
        text += "\n" + lang.text("crisis.not_safe_text")
    return Screen(text, origin=lang.text_origins.get("crisis.answer_not_safe", ""))


def help_button(lang: Language) -> Button:
    """🆘 I need help now: the crisis reply without any detection."""
    return Button(lang.label("menu.sos"), callbacks.SOS)


def crisis_reply_for_group(lang: Language, crisis: Crisis, bot_username: str) -> Screen:
    """In a group: every number, as in the private reply, and a button that opens the
    private chat. No "are you safe" buttons and no menu: what follows them belongs in a
    private chat."""
    button = Button(lang.label("crisis_group.open_private"), url=f"https://t.me/{bot_username}?start=help")
    text = "\n\n".join(_lines(lang, crisis, "crisis.reply", REPLY_LINES))
    return Screen(text, ((button,),), origin=lang.text_origins.get("crisis.reply.emergency", ""))


async def answer_in_group(update: Update, context: CallbackContext, lang: Language) -> None:
    crisis = services(context).settings.crisis
    await send(update, crisis_reply_for_group(lang, crisis, context.bot.username))
    log.warning("crisis message answered in a group (update %s)", update.update_id)
    context.chat_data[ANSWERED] = update.update_id


def screens(lang: Language):
    """Every screen this module shows, for `python -m bot check` (with the US numbers, the
    longest reply)."""
    crisis = Crisis()
    yield crisis_reply(lang, crisis, staff_alerted=True)
    yield short_reply(lang, crisis)
    yield not_safe_reply(lang, crisis)
    yield Screen(lang.text("crisis.answer_safe"), (back_to_menu_row(lang),))
    yield crisis_reply_for_group(lang, crisis, "a_bot_username_of_32_characters_")


# -- handlers -------------------------------------------------------------------------------


async def crisis_check(update: Update, context: CallbackContext) -> None:
    """Every text or caption: answer at once if it reads as a crisis."""
    message = update.effective_message
    text = message.text or message.caption or ""
    lang = language(context, update.effective_user)
    # Every language's net: a patient may write in another language than they read in.
    if not services(context).content.is_crisis_in_any_language(text) or _writing_a_broadcast(update, context):
        return
    await _answer(update, context, lang, alert_key="crisis.staff_alert")


async def sos(update: Update, context: CallbackContext) -> None:
    """/sos and the 🆘 button: the full reply and the staff alert, whatever came before."""
    if update.callback_query:
        await answer_query(update)
    lang = language(context, update.effective_user)
    await _answer(update, context, lang, alert_key="crisis.staff_alert_sos", always_full=True)


async def _answer(update: Update, context: CallbackContext, lang: Language, alert_key: str, always_full: bool = False) -> None:
    if update.effective_chat.type != "private":
        # In a group: the numbers only, and the way to a private chat (no menu, no alert).
        await answer_in_group(update, context, lang)
        return
    used = services(context)
    settings = used.settings
    private = update.effective_chat.type == "private"
    now = used.clock()
    context.chat_data[ANSWERED] = update.update_id
    # Log that it happened, never what was written nor who wrote it.
    log.warning("crisis reply sent (update %s)", update.update_id)
    last_full: datetime | None = context.chat_data.get(LAST_FULL_REPLY)
    if not always_full and last_full is not None and now - last_full < FULL_REPLY_INTERVAL:
        await send(update, short_reply(lang, settings.crisis))
    else:
        context.chat_data[LAST_FULL_REPLY] = now
        alerted = private and bool(_alert_targets(settings))
        await send(update, crisis_reply(lang, settings.crisis, staff_alerted=alerted))
        await send_contact_card(update, settings)
    if private:
        await _alert_staff(update, context, key=alert_key)


async def safety_answered(update: Update, context: CallbackContext) -> None:
    """The patient answered "Are you safe right now?"."""
    lang = language(context, update.effective_user)
    crisis = services(context).settings.crisis
    await answer_query(update)
    if context.match.group(1) == "yes":
        await send(update, Screen(lang.text("crisis.answer_safe"), ((help_button(lang),), back_to_menu_row(lang))))
        return
    await send(update, not_safe_reply(lang, crisis))
    await send_contact_card(update, services(context).settings)
    await _alert_staff(update, context, key="crisis.staff_alert_not_safe", urgent=True)


def _writing_a_broadcast(update: Update, context: CallbackContext) -> bool:
    """A staff member's broadcast may well say "call 988": that is not a crisis message."""
    storage, user = services(context).storage, update.effective_user
    return storage is not None and user is not None and storage.is_awaiting(Storage.AWAITING_BROADCAST, user.id)


def answered_by_safety_net(update: Update, context: CallbackContext) -> bool:
    """True when the safety net already answered this update (so no "I can't read that")."""
    return context.chat_data is not None and context.chat_data.get(ANSWERED) == update.update_id


def _alert_targets(settings: Settings) -> list[int]:
    """The staff chat, or else each staff member privately (as call-back requests do)."""
    if settings.staff_chat_id is not None:
        return [settings.staff_chat_id]
    return sorted(settings.staff_ids)


async def _alert_staff(update: Update, context: CallbackContext, key: str, urgent: bool = False) -> None:
    """A short alert to staff: the first name and a link, never the message.

    At most one ordinary alert per patient in ALERT_INTERVAL; "I'm not safe" always.
    """
    used = services(context)
    targets = _alert_targets(used.settings)
    if not targets:
        log.warning("crisis alert reached no one: set staff_chat_id or staff_ids in the config")
        return
    user = update.effective_user
    now = used.clock()
    last_alerts: dict[int, datetime] = context.bot_data.setdefault("crisis_alerts", {})
    if not urgent and user.id in last_alerts and now - last_alerts[user.id] < ALERT_INTERVAL:
        return
    last_alerts[user.id] = now
    lang = used.content.language(None)  # staff read the clinic's default language
    text = lang.text(key, first_name=user.first_name, user_id=user.id)
    # Off the patient's path: many alerts to one staff chat run into Telegram's per-chat
    # limit, and a 429 must not hold up the next patient's crisis reply (see _send_alert).
    for chat_id in targets:
        context.application.create_task(_send_alert(context, chat_id, text), update=update, name="crisis alert")


async def _send_alert(context: CallbackContext, chat_id: int, text: str) -> None:
    """One alert, retried on a 429 by itself (OWN_RETRIES), so the rate limiter never pauses
    every other request, patients' replies among them, on the alert's behalf. Alerts to one
    staff chat go one at a time, so waiting ones cost nothing of the bot's send budget."""
    locks: dict[int, asyncio.Lock] = context.bot_data.setdefault("crisis_alert_locks", {})
    async with locks.setdefault(chat_id, asyncio.Lock()):
        for _attempt in range(ALERT_ATTEMPTS):
            try:
                await context.bot.send_message(chat_id, text, parse_mode=ParseMode.HTML, rate_limit_args=OWN_RETRIES)
                return
            except RetryAfter as error:
                await asyncio.sleep(_seconds(error.retry_after))
            except (BadRequest, Forbidden) as error:
                # A staff member who never started the bot, or a group the bot left. The
                # patient already has help; the log says so without naming anyone.
                log.warning("a crisis alert could not reach a staff chat (%s)", type(error).__name__)
                return
    log.warning("a crisis alert was refused %s times for Telegram's rate limit; given up", ALERT_ATTEMPTS)


def _seconds(retry_after: float | timedelta) -> float:
    return retry_after.total_seconds() if isinstance(retry_after, timedelta) else float(retry_after)


def handlers(shared: Services) -> list:
    """The net itself, for the group that runs before every flow: /sos first, then every
    text and caption. Says at start-up when alerts would reach no one."""
    if not _alert_targets(shared.settings):
        log.warning("crisis alerts go nowhere: no staff_chat_id and no staff_ids in the config")
    text_or_caption = (filters.TEXT | filters.CAPTION) & filters.UpdateType.MESSAGES
    return [CommandHandler("sos", sos), MessageHandler(text_or_caption, crisis_check)]


def button_handlers() -> list:
    """The 🆘 button and the answers to "Are you safe right now?", among the flows' buttons."""
    return [
        CallbackQueryHandler(sos, pattern=callbacks.SOS_PATTERN),
        CallbackQueryHandler(safety_answered, pattern=SAFE_PATTERN),
    ]
