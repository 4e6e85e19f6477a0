"""Fixtures: a Bot API stand-in on loopback, the real bot pointed at it, and patients.

The bot is built and started exactly as `python -m bot` builds it (`build_application`),
with the same start and stop steps (`running`), against a real SQLite file in tmp_path.
Every test fails if the bot made a Bot API call the stand-in rejected with a 4xx.
"""

from __future__ import annotations

import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.app import build_application
from bot.check import placeholders_for
from bot.config import load_settings
from bot.content import has_errors, load_content
from bot.services import Services
from bot.standin import BotApiStandIn
from tests.client import TelegramUser, running_bot
from tests.seed import START

TOKEN = "123456789:AAH-test-token-for-the-loopback-stand-in"
STAFF_ID = 555000111
STAFF_CHAT_ID = -1001234567890

CONFIG = f"""
clinic:
  name: Riverside Pain & TMS Clinic
  phone: "+1 555 010 0199"
  hours: "Mon-Fri 8:00-17:00"
  timezone: America/Los_Angeles
crisis:
  emergency_number: "911"
  crisis_line: "988"
  crisis_line_name: "988 Suicide & Crisis Lifeline"
staff_ids: [{STAFF_ID}]
staff_chat_id: {STAFF_CHAT_ID}
database: data/ignored.sqlite3
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "clinic.yaml"
    path.write_text(textwrap.dedent(CONFIG), encoding="utf-8")
    return path


@pytest.fixture
async def standin():
    server = BotApiStandIn(TOKEN)
    await server.start()
    # The staff group exists on Telegram; the bot may post alerts there.
    server.group(STAFF_CHAT_ID, "Clinic staff")
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def env(standin: BotApiStandIn, config_file: Path, tmp_path: Path) -> dict[str, str]:
    return {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": standin.base_url,
        "BOT_CONFIG": str(config_file),
        "BOT_DATABASE": str(tmp_path / "db" / "bot.sqlite3"),
    }


class FakeClock:
    """The bot's clock in tests: it stands still until a test moves it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment.astimezone(timezone.utc)

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def services(env: dict[str, str], clock: FakeClock) -> Services:
    settings = load_settings(env)
    content, problems = load_content(settings.content_dir, placeholders_for(settings))
    assert content is not None and not has_errors(problems), [str(problem) for problem in problems]
    # The reminder job is run by the tests when they move the clock (run_due_prompts),
    # not by the timer.
    return Services(settings=settings, content=content, clock=clock, tick_seconds=3600)


@pytest.fixture
async def bot(services: Services, standin: BotApiStandIn):
    application = build_application(services)
    async with running_bot(application):
        yield application
    rejected = [f"{call.method}: {call.status} {call.description}" for call in standin.errors]
    assert not rejected, f"the stand-in rejected Bot API calls: {rejected}"


@pytest.fixture
def patient(standin: BotApiStandIn, bot) -> TelegramUser:
    return TelegramUser(standin, 1001, first_name="Ann")


async def run_due_prompts(application) -> None:
    """Run the daily-prompt job now, as its timer would, and wait for it to finish."""
    (job,) = application.job_queue.get_jobs_by_name("daily prompts")
    await job.run(application)
