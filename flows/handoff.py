"""Hand-off to the clinic: its phone number as a contact card, at any moment, and the way
in to asking for a call back."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackContext, CallbackQueryHandler, CommandHandler, filters

from bot import callbacks
from bot.chat_filters import PRIVATE
from bot.clinic import send_contact_card
from bot.content import Language
from bot.menu import back_to_menu_row
from bot.screens import Button, Screen, answer_query, send
from bot.services import Services, language, services


def contact_screen(lang: Language) -> Screen:
    # Besides the number: a patient who cannot call now can ask to be called
    # (flows/callback_request.py).
    rows = ((Button(lang.label("callback.ask_button"), callbacks.CALLBACK_REQUEST),), back_to_menu_row(lang))
    return Screen(lang.text("contact.text"), rows, origin=lang.text_origins.get("contact.text", ""))


def screens(lang: Language):
    yield contact_screen(lang)


async def contact(update: Update, context: CallbackContext) -> None:
    if update.callback_query:
        await answer_query(update)
    # The card first: it is what a patient in a hurry needs; the hours follow.
    await send_contact_card(update, services(context).settings)
    await send(update, contact_screen(language(context, update.effective_user)))


def handlers(services: Services) -> list:
    return [
        CommandHandler("contact", contact, filters=PRIVATE),
        CommandHandler("start", contact, filters=PRIVATE & filters.Regex(r"^/start contact$")),
        CallbackQueryHandler(contact, pattern=callbacks.CONTACT_PATTERN),
    ]
