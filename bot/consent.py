"""The check-in programme's privacy notice and opt-in button, shown by every flow that
would store pain data (check-in, reminders) before the patient has agreed."""

from __future__ import annotations

from bot import callbacks
from bot.content import Language
from bot.menu import back_to_menu_row
from bot.screens import Button, Screen


def consent_screen(lang: Language) -> Screen:
    rows = ((Button(lang.label("checkin.consent_yes"), callbacks.CONSENT),), back_to_menu_row(lang))
    return Screen(lang.text("privacy.notice"), rows, origin=lang.text_origins.get("privacy.notice", ""))
