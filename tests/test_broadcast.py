"""/broadcast: compose, choose the audience, preview exactly as patients see it, send.

Delivery is checked in the stand-in's chat logs: who got what, how many times, and when.
"""

from __future__ import annotations

import asyncio

from bot.standin import BotApiStandIn
from tests.client import TelegramUser
from tests.conftest import STAFF_CHAT_ID, STAFF_ID
from tests.seed import add_patients, bot_running, rows

FOOTER = "From Riverside Pain & TMS Clinic. To stop these updates, send /stop."
NEWS = "Our phones are down today & tomorrow <until 5pm>. Please message us here instead."


def received(standin: BotApiStandIn, user_id: int) -> list:
    return standin.chat_log(user_id)


def broadcast_calls(standin: BotApiStandIn, user_ids: set[int]) -> list:
    return [c for c in standin.calls if c.method in ("sendMessage", "sendPhoto") and c.chat_id in user_ids]


def delivered(standin: BotApiStandIn, user_ids: list[int]) -> int:
    return sum(len(received(standin, user_id)) for user_id in user_ids)


async def send_to_new_patients(standin: BotApiStandIn, services, user_ids: range) -> tuple[TelegramUser, list[int]]:
    """With the bot running: these patients, and a broadcast to all of them sent."""
    patients = add_patients(standin, services.settings.database, user_ids)
    staff = TelegramUser(standin, STAFF_ID, first_name="Dana")
    await compose(staff, NEWS)
    await staff.click(f"Send to {len(patients)} patients")
    return staff, patients


async def compose(staff: TelegramUser, text: str, audience: str = "All patients") -> None:
    await staff.send("/broadcast")
    assert "Send me the message for patients" in staff.last.text
    await staff.send(text)
    assert "Who should get it?" in staff.last.text
    await staff.click(audience)


async def test_a_text_broadcast_reaches_patients_exactly_as_previewed(standin, bot, services) -> None:
    database = services.settings.database
    staff = TelegramUser(standin, STAFF_ID, first_name="Dana")
    await staff.send("/start")  # staff are recorded like anyone who writes; they get no broadcast
    patients = add_patients(standin, database, [2001, 2002])
    opted_out = add_patients(standin, database, [2003], opted_out=True)
    standin.group(-100555, "Pain support group")  # the bot is in a group: never broadcast to
    await compose(staff, NEWS)
    preview, confirm = staff.messages[-2], staff.messages[-1]
    assert preview.text == f"{NEWS}\n\n{FOOTER}"
    assert "It goes to 2 patients (all patients)" in confirm.text
    await staff.click("Send to 2 patients")
    report = await staff.expect("finished")
    assert "Sent: 2\nBlocked the bot: 0\nFailed: 0" in report.text

    for user_id in patients:
        [message] = received(standin, user_id)
        assert (message.text, message.entities) == (preview.text, preview.entities)
    for nobody in (*opted_out, STAFF_CHAT_ID, -100555):
        assert received(standin, nobody) == []
    assert [m.text for m in staff.messages].count(preview.text) == 1  # the preview only
    [entry] = rows(database, "SELECT * FROM audit_log")
    assert (entry["staff_id"], entry["action"], entry["amount"]) == (STAFF_ID, "broadcast_sent", 2)

    # A patient who answers the broadcast gets the usual pointer to the menu.
    reply = TelegramUser(standin, patients[0], first_name="Pat")
    await reply.send("Thanks, see you Monday")
    assert "can't answer typed questions" in reply.last.text and reply.buttons() == ["🏠 Main menu"]


async def test_a_photo_with_a_caption_goes_out_as_a_photo(standin, bot, services) -> None:
    [patient] = add_patients(standin, services.settings.database, [2001])
    staff = TelegramUser(standin, STAFF_ID, first_name="Dana")
    await staff.send("/broadcast")
    await staff.send_photo(caption="Our new waiting room")
    await staff.click("All patients")
    preview = staff.messages[-2]
    assert preview.kind == "photo" and preview.text == f"Our new waiting room\n\n{FOOTER}"
    await staff.click("Send to 1 patient")  # CLDR plural: never "1 patients"
    await staff.expect("finished")
    [message] = received(standin, patient)
    assert (message.kind, message.text, message.file_id) == ("photo", preview.text, preview.file_id)


