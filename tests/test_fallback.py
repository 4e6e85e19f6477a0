"""Everything else gets an answer: stray text, stickers, unknown commands, stale buttons."""

from __future__ import annotations

import asyncio

import pytest

from tests.client import TelegramUser

POINTER = "🏠 Main menu"


async def test_stray_text_gets_a_pointer_to_the_menu(patient: TelegramUser) -> None:
    await patient.send("hello? is anyone there")
    assert "buttons" in patient.last.text
    assert patient.buttons() == [POINTER]


@pytest.mark.parametrize("kind", ["sticker", "photo", "voice"])
async def test_media_gets_a_pointer(patient: TelegramUser, kind: str) -> None:
    await getattr(patient, f"send_{kind}")()
    assert patient.buttons() == [POINTER]
    assert "/contact" in patient.last.text


@pytest.mark.parametrize("command", ["/foo", "/broadcast hello everyone", "/stats", "/export"])
async def test_unknown_and_staff_commands_from_a_patient_get_the_same_answer(patient: TelegramUser, command: str) -> None:
    await patient.send(command)
    assert "I don't know that command" in patient.last.text


@pytest.mark.parametrize(
    "data",
    ["t:removed_topic", "p:tms:no_such_page:0", "garbage!!", "sc:yyyyyyyyyyyyyyyyyyyy", "x" * 64,
     "ci:s:1:7", "ci:i:1:t", "rm:t:2900", "ci:n:1:5", "", " ", "sos ", "SOS"],
)
async def test_stale_or_forged_buttons_are_answered_politely(patient: TelegramUser, data: str) -> None:
    await patient.send("/start")
    await patient.click_data(data)
    answer = patient.callback_answer()
    assert answer is not None
    assert "out of date" in answer.get("text", "")


async def test_a_page_that_got_shorter_shows_its_last_part(patient: TelegramUser, services) -> None:
    topic = services.content.language("en").topics["tms"]
    await patient.send("/start")
    await patient.click_data(f"p:tms:{topic.pages[0].id}:9")
    assert "General education, not medical advice" in patient.last.text
    assert patient.callback_answer() is not None


async def test_a_double_tap_is_answered_twice_without_an_error(patient: TelegramUser) -> None:
    await patient.send("/start")
    await patient.click("🧲 What is TMS?")
    menu = patient.last
    await patient.click_on(menu, "🏠 Main menu")
    await patient.click_data("menu", message_id=menu.message_id)  # the same screen again
    assert patient.unanswered_taps() == []


async def test_in_a_group_the_bot_says_once_it_works_in_private(standin, bot) -> None:
    group_id = -100777
    standin.group(group_id, "Pain support group")
    standin.push_my_chat_member({"id": group_id, "type": "supergroup", "title": "Pain support group"}, 2002, "left", "member")
    log = await standin.wait_for(lambda: standin.chat_log(group_id), timeout=5)
    assert "private" in log[0].text
    standin.push_group_text(group_id, 2002, "/start")
    standin.push_group_text(group_id, 2003, "does this bot work?")
    last = standin.last_update_id
    await standin.wait_for(lambda: standin.delivered(last), timeout=5)
    await asyncio.sleep(0.5)  # time to answer, if it (wrongly) would
    assert len(standin.chat_log(group_id)) == 1
