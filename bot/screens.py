"""A screen is what the bot shows at once: HTML text and inline buttons.

Flows build screens with pure functions (easy to test and to check without Telegram);
this module is the one place that turns them into Bot API calls.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.telegram_html import parse_html

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Button:
    label: str
    data: str = ""
    # A link button (t.me deep link) instead of a tap the bot answers.
    url: str | None = None

    def inline(self) -> InlineKeyboardButton:
        if self.url is not None:
            return InlineKeyboardButton(self.label, url=self.url)
        return InlineKeyboardButton(self.label, callback_data=self.data)


@dataclass(frozen=True)
class Screen:
    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    # Where the text comes from ("content/en/ui/common.yaml:12"), for the checker's messages.
    origin: str = field(default="", compare=False)

    def markup(self) -> InlineKeyboardMarkup | None:
        if not self.buttons:
            return None
        return InlineKeyboardMarkup(
            [[button.inline() for button in row] for row in self.buttons]
        )


async def answer_query(update: Update, text: str | None = None, *, alert: bool = False) -> None:
    """Answer a tap, once. A tap Telegram re-delivers after downtime can no longer be
    answered ("query is too old"); that must not turn into an error for the person, who
    still gets the screen."""
    try:
        await update.callback_query.answer(text, show_alert=alert)
    except BadRequest as error:
        text_of_error = str(error).lower()
        if "query is too old" not in text_of_error and "query id is invalid" not in text_of_error:
            raise


def _already_showing(message: Message, screen: Screen) -> bool:
    plain, _error = parse_html(screen.text)
    return message.text == plain and message.reply_markup == screen.markup()


async def send(update: Update, screen: Screen) -> Message:
    """Send the screen as a new message in the chat of the update."""
    return await update.effective_chat.send_message(
        screen.text, parse_mode=ParseMode.HTML, reply_markup=screen.markup(), disable_web_page_preview=True
    )


async def show(update: Update, screen: Screen) -> None:
    """Move to the screen: edit the tapped message in place, or send a new one."""
    query = update.callback_query
    if query is None or query.message is None:
        await send(update, screen)
        return
    if _already_showing(query.message, screen):
        return  # a double tap: Telegram would refuse the edit as "not modified"
    try:
        await query.edit_message_text(
            screen.text, parse_mode=ParseMode.HTML, reply_markup=screen.markup(), disable_web_page_preview=True
        )
    except BadRequest as error:
        text = str(error).lower()
        if "not modified" in text:
            return  # a double tap: the screen is already showing
        if "message to edit not found" in text or "no text in the message" in text or "can't be edited" in text:
            # The old message is gone or is a contact card/photo: show the screen anew.
            await send(update, screen)
            return
        raise
