"""Who talks to the bot, their consent, their data rights (/mydata, /delete), groups."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.storage.base import StorageBase, utc_text

# How long a patient's last_seen may lag while they keep tapping (see record_patient).
RECORD_PATIENT_EVERY = timedelta(minutes=5)


@dataclass(frozen=True)
class Patient:
    user_id: int
    first_name: str
    language: str
    first_seen: str
    last_seen: str
    opted_out: bool
    blocked: bool


class PatientQueries(StorageBase):
    # user id -> (first name, Telegram's language, when, stored language) of the last
    # record_patient write, in memory.
    _recently_recorded: dict[int, tuple[str, str, datetime, str]]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._recently_recorded = {}

    # -- patients --------------------------------------------------------------------------

    async def record_patient(self, user_id: int, first_name: str, language: str, now: datetime) -> str:
        """Remember that this person talks to the bot; keep the first time we saw them.

        `language` (from Telegram) is stored only while the patient has none; after that
        the stored one wins until they choose another (`set_patient_language`). Returns
        the stored language.

        Written at most every RECORD_PATIENT_EVERY per patient while nothing changes: the
        write was a third of the SQLite work of every tap (bench/cpu_per_tap.py), and
        last_seen only feeds the 7- and 30-day activity counts.
        """
        recorded = self._recently_recorded.get(user_id)
        if recorded is not None and recorded[:2] == (first_name, language) and now - recorded[2] < RECORD_PATIENT_EVERY:
            return recorded[3]
        seen = utc_text(now)
        async with self.transaction() as db:
            cursor = await db.execute(
                """
                INSERT INTO patients (user_id, first_name, language, first_seen, last_seen)
                VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (user_id) DO UPDATE SET
                    first_name = excluded.first_name,
                    language = CASE WHEN patients.language = '' THEN excluded.language ELSE patients.language END,
                    last_seen = excluded.last_seen,
                    blocked = 0
                RETURNING language
                """,
                (user_id, first_name, language, seen, seen),
            )
            row = await cursor.fetchone()
            await cursor.close()
        self._recently_recorded[user_id] = (first_name, language, now, row[0])
        return row[0]

    async def set_patient_language(self, user_id: int, language: str) -> None:
        """The patient chose a language (/language)."""
        self._recently_recorded.pop(user_id, None)
        async with self.transaction() as db:
            await db.execute("UPDATE patients SET language = ? WHERE user_id = ?", (language, user_id))

    async def patient(self, user_id: int) -> Patient | None:
        async with self._db.execute("SELECT * FROM patients WHERE user_id = ?", (user_id,)) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        return Patient(
            user_id=row["user_id"],
            first_name=row["first_name"],
            language=row["language"],
            first_seen=row["first_seen"],
            last_seen=row["last_seen"],
            opted_out=bool(row["opted_out"]),
            blocked=bool(row["blocked"]),
        )

    async def set_blocked(self, user_id: int, blocked: bool) -> None:
        self._recently_recorded.pop(user_id, None)  # the next message from them unblocks
        async with self.transaction() as db:
            await db.execute(
                "UPDATE patients SET blocked = ? WHERE user_id = ?", (int(blocked), user_id)
            )

    async def set_opted_out(self, user_id: int, opted_out: bool) -> None:
        async with self.transaction() as db:
            await db.execute("UPDATE patients SET opted_out = ? WHERE user_id = ?", (int(opted_out), user_id))

    # -- consent ---------------------------------------------------------------------------

    async def consent(self, user_id: int) -> tuple[str, str] | None:
        """(notice version, consent time) if the patient joined the check-in programme."""
        async with self._db.execute(
            "SELECT notice_version, consented_at FROM consents WHERE user_id = ?", (user_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return (row[0], row[1]) if row else None

    async def give_consent(self, user_id: int, notice_version: str, now: datetime) -> None:
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO consents (user_id, notice_version, consented_at) VALUES (?, ?, ?) "
                "ON CONFLICT (user_id) DO UPDATE SET notice_version = excluded.notice_version, "
                "consented_at = excluded.consented_at",
                (user_id, notice_version, utc_text(now)),
            )

    # -- the patient's data rights ---------------------------------------------------------

    async def tables_with_patient_rows(self) -> list[str]:
        """Every table with a user_id column. The convention that a table naming a patient
        calls the column user_id is what lets /delete find all of their rows."""
        async with self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'") as cursor:
            tables = [row[0] for row in await cursor.fetchall()]
        result = []
        for table in tables:
            async with self._db.execute(f"PRAGMA table_info({table})") as cursor:
                if any(column[1] == "user_id" for column in await cursor.fetchall()):
                    result.append(table)
        return result

    async def rows_of_patient(self, user_id: int) -> dict[str, list[dict]]:
        """Everything stored about the patient, table by table, for /mydata."""
        result = {}
        for table in await self.tables_with_patient_rows():
            async with self._db.execute(f"SELECT * FROM {table} WHERE user_id = ?", (user_id,)) as cursor:
                result[table] = [dict(row) for row in await cursor.fetchall()]
        return result

    async def callback_notices_of_patient(self, user_id: int) -> list[tuple[int, int]]:
        """(chat id, message id) of every staff message about the patient's call-back requests."""
        async with self._db.execute(
            "SELECT n.chat_id, n.message_id FROM callback_notices AS n "
            "JOIN callback_requests AS r ON r.id = n.request_id WHERE r.user_id = ?",
            (user_id,),
        ) as cursor:
            return [(row[0], row[1]) for row in await cursor.fetchall()]

    async def delete_patient(self, user_id: int) -> int:
        """Erase every row that belongs to the patient, in every table, in one transaction."""
        tables = await self.tables_with_patient_rows()
        deleted = 0
        async with self.transaction() as db:
            # The patients row last: other tables reference it.
            for table in sorted(tables, key=lambda name: name == "patients"):
                cursor = await db.execute(f"DELETE FROM {table} WHERE user_id = ?", (user_id,))
                deleted += cursor.rowcount
        # Nothing is awaited from someone who is no longer here, whatever the purpose.
        self._recently_recorded.pop(user_id, None)
        self.awaiting.discard(user_id)
        for waiting in self._awaiting.values():
            waiting.discard(user_id)
        return deleted

    # -- groups ----------------------------------------------------------------------------

    async def first_time_in_group(self, chat_id: int, now: datetime) -> bool:
        """True the first time the bot hears from a group, so it introduces itself once."""
        async with self.transaction() as db:
            cursor = await db.execute(
                "INSERT OR IGNORE INTO group_chats (chat_id, notified_at) VALUES (?, ?)",
                (chat_id, utc_text(now)),
            )
        return cursor.rowcount == 1
