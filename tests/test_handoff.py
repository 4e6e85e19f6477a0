"""Hand-off: the clinic's phone as a contact card, with the hours, at any moment."""

from __future__ import annotations

from tests.client import TelegramUser


async def test_contact_command_sends_the_card_and_hours(patient: TelegramUser) -> None:
    await patient.send("/contact")
    card = next(message for message in patient.messages if message.kind == "contact")
    assert card.contact["phone_number"] == "+1 555 010 0199"
    assert card.contact["first_name"] == "Riverside Pain & TMS Clinic"
    assert "Mon-Fri 8:00-17:00" in patient.last.text


async def test_contact_button_from_the_menu(patient: TelegramUser) -> None:
    await patient.send("/start")
    await patient.click("📞 Contact the clinic")
    assert any(message.kind == "contact" for message in patient.messages)
    assert "+1 555 010 0199" in patient.last.text


async def test_contact_deep_link(patient: TelegramUser) -> None:
    await patient.send("/start contact")
    assert any(message.kind == "contact" for message in patient.messages)
