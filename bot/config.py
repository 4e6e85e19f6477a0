"""Settings: environment variables plus the clinic's YAML file, validated once at start.

A wrong setting must stop the program with one line that names it (no traceback), so every
problem is raised as `ConfigError` with that line as its message.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

DEFAULT_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_DATABASE = "data/bot.sqlite3"
# Telegram lets a bot send about 30 messages a second across all chats. Broadcasts go close
# to that: answers to patients take their slots first in the one shared budget
# (bot/rate_limiter.py), so no gap needs to be left for them.
DEFAULT_BROADCAST_RATE = 29.0
MAX_BROADCAST_RATE = 30.0
# With broadcasts.paid (Telegram's allow_paid_broadcast, paid in Stars) up to 1000 a second.
MAX_PAID_BROADCAST_RATE = 1000.0
# content/ sits beside the bot package, wherever the program is started from.
CONTENT_DIR = Path(__file__).resolve().parent.parent / "content"
# A token from @BotFather is the bot's numeric id, a colon, and a secret of letters, digits,
# _ and - (35 characters today: "123456789:AAH..."). Checking the shape at start turns a
# paste error into a clear message instead of a 401 from Telegram later. The check is a
# little looser than today's tokens (a self-hosted Bot API or a stand-in may differ); the
# message states exactly what it accepts, from the same numbers.
TOKEN_ID_DIGITS = 3
TOKEN_SECRET_CHARACTERS = 20
TOKEN_SHAPE = re.compile(rf"^\d{{{TOKEN_ID_DIGITS},}}:[A-Za-z0-9_-]{{{TOKEN_SECRET_CHARACTERS},}}$")
TOKEN_RULE = (
    f"expected the bot's numeric id (at least {TOKEN_ID_DIGITS} digits), a colon, then a secret of at least "
    f"{TOKEN_SECRET_CHARACTERS} letters, digits, _ or - (35 in a token from @BotFather), with no spaces or quotes"
)


class ConfigError(Exception):
    """A setting is missing or wrong; the message is the one line shown to the operator."""


@dataclass(frozen=True)
class Clinic:
    name: str
    phone: str
    # One text for every language, or one per language code ({"en": ..., "es": ...}); a
    # language without its own gets the default language's.
    hours: str | dict[str, str]
    timezone: str


# Crisis numbers by country (`crisis.country`), each with the brief's source.
CRISIS_LINES = Path(__file__).resolve().parent / "crisis_lines.yaml"
DEFAULT_COUNTRY = "US"
COUNTRY_ALIASES = {"GB": "UK"}


@dataclass(frozen=True)
class Crisis:
    """Numbers given to anyone who writes about suicide, self-harm or an emergency.

    The defaults are the US preset of bot/crisis_lines.yaml. An optional number that is
    None is not offered (the UK's Samaritans take no texts in the brief, say).
    """

    country: str = DEFAULT_COUNTRY
    emergency_number: str = "911"
    crisis_line: str = "988"
    crisis_line_name: str = "988 Suicide & Crisis Lifeline"
    crisis_text: str | None = "988"
    crisis_chat: str | None = "988lifeline.org"
    veterans_press: str | None = "1"
    veterans_text: str | None = "838255"
    spanish_press: str | None = "2"


# Settings every crisis reply needs; the rest may be left out (None).
REQUIRED_CRISIS = ("emergency_number", "crisis_line", "crisis_line_name")
OPTIONAL_CRISIS = ("crisis_text", "crisis_chat", "veterans_press", "veterans_text", "spanish_press")


def crisis_presets() -> dict[str, dict]:
    """The countries of bot/crisis_lines.yaml, by code."""
    return yaml.safe_load(CRISIS_LINES.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Settings:
    token: str | None
    base_url: str
    config_path: Path
    database: Path
    clinic: Clinic
    crisis: Crisis = field(default_factory=Crisis)
    staff_ids: frozenset[int] = frozenset()
    staff_chat_id: int | None = None
    content_dir: Path = CONTENT_DIR
    # Messages per second the broadcast worker sends at most (broadcasts.messages_per_second).
    broadcast_rate: float = DEFAULT_BROADCAST_RATE
    # Whether broadcasts are sent as paid broadcasts (broadcasts.paid, allow_paid_broadcast).
    broadcast_paid: bool = False
    # Whether /export adds patients' first names to the pseudonymous ids (export.include_names).
    export_includes_names: bool = False

    def require_token(self) -> str:
        if not self.token:
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN is not set: get a token from @BotFather and export it"
            )
        return self.token


def load_settings(env: dict[str, str] | None = None, *, require_token: bool = True) -> Settings:
    """Read and validate every setting; raise ConfigError naming the first problem."""
    env = dict(os.environ) if env is None else env

    token = env.get("TELEGRAM_BOT_TOKEN", "").strip() or None
    if token is not None and not TOKEN_SHAPE.match(token):
        # Never echo the token itself: it is a secret even when it is wrong.
        raise ConfigError(f"TELEGRAM_BOT_TOKEN does not look like a bot token: {TOKEN_RULE}; copy it again from @BotFather")
    if require_token and token is None:
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN is not set: get a token from @BotFather and export it"
        )

    base_url = env.get("TELEGRAM_BASE_URL", "").strip() or DEFAULT_BASE_URL
    if not re.match(r"^https?://", base_url):
        raise ConfigError(f"TELEGRAM_BASE_URL must start with http:// or https:// (got {base_url!r})")

    config_path = _config_path(env)
    raw = _read_yaml(config_path)
    where = str(config_path)

    clinic_raw = _mapping(raw.get("clinic"), f"{where}: clinic")
    clinic = Clinic(
        name=_text(clinic_raw, "name", f"{where}: clinic.name"),
        phone=_phone(clinic_raw.get("phone"), f"{where}: clinic.phone"),
        hours=_hours(clinic_raw.get("hours"), f"{where}: clinic.hours"),
        timezone=_timezone(clinic_raw.get("timezone"), f"{where}: clinic.timezone"),
    )

    crisis = _crisis(raw, where)

    staff_ids = _staff_ids(raw.get("staff_ids"), f"{where}: staff_ids")
    staff_chat_id = raw.get("staff_chat_id")
    if staff_chat_id is not None and not _is_int(staff_chat_id):
        raise ConfigError(f"{where}: staff_chat_id must be a numeric Telegram chat id or null (got {staff_chat_id!r})")

    database = env.get("BOT_DATABASE", "").strip() or raw.get("database") or DEFAULT_DATABASE
    if not isinstance(database, str):
        raise ConfigError(f"{where}: database must be a file path (got {database!r})")

    broadcasts_raw = _section(raw, "broadcasts", {"messages_per_second", "paid"}, where)
    broadcast_paid = broadcasts_raw.get("paid", False)
    if not isinstance(broadcast_paid, bool):
        raise ConfigError(f"{where}: broadcasts.paid must be true or false (got {broadcast_paid!r})")
    broadcast_rate = _broadcast_rate(
        broadcasts_raw.get("messages_per_second", DEFAULT_BROADCAST_RATE),
        f"{where}: broadcasts.messages_per_second",
        MAX_PAID_BROADCAST_RATE if broadcast_paid else MAX_BROADCAST_RATE,
    )
    export_raw = _section(raw, "export", {"include_names"}, where)
    include_names = export_raw.get("include_names", False)
    if not isinstance(include_names, bool):
        raise ConfigError(f"{where}: export.include_names must be true or false (got {include_names!r})")

    known = {"clinic", "crisis", "staff_ids", "staff_chat_id", "database", "broadcasts", "export"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown setting {unknown[0]!r} (known: {', '.join(sorted(known))})")

    return Settings(
        token=token,
        base_url=base_url,
        config_path=config_path,
        database=Path(database),
        clinic=clinic,
        crisis=crisis,
        staff_ids=staff_ids,
        staff_chat_id=int(staff_chat_id) if staff_chat_id is not None else None,
        broadcast_rate=broadcast_rate,
        broadcast_paid=broadcast_paid,
        export_includes_names=include_names,
    )


def _crisis(raw: dict, where: str) -> Crisis:
    """The country's preset numbers, each overridden by an explicit crisis.* setting."""
    fields = ("country", *REQUIRED_CRISIS, *OPTIONAL_CRISIS)
    section = _section(raw, "crisis", set(fields), where)
    presets = crisis_presets()
    country = section.get("country", DEFAULT_COUNTRY)
    if not isinstance(country, str) or not country.strip():
        raise ConfigError(f"{where}: crisis.country must be a country code such as US (known: {', '.join(presets)})")
    country = COUNTRY_ALIASES.get(country.strip().upper(), country.strip().upper())
    if country not in presets:
        raise ConfigError(f"{where}: crisis.country {section['country']!r} is not a known country (known: {', '.join(presets)})")
    preset = presets[country]
    values: dict[str, str | None] = {}
    for name in (*REQUIRED_CRISIS, *OPTIONAL_CRISIS):
        value = section[name] if name in section else preset.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ConfigError(f"{where}: crisis.{name} must be a non-empty text in quotes, or null for none")
        values[name] = value.strip() if isinstance(value, str) else None
        if values[name] is None and name in REQUIRED_CRISIS:
            raise ConfigError(
                f"{where}: crisis.{name} is needed: the {country} preset has no verified number for it "
                f"(bot/crisis_lines.yaml); set it in the config, in quotes"
            )
    return Crisis(country=country, **values)


def _config_path(env: dict[str, str]) -> Path:
    explicit = env.get("BOT_CONFIG", "").strip()
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"BOT_CONFIG points to {explicit!r}, which is not a readable file")
        return path
    for candidate in ("config.yaml", "config.example.yaml"):
        if Path(candidate).is_file():
            return Path(candidate)
    raise ConfigError("no clinic config found: create config.yaml (copy config.example.yaml) or set BOT_CONFIG")


