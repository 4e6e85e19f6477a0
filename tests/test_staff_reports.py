"""/stats, /export and /audit: counts without health data, pseudonymous CSV, who did what."""

from __future__ import annotations

import contextlib
import csv
import hashlib
import hmac
import io
import re
from datetime import timedelta

from tests.client import TelegramUser
from tests.conftest import STAFF_ID
from tests.seed import (
    NOW,
    add_checkin,
    add_patients,
    add_reminder,
    bot_running,
    connect,
    rows,
    stamp,
)


def documents(user: TelegramUser) -> list:
    return [message for message in user.messages if message.kind == "document"]


def parse_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM spreadsheet programs need for UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def export_key(services) -> bytes:
    return rows(services.settings.database, "SELECT value FROM secrets WHERE name = 'export_pseudonym_key'")[0][0]


def seed_checkins(standin, services) -> None:
    database = services.settings.database
    add_patients(standin, database, [2001, 2002], consented=True)
    add_patients(standin, database, [2003])  # never joined the programme
    add_checkin(database, 2001, NOW - timedelta(days=3), pain=6, interference=5, sleep=2, mood=3, note="my knee, Dr Smith")
    add_checkin(database, 2001, NOW - timedelta(days=1), pain=4, interference=3)
    add_checkin(database, 2002, NOW - timedelta(days=2), pain=8)
    add_checkin(database, 2003, NOW - timedelta(days=2), pain=9)


async def test_stats_are_counts_only(standin, bot, services) -> None:
    database = services.settings.database
    staff = TelegramUser(standin, STAFF_ID, first_name="Dana")
    await staff.send("/start")  # staff are recorded like anyone, but not counted as patients
    add_patients(standin, database, [2001, 2002], last_seen=NOW - timedelta(days=1), consented=True)
    add_patients(standin, database, [2003], last_seen=NOW - timedelta(days=20))
    add_patients(standin, database, [2004], last_seen=NOW - timedelta(days=60), opted_out=True)
    add_patients(standin, database, [2005], last_seen=NOW - timedelta(days=60), blocked=True)
    add_reminder(database, 2001)
    add_reminder(database, 2002, paused=True)
    add_checkin(database, 2001, NOW - timedelta(days=2), pain=7, note="my knee, Dr Smith")
    add_checkin(database, 2001, NOW - timedelta(days=10), pain=5)
    add_checkin(database, 2002, NOW - timedelta(days=40), pain=3)
    with contextlib.closing(connect(database)) as db, db:
        db.execute("INSERT INTO callback_requests (user_id, stage, phone, started_at, submitted_at) VALUES (2003, 'open', '1555', ?, ?)", (stamp(NOW), stamp(NOW)))
        db.execute("INSERT INTO callback_requests (user_id, stage, phone, started_at) VALUES (2001, 'time', '1555', ?)", (stamp(NOW),))

    await staff.send("/stats")
    text = staff.last.text
    assert "Patients: 5\n" in text
    assert "Active in the last 7 days: 2 · last 30 days: 3" in text
    assert "Opted out of updates: 1\nBlocked the bot: 1\nDaily reminders on: 1" in text
    assert "Check-ins in the last 7 days: 1 · last 30 days: 2" in text
    assert "Open call-back requests: 1" in text
    assert "Last broadcasts\nNone yet." in text
    assert "Pat200" not in text and "knee" not in text and "1555" not in text

    await staff.send("/broadcast Closed on Friday")
    await staff.click("All patients")
    await staff.click("Send to 3 patients")
    await staff.expect("finished")
    await staff.send("/stats")
    assert re.search(r"#1 · \d{4}-\d\d-\d\d \d\d:\d\d · all patients · finished: sent 3, blocked 0, failed 0 of 3", staff.last.text)


