"""Private data stays in private chats: one gatekeeper for every update from a group.

Patient features (check-ins, history, reminders, screening, the menu) answer only in the
patient's own private chat. Rather than a filter on every flow's handlers, which a future
flow could forget, one handler runs before all the flows (`bot/app.py` registers it first
in group 0, after the safety net of group -1 has seen the message) and stops every
message and tap from a group there (ApplicationHandlerStop, as rules-bot's gatekeepers do):

- a tap on a button in a group is answered with a short toast, never with a screen;
- a message or a tap from a group gets "I only work in private chats" once per group
  (the group_chats table remembers which groups were told);
- the one exception: "Mark handled" on a call-back request in the clinic's staff chat.

Changes of the bot's membership (`my_chat_member`) pass through to flows/membership.py.
"""

from __future__ import annotations

import re

from telegram import Update, User
from telegram.constants import ParseMode
from telegram.ext import ApplicationHandlerStop, BaseHandler, CallbackContext

from bot import callbacks
from bot.safety import answered_by_safety_net
from bot.screens import answer_query
from bot.services import Services, language, services

# Taps that work in the staff chat, where staff mark call-back requests handled.
_STAFF_CHAT_TAPS = re.compile(callbacks.CALLBACK_HANDLED_PATTERN)


def outside_private_chats(update: Update, staff_chat_id: int | None) -> bool:
    """True for a message or a tap the gatekeeper must stop. Pure: no Telegram calls."""
    if update.callback_query is not None:
        chat = update.effective_chat  # None for a tap on an inline-mode message
        if chat is not None and chat.type == "private":
            return False
        in_staff_chat = chat is not None and staff_chat_id is not None and chat.id == staff_chat_id
        return not (in_staff_chat and _STAFF_CHAT_TAPS.match(update.callback_query.data or ""))
    if update.message is not None or update.edited_message is not None:
        return update.effective_chat.type != "private"
    return False  # my_chat_member and anything else: not a request for a feature


class PrivateChatsOnly(BaseHandler):
    """Matches every update `outside_private_chats` stops, and stops it."""

    def __init__(self, used: Services) -> None:
        super().__init__(stop_outside_private_chats)
        self.used = used

    def check_update(self, update: object) -> bool:
        return isinstance(update, Update) and outside_private_chats(update, self.used.settings.staff_chat_id)


async def stop_outside_private_chats(update: Update, context: CallbackContext) -> None:
    if update.callback_query is not None:
        lang = language(context, update.effective_user)
        await answer_query(update, lang.label("group.toast_private_only"))
    chat = update.effective_chat
    # An edited message is not a new request; a crisis message already has its answer.
    if chat is not None and update.edited_message is None and not answered_by_safety_net(update, context):
        await introduce_once(context, chat.id, update.effective_user)
    raise ApplicationHandlerStop


async def introduce_once(context: CallbackContext, chat_id: int, user: User | None) -> None:
    """Say once per group that the bot works in private chats and shares nothing here."""
    used = services(context)
    if await used.db().first_time_in_group(chat_id, used.clock()):
        lang = language(context, user)
        await context.bot.send_message(chat_id, lang.text("group.private_only"), parse_mode=ParseMode.HTML)


def handler(used: Services) -> PrivateChatsOnly:
    return PrivateChatsOnly(used)
