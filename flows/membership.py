"""Who the bot is talking to: patients seen, blocked or back, and groups.

Recording a patient runs for every private update before anything else and never stops
the update. When a patient blocks the bot Telegram sends `my_chat_member` "kicked"; when
they unblock and write again they count as active. When the bot is added to a group it
says once that it works in private chats only.
"""

from __future__ import annotations

import logging

from telegram import ChatMemberUpdated, Update
from telegram.constants import ChatMemberStatus
from telegram.ext import CallbackContext, ChatMemberHandler, TypeHandler

from bot import private_only
from bot.services import Services, remember_language, services

log = logging.getLogger(__name__)


async def record_patient(update: Update, context: CallbackContext) -> None:
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None or chat.type != "private" or user.is_bot:
        return
    if update.my_chat_member is not None:
        return  # a block/unblock is not the patient talking to us: handled below
    used = services(context)
    detected = used.content.language_code(user.language_code)
    stored = await used.db().record_patient(user.id, user.first_name or "", detected, used.clock())
    # Every flow asks `bot.services.language`, which reads this: no query per text.
    remember_language(context, stored)


async def membership_changed(update: Update, context: CallbackContext) -> None:
    change: ChatMemberUpdated = update.my_chat_member
    status = change.new_chat_member.status
    used = services(context)
    if change.chat.type == "private":
        blocked = status in (ChatMemberStatus.BANNED, ChatMemberStatus.LEFT)
        await used.db().set_blocked(change.chat.id, blocked)
        return
    if status in (ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR):
        # Added to a group: say at once that the bot works in private chats. Messages and
        # taps from groups are stopped by the gatekeeper (bot/private_only.py).
        await private_only.introduce_once(context, change.chat.id, update.effective_user)


def handlers(services: Services) -> list:
    return [ChatMemberHandler(membership_changed, ChatMemberHandler.MY_CHAT_MEMBER)]


def recorder() -> TypeHandler:
    return TypeHandler(Update, record_patient)
