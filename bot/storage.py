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

    # -- groups ----------------------------------------------------------------------------

    async def first_time_in_group(self, chat_id: int, now: datetime) -> bool:
        """True the first time the bot hears from a group, so it introduces itself once."""
        cursor = await self._db.execute(
            "INSERT OR IGNORE INTO group_chats (chat_id, notified_at) VALUES (?, ?)",
            (chat_id, utc_text(now)),
        )
        await self._db.commit()
        return cursor.rowcount == 1


def prepare_file(path: Path) -> None:
    """Create the database file as 0600 (and its folder as 0700) before SQLite touches it."""
    if path.parent != Path(""):
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(descriptor)
    # os.open honours the umask only to remove bits; chmod also fixes a file left by an
    # older version with a wider mode.
    os.chmod(path, 0o600)
