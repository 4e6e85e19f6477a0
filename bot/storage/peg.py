"""The weekly PEG check (pain, enjoyment of life, general activity; each 0-10): who opted
in and when their next one is due, and their answers. Erased by /delete (user_id)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.storage.base import StorageBase, from_utc_text, utc_text

# The three items in the order they are asked (column names, so a fixed list).
PEG_ITEMS = ("pain", "enjoyment", "activity")


@dataclass(frozen=True)
class PegAnswer:
    id: int
    user_id: int
    created_at: datetime
    pain: int
    enjoyment: int | None
    activity: int | None

    @property
    def complete(self) -> bool:
        return self.enjoyment is not None and self.activity is not None


class PegQueries(StorageBase):
    # -- the weekly PEG: opt-in ------------------------------------------------------------

    async def peg_next_due(self, user_id: int) -> datetime | None:
        """When the patient's next weekly PEG is due; None if they have not opted in."""
        async with self._db.execute("SELECT next_due FROM peg_settings WHERE user_id = ?", (user_id,)) as cursor:
            row = await cursor.fetchone()
        return from_utc_text(row[0]) if row else None

    async def set_peg(self, user_id: int, next_due: datetime | None) -> None:
        """Opt in (with the first due time) or out (None)."""
        async with self.transaction() as db:
            if next_due is None:
                await db.execute("DELETE FROM peg_settings WHERE user_id = ?", (user_id,))
            else:
                await db.execute(
                    "INSERT INTO peg_settings (user_id, next_due) VALUES (?, ?) "
                    "ON CONFLICT (user_id) DO UPDATE SET next_due = excluded.next_due",
                    (user_id, utc_text(next_due)),
                )

    async def due_pegs(self, now: datetime, limit: int = 500) -> list[tuple[int, datetime]]:
        """(user id, due time) of weekly PEGs whose time has come, for patients the bot may message."""
        async with self._db.execute(
            """
            SELECT peg_settings.user_id, peg_settings.next_due FROM peg_settings JOIN patients USING (user_id)
            WHERE peg_settings.next_due <= ? AND patients.opted_out = 0 AND patients.blocked = 0
            ORDER BY peg_settings.next_due LIMIT ?
            """,
            (utc_text(now), limit),
        ) as cursor:
            return [(row[0], from_utc_text(row[1])) for row in await cursor.fetchall()]

    async def claim_peg(self, user_id: int, due: datetime, next_due: datetime) -> bool:
        """Move a due PEG on if nobody else did (compare-and-set, as for reminders)."""
        async with self.transaction() as db:
            cursor = await db.execute(
                "UPDATE peg_settings SET next_due = ? WHERE user_id = ? AND next_due = ?",
                (utc_text(next_due), user_id, utc_text(due)),
            )
        return cursor.rowcount == 1

    # -- the weekly PEG: answers -----------------------------------------------------------

    async def start_peg_answer(self, user_id: int, message_id: int, pain: int, now: datetime) -> int:
        """The first item, tapped on one message; a second tap there updates it. Returns the id."""
        async with self.transaction() as db:
            async with db.execute(
                "INSERT INTO peg_answers (user_id, created_at, pain, message_id) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (user_id, message_id) DO UPDATE SET pain = excluded.pain RETURNING id",
                (user_id, utc_text(now), pain, message_id),
            ) as cursor:
                (answer_id,) = await cursor.fetchone()
        return answer_id

    async def set_peg_item(self, user_id: int, answer_id: int, item: str, value: int) -> bool:
        if item not in PEG_ITEMS:
            raise ValueError(f"not a PEG item: {item}")
        async with self.transaction() as db:
            cursor = await db.execute(
                f"UPDATE peg_answers SET {item} = ? WHERE id = ? AND user_id = ?", (value, answer_id, user_id)
            )
        return cursor.rowcount == 1

    async def peg_answer(self, user_id: int, answer_id: int) -> PegAnswer | None:
        async with self._db.execute(
            "SELECT * FROM peg_answers WHERE id = ? AND user_id = ?", (answer_id, user_id)
        ) as cursor:
            row = await cursor.fetchone()
        return _peg(row) if row else None

    async def peg_answers(self, user_id: int, since: datetime | None = None) -> list[PegAnswer]:
        """The patient's PEG answers, oldest first (complete or not)."""
        async with self._db.execute(
            "SELECT * FROM peg_answers WHERE user_id = ? AND created_at >= ? ORDER BY created_at, id",
            (user_id, utc_text(since) if since else ""),
        ) as cursor:
            return [_peg(row) for row in await cursor.fetchall()]


def _peg(row) -> PegAnswer:
    return PegAnswer(
        id=row["id"], user_id=row["user_id"], created_at=from_utc_text(row["created_at"]), pain=row["pain"],
        enjoyment=row["enjoyment"], activity=row["activity"],
    )