def _read_yaml(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the file ({error.strerror})") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path}{line}: invalid YAML ({problem})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected settings as 'key: value' lines")
    return raw


def _mapping(value: object, name: str) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(f"{name} is missing or is not a section of 'key: value' lines")
    return value


def _section(raw: dict, key: str, known: set[str], where: str) -> dict:
    """An optional section; a misspelt key inside it is named rather than ignored."""
    section = _mapping(raw.get(key) or {}, f"{where}: {key}")
    unknown = sorted(set(section) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown setting '{key}.{unknown[0]}' (known: {', '.join(f'{key}.{name}' for name in sorted(known))})")
    return section


def _text(section: dict, key: str, name: str) -> str:
    value = section.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{name} is missing or empty")
    return value.strip()


def _hours(value: Any, name: str) -> str | dict[str, str]:
    """Opening hours: a text, or a text per language code with the default language's one."""
    if isinstance(value, dict):
        from bot.content import DEFAULT_LANGUAGE

        if not value or not all(isinstance(code, str) and isinstance(text, str) and text.strip() for code, text in value.items()):
            raise ConfigError(f"{name} must be a text, or language codes each with a non-empty text (en: \"Mon-Fri 8:00-17:00\")")
        if DEFAULT_LANGUAGE not in value:
            raise ConfigError(f"{name} gives hours per language but none for the default language {DEFAULT_LANGUAGE!r}")
        return {code.strip(): text.strip() for code, text in value.items()}
    return _text({"hours": value}, "hours", name)


def _optional_text(section: dict, key: str, default: str, name: str) -> str:
    value = section.get(key, default)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{name} must be a non-empty text (put numbers in quotes)")
    return value.strip()


def _phone(value: object, name: str) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ConfigError(f"{name} must be in quotes, e.g. \"+1 555 010 0000\" (YAML read it as a number)")
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{name} is missing: put the clinic's phone number in quotes, e.g. \"+1 555 010 0000\"")
    digits = re.sub(r"[\s().-]", "", value)
    if not re.fullmatch(r"\+?\d{3,15}", digits):
        raise ConfigError(f"{name} is not a phone number (got {value!r})")
    return value.strip()


def _timezone(value: object, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{name} is missing: use an IANA name such as America/Los_Angeles")
    try:
        ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{name} is not a known time zone (got {value!r}; use an IANA name such as America/Los_Angeles)") from None
    return value.strip()


def _staff_ids(value: object, name: str) -> frozenset[int]:
    if value is None:
        return frozenset()
    if not isinstance(value, list):
        raise ConfigError(f"{name} must be a list of numeric Telegram user ids, e.g. [123456789]")
    for item in value:
        if not _is_int(item):
            raise ConfigError(f"{name} must hold numeric Telegram user ids only (got {item!r})")
    return frozenset(int(item) for item in value)


def _broadcast_rate(value: object, name: str, maximum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= maximum:
        limit = "Telegram's limit" if maximum == MAX_BROADCAST_RATE else "Telegram's limit for paid broadcasts"
        raise ConfigError(
            f"{name} must be a number of messages per second above 0 and at most "
            f"{maximum:g}, {limit} (got {value!r})"
        )
    return float(value)


def _is_int(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()) is not None
