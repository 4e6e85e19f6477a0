"""The safety net's settings: numbers per country (crisis.country), and alerts that reach a
person when the clinic has no staff chat."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bot.app import build_application
from bot.check import placeholders_for, run_checks
from bot.config import ConfigError, crisis_presets, load_settings
from bot.content import load_content
from bot.services import Services
from tests.client import TelegramUser, running_bot
from tests.conftest import TOKEN

REPO = Path(__file__).resolve().parent.parent
STAFF_A, STAFF_B = 555000111, 555000333


def config(tmp_path: Path, crisis: str = "", staff: str = "staff_ids: [555000111]\nstaff_chat_id: null") -> dict[str, str]:
    path = tmp_path / "clinic.yaml"
    path.write_text(
        textwrap.dedent(
            """
            clinic:
              name: Riverside Pain & TMS Clinic
              phone: "+1 555 010 0199"
              hours: "Mon-Fri 8:00-17:00"
              timezone: America/Los_Angeles
            """
        )
        + crisis
        + "\n"
        + staff
        + "\n",
        encoding="utf-8",
    )
    return {"BOT_CONFIG": str(path), "BOT_DATABASE": str(tmp_path / "bot.sqlite3"), "TELEGRAM_BOT_TOKEN": TOKEN}


def crisis_for(tmp_path: Path, crisis: str):
    return load_settings(config(tmp_path, crisis)).crisis


def test_the_us_is_the_default(tmp_path: Path) -> None:
    crisis = crisis_for(tmp_path, "")
    assert (crisis.country, crisis.emergency_number, crisis.crisis_line, crisis.crisis_text) == ("US", "911", "988", "988")
    assert (crisis.crisis_chat, crisis.veterans_press, crisis.veterans_text, crisis.spanish_press) == ("988lifeline.org", "1", "838255", "2")


@pytest.mark.parametrize(
    ("country", "emergency", "line", "text"),
    [("CA", "911", "9-8-8", "9-8-8"), ("UK", "999", "116 123", None), ("gb", "999", "116 123", None), ("AU", "000", "13 11 14", None)],
)
def test_a_country_picks_its_numbers_from_the_brief(tmp_path: Path, country: str, emergency: str, line: str, text: str | None) -> None:
    crisis = crisis_for(tmp_path, f"crisis:\n  country: {country}\n")
    assert (crisis.emergency_number, crisis.crisis_line, crisis.crisis_text) == (emergency, line, text)
    assert crisis.veterans_text is None and crisis.spanish_press is None  # 988's menu is US only


@pytest.mark.parametrize("country", ["EU", "IE"])
def test_the_eu_has_112_but_no_crisis_line_in_the_brief(tmp_path: Path, country: str) -> None:
    with pytest.raises(ConfigError, match=rf"crisis\.crisis_line is needed: the {country} preset has no verified number"):
        crisis_for(tmp_path, f"crisis:\n  country: {country}\n")
    crisis = crisis_for(tmp_path, f'crisis:\n  country: {country}\n  crisis_line: "116 123"\n  crisis_line_name: "Samaritans"\n')
    assert (crisis.emergency_number, crisis.crisis_line) == ("112", "116 123")


def test_new_zealand_needs_its_numbers_set_by_the_clinic(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"crisis\.emergency_number is needed: the NZ preset"):
        crisis_for(tmp_path, "crisis:\n  country: NZ\n")


def test_explicit_numbers_override_the_preset(tmp_path: Path) -> None:
    crisis = crisis_for(tmp_path, 'crisis:\n  country: UK\n  emergency_number: "112"\n  crisis_text: "85258"\n')
    assert (crisis.emergency_number, crisis.crisis_line, crisis.crisis_text) == ("112", "116 123", "85258")
    assert crisis_for(tmp_path, "crisis:\n  crisis_text: null\n").crisis_text is None


def test_an_unknown_country_stops_check_and_start_with_one_line(tmp_path: Path) -> None:
    env = config(tmp_path, "crisis:\n  country: XX\n")
    with pytest.raises(ConfigError, match=r"crisis\.country 'XX' is not a known country \(known: US, CA, UK, AU, EU, IE, NZ\)"):
        load_settings(env)
    assert any("crisis.country 'XX'" in str(problem) and not problem.warning for problem in run_checks(env))
    result = subprocess.run([sys.executable, "-m", "bot"], env={**env, "PATH": ""}, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "crisis.country" in result.stderr and "Traceback" not in result.stderr


def test_every_preset_names_its_sources() -> None:
    for code, preset in crisis_presets().items():
        assert preset["name"] and isinstance(preset["sources"], list), code
        if preset.get("crisis_line"):
            assert preset["sources"], f"{code} gives numbers without a source"


def test_check_warns_when_alerts_reach_no_one(tmp_path: Path) -> None:
    env = config(tmp_path, staff="staff_ids: []\nstaff_chat_id: null")
    warnings = [str(problem) for problem in run_checks(env) if problem.warning]
    assert any("crisis alerts and call-back requests reach no one" in warning for warning in warnings)


def services_for(env: dict[str, str], clock) -> Services:
    settings = load_settings(env)
    content, _problems = load_content(settings.content_dir, placeholders_for(settings))
    return Services(settings=settings, content=content, clock=clock, tick_seconds=3600)


async def test_the_reply_gives_the_uk_numbers_and_offers_no_text_line(standin, tmp_path: Path, clock) -> None:
    env = {**config(tmp_path, "crisis:\n  country: UK\n"), "TELEGRAM_BASE_URL": standin.base_url}
    async with running_bot(build_application(services_for(env, clock))):
        patient = TelegramUser(standin, 1001)
        await patient.send("i want to end it all")
        reply = patient.messages[0]
    assert "Call 999" in reply.text and "116 123" in reply.text and "Samaritans" in reply.text
    assert "988" not in reply.text and "Text" not in reply.text and "Veterans" not in reply.text
    assert "Are you safe right now?" in reply.text


async def test_the_reply_in_canada_offers_text_9_8_8(standin, tmp_path: Path, clock) -> None:
    env = {**config(tmp_path, "crisis:\n  country: CA\n"), "TELEGRAM_BASE_URL": standin.base_url}
    async with running_bot(build_application(services_for(env, clock))):
        patient = TelegramUser(standin, 1001)
        await patient.send("/sos")
        reply = patient.messages[0]
    assert "Call 911" in reply.text and "call 9-8-8" in reply.text and "Text 9-8-8" in reply.text
    assert "988lifeline.org" not in reply.text


async def test_without_a_staff_chat_each_staff_member_is_alerted_privately(standin, tmp_path: Path, clock) -> None:
    env = {**config(tmp_path, staff=f"staff_ids: [{STAFF_A}, {STAFF_B}]\nstaff_chat_id: null"), "TELEGRAM_BASE_URL": standin.base_url}
    async with running_bot(build_application(services_for(env, clock))):
        staff = [TelegramUser(standin, STAFF_A, first_name="Dana"), TelegramUser(standin, STAFF_B, first_name="Lee")]
        for member in staff:
            await member.send("/start")
        patient = TelegramUser(standin, 1001, first_name="Ann")
        await patient.send("i took a whole bottle of my oxycodone")
        assert "the clinic's team will be told" in patient.messages[0].text
        for member in staff:
            alert = await member.expect("Safety alert")
            assert "Ann" in alert.text and "oxycodone" not in alert.text
    assert standin.errors == []


async def test_with_no_staff_at_all_the_start_up_log_says_alerts_go_nowhere(standin, tmp_path: Path, clock, caplog) -> None:
    caplog.set_level(logging.INFO)
    env = {**config(tmp_path, staff="staff_ids: []\nstaff_chat_id: null"), "TELEGRAM_BASE_URL": standin.base_url}
    async with running_bot(build_application(services_for(env, clock))):
        assert "crisis alerts go nowhere" in caplog.text
        patient = TelegramUser(standin, 1001)
        await patient.send("i want to kill myself")
        reply = patient.messages[0]
    # The patient still gets every number, and is not told the team will hear of it.
    assert "911" in reply.text and "988" in reply.text and "team will be told" not in reply.text
