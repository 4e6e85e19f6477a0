"""Welcome, main menu and help: where every patient starts and can always return."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackContext, CallbackQueryHandler, CommandHandler, filters

from bot import callbacks
from bot.chat_filters import PRIVATE
from bot.content import Language
from bot.menu import back_to_menu_row, main_menu
from bot.safety import help_button
from bot.screens import Button, Screen, answer_query, send, show
from bot.services import Services, language


def welcome_screen(lang: Language, first_name: str, link_out_of_date: bool = False) -> Screen:
    intro = lang.text("welcome", first_name=first_name)
    if link_out_of_date:
        intro = f"{lang.text('deep_link_unknown')}\n\n{intro}"
    return main_menu(lang, intro=intro)


def help_screen(lang: Language) -> Screen:
    language_row = (Button(lang.label("language.help_button"), callbacks.LANGUAGES),)
    return Screen(
        lang.text("help"), ((help_button(lang),), language_row, back_to_menu_row(lang)), origin=lang.text_origins.get("help", "")
    )


def screens(lang: Language):
    """Every screen this flow can show, for `python -m bot check`."""
    yield welcome_screen(lang, "Alexandria-Marie", link_out_of_date=True)
    yield help_screen(lang)


async def start(update: Update, context: CallbackContext) -> None:
    # Deep links that name a topic or feature are handled by their own flows before this
    # handler; a payload that reaches here is unknown (a mistyped or outdated poster link).
    lang = language(context, update.effective_user)
    await send(update, welcome_screen(lang, update.effective_user.first_name, link_out_of_date=bool(context.args)))


async def menu_command(update: Update, context: CallbackContext) -> None:
    await send(update, main_menu(language(context, update.effective_user)))


async def menu_tapped(update: Update, context: CallbackContext) -> None:
    await answer_query(update)
    await show(update, main_menu(language(context, update.effective_user)))


async def help_command(update: Update, context: CallbackContext) -> None:
    await send(update, help_screen(language(context, update.effective_user)))


def handlers(services: Services) -> list:
    return [
        # The crisis reply in a group links here (bot/safety.py): the help screen.
        CommandHandler("start", help_command, filters=PRIVATE & filters.Regex(r"^/start help$")),
        CommandHandler("start", start, filters=PRIVATE),
        CommandHandler("menu", menu_command, filters=PRIVATE),
        CommandHandler("help", help_command, filters=PRIVATE),
        CallbackQueryHandler(menu_tapped, pattern=callbacks.MAIN_MENU_PATTERN),
    ]
