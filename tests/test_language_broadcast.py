"""Broadcasts per language: one text for everyone, or a version per language.

The bot runs on English and the Spanish sample (tests/spanish_sample.py).
"""

from __future__ import annotations

import pytest

from bot.check import placeholders_for
from bot.config import load_settings
from bot.content import has_errors, load_content
from bot.services import Services
from tests.client import TelegramUser
from tests.conftest import STAFF_ID
from tests.seed import rows
from tests.spanish_sample import make_content

ENGLISH = "The clinic is closed on Thursday for Thanksgiving."
SPANISH = "La clínica cierra el jueves por el Día de Acción de Gracias."
FOOTER_EN = "From Riverside Pain & TMS Clinic. To stop these updates, send /stop."
FOOTER_ES = "De Riverside Pain & TMS Clinic. Para no recibir más avisos, envíe /stop."


@pytest.fixture
def services(env, clock, tmp_path) -> Services:
    settings = load_settings(env)
    content, problems = load_content(make_content(tmp_path / "content"), placeholders_for(settings))
    assert content is not None and not has_errors(problems), [str(problem) for problem in problems]
    return Services(settings=settings, content=content, clock=clock, tick_seconds=3600)


async def patients_who_wrote(standin, languages: dict[int, str]) -> None:
    for user_id, code in languages.items():
        await TelegramUser(standin, user_id, first_name=f"P{user_id}", language_code=code).send("/start")


def broadcasts_received(standin, user_id: int) -> list[str]:
    return [message.text for message in standin.chat_log(user_id) if "/stop" in message.text and "Hello" not in message.text and "Hola" not in message.text]


async def test_each_patient_gets_the_version_in_their_language(standin, bot, services) -> None:
    await patients_who_wrote(standin, {3001: "es-MX", 3002: "es", 3003: "en-US", 3004: "fr"})
    staff = TelegramUser(standin, STAFF_ID, first_name="Dana")
    await staff.send("/broadcast")
    await staff.send(ENGLISH)
    assert "🌐 Add a version in Español" in staff.buttons()
    await staff.click("🌐 Add a version in Español")
    assert "Version in Español" in staff.last.text
    await staff.send(SPANISH)
    assert "Versions: English (for everyone else) and Español." in staff.last.text
    assert "🌐 Rewrite the version in Español" in staff.buttons()
    await staff.click("👥 All patients (4)")

    # The preview shows each version, as its patients get it, and how many get it.
    texts = [message.text for message in staff.messages[-6:-1]]
    assert texts[1] == "👇 English (and every language without its own version): 2 patients get this version."
    assert texts[2] == f"{ENGLISH}\n\n{FOOTER_EN}"
    assert texts[3] == "👇 Español: 2 patients get this version."
    assert texts[4] == f"{SPANISH}\n\n{FOOTER_ES}"
    assert "It goes to 4 patients" in staff.last.text

    await staff.click("📤 Send to 4 patients")
    report = await staff.expect("finished")
    assert "English: sent 2 of 2" in report.text
    assert "Español: sent 2 of 2" in report.text
    for spanish in (3001, 3002):
        assert broadcasts_received(standin, spanish) == [f"{SPANISH}\n\n{FOOTER_ES}"]
    for english in (3003, 3004):  # fr has no content: the default version
        assert broadcasts_received(standin, english) == [f"{ENGLISH}\n\n{FOOTER_EN}"]


async def test_one_text_for_everyone_still_reaches_spanish_patients_with_their_footer(standin, bot, services) -> None:
    await patients_who_wrote(standin, {3011: "es", 3012: "en"})
    staff = TelegramUser(standin, STAFF_ID, first_name="Dana")
    await staff.send("/broadcast")
    await staff.send(ENGLISH)
    await staff.click("👥 All patients (2)")
    # No versions: one preview, no headings.
    assert staff.messages[-2].text == f"{ENGLISH}\n\n{FOOTER_EN}"
    await staff.click("📤 Send to 2 patients")
    await staff.expect("finished")
    assert broadcasts_received(standin, 3011) == [f"{ENGLISH}\n\n{FOOTER_ES}"]
    assert broadcasts_received(standin, 3012) == [f"{ENGLISH}\n\n{FOOTER_EN}"]


async def test_a_version_button_for_a_language_no_longer_offered_is_answered(standin, bot, services) -> None:
    staff = TelegramUser(standin, STAFF_ID, first_name="Dana")
    await patients_who_wrote(standin, {3021: "es"})
    await staff.send("/broadcast")
    await staff.send(ENGLISH)
    (broadcast,) = rows(services.settings.database, "SELECT id FROM broadcasts")
    await staff.click_data(f"bc:ver:{broadcast['id']}:fr", staff.last.message_id)
    assert staff.callback_answer()["text"].startswith("That language is no longer offered.")
    (state,) = rows(services.settings.database, "SELECT state, composing_language FROM broadcasts")
    assert (state["state"], state["composing_language"]) == ("draft", None)
