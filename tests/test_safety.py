"""The safety net: crisis messages get the numbers and the clinic's phone at once, anywhere."""

from __future__ import annotations

import logging

import pytest

from bot.config import CONTENT_DIR
from bot.content import load_content
from bot.safety import is_crisis
from tests.client import TelegramUser
from tests.conftest import STAFF_CHAT_ID

CONTENT, _ = load_content(CONTENT_DIR, {})
CRISIS = CONTENT.language("en").crisis


@pytest.mark.parametrize("text", CRISIS.examples)
def test_crisis_examples_are_caught(text: str) -> None:
    assert is_crisis(text, CRISIS.patterns)


@pytest.mark.parametrize("text", CRISIS.not_examples)
def test_everyday_pain_words_are_not_crisis(text: str) -> None:
    assert not is_crisis(text, CRISIS.patterns)


def test_curly_apostrophes_and_shouting_are_caught() -> None:
    assert is_crisis("I DON’T WANT TO LIVE ANYMORE", CRISIS.patterns)


def assert_crisis_answer(patient: TelegramUser, since: int) -> None:
    new = patient.messages[since:]
    text = "\n".join(message.text for message in new if message.kind == "text")
    assert "988" in text and "911" in text, text
    assert "+1 555 010 0199" in text
    cards = [message for message in new if message.kind == "contact"]
    assert cards and cards[0].contact["phone_number"] == "+1 555 010 0199"


@pytest.mark.parametrize(
    "text",
    [
        "I want to kill myself",
        "i keep thinking about suicide",
        "I’ve been hurting myself again",
        "I took too many pills",
        "Is this an emergency? I have chest pain after the infusion",
        "I had a seizure in the car",
    ],
)
async def test_a_crisis_message_gets_numbers_and_the_clinic(patient: TelegramUser, text: str) -> None:
    await patient.send("/start")
    before = len(patient.messages)
    await patient.send(text)
    assert_crisis_answer(patient, before)
    # The safety net answers alone: no "I can't read typed messages" on top of it.
    assert not any("typed" in message.text for message in patient.messages[before:])


async def test_crisis_mid_screening_and_the_screening_continues(patient: TelegramUser, services) -> None:
    await patient.send("/start")
    await patient.click("📋 Could TMS be right for me?")
    await patient.click("Start the questions")
    await patient.click("No")
    question = patient.last
    before = len(patient.messages)
    await patient.send("honestly I want to end it all")
    assert_crisis_answer(patient, before)
    # The questionnaire's buttons still work afterwards.
    await patient.click_on(question, "No")
    assert "Question 3 of" in patient.message(question.message_id).text


async def test_a_photo_caption_is_checked_too(patient: TelegramUser) -> None:
    before = len(patient.messages)
    await patient.send_photo(caption="I want to die")
    assert_crisis_answer(patient, before)


async def test_are_you_safe_buttons(patient: TelegramUser, standin) -> None:
    await patient.send("I can't take it anymore")
    reply = next(message for message in patient.messages if "Are you safe right now?" in message.text)
    assert reply.text.index("911") < reply.text.index("sorry"), "the numbers come first"
    assert "the clinic's team will be told" in reply.text  # no promise of secrecy
    await patient.click_on(reply, "I'm safe right now")
    assert "Thank you for telling me" in patient.last.text
    assert len(standin.chat_log(STAFF_CHAT_ID)) == 1
    # "I'm not safe" always reaches the staff at once, even right after the first alert.
    await patient.click_on(reply, "I'm not safe")
    assert any("Please call 911 now" in message.text for message in patient.messages)
    assert patient.messages[-1].kind == "contact"
    alerts = standin.chat_log(STAFF_CHAT_ID)
    assert len(alerts) == 2 and "not safe right now" in alerts[1].text


async def test_staff_get_a_short_alert_without_the_message(patient: TelegramUser, standin) -> None:
    await patient.send("I want to kill myself")
    alerts = await standin.wait_for(lambda: standin.chat_log(STAFF_CHAT_ID), timeout=5)
    assert len(alerts) == 1
    assert "Ann" in alerts[0].text
    assert "kill" not in alerts[0].text
    assert 'href="tg://user?id=1001"' in alerts[0].html
    # A second message soon after does not alert again (no alarm storm), but is answered.
    before = len(patient.messages)
    await patient.send("suicide")
    assert_crisis_answer(patient, before)
    assert len(standin.chat_log(STAFF_CHAT_ID)) == 1


async def test_the_message_text_is_never_logged(patient: TelegramUser, caplog) -> None:
    caplog.set_level(logging.INFO)  # the level the bot runs at
    await patient.send("I want to kill myself, my name is Zebulon")
    assert "Zebulon" not in caplog.text
    assert "crisis message answered" in caplog.text
