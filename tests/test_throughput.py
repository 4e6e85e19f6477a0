"""Sending at full rate over a network with a round trip (issue 10): the broadcast pipeline's
429, 403, timeout, cancel and restart behaviour, patients' answers while it runs, per-chat
order under concurrency, and the paid broadcast option.

The stand-in plays a network round trip (`with_network_delay`), so several sends are in
flight at once, as against the real Bot API. Outcomes are read from the stand-in's chat
logs and from the outbox rows in SQLite; no assertion is about time.
"""

from __future__ import annotations

import asyncio
import contextlib
import textwrap
from collections import Counter
from datetime import timedelta

import pytest

from bot.config import ConfigError, load_settings
from bot.rate_limiter import BotRateLimiter, SharedBudget
from bot.standin import BotApiStandIn
from tests.client import TelegramUser, finished, wait_until
from tests.conftest import CONFIG, STAFF_ID, run_due_prompts
from tests.seed import NOW, add_patients, bot_running, connect, rows, stamp
from tests.test_broadcast import NEWS, broadcast_calls, compose, delivered, received


def outbox_states(database) -> dict[str, int]:
    return {row["state"]: row["n"] for row in rows(database, "SELECT state, count(*) AS n FROM outbox GROUP BY state")}


async def start_broadcast(standin: BotApiStandIn, services, user_ids, before_send=lambda: None) -> tuple[TelegramUser, list[int]]:
    patients = add_patients(standin, services.settings.database, user_ids)
    staff = TelegramUser(standin, STAFF_ID, first_name="Dana")
    await compose(staff, NEWS)
    before_send()
    await staff.click(f"Send to {len(patients)} patients")
    return staff, patients


