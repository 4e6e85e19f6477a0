"""Call-back requests and the staff messages that told of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.storage.base import StorageBase, utc_text


@dataclass(frozen=True)
class CallbackRequest:
    id: int
    user_id: int
    stage: str
    phone: str | None
    preferred_time: str | None
    started_at: str
    submitted_at: str | None
    handled_by: int | None
    handled_at: str | None
    first_name: str  # the patient's, from `patients`




class CallbackRequestQueries(StorageBase):
    # call-back requests

    async def live_callback_request(self, user_id: int) -> CallbackRequest | None:
        """The patient's request being asked for ('phone', 'time') or waiting ('open')."""
        return await self._one_callback_request(
            "WHERE r.user_id = ? AND r.stage IN ('phone', 'time', 'open')", (user_id,)
        )

    async def callback_request(self, request_id: int) -> CallbackRequest | None:
        return await self._one_callback_request("WHERE r.id = ?", (request_id,))

    async def start_callback_request(self, user_id: int, now: datetime) -> CallbackRequest:
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO callback_requests (user_id, stage, started_at) VALUES (?, 'phone', ?)",
                (user_id, utc_text(now)),
            )
        self._awaiting[self.AWAITING_CALLBACK].add(user_id)
        return await self.live_callback_request(user_id)

    async def set_callback_phone(self, request_id: int, phone: str) -> None:
        async with self.transaction() as db:
            await db.execute(
                "UPDATE callback_requests SET phone = ?, stage = 'time' WHERE id = ? AND stage IN ('phone', 'time')",
                (phone, request_id),
            )

    async def submit_callback_request(self, request_id: int, preferred_time: str | None, now: datetime) -> None:
        async with self.transaction() as db:
            cursor = await db.execute(
                """
                UPDATE callback_requests SET stage = 'open', preferred_time = ?, submitted_at = ?
                WHERE id = ? AND stage = 'time'
                RETURNING user_id
                """,
                (preferred_time, utc_text(now), request_id),
            )
            row = await cursor.fetchone()
            await cursor.close()
        if row is not None:
            self._awaiting[self.AWAITING_CALLBACK].discard(row[0])

    async def drop_callback_request(self, request_id: int) -> None:
        """Forget a request the patient did not finish (cancelled, or left too long)."""
        async with self.transaction() as db:
            cursor = await db.execute(
                "DELETE FROM callback_requests WHERE id = ? AND stage IN ('phone', 'time') RETURNING user_id",
                (request_id,),
            )
            row = await cursor.fetchone()
            await cursor.close()
        if row is not None:
            self._awaiting[self.AWAITING_CALLBACK].discard(row[0])

    async def add_callback_notice(self, request_id: int, chat_id: int, message_id: int) -> None:
        async with self.transaction() as db:
            await db.execute(
                "INSERT OR REPLACE INTO callback_notices (request_id, chat_id, message_id) VALUES (?, ?, ?)",
                (request_id, chat_id, message_id),
            )

    async def callback_notices(self, request_id: int) -> list[tuple[int, int]]:
        """(chat_id, message_id) of every message that told staff of the request."""
        async with self._db.execute(
            "SELECT chat_id, message_id FROM callback_notices WHERE request_id = ? ORDER BY chat_id", (request_id,)
        ) as cursor:
            return [(row[0], row[1]) for row in await cursor.fetchall()]

    async def mark_callback_handled(self, request_id: int, staff_id: int, now: datetime) -> bool:
        """True if this call marked it; False if it was handled already (or is unknown)."""
        async with self.transaction() as db:
            cursor = await db.execute(
                """
                UPDATE callback_requests SET stage = 'handled', handled_by = ?, handled_at = ?
                WHERE id = ? AND stage = 'open'
                """,
                (staff_id, utc_text(now), request_id),
            )
            if cursor.rowcount != 1:
                return False
            await self._audit(db, now, staff_id, "callback_handled", request_id, None)
        return True

    async def _one_callback_request(self, where: str, values: tuple) -> CallbackRequest | None:
        async with self._db.execute(
            f"""
            SELECT r.*, p.first_name FROM callback_requests r
            JOIN patients p ON p.user_id = r.user_id
            {where}
            ORDER BY r.id DESC LIMIT 1
            """,
            values,
        ) as cursor:
            row = await cursor.fetchone()
        return CallbackRequest(**dict(row)) if row else None

