"""Who is expected to type something next, and what for, so a restart loses no wait."""

from __future__ import annotations

from datetime import datetime
from functools import cached_property

from bot.storage.base import StorageBase, utc_text


class AwaitingQueries(StorageBase):
    # -- typed answers ---------------------------------------------------------------------

    async def await_text(self, user_id: int, purpose: str, now: datetime, checkin_id: int | None = None) -> None:
        async with self.transaction() as db:
            await db.execute(
                "INSERT OR REPLACE INTO awaiting_text (user_id, purpose, checkin_id, since) VALUES (?, ?, ?, ?)",
                (user_id, purpose, checkin_id, utc_text(now)),
            )
        self.awaiting.add(user_id)

    async def awaited_text(self, user_id: int) -> tuple[str, int | None] | None:
        """(purpose, check-in id) if the patient's next typed message answers a question."""
        async with self._db.execute(
            "SELECT purpose, checkin_id FROM awaiting_text WHERE user_id = ?", (user_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return (row[0], row[1]) if row else None

    async def stop_awaiting_text(self, user_id: int) -> None:
        async with self.transaction() as db:
            await db.execute("DELETE FROM awaiting_text WHERE user_id = ?", (user_id,))
        self.awaiting.discard(user_id)


    # Who is expected to type something next, by purpose: an index of the rows below kept
    # in memory, because a handler's filter must answer at once, without a query. SQLite
    # stays the truth: `load_awaiting` rebuilds the index at start, and every method that
    # changes such a row updates it.
    AWAITING_BROADCAST = "broadcast_message"  # staff who sent /broadcast, message to come
    AWAITING_CALLBACK = "callback_request"  # patients asked for their phone or a time

    @cached_property
    def _awaiting(self) -> dict[str, set[int]]:
        return {self.AWAITING_BROADCAST: set(), self.AWAITING_CALLBACK: set()}

    def is_awaiting(self, purpose: str, user_id: int) -> bool:
        return user_id in self._awaiting[purpose]

    def forget_awaiting(self, purpose: str, user_id: int) -> None:
        """Drop a stale entry of the in-memory index (its row is already gone)."""
        self._awaiting[purpose].discard(user_id)

    async def load_awaiting(self) -> None:
        async with self._db.execute("SELECT staff_id FROM broadcasts WHERE state = 'composing'") as cursor:
            composing = {row[0] for row in await cursor.fetchall()}
        async with self._db.execute("SELECT user_id FROM callback_requests WHERE stage IN ('phone', 'time')") as cursor:
            asking = {row[0] for row in await cursor.fetchall()}
        self._awaiting[self.AWAITING_BROADCAST] = composing
        self._awaiting[self.AWAITING_CALLBACK] = asking
