"""Settings: a wrong setting stops the program at start with one line naming it, exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from tests.conftest import CONFIG, TOKEN

REPO = Path(__file__).resolve().parent.parent


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "clinic.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def env_for(config: Path, **extra: str) -> dict[str, str]:
    return {"TELEGRAM_BOT_TOKEN": TOKEN, "BOT_CONFIG": str(config), **extra}


def test_valid_config_is_read(tmp_path: Path) -> None:
    settings = load_settings(env_for(write_config(tmp_path, CONFIG), BOT_DATABASE=str(tmp_path / "x.db")))
    assert settings.clinic.name == "Riverside Pain & TMS Clinic"
    assert settings.clinic.phone == "+1 555 010 0199"
    assert settings.staff_ids == {555000111}
    assert settings.staff_chat_id == -1001234567890
    assert settings.database == tmp_path / "x.db"  # BOT_DATABASE overrides the YAML
    assert settings.base_url == "https://api.telegram.org/bot"
    assert settings.crisis.crisis_line == "988"


def test_database_defaults_to_the_config_value(tmp_path: Path) -> None:
    settings = load_settings(env_for(write_config(tmp_path, CONFIG)))
    assert settings.database == Path("data/ignored.sqlite3")


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (("timezone: America/Los_Angeles", "timezone: Mars/Olympus_Mons"), "clinic.timezone"),
        (("staff_ids: [555000111]", "staff_ids: [555000111, bob]"), "staff_ids"),
        (('phone: "+1 555 010 0199"', "phone: call us"), "clinic.phone"),
        (("  name: Riverside Pain & TMS Clinic\n", ""), "clinic.name"),
        (("staff_chat_id: -1001234567890", "staff_chat_id: the staff group"), "staff_chat_id"),
        (("database: data/ignored.sqlite3", "databse: data/x.sqlite3"), "databse"),
    ],
)
def test_a_wrong_setting_is_named(tmp_path: Path, change: tuple[str, str], named: str) -> None:
    old, new = change
    text = textwrap.dedent(CONFIG)
    assert old in text
    config = write_config(tmp_path, text.replace(old, new))
    with pytest.raises(ConfigError) as raised:
        load_settings(env_for(config))
    assert named in str(raised.value)
    assert "\n" not in str(raised.value)


def test_broadcast_rate_and_export_names_have_safe_defaults(tmp_path: Path) -> None:
    settings = load_settings(env_for(write_config(tmp_path, CONFIG)))
    assert settings.broadcast_rate == 29.0
    assert settings.export_includes_names is False


def test_broadcast_rate_and_export_names_are_read(tmp_path: Path) -> None:
    text = textwrap.dedent(CONFIG) + "broadcasts:\n  messages_per_second: 12.5\nexport:\n  include_names: true\n"
    settings = load_settings(env_for(write_config(tmp_path, text)))
    assert settings.broadcast_rate == 12.5
    assert settings.export_includes_names is True


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ("broadcasts:\n  messages_per_second: 31\n", "broadcasts.messages_per_second"),
        ("broadcasts:\n  messages_per_second: 0\n", "broadcasts.messages_per_second"),
        ("broadcasts:\n  messages_per_second: fast\n", "broadcasts.messages_per_second"),
        ("broadcasts:\n  rate: 10\n", "broadcasts.rate"),
        ("export:\n  include_names: yes please\n", "export.include_names"),
        ("export: true\n", "export"),
    ],
)
def test_a_wrong_staff_setting_is_named(tmp_path: Path, extra: str, named: str) -> None:
    config = write_config(tmp_path, textwrap.dedent(CONFIG) + extra)
    with pytest.raises(ConfigError) as raised:
        load_settings(env_for(config))
    assert named in str(raised.value)
    assert "\n" not in str(raised.value)


def test_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    config = write_config(tmp_path, "clinic:\n  name: [unclosed\n  phone: x\n")
    with pytest.raises(ConfigError) as raised:
        load_settings(env_for(config))
    assert f"{config}:" in str(raised.value)
    assert "invalid YAML" in str(raised.value)


def test_token_shape_is_checked_without_echoing_it(tmp_path: Path) -> None:
    config = write_config(tmp_path, CONFIG)
    with pytest.raises(ConfigError) as raised:
        load_settings({"TELEGRAM_BOT_TOKEN": "not-a-real-secret-value", "BOT_CONFIG": str(config)})
    assert "TELEGRAM_BOT_TOKEN" in str(raised.value)
    assert "not-a-real-secret-value" not in str(raised.value)


def run_bot(env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("TELEGRAM_", "BOT_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot"], cwd=REPO, env={**clean, **env}, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, "TELEGRAM_BOT_TOKEN"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "BOT_CONFIG": "/nonexistent/clinic.yaml"}, "BOT_CONFIG"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BASE_URL": "api.telegram.org"}, "TELEGRAM_BASE_URL"),
    ],
)
def test_the_program_stops_with_one_line_and_exit_2(env: dict[str, str], named: str) -> None:
    result = run_bot(env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert named in lines[0]
    assert "Traceback" not in result.stderr


def test_a_bad_timezone_stops_the_program(tmp_path: Path) -> None:
    config = write_config(tmp_path, CONFIG.replace("America/Los_Angeles", "Nowhere/Special"))
    result = run_bot(env_for(config))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: {config}: clinic.timezone is not a known time zone (got 'Nowhere/Special'; "
        "use an IANA name such as America/Los_Angeles)"
    )
