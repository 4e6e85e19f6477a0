"""SQLite storage: the schema, its migrations, and one small function per query.

The database holds health data once check-ins exist, so the file is created readable and
writable by its owner only (0600) before SQLite opens it; SQLite gives its -wal and -shm
files the same mode. Times are stored as UTC ISO-8601 text ("2026-11-21T08:00:00Z").
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import aiosqlite

# Forward-only migrations: entry N brings the schema from version N to N+1. Never edit a
# migration that has shipped; add a new one. PRAGMA user_version holds the current version.
MIGRATIONS: list[str] = [
    # 1: who the bot talks to. Only what the bot needs: the Telegram id to reply, the first
    # name to greet and to tell staff who asked, the language to pick content, and flags
    # that keep the bot from messaging people who said no or blocked it.
    """
    CREATE TABLE patients (
        user_id     INTEGER PRIMARY KEY,          -- Telegram user id (= private chat id)
        first_name  TEXT NOT NULL DEFAULT '',
        language    TEXT NOT NULL DEFAULT 'en',
        first_seen  TEXT NOT NULL,
        last_seen   TEXT NOT NULL,
        opted_out   INTEGER NOT NULL DEFAULT 0,   -- /stop: no messages the bot starts
        blocked     INTEGER NOT NULL DEFAULT 0    -- the patient blocked the bot
    ) STRICT;
    CREATE TABLE group_chats (
        chat_id     INTEGER PRIMARY KEY,          -- a group the bot was added to
        notified_at TEXT NOT NULL                 -- when it said it works in private only
    ) STRICT;
    """,
    # 2: daily pain check-ins, only for patients who opted in. Health data: nothing here
    # is kept without a consent row, and /delete removes every row of a patient.
    """
    CREATE TABLE consents (
        user_id        INTEGER PRIMARY KEY REFERENCES patients (user_id) ON DELETE CASCADE,
        notice_version TEXT NOT NULL,             -- the privacy notice the patient agreed to
        consented_at   TEXT NOT NULL
    ) STRICT;
    CREATE TABLE checkins (
        id           INTEGER PRIMARY KEY,
        user_id      INTEGER NOT NULL REFERENCES patients (user_id) ON DELETE CASCADE,
        created_at   TEXT NOT NULL,               -- UTC; shown in the patient's time zone
        pain         INTEGER NOT NULL CHECK (pain BETWEEN 0 AND 10),
        interference INTEGER CHECK (interference BETWEEN 0 AND 10),
        sleep        INTEGER CHECK (sleep BETWEEN 1 AND 3),   -- poor, fair, good
        mood         INTEGER CHECK (mood BETWEEN 1 AND 3),    -- low, okay, good
        note         TEXT,
        -- The message whose score button made this check-in: a second tap on the same
        -- message updates it instead of saving twice.
        message_id   INTEGER NOT NULL,
        UNIQUE (user_id, message_id)
    ) STRICT;
    CREATE INDEX checkins_by_patient_time ON checkins (user_id, created_at);
    CREATE TABLE reminders (
        user_id        INTEGER PRIMARY KEY REFERENCES patients (user_id) ON DELETE CASCADE,
        local_time     TEXT NOT NULL,             -- "HH:MM" in the patient's time zone
        timezone       TEXT NOT NULL,             -- IANA name
        paused         INTEGER NOT NULL DEFAULT 0,
        next_due       TEXT NOT NULL,             -- UTC time of the next prompt
        last_sent_day  TEXT,                      -- local date of the last daily prompt
        snoozed        INTEGER NOT NULL DEFAULT 0 -- next_due is a "remind me in 1 hour"
    ) STRICT;
    CREATE INDEX reminders_due ON reminders (next_due) WHERE paused = 0;
    -- What a patient's next typed message is for (a check-in note, a reminder time...),
    -- kept here so a restart does not lose it.
    CREATE TABLE awaiting_text (
        user_id    INTEGER PRIMARY KEY REFERENCES patients (user_id) ON DELETE CASCADE,
        purpose    TEXT NOT NULL,                 -- 'note', 'time', 'timezone'
        checkin_id INTEGER,                       -- for a note: the check-in it belongs to
        since      TEXT NOT NULL
    ) STRICT;
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)


