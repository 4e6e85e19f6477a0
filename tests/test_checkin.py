"""Check-ins through the stand-in: consent first, one tap to save, nothing lost."""

from __future__ import annotations

import dataclasses
import sqlite3

from bot.app import build_application
from tests.client import TelegramUser, running_bot

SCORES_ROW = ["0", "1", "2", "3", "4", "5"]


def rows(services, sql: str, *args) -> list[sqlite3.Row]:
    database = sqlite3.connect(services.settings.database)
    database.row_factory = sqlite3.Row
    try:
        return database.execute(sql, args).fetchall()
    finally:
        database.close()


async def join(patient: TelegramUser) -> None:
    await patient.send("/checkin")
    await patient.click("✅ I agree, start my check-ins")


async def test_nothing_is_stored_before_consent(patient: TelegramUser, services) -> None:
    await patient.send("/checkin")
    notice = patient.last.text
    for must in ("what is stored", "Who can see it", "How long", "/delete"):
        assert must in notice
    assert rows(services, "SELECT * FROM consents") == []
    # A forged score tap before consent stores nothing and shows the notice again.
    await patient.click_data("ci:p:7")
    assert rows(services, "SELECT * FROM checkins") == []
    assert "what is stored" in patient.last.text


async def test_consent_keeps_its_time_and_notice_version(patient: TelegramUser, services, clock) -> None:
    await join(patient)
    (consent,) = rows(services, "SELECT * FROM consents WHERE user_id = 1001")
    assert consent["notice_version"] == "3 (2026-12-01)"
    assert consent["consented_at"] == "2026-11-21T17:00:00Z"
    assert patient.buttons()[:6] == SCORES_ROW


async def test_a_one_tap_check_in_is_saved_before_it_is_confirmed(patient: TelegramUser, services, standin) -> None:
    await join(patient)
    await patient.click("6")
    (saved,) = rows(services, "SELECT * FROM checkins")
    assert (saved["user_id"], saved["pain"], saved["interference"], saved["note"]) == (1001, 6, None, None)
    assert patient.callback_answer()["text"] == "Saved: pain 6/10"
    assert "Saved: pain 6/10" in patient.last.text


async def test_a_full_check_in_with_a_typed_note(patient: TelegramUser, services) -> None:
    await join(patient)
    await patient.click("7")
    await patient.click("4")  # interference
    await patient.click("😐 So-so")
    await patient.click("🙂 Good")
    await patient.click("✏️ Add a note")
    await patient.send("Worse after gardening; slept with a heat pad.")
    (saved,) = rows(services, "SELECT * FROM checkins")
    assert (saved["pain"], saved["interference"], saved["sleep"], saved["mood"]) == (7, 4, 2, 3)
    assert saved["note"] == "Worse after gardening; slept with a heat pad."
    assert "Check-in saved" in patient.last.text
    assert rows(services, "SELECT * FROM awaiting_text") == []


async def test_each_optional_item_can_be_skipped(patient: TelegramUser, services) -> None:
    await join(patient)
    await patient.click("3")
    for _ in range(3):
        await patient.click("Skip")
    await patient.click("Finish")
    (saved,) = rows(services, "SELECT * FROM checkins")
    assert (saved["pain"], saved["interference"], saved["sleep"], saved["mood"], saved["note"]) == (3, None, None, None, None)
    assert "Check-in saved" in patient.last.text


async def test_the_summary_compares_with_the_last_check_in_and_the_week(patient: TelegramUser, clock) -> None:
    await join(patient)
    for pain in (4, 6):
        await patient.click(str(pain))
        await patient.click("Finish")
        clock.advance(days=1)
        await patient.send("/checkin")
    await patient.click("5")
    await patient.click("Finish")
    summary = patient.last.text
    assert "pain 5/10" in summary
    assert "Last time" in summary and "6/10" in summary
    assert "last 7 days: 5.0/10 (3 check-ins)" in summary


