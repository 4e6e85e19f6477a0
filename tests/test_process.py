"""`python -m bot` as an operator runs it: registers its menu, answers, stops on SIGTERM,
never prints the token, and creates the database readable by its owner only."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import sys
from pathlib import Path

from tests.client import TelegramUser
from tests.conftest import TOKEN

REPO = Path(__file__).resolve().parent.parent


async def test_the_bot_process_runs_answers_and_stops_cleanly(standin, env, tmp_path: Path) -> None:
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("TELEGRAM_", "BOT_"))}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=REPO, env={**clean, **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    try:
        # post_init registers the command menu and the descriptions before polling starts.
        await standin.wait_for(lambda: any(call.method == "getUpdates" for call in standin.calls), timeout=30)
        names = [command["command"] for command in standin.commands_for()]
        assert names == ["start", "menu", "checkin", "history", "reminders", "contact", "help", "privacy", "mydata", "delete", "stop"]
        assert any(call.method == "setMyDescription" for call in standin.calls)
        assert any(call.method == "setMyShortDescription" for call in standin.calls)

        patient = TelegramUser(standin, 3003, first_name="Bea")
        await patient.send("/start")
        assert "Hello, Bea!" in patient.last.text
        await patient.click("🧲 What is TMS?")
        assert "What is TMS?" in patient.last.text

        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    log = output.decode()
    assert process.returncode == 0, log
    assert TOKEN not in log
    assert TOKEN.split(":")[1] not in log
    assert "bot started as @" in log
    database = Path(env["BOT_DATABASE"])
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    assert not [call for call in standin.errors], [f"{c.method} {c.status} {c.description}" for c in standin.errors]
