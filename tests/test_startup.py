"""Start-up as an operator meets it: every mistake and every network failure is one line
on stderr (the whole of it), with the documented exit code, and never the token."""

from __future__ import annotations

import asyncio
import socket

import pytest
from aiohttp import web

from bot.config import TOKEN_SHAPE
from tests.conftest import TOKEN
from tests.test_process import run_bot_process

SECRET = TOKEN.split(":")[1]


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{stderr}"
    return lines[0]


def free_port() -> int:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    "token",
    ["123:abc", "abc:AAHdefghijklmnopqrstuvwxyz0123456789", "123456789AAHdefghijklmnopqrstuvwxyz0123456789",
     "123456789:AAH defghijklmnopqrstuvwxyz0123456789", '"123456789:AAHdefghijklmnopqrstuvwxyz0123456789"'],
)
def test_a_token_of_the_wrong_shape_is_one_line_stating_the_rule(env, token: str) -> None:
    result = run_bot_process({**env, "TELEGRAM_BOT_TOKEN": token})
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert line == (
        "error: TELEGRAM_BOT_TOKEN does not look like a bot token: expected the bot's numeric id (at least 3 "
        "digits), a colon, then a secret of at least 20 letters, digits, _ or - (35 in a token from @BotFather), "
        "with no spaces or quotes; copy it again from @BotFather"
    )
    assert token.split(":")[-1] not in result.stdout + result.stderr


def test_the_rule_stated_is_the_rule_checked() -> None:
    assert TOKEN_SHAPE.match("123:" + "a" * 20) and TOKEN_SHAPE.match("1234567890:" + "A1_-" * 9)
    for wrong in ("12:" + "a" * 35, "123:" + "a" * 19, "123:" + "a" * 34 + "!", " 123:" + "a" * 35):
        assert not TOKEN_SHAPE.match(wrong), wrong


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"TELEGRAM_BOT_TOKEN": ""}, "TELEGRAM_BOT_TOKEN is not set"),
        ({"BOT_CONFIG": "/nonexistent/clinic.yaml"}, "BOT_CONFIG"),
        ({"TELEGRAM_BASE_URL": "api.telegram.org"}, "TELEGRAM_BASE_URL"),
        ({"BOT_DATABASE": "/proc/no-such-place/bot.sqlite3"}, "database"),
    ],
)
def test_an_operator_mistake_is_one_line_and_exit_2(env, change: dict[str, str], named: str) -> None:
    result = run_bot_process({**env, **change})
    assert result.returncode == 2
    assert named in one_line(result.stderr)
    assert SECRET not in result.stdout + result.stderr


async def test_a_rejected_token_is_one_line(standin, env) -> None:
    wrong = "987654321:AAH-a-token-telegram-does-not-know-abcdef"
    result = await asyncio.to_thread(run_bot_process, {**env, "TELEGRAM_BOT_TOKEN": wrong})
    assert result.returncode == 2
    assert one_line(result.stderr) == "error: Telegram rejected TELEGRAM_BOT_TOKEN: copy it again from @BotFather"
    assert wrong.split(":")[1] not in result.stdout + result.stderr


def test_no_bot_api_listening_is_one_line(env) -> None:
    base_url = f"http://127.0.0.1:{free_port()}/bot"
    result = run_bot_process({**env, "TELEGRAM_BASE_URL": base_url})
    assert result.returncode == 1
    assert one_line(result.stderr).startswith(f"error: cannot reach the Bot API at {base_url} (")
    assert SECRET not in result.stdout + result.stderr


def test_an_unknown_host_is_one_line(env) -> None:
    result = run_bot_process({**env, "TELEGRAM_BASE_URL": "http://bot-api.invalid/bot"})
    assert result.returncode == 1
    assert one_line(result.stderr).startswith("error: cannot reach the Bot API at http://bot-api.invalid/bot (")


async def failing_api(answer) -> tuple[web.AppRunner, str]:
    """A Bot API that answers every call with `answer(request)`."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    # A hanging answer is cut off at cleanup, not waited for (aiohttp's default is 60 s).
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return runner, f"http://127.0.0.1:{port}/bot"


async def server_error(request: web.Request) -> web.Response:
    return web.json_response({"ok": False, "error_code": 500, "description": "Internal Server Error"}, status=500)


async def hang(request: web.Request) -> web.Response:
    await asyncio.sleep(60)
    return web.Response(status=504)


@pytest.mark.parametrize("answer", [server_error, hang], ids=["500", "hang"])
async def test_a_failing_bot_api_is_one_line(env, answer) -> None:
    runner, base_url = await failing_api(answer)
    try:
        result = await asyncio.to_thread(run_bot_process, {**env, "TELEGRAM_BASE_URL": base_url})
    finally:
        await runner.cleanup()
    assert result.returncode == 1
    assert one_line(result.stderr).startswith(f"error: cannot reach the Bot API at {base_url} (")
    assert SECRET not in result.stdout + result.stderr
