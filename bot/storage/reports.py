"""/report: which patient a staff member's pseudonymous id names, and the audit entry."""

from __future__ import annotations

from datetime import datetime

from bot.storage.base import StorageBase, utc_text


class ReportQueries(StorageBase):
    async def consenting_patient_ids(self) -> list[int]:
        """Every patient in the check-in program: the ones a staff report can be about."""
        async with self._db.execute("SELECT user_id FROM consents ORDER BY user_id") as cursor:
            return [row[0] for row in await cursor.fetchall()]

    async def record_staff_report(self, staff_id: int, pseudonym: str, days: int, now: datetime) -> None:
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO audit_log (at, staff_id, action, amount, pseudonym) VALUES (?, ?, 'report', ?, ?)",
                (utc_text(now), staff_id, days, pseudonym),
            )
