"""SQLite storage: the schema, its migrations, and one small function per query.

The database holds health data once check-ins exist, so the file is created readable and
writable by its owner only (0600) before SQLite opens it; SQLite gives its -wal and -shm
files the same mode. Times are stored as UTC ISO-8601 text ("2026-11-21T08:00:00Z").
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cached_property
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
    # 3: clinic staff. A broadcast and its outbox, one row per recipient, so a restart
    # resumes where the worker was; call-back requests and where staff were told of them;
    # an audit log of what staff did; and the key that makes export ids pseudonymous.
    """
    CREATE TABLE broadcasts (
        id                  INTEGER PRIMARY KEY,
        staff_id            INTEGER NOT NULL,     -- who wrote it; progress and report go there
        state               TEXT NOT NULL CHECK (state IN
                                ('composing', 'draft', 'sending', 'done', 'cancelled', 'discarded')),
        body_html           TEXT,                 -- the text, or a photo's caption (Telegram HTML)
        photo_file_id       TEXT,                 -- NULL for a text broadcast
        audience            TEXT CHECK (audience IN ('all', 'checkin')),
        recipients          INTEGER,              -- outbox rows written when Send was tapped
        progress_message_id INTEGER,              -- the message the worker keeps up to date
        created_at          TEXT NOT NULL,
        started_at          TEXT,
        finished_at         TEXT                  -- set once the report has been sent
    ) STRICT;
    CREATE INDEX broadcasts_by_state ON broadcasts (state);
    CREATE TABLE outbox (
        broadcast_id INTEGER NOT NULL REFERENCES broadcasts (id),
        -- A patient who erases their data leaves no trace here either.
        user_id      INTEGER NOT NULL REFERENCES patients (user_id) ON DELETE CASCADE,
        state        TEXT NOT NULL DEFAULT 'pending' CHECK (state IN
                         ('pending', 'sent', 'blocked', 'failed', 'skipped', 'cancelled')),
        attempts     INTEGER NOT NULL DEFAULT 0,  -- tries that failed for a passing reason
        done_at      TEXT,
        PRIMARY KEY (broadcast_id, user_id)
    ) STRICT, WITHOUT ROWID;
    -- The worker's "what next": the first pending row, without walking the sent ones.
    CREATE INDEX outbox_pending ON outbox (broadcast_id, user_id) WHERE state = 'pending';
    -- /delete and the cascade from patients look a patient's rows up by user_id.
    CREATE INDEX outbox_by_patient ON outbox (user_id);
    CREATE TABLE callback_requests (
        id             INTEGER PRIMARY KEY,
        user_id        INTEGER NOT NULL REFERENCES patients (user_id) ON DELETE CASCADE,
        -- 'phone' and 'time': the patient is being asked; 'open': staff were told.
        stage          TEXT NOT NULL CHECK (stage IN ('phone', 'time', 'open', 'handled')),
        phone          TEXT,                      -- the patient's own, from request_contact
        preferred_time TEXT,                      -- as typed; NULL when skipped
        started_at     TEXT NOT NULL,
        submitted_at   TEXT,
        handled_by     INTEGER,                   -- the staff member's user id
        handled_at     TEXT
    ) STRICT;
    -- One request per patient being asked for or waiting for a call.
    CREATE UNIQUE INDEX callback_requests_one_live ON callback_requests (user_id)
        WHERE stage IN ('phone', 'time', 'open');
    -- Every message that told staff of a request, so "handled" updates each copy.
    CREATE TABLE callback_notices (
        request_id INTEGER NOT NULL REFERENCES callback_requests (id) ON DELETE CASCADE,
        chat_id    INTEGER NOT NULL,
        message_id INTEGER NOT NULL,
        PRIMARY KEY (request_id, chat_id)
    ) STRICT;
    -- Who did what and when. Ids and counts only: never a message, phone or score.
    CREATE TABLE audit_log (
        id       INTEGER PRIMARY KEY,
        at       TEXT NOT NULL,
        staff_id INTEGER NOT NULL,
        action   TEXT NOT NULL CHECK (action IN
                     ('broadcast_sent', 'broadcast_cancelled', 'export', 'callback_handled')),
        subject  INTEGER,                         -- the broadcast or call-back request
        amount   INTEGER                          -- recipients of a broadcast, rows of an export
    ) STRICT;
    CREATE TABLE secrets (
        name  TEXT PRIMARY KEY,
        value BLOB NOT NULL
    ) STRICT;
    -- Export ids are an HMAC of the Telegram id with this key: stable within this
    -- database, meaningless outside it.
    INSERT INTO secrets (name, value) VALUES ('export_pseudonym_key', randomblob(32));
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
        self._write_lock = asyncio.Lock()
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

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Every write goes through here: one at a time, committed together or not at all.

        The whole bot shares one connection, and SQLite's transaction belongs to the
        connection, not to a coroutine. Without this lock one coroutine's commit could land
        in the middle of another's multi-statement write, or a rollback undo a check-in that
        was already confirmed to the patient. Not re-entrant: a method that holds it must
        not call another writing method.
        """
        async with self._write_lock:
            try:
                yield self._db
            except BaseException:
                await self._db.rollback()
                raise
            await self._db.commit()

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
        async with self.transaction() as db:
            await db.execute(
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

    # -- reminders -------------------------------------------------------------------------

    async def reminder(self, user_id: int) -> Reminder | None:
        async with self._db.execute("SELECT * FROM reminders WHERE user_id = ?", (user_id,)) as cursor:
            row = await cursor.fetchone()
        return _reminder(row) if row else None

    async def set_reminder(self, user_id: int, local_time: str, zone: str, next_due: datetime) -> None:
        """Set or change the daily time and zone; it is (re)started, not paused, not snoozed."""
        async with self.transaction() as db:
            await db.execute(
                """
                INSERT INTO reminders (user_id, local_time, timezone, next_due) VALUES (?, ?, ?, ?)
                ON CONFLICT (user_id) DO UPDATE SET local_time = excluded.local_time,
                    timezone = excluded.timezone, next_due = excluded.next_due, paused = 0, snoozed = 0
                """,
                (user_id, local_time, zone, utc_text(next_due)),
            )

    async def set_reminder_paused(self, user_id: int, paused: bool, next_due: datetime | None = None) -> None:
        async with self.transaction() as db:
            await db.execute(
                "UPDATE reminders SET paused = ?, snoozed = 0, next_due = COALESCE(?, next_due) WHERE user_id = ?",
                (int(paused), utc_text(next_due) if next_due else None, user_id),
            )

    async def delete_reminder(self, user_id: int) -> None:
        async with self.transaction() as db:
            await db.execute("DELETE FROM reminders WHERE user_id = ?", (user_id,))

    async def snooze_reminder(self, user_id: int, until: datetime) -> bool:
        async with self.transaction() as db:
            cursor = await db.execute(
                "UPDATE reminders SET next_due = ?, snoozed = 1 WHERE user_id = ? AND paused = 0",
                (utc_text(until), user_id),
            )
        return cursor.rowcount == 1

    async def skip_reminder(self, user_id: int, next_due: datetime) -> bool:
        async with self.transaction() as db:
            cursor = await db.execute(
                "UPDATE reminders SET next_due = ?, snoozed = 0 WHERE user_id = ?", (utc_text(next_due), user_id)
            )
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
        async with self.transaction() as db:
            cursor = await db.execute(
                "UPDATE reminders SET next_due = ?, snoozed = 0, last_sent_day = COALESCE(?, last_sent_day) "
                "WHERE user_id = ? AND next_due = ? AND snoozed = ?",
                (utc_text(next_due), sent_day, reminder.user_id, utc_text(reminder.next_due), int(reminder.snoozed)),
            )
        return cursor.rowcount == 1

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

    # -- staff: broadcasts, call-back requests, stats, export, audit (issue 4) --------------

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

    # broadcasts: composing and sending

    async def start_composing(self, staff_id: int, now: datetime) -> tuple[int, bool]:
        """A new broadcast waiting for its message. Returns (its id, whether an unsent
        draft of this staff member was set aside for it)."""
        async with self.transaction() as db:
            cursor = await db.execute(
                "UPDATE broadcasts SET state = 'discarded' WHERE staff_id = ? AND state IN ('composing', 'draft')",
                (staff_id,),
            )
            replaced = cursor.rowcount > 0
            cursor = await db.execute(
                "INSERT INTO broadcasts (staff_id, state, created_at) VALUES (?, 'composing', ?)",
                (staff_id, utc_text(now)),
            )
            broadcast_id = cursor.lastrowid
        self._awaiting[self.AWAITING_BROADCAST].add(staff_id)
        return broadcast_id, replaced

    async def composing_broadcast(self, staff_id: int) -> Broadcast | None:
        return await self._one_broadcast("WHERE staff_id = ? AND state = 'composing'", (staff_id,))

    async def set_broadcast_message(self, broadcast_id: int, body_html: str, photo_file_id: str | None) -> bool:
        """Keep the message of a broadcast being composed; False if it is no longer so."""
        async with self.transaction() as db:
            cursor = await db.execute(
                """
                UPDATE broadcasts SET state = 'draft', body_html = ?, photo_file_id = ?
                WHERE id = ? AND state = 'composing'
                RETURNING staff_id
                """,
                (body_html, photo_file_id, broadcast_id),
            )
            row = await cursor.fetchone()
            await cursor.close()
        if row is not None:
            self._awaiting[self.AWAITING_BROADCAST].discard(row[0])
        return row is not None

    async def set_broadcast_audience(self, broadcast_id: int, audience: str) -> bool:
        async with self.transaction() as db:
            cursor = await db.execute(
                "UPDATE broadcasts SET audience = ? WHERE id = ? AND state = 'draft'", (audience, broadcast_id)
            )
        return cursor.rowcount == 1

    async def broadcast(self, broadcast_id: int) -> Broadcast | None:
        return await self._one_broadcast("WHERE id = ?", (broadcast_id,))

    async def discard_drafts(self, staff_id: int) -> int:
        """Set aside this staff member's broadcast being composed or waiting for Send."""
        async with self.transaction() as db:
            cursor = await db.execute(
                "UPDATE broadcasts SET state = 'discarded' WHERE staff_id = ? AND state IN ('composing', 'draft')",
                (staff_id,),
            )
        self._awaiting[self.AWAITING_BROADCAST].discard(staff_id)
        return cursor.rowcount

    async def discard_draft(self, broadcast_id: int) -> bool:
        async with self.transaction() as db:
            cursor = await db.execute(
                """
                UPDATE broadcasts SET state = 'discarded'
                WHERE id = ? AND state IN ('composing', 'draft')
                RETURNING staff_id
                """,
                (broadcast_id,),
            )
            row = await cursor.fetchone()
            await cursor.close()
        if row is not None:
            self._awaiting[self.AWAITING_BROADCAST].discard(row[0])
        return row is not None

    async def audience_size(self, audience: str, staff_ids: frozenset[int]) -> int:
        where, values = _audience_filter(audience, staff_ids)
        async with self._db.execute(f"SELECT count(*) FROM patients p WHERE {where}", values) as cursor:
            (count,) = await cursor.fetchone()
        return count

    async def start_sending(
        self, broadcast_id: int, staff_ids: frozenset[int], progress_message_id: int, now: datetime
    ) -> int | None:
        """Write one outbox row per recipient and hand the broadcast to the worker.

        Returns the number of recipients, or None if the broadcast is no longer a draft
        with an audience (sent or discarded since the button was shown). The rows come
        first: should the state change be lost, Send still finds a draft and the rows are
        not written twice.
        """
        broadcast = await self.broadcast(broadcast_id)
        if broadcast is None or broadcast.state != "draft" or broadcast.audience not in AUDIENCES:
            return None
        where, values = _audience_filter(broadcast.audience, staff_ids)
        async with self.transaction() as db:
            await db.execute(
                f"""
                INSERT OR IGNORE INTO outbox (broadcast_id, user_id)
                SELECT ?, p.user_id FROM patients p WHERE {where}
                """,
                (broadcast_id, *values),
            )
            async with db.execute("SELECT count(*) FROM outbox WHERE broadcast_id = ?", (broadcast_id,)) as cursor:
                (recipients,) = await cursor.fetchone()
            cursor = await db.execute(
                """
                UPDATE broadcasts SET state = 'sending', recipients = ?, progress_message_id = ?, started_at = ?
                WHERE id = ? AND state = 'draft'
                """,
                (recipients, progress_message_id, utc_text(now), broadcast_id),
            )
            if cursor.rowcount != 1:
                return None
            await self._audit(db, now, broadcast.staff_id, "broadcast_sent", broadcast_id, recipients)
        return recipients

    async def cancel_broadcast(self, broadcast_id: int, staff_id: int, now: datetime) -> bool:
        """Stop a broadcast being sent; the worker sends its report. False if not sending."""
        async with self.transaction() as db:
            cursor = await db.execute(
                "UPDATE broadcasts SET state = 'cancelled' WHERE id = ? AND state = 'sending'", (broadcast_id,)
            )
            if cursor.rowcount != 1:
                return False
            await self._audit(db, now, staff_id, "broadcast_cancelled", broadcast_id, None)
        return True

    async def sending_broadcasts(self) -> list[Broadcast]:
        return await self._broadcasts("WHERE state = 'sending' ORDER BY id", ())

    # broadcasts: the worker

    async def next_outbox_item(self) -> OutboxItem | None:
        """The next message to send: oldest broadcast first, then by patient."""
        async with self._db.execute(
            """
            SELECT o.broadcast_id, o.user_id, o.attempts, p.language, p.opted_out, p.blocked
            FROM outbox o
            JOIN broadcasts b ON b.id = o.broadcast_id
            JOIN patients p ON p.user_id = o.user_id
            WHERE o.state = 'pending' AND b.state = 'sending'
            ORDER BY o.broadcast_id, o.user_id
            LIMIT 1
            """
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        broadcast = await self.broadcast(row["broadcast_id"])
        return OutboxItem(
            broadcast=broadcast,
            user_id=row["user_id"],
            attempts=row["attempts"],
            language=row["language"],
            opted_out=bool(row["opted_out"]),
            blocked=bool(row["blocked"]),
        )

    async def record_outcome(self, broadcast_id: int, user_id: int, outcome: str, now: datetime) -> None:
        """What became of one outbox row: 'sent', 'blocked', 'failed' or 'skipped'.

        'blocked' also marks the patient, so no later broadcast or reminder tries again.
        """
        if outcome not in OUTBOX_OUTCOMES:
            raise ValueError(f"unknown outbox outcome {outcome!r}")
        async with self.transaction() as db:
            await db.execute(
                "UPDATE outbox SET state = ?, done_at = ? WHERE broadcast_id = ? AND user_id = ?",
                (outcome, utc_text(now), broadcast_id, user_id),
            )
            if outcome == "blocked":
                await db.execute("UPDATE patients SET blocked = 1 WHERE user_id = ?", (user_id,))

    async def record_failed_attempt(self, broadcast_id: int, user_id: int) -> int:
        """Count one try that failed for a passing reason; returns the tries so far."""
        async with self.transaction() as db:
            cursor = await db.execute(
                "UPDATE outbox SET attempts = attempts + 1 WHERE broadcast_id = ? AND user_id = ? RETURNING attempts",
                (broadcast_id, user_id),
            )
            row = await cursor.fetchone()
            await cursor.close()
        return row[0] if row else 0

    async def broadcast_report(self, broadcast_id: int) -> BroadcastReport | None:
        broadcast = await self.broadcast(broadcast_id)
        if broadcast is None:
            return None
        async with self._db.execute(
            "SELECT state, count(*) FROM outbox WHERE broadcast_id = ? GROUP BY state", (broadcast_id,)
        ) as cursor:
            counts = {state: count for state, count in await cursor.fetchall()}
        return BroadcastReport(broadcast, **counts)

    async def broadcasts_to_finish(self) -> list[Broadcast]:
        """Broadcasts whose report is due: cancelled ones, and sent ones with nothing left."""
        return await self._broadcasts(
            """
            WHERE finished_at IS NULL AND (
                state = 'cancelled'
                OR (state = 'sending' AND NOT EXISTS (
                    SELECT 1 FROM outbox o WHERE o.broadcast_id = broadcasts.id AND o.state = 'pending'))
            )
            ORDER BY id
            """,
            (),
        )

    async def finish_broadcast(self, broadcast_id: int, now: datetime) -> None:
        """After the report: a cancelled broadcast's unsent rows say so; a sent one is done."""
        async with self.transaction() as db:
            await db.execute(
                """
                UPDATE outbox SET state = 'cancelled', done_at = ?
                WHERE broadcast_id = ? AND state = 'pending'
                  AND (SELECT state FROM broadcasts WHERE id = ?) = 'cancelled'
                """,
                (utc_text(now), broadcast_id, broadcast_id),
            )
            await db.execute(
                """
                UPDATE broadcasts SET finished_at = ?,
                    state = CASE state WHEN 'sending' THEN 'done' ELSE state END
                WHERE id = ?
                """,
                (utc_text(now), broadcast_id),
            )

    async def recent_broadcast_reports(self, limit: int = 5) -> list[BroadcastReport]:
        broadcasts = await self._broadcasts(
            "WHERE state IN ('sending', 'done', 'cancelled') ORDER BY id DESC LIMIT ?", (limit,)
        )
        reports = [await self.broadcast_report(broadcast.id) for broadcast in broadcasts]
        return [report for report in reports if report is not None]

    async def _one_broadcast(self, where: str, values: tuple) -> Broadcast | None:
        found = await self._broadcasts(f"{where} LIMIT 1", values)
        return found[0] if found else None

    async def _broadcasts(self, where: str, values: tuple) -> list[Broadcast]:
        async with self._db.execute(f"SELECT * FROM broadcasts {where}", values) as cursor:
            rows = await cursor.fetchall()
        return [Broadcast(**dict(row)) for row in rows]

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
            SELECT a.at, a.staff_id, coalesce(p.first_name, ''), a.action, a.subject, a.amount
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


# -- staff records (issue 4) ------------------------------------------------------------------

# Who a broadcast goes to: 'all' patients who have not opted out, or those in the daily
# check-in programme (who gave consent).
AUDIENCES = ("all", "checkin")
# What an outbox row's state counts as in a report.
OUTBOX_OUTCOMES = ("sent", "blocked", "failed", "skipped", "cancelled")


@dataclass(frozen=True)
class Broadcast:
    id: int
    staff_id: int
    state: str
    body_html: str | None
    photo_file_id: str | None
    audience: str | None
    recipients: int | None
    progress_message_id: int | None
    created_at: str
    started_at: str | None
    finished_at: str | None


@dataclass(frozen=True)
class OutboxItem:
    """One message the worker has to send, with what it needs to know about its patient."""

    broadcast: Broadcast
    user_id: int
    attempts: int
    language: str
    opted_out: bool
    blocked: bool


@dataclass(frozen=True)
class BroadcastReport:
    broadcast: Broadcast
    pending: int = 0
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    skipped: int = 0
    cancelled: int = 0

    @property
    def total(self) -> int:
        return self.pending + self.sent + self.blocked + self.failed + self.skipped + self.cancelled


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


def _audience_filter(audience: str, staff_ids: frozenset[int]) -> tuple[str, tuple]:
    """SQL over `patients p` for who a broadcast reaches: private chats of patients (user
    ids are positive; groups are never in `patients`) who did not opt out or block the
    bot, not the clinic's own staff, and for 'checkin' only those who gave consent."""
    if audience not in AUDIENCES:
        raise ValueError(f"unknown audience {audience!r}")
    where = (
        "p.user_id > 0 AND p.opted_out = 0 AND p.blocked = 0"
        " AND p.user_id NOT IN (SELECT value FROM json_each(?))"
    )
    if audience == "checkin":
        where += " AND EXISTS (SELECT 1 FROM consents k WHERE k.user_id = p.user_id)"
    return where, (json.dumps(sorted(staff_ids)),)
