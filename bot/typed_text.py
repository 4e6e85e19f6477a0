"""Typed answers: when a flow asks the patient to type something (a note, a time), the
next text message goes to that flow instead of the fallback.

What is awaited lives in SQLite (awaiting_text), so it survives a restart. The wait ends
when the answer comes or when the patient does anything else: a command or a button tap.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.ext import CallbackContext, MessageHandler, filters

from bot.chat_filters import PRIVATE
from bot.services import Services, services

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
            return
        purpose, checkin_id = awaited
        await routes[purpose](update, context, checkin_id)

    waiting = _Awaiting(lambda: shared.storage.awaiting if shared.storage else set())
    return MessageHandler(PRIVATE & filters.TEXT & ~filters.COMMAND & waiting, route)


async def stop_waiting_on_other_action(update: Update, context: CallbackContext) -> None:
    """A command or a button tap means the patient moved on: stop waiting for typed text."""
    user = update.effective_user
    storage = services(context).storage
    if user is None or storage is None or user.id not in storage.awaiting:
        return
    message = update.message
    if update.callback_query or (message and message.text and message.text.startswith("/")):
        await storage.stop_awaiting_text(user.id)
