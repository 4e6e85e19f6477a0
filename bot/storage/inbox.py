"""The durable inbox: every update from Telegram, kept until its handlers have run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.storage.base import StorageBase, from_utc_text, utc_text


@dataclass(frozen=True)
class PendingUpdate:
    update_id: int
    received_at: datetime
    chat_id: int | None
    payload: str


class InboxQueries(StorageBase):
    async def store_update(self, update_id: int, chat_id: int | None, payload: str, now: datetime) -> bool:
        """Keep an update before it is confirmed to Telegram. False when it is already here
        (Telegram delivered it again after a restart): it must not be handled twice."""
        async with self.transaction() as db:
            cursor = await db.execute(
                "INSERT OR IGNORE INTO inbox (update_id, received_at, chat_id, payload) VALUES (?, ?, ?, ?)",
                (update_id, utc_text(now), chat_id, payload),
            )
        return cursor.rowcount == 1

    async def finish_update(self, update_id: int, now: datetime) -> None:
        """Its handlers ran: forget what it said, keep that it was seen."""
        async with self.transaction() as db:
            await db.execute(
                "UPDATE inbox SET payload = NULL, chat_id = NULL, finished_at = ? WHERE update_id = ?",
                (utc_text(now), update_id),
            )

    async def unfinished_updates(self) -> list[PendingUpdate]:
        async with self._db.execute(
            "SELECT update_id, received_at, chat_id, payload FROM inbox WHERE finished_at IS NULL ORDER BY update_id"
        ) as cursor:
            return [
                PendingUpdate(row[0], from_utc_text(row[1]), row[2], row[3]) for row in await cursor.fetchall()
            ]

    async def prune_inbox(self, finished_before: datetime) -> int:
        """Telegram redelivers an unconfirmed update for at most a day; older marks can go."""
        async with self.transaction() as db:
            cursor = await db.execute(
                "DELETE FROM inbox WHERE finished_at IS NOT NULL AND finished_at < ?", (utc_text(finished_before),)
            )
        return cursor.rowcount
