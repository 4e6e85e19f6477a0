"""Spanish screens on the shipped content/es: wording a fresh-clone trial found wrong."""

from __future__ import annotations

from tests.client import TelegramUser


async def test_the_language_screen_names_spanish_in_lowercase_inside_the_sentence(standin, bot) -> None:
    ana = TelegramUser(standin, 2201, first_name="Ana", language_code="es")
    await ana.send("/language")
    assert "Usted está leyendo en español." in ana.last.text
    assert ana.buttons()[:2] == ["English", "✓ Español"]  # on its button, capitalised
