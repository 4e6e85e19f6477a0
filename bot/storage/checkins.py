"""Daily pain check-ins: health data, kept only after consent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.storage.base import StorageBase, from_utc_text, utc_text


@dataclass(frozen=True)
class Checkin:
    id: int
    user_id: int
    created_at: datetime
    pain: int
    interference: int | None
    sleep: int | None
    mood: int | None
    note: str | None



# The optional items of a check-in that a later tap may fill in (column names, so a fixed list).
CHECKIN_ITEMS = ("interference", "sleep", "mood", "note")


class CheckinQueries(StorageBase):
    # -- check-ins -------------------------------------------------------------------------

    async def save_score(self, user_id: int, message_id: int, pain: int, now: datetime) -> int:
        """Save the pain score tapped on one message; a second tap there updates it. Returns the id."""
        async with self.transaction() as db:
            async with db.execute(
                "INSERT INTO checkins (user_id, created_at, pain, message_id) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (user_id, message_id) DO UPDATE SET pain = excluded.pain RETURNING id",
                (user_id, utc_text(now), pain, message_id),
            ) as cursor:
                (checkin_id,) = await cursor.fetchone()
        return checkin_id

    async def set_checkin_item(self, user_id: int, checkin_id: int, item: str, value: int | str | None) -> bool:
        """Fill in one optional item of the patient's own check-in; False if there is none."""
        if item not in CHECKIN_ITEMS:
            raise ValueError(f"not a check-in item: {item}")
        async with self.transaction() as db:
            cursor = await db.execute(
                f"UPDATE checkins SET {item} = ? WHERE id = ? AND user_id = ?", (value, checkin_id, user_id)
            )
        return cursor.rowcount == 1

    async def checkin(self, user_id: int, checkin_id: int) -> Checkin | None:
        async with self._db.execute(
            "SELECT * FROM checkins WHERE id = ? AND user_id = ?", (checkin_id, user_id)
        ) as cursor:
            row = await cursor.fetchone()
        return _checkin(row) if row else None

    async def checkins(self, user_id: int, since: datetime | None = None) -> list[Checkin]:
        """The patient's check-ins, oldest first (all of them, or since a time)."""
        async with self._db.execute(
            "SELECT * FROM checkins WHERE user_id = ? AND created_at >= ? ORDER BY created_at, id",
            (user_id, utc_text(since) if since else ""),
        ) as cursor:
            return [_checkin(row) for row in await cursor.fetchall()]


def _checkin(row) -> Checkin:
    return Checkin(
        id=row["id"], user_id=row["user_id"], created_at=from_utc_text(row["created_at"]), pain=row["pain"],
        interference=row["interference"], sleep=row["sleep"], mood=row["mood"], note=row["note"],
    )

