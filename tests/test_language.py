"""A language per patient: taken from Telegram once, then the patient's own (/language).

The bot runs on the shipped English and a small Spanish sample (tests/spanish_sample.py),
so these tests do not depend on the real content/es/ being finished.
"""

from __future__ import annotations

import csv
import io
import sqlite3
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.check import placeholders_for
from bot.config import load_settings
from bot.content import has_errors, load_content
from bot.services import Services
from tests.client import TelegramUser
from tests.conftest import run_due_prompts
from tests.spanish_sample import make_content


@pytest.fixture
def content_dir(tmp_path):
    return make_content(tmp_path / "content")


@pytest.fixture
def services(env, clock, content_dir) -> Services:
    """The conftest's services, on English and the Spanish sample."""
    settings = load_settings(env)
    content, problems = load_content(content_dir, placeholders_for(settings))
    assert content is not None and not has_errors(problems), [str(problem) for problem in problems]
    assert set(content.languages) == {"en", "es"}
    return Services(settings=settings, content=content, clock=clock, tick_seconds=3600)


def stored_language(services, user_id: int) -> str:
    database = sqlite3.connect(services.settings.database)
    try:
        return database.execute("SELECT language FROM patients WHERE user_id = ?", (user_id,)).fetchone()[0]
    finally:
        database.close()


@pytest.mark.parametrize("code", ["es", "es-MX", "es-419"])
async def test_a_spanish_telegram_gets_spanish_and_it_is_stored(standin, bot, services, code) -> None:
    patient = TelegramUser(standin, 2001, first_name="Ana", language_code=code)
    await patient.send("/start")
    assert "¡Hola, Ana! Soy el asistente para pacientes" in patient.last.text
    assert "¿Qué le gustaría saber? Toque un botón." in patient.last.text
    assert stored_language(services, 2001) == "es"


async def test_a_language_without_content_falls_back_to_the_clinics(standin, bot, services) -> None:
    patient = TelegramUser(standin, 2002, first_name="Zoé", language_code="fr")
    await patient.send("/start")
    assert "Hello, Zoé! I'm the patient helper" in patient.last.text
    assert stored_language(services, 2002) == "en"


async def test_the_patients_choice_wins_over_telegrams_both_ways(standin, bot, services) -> None:
    patient = TelegramUser(standin, 2003, first_name="Ana", language_code="es-MX")
    await patient.send("/language")
    # Each language is named in itself; the current one is marked.
    assert patient.buttons()[:2] == ["English", "✓ Español"]
    await patient.click("English")
    assert "From now on I'll write to you in English." in patient.last.text
    assert "What would you like to know?" in patient.last.text
    assert stored_language(services, 2003) == "en"
    # Telegram still says es-MX; the stored choice wins from now on.
    await patient.send("/start")
    assert "Hello, Ana!" in patient.last.text
    # And back, from the button in /help.
    await patient.send("/help")
    await patient.click("🌐 Language")
    assert patient.buttons()[:2] == ["✓ English", "Español"]
    await patient.click("Español")
    assert "Desde ahora le escribo en español." in patient.last.text
    await patient.send("/menu")
    assert "¿Qué le gustaría saber?" in patient.last.text
    assert stored_language(services, 2003) == "es"


async def test_a_forged_language_is_out_of_date_not_an_error(standin, bot, services) -> None:
    patient = TelegramUser(standin, 2004, first_name="Ana", language_code="es")
    await patient.send("/language")
    await patient.click_data("lang:fr", patient.last.message_id)
    assert patient.callback_answer()["text"] == services.content.languages["es"].label("toast.out_of_date")
    assert stored_language(services, 2004) == "es"
    assert patient.unanswered_taps() == []


async def test_command_menu_and_descriptions_are_registered_per_language(standin, bot, services) -> None:
    spanish = {command["command"]: command["description"] for command in standin.commands_for(None, "es")}
    english = {command["command"]: command["description"] for command in standin.commands_for(None, "")}
    assert spanish["start"] == "Bienvenida y menú principal"
    assert spanish["language"] == "Elegir su idioma"
    assert english["language"] == "Choose your language"
    assert set(spanish) == set(english)
    assert standin.short_descriptions["es"].startswith("Guía en palabras sencillas:")


async def test_check_in_times_and_days_are_written_in_the_patients_language(standin, bot, services, clock) -> None:
    patient = TelegramUser(standin, 2005, first_name="Ana", language_code="es")
    await patient.send("/checkin")
    await patient.click("✅ I agree, start my check-ins")
    await patient.click("4")
    await patient.click("Finish")
    clock.advance(days=1)
    await patient.send("/checkin")
    await patient.click("6")
    await patient.click("Finish")
    summary = patient.last.text
    # The clock starts at 17:00 UTC, 09:00 in Los Angeles (the clinic's zone), a Saturday.
    assert "Registro guardado a las 09:00: dolor 6/10." in summary
    assert "La última vez (sáb 21 de nov, 09:00): 4/10." in summary
    assert "Su promedio de los últimos 7 días: 5,0/10 (2 registros)." in summary


