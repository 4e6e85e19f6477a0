"""Screening: never a clearance; every yes or not-sure routes to the clinic; nothing stored."""

from __future__ import annotations

import sqlite3

from bot.services import Services
from tests.client import TelegramUser


async def start_screening(patient: TelegramUser) -> None:
    await patient.send("/start")
    await patient.click("📋 Could TMS be right for me?")
    assert "not saved" in patient.last.text or "not stored" in patient.last.text
    await patient.click("Start the questions")


async def test_all_no_still_routes_to_the_clinic(patient: TelegramUser, services: Services) -> None:
    screening = services.content.language("en").screening
    await start_screening(patient)
    for number in range(1, len(screening.questions) + 1):
        assert f"Question {number} of {len(screening.questions)}" in patient.last.text
        await patient.click("No")
    result = patient.last.text
    assert "+1 555 010 0199" in result
    assert "clinic" in result.lower()
    assert "not saved" in result
    for question in screening.questions:
        assert question.label not in result


async def test_each_yes_is_listed_with_its_reason(patient: TelegramUser, services: Services) -> None:
    screening = services.content.language("en").screening
    await start_screening(patient)
    for _ in screening.questions:
        await patient.click("Yes")
    result = patient.last.text
    for question in screening.questions:
        assert question.label in result
    assert "+1 555 010 0199" in result


async def test_not_sure_counts_as_something_to_ask_and_previous_goes_back(patient: TelegramUser, services: Services) -> None:
    questions = services.content.language("en").screening.questions
    await start_screening(patient)
    await patient.click("Yes")
    await patient.click("◀ Previous")
    assert "Question 1 of" in patient.last.text
    await patient.click("Not sure")
    for _ in questions[1:]:
        await patient.click("No")
    result = patient.last.text
    assert questions[0].label in result
    assert all(question.label not in result for question in questions[1:])


async def test_the_result_offers_the_contact_card(patient: TelegramUser, services: Services, standin) -> None:
    await start_screening(patient)
    for _ in services.content.language("en").screening.questions:
        await patient.click("No")
    await patient.click("📞 Contact the clinic")
    card = next(message for message in reversed(patient.messages) if message.kind == "contact")
    assert card.contact["phone_number"] == "+1 555 010 0199"


async def test_answers_are_not_stored(patient: TelegramUser, services: Services) -> None:
    await start_screening(patient)
    await patient.click("Yes")
    await patient.click("No")
    database = sqlite3.connect(services.settings.database)
    tables = [row[0] for row in database.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        columns = [row[1] for row in database.execute(f"PRAGMA table_info({table})")]
        assert not any("answer" in column or "screen" in column for column in columns), (table, columns)
    database.close()


async def test_the_screening_deep_link(patient: TelegramUser) -> None:
    await patient.send("/start screening")
    assert "Start the questions" in patient.buttons()
