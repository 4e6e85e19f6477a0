"""Patients in the database: recorded on first contact, blocked and back, file mode 0600."""

from __future__ import annotations

import sqlite3
import stat

from tests.client import TelegramUser


def patient_row(services, user_id: int):
    database = sqlite3.connect(services.settings.database)
    database.row_factory = sqlite3.Row
    row = database.execute("SELECT * FROM patients WHERE user_id = ?", (user_id,)).fetchone()
    database.close()
    return row


async def test_first_contact_records_the_patient(patient: TelegramUser, services) -> None:
    assert patient_row(services, 1001) is None
    await patient.send("/start")
    row = patient_row(services, 1001)
    assert row["first_name"] == "Ann"
    assert row["language"] == "en"
    assert row["first_seen"].endswith("Z")
    assert row["blocked"] == 0 and row["opted_out"] == 0


async def test_the_database_is_readable_by_its_owner_only(patient: TelegramUser, services) -> None:
    await patient.send("/start")
    path = services.settings.database
    for file in (path, path.with_name(path.name + "-wal")):
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


async def test_blocking_marks_the_patient_and_start_restores_them(patient: TelegramUser, services, standin) -> None:
    await patient.send("/start")
    standin.block(1001)
    standin.push_my_chat_member({"id": 1001, "type": "private", "first_name": "Ann"}, 1001, "member", "kicked")
    await standin.wait_for(lambda: patient_row(services, 1001)["blocked"] == 1, timeout=5)
    standin.unblock(1001)
    standin.push_my_chat_member({"id": 1001, "type": "private", "first_name": "Ann"}, 1001, "kicked", "member")
    await patient.send("/start")
    assert patient_row(services, 1001)["blocked"] == 0


async def test_a_403_while_answering_marks_the_patient_blocked(patient: TelegramUser, services, standin) -> None:
    await patient.send("/start")
    standin.block(1001)
    standin.push_text(1001, "/menu")  # sent just before blocking; the answer meets a 403
    await standin.wait_for(lambda: patient_row(services, 1001)["blocked"] == 1, timeout=5)
    standin.unblock(1001)
    standin.forget_errors(status=403)


async def test_the_schema_is_versioned(patient: TelegramUser, services) -> None:
    from bot.storage import SCHEMA_VERSION

    await patient.send("/start")
    database = sqlite3.connect(services.settings.database)
    assert database.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert database.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    database.close()
