"""The one error handler: log what broke (never what the patient wrote, never a Telegram
id: a patient is named by their pseudonymous id), then say sorry."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import Forbidden, TelegramError
from telegram.ext import CallbackContext

from bot.logs import describe, pseudonymous
from bot.pipeline import is_passing
from bot.screens import answer_query
from bot.services import language, services

log = logging.getLogger(__name__)


async def on_error(update: object, context: CallbackContext) -> None:
    error = context.error
    if isinstance(update, Update) and isinstance(error, Forbidden) and update.effective_chat:
        # The patient blocked the bot while we were answering: remember, don't retry.
        storage = services(context).db()
        await storage.set_blocked(update.effective_chat.id, True)
        log.info("patient %s has blocked the bot", await pseudonymous(storage, update.effective_chat.id))
        return
    if isinstance(update, Update) and is_passing(error):
        # The Bot API could not be reached or was overloaded: the pipeline handles the
        # update again when it answers (a "sorry" now would fail the same way). The outage
        # itself is logged once, by bot/logs.py's ApiWatch.
        context.application.update_processor.retry_later(update)
        log.debug("update %s: Bot API unavailable (%s); will handle it again", update.update_id, type(error).__name__)
        return
    if update is None and is_passing(error):
        # A failed poll, or a job's send, in an outage: bot/logs.py's ApiWatch logs the
        # outage once when it starts and once when it ends; nothing per failure.
        return
    if update is None and context.job is None and isinstance(error, TelegramError):
        # A poll Telegram refused (Conflict: another copy of the bot polls with this token).
        log.warning("getting updates failed: %s", describe(error))
        return
    update_id = update.update_id if isinstance(update, Update) else None
    # The traceback names our code, not the message; the update itself is never logged.
    log.error("error while handling update %s: %s", update_id, type(error).__name__, exc_info=error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    lang = language(context, update.effective_user)
    try:
        if update.callback_query:
            await answer_query(update)  # once: it may have been answered before the error
    except Exception:  # noqa: BLE001 - nothing more we can do
        pass
    try:
        await context.bot.send_message(update.effective_chat.id, lang.text("error.sorry"), parse_mode=ParseMode.HTML)
    except Exception:  # noqa: BLE001 - nothing more we can do; already logged
        log.warning("could not tell update %s's chat about the error", update_id)
