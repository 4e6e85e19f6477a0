"""The log: patients only by their pseudonymous id, and an outage in two lines, no traceback."""

from __future__ import annotations

import logging
import sqlite3

import pytest

from bot.export import pseudonym
from tests.client import ANSWER_TIMEOUT, TelegramUser, wait_until

# A distinctive Telegram id, so that finding it in the log cannot be a coincidence.
PATIENT_ID = 731_904_266


def pseudonym_of(services, user_id: int) -> str:
    database = sqlite3.connect(services.settings.database)
    try:
        (key,) = database.execute("SELECT value FROM secrets WHERE name = 'export_pseudonym_key'").fetchone()
    finally:
        database.close()
    return pseudonym(key, user_id)


@pytest.fixture
def info_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """The log at the level `python -m bot` runs it (bot/logs.py: INFO)."""
    caplog.set_level(logging.INFO)
    return caplog


async def test_no_telegram_id_of_a_patient_in_the_log(standin, bot, services, info_log) -> None:
    patient = TelegramUser(standin, PATIENT_ID, first_name="Lee")
    await patient.send("/checkin")
    await patient.click("✅ I agree, start my check-ins")
    await patient.click("6")
    await patient.send("/mydata")
    await patient.send("I want to end it all")  # the crisis reply and the staff alert
    await patient.click("I'm not safe")
    # Blocked while the bot answers: the 403 marks the patient blocked.
    standin.block(PATIENT_ID)
    await patient.send("/menu", expect_answer=False)
    standin.forget_errors(status=403)
    standin.unblock(PATIENT_ID)
    await patient.send("/delete")
    await patient.click("🗑 Yes, erase everything")
    await patient.block_bot()

    text = info_log.text
    assert str(PATIENT_ID) not in text
    # The lines are still written, with the pseudonymous id /export uses.
    who = pseudonym_of(services, PATIENT_ID)
    for line in (f"patient {who} downloaded their data", f"patient {who} has blocked the bot",
                 f"patient {who} erased their data"):
        assert line in text, text


async def test_an_outage_is_one_line_and_its_end_another(standin, bot, patient: TelegramUser, info_log) -> None:
    await patient.send("/start")
    standin.inject("getUpdates", 500, "Internal Server Error", times=3)
    # A message ends the long poll in flight; the next three polls fail (PTB waits 1, 1.5
    # and 2.25 s between them), then the API is back.
    standin.push_text(patient.user_id, "/help")
    back = await wait_until(
        lambda: [r for r in info_log.records if "reachable again" in r.getMessage()],
        3 * ANSWER_TIMEOUT, "the log to say the Bot API is back",
    )
    down = [r for r in info_log.records if "Bot API unreachable" in r.getMessage()]
    assert len(down) == 1 and len(back) == 1
    assert down[0].levelno == back[0].levelno == logging.WARNING
    assert all(record.exc_info is None for record in info_log.records)
    assert "Traceback" not in info_log.text
    # And the bot answers as before.
    await patient.send("/menu")
    assert "What would you like to know?" in patient.last.text


async def test_an_answer_that_fails_for_a_moment_logs_no_traceback(standin, bot, patient: TelegramUser, info_log) -> None:
    await patient.send("/start")
    standin.inject("sendMessage", 502, "Bad Gateway", chat_id=patient.chat_id)
    await patient.send("/menu")  # handled again once the Bot API answers
    assert "What would you like to know?" in patient.last.text
    assert "Traceback" not in info_log.text
    assert [r.getMessage() for r in info_log.records if "unreachable" in r.getMessage()] == [
        "Bot API unreachable (HTTP 502); updates wait in the inbox until it is back"
    ]


def test_the_librarys_network_tracebacks_become_one_line() -> None:
    from telegram.error import NetworkError

    from bot.logs import LibraryNetworkErrorsInOneLine, RedactingFormatter

    def record(message: str) -> logging.LogRecord:
        try:
            raise NetworkError("httpx.ConnectError: All connection attempts failed")
        except NetworkError as error:
            return logging.LogRecord("telegram.ext.Updater", logging.ERROR, __file__, 1, message, None, (NetworkError, error, error.__traceback__))

    one_line = LibraryNetworkErrorsInOneLine()
    formatter = RedactingFormatter("%(levelname)s %(name)s: %(message)s", "123:secret")
    stopping = record("Error while calling `get_updates` one more time to mark all fetched updates.")
    assert one_line.filter(stopping)
    assert formatter.format(stopping) == (
        "ERROR telegram.ext.Updater: Error while calling `get_updates` one more time to mark all fetched updates. "
        "(NetworkError: httpx.ConnectError: All connection attempts failed)"
    )
    # At start-up the program says it in its own line: the library's is dropped.
    assert not one_line.filter(record("Network Retry Loop (Bootstrap Initialize Application): Failed run number 0 of 0. Aborting."))
