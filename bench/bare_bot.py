"""A bare python-telegram-bot bot that shows the same screens as ours, for bench/cpu_per_tap.py.

    TELEGRAM_BOT_TOKEN=... TELEGRAM_BASE_URL=... BARE_SCREENS=screens.json python bench/bare_bot.py

`/start` sends the menu and a tap edits the message into the topic screen, with the very
HTML and keyboards our bot sent (read once from BARE_SCREENS, written by the benchmark).
No storage, no pipeline, no rate limiter: the least any bot showing these screens does.
"""

from __future__ import annotations

import json
import logging
import os

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, CommandHandler, ContextTypes

with open(os.environ["BARE_SCREENS"], encoding="utf-8") as file:
    SCREENS = json.load(file)
MENU_MARKUP = InlineKeyboardMarkup.de_json(SCREENS["menu"]["reply_markup"], None)
TOPIC_MARKUP = InlineKeyboardMarkup.de_json(SCREENS["topic"]["reply_markup"], None)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_chat.send_message(SCREENS["menu"]["html"], parse_mode=ParseMode.HTML, reply_markup=MENU_MARKUP)


async def tapped(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.callback_query.answer()
    await update.callback_query.edit_message_text(SCREENS["topic"]["html"], parse_mode=ParseMode.HTML, reply_markup=TOPIC_MARKUP)


def main() -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    application = (
        ApplicationBuilder().token(os.environ["TELEGRAM_BOT_TOKEN"]).base_url(os.environ["TELEGRAM_BASE_URL"]).build()
    )
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CallbackQueryHandler(tapped))
    application.run_polling(allowed_updates=[Update.MESSAGE, Update.CALLBACK_QUERY], poll_interval=0, timeout=10)


if __name__ == "__main__":
    main()
