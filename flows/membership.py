"""Who the bot is talking to: patients seen, blocked or back, and groups.

Recording a patient runs for every private update before anything else and never stops
the update. When a patient blocks the bot Telegram sends `my_chat_member` "kicked"; when
they unblock and write again they count as active.
"""

from __future__ import annotations

import logging

from telegram import ChatMemberUpdated, Update
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.ext import (
    CallbackContext,
    ChatMemberHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.services import Services, language, remember_language, services

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
        await _introduce_in_group(update, context, change.chat.id)


async def group_message(update: Update, context: CallbackContext) -> None:
    await _introduce_in_group(update, context, update.effective_chat.id)


async def _introduce_in_group(update: Update, context: CallbackContext, chat_id: int) -> None:
    """Say once per group that the bot works in private chats and shares nothing here."""
    used = services(context)
    if await used.db().first_time_in_group(chat_id, used.clock()):
        lang = language(context, update.effective_user)
        await context.bot.send_message(chat_id, lang.text("group.private_only"), parse_mode=ParseMode.HTML)


def handlers(services: Services) -> list:
    return [
        ChatMemberHandler(membership_changed, ChatMemberHandler.MY_CHAT_MEMBER),
        MessageHandler(filters.ChatType.GROUPS & filters.UpdateType.MESSAGE, group_message),
    ]


def recorder() -> TypeHandler:
    return TypeHandler(Update, record_patient)