async def test_a_double_tap_on_a_score_does_not_save_twice(patient: TelegramUser, services) -> None:
    await join(patient)
    message = patient.last
    await patient.click_on(message, "6")
    await patient.click_data("ci:p:6", message_id=message.message_id)
    await patient.click_data("ci:p:8", message_id=message.message_id)  # changed their mind
    (saved,) = rows(services, "SELECT * FROM checkins")
    assert saved["pain"] == 8
    assert patient.unanswered_taps() == []


async def test_a_high_score_suggests_the_clinic_with_the_card(patient: TelegramUser) -> None:
    await join(patient)
    await patient.click("9")
    await patient.click("Finish")
    summary = next(message for message in reversed(patient.messages) if message.kind == "text")
    assert "not a diagnosis" in summary.text
    assert "+1 555 010 0199" in summary.text
    assert patient.messages[-1].kind == "contact"


async def test_a_restart_mid_check_in_loses_nothing(patient: TelegramUser, bot, services) -> None:
    await join(patient)
    await patient.click("5")
    await patient.click("2")
    sleep_good = next(button["callback_data"] for button in patient.last.buttons if button["text"] == "🙂 Well")
    await patient.click("Skip")
    await patient.click("Skip")
    await patient.click("✏️ Add a note")
    # The bot restarts while the patient is typing: a new process, the same database.
    await bot.updater.stop()
    await bot.stop()
    second = build_application(dataclasses.replace(services, storage=None))
    async with running_bot(second):
        await patient.send("Typed after the restart")
        assert "Check-in saved" in patient.last.text
        # ...and a button from before the restart still works on the same check-in.
        await patient.click_data(sleep_good)
    (saved,) = rows(services, "SELECT * FROM checkins")
    assert (saved["pain"], saved["interference"], saved["sleep"], saved["note"]) == (5, 2, 3, "Typed after the restart")
    await bot.start()
    await bot.updater.start_polling(poll_interval=0, timeout=1)


async def test_a_crisis_worded_note_is_kept_and_answered(patient: TelegramUser, services) -> None:
    await join(patient)
    await patient.click("8")
    await patient.click("Finish")
    await patient.send("/checkin")
    await patient.click("8")
    for _ in range(3):
        await patient.click("Skip")
    await patient.click("✏️ Add a note")
    before = len(patient.messages)
    await patient.send("some days I want to die")
    text = "\n".join(message.text for message in patient.messages[before:])
    assert "988" in text and "Check-in saved" in text
    notes = [row["note"] for row in rows(services, "SELECT note FROM checkins")]
    assert "some days I want to die" in notes


async def test_a_stray_text_is_not_taken_as_a_note_after_moving_on(patient: TelegramUser, services) -> None:
    await join(patient)
    await patient.click("4")
    for _ in range(3):
        await patient.click("Skip")
    await patient.click("✏️ Add a note")
    await patient.send("/menu")
    await patient.send("hello")
    assert "typed questions" in patient.last.text
    assert rows(services, "SELECT note FROM checkins")[0]["note"] is None


async def test_a_forged_check_in_id_is_refused(patient: TelegramUser, services) -> None:
    await join(patient)
    await patient.click("4")
    other = TelegramUser(patient.standin, 2002, first_name="Eve")
    await other.send("/start")
    (saved,) = rows(services, "SELECT id FROM checkins")
    await other.click_data(f"ci:i:{saved['id']}:9")
    assert "out of date" in other.callback_answer()["text"]
    assert rows(services, "SELECT interference FROM checkins")[0]["interference"] is None


async def test_a_tap_telegram_redelivers_after_downtime_still_shows_the_screen(patient: TelegramUser, services, standin) -> None:
    """After an outage Telegram may deliver a tap the bot can no longer answer."""
    await join(patient)
    standin.inject("answerCallbackQuery", 400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
    message_id = patient.last.message_id
    standin.push_callback(1001, message_id, "ci:p:6")  # its answer will be refused, as Telegram would
    await standin.wait_for(lambda: "Saved: pain 6/10" in patient.message(message_id).text, timeout=10)
    assert not any("Sorry, something went wrong" in message.text for message in patient.messages)
