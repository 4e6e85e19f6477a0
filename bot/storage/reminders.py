"""Daily reminders: when each patient's next prompt is due, claimed before it is sent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.storage.base import StorageBase, from_utc_text, utc_text


@dataclass(frozen=True)
class Reminder:
    user_id: int
    local_time: str
    timezone: str
    paused: bool
    next_due: datetime
    last_sent_day: str | None
    snoozed: bool




class ReminderQueries(StorageBase):
    # -- reminders -------------------------------------------------------------------------

    async def reminder(self, user_id: int) -> Reminder | None:
        async with self._db.execute("SELECT * FROM reminders WHERE user_id = ?", (user_id,)) as cursor:
            row = await cursor.fetchone()
        return _reminder(row) if row else None

    async def set_reminder(self, user_id: int, local_time: str, zone: str, next_due: datetime) -> None:
        """Set or change the daily time and zone; it is (re)started, not paused, not snoozed."""
        async with self.transaction() as db:
            await db.execute(
                """
                INSERT INTO reminders (user_id, local_time, timezone, next_due) VALUES (?, ?, ?, ?)
                ON CONFLICT (user_id) DO UPDATE SET local_time = excluded.local_time,
                    timezone = excluded.timezone, next_due = excluded.next_due, paused = 0, snoozed = 0
                """,
                (user_id, local_time, zone, utc_text(next_due)),
            )

    async def set_reminder_paused(self, user_id: int, paused: bool, next_due: datetime | None = None) -> None:
        async with self.transaction() as db:
            await db.execute(
                "UPDATE reminders SET paused = ?, snoozed = 0, next_due = COALESCE(?, next_due) WHERE user_id = ?",
                (int(paused), utc_text(next_due) if next_due else None, user_id),
            )

    async def delete_reminder(self, user_id: int) -> None:
        async with self.transaction() as db:
            await db.execute("DELETE FROM reminders WHERE user_id = ?", (user_id,))

    async def snooze_reminder(self, user_id: int, until: datetime) -> bool:
        async with self.transaction() as db:
            cursor = await db.execute(
                "UPDATE reminders SET next_due = ?, snoozed = 1 WHERE user_id = ? AND paused = 0",
                (utc_text(until), user_id),
            )
        return cursor.rowcount == 1

    async def skip_reminder(self, user_id: int, next_due: datetime) -> bool:
        async with self.transaction() as db:
            cursor = await db.execute(
                "UPDATE reminders SET next_due = ?, snoozed = 0 WHERE user_id = ?", (utc_text(next_due), user_id)
            )
        return cursor.rowcount == 1

    async def due_reminders(self, now: datetime, limit: int = 500) -> list[Reminder]:
        """Reminders whose time has come, for patients the bot may message (index on next_due)."""
        async with self._db.execute(
            """
            SELECT reminders.* FROM reminders JOIN patients USING (user_id)
            WHERE reminders.paused = 0 AND reminders.next_due <= ?
              AND patients.opted_out = 0 AND patients.blocked = 0
            ORDER BY reminders.next_due, reminders.user_id LIMIT ?
            """,
            (utc_text(now), limit),
        ) as cursor:
            return [_reminder(row) for row in await cursor.fetchall()]

    async def claim_reminder(self, reminder: Reminder, next_due: datetime, sent_day: str | None) -> bool:
        """Move a due reminder on, if no one else did since it was read; True if we did.

        The compare-and-set on next_due makes the claim atomic: two overlapping runs of the
        job (or two processes) can never both send the same prompt. It is committed before
        the prompt is sent, so a crash loses one prompt at most and never sends two.
        """
        async with self.transaction() as db:
            cursor = await db.execute(
                "UPDATE reminders SET next_due = ?, snoozed = 0, last_sent_day = COALESCE(?, last_sent_day) "
                "WHERE user_id = ? AND next_due = ? AND snoozed = ?",
                (utc_text(next_due), sent_day, reminder.user_id, utc_text(reminder.next_due), int(reminder.snoozed)),
            )
        return cursor.rowcount == 1


def _reminder(row) -> Reminder:
    return Reminder(
        user_id=row["user_id"], local_time=row["local_time"], timezone=row["timezone"], paused=bool(row["paused"]),
        next_due=from_utc_text(row["next_due"]), last_sent_day=row["last_sent_day"], snoozed=bool(row["snoozed"]),
    )

