"""The safety net: a message about suicide, self-harm or an emergency gets help at once.

It runs before every other handler (group -1), in any state of any flow. It does not stop
the update: a flow that was waiting for typed text (a check-in note) still keeps what the
patient wrote; the fallback stays quiet for an update the safety net answered. The patterns are per language in
content/<lang>/crisis.yaml; the numbers come from the clinic's config.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import CallbackContext, CallbackQueryHandler, MessageHandler, filters

from bot.clinic import send_contact_card
from bot.content import Language
from bot.menu import back_to_menu_row
from bot.screens import Button, Screen, answer_query, send
from bot.services import language, services
from bot.storage import Storage

log = logging.getLogger(__name__)

ANSWERED = "safety_net_answered_update"
SAFE_YES, SAFE_NO = "safe:yes", "safe:no"
SAFE_PATTERN = r"^safe:(yes|no)$"
# Staff get at most one alert per patient in this window, however many messages follow.
ALERT_INTERVAL_SECONDS = 15 * 60


def normalise(text: str) -> str:
    """Lower case, straight apostrophes, single spaces: what the patterns are written for."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u02bc", "'")
    return " ".join(text.lower().split())


def is_crisis(text: str, patterns: Iterable[re.Pattern]) -> bool:
    """True when any crisis pattern appears in the text. Pure: no Telegram, no I/O."""
    normal = normalise(text)
    return any(pattern.search(normal) for pattern in patterns)


def crisis_reply(lang: Language, staff_alerted: bool) -> Screen:
    """Numbers first and plainly (safe-messaging guidance), then "are you safe?" as buttons."""
    text = lang.text("crisis.reply")
    if staff_alerted:
        text += "\n\n" + lang.text("crisis.staff_told")
    buttons = ((Button(lang.label("crisis.safe_yes"), SAFE_YES), Button(lang.label("crisis.safe_no"), SAFE_NO)),)
    return Screen(text, buttons, origin=lang.text_origins.get("crisis.reply", ""))


def screens(lang: Language):
    yield crisis_reply(lang, staff_alerted=True)


async def crisis_check(update: Update, context: CallbackContext) -> None:
    message = update.effective_message
    text = message.text or message.caption or ""
    lang = language(context, update.effective_user)
    # Every language's patterns: a patient may write in another language than they read in.
    if not is_crisis(text, services(context).content.crisis_patterns) or _writing_a_broadcast(update, context):
        return
    settings = services(context).settings
    private = update.effective_chat.type == "private"
    await send(update, crisis_reply(lang, staff_alerted=private and settings.staff_chat_id is not None))
    await send_contact_card(update, settings)
    # Log that it happened, never what was written.
    log.warning("crisis message answered (update %s)", update.update_id)
    context.chat_data[ANSWERED] = update.update_id
    if private:
        await _alert_staff(update, context)


async def safety_answered(update: Update, context: CallbackContext) -> None:
    """The patient answered "Are you safe right now?"."""
    lang = language(context, update.effective_user)
    await answer_query(update)
    if context.match.group(1) == "yes":
        await send(update, Screen(lang.text("crisis.answer_safe"), (back_to_menu_row(lang),)))
        return
    await send(update, Screen(lang.text("crisis.answer_not_safe")))
    await send_contact_card(update, services(context).settings)
    await _alert_staff(update, context, key="crisis.staff_alert_not_safe", urgent=True)


def _writing_a_broadcast(update: Update, context: CallbackContext) -> bool:
    """A staff member's broadcast may well say "call 988": that is not a crisis message."""
    storage, user = services(context).storage, update.effective_user
    return storage is not None and user is not None and storage.is_awaiting(Storage.AWAITING_BROADCAST, user.id)


def answered_by_safety_net(update: Update, context: CallbackContext) -> bool:
    """True when the safety net already answered this update (so no "I can't read that")."""
    return context.chat_data is not None and context.chat_data.get(ANSWERED) == update.update_id


async def _alert_staff(update: Update, context: CallbackContext, key: str = "crisis.staff_alert", urgent: bool = False) -> None:
    """A short alert to the staff chat: the first name and a link, never the message.

    At most one ordinary alert per patient in ALERT_INTERVAL_SECONDS; "I'm not safe" always.
    """
    settings = services(context).settings
    if settings.staff_chat_id is None:
        return
    user = update.effective_user
    last_alerts: dict[int, float] = context.bot_data.setdefault("crisis_alerts", {})
    now = time.monotonic()
    if not urgent and now - last_alerts.get(user.id, -ALERT_INTERVAL_SECONDS) < ALERT_INTERVAL_SECONDS:
        return
    last_alerts[user.id] = now
    lang = services(context).content.language(None)  # staff read the clinic's default language
    try:
        await context.bot.send_message(
            settings.staff_chat_id,
            lang.text(key, first_name=user.first_name, user_id=user.id),
            parse_mode=ParseMode.HTML,
        )
    except Exception:  # noqa: BLE001 - the patient already has help; staff trouble is logged
        log.exception("could not alert the staff chat about a crisis message")


def handlers() -> list:
    """The net itself, for the group that runs before every flow."""
    text_or_caption = (filters.TEXT | filters.CAPTION) & filters.UpdateType.MESSAGES
    return [MessageHandler(text_or_caption, crisis_check)]


def button_handlers() -> list:
    """The answers to "Are you safe right now?", among the flows' buttons."""
    return [CallbackQueryHandler(safety_answered, pattern=SAFE_PATTERN)]