async def test_the_daily_prompt_goes_out_in_each_recipients_language(standin, bot, services, clock) -> None:
    spanish = TelegramUser(standin, 2006, first_name="Ana", language_code="es-419")
    english = TelegramUser(standin, 2007, first_name="Ann", language_code="en-US")
    for person in (spanish, english):
        await person.send("/checkin")
        await person.click("✅ I agree, start my check-ins")
        await person.send("/reminders")
        await person.click("09:00")
    clock.advance(days=1)
    await run_due_prompts(bot)
    await spanish.expect("Es hora de su registro diario.")
    await english.expect("Time for your daily check-in.")
    assert not any("Time for your daily check-in." in m.text for m in spanish.messages)


async def test_mydata_headings_are_in_the_patients_language(standin, bot, services) -> None:
    patient = TelegramUser(standin, 2008, first_name="Ana", language_code="es")
    await patient.send("/checkin")
    await patient.click("✅ I agree, start my check-ins")
    await patient.click("4")
    await patient.send("/mydata")
    document = patient.last
    assert document.kind == "document"
    blocks = {}
    for block in document.file.decode("utf-8").strip().split("\r\n\r\n"):
        lines = list(csv.reader(io.StringIO(block)))
        blocks[lines[0][0]] = lines[1:]
    header = blocks["# registros de dolor"][0]
    assert "hora_local" in header and "dolor" in header
    assert "# patients" in blocks  # a table the sample leaves untranslated keeps its name


# -- pure: plurals, numbers, dates -----------------------------------------------------------


def test_plural_texts_follow_cldr_rules(services) -> None:
    english, spanish = services.content.languages["en"], services.content.languages["es"]
    assert "(1 check-in)." in english.text("checkin.week_average", average="5.0", count=1)
    assert "(3 check-ins)." in english.text("checkin.week_average", average="5.0", count=3)
    assert "(0 check-ins)." in english.text("checkin.week_average", average="5.0", count=0)
    assert "(1 registro)." in spanish.text("checkin.week_average", average="5,0", count=1)
    assert "(2 registros)." in spanish.text("checkin.week_average", average="5,0", count=2)
    assert english.label("broadcast.send_button", count=1) == "📤 Send to 1 patient"
    # The count itself is written as the language writes numbers.
    assert english.label("broadcast.send_button", count=12345) == "📤 Send to 12,345 patients"
    # A text whose count has another name says so (by: total).
    assert "to 1 patient (" in english.text("broadcast.progress", id=3, total=1, audience="x", sent=0, blocked=0, failed=0, pending=1)


def test_numbers_and_dates_come_from_babel(services) -> None:
    english, spanish = services.content.languages["en"], services.content.languages["es"]
    assert (english.number(4.5, 1), spanish.number(4.5, 1)) == ("4.5", "4,5")
    assert spanish.number(12345) == "12.345"
    assert spanish.date(date(2026, 11, 21)) == "21 de noviembre de 2026"
    assert english.date(date(2026, 11, 21)) == "2026-11-21"
    moment = datetime(2026, 11, 21, 17, 5)
    assert english.day_time(moment) == "Sat 21 Nov, 17:05"
    assert spanish.day_time(moment) == "sáb 21 de nov, 17:05"


def test_the_charts_days_are_named_in_the_patients_language(services) -> None:
    """The chart's day labels come from Babel in the patient's language, patterns from content."""
    from matplotlib.figure import Figure

    from bot.chart import chart_labels, draw_pain_chart
    from bot.painlog import Score

    scores = [Score(datetime(2026, 11, 21, 12, tzinfo=timezone.utc), 5)]

    def day_labels(code: str) -> list[str]:
        lang = services.content.languages[code]
        axes = Figure().add_subplot()
        draw_pain_chart(axes, scores, ZoneInfo("UTC"), chart_labels(lang, 7), first=date(2026, 11, 15),
                        last=date(2026, 11, 21), locale=code)
        return [label.get_text() for label in axes.get_xticklabels()]

    assert day_labels("en")[-1] == "Sat 21 Nov"
    assert day_labels("es")[-1] == "sáb 21 nov"


async def test_the_choice_survives_a_restart(standin, services) -> None:
    from tests.seed import bot_running

    patient = TelegramUser(standin, 2009, first_name="Ana", language_code="es-MX")
    async with bot_running(services):
        await patient.send("/language")
        await patient.click("English")
    async with bot_running(services):  # a new process: nothing in memory
        await patient.send("/start")
        assert "Hello, Ana!" in patient.last.text


async def test_the_safety_net_catches_a_crisis_in_any_language(standin, bot, services) -> None:
    # She reads English (her choice) but writes in Spanish; he reads Spanish and writes English.
    ana = TelegramUser(standin, 2010, first_name="Ana", language_code="es")
    await ana.send("/language")
    await ana.click("English")
    await ana.send("ya no puedo más, quiero morir")
    reply = await ana.expect("Are you safe right now?")
    assert "988" in reply.text and "911" in reply.text
    ben = TelegramUser(standin, 2011, first_name="Ben", language_code="es-MX")
    await ben.send("I want to die")
    # The sample's Spanish crisis reply is still the English text: the numbers are what count.
    reply = await ben.expect("Are you safe right now?")
    assert "988" in reply.text and "911" in reply.text