def utc_text(moment: datetime) -> str:
    """The storage form of a time: UTC, second precision, a trailing Z."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_utc_text(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


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


@dataclass(frozen=True)
class Reminder:
    user_id: int
    local_time: str
    timezone: str
    paused: bool
    next_due: datetime
    last_sent_day: str | None
    snoozed: bool


# The optional items of a check-in that a later tap may fill in (column names, so a fixed list).
CHECKIN_ITEMS = ("interference", "sleep", "mood", "note")


@dataclass(frozen=True)
class Patient:
    user_id: int
    first_name: str
    language: str
    first_seen: str
    last_seen: str
    opted_out: bool
    blocked: bool


class Storage:
    """One aiosqlite connection shared by the whole bot (SQLite serialises writes anyway)."""

    def __init__(self, connection: aiosqlite.Connection, path: Path) -> None:
        self._db = connection
        self.path = path
        # Patients whose next typed message answers a question: a mirror of awaiting_text,
        # so a synchronous handler filter can ask without a query.
        self.awaiting: set[int] = set()

    @classmethod
    async def open(cls, path: Path | str) -> "Storage":
        path = Path(path)
        prepare_file(path)
        connection = await aiosqlite.connect(path)
        connection.row_factory = aiosqlite.Row
        await connection.execute("PRAGMA journal_mode = WAL")
        await connection.execute("PRAGMA foreign_keys = ON")
        await connection.execute("PRAGMA busy_timeout = 5000")
        storage = cls(connection, path)
        await storage._migrate()
        async with connection.execute("SELECT user_id FROM awaiting_text") as cursor:
            storage.awaiting = {row[0] for row in await cursor.fetchall()}
        return storage

    async def close(self) -> None:
        await self._db.close()

    async def schema_version(self) -> int:
        async with self._db.execute("PRAGMA user_version") as cursor:
            (version,) = await cursor.fetchone()
        return version

    async def _migrate(self) -> None:
        version = await self.schema_version()
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"the database {self.path} has schema version {version}, newer than this "
                f"program's {SCHEMA_VERSION}: run the newer program or restore a backup"
            )
        for number in range(version, SCHEMA_VERSION):
            # executescript commits first; each step and its version bump form one transaction.
            await self._db.executescript(
                f"BEGIN; {MIGRATIONS[number]} PRAGMA user_version = {number + 1}; COMMIT;"
            )

    # -- patients --------------------------------------------------------------------------

    async def record_patient(self, user_id: int, first_name: str, language: str, now: datetime) -> None:
        """Remember that this person talks to the bot; keep the first time we saw them."""
        seen = utc_text(now)
        await self._db.execute(
            """
            INSERT INTO patients (user_id, first_name, language, first_seen, last_seen)
            VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (user_id) DO UPDATE SET
                first_name = excluded.first_name,
                language = excluded.language,
                last_seen = excluded.last_seen,
                blocked = 0
            """,
            (user_id, first_name, language, seen, seen),
        )
        await self._db.commit()

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
        await self._db.execute(
            "UPDATE patients SET blocked = ? WHERE user_id = ?", (int(blocked), user_id)
        )
        await self._db.commit()

    async def set_opted_out(self, user_id: int, opted_out: bool) -> None:
        await self._db.execute("UPDATE patients SET opted_out = ? WHERE user_id = ?", (int(opted_out), user_id))
        await self._db.commit()

    # -- consent ---------------------------------------------------------------------------

    async def consent(self, user_id: int) -> tuple[str, str] | None:
        """(notice version, consent time) if the patient joined the check-in programme."""
        async with self._db.execute(
            "SELECT notice_version, consented_at FROM consents WHERE user_id = ?", (user_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return (row[0], row[1]) if row else None

    async def give_consent(self, user_id: int, notice_version: str, now: datetime) -> None:
        await self._db.execute(
            "INSERT INTO consents (user_id, notice_version, consented_at) VALUES (?, ?, ?) "
            "ON CONFLICT (user_id) DO UPDATE SET notice_version = excluded.notice_version, "
            "consented_at = excluded.consented_at",
            (user_id, notice_version, utc_text(now)),
        )
        await self._db.commit()

    # -- check-ins -------------------------------------------------------------------------

    async def save_score(self, user_id: int, message_id: int, pain: int, now: datetime) -> int:
        """Save the pain score tapped on one message; a second tap there updates it. Returns the id."""
        async with self._db.execute(
            "INSERT INTO checkins (user_id, created_at, pain, message_id) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (user_id, message_id) DO UPDATE SET pain = excluded.pain RETURNING id",
            (user_id, utc_text(now), pain, message_id),
        ) as cursor:
            (checkin_id,) = await cursor.fetchone()
        await self._db.commit()
        return checkin_id

    async def set_checkin_item(self, user_id: int, checkin_id: int, item: str, value: int | str | None) -> bool:
        """Fill in one optional item of the patient's own check-in; False if there is none."""
        if item not in CHECKIN_ITEMS:
            raise ValueError(f"not a check-in item: {item}")
        cursor = await self._db.execute(
            f"UPDATE checkins SET {item} = ? WHERE id = ? AND user_id = ?", (value, checkin_id, user_id)
        )
        await self._db.commit()
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

    # -- reminders -------------------------------------------------------------------------

    async def reminder(self, user_id: int) -> Reminder | None:
        async with self._db.execute("SELECT * FROM reminders WHERE user_id = ?", (user_id,)) as cursor:
            row = await cursor.fetchone()
        return _reminder(row) if row else None

    async def set_reminder(self, user_id: int, local_time: str, zone: str, next_due: datetime) -> None:
        """Set or change the daily time and zone; it is (re)started, not paused, not snoozed."""
        await self._db.execute(
            """
            INSERT INTO reminders (user_id, local_time, timezone, next_due) VALUES (?, ?, ?, ?)
            ON CONFLICT (user_id) DO UPDATE SET local_time = excluded.local_time,
                timezone = excluded.timezone, next_due = excluded.next_due, paused = 0, snoozed = 0
            """,
            (user_id, local_time, zone, utc_text(next_due)),
        )
        await self._db.commit()

    async def set_reminder_paused(self, user_id: int, paused: bool, next_due: datetime | None = None) -> None:
        await self._db.execute(
            "UPDATE reminders SET paused = ?, snoozed = 0, next_due = COALESCE(?, next_due) WHERE user_id = ?",
            (int(paused), utc_text(next_due) if next_due else None, user_id),
        )
        await self._db.commit()

    async def delete_reminder(self, user_id: int) -> None:
        await self._db.execute("DELETE FROM reminders WHERE user_id = ?", (user_id,))
        await self._db.commit()

    async def snooze_reminder(self, user_id: int, until: datetime) -> bool:
        cursor = await self._db.execute(
            "UPDATE reminders SET next_due = ?, snoozed = 1 WHERE user_id = ? AND paused = 0",
            (utc_text(until), user_id),
        )
        await self._db.commit()
        return cursor.rowcount == 1

    async def skip_reminder(self, user_id: int, next_due: datetime) -> bool:
        cursor = await self._db.execute(
            "UPDATE reminders SET next_due = ?, snoozed = 0 WHERE user_id = ?", (utc_text(next_due), user_id)
        )
        await self._db.commit()
        return cursor.rowcount == 1

    async def due_reminders(self, now: datetime, limit: int = 500) -> list[Reminder]:
        """Reminders whose time has come, for patients the bot may message (index on next_due)."""
        async with self._db.execute(
            """
            SELECT reminders.* FROM reminders JOIN patients USING (user_id)
            WHERE reminders.paused = 0 AND reminders.next_due <= ?
              AND patients.opted_out = 0 AND patients.blocked = 0
            ORDER BY reminders.next_due LIMIT ?
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
        cursor = await self._db.execute(
            "UPDATE reminders SET next_due = ?, snoozed = 0, last_sent_day = COALESCE(?, last_sent_day) "
            "WHERE user_id = ? AND next_due = ? AND snoozed = ?",
            (utc_text(next_due), sent_day, reminder.user_id, utc_text(reminder.next_due), int(reminder.snoozed)),
        )
        await self._db.commit()
        return cursor.rowcount == 1

    # -- typed answers ---------------------------------------------------------------------

    async def await_text(self, user_id: int, purpose: str, now: datetime, checkin_id: int | None = None) -> None:
        await self._db.execute(
            "INSERT OR REPLACE INTO awaiting_text (user_id, purpose, checkin_id, since) VALUES (?, ?, ?, ?)",
            (user_id, purpose, checkin_id, utc_text(now)),
        )
        await self._db.commit()
        self.awaiting.add(user_id)

    async def awaited_text(self, user_id: int) -> tuple[str, int | None] | None:
        """(purpose, check-in id) if the patient's next typed message answers a question."""
        async with self._db.execute(
            "SELECT purpose, checkin_id FROM awaiting_text WHERE user_id = ?", (user_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return (row[0], row[1]) if row else None

    async def stop_awaiting_text(self, user_id: int) -> None:
        await self._db.execute("DELETE FROM awaiting_text WHERE user_id = ?", (user_id,))
        await self._db.commit()
        self.awaiting.discard(user_id)

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

    async def delete_patient(self, user_id: int) -> int:
        """Erase every row that belongs to the patient, in every table, in one transaction."""
        tables = await self.tables_with_patient_rows()
        deleted = 0
        # The patients row last: other tables reference it.
        for table in sorted(tables, key=lambda name: name == "patients"):
            cursor = await self._db.execute(f"DELETE FROM {table} WHERE user_id = ?", (user_id,))
            deleted += cursor.rowcount
        await self._db.commit()
        self.awaiting.discard(user_id)
        return deleted

    # -- groups ----------------------------------------------------------------------------

    async def first_time_in_group(self, chat_id: int, now: datetime) -> bool:
        """True the first time the bot hears from a group, so it introduces itself once."""
        cursor = await self._db.execute(
            "INSERT OR IGNORE INTO group_chats (chat_id, notified_at) VALUES (?, ?)",
            (chat_id, utc_text(now)),
        )
        await self._db.commit()
        return cursor.rowcount == 1


def _checkin(row) -> Checkin:
    return Checkin(
        id=row["id"], user_id=row["user_id"], created_at=from_utc_text(row["created_at"]), pain=row["pain"],
        interference=row["interference"], sleep=row["sleep"], mood=row["mood"], note=row["note"],
    )


def _reminder(row) -> Reminder:
    return Reminder(
        user_id=row["user_id"], local_time=row["local_time"], timezone=row["timezone"], paused=bool(row["paused"]),
        next_due=from_utc_text(row["next_due"]), last_sent_day=row["last_sent_day"], snoozed=bool(row["snoozed"]),
    )


def prepare_file(path: Path) -> None:
    """Create the database file as 0600 (and its folder as 0700) before SQLite touches it."""
    if path.parent != Path(""):
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(descriptor)
    # os.open honours the umask only to remove bits; chmod also fixes a file left by an
    # older version with a wider mode.
    os.chmod(path, 0o600)
