"""Double taps: a second tap before the first edit arrives is answered once, shows the same
screen, and makes no Bot API call that Telegram would refuse ("message is not modified",
a second answer to one callback query)."""

from __future__ import annotations

from tests.client import ANSWER_TIMEOUT, TelegramUser, finished, wait_until
from tests.seed import rows


async def double_tap(patient: TelegramUser, label: str) -> list[str]:
    """Tap the button labelled `label` on the newest message twice, the second tap sent
    before the bot has handled the first (the app still shows the old message)."""
    standin = patient.standin
    message = patient._newest(lambda m: m.inline_keyboard)
    button = next(b for row in message.inline_keyboard for b in row if b["text"] == label)
    queries = [standin.push_callback(patient.user_id, message.message_id, button["callback_data"]) for _ in range(2)]
    last = standin.last_update_id
    await wait_until(lambda: finished(last) and finished(last - 1), ANSWER_TIMEOUT, f"both taps of {label!r}")
    await wait_until(patient._nothing_in_flight, ANSWER_TIMEOUT, "the bot's calls")
    return queries


def assert_answered_once_each(patient: TelegramUser, queries: list[str]) -> None:
    standin = patient.standin
    refused = [f"{c.method}: {c.description}" for c in standin.errors]
    assert refused == [], refused
    answers = [c for c in standin.calls if c.method == "answerCallbackQuery"]
    for query_id in queries:
        assert query_id in standin.callback_answers
        assert len([c for c in answers if str(c.params.get("callback_query_id")) == query_id]) == 1


async def test_a_double_tap_on_a_menu_button(patient: TelegramUser) -> None:
    await patient.send("/start")
    queries = await double_tap(patient, "🧲 What is TMS?")
    assert_answered_once_each(patient, queries)
    assert "TMS" in patient.last.text
    assert patient.last.edit_count == 1


async def test_a_double_tap_through_the_check_in(patient: TelegramUser, services) -> None:
    await patient.send("/checkin")
    assert_answered_once_each(patient, await double_tap(patient, "✅ I agree, start my check-ins"))
    assert_answered_once_each(patient, await double_tap(patient, "7"))
    assert_answered_once_each(patient, await double_tap(patient, "Skip"))
    assert_answered_once_each(patient, await double_tap(patient, "Finish"))
    assert "Check-in saved" in patient.last.text
    assert len(rows(services.settings.database, "SELECT * FROM checkins")) == 1  # saved once


async def test_a_double_tap_on_history_and_delete(patient: TelegramUser) -> None:
    await patient.send("/checkin")
    await patient.click("✅ I agree, start my check-ins")
    await patient.click("5")
    await patient.click("Finish")
    assert_answered_once_each(patient, await double_tap(patient, "📈 My history"))
    await patient.send("/delete")
    assert_answered_once_each(patient, await double_tap(patient, "🗑 Yes, erase everything"))


async def test_a_double_tap_on_a_reminder_time(patient: TelegramUser) -> None:
    await patient.send("/reminders")
    assert_answered_once_each(patient, await double_tap(patient, "✅ I agree, start my check-ins"))
    assert_answered_once_each(patient, await double_tap(patient, "09:00"))
    assert "every day at 09:00" in patient.last.text
