"""What staff read: counts for /stats, rows for /export, and the audit log."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiosqlite

from bot.storage.base import StorageBase, utc_text


@dataclass(frozen=True)
class StaffStats:
    patients: int
    active_7_days: int
    active_30_days: int
    opted_out: int
    blocked: int
    reminders_on: int
    checkins_7_days: int
    checkins_30_days: int
    open_callback_requests: int


@dataclass(frozen=True)
class AuditEntry:
    at: str
    staff_id: int
    staff_name: str  # the first name the staff member has on Telegram, if known
    action: str
    subject: int | None
    amount: int | None
    pseudonym: str | None = None  # a staff report's patient, as /export names them


@dataclass(frozen=True)
class ExportedCheckin:
    user_id: int
    first_name: str
    created_at: str
    pain: int
    interference: int | None
    sleep: int | None
    mood: int | None


@dataclass(frozen=True)
class ExportedPatient:
    user_id: int
    first_name: str
    consented_at: str
    checkins: int
    first_checkin: str
    last_checkin: str
    pain_mean: float
    pain_min: int
    pain_max: int
    interference_mean: float | None



class StaffReportQueries(StorageBase):
    # stats, export and audit

    async def staff_stats(self, now: datetime, staff_ids: frozenset[int]) -> StaffStats:
        """Counts only: nothing here says anything about one patient."""
        patients = "p.user_id > 0 AND p.user_id NOT IN (SELECT value FROM json_each(?))"
        staff = json.dumps(sorted(staff_ids))
        week, month = utc_text(now - timedelta(days=7)), utc_text(now - timedelta(days=30))
        async with self._db.execute(
            f"""
            SELECT
                count(*),
                count(*) FILTER (WHERE p.last_seen >= ?),
                count(*) FILTER (WHERE p.last_seen >= ?),
                count(*) FILTER (WHERE p.opted_out = 1),
                count(*) FILTER (WHERE p.blocked = 1),
                (SELECT count(*) FROM reminders r JOIN patients p ON p.user_id = r.user_id
                    WHERE r.paused = 0 AND {patients}),
                (SELECT count(*) FROM checkins c JOIN patients p ON p.user_id = c.user_id
                    WHERE c.created_at >= ? AND {patients}),
                (SELECT count(*) FROM checkins c JOIN patients p ON p.user_id = c.user_id
                    WHERE c.created_at >= ? AND {patients}),
                (SELECT count(*) FROM callback_requests WHERE stage = 'open')
            FROM patients p WHERE {patients}
            """,
            (week, month, staff, week, staff, month, staff, staff),
        ) as cursor:
            row = await cursor.fetchone()
        return StaffStats(*row)

    async def pseudonym_key(self) -> bytes:
        async with self._db.execute("SELECT value FROM secrets WHERE name = 'export_pseudonym_key'") as cursor:
            (key,) = await cursor.fetchone()
        return key

    async def exported_checkins(self) -> list[ExportedCheckin]:
        """Every check-in of every patient who consented, by patient and time."""
        async with self._db.execute(
            """
            SELECT c.user_id, p.first_name, c.created_at, c.pain, c.interference, c.sleep, c.mood
            FROM checkins c
            JOIN consents k ON k.user_id = c.user_id
            JOIN patients p ON p.user_id = c.user_id
            ORDER BY c.user_id, c.created_at, c.id
            """
        ) as cursor:
            return [ExportedCheckin(*row) for row in await cursor.fetchall()]

    async def exported_patients(self) -> list[ExportedPatient]:
        """One summary line per consenting patient who has checked in."""
        async with self._db.execute(
            """
            SELECT c.user_id, p.first_name, k.consented_at, count(*), min(c.created_at),
                   max(c.created_at), avg(c.pain), min(c.pain), max(c.pain), avg(c.interference)
            FROM checkins c
            JOIN consents k ON k.user_id = c.user_id
            JOIN patients p ON p.user_id = c.user_id
            GROUP BY c.user_id
            ORDER BY c.user_id
            """
        ) as cursor:
            return [ExportedPatient(*row) for row in await cursor.fetchall()]

    async def record_export(self, staff_id: int, rows: int, now: datetime) -> None:
        async with self.transaction() as db:
            await self._audit(db, now, staff_id, "export", None, rows)

    async def audit_entries(self, limit: int = 20) -> list[AuditEntry]:
        """The newest entries first, with the staff member's first name where known."""
        async with self._db.execute(
            """
            SELECT a.at, a.staff_id, coalesce(p.first_name, ''), a.action, a.subject, a.amount, a.pseudonym
            FROM audit_log a LEFT JOIN patients p ON p.user_id = a.staff_id
            ORDER BY a.id DESC LIMIT ?
            """,
            (limit,),
        ) as cursor:
            return [AuditEntry(*row) for row in await cursor.fetchall()]

    @staticmethod
    async def _audit(
        db: aiosqlite.Connection, now: datetime, staff_id: int, action: str, subject: int | None, amount: int | None
    ) -> None:
        await db.execute(
            "INSERT INTO audit_log (at, staff_id, action, subject, amount) VALUES (?, ?, ?, ?, ?)",
            (utc_text(now), staff_id, action, subject, amount),
        )