async def test_a_429_pauses_the_pipeline_and_the_refused_patients_get_it_once(standin, services) -> None:
    standin.with_network_delay(0.05, jitter_seconds=0.02)
    async with bot_running(services):
        staff, patients = await start_broadcast(
            standin, services, range(6001, 6041),
            before_send=lambda: standin.inject("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1, times=3),
        )
        report = await staff.expect("finished", timeout=30)
    assert "Sent: 40\nBlocked the bot: 0\nFailed: 0" in report.text
    assert all(len(received(standin, user_id)) == 1 for user_id in patients)
    refused = [call.chat_id for call in broadcast_calls(standin, set(patients)) if call.status == 429]
    assert len(refused) == 3
    assert all(len(received(standin, user_id)) == 1 for user_id in refused)
    assert outbox_states(services.settings.database) == {"sent": 40}
    assert standin.errors == []


async def test_a_403_marks_the_patient_blocked_and_the_others_still_get_it(standin, services) -> None:
    standin.with_network_delay(0.05, jitter_seconds=0.02)
    async with bot_running(services):
        patients = add_patients(standin, services.settings.database, range(6101, 6121))
        blocked = patients[3::5]
        for user_id in blocked:
            standin.block(user_id)
        staff = TelegramUser(standin, STAFF_ID, first_name="Dana")
        await compose(staff, NEWS)
        await staff.click("Send to 20 patients")
        report = await staff.expect("finished", timeout=30)
    assert "Sent: 16\nBlocked the bot: 4\nFailed: 0" in report.text
    marked = [row["user_id"] for row in rows(services.settings.database, "SELECT user_id FROM patients WHERE blocked = 1")]
    assert marked == blocked
    assert all(len(received(standin, user_id)) == (0 if user_id in blocked else 1) for user_id in patients)
    standin.forget_errors(status=403)
    assert standin.errors == []


async def test_sends_that_time_out_are_tried_again_and_arrive_once(standin, services) -> None:
    """Telegram stops answering for a while (longer than the bot's 5 s read timeout): the
    sends in flight time out, are counted as a failed try, and go out once it answers."""
    async with bot_running(services, broadcast_rate=1.0):
        staff, patients = await start_broadcast(standin, services, range(6201, 6206))
        standin.with_network_delay(14.0)  # 7 s each way from now on: the next sends time out
        database = services.settings.database
        await wait_until(
            lambda: rows(database, "SELECT 1 FROM outbox WHERE attempts > 0"), timeout=20, what="a send to time out"
        )
        standin.with_network_delay(0.0)
        report = await staff.expect("finished", timeout=30)
    assert "Sent: 5\nBlocked the bot: 0\nFailed: 0" in report.text
    assert all(len(received(standin, user_id)) == 1 for user_id in patients)
    assert outbox_states(database) == {"sent": 5}


async def test_cancel_stops_the_pipeline_with_at_most_the_sends_in_flight(standin, services) -> None:
    standin.with_network_delay(0.1, jitter_seconds=0.05)
    async with bot_running(services, broadcast_rate=10.0) as application:
        staff, patients = await start_broadcast(standin, services, range(6301, 6361))
        await standin.wait_for(lambda: delivered(standin, patients) >= 5, timeout=20)
        await staff.send("/broadcast cancel")
        started_by_then = len(broadcast_calls(standin, set(patients)))
        report = await staff.expect("Broadcast #1 stopped", timeout=20)
        window = application.bot_data["outbox_worker"].pipeline.window()
    sent = delivered(standin, patients)
    assert sent <= started_by_then + window < 60
    assert f"Sent: {sent}\n" in report.text
    assert outbox_states(services.settings.database) == {"sent": sent, "cancelled": 60 - sent}


async def test_a_restart_while_sends_are_in_flight_misses_no_one_and_sends_no_one_twice(standin, services) -> None:
    standin.with_network_delay(0.15, jitter_seconds=0.05)
    database = services.settings.database
    async with bot_running(services):
        staff, patients = await start_broadcast(standin, services, range(6401, 6461))
        await standin.wait_for(lambda: delivered(standin, patients) >= 20, timeout=20)
    # Stopped with sends on their way: each was let finish and its outcome written.
    states = outbox_states(database)
    assert states["sent"] == delivered(standin, patients) and states["pending"] == 60 - states["sent"]
    async with bot_running(services):
        report = await staff.expect("finished", timeout=30)
    assert "Sent: 60\n" in report.text
    assert all(len(received(standin, user_id)) == 1 for user_id in patients)


async def test_a_patient_is_answered_while_a_broadcast_runs_at_full_rate(standin, services) -> None:
    standin.with_network_delay(0.05, jitter_seconds=0.02)
    async with bot_running(services):
        staff, patients = await start_broadcast(standin, services, range(6501, 6801))
        await standin.wait_for(lambda: delivered(standin, patients) >= 10, timeout=20)
        patient = TelegramUser(standin, 1001, first_name="Ann")
        await patient.send("/start")
        await patient.click("🧲 What is TMS?")
        assert "What is TMS?" in patient.last.text
        assert patient.unanswered_taps() == []
        # The broadcast was still going when the patient had their screen.
        assert delivered(standin, patients) < 300
        await staff.expect("finished", timeout=60)
    assert all(len(received(standin, user_id)) == 1 for user_id in patients)


async def test_several_taps_of_one_patient_are_answered_in_order_while_others_tap(standin, bot) -> None:
    standin.with_network_delay(0.02, jitter_seconds=0.04)  # answers come back out of order
    ann = TelegramUser(standin, 1001, first_name="Ann")
    others = [TelegramUser(standin, 1100 + n, first_name=f"P{n}") for n in range(5)]
    for user in (ann, *others):
        await user.send("/start")
    menus = {user.user_id: user.last for user in (ann, *others)}
    data = [button["callback_data"] for button in menus[ann.user_id].buttons if "callback_data" in button][:4]
    assert len(data) == 4
    # Four quick taps of Ann on her menu message, with the others tapping in between.
    ann_updates, all_updates = [], []
    for tap in data:
        standin.push_callback(ann.user_id, menus[ann.user_id].message_id, tap)
        ann_updates.append(standin.last_update_id)
        all_updates.append(standin.last_update_id)
        for other in others:
            standin.push_callback(other.user_id, menus[other.user_id].message_id, tap)
            all_updates.append(standin.last_update_id)
    await wait_until(lambda: all(finished(update_id) for update_id in all_updates), timeout=30, what="every tap")
    # Ann's taps were handled one after the other: her answers arrived in the order she tapped.
    ann_answers = [c for c in standin.calls if c.method == "answerCallbackQuery" and c.chat_id == ann.user_id]
    assert [int(c.params["callback_query_id"]) for c in ann_answers] == sorted(
        int(c.params["callback_query_id"]) for c in ann_answers
    )
    assert len(ann_answers) == 4
    screens = [c for c in standin.calls if c.chat_id == ann.user_id and c.method.startswith(("editMessage", "sendMessage"))
               and c.time > ann_answers[0].time]
    # Each tap's screen came after its own answer and before the next tap's answer.
    for first, second in zip(ann_answers, ann_answers[1:]):
        assert any(first.time < screen.time < second.time for screen in screens)
    assert ann.unanswered_taps() == [] and all(other.unanswered_taps() == [] for other in others)


async def test_daily_prompts_due_at_once_go_out_once_each_in_order_of_due_time(standin, bot, services, clock) -> None:
    standin.with_network_delay(0.05, jitter_seconds=0.02)
    database = services.settings.database
    patients = add_patients(standin, database, range(7001, 7061))
    # Daily at 16:58, 16:59 or 17:00 UTC, all due now; the later ones first in the table.
    with contextlib.closing(connect(database)) as db, db:
        for index, user_id in enumerate(patients):
            due = NOW - timedelta(minutes=index % 3)
            db.execute(
                "INSERT INTO reminders (user_id, local_time, timezone, next_due) VALUES (?, ?, 'UTC', ?)",
                (user_id, due.strftime("%H:%M"), stamp(due)),
            )
    clock.set(NOW + timedelta(minutes=3))
    await run_due_prompts(bot)
    await run_due_prompts(bot)  # a second run right after (or after a restart) finds none due
    prompts = sorted(
        (c for c in standin.calls if c.method == "sendMessage" and c.chat_id in set(patients)), key=lambda c: c.time
    )
    assert all(len(received(standin, user_id)) == 1 for user_id in patients)
    due_order = [user_id for _, user_id in sorted((-((uid - 7001) % 3), uid) for uid in patients)]
    # Started in order of due time; with a round trip, neighbours may arrive a little swapped.
    arrived = [c.chat_id for c in prompts]
    assert sum(1 for a, b in zip(arrived, due_order) if a != b) <= len(patients) // 2
    assert arrived[:5] == [uid for uid in due_order[:20] if uid in arrived[:5]]
    assert set(arrived[:20]) == set(due_order[:20])


# -- the shared budget and the paid option --------------------------------------------------


async def test_an_answer_takes_the_next_slot_before_waiting_bulk_sends() -> None:
    budget = SharedBudget(per_second=200, bulk_per_second=200)
    order: list[str] = []

    async def bulk(name: str) -> None:
        await budget.bulk_slot()
        order.append(name)

    async def answer() -> None:
        await budget.answer_slot()
        order.append("answer")

    await budget.bulk_slot()  # a bulk send just started: the next slot is 5 ms away
    bulks = [asyncio.create_task(bulk(f"bulk{n}")) for n in range(3)]
    await asyncio.sleep(0)  # the bulk sends are waiting for their slots
    await asyncio.gather(answer(), *bulks)
    assert order == ["answer", "bulk0", "bulk1", "bulk2"]


async def test_answering_a_callback_query_never_waits_for_the_message_budget() -> None:
    limiter = BotRateLimiter(max_retries=3)
    await limiter.initialize()
    limiter.budget.hold(3600)  # Telegram said "retry after an hour" for messages

    async def answered(*args, **kwargs):
        return True

    # Done at once (the timeout only turns a hang into a failure).
    assert await asyncio.wait_for(
        limiter.process_request(answered, (), {}, "answerCallbackQuery", {"callback_query_id": "1"}, None), 5
    )
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(
            limiter.process_request(answered, (), {}, "sendMessage", {"chat_id": 1}, None), 0.2
        )


def test_paid_broadcasts_allow_a_rate_up_to_1000(tmp_path, env) -> None:
    config = tmp_path / "paid.yaml"
    config.write_text(textwrap.dedent(CONFIG) + "broadcasts:\n  paid: true\n  messages_per_second: 500\n", encoding="utf-8")
    settings = load_settings({**env, "BOT_CONFIG": str(config)})
    assert (settings.broadcast_paid, settings.broadcast_rate) == (True, 500.0)
    config.write_text(textwrap.dedent(CONFIG) + "broadcasts:\n  messages_per_second: 500\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broadcasts\.messages_per_second must be .* at most 30"):
        load_settings({**env, "BOT_CONFIG": str(config)})
    config.write_text(textwrap.dedent(CONFIG) + "broadcasts:\n  paid: yes please\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broadcasts\.paid must be true or false"):
        load_settings({**env, "BOT_CONFIG": str(config)})


async def test_a_paid_broadcast_says_what_it_costs_and_sends_with_allow_paid_broadcast(standin, services) -> None:
    async with bot_running(services, broadcast_paid=True, broadcast_rate=200.0):
        patients = add_patients(standin, services.settings.database, range(6601, 6701))
        staff = TelegramUser(standin, STAFF_ID, first_name="Dana")
        await compose(staff, NEWS)
        confirm = staff.last
        assert "Paid broadcast" in confirm.text and "0.1 Telegram Stars per message" in confirm.text
        await staff.click("Send to 100 patients")
        try:
            await staff.expect("finished", timeout=30)
        except AssertionError as stalled:
            # Once in a few full runs this stalled at "Sent 0": say what the sends met.
            # (Where the worker waits is in the message already: tests/client.py.)
            outcomes = Counter((c.method, c.status, c.description) for c in standin.calls if c.chat_id in set(patients))
            raise AssertionError(f"{stalled}; sends to patients: {dict(outcomes)}") from None
        patient = TelegramUser(standin, 1001, first_name="Ann")
        await patient.send("/start")
    sends = broadcast_calls(standin, set(patients))
    assert len(sends) == 100 and all(call.params.get("allow_paid_broadcast") is True for call in sends)
    assert all(len(received(standin, user_id)) == 1 for user_id in patients)
    # Answers to patients are not paid broadcasts.
    assert all("allow_paid_broadcast" not in call.params for call in standin.calls_for(1001))
    assert standin.errors == []


async def test_without_the_paid_option_broadcasts_are_not_paid(standin, bot, services) -> None:
    patients = add_patients(standin, services.settings.database, [6801, 6802])
    staff = TelegramUser(standin, STAFF_ID, first_name="Dana")
    await compose(staff, NEWS)
    assert "Paid broadcast" not in staff.last.text
    await staff.click("Send to 2 patients")
    await staff.expect("finished")
    assert all("allow_paid_broadcast" not in call.params for call in broadcast_calls(standin, set(patients)))