async def test_export_is_pseudonymous_and_only_of_patients_who_consented(standin, bot, services) -> None:
    seed_checkins(standin, services)
    staff = TelegramUser(standin, STAFF_ID, first_name="Dana")
    await staff.send("/export")
    checkins_doc, summary_doc = documents(staff)
    assert re.fullmatch(r"checkins-\d{4}-\d\d-\d\d\.csv", checkins_doc.filename)
    assert re.fullmatch(r"patient-summary-\d{4}-\d\d-\d\d\.csv", summary_doc.filename)
    assert "3 from 2 patients who consented" in checkins_doc.text

    key = export_key(services)
    ids = {user_id: "P-" + hmac.new(key, str(user_id).encode(), hashlib.sha256).hexdigest()[:12] for user_id in (2001, 2002)}
    header, *checkins = parse_csv(checkins_doc.file)
    assert header == ["patient", "time_utc", "pain_0_10", "interference_0_10", "sleep_1poor_2fair_3good", "mood_1low_2okay_3good"]
    assert [row[0] for row in checkins] == [ids[2001], ids[2001], ids[2002]]
    assert [row[2:] for row in checkins] == [["6", "5", "2", "3"], ["4", "3", "", ""], ["8", "", "", ""]]
    assert checkins[0][1] == stamp(NOW - timedelta(days=3))

    header, *summary = parse_csv(summary_doc.file)
    assert header == ["patient", "consented_utc", "checkins", "first_checkin_utc", "last_checkin_utc",
                      "pain_average", "pain_lowest", "pain_highest", "interference_average"]
    first = summary[0]
    assert (first[0], first[2], first[5:]) == (ids[2001], "2", ["5.0", "4", "6", "4.0"])
    assert (summary[1][0], summary[1][2], summary[1][5:]) == (ids[2002], "1", ["8.0", "8", "8", ""])

    for data in (checkins_doc.file, summary_doc.file):
        text = data.decode("utf-8-sig")
        assert "2001" not in text and "2003" not in text and "Pat" not in text and "knee" not in text

    # The same patient keeps the same id in the next export.
    await staff.send("/export")
    assert parse_csv(documents(staff)[2].file)[1][0] == ids[2001]
    audit = rows(services.settings.database, "SELECT staff_id, action, amount FROM audit_log ORDER BY id")
    assert [tuple(row) for row in audit] == [(STAFF_ID, "export", 3), (STAFF_ID, "export", 3)]


async def test_names_only_when_the_clinic_says_so(standin, services) -> None:
    async with bot_running(services, export_includes_names=True):
        database = services.settings.database
        add_patients(standin, database, [2001], consented=True)
        with contextlib.closing(connect(database)) as db, db:
            db.execute("UPDATE patients SET first_name = '=HYPERLINK(\"http://x\")' WHERE user_id = 2001")
        add_checkin(database, 2001, NOW, pain=2)
        staff = TelegramUser(standin, STAFF_ID, first_name="Dana")
        await staff.send("/export")
        checkins_doc, summary_doc = documents(staff)
        assert "with first names" in checkins_doc.text
        for document in (checkins_doc, summary_doc):
            header, row = parse_csv(document.file)
            assert header[:2] == ["patient", "first_name"]
            assert row[1] == "'=HYPERLINK(\"http://x\")"  # text to a spreadsheet, never a formula


async def test_an_export_with_nothing_to_export_says_so(standin, bot, services) -> None:
    add_patients(standin, services.settings.database, [2001])
    staff = TelegramUser(standin, STAFF_ID, first_name="Dana")
    await staff.send("/export")
    assert "no check-ins to export yet" in staff.last.text
    assert documents(staff) == []


async def test_audit_shows_the_last_twenty_newest_first(standin, bot, services) -> None:
    staff = TelegramUser(standin, STAFF_ID, first_name="Dana")
    await staff.send("/start")
    with contextlib.closing(connect(services.settings.database)) as db, db:
        for number in range(1, 26):
            db.execute(
                "INSERT INTO audit_log (at, staff_id, action, subject, amount) VALUES (?, ?, 'broadcast_sent', ?, ?)",
                (stamp(NOW - timedelta(minutes=30 - number)), STAFF_ID, number, 10 * number),
            )
        db.execute("INSERT INTO audit_log (at, staff_id, action, amount) VALUES (?, 424242, 'export', 7)", (stamp(NOW),))
    await staff.send("/audit")
    lines = staff.last.text.splitlines()
    assert lines[0] == "🗂 Audit log, newest first (last 20)"
    assert len(lines) == 21
    assert lines[1].endswith("staff member 424242: exported 7 check-ins")
    assert lines[2].endswith(f"Dana ({STAFF_ID}): sent broadcast #25 to 250 patients")
    assert lines[20].endswith("sent broadcast #7 to 70 patients")
