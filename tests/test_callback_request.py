"""Call-back requests: the patient's own phone, an optional time, staff told, marked handled."""

from __future__ import annotations

import asyncio

from bot.standin import BotApiStandIn, SentMessage
from tests.client import TelegramUser
from tests.conftest import STAFF_CHAT_ID, STAFF_ID
from tests.seed import bot_running, rows

ASK = "🔁 Ask the clinic to call me"
REMOVE_KEYBOARD = {"remove_keyboard": True}


async def ask_and_share(patient: TelegramUser, phone: str = "15557770002") -> None:
    await patient.send("/contact")
    await patient.click(ASK)
    await patient.share_contact(phone)
    assert "When is a good time to call?" in patient.last.text


async def tap(standin: BotApiStandIn, user_id: int, message: SentMessage, data: str) -> dict:
    """A tap on a message in any chat (here: the staff group); returns the bot's answer."""
    query_id = standin.push_callback(user_id, message.message_id, data, chat_id=message.chat_id)
    await standin.wait_for(lambda: query_id in standin.callback_answers, timeout=10, what="the tap's answer")
    return standin.callback_answers[query_id]


def requests(services) -> list:
    return rows(services.settings.database, "SELECT * FROM callback_requests ORDER BY id")


async def test_a_call_back_request_end_to_end(patient: TelegramUser, standin, services) -> None:
    staff = TelegramUser(standin, STAFF_ID, first_name="Dana")
    await staff.send("/start")
    await patient.send("/contact")
    await patient.click(ASK)
    explain = patient.last
    assert "your first name, your phone number" in explain.text
    [share], [cancel] = explain.reply_markup["keyboard"]
    assert share["request_contact"] is True and cancel["text"] == "✖ Cancel"

    await patient.share_contact("+1 555 777 0001", own=False)  # someone else's card
    assert "I can only pass on your own number" in patient.last.text
    assert patient.last.reply_markup["keyboard"][0][0]["request_contact"] is True
    assert requests(services)[0]["phone"] is None

    await patient.share_contact("15557770002")  # their own; Telegram leaves out the "+"
    assert patient.buttons(patient.last) == ["Skip", "✖ Cancel"]
    await patient.send("weekday mornings")
    confirmation, menu = patient.messages[-2:]
    assert "call you on +15557770002 (weekday mornings)" in confirmation.text
    assert confirmation.reply_markup == REMOVE_KEYBOARD
    assert "What would you like to know?" in menu.text

    notice = standin.chat_log(STAFF_CHAT_ID)[-1]
    assert "Call-back request #1" in notice.text
    assert "Name: Ann\nPhone: +15557770002\nGood time: weekday mornings" in notice.text
    # The name links to the patient's Telegram profile, so staff can also write to them.
    assert any(e["type"] == "text_link" and e["url"] == "tg://user?id=1001" for e in notice.entities)
    assert notice.button_labels == ["✅ Mark handled"]

    answer = await tap(standin, STAFF_ID, notice, "cbr:done:1")
    assert answer["text"] == "Marked handled. Thank you!"
    handled = await standin.wait_for(
        lambda: "Handled by Dana" in standin.sent_message(STAFF_CHAT_ID, notice.message_id).text and notice
    )
    assert handled.button_labels == [] and "Phone: +15557770002" in handled.text
    [request] = requests(services)
    assert (request["stage"], request["handled_by"]) == ("handled", STAFF_ID)
    [entry] = rows(services.settings.database, "SELECT * FROM audit_log")
    assert (entry["staff_id"], entry["action"], entry["subject"]) == (STAFF_ID, "callback_handled", 1)

    # A colleague's tap that was on its way: told who did it, nothing recorded twice.
    answer = await tap(standin, STAFF_ID, notice, "cbr:done:1")
    assert answer["text"] == "Already handled by Dana."
    assert len(rows(services.settings.database, "SELECT * FROM audit_log")) == 1


async def test_skip_and_one_open_request_at_a_time(patient: TelegramUser, standin, services) -> None:
    await ask_and_share(patient)
    await patient.send("Skip")  # the reply keyboard's Skip button sends its label
    assert "call you on +15557770002." in patient.messages[-2].text
    assert "Good time: not given" in standin.chat_log(STAFF_CHAT_ID)[-1].text
    notices = len(standin.chat_log(STAFF_CHAT_ID))
    await patient.send("/contact")
    await patient.click(ASK)
    assert "You already asked the clinic to call you on +15557770002" in patient.last.text
    assert len(standin.chat_log(STAFF_CHAT_ID)) == notices
    assert len(requests(services)) == 1


async def test_cancel_sends_nothing_and_removes_the_keyboard(patient: TelegramUser, standin, services) -> None:
    await patient.send("/contact")
    await patient.click(ASK)
    await patient.send("✖ Cancel")
    cancelled = patient.messages[-2]
    assert cancelled.text == "Okay, nothing was sent to the clinic." and cancelled.reply_markup == REMOVE_KEYBOARD
    assert requests(services) == []
    assert standin.chat_log(STAFF_CHAT_ID) == []
    await patient.send("hello")  # nothing is waited for any more: the usual pointer
    assert "can't answer typed questions" in patient.last.text


async def test_a_typed_number_is_not_taken(patient: TelegramUser, services) -> None:
    await patient.send("/contact")
    await patient.click(ASK)
    await patient.send("my number is 555 123 4567")
    assert "Please tap 📱 Share my phone number below" in patient.last.text
    assert patient.last.reply_markup["keyboard"][0][0]["request_contact"] is True
    assert requests(services)[0]["phone"] is None


