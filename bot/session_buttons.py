"""The one-tap "I had a treatment today" row, shared by the check-in summary (an optional
last item of a check-in) and flows/sessions.py, which answers its taps. The day rides in
the callback data, so an old summary notes the day it was made on, never a later one."""

from __future__ import annotations

from datetime import date

from bot import callbacks
from bot.content import Language
from bot.screens import Button


def today_row(lang: Language, today: date) -> tuple[Button, ...]:
    stamp = today.strftime("%Y%m%d")
    return (
        Button(lang.label("sessions.checkin_tms"), callbacks.session_day("tms", stamp)),
        Button(lang.label("sessions.checkin_ketamine"), callbacks.session_day("ketamine", stamp)),
    )
