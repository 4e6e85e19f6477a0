"""Everything no other flow answered: a short, friendly pointer to the menu.

Registered last. A stray text, an unknown command, a sticker or a voice note gets a reply;
a button from an old message, or callback data nobody sent, gets its tap answered and a
plain "this button is out of date".
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackContext, CallbackQueryHandler, MessageHandler, filters

from bot.chat_filters import PRIVATE
from bot.content import Language
from bot.menu import back_to_menu_row, main_menu
from bot.safety import answered_by_safety_net
from bot.screens import Screen, answer_query, send
from bot.services import Services, language


def not_understood_screen(lang: Language, key: str) -> Screen:
    return Screen(lang.text(key), (back_to_menu_row(lang),), origin=lang.text_origins.get(key, ""))


def screens(lang: Language):
    yield not_understood_screen(lang, "fallback.text")
    yield not_understood_screen(lang, "fallback.command")
    yield not_understood_screen(lang, "fallback.media")
    yield main_menu(lang, intro=lang.text("fallback.stale_button"))


async def unknown_command(update: Update, context: CallbackContext) -> None:
    await _point_to_menu(update, context, "fallback.command")


async def unknown_text(update: Update, context: CallbackContext) -> None:
    await _point_to_menu(update, context, "fallback.text")


async def unknown_media(update: Update, context: CallbackContext) -> None:
    await _point_to_menu(update, context, "fallback.media")


async def _point_to_menu(update: Update, context: CallbackContext, key: str) -> None:
    if answered_by_safety_net(update, context):
        return  # the crisis answer stands alone
    await send(update, not_understood_screen(language(context, update.effective_user), key))


async def stale_button(update: Update, context: CallbackContext) -> None:
    lang = language(context, update.effective_user)
    await answer_query(update, lang.label("toast.out_of_date"))
    await send(update, main_menu(lang, intro=lang.text("fallback.stale_button")))


class TapWithoutData(CallbackQueryHandler):
    """A tap whose callback data is empty (a forged or broken client).

    python-telegram-bot's CallbackQueryHandler lets a query without data match *every*
    pattern, so without this the first button handler would take it: the 🆘 one, with a
    false crisis alert to the staff. Registered before the flows' buttons."""

    def __init__(self) -> None:
        super().__init__(stale_button)

    def check_update(self, update: object) -> bool:
        query = update.callback_query if isinstance(update, Update) else None
        return query is not None and not query.data and not query.game_short_name


def handlers(services: Services) -> list:
    return [
        MessageHandler(PRIVATE & filters.COMMAND, unknown_command),
        MessageHandler(PRIVATE & filters.TEXT, unknown_text),
        # Stickers, photos, voice, files, locations...: anything else a person can send.
        MessageHandler(PRIVATE & ~filters.StatusUpdate.ALL, unknown_media),
        CallbackQueryHandler(stale_button),
    ]
