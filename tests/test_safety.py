"""The safety net through the real bot: one message with every number, anywhere, at once.

The reading of messages is tested without Telegram in test_safety_detector.py; countries
and staff without a staff chat in test_safety_settings.py.
"""

from __future__ import annotations

import logging

import pytest

from bot.standin import SentMessage
from tests.client import TelegramUser
from tests.conftest import STAFF_CHAT_ID

CLINIC_PHONE = "+1 555 010 0199"
# Everything issue 9 asks of the first message, in the US (the test clinic's country).
EVERY_US_NUMBER = ("911", "emergency department", "988", "Text 988", "988lifeline.org", "press 1", "838255", "marque 2", CLINIC_PHONE, "Mon-Fri 8:00-17:00")


def full_replies(patient: TelegramUser, since: int = 0) -> list[SentMessage]:
    return [message for message in patient.messages[since:] if "Are you safe right now?" in message.text]


def assert_full_reply(patient: TelegramUser, since: int) -> SentMessage:
    """The first new message is the whole reply; the clinic's card follows."""
    new = patient.messages[since:]
    reply = new[0]
    for number in EVERY_US_NUMBER:
        assert number in reply.text, (number, reply.text)
    assert reply.text.index("911") < reply.text.index("988") < reply.text.index("sorry"), "numbers first, 911 first"
    assert reply.button_labels == ["I'm safe right now", "I'm not safe"]
    assert new[1].kind == "contact" and new[1].contact["phone_number"] == CLINIC_PHONE
    return reply


@pytest.mark.parametrize(
    "text",
    [
        "i want to kil myslef",
        "been thinking about suicide a lot",
        "I've been hurting myself again",
        "i took 30 of my tramadol",
        "my chest hurts and i feel faint after the infusion",
        "I had a seizure in the car",
        "goodbye everyone 💔",
    ],
)
async def test_a_crisis_message_gets_every_number_in_its_first_reply(patient: TelegramUser, text: str) -> None:
    await patient.send("/start")
    before = len(patient.messages)
    await patient.send(text)
    assert_full_reply(patient, before)
    # The safety net answers alone: no "I can't answer typed questions" on top of it.
    assert not any("typed" in message.text for message in patient.messages[before:])


async def test_an_everyday_pain_idiom_gets_no_crisis_reply(patient: TelegramUser) -> None:
    await patient.send("this pain is killing me")
    assert full_replies(patient) == []
    assert "typed questions" in patient.last.text


async def test_crisis_mid_screening_and_the_screening_continues(patient: TelegramUser) -> None:
    await patient.send("/start")
    await patient.click("📋 Could TMS be right for me?")
    await patient.click("Start the questions")
    await patient.click("No")
    question = patient.last
    before = len(patient.messages)
    await patient.send("honestly I want it all to be over")
    assert_full_reply(patient, before)
    await patient.click_on(question, "No")
    assert "Question 3 of" in patient.message(question.message_id).text


async def test_a_photo_caption_is_checked_too(patient: TelegramUser) -> None:
    await patient.send_photo(caption="I want to die")
    assert_full_reply(patient, 0)


async def test_are_you_safe_buttons(patient: TelegramUser, standin) -> None:
    await patient.send("I can't take it anymore")
    reply = full_replies(patient)[0]
    assert "the clinic's team will be told" in reply.text  # no promise of secrecy
    await patient.click_on(reply, "I'm safe right now")
    assert "Thank you for telling me" in patient.last.text
    assert "🆘 I need help now" in patient.last.button_labels
    # Alerts go out beside the patient's reply, not before it: wait for them.
    await standin.wait_for(lambda: len(standin.chat_log(STAFF_CHAT_ID)) == 1, timeout=5)
    # "I'm not safe" always reaches the staff at once, even right after the first alert.
    await patient.click_on(reply, "I'm not safe")
    not_safe = patient.messages[-2]
    assert "Please call 911 now" in not_safe.text and "text <b>988</b>" in not_safe.html
    assert patient.messages[-1].kind == "contact"
    await standin.wait_for(lambda: len(standin.chat_log(STAFF_CHAT_ID)) == 2, timeout=5)
    assert "not safe right now" in standin.chat_log(STAFF_CHAT_ID)[1].text


