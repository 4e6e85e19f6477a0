"""Treatment sessions a patient notes ("I had a TMS session today"): health data, like
check-ins, kept only after consent and erased by /delete (the user_id column)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.storage.base import StorageBase, utc_text

SESSION_KINDS = ("tms", "ketamine")


@dataclass(frozen=True)
class TreatmentSession:
    id: int
    user_id: int
    kind: str   # one of SESSION_KINDS
    day: date   # the patient's local date


class SessionQueries(StorageBase):
    # -- treatment sessions ----------------------------------------------------------------

    async def note_session(self, user_id: int, kind: str, day: date, now: datetime) -> int:
        """Note a session on a day; noting the same kind on the same day again keeps one.
        Returns the session's id."""
        if kind not in SESSION_KINDS:
            raise ValueError(f"not a session kind: {kind}")
        async with self.transaction() as db:
            async with db.execute(
                "INSERT INTO treatment_sessions (user_id, kind, day, noted_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (user_id, kind, day) DO UPDATE SET noted_at = noted_at RETURNING id",
                (user_id, kind, day.isoformat(), utc_text(now)),
            ) as cursor:
                (session_id,) = await cursor.fetchone()
        return session_id

    async def remove_session(self, user_id: int, session_id: int) -> bool:
        """Remove the patient's own session (a mistaken tap); False if there was none."""
        async with self.transaction() as db:
            cursor = await db.execute(
                "DELETE FROM treatment_sessions WHERE id = ? AND user_id = ?", (session_id, user_id)
            )
        return cursor.rowcount == 1

    async def sessions(self, user_id: int, since: date | None = None) -> list[TreatmentSession]:
        """The patient's sessions, oldest first (all, or from a local date on)."""
        async with self._db.execute(
            "SELECT id, user_id, kind, day FROM treatment_sessions WHERE user_id = ? AND day >= ? "
            "ORDER BY day, id",
            (user_id, since.isoformat() if since else ""),
        ) as cursor:
            return [
                TreatmentSession(row[0], row[1], row[2], date.fromisoformat(row[3]))
                for row in await cursor.fetchall()
            ]

    async def exported_sessions(self) -> list[tuple[int, str, str]]:
        """(user id, kind, day) of every consenting patient's sessions, for /export."""
        async with self._db.execute(
            "SELECT s.user_id, s.kind, s.day FROM treatment_sessions s "
            "JOIN consents k ON k.user_id = s.user_id ORDER BY s.user_id, s.day, s.id"
        ) as cursor:
            return [tuple(row) for row in await cursor.fetchall()]
