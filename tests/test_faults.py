"""Fault injection (issue 8): SIGKILL during bursts, API outages, restarts, double delivery.

What is asserted is what the patients saw (the stand-in's chat logs and callback answers)
and what the database holds. The crash tests run `python -m bot` in a subprocess and
SIGKILL it; the outage and staleness tests run the bot in-process on the `clock` fixture.
The one timed figure is the issue's own bound, "answered within 30 s of the API's return",
read from the stand-in's clock (its record of the outage and of each call), not the test's.

The 20-second outages take a minute and a half together: they are marked `slow` and run
with `RUN_SLOW_TESTS=1` (a 3-second outage of each kind runs always).
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from pathlib import Path

import pytest

from bot.pipeline import RecentIds
from bot.standin import BotApiStandIn, RateLimits
from tests.client import TelegramUser, finished, wait_until
from tests.conftest import STAFF_CHAT_ID, STAFF_ID, TOKEN
from tests.faults import TAP_AGAIN, BotProcess, all_finished, answers_done, open_check_ins, sigkill_during_tap_burst
from tests.seed import add_patients, bot_running, rows

slow = pytest.mark.skipif(not os.environ.get("RUN_SLOW_TESTS"), reason="slow: set RUN_SLOW_TESTS=1")
# The bound: a message sent during an outage is answered this soon after the API is back.
ANSWER_AFTER_RETURN = 30.0
NEWS = "The clinic is closed on Friday for training."


@pytest.fixture
async def standin():
    """The stand-in with Telegram's per-chat limits but room for bursts of many patients
    (the bot's own limiter keeps it at 30 a second)."""
    server = BotApiStandIn(TOKEN, limits=RateLimits(global_per_second=1000))
    await server.start()
    server.group(STAFF_CHAT_ID, "Clinic staff")
    try:
        yield server
    finally:
        server.end_outage()
        await server.stop()


@pytest.fixture
async def bot_process(standin, env, tmp_path: Path):
    process = BotProcess(standin, env, tmp_path)
    await process.start()
    try:
        yield process
    finally:
        if process.process is not None and process.process.returncode is None:
            await process.stop()


def refused(standin: BotApiStandIn) -> list[str]:
    return [f"{call.method}: {call.status} {call.description}" for call in standin.errors]


# -- SIGKILL ------------------------------------------------------------------------------


async def test_sigkill_during_150_check_in_taps_loses_none_and_stores_none_twice(standin, bot_process) -> None:
    outcome = await sigkill_during_tap_burst(standin, bot_process, patients=150, kill_after_answers=40)
    assert outcome.answered_before_kill < outcome.taps  # the kill came in the middle
    assert outcome.lost == []
    assert outcome.shown_twice == []  # a second answer is refused by Telegram, a second edit shows nothing new
    assert outcome.acknowledged_not_stored == []
    assert outcome.stored_twice == []
    assert len(rows(bot_process.database, "SELECT id FROM checkins")) == 150 - len(outcome.told_to_tap_again)
    # The inbox holds no text of what was handled.
    assert rows(bot_process.database, "SELECT update_id FROM inbox WHERE payload IS NOT NULL OR finished_at IS NULL") == []
    assert refused(standin) == []


async def test_sigkill_during_check_in_notes_keeps_each_note_once(standin, bot_process) -> None:
    database = bot_process.database
    user_ids = add_patients(standin, database, range(210_001, 210_041), consented=True)
    prompts = await open_check_ins(standin, bot_process, user_ids)
    updates = []
    for user_id in user_ids:
        standin.push_callback(user_id, prompts[user_id], "ci:p:6")
        updates.append(standin.last_update_id)
    await all_finished(updates, database, timeout=60)
    checkin_ids = {row["user_id"]: row["id"] for row in rows(database, "SELECT id, user_id FROM checkins")}
    updates = []
    for user_id in user_ids:
        standin.push_callback(user_id, prompts[user_id], f"ci:n:{checkin_ids[user_id]}:t")
        updates.append(standin.last_update_id)
    await all_finished(updates, database, timeout=60)
    before = {user_id: len(standin.chat_log(user_id)) for user_id in user_ids}

    notes = {}
    for user_id in user_ids:
        notes[user_id] = f"slept badly, patient {user_id}"
        standin.push_text(user_id, notes[user_id])
        notes[standin.last_update_id] = user_id
    note_updates = [key for key in notes if key not in user_ids]
    await standin.wait_for(
        lambda: sum(len(standin.chat_log(u)) > before[u] for u in user_ids) >= 12, timeout=60, what="some summaries"
    )
    await bot_process.kill()
    # Handled (its summary sent) but not yet marked done at the kill: these are handled
    # again after the restart, the one kind of update a patient may see answered twice.
    in_flight = {
        row["chat_id"] for row in rows(database, "SELECT chat_id FROM inbox WHERE finished_at IS NULL")
        if row["chat_id"] in before and len(standin.chat_log(row["chat_id"])) > before[row["chat_id"]]
    }
    await bot_process.start()
    await all_finished(note_updates, database, timeout=60)
    await wait_until(lambda: answers_done(standin), 30, "the bot's calls")

    stored = {row["user_id"]: row["note"] for row in rows(database, "SELECT user_id, note FROM checkins")}
    twice = []
    for user_id in user_ids:
        assert stored[user_id] == notes[user_id]  # every note kept, once (one check-in each)
        answers = [m.text for m in standin.chat_log(user_id)[before[user_id]:]]
        assert answers and "Check-in saved" in answers[0], (user_id, answers)
        if len(answers) > 1:
            twice.append(user_id)
    assert set(twice) <= in_flight, (twice, in_flight)
    assert len(rows(database, "SELECT id FROM checkins")) == len(user_ids)
    assert refused(standin) == []


async def test_sigkill_during_a_broadcast_misses_nobody(standin, bot_process) -> None:
    database = bot_process.database
    patients = add_patients(standin, database, range(220_001, 220_201))
    staff = TelegramUser(standin, STAFF_ID, first_name="Dana", bot_database=database)
    await staff.send("/broadcast")
    await staff.send(NEWS)
    await staff.click("All patients")
    await staff.click(f"Send to {len(patients)} patients")

    def reached() -> int:
        return sum(1 for user_id in patients if standin.chat_log(user_id))

    await standin.wait_for(lambda: reached() >= 60, timeout=60, what="60 patients reached")
    await bot_process.kill()
    # Sent to Telegram, but the bot died before it wrote down the outcome: only these can go twice.
    unrecorded = [
        row["user_id"] for row in rows(database, "SELECT user_id FROM outbox WHERE state = 'pending'")
        if standin.chat_log(row["user_id"])
    ]
    assert reached() < len(patients)

    await bot_process.start()
    await staff.expect("finished", timeout=60)
    received = Counter({user_id: len(standin.chat_log(user_id)) for user_id in patients})
    assert all(received[user_id] >= 1 for user_id in patients)  # nobody missed
    twice = [user_id for user_id in patients if received[user_id] > 1]
    assert set(twice) <= set(unrecorded) and len(twice) <= 1, (twice, unrecorded)
    assert all(NEWS in standin.chat_log(user_id)[0].text for user_id in patients)
    assert refused(standin) == []


async def test_an_update_delivered_again_after_a_kill_is_handled_once(standin, bot_process) -> None:
    """Telegram delivers again an update whose confirmation never reached it: the bot died
    after handling it (case 1), or while its answer was failing (case 2)."""
    database = bot_process.database
    first, second = add_patients(standin, database, [230_001, 230_002], consented=True)
    prompts = await open_check_ins(standin, bot_process, [first, second])

    query_1 = standin.push_callback(first, prompts[first], "ci:p:3")
    update_1 = standin.last_update_id
    await all_finished([update_1], database, timeout=30)

    standin.outage("500", spare=("getUpdates",))  # the answers fail, the update is stored
    query_2 = standin.push_callback(second, prompts[second], "ci:p:8")
    update_2 = standin.last_update_id
    await standin.wait_for(
        lambda: any(c.chat_id == second and c.injected for c in standin.calls), timeout=30, what="a failed answer"
    )  # stored in the inbox, handled, not finished
    await bot_process.kill()
    standin.end_outage()
    standin.replay(update_1)
    standin.replay(update_2)

    await bot_process.start()
    await standin.wait_for(lambda: standin.delivered(update_2), timeout=30, what="the redelivery")
    await all_finished([update_2], database, timeout=30)
    # Something after them, to be sure the bot has seen both redelivered updates.
    standin.push_text(first, "/menu")
    await all_finished([standin.last_update_id], database, timeout=30)

    for user_id, query_id, pain in ((first, query_1, 3), (second, query_2, 8)):
        answers = [
            c for c in standin.calls
            if c.method == "answerCallbackQuery" and str(c.params.get("callback_query_id")) == query_id and c.ok
        ]
        assert len(answers) == 1, (user_id, answers)
        assert [row["pain"] for row in rows(database, "SELECT pain FROM checkins WHERE user_id = ?", (user_id,))] == [pain]
    first_answers = [c for c in standin.calls if c.method == "answerCallbackQuery" and c.chat_id == first]
    assert len(first_answers) == 1  # not even tried again
    assert refused(standin) == []


# -- outages (in-process bot) ---------------------------------------------------------------


async def _outage_scenario(standin: BotApiStandIn, mode: str, seconds: float, spare: tuple[str, ...] = ()) -> None:
    patient = TelegramUser(standin, 1001, first_name="Ann")
    await patient.send("/start")
    menu = patient.last
    standin.outage(mode, spare=spare)
    outage_start = len(standin.calls)
    standin.push_text(1001, "hello, is anyone there?")
    text_update = standin.last_update_id
    query_id = standin.push_callback(1001, menu.message_id, "t:tms")
    tap_update = standin.last_update_id
    await asyncio.sleep(seconds)  # the outage itself, not a wait for quiet
    standin.end_outage()
    back = standin.outages[-1].end

    await wait_until(lambda: finished(text_update) and finished(tap_update), 60, "both updates to be finished")
    await wait_until(lambda: all(c.status is not None or c.cancelled for c in standin.calls_for(1001)), 30, "calls")
    after = [c for c in standin.calls[outage_start:] if c.chat_id == 1001 and c.ok]
    sends = [c for c in after if c.method == "sendMessage"]
    answers = [c for c in after if c.method == "answerCallbackQuery"]
    edits = [c for c in after if c.method == "editMessageText"]
    # The message got its one answer (the pointer to the buttons), the tap its answer and its
    # screen; nothing twice.
    assert len(sends) == 1 and "buttons" in sends[0].params["text"], [c.params.get("text") for c in sends]
    assert [str(c.params["callback_query_id"]) for c in answers] == [query_id]
    assert len(edits) == 1 and "What is TMS?" in patient.message(menu.message_id).text
    assert sends[0].time - back <= ANSWER_AFTER_RETURN, sends[0].time - back
    assert patient.unanswered_taps() == []


@pytest.mark.parametrize("mode", ["500", "close", "hang"])
async def test_a_short_outage_then_every_message_is_answered_once(standin, bot, mode) -> None:
    await _outage_scenario(standin, mode, seconds=3)


@pytest.mark.parametrize("mode", ["500", "close", "hang"])
async def test_answers_that_fail_in_an_outage_are_sent_when_the_api_is_back(standin, bot, mode) -> None:
    """getUpdates works, the answers fail: the update is in hand and must be retried."""
    await _outage_scenario(standin, mode, seconds=3, spare=("getUpdates",))


@slow
@pytest.mark.parametrize("mode", ["500", "close", "hang"])
async def test_a_20_second_outage_then_answered_within_30_seconds(standin, bot, mode) -> None:
    await _outage_scenario(standin, mode, seconds=20)


@slow
@pytest.mark.parametrize("mode", ["500", "close", "hang"])
async def test_a_20_second_outage_of_the_answers_only(standin, bot, mode) -> None:
    await _outage_scenario(standin, mode, seconds=20, spare=("getUpdates",))


# -- stopping and staleness (in-process bot, the bot's clock moved) ------------------------------


async def test_a_stop_in_an_outage_leaves_the_update_for_the_next_start(standin, services, clock) -> None:
    """Stopped while a tap's answer keeps failing: the stop does not wait for the API, and
    the tap is not marked done; started again soon, the bot acts on it."""
    database = services.settings.database
    async with asyncio.timeout(30), bot_running(services):
        patient = TelegramUser(standin, 1001, first_name="Ann")
        await patient.send("/start")
        menu = patient.last
        standin.outage("500", spare=("getUpdates",))
        query_id = standin.push_callback(1001, menu.message_id, "t:tms")
        update_id = standin.last_update_id
        await standin.wait_for(lambda: any(c.chat_id == 1001 and c.injected for c in standin.calls), 10)
    assert not finished(update_id, database)
    standin.end_outage()
    clock.advance(minutes=2)
    async with bot_running(services):
        await wait_until(lambda: finished(update_id), 20, "the tap to be handled after the restart")
    assert query_id in standin.callback_answers
    assert "What is TMS?" in patient.message(menu.message_id).text
    assert not [m for m in patient.messages if TAP_AGAIN in m.text]
    assert refused(standin) == []


async def test_after_more_than_ten_minutes_the_patient_is_asked_to_tap_again(standin, services, clock) -> None:
    database = services.settings.database
    async with asyncio.timeout(30), bot_running(services):
        patient = TelegramUser(standin, 1001, first_name="Ann")
        await patient.send("/start")
        menu = patient.last
        standin.outage("close", spare=("getUpdates",))
        query_id = standin.push_callback(1001, menu.message_id, "t:tms")
        update_id = standin.last_update_id
        await standin.wait_for(lambda: any(c.chat_id == 1001 and c.injected for c in standin.calls), 10)
    standin.end_outage()
    clock.advance(minutes=11)
    async with bot_running(services):
        await wait_until(lambda: finished(update_id), 20, "the stale tap to be finished")
    tap_again = [m for m in patient.messages if TAP_AGAIN in m.text]
    assert len(tap_again) == 1
    assert "What is TMS?" not in patient.message(menu.message_id).text  # not acted on
    assert query_id in standin.callback_answers  # the spinner is stopped too
    assert rows(database, "SELECT payload FROM inbox WHERE update_id = ?", (update_id,))[0]["payload"] is None
    assert refused(standin) == []


async def typed_while_the_answers_fail(standin: BotApiStandIn, patient: TelegramUser, text: str) -> list[str]:
    """The patient types `text` while every answer fails (getUpdates works), then the API is
    back: the texts the patient got for it, once the bot has finished the update."""
    before = len(patient.messages)
    standin.outage("500", spare=("getUpdates",))
    standin.push_text(patient.chat_id, text)
    update_id = standin.last_update_id
    await standin.wait_for(lambda: any(c.chat_id == patient.chat_id and c.injected for c in standin.calls), 10)
    standin.end_outage()
    await wait_until(lambda: finished(update_id), 30, "the typed message to be handled")
    return [m.text for m in patient.messages[before:]]


async def test_a_note_typed_while_the_answers_fail_gets_its_summary_not_the_fallback(standin, bot, services) -> None:
    database = services.settings.database
    add_patients(standin, database, [1001], consented=True)
    patient = TelegramUser(standin, 1001, first_name="Ann")
    await patient.send("/checkin")
    await patient.click_data("ci:p:5")
    [checkin] = rows(database, "SELECT id FROM checkins WHERE user_id = 1001")
    await patient.click_data(f"ci:n:{checkin['id']}:t")
    answers = await typed_while_the_answers_fail(standin, patient, "a bad night")
    assert len(answers) == 1 and "Check-in saved" in answers[0], answers
    assert rows(database, "SELECT note FROM checkins WHERE user_id = 1001")[0]["note"] == "a bad night"


async def test_a_reminder_time_typed_while_the_answers_fail_is_set_and_answered(standin, bot, services) -> None:
    database = services.settings.database
    add_patients(standin, database, [1001], consented=True)
    patient = TelegramUser(standin, 1001, first_name="Ann")
    await patient.send("/reminders")
    await patient.click("⌨️ Type another time")
    answers = await typed_while_the_answers_fail(standin, patient, "7:30pm")
    assert len(answers) == 1 and "every day at 19:30" in answers[0], answers
    assert rows(database, "SELECT local_time FROM reminders WHERE user_id = 1001")[0]["local_time"] == "19:30"
    assert rows(database, "SELECT * FROM awaiting_text WHERE user_id = 1001") == []


async def test_retries_end_after_ten_minutes_and_free_the_chat(standin, bot, clock) -> None:
    """An answer that keeps failing is not retried forever: after ten minutes by the bot's
    clock the patient is asked to tap again, and their next message is handled."""
    patient = TelegramUser(standin, 1001, first_name="Ann")
    await patient.send("/start")
    menu = patient.last
    standin.outage("500", spare=("getUpdates",))
    standin.push_callback(1001, menu.message_id, "t:tms")
    update_id = standin.last_update_id
    await standin.wait_for(lambda: any(c.chat_id == 1001 and c.injected for c in standin.calls), 10)
    clock.advance(minutes=11)
    standin.end_outage()
    await wait_until(lambda: finished(update_id), 30, "the retried tap to be finished")
    assert len([m for m in patient.messages if TAP_AGAIN in m.text]) == 1
    assert "What is TMS?" not in patient.message(menu.message_id).text
    await patient.send("/help")  # the chat is free again
    assert not patient.unanswered_taps()


def test_the_processor_remembers_only_recent_finished_updates() -> None:
    recent = RecentIds(3)
    for update_id in range(1, 6):
        recent.add(update_id)
    assert [update_id in recent for update_id in range(1, 6)] == [False, False, True, True, True]
    assert len(recent) == 3