async def test_a_burst_gets_the_full_reply_once_then_the_numbers_alone(patient: TelegramUser, clock) -> None:
    texts = ["i want to die", "i mean it", "i cant do this anymore", "goodbye forever", "i took all my pills", "im going to jump"]
    await patient.send(texts[0])
    await patient.send(texts[1])  # not worrying on its own: the fallback answers it
    for text in texts[2:]:
        before = len(patient.messages)
        await patient.send(text)
        (short,) = patient.messages[before:]  # one message each, no contact card
        assert "911" in short.text and "988" in short.text and CLINIC_PHONE in short.text
        # Every option of the full reply, one line each: text, chat, veterans, Spanish.
        assert all(option in short.text for option in ("Text 988", "988lifeline.org", "838255", "Español: 988, marque 2"))
        assert "Are you safe" not in short.text
    assert len(full_replies(patient)) == 1
    assert sum(message.kind == "contact" for message in patient.messages) == 1
    # A minute later, the full reply again.
    clock.advance(seconds=61)
    before = len(patient.messages)
    await patient.send("i still want to die")
    assert_full_reply(patient, before)


async def test_sos_and_the_help_button_need_no_detection(patient: TelegramUser, standin) -> None:
    await patient.send("/sos")
    assert_full_reply(patient, 0)
    alerts = await standin.wait_for(lambda: standin.chat_log(STAFF_CHAT_ID), timeout=5)
    assert 'tapped "I need help now"' in alerts[0].text
    await patient.send("/start")
    assert "🆘 I need help now" in patient.last.button_labels
    before = len(patient.messages)
    await patient.click("🆘 I need help now")
    assert_full_reply(patient, before)  # always the full reply, even right after another
    await patient.send("/help")
    assert "/sos" in patient.last.text
    before = len(patient.messages)
    await patient.click("🆘 I need help now")
    assert_full_reply(patient, before)
    assert patient.unanswered_taps() == []


async def test_sos_is_in_the_command_menu(patient: TelegramUser, standin) -> None:
    commands = [command["command"] for command in standin.commands_for()]
    assert "sos" in commands


async def test_sos_while_a_check_in_note_is_awaited(patient: TelegramUser, services) -> None:
    await patient.send("/checkin")
    await patient.click("✅ I agree, start my check-ins")
    await patient.click("6")
    for _ in range(3):
        await patient.click("Skip")
    await patient.click("✏️ Add a note")
    before = len(patient.messages)
    await patient.send("/sos")
    assert_full_reply(patient, before)


async def test_staff_get_a_short_alert_without_the_message(patient: TelegramUser, standin) -> None:
    await patient.send("I want to kill myself, Zebulon")
    alerts = await standin.wait_for(lambda: standin.chat_log(STAFF_CHAT_ID), timeout=5)
    assert len(alerts) == 1
    assert "Ann" in alerts[0].text
    assert "kill" not in alerts[0].text and "Zebulon" not in alerts[0].text
    assert 'href="tg://user?id=1001"' in alerts[0].html
    # A second message soon after does not alert again (no alarm storm), but is answered.
    before = len(patient.messages)
    await patient.send("suicide")
    assert "988" in patient.messages[before].text
    assert len(standin.chat_log(STAFF_CHAT_ID)) == 1


async def test_no_message_text_and_no_telegram_id_in_the_log(patient: TelegramUser, caplog) -> None:
    caplog.set_level(logging.INFO)  # the level the bot runs at
    await patient.send("I want to kill myself, my name is Zebulon")
    await patient.click("I'm not safe")
    assert "crisis reply sent" in caplog.text
    safety_lines = [record.getMessage() for record in caplog.records if record.name == "bot.safety"]
    assert safety_lines
    for line in safety_lines:
        assert "Zebulon" not in line and "1001" not in line


async def test_check_in_with_low_mood_ends_with_a_kind_line_and_the_help_button(patient: TelegramUser) -> None:
    await patient.send("/checkin")
    await patient.click("✅ I agree, start my check-ins")
    await patient.click("5")
    await patient.click("Skip")  # interference
    await patient.click("Skip")  # sleep
    await patient.click("😞 Low")
    await patient.click("Finish")
    summary = patient.last if patient.last.kind == "text" else patient.messages[-2]
    assert "That sounds like a hard day" in summary.text
    assert "🆘 I need help now" in summary.button_labels
    assert full_replies(patient) == []  # not an alarm


async def test_check_in_with_pain_9_ends_with_the_help_button_and_a_good_one_does_not(patient: TelegramUser) -> None:
    await patient.send("/checkin")
    await patient.click("✅ I agree, start my check-ins")
    await patient.click("9")
    await patient.click("Finish")
    summary = next(message for message in reversed(patient.messages) if "That sounds like a hard day" in message.text)
    assert "🆘 I need help now" in summary.button_labels
    await patient.send("/checkin")
    await patient.click("3")
    await patient.click("Finish")
    latest = next(message for message in reversed(patient.messages) if message.kind == "text")
    assert "hard day" not in latest.text and "🆘 I need help now" not in latest.button_labels
