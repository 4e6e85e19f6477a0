"""When something breaks, the patient hears about it and the log says what, not what they wrote."""

from __future__ import annotations

import logging

from tests.client import TelegramUser


async def test_a_failed_answer_is_logged_and_the_patient_is_told(patient: TelegramUser, standin, caplog) -> None:
    caplog.set_level(logging.INFO)
    standin.inject("sendMessage", 500, "Internal Server Error: restart", times=1, chat_id=1001)
    await patient.send("/menu")
    await patient.expect("Sorry, something went wrong")
    assert "/menu" in patient.last.text
    assert "error while handling update" in caplog.text
