"""Nothing private in a group: whatever a member sends or taps, and the crisis reply there."""

from __future__ import annotations

from bot.standin import BotApiStandIn
from tests.client import ANSWER_TIMEOUT, TelegramUser, finished, wait_until
from tests.conftest import STAFF_CHAT_ID
from tests.seed import START, add_checkin, rows

GROUP_ID = -100777
MEMBER = 2002
PRIVATE_ONLY = "I only work in private chats"
TOAST = "I only work in private chats. Please message me directly."


async def handled(standin: BotApiStandIn) -> None:
    """Wait until the bot finished the update just pushed."""
    update_id = standin.last_update_id
    await wait_until(lambda: finished(update_id), ANSWER_TIMEOUT, f"the bot to handle update {update_id}")
    await wait_until(
        lambda: all(c.status is not None or c.cancelled for c in standin.calls_for(GROUP_ID)),
        ANSWER_TIMEOUT, "the bot's calls in the group",
    )


async def joined_patient(standin: BotApiStandIn, services) -> TelegramUser:
    """A patient who has joined the check-ins and has one saved, and is in the group too."""
    patient = TelegramUser(standin, MEMBER, first_name="Gail")
    await patient.send("/checkin")
    await patient.click("✅ I agree, start my check-ins")
    await patient.click("7")
    add_checkin(services.settings.database, MEMBER, START, pain=8, note="secret note")
    return patient


def group_texts(standin: BotApiStandIn) -> list[str]:
    return [message.text for message in standin.chat_log(GROUP_ID)]


async def test_commands_in_a_group_get_the_private_only_line_once(standin, bot, services) -> None:
    await joined_patient(standin, services)
    private_before = len(standin.chat_log(MEMBER))
    standin.group(GROUP_ID, "Pain support group")
    for text in ("/history", "/checkin", "/mydata", "/start", "/menu", "/reminders", "/delete", "hello bot"):
        standin.push_group_text(GROUP_ID, MEMBER, text)
        await handled(standin)
    texts = group_texts(standin)
    assert len(texts) == 1 and PRIVATE_ONLY in texts[0]
    # Nothing was sent to the patient's private chat either: a group command is not theirs.
    assert len(standin.chat_log(MEMBER)) == private_before


async def test_forged_taps_from_a_group_show_nothing_and_are_each_answered(standin, bot, services) -> None:
    await joined_patient(standin, services)
    standin.group(GROUP_ID, "Pain support group")
    standin.push_my_chat_member(GROUP_ID, MEMBER, "left", "member")  # added: the bot says hello
    await handled(standin)
    (hello,) = standin.chat_log(GROUP_ID)
    forged = ["hist", "ci:done:1", "ci:p:7", "ci", "ci:yes", "menu", "rm", "rm:t:0900", "del:yes", "safe:yes",
              "safe:no", "contact", "sc", "t:tms", "cbr:done:1", "bc:send:1", "stop:undo", "nonsense"]
    for data in forged:
        query_id = standin.push_callback(MEMBER, hello.message_id, data, chat_id=GROUP_ID)
        await handled(standin)
        assert standin.callback_answers.get(query_id, {}).get("text") == TOAST, data
    assert group_texts(standin) == [hello.text]
    assert standin.sent_message(GROUP_ID, hello.message_id).edit_count == 0
    # The patient's data is all still there: the forged delete did nothing.
    database = services.settings.database
    assert len(rows(database, "SELECT * FROM checkins WHERE user_id = ?", (MEMBER,))) == 2
    assert len(rows(database, "SELECT * FROM consents WHERE user_id = ?", (MEMBER,))) == 1


async def test_a_crisis_message_in_a_group_gets_the_numbers_and_a_private_link(standin, bot, services) -> None:
    standin.group(GROUP_ID, "Pain support group")
    standin.push_group_text(GROUP_ID, MEMBER, "i want to end it all")
    await handled(standin)
    (reply,) = standin.chat_log(GROUP_ID)  # no "private chats only" line on top of it
    # Every number of the private reply: emergency, call or text 988, chat, veterans, Spanish.
    for number in ("911", "988", "988lifeline.org", "838255", "marque 2"):
        assert number in reply.text, number
    assert "+1 555 010 0199" in reply.text
    assert "Are you safe" not in reply.text
    # One button, a link to the private chat; nothing that leads to a menu.
    assert reply.inline_keyboard == [[{"text": "💬 Talk to me privately", "url": "https://t.me/clinic_test_bot?start=help"}]]
    # The group's member is not alerted about to staff: only a patient's private message is.
    assert standin.chat_log(STAFF_CHAT_ID) == []
    # Later, ordinary group talk gets the private-only line once.
    standin.push_group_text(GROUP_ID, MEMBER, "thanks")
    await handled(standin)
    assert PRIVATE_ONLY in standin.chat_log(GROUP_ID)[-1].text


async def test_the_private_link_opens_help(patient: TelegramUser) -> None:
    await patient.send("/start help")
    assert "What I can do" in patient.last.text
    assert "out of date" not in patient.last.text
