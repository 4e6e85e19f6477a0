"""The check-in programme's privacy notice and opt-in button, shown by every flow that
would store pain data (check-in, reminders) before the patient has agreed."""

from __future__ import annotations

from bot import callbacks
from bot.content import Language
from bot.menu import back_to_menu_row
from bot.screens import Button, Screen


def consent_screen(lang: Language, agree: str = callbacks.CONSENT) -> Screen:
    """`agree`: the "I agree" button's data, which says where the patient goes next (the
    check-in by default; the reminder setup from /reminders)."""
    rows = ((Button(lang.label("checkin.consent_yes"), agree),), back_to_menu_row(lang))
    return Screen(lang.text("privacy.notice"), rows, origin=lang.text_origins.get("privacy.notice", ""))
