"""What every handler may use: settings, content, storage and the clock.

Stored once in `application.bot_data`; `services(context)` gets it back with its type.
The clock is the one seam tests use to move time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from telegram.ext import CallbackContext

from bot.config import Settings
from bot.content import Content, Language
from bot.storage import Storage


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Services:
    settings: Settings
    content: Content
    clock: Callable[[], datetime] = utc_now
    # How often the reminder job looks for due reminders (tests and the preview shorten it).
    tick_seconds: float = 30.0
    storage: Storage | None = field(default=None)  # opened when the application starts

    def db(self) -> Storage:
        if self.storage is None:
            raise RuntimeError("storage is not open yet")
        return self.storage


def services(context: CallbackContext) -> Services:
    return context.application.bot_data["services"]


async def patient_zone(context: CallbackContext, user_id: int) -> ZoneInfo:
    """The patient's time zone: the one of their reminder, else the clinic's."""
    used = services(context)
    reminder = await used.db().reminder(user_id)
    return ZoneInfo(reminder.timezone if reminder else used.settings.clinic.timezone)


# Where the patient's stored language is kept for the handlers of their updates: the
# recorder (flows/membership.py) puts it there at the start of every private update.
LANGUAGE_KEY = "language"


def remember_language(context: CallbackContext, code: str) -> None:
    if context.user_data is not None:
        context.user_data[LANGUAGE_KEY] = code


def language(context: CallbackContext, user) -> Language:
    """The content in this person's language: the one stored for the patient (their
    choice, or Telegram's language the first time), else Telegram's language_code, else
    the clinic's default when we have no content in it."""
    stored = context.user_data.get(LANGUAGE_KEY) if context.user_data is not None else None
    return services(context).content.language(stored or getattr(user, "language_code", None))