async def test_a_contact_nobody_asked_for_is_not_kept(patient: TelegramUser, services) -> None:
    await patient.send("/start")
    await patient.share_contact("15557770002")
    assert "I haven't kept this one" in patient.last.text
    assert patient.last.reply_markup == REMOVE_KEYBOARD
    assert requests(services) == []


async def test_the_safety_net_answers_first_and_the_request_waits(patient: TelegramUser, standin, services) -> None:
    await ask_and_share(patient)
    await patient.send("I want to kill myself")
    assert any("988" in message.text for message in patient.messages[-3:])
    assert requests(services)[0]["stage"] == "time"
    await patient.send("evenings")
    assert "Good time: evenings" in standin.chat_log(STAFF_CHAT_ID)[-1].text


async def test_a_restart_in_the_middle_keeps_the_request(standin, services) -> None:
    async with bot_running(services):
        patient = TelegramUser(standin, 1001, first_name="Ann")
        await ask_and_share(patient)
    async with bot_running(services):
        await patient.send("after 3pm")
        assert "(after 3pm)" in patient.messages[-2].text
        assert "Good time: after 3pm" in standin.chat_log(STAFF_CHAT_ID)[-1].text
    assert standin.errors == []


async def test_a_request_left_unfinished_for_hours_is_not_sent_later(patient: TelegramUser, standin, services, clock) -> None:
    await ask_and_share(patient)
    clock.advance(hours=7)
    await patient.send("thanks for the info yesterday")
    assert "wasn't finished, so nothing was sent" in patient.messages[-2].text
    assert patient.messages[-2].reply_markup == REMOVE_KEYBOARD
    assert standin.chat_log(STAFF_CHAT_ID) == []
    assert requests(services) == []


async def test_without_a_staff_chat_each_staff_member_is_told(standin, services) -> None:
    never_started = 555000222
    async with bot_running(services, staff_chat_id=None, staff_ids=frozenset({STAFF_ID, never_started})):
        staff = TelegramUser(standin, STAFF_ID, first_name="Dana")
        await staff.send("/start")
        patient = TelegramUser(standin, 1001, first_name="Ann")
        await ask_and_share(patient)
        await patient.send("Skip")
        notice = await staff.expect("Call-back request #1")
        await staff.click_on(notice, "✅ Mark handled")
        assert "Handled by Dana" in staff.message(notice.message_id).text
    assert [call.chat_id for call in standin.forget_errors(status=400)] == [never_started]
    assert standin.errors == []


async def test_when_no_staff_can_be_reached_the_patient_is_told_to_call(standin, services) -> None:
    async with bot_running(services, staff_chat_id=None, staff_ids=frozenset({555000222})):
        patient = TelegramUser(standin, 1001, first_name="Ann")
        await ask_and_share(patient)
        await patient.send("Skip")
        assert "couldn't pass your request to the clinic just now" in patient.messages[-2].text
        assert "+1 555 010 0199" in patient.messages[-2].text
    assert requests(services) == []
    standin.forget_errors(status=400)


async def test_only_staff_can_mark_a_request_handled(patient: TelegramUser, standin, services) -> None:
    await ask_and_share(patient)
    await patient.send("Skip")
    notice = standin.chat_log(STAFF_CHAT_ID)[-1]
    answer = await tap(standin, 7777, notice, "cbr:done:1")  # in the staff group, not in staff_ids
    assert answer["text"] == "Only clinic staff listed in the bot's settings can mark requests handled."
    await asyncio.sleep(0.2)
    assert standin.sent_message(STAFF_CHAT_ID, notice.message_id).button_labels == ["✅ Mark handled"]
    assert requests(services)[0]["stage"] == "open"


async def test_moving_on_mid_request_drops_it_and_a_later_note_stays_a_note(patient: TelegramUser, standin, services) -> None:
    """A check-in note typed after leaving a call-back request half done must never reach
    the staff chat as 'a good time to call'."""
    await ask_and_share(patient)
    await patient.send("/checkin")
    assert any("was not finished, so nothing was sent" in message.text for message in patient.messages[-3:])
    await patient.click("✅ I agree, start my check-ins")
    await patient.click("7")
    for _ in range(3):
        await patient.click("Skip")
    await patient.click("✏️ Add a note")
    await patient.send("took 2 oxycodone, still bad")
    assert "Check-in saved" in patient.last.text
    assert rows(services.settings.database, "SELECT note FROM checkins")[0]["note"] == "took 2 oxycodone, still bad"
    assert requests(services) == []
    assert standin.chat_log(STAFF_CHAT_ID) == []


async def test_erasing_data_mid_request_leaves_no_wait_behind(patient: TelegramUser, services) -> None:
    await ask_and_share(patient)
    await patient.send("/delete")
    await patient.click("🗑 Yes, erase everything")
    await patient.send("/checkin")
    await patient.click("✅ I agree, start my check-ins")
    await patient.click("4")
    for _ in range(3):
        await patient.click("Skip")
    await patient.click("✏️ Add a note")
    await patient.send("a note after erasing")
    assert "Check-in saved" in patient.last.text
    assert rows(services.settings.database, "SELECT note FROM checkins")[0]["note"] == "a note after erasing"


async def test_erasing_data_withdraws_the_staff_chats_notice(patient: TelegramUser, standin, services) -> None:
    await ask_and_share(patient)
    await patient.send("weekday mornings")
    notice = standin.chat_log(STAFF_CHAT_ID)[-1]
    assert "15557770002" in notice.text
    await patient.send("/delete")
    await patient.click("🗑 Yes, erase everything")
    notice = standin.chat_log(STAFF_CHAT_ID)[-1]
    assert "15557770002" not in notice.text and "Ann" not in notice.text
    assert "withdrawn" in notice.text
