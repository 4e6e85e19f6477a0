"""`python -m bot` as an operator runs it: registers its menu, answers, stops on SIGTERM,
never prints the token, and creates the database readable by its owner only."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import stat
import subprocess
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
        assert names == ["start", "menu", "sos", "checkin", "history", "report", "reminders", "contact", "help", "privacy", "mydata", "delete", "stop", "language"]
        assert any(call.method == "setMyDescription" for call in standin.calls)
        assert any(call.method == "setMyShortDescription" for call in standin.calls)

        patient = TelegramUser(standin, 3003, first_name="Bea", bot_database=Path(env["BOT_DATABASE"]))
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


def run_bot_process(env: dict[str, str], cwd: Path = REPO) -> subprocess.CompletedProcess:
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("TELEGRAM_", "BOT_"))}
    return subprocess.run([sys.executable, "-m", "bot"], cwd=cwd, env={**clean, **env}, capture_output=True, text=True, timeout=60)


async def test_a_rejected_token_is_one_line_that_does_not_show_it(standin, env) -> None:
    wrong = "987654321:AAH-a-token-telegram-does-not-know-abcdef"
    result = await asyncio.to_thread(run_bot_process, {**env, "TELEGRAM_BOT_TOKEN": wrong})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == "error: Telegram rejected TELEGRAM_BOT_TOKEN: copy it again from @BotFather"
    # The library logs its own traceback first; the token is redacted from it too.
    assert wrong.split(":")[1] not in result.stdout + result.stderr


def test_no_bot_api_at_start_is_one_line(env) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run_bot_process({**env, "TELEGRAM_BASE_URL": f"http://127.0.0.1:{port}/bot"})
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: cannot reach the Bot API at http://127.0.0.1:{port}/bot")
    assert TOKEN.split(":")[1] not in result.stdout + result.stderr


def test_the_live_bot_refuses_content_that_fails_the_check(env, tmp_path: Path) -> None:
    for folder in ("bot", "flows", "content"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    page = tmp_path / "content" / "en" / "topics" / "tms.yaml"
    page.write_text(page.read_text(encoding="utf-8").replace("TMS is noninvasive.", "TMS cures chronic pain.", 1), encoding="utf-8")
    result = run_bot_process(env, cwd=tmp_path)
    assert result.returncode == 2
    assert "banned claim (cure)" in result.stderr
    assert "bot started" not in result.stdout + result.stderr
