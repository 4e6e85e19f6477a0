"""Flows as the patient asked: /reminders before joining leads to the reminder setup, and
the end of a first check-in offers a daily reminder."""

from __future__ import annotations

from tests.client import TelegramUser
from tests.seed import rows

AGREE = "✅ I agree, start my check-ins"
SET_REMINDER = "⏰ Set a daily reminder"


async def test_reminders_before_joining_asks_consent_then_sets_the_reminder(patient: TelegramUser, services) -> None:
    await patient.send("/reminders")
    assert "what is stored" in patient.last.text  # the notice first
    await patient.click(AGREE)
    assert "You're in the daily check-in program" in patient.last.text
    assert "Pick a time" in patient.last.text
    assert "How is your pain right now?" not in patient.last.text
    await patient.click("09:00")
    assert "every day at 09:00" in patient.last.text
    database = services.settings.database
    assert len(rows(database, "SELECT * FROM consents WHERE user_id = 1001")) == 1
    assert rows(database, "SELECT local_time FROM reminders WHERE user_id = 1001")[0]["local_time"] == "09:00"
    assert rows(database, "SELECT * FROM checkins") == []


async def test_the_reminder_menu_button_before_joining_also_ends_in_the_setup(patient: TelegramUser) -> None:
    await patient.send("/start")
    await patient.click_data("rm")
    await patient.click(AGREE)
    assert "Pick a time" in patient.last.text


async def test_the_first_check_in_offers_a_daily_reminder(patient: TelegramUser) -> None:
    await patient.send("/checkin")
    await patient.click(AGREE)
    await patient.click("6")
    await patient.click("Finish")
    summary = patient.last
    assert "Check-in saved" in summary.text
    assert "Would a daily reminder help?" in summary.text
    assert SET_REMINDER in patient.buttons(summary)
    await patient.click(SET_REMINDER)
    assert "Pick a time" in patient.last.text
    await patient.click("20:00")
    assert "every day at 20:00" in patient.last.text


async def test_no_offer_with_a_reminder_set_nor_after_the_first_check_in(patient: TelegramUser, clock) -> None:
    await patient.send("/reminders")
    await patient.click(AGREE)
    await patient.click("09:00")
    await patient.send("/checkin")
    await patient.click("4")
    await patient.click("Finish")
    assert SET_REMINDER not in patient.buttons(patient.last)  # a reminder is set
    await patient.send("/reminders")
    await patient.click("🔕 Turn off")
    clock.advance(hours=3)
    await patient.send("/checkin")
    await patient.click("5")
    await patient.click("Finish")
    assert "Would a daily reminder help?" not in patient.last.text  # not the first one
    assert SET_REMINDER not in patient.buttons(patient.last)
