"""History (text and chart) and the patient's data rights, through the stand-in."""

from __future__ import annotations

import csv
import io
import sqlite3
import struct
from datetime import timedelta

from tests.client import TelegramUser


async def check_in_days(patient: TelegramUser, clock, scores: list[int]) -> None:
    """Two check-ins the way a patient makes them, on two days."""
    await patient.send("/checkin")
    await patient.click("✅ I agree, start my check-ins")
    for index, pain in enumerate(scores):
        if index:
            await patient.send("/checkin")
        await patient.click(str(pain))
        await patient.click("Finish")
        clock.advance(days=1)


async def weeks_of_check_ins(patient: TelegramUser, services, clock, scores: list[int]) -> None:
    """Weeks of daily check-ins take weeks to make: the patient joins, and the earlier days
    are written to the database as the bot would have written them, one a day at 09:00."""
    await patient.send("/checkin")
    await patient.click("✅ I agree, start my check-ins")
    database = sqlite3.connect(services.settings.database)
    start = clock() - timedelta(days=len(scores))
    with database:
        for day, pain in enumerate(scores):
            moment = (start + timedelta(days=day)).strftime("%Y-%m-%dT%H:%M:%SZ")
            database.execute(
                "INSERT INTO checkins (user_id, created_at, pain, message_id) VALUES (1001, ?, ?, ?)", (moment, pain, -day - 1)
            )
    database.close()


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


async def test_history_with_no_data_says_how_to_start(patient: TelegramUser) -> None:
    await patient.send("/history")
    assert "no check-ins yet" in patient.last.text
    assert "📝 Daily check-in" in patient.buttons()


async def test_history_figures_change_note_and_chart(patient: TelegramUser, clock, services) -> None:
    # Three weeks: 7s in the first week, 4s in the last.
    await weeks_of_check_ins(patient, services, clock, [7] * 7 + [6] * 7 + [4] * 7)
    await patient.send("/history")
    text = patient.last.text
    assert "Last 7 days (check-ins: 7): average 4.0/10, lowest 4, highest 4." in text
    assert "Last 30 days (check-ins: 21): average 5.7/10, lowest 4, highest 7." in text
    assert "from 7.0 in your first week to 4.0" in text
    photo = next(message for message in reversed(patient.messages) if message.kind == "photo")
    width, height = png_size(photo.file)
    assert (width, height) == (1080, 1120)  # phone width, a little taller than wide
    assert len(photo.file) > 10_000  # a drawn chart, not an empty canvas


async def test_history_has_no_change_note_for_a_small_change(patient: TelegramUser, clock, services) -> None:
    await weeks_of_check_ins(patient, services, clock, [5] * 8 + [5] * 7 + [4] * 7)
    await patient.send("/history")
    assert "Last 7 days" in patient.last.text
    assert "first week" not in patient.last.text


async def test_privacy_notice_any_time(patient: TelegramUser) -> None:
    await patient.send("/privacy")
    assert "Who can see it" in patient.last.text
    assert "not joined" in patient.last.text


async def test_mydata_sends_everything_stored(patient: TelegramUser, clock) -> None:
    await check_in_days(patient, clock, [6, 3])
    await patient.send("/reminders")
    await patient.click("08:00")
    await patient.send("/mydata")
    document = next(message for message in reversed(patient.messages) if message.kind == "document")
    assert document.filename == "my-data.csv"
    blocks = {}
    for block in document.file.decode("utf-8").strip().split("\r\n\r\n"):
        lines = list(csv.reader(io.StringIO(block)))
        blocks[lines[0][0]] = [dict(zip(lines[1], line)) for line in lines[2:]]
    assert blocks["# patients"][0]["first_name"] == "Ann"
    assert blocks["# consents"][0]["notice_version"] == "3 (2026-12-01)"
    assert [row["pain"] for row in blocks["# checkins"]] == ["6", "3"]
    assert blocks["# checkins"][0]["created_at_local"] == "2026-11-21 09:00"
    assert blocks["# reminders"][0]["local_time"] == "08:00"


def rows_holding(database_path, value: int) -> list[str]:
    """Every table.column where any row holds the value: the proof that /delete erased all."""
    database = sqlite3.connect(database_path)
    found = []
    for (table,) in database.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
        for column in [row[1] for row in database.execute(f"PRAGMA table_info({table})")]:
            if database.execute(f"SELECT 1 FROM {table} WHERE {column} = ?", (value,)).fetchone():
                found.append(f"{table}.{column}")
    database.close()
    return found


async def test_delete_erases_every_row_of_the_patient(patient: TelegramUser, clock, services) -> None:
    await check_in_days(patient, clock, [6, 3])
    await patient.send("/reminders")
    await patient.click("08:00")
    other = TelegramUser(patient.standin, 2002, first_name="Bo")
    await other.send("/checkin")
    await other.click("✅ I agree, start my check-ins")
    await other.click("5")
    assert rows_holding(services.settings.database, 1001)

    await patient.send("/delete")
    await patient.click("No, keep my data")
    assert "nothing was erased" in patient.last.text
    assert rows_holding(services.settings.database, 1001)

    await patient.send("/delete")
    await patient.click("🗑 Yes, erase everything")
    assert "has been erased" in patient.last.text
    assert rows_holding(services.settings.database, 1001) == []
    assert rows_holding(services.settings.database, 2002)  # nobody else's data went

    # Afterwards the bot treats them as new: the notice again, nothing stored before consent.
    await patient.send("/checkin")
    assert "what is stored" in patient.last.text


async def test_every_stored_table_and_column_has_a_heading_in_every_language(tmp_path, services) -> None:
    """/mydata names each table and column in the patient's language; one added later
    without its headings would show the database's English name in a Spanish file."""
    from bot.storage import Storage

    storage = await Storage.open(tmp_path / "headings.sqlite3")
    try:
        tables = await storage.tables_with_patient_rows()
        columns = {table: [row[1] for row in await storage._db.execute_fetchall(f"PRAGMA table_info({table})")] for table in tables}
    finally:
        await storage.close()
    assert {"checkins", "treatment_sessions", "peg_answers"} <= set(tables)
    for code, lang in services.content.languages.items():
        missing = [table for table in tables if f"mydata.tables.{table}" not in lang.ui]
        missing += sorted({f"{table}.{column}" for table in tables for column in columns[table] if f"mydata.columns.{column}" not in lang.ui})
        assert missing == [], f"content/{code}/ui/mydata.yaml lacks {missing}"
