"""When something breaks, the patient hears about it and the log says what, not what they wrote."""

from __future__ import annotations

import logging

from tests.client import TelegramUser


async def test_a_refused_answer_is_logged_and_the_patient_is_told(patient: TelegramUser, standin, caplog) -> None:
    caplog.set_level(logging.INFO)
    # A 400 is about the call itself: trying again would fail the same way.
    standin.inject("sendMessage", 400, "Bad Request: something is wrong", times=1, chat_id=1001)
    await patient.send("/menu")
    await patient.expect("Sorry, something went wrong")
    assert "/menu" in patient.last.text
    assert "error while handling update" in caplog.text


async def test_an_answer_lost_to_a_server_error_is_sent_again(patient: TelegramUser, standin, caplog) -> None:
    caplog.set_level(logging.INFO)
    # A 500 says only that Telegram had trouble: the update is handled again, and the
    # patient gets the menu they asked for, once, with no "sorry".
    standin.inject("sendMessage", 500, "Internal Server Error: restart", times=1, chat_id=1001)
    await patient.send("/menu")
    menus = [m for m in patient.messages if "Main menu" in m.text or m.buttons]
    assert len(menus) == 1
    assert not any("Sorry, something went wrong" in m.text for m in patient.messages)
    # Logged once as an outage (bot/logs.py), not per update.
    assert "Bot API unreachable (HTTP 500)" in caplog.text and "reachable again" in caplog.text
