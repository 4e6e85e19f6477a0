"""Put patients and their records straight into the bot's SQLite file, for staff tests.

Fifty patients each sending /start would take the test most of its time and trip the
stand-in's rate limits on the welcomes; the staff features only read these rows. The bot
must have started once (so the schema exists). Each patient is also registered with the
stand-in, so Telegram knows their chat, as it would after their /start.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sqlite3
from collections.abc import AsyncIterator, Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path

from telegram.ext import Application

from bot.app import build_application
from bot.services import Services
from bot.standin import BotApiStandIn
from tests.client import running_bot

# The moment every test starts at: the bot's clock (the `clock` fixture) and the rows seeded
# here share it, so a test means the same on any day it runs.
START = datetime(2026, 11, 21, 17, 0, tzinfo=timezone.utc)
NOW = START


def stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def connect(path: Path) -> sqlite3.Connection:
    database = sqlite3.connect(path)
    database.row_factory = sqlite3.Row
    return database


def add_patients(
    standin: BotApiStandIn,
    path: Path,
    user_ids: Iterable[int],
    *,
    last_seen: datetime | None = None,
    opted_out: bool = False,
    blocked: bool = False,
    consented: bool = False,
) -> list[int]:
    user_ids = list(user_ids)
    seen = stamp(last_seen or NOW)
    with contextlib.closing(connect(path)) as database, database:
        for user_id in user_ids:
            standin.user(user_id, first_name=f"Pat{user_id}")
            database.execute(
                "INSERT INTO patients (user_id, first_name, language, first_seen, last_seen, opted_out, blocked)"
                " VALUES (?, ?, 'en', ?, ?, ?, ?)",
                (user_id, f"Pat{user_id}", seen, seen, int(opted_out), int(blocked)),
            )
            if consented:
                database.execute(
                    "INSERT INTO consents (user_id, notice_version, consented_at) VALUES (?, 'v1', ?)",
                    (user_id, seen),
                )
    return user_ids


def add_checkin(path: Path, user_id: int, created: datetime, pain: int, interference: int | None = None,
                sleep: int | None = None, mood: int | None = None, note: str | None = None) -> None:
    with contextlib.closing(connect(path)) as database, database:
        (message_id,) = database.execute("SELECT coalesce(max(message_id), 0) + 1 FROM checkins").fetchone()
        database.execute(
            "INSERT INTO checkins (user_id, created_at, pain, interference, sleep, mood, note, message_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (user_id, stamp(created), pain, interference, sleep, mood, note, message_id),
        )


def add_reminder(path: Path, user_id: int, paused: bool = False) -> None:
    with contextlib.closing(connect(path)) as database, database:
        database.execute(
            "INSERT INTO reminders (user_id, local_time, timezone, paused, next_due) VALUES (?, '09:00', 'UTC', ?, ?)",
            (user_id, int(paused), stamp(NOW + timedelta(days=1))),
        )


def rows(path: Path, sql: str, values: tuple = ()) -> list[sqlite3.Row]:
    with contextlib.closing(connect(path)) as database:
        return database.execute(sql, values).fetchall()


@contextlib.asynccontextmanager
async def bot_running(services: Services, **settings: object) -> AsyncIterator[Application]:
    """The real bot, as the `bot` fixture starts it, with some settings changed; for tests
    that restart it or need another rate. A fresh Services each time, as a new process has."""
    used = Services(
        settings=dataclasses.replace(services.settings, **settings), content=services.content, clock=services.clock
    )
    async with running_bot(build_application(used)) as application:
        yield application