async def test_the_check_in_audience_is_only_patients_who_consented(standin, bot, services) -> None:
    database = services.settings.database
    in_programme = add_patients(standin, database, [2001, 2002], consented=True)
    others = add_patients(standin, database, [2003, 2004, 2005])
    staff = TelegramUser(standin, STAFF_ID, first_name="Dana")
    await staff.send("/broadcast")
    await staff.send("Reminder: fill in today's check-in.")
    assert "👥 All patients (5)" in staff.buttons() and "📈 Check-in program (2)" in staff.buttons()
    await staff.click("Check-in program")
    assert "It goes to 2 patients (check-in program)" in staff.last.text
    await staff.click("Send to 2 patients")
    await staff.expect("finished")
    assert all(len(received(standin, user_id)) == 1 for user_id in in_programme)
    assert all(received(standin, user_id) == [] for user_id in others)


async def test_fifty_patients_five_blocked_429s_and_a_restart_halfway(standin, services) -> None:
    """Every patient who did not block the bot gets the message exactly once, though
    Telegram says "too many requests" three times and the bot is restarted halfway."""
    database = services.settings.database
    async with bot_running(services):
        patients = add_patients(standin, database, range(3001, 3051))
        blocked = patients[::10]
        for user_id in blocked:
            standin.block(user_id)  # Telegram knows; the bot will learn it from a 403
        staff = TelegramUser(standin, STAFF_ID, first_name="Dana")
        await compose(staff, NEWS)
        standin.inject("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1, times=3)
        await staff.click("Send to 50 patients")
        await standin.wait_for(lambda: len(broadcast_calls(standin, set(patients))) >= 20, timeout=20)
    delivered_before_restart = delivered(standin, patients)
    assert 15 <= delivered_before_restart < 45, delivered_before_restart

    async with bot_running(services):
        standin.inject("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1, times=2)
        report = await TelegramUser(standin, STAFF_ID).expect("finished", timeout=30)

    for user_id in patients:
        expected = 0 if user_id in blocked else 1
        assert len(received(standin, user_id)) == expected, user_id
    assert "Sent: 45\nBlocked the bot: 5\nFailed: 0" in report.text
    assert [row["user_id"] for row in rows(database, "SELECT user_id FROM patients WHERE blocked = 1")] == blocked
    states = rows(database, "SELECT state, count(*) AS n FROM outbox GROUP BY state ORDER BY state")
    assert [(row["state"], row["n"]) for row in states] == [("blocked", 5), ("sent", 45)]

    sends = sorted(broadcast_calls(standin, set(patients)), key=lambda call: call.time)
    # Each "retry after 1" was honoured: nothing was started in the second after it. (A
    # send already on its way may arrive just after it; the window is a few sends at most.)
    for refused in [call for call in sends if call.status == 429]:
        within = [call for call in sends if refused.time < call.time < refused.time + 1.0]
        assert all(call.time - refused.time < 0.1 for call in within), refused
    assert sum(call.status == 429 for call in sends) == 5
    # Each refused patient was tried again first, before anyone new.
    for index, call in enumerate(sends):
        if call.status == 429:
            assert sends[index + 1].chat_id == call.chat_id or sends[index + 1].status == 429
    # Paced at 29 a second (the default), in the one budget of 30: the bot starts its sends at
    # least 1/29 s apart; their arrival here may jitter one request into the next second,
    # never over the stand-in's limit of 30 (a 429 of its own would be in standin.errors).
    times = [call.time for call in sends]
    assert max(sum(1 for t in times if start <= t < start + 1.0) for start in times) <= 30
    standin.forget_errors(status=403)  # the five blocked patients, as Telegram answers
    assert standin.errors == []


async def test_stop_on_the_progress_message_stops_delivery(standin, services) -> None:
    async with bot_running(services, broadcast_rate=4.0):
        staff, patients = await send_to_new_patients(standin, services, range(4001, 4031))
        progress = staff.last
        await standin.wait_for(lambda: len(broadcast_calls(standin, set(patients))) >= 3, timeout=10)
        await staff.click_on(progress, "⏹ Stop sending")
        stopped_at = len(broadcast_calls(standin, set(patients)))
        report = await staff.expect("stopped")
        await asyncio.sleep(1.0)  # four more would have gone out by now
        sent = delivered(standin, patients)
        assert sent <= stopped_at + 1  # at most the message in flight
        assert f"Sent: {sent}\n" in report.text
        assert f"Not sent: {30 - sent}" in report.text
        assert "Stop sending" not in " ".join(staff.buttons(staff.message(progress.message_id)))
        # Stop again on the old progress message: said plainly, nothing else happens.
        await staff.click_data("bc:stop:1", message_id=progress.message_id)
        assert staff.callback_answer()["text"] == "This broadcast has already finished."
    actions = [row["action"] for row in rows(services.settings.database, "SELECT action FROM audit_log ORDER BY id")]
    assert actions == ["broadcast_sent", "broadcast_cancelled"]
    assert standin.errors == []


async def test_broadcast_cancel_stops_a_broadcast_being_sent(standin, services) -> None:
    async with bot_running(services, broadcast_rate=4.0):
        staff, patients = await send_to_new_patients(standin, services, range(4001, 4021))
        await standin.wait_for(lambda: len(broadcast_calls(standin, set(patients))) >= 2, timeout=10)
        await staff.send("/broadcast cancel")
        await staff.expect("Stopping broadcast #1. The report follows.")
        await staff.expect("Broadcast #1 stopped")
        sent = delivered(standin, patients)
        await asyncio.sleep(1.0)
        assert delivered(standin, patients) == sent < 20
    assert standin.errors == []


async def test_stale_and_forged_buttons_are_answered_once_and_send_nothing_twice(standin, bot, services) -> None:
    [patient] = add_patients(standin, services.settings.database, [2001])
    staff = TelegramUser(standin, STAFF_ID, first_name="Dana")
    await compose(staff, NEWS)
    confirm = staff.last
    await staff.click("Send to 1 patient")  # CLDR plural: never "1 patients"
    await staff.expect("finished")
    await staff.click_data("bc:send:1", message_id=confirm.message_id)  # Send again
    assert staff.callback_answer()["text"] == "This broadcast was already sent."
    await staff.click_data("bc:drop:1", message_id=confirm.message_id)  # Cancel after sending
    assert staff.callback_answer()["text"] == "This broadcast was already sent."
    await staff.click_data("bc:aud:1:checkin", message_id=confirm.message_id)
    assert staff.callback_answer()["text"] == "This broadcast was already sent."
    await staff.click_data("bc:send:999", message_id=confirm.message_id)  # never existed
    assert "out of date" in staff.callback_answer()["text"]
    assert len(received(standin, patient)) == 1
    assert staff.unanswered_taps() == []


async def test_a_discarded_draft_cannot_be_sent(standin, bot, services) -> None:
    [patient] = add_patients(standin, services.settings.database, [2001])
    staff = TelegramUser(standin, STAFF_ID, first_name="Dana")
    await compose(staff, NEWS)
    confirm = staff.last
    await staff.click("✖ Cancel")
    assert staff.last.text == "Discarded. Nothing was sent."
    await staff.click_data("bc:send:1", message_id=confirm.message_id)
    assert "discarded" in staff.callback_answer()["text"]
    await asyncio.sleep(0.3)
    assert received(standin, patient) == []


async def test_what_cannot_be_broadcast_is_said_and_the_draft_waits(standin, bot, services) -> None:
    add_patients(standin, services.settings.database, [2001])
    staff = TelegramUser(standin, STAFF_ID, first_name="Dana")
    await staff.send("/broadcast")
    await staff.send_sticker()
    assert "a text, or one photo with a caption" in staff.last.text
    await staff.send("x" * 4050)
    assert "Telegram allows 4096" in staff.last.text
    await staff.send(NEWS)  # still composing: this one is taken
    assert "Who should get it?" in staff.last.text


async def test_the_message_can_follow_the_command(standin, bot, services) -> None:
    add_patients(standin, services.settings.database, [2001])
    staff = TelegramUser(standin, STAFF_ID, first_name="Dana")
    await staff.send(f"/broadcast {NEWS}")
    assert "Who should get it?" in staff.last.text
    await staff.click("All patients")
    assert staff.messages[-2].text == f"{NEWS}\n\n{FOOTER}"


async def test_a_new_broadcast_sets_the_unsent_draft_aside_and_cancel_discards(standin, bot, services) -> None:
    staff = TelegramUser(standin, STAFF_ID, first_name="Dana")
    await staff.send("/broadcast")
    await staff.send("/broadcast")
    assert "Your unsent draft was set aside" in staff.last.text
    await staff.send("/broadcast cancel")
    assert staff.last.text == "Your unsent broadcast was discarded."
    await staff.send("/broadcast cancel")
    assert staff.last.text == "There's no broadcast to cancel."
    await staff.send("Just saying hi")  # no longer composing: the fallback answers
    assert "can't answer typed questions" in staff.last.text


async def test_passing_failures_are_retried_and_refusals_counted_as_failed(standin, bot, services) -> None:
    add_patients(standin, services.settings.database, [2001, 2002, 2003])
    staff = TelegramUser(standin, STAFF_ID, first_name="Dana")
    await compose(staff, NEWS)
    standin.inject("sendMessage", 502, "Bad Gateway", times=2, chat_id=2001)
    standin.inject("sendMessage", 400, "Bad Request: chat not found", chat_id=2002)
    await staff.click("Send to 3 patients")
    report = await staff.expect("finished", timeout=15)
    assert "Sent: 2\nBlocked the bot: 0\nFailed: 1" in report.text
    assert len(received(standin, 2001)) == 1  # third time lucky, after 1 s and 2 s
    assert received(standin, 2002) == []
    assert len(received(standin, 2003)) == 1
    attempts = [c for c in standin.calls if c.method == "sendMessage" and c.chat_id == 2001]
    assert [c.status for c in attempts] == [502, 502, 200]
    assert attempts[1].time - attempts[0].time >= 1.0 and attempts[2].time - attempts[1].time >= 2.0


async def test_the_progress_message_is_updated_every_few_seconds(standin, services) -> None:
    async with bot_running(services, broadcast_rate=5.0):
        staff, patients = await send_to_new_patients(standin, services, range(5001, 5036))
        progress = staff.last
        assert "Sent 0 · blocked 0 · failed 0 · still to send 35" in progress.text
        await staff.expect("finished", timeout=20)
    edits = [c for c in standin.calls if c.method == "editMessageText" and c.params.get("message_id") == progress.message_id]
    # Send turned it into the progress message, the worker updated it mid-way, and the
    # report replaced it at the end; never more often than every 3 seconds in between.
    mid_way = edits[1:-1]
    assert mid_way and all("still to send" in c.params["text"] for c in mid_way)
    # (Decided 3 s apart in the bot; their arrival here may differ by a few ms.)
    assert all(b.time - a.time >= 2.9 for a, b in zip(mid_way, mid_way[1:]))
    assert "is over; the report is below" in staff.message(progress.message_id).text
    assert staff.buttons(staff.message(progress.message_id)) == []
    assert delivered(standin, patients) == 35


async def test_a_broadcast_that_mentions_988_is_not_taken_for_a_crisis(standin, bot, services) -> None:
    add_patients(standin, services.settings.database, [2001])
    staff = TelegramUser(standin, STAFF_ID, first_name="Dana")
    text = "Reminder: if you have thoughts of suicide, call or text 988 at any time."
    await compose(staff, text)
    assert staff.messages[-2].text.startswith(text)  # the preview: the draft got the text
    assert not any("Are you safe right now?" in message.text for message in staff.messages)
    assert standin.chat_log(STAFF_CHAT_ID) == []  # no safety alert about a staff member
