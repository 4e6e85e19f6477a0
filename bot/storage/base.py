"""The one connection, the one write lock and the migrations; the time format.

The database holds health data once check-ins exist, so the file is created readable and
writable by its owner only (0600) before SQLite opens it; SQLite gives its -wal and -shm
files the same mode. Times are stored as UTC ISO-8601 text ("2026-11-21T08:00:00Z").
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from pathlib import Path

import aiosqlite

from bot.storage.migrations import MIGRATIONS, SCHEMA_VERSION


def utc_text(moment: datetime) -> str:
    """The storage form of a time: UTC, second precision, a trailing Z."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_utc_text(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def prepare_file(path: Path) -> None:
    """Create the database file as 0600 (and its folder as 0700) before SQLite touches it."""
    if path.parent != Path(""):
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(descriptor)
    # os.open honours the umask only to remove bits; chmod also fixes a file left by an
    # older version with a wider mode.
    os.chmod(path, 0o600)


class StorageBase:
    """One aiosqlite connection shared by the whole bot (SQLite serialises writes anyway)."""

    def __init__(self, connection: aiosqlite.Connection, path: Path) -> None:
        self._db = connection
        self.path = path
        self._write_lock = asyncio.Lock()
        # Patients whose next typed message answers a question: a mirror of awaiting_text,
        # so a synchronous handler filter can ask without a query.
        self.awaiting: set[int] = set()

    @classmethod
    async def open(cls, path: Path | str) -> "StorageBase":
        path = Path(path)
        prepare_file(path)
        connection = await aiosqlite.connect(path)
        connection.row_factory = aiosqlite.Row
        await connection.execute("PRAGMA journal_mode = WAL")
        # In WAL mode NORMAL still survives the process being killed (the WAL is in the
        # operating system's hands at commit); only a power cut may lose the last commits.
        # It spares an fsync per commit, which the inbox makes once per update.
        await connection.execute("PRAGMA synchronous = NORMAL")
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
