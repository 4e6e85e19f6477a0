"""The clinic's opening hours in the patient's language (`clinic.hours` per language code)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bot.check import run_checks
from bot.config import ConfigError, load_settings
from tests.client import TelegramUser
from tests.conftest import CONFIG

PER_LANGUAGE = '  hours:\n    en: "Mon-Fri 8:00-17:00"\n    es: "lunes a viernes, 8:00-17:00"\n'


def with_hours(hours_lines: str) -> str:
    return textwrap.dedent(CONFIG).replace('  hours: "Mon-Fri 8:00-17:00"\n', hours_lines)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "clinic.yaml"
    path.write_text(with_hours(PER_LANGUAGE), encoding="utf-8")
    return path


async def test_each_patient_reads_the_hours_in_their_language(standin, bot) -> None:
    ana = TelegramUser(standin, 2101, first_name="Ana", language_code="es-MX")
    ann = TelegramUser(standin, 2102, first_name="Ann", language_code="en")
    await ana.send("/contact")
    await ann.send("/contact")
    spanish = "\n".join(message.text for message in ana.messages)
    english = "\n".join(message.text for message in ann.messages)
    assert "lunes a viernes, 8:00-17:00" in spanish and "Mon-Fri" not in spanish
    assert "Mon-Fri 8:00-17:00" in english and "lunes" not in english


def test_hours_without_the_default_language_are_refused(tmp_path: Path, env) -> None:
    config = tmp_path / "only-es.yaml"
    config.write_text(with_hours('  hours:\n    es: "lunes a viernes"\n'), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"clinic\.hours gives hours per language but none for the default language 'en'"):
        load_settings({**env, "BOT_CONFIG": str(config)})


def test_check_warns_when_a_language_has_no_hours_of_its_own(tmp_path: Path, env) -> None:
    config = tmp_path / "one-text.yaml"
    config.write_text(with_hours('  hours: "Mon-Fri 8:00-17:00"\n'), encoding="utf-8")
    warnings = [str(problem) for problem in run_checks({"BOT_CONFIG": str(config)}) if problem.warning]
    assert any("clinic.hours has no text for es" in warning for warning in warnings), warnings
    config.write_text(with_hours(PER_LANGUAGE), encoding="utf-8")
    assert not any("clinic.hours" in str(problem) for problem in run_checks({"BOT_CONFIG": str(config)}))
