"""What the staff-facing flows share: who is staff, their language, and clinic time.

Staff are the Telegram user ids in `staff_ids`. A staff handler sees only their updates;
anyone else's fall through to the flows after it, so a patient's /broadcast is answered by
the fallback exactly like any unknown command, and a forged staff button like any stale one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.ext import BaseHandler, CallbackContext, filters

from bot.content import Language
from bot.services import Services, services
from bot.storage import from_utc_text


class Guarded(BaseHandler):
    """`handler`, for the updates `allowed(update)` accepts; the others are not matched at
    all (unlike a check inside the callback), so a later handler answers them.

    PTB's CallbackQueryHandler has no `filters`; this gives it one, by user or by chat.
    """

    def __init__(self, handler: BaseHandler, allowed: Callable[[Update], bool]) -> None:
        super().__init__(handler.callback, block=handler.block)
        self.handler = handler
        self.allowed = allowed

    def check_update(self, update: object) -> Any:
        if not isinstance(update, Update) or not self.allowed(update):
            return None
        return self.handler.check_update(update)

    async def handle_update(self, update: Any, application: Any, check_result: Any, context: Any) -> Any:
        return await self.handler.handle_update(update, application, check_result, context)


def staff_filter(used: Services) -> filters.User:
    # An empty staff list matches nobody (allow_empty=False is PTB's default).
    return filters.User(user_id=sorted(used.settings.staff_ids))


def from_staff(used: Services) -> Callable[[Update], bool]:
    staff_ids = used.settings.staff_ids
    return lambda update: update.effective_user is not None and update.effective_user.id in staff_ids


def staff_language(context: CallbackContext) -> Language:
    """Staff read the clinic's default language, whatever their app's language."""
    return services(context).content.language(None)


def clinic_time(stored: str | None, used: Services) -> str:
    """A stored UTC time ("2026-11-21T18:02:00Z") as staff read it: the clinic's local time."""
    if not stored:
        return ""
    return from_utc_text(stored).astimezone(ZoneInfo(used.settings.clinic.timezone)).strftime("%Y-%m-%d %H:%M")
