"""/language: the patient picks the language the bot writes to them in, at any time.

The first language comes from Telegram's language_code (flows/membership.py stores it);
this flow changes the stored choice, which from then on wins over Telegram's. Each
button names its language in that language ("English", "Español"), so a patient who
cannot read the current one still finds their own.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import CallbackContext, CallbackQueryHandler, CommandHandler

from bot import callbacks
from bot.chat_filters import PRIVATE
from bot.content import Content, Language
from bot.menu import back_to_menu_row, main_menu
from bot.screens import Button, Screen, answer_query, send, show
from bot.services import Services, language, remember_language, services

log = logging.getLogger(__name__)


def choice_screen(content: Content, lang: Language) -> Screen:
    """One button per language, named in itself; the current one marked."""
    rows = tuple(
        (Button(("✓ " if code == lang.code else "") + other.label("language.name"), callbacks.language_chosen(code)),)
        for code, other in content.languages.items()
    )
    text = lang.text("language.choose", current=lang.label("language.name_in_sentence"))
    return Screen(text, rows + (back_to_menu_row(lang),), origin=lang.text_origins.get("language.choose", ""))


def changed_screen(lang: Language) -> Screen:
    """The main menu, in the language just chosen, under a line that says so."""
    return main_menu(lang, intro=lang.text("language.changed"))


def screens(lang: Language):
    """Every screen this flow can show, for `python -m bot check`."""
    content = Content({lang.code: lang}, default=lang.code)
    yield choice_screen(content, lang)
    yield changed_screen(lang)


async def language_command(update: Update, context: CallbackContext) -> None:
    await send(update, choice_screen(services(context).content, language(context, update.effective_user)))


async def languages_tapped(update: Update, context: CallbackContext) -> None:
    await answer_query(update)
    await show(update, choice_screen(services(context).content, language(context, update.effective_user)))


async def language_chosen(update: Update, context: CallbackContext) -> None:
    used = services(context)
    code = context.match.group(1)
    if code not in used.content.languages:
        # A button from before a language was removed, or forged data.
        lang = language(context, update.effective_user)
        await answer_query(update, lang.label("toast.out_of_date"))
        await show(update, choice_screen(used.content, lang))
        return
    await answer_query(update)
    await used.db().set_patient_language(update.effective_user.id, code)
    remember_language(context, code)
    log.info("a patient chose the language %s", code)
    await show(update, changed_screen(used.content.languages[code]))


def handlers(services: Services) -> list:
    return [
        CommandHandler("language", language_command, filters=PRIVATE),
        CallbackQueryHandler(languages_tapped, pattern=callbacks.LANGUAGES_PATTERN),
        CallbackQueryHandler(language_chosen, pattern=callbacks.LANGUAGE_CHOSEN_PATTERN),
    ]
