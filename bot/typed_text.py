"""Typed answers: when a flow asks the patient to type something (a note, a time), the
next text message goes to that flow instead of the fallback.

What is awaited lives in SQLite (awaiting_text), so it survives a restart. The wait ends
when the answer comes or when the patient does anything else: a command or a button tap.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import ReplyKeyboardRemove, Update
from telegram.constants import ParseMode
from telegram.ext import CallbackContext, MessageHandler, filters

from bot.chat_filters import PRIVATE
from bot.menu import back_to_menu_row
from bot.safety import answered_by_safety_net
from bot.screens import Screen, send
from bot.services import Services, language, services
from bot.storage import Storage

# A flow's answer handler: (update, context, the check-in id the wait was about, if any).
Answer = Callable[[Update, CallbackContext, "int | None"], Awaitable[None]]


class _Awaiting(filters.MessageFilter):
    """Passes messages from patients who were asked to type something."""

    def __init__(self, waiting: Callable[[], set[int]]) -> None:
        super().__init__(name="awaiting typed answer")
        self._waiting = waiting

    def filter(self, message) -> bool:
        return message.from_user is not None and message.from_user.id in self._waiting()


def handler(shared: Services, routes: dict[str, Answer]) -> MessageHandler:
    """One handler for every typed answer, dispatching on what was asked."""

    async def route(update: Update, context: CallbackContext) -> None:
        storage = services(context).db()
        awaited = await storage.awaited_text(update.effective_user.id)
        if awaited is None:  # the mirror was stale; nothing is awaited after all
            storage.awaiting.discard(update.effective_user.id)
            if not answered_by_safety_net(update, context):
                lang = language(context, update.effective_user)
                await send(update, Screen(lang.text("fallback.text"), (back_to_menu_row(lang),)))
            return
        purpose, checkin_id = awaited
        await routes[purpose](update, context, checkin_id)

    waiting = _Awaiting(lambda: shared.storage.awaiting if shared.storage else set())
    return MessageHandler(PRIVATE & filters.TEXT & ~filters.COMMAND & waiting, route)


async def stop_waiting_on_other_action(update: Update, context: CallbackContext) -> None:
    """A command or a button tap means the patient moved on: stop waiting for typed text,
    and drop a call-back request they had not finished (else a check-in note typed later
    would go to the clinic's staff as "a good time to call")."""
    user = update.effective_user
    storage = services(context).storage
    if user is None or storage is None or update.effective_chat is None or update.effective_chat.type != "private":
        return
    message = update.message
    data = update.callback_query.data if update.callback_query else None
    moved_on = data is not None or bool(message and message.text and message.text.startswith("/"))
    if not moved_on:
        return
    if user.id in storage.awaiting:
        await storage.stop_awaiting_text(user.id)
    if storage.is_awaiting(Storage.AWAITING_CALLBACK, user.id) and not (data or "").startswith("cbr:"):
        request = await storage.live_callback_request(user.id)
        if request is not None and request.stage in ("phone", "time"):
            await storage.drop_callback_request(request.id)
            lang = language(context, user)
            await update.effective_chat.send_message(
                lang.text("callback.dropped"), parse_mode=ParseMode.HTML, reply_markup=ReplyKeyboardRemove()
            )
