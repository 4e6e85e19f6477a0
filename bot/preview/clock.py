"""The bot's clock in the preview: real time plus an offset that the page moves forward.

The bot reads time only through `Services.clock`, so handing it an `OffsetClock` moves
everything time-based (daily reminders, "last seen", review dates of check-ins) without
touching the machine's clock. Time only ever moves forward, as it does for patients: a
reminder that was sent must not come due a second time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiosqlite

from bot.services import utc_now

# The most the page may move the clock in one step; more is almost surely a typo.
MAX_STEP = timedelta(days=366)


class OffsetClock:
    """Callable like `utc_now`: returns real UTC time plus `offset`."""

    def __init__(self, real: Callable[[], datetime] = utc_now) -> None:
        self._real = real
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return self._real() + self.offset

    def advance(self, step: timedelta) -> None:
        if not timedelta(0) < step <= MAX_STEP:
            raise ValueError(f"the clock moves forward by more than 0 and at most {MAX_STEP.days} days")
        self.offset += step

    def advance_to(self, moment: datetime) -> bool:
        """Move forward so that the clock reads `moment`; False if it is not in the future."""
        ahead = moment - self()
        if ahead <= timedelta(0):
            return False
        self.offset += ahead
        return True


async def next_reminder_due(database: Path) -> datetime | None:
    """When the next unpaused daily reminder is due (UTC), or None if no one has one.

    Reads the `reminders` table the reminder feature writes (schema 2, bot/storage.py):
    `next_due` is UTC text such as "2026-11-21T17:00:00Z". A read-only connection of its
    own keeps this operator tool out of the bot's storage layer and its transactions.
    """
    if not database.is_file():
        return None
    uri = f"{database.resolve().as_uri()}?mode=ro"
    async with aiosqlite.connect(uri, uri=True) as db:
        try:
            async with db.execute("SELECT MIN(next_due) FROM reminders WHERE paused = 0") as cursor:
                (due,) = await cursor.fetchone()
        except aiosqlite.OperationalError:  # a database from before schema 2
            return None
    if due is None:
        return None
    return datetime.strptime(due, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
