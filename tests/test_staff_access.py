"""Staff commands are for `staff_ids` only; anyone else gets exactly the unknown-command reply.
Staff members see the staff commands in their own command menu."""

from __future__ import annotations

import logging
import textwrap

import pytest

from bot.app import PATIENT_COMMANDS, build_application
from bot.config import load_settings
from bot.services import Services
from tests.client import TelegramUser, running_bot
from tests.conftest import CONFIG, STAFF_ID
from tests.seed import rows

UNKNOWN = "I don't know that command. Here is the main menu, or see /help."
STAFF_COMMANDS = ["/broadcast", "/broadcast Clinic closed tomorrow", "/broadcast cancel", "/stats", "/export", "/audit"]


@pytest.mark.parametrize("command", STAFF_COMMANDS)
async def test_an_outsider_gets_only_the_unknown_command_reply(patient: TelegramUser, command: str, services) -> None:
    await patient.send(command)
    assert [message.text for message in patient.messages] == [UNKNOWN]
    assert [message.kind for message in patient.messages] == ["text"]
    # Nothing was started on their behalf.
    assert rows(services.settings.database, "SELECT * FROM broadcasts") == []
    assert rows(services.settings.database, "SELECT * FROM audit_log") == []


@pytest.mark.parametrize("data", ["bc:aud:1:all", "bc:send:1", "bc:drop:1", "bc:stop:1", "cbr:done:1"])
async def test_an_outsider_tapping_a_forged_staff_button_is_told_it_is_out_of_date(patient: TelegramUser, data: str) -> None:
    await patient.send("/start")
    await patient.click_data(data)
    assert "out of date" in patient.callback_answer()["text"]
    assert patient.unanswered_taps() == []


async def test_the_same_commands_work_for_staff(standin, bot) -> None:
    staff = TelegramUser(standin, STAFF_ID, first_name="Dana")
    await staff.send("/stats")
    assert "The bot in numbers" in staff.last.text
    await staff.send("/audit")
    assert "audit log is empty" in staff.last.text


async def test_staff_see_staff_commands_in_their_menu_and_patients_do_not(standin, bot) -> None:
    default = [command["command"] for command in standin.commands_for()]
    assert default == PATIENT_COMMANDS
    assert not {"broadcast", "stats", "export", "audit"} & set(default)
    staff_menu = [command["command"] for command in standin.commands_for({"type": "chat", "chat_id": STAFF_ID})]
    assert staff_menu == default + ["broadcast", "stats", "export", "audit"]


async def test_a_staff_member_who_never_started_the_bot_does_not_stop_it(standin, services, tmp_path, caplog) -> None:
    """Telegram answers "chat not found" for the menu of a chat that does not exist yet."""
    other_staff = 555000222
    config = tmp_path / "two_staff.yaml"
    config.write_text(textwrap.dedent(CONFIG).replace(f"[{STAFF_ID}]", f"[{STAFF_ID}, {other_staff}]"), encoding="utf-8")
    settings = load_settings({
        "TELEGRAM_BOT_TOKEN": standin.token, "TELEGRAM_BASE_URL": standin.base_url,
        "BOT_CONFIG": str(config), "BOT_DATABASE": str(services.settings.database),
    })
    standin.inject("setMyCommands", 400, "Bad Request: chat not found", chat_id=other_staff)
    caplog.set_level(logging.WARNING)
    async with running_bot(build_application(Services(settings=settings, content=services.content))):
        staff = TelegramUser(standin, STAFF_ID, first_name="Dana")
        await staff.send("/stats")
        assert "The bot in numbers" in staff.last.text
    assert f"staff member {other_staff} gets no staff command menu" in caplog.text
    assert standin.commands_for({"type": "chat", "chat_id": STAFF_ID}) is not None
    assert standin.commands_for({"type": "chat", "chat_id": other_staff}) is None
    assert standin.errors == []
