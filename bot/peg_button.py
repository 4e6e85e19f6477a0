"""The weekly PEG setting's row on the reminders screen (flows/reminders.py shows it,
flows/peg.py answers it): flows do not import each other, so the button lives here."""

from __future__ import annotations

from bot import callbacks
from bot.content import Language
from bot.screens import Button


def peg_setting_button(lang: Language, on: bool) -> Button:
    return Button(lang.label("peg.setting_button_on" if on else "peg.setting_button_off"), callbacks.PEG)
