"""Daily reminders through the stand-in, with the bot's clock moved by the tests."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.app import build_application
from tests.client import TelegramUser, running_bot
from tests.conftest import run_due_prompts

LA = ZoneInfo("America/Los_Angeles")
PROMPT = "Time for your daily check-in"


def la(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=LA)


def prompts(patient: TelegramUser) -> list:
    """The daily prompts the patient received (as the messages are now: a tap edits them)."""
    sent = [
        call for call in patient.standin.calls
        if call.method == "sendMessage" and call.status == 200 and call.chat_id == patient.user_id and PROMPT in str(call.params.get("text"))
    ]
    return [patient.message(call.result["message_id"]) for call in sent]


def reminder_row(services) -> sqlite3.Row | None:
    database = sqlite3.connect(services.settings.database)
    database.row_factory = sqlite3.Row
    try:
        return database.execute("SELECT * FROM reminders WHERE user_id = 1001").fetchone()
    finally:
        database.close()


async def set_up_reminder(patient: TelegramUser, clock, hhmm: str = "09:00") -> None:
    clock.set(la("2026-11-20T12:00"))
    await patient.send("/reminders")
    await patient.click("✅ I agree, start my check-ins")
    await patient.send("/reminders")
    await patient.click(hhmm)
    assert f"every day at {hhmm}" in patient.last.text
    assert "Los Angeles" in patient.last.text  # the clinic's zone by default


async def tick_at(bot, clock, moment: datetime) -> None:
    clock.set(moment)
    await run_due_prompts(bot)


async def test_the_prompt_comes_at_the_chosen_local_time_with_the_scores_on_it(patient, bot, clock, services) -> None:
    await set_up_reminder(patient, clock)
    await tick_at(bot, clock, la("2026-11-21T08:59:59"))
    assert prompts(patient) == []
    await tick_at(bot, clock, la("2026-11-21T09:00:00"))
    (prompt,) = prompts(patient)
    assert patient.buttons(prompt)[:11] == [str(pain) for pain in range(11)]
    assert {"⏰ In 1 hour", "Skip today"} <= set(patient.buttons(prompt))
    # One tap on the notification is a whole check-in.
    await patient.click_on(prompt, "3")
    database = sqlite3.connect(services.settings.database)
    assert database.execute("SELECT pain FROM checkins WHERE user_id = 1001").fetchall() == [(3,)]
    database.close()
    # Later ticks that day send nothing more.
    await tick_at(bot, clock, la("2026-11-21T10:30"))
    assert len(prompts(patient)) == 1


async def test_daily_across_the_dst_change(patient, bot, clock) -> None:
    clock.set(la("2027-03-12T12:00"))
    await patient.send("/checkin")
    await patient.click("✅ I agree, start my check-ins")
    await patient.send("/reminders")
    await patient.click("09:00")
    # US clocks go forward on Sunday 14 March 2027: 09:00 local is 17:00 UTC before, 16:00 after.
    for day in ("2027-03-13", "2027-03-14", "2027-03-15"):
        await tick_at(bot, clock, la(f"{day}T08:59"))
        await tick_at(bot, clock, la(f"{day}T09:00"))
    times = [message for message in prompts(patient)]
    assert len(times) == 3
    sent = [call for call in patient.standin.calls if call.method == "sendMessage" and PROMPT in str(call.params.get("text"))]
    assert [call.params["chat_id"] for call in sent] == [1001, 1001, 1001]


async def test_reminders_survive_a_restart(patient, bot, clock, services) -> None:
    await set_up_reminder(patient, clock)
    await bot.updater.stop()
    await bot.stop()
    second = build_application(dataclasses.replace(services, storage=None))
    async with running_bot(second):
        await tick_at(second, clock, la("2026-11-21T09:00"))
        assert len(prompts(patient)) == 1
    await bot.start()
    await bot.updater.start_polling(poll_interval=0, timeout=1)


async def test_a_prompt_missed_while_down_is_sent_within_two_hours(patient, bot, clock) -> None:
    await set_up_reminder(patient, clock)
    await tick_at(bot, clock, la("2026-11-21T10:59"))  # back 1 h 59 min late
    assert len(prompts(patient)) == 1


async def test_a_prompt_missed_by_more_than_two_hours_is_skipped(patient, bot, clock) -> None:
    await set_up_reminder(patient, clock)
    await tick_at(bot, clock, la("2026-11-21T11:01"))
    assert prompts(patient) == []
    await tick_at(bot, clock, la("2026-11-22T09:00"))  # the next day's comes as usual
    assert len(prompts(patient)) == 1


async def test_snooze_asks_again_an_hour_later_once(patient, bot, clock) -> None:
    await set_up_reminder(patient, clock)
    await tick_at(bot, clock, la("2026-11-21T09:00"))
    (first,) = prompts(patient)
    clock.set(la("2026-11-21T09:05"))
    await patient.click_on(first, "⏰ In 1 hour")
    assert "10:05" in patient.message(first.message_id).text
    await tick_at(bot, clock, la("2026-11-21T10:04"))
    assert len(prompts(patient)) == 1
    await tick_at(bot, clock, la("2026-11-21T10:05"))
    assert len(prompts(patient)) == 2
    await tick_at(bot, clock, la("2026-11-21T11:05"))
    assert len(prompts(patient)) == 2
    await tick_at(bot, clock, la("2026-11-22T09:00"))
    assert len(prompts(patient)) == 3


async def test_skip_today(patient, bot, clock, services) -> None:
    await set_up_reminder(patient, clock)
    await tick_at(bot, clock, la("2026-11-21T09:00"))
    (first,) = prompts(patient)
    await patient.click_on(first, "Skip today")
    assert "tomorrow at 09:00" in patient.message(first.message_id).text
    assert reminder_row(services)["next_due"] == "2026-11-22T17:00:00Z"


async def test_a_typed_time_and_time_zone(patient, bot, clock, services) -> None:
    await set_up_reminder(patient, clock)
    await patient.click("🕘 Change time")
    await patient.click("⌨️ Type another time")
    await patient.send("quarter past seven")
    assert "didn't understand" in patient.last.text
    await patient.send("7:15")
    assert "every day at 07:15" in patient.last.text
    await patient.click("🌍 Time zone")
    await patient.click("⌨️ Type another time zone")
    await patient.send("europe/berlin")
    assert "07:15" in patient.last.text and "Berlin" in patient.last.text
    row = reminder_row(services)
    assert (row["local_time"], row["timezone"]) == ("07:15", "Europe/Berlin")
    await tick_at(bot, clock, datetime(2026, 11, 22, 7, 15, tzinfo=ZoneInfo("Europe/Berlin")))
    assert len(prompts(patient)) == 1


async def test_pause_resume_and_stop(patient, bot, clock) -> None:
    await set_up_reminder(patient, clock)
    await patient.click("⏸ Pause")
    assert "paused" in patient.last.text
    await tick_at(bot, clock, la("2026-11-21T09:00"))
    assert prompts(patient) == []
    await patient.click("▶️ Resume")
    await patient.send("/stop")
    assert "/reminders" in patient.last.text  # says how to turn things back on
    await tick_at(bot, clock, la("2026-11-22T09:00"))
    assert prompts(patient) == []
    await patient.click("🔔 Turn messages back on")
    await tick_at(bot, clock, la("2026-11-23T09:00"))
    assert len(prompts(patient)) == 1


async def test_no_prompt_to_a_patient_who_blocked_the_bot(patient, bot, clock, standin, services) -> None:
    await set_up_reminder(patient, clock)
    standin.push_my_chat_member({"id": 1001, "type": "private", "first_name": "Ann"}, 1001, "member", "kicked")
    await standin.wait_for(lambda: _blocked(services), timeout=5)
    await tick_at(bot, clock, la("2026-11-21T09:00"))
    assert not [call for call in standin.calls if call.method == "sendMessage" and PROMPT in str(call.params.get("text"))]


async def test_a_403_on_the_prompt_marks_the_patient_blocked(patient, bot, clock, standin, services) -> None:
    await set_up_reminder(patient, clock)
    standin.block(1001)  # blocked, but Telegram's kicked update has not arrived yet
    await tick_at(bot, clock, la("2026-11-21T09:00"))
    assert _blocked(services)
    standin.forget_errors(status=403)
    await tick_at(bot, clock, la("2026-11-22T09:00"))
    attempts = [call for call in standin.calls if call.method == "sendMessage" and PROMPT in str(call.params.get("text"))]
    assert len(attempts) == 1  # the one that met the 403; never tried again


def _blocked(services) -> bool:
    database = sqlite3.connect(services.settings.database)
    try:
        return database.execute("SELECT blocked FROM patients WHERE user_id = 1001").fetchone()[0] == 1
    finally:
        database.close()


async def test_the_reminder_job_is_one_job_however_many_patients(patient, bot, clock) -> None:
    await set_up_reminder(patient, clock)
    for user_id in range(2000, 2010):
        other = TelegramUser(patient.standin, user_id, first_name=f"P{user_id}")
        await other.send("/checkin")
        await other.click("✅ I agree, start my check-ins")
        await other.send("/reminders")
        await other.click("09:00")
    # One job per kind of message (daily prompts, weekly PEG checks), never one per patient.
    assert sorted(job.name for job in bot.job_queue.jobs()) == ["daily prompts", "weekly PEG"]
    await tick_at(bot, clock, la("2026-11-21T09:00") + timedelta(seconds=30))
    assert len([call for call in patient.standin.calls if call.method == "sendMessage" and PROMPT in str(call.params.get("text"))]) == 11


async def test_overlapping_runs_of_the_job_never_send_twice(patient, bot, clock, standin) -> None:
    """The timer's run and a manual run (the preview's clock button) may overlap."""
    await set_up_reminder(patient, clock)
    others = []
    for user_id in range(3000, 3030):
        other = TelegramUser(standin, user_id, first_name=f"P{user_id}")
        await other.send("/checkin")
        await other.click("✅ I agree, start my check-ins")
        await other.send("/reminders")
        await other.click("09:00")
        others.append(other)
    clock.set(la("2026-11-21T09:00"))
    await asyncio.gather(run_due_prompts(bot), run_due_prompts(bot), run_due_prompts(bot))
    sent = [call.chat_id for call in standin.calls if call.method == "sendMessage" and PROMPT in str(call.params.get("text"))]
    assert sorted(sent) == sorted([1001] + [other.user_id for other in others])


async def test_snooze_is_not_promised_when_reminders_are_paused(patient, bot, clock) -> None:
    await set_up_reminder(patient, clock)
    await tick_at(bot, clock, la("2026-11-21T09:00"))
    (prompt,) = prompts(patient)
    await patient.send("/reminders")
    await patient.click("⏸ Pause")
    await patient.click_on(prompt, "⏰ In 1 hour")
    assert "I'll ask again" not in patient.message(prompt.message_id).text
    assert "paused" in patient.message(prompt.message_id).text
