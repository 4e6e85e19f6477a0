"""A screen is what the bot shows at once: HTML text and inline buttons.

Flows build screens with pure functions (easy to test and to check without Telegram);
this module is the one place that turns them into Bot API calls.
"""

from __future__ import annotations

import logging
import weakref
from collections import OrderedDict
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


class _Memory:
    """What this bot did lately: the screen each message shows since we last edited it,
    and the taps it answered. A double tap arrives as two updates handled one after the
    other (bot/pipeline.py keeps one chat's updates in order); the second one's
    `query.message` is the message as it was when tapped, before the first edit, so only
    this memory tells that the screen is already there. And an update handled again (the
    pipeline retries one whose answer failed in an outage) must not answer its tap twice."""

    LIMIT = 5000  # messages and taps remembered; a double tap comes within seconds

    def __init__(self) -> None:
        self.shown: OrderedDict[tuple[int, int], tuple[str, object]] = OrderedDict()
        self.answered: OrderedDict[str, None] = OrderedDict()

    def remember(self, store: OrderedDict, key: object, value: object) -> None:
        store[key] = value
        store.move_to_end(key)
        while len(store) > self.LIMIT:
            store.popitem(last=False)


# One memory per running bot (an Application has one Bot). Keyed by id(), not by the Bot
# (two Bots of one token are equal), and dropped when the Bot goes.
_memories: dict[int, _Memory] = {}


def _memory(update: Update) -> _Memory:
    bot = update.get_bot()
    key = id(bot)
    if key not in _memories:
        _memories[key] = _Memory()
        weakref.finalize(bot, _memories.pop, key, None)
    return _memories[key]


async def answer_query(update: Update, text: str | None = None, *, alert: bool = False) -> None:
    """Answer a tap, once: a second call for the same tap does nothing. A tap Telegram
    re-delivers after downtime can no longer be answered ("query is too old"); that must
    not turn into an error for the person, who still gets the screen."""
    query = update.callback_query
    memory = _memory(update)
    if query.id in memory.answered:
        return
    try:
        await query.answer(text, show_alert=alert)
    except BadRequest as error:
        text_of_error = str(error).lower()
        if "query is too old" not in text_of_error and "query id is invalid" not in text_of_error:
            raise
    memory.remember(memory.answered, query.id, None)


def _shown_as(screen: Screen) -> tuple[str, object]:
    """What Telegram would compare to refuse an edit as "not modified"."""
    plain, _error = parse_html(screen.text)
    return plain, screen.markup()


def _already_showing(update: Update, message: Message, screen: Screen) -> bool:
    shown = _shown_as(screen)
    remembered = _memory(update).shown.get((message.chat_id, message.message_id))
    if remembered is not None:
        return remembered == shown
    return (message.text, message.reply_markup) == shown


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
    if _already_showing(update, query.message, screen):
        return  # a double tap: Telegram would refuse the edit as "not modified"
    where = (query.message.chat_id, query.message.message_id)
    memory = _memory(update)
    try:
        await query.edit_message_text(
            screen.text, parse_mode=ParseMode.HTML, reply_markup=screen.markup(), disable_web_page_preview=True
        )
        memory.remember(memory.shown, where, _shown_as(screen))
    except BadRequest as error:
        text = str(error).lower()
        if "not modified" in text:
            memory.remember(memory.shown, where, _shown_as(screen))
            return  # the screen is already showing (after a restart, which forgot)
        if "message to edit not found" in text or "no text in the message" in text or "can't be edited" in text:
            # The old message is gone or is a contact card/photo: show the screen anew.
            await send(update, screen)
            return
        raise
