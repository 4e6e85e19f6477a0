"""The preview without a browser: its settings file, its clock, its HTTP API against the
real bot and stand-in, and `python -m bot preview` as a process (ports, start, stop).

The page itself is tested in a real browser in test_preview_browser.py.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
import pytest
from telegram import KeyboardButton, ReplyKeyboardMarkup

from bot.app import PATIENT_COMMANDS
from bot.check import run_checks
from bot.preview.clock import OffsetClock, next_reminder_due
from bot.preview.settings import PreviewConfigError, load_preview_config
from bot.storage import Storage
from tests.previews import (
    ANN,
    BEN,
    RIVERA,
    STAFF_GROUP,
    break_content,
    insert_reminder,
    make_preview,
    write_files,
)

REPO = Path(__file__).resolve().parent.parent
PNG = bytes.fromhex(  # a 1x1 transparent PNG
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


# -- preview.yaml ------------------------------------------------------------------------


def test_the_committed_preview_yaml_has_patients_and_staff() -> None:
    config = load_preview_config(REPO / "preview.yaml")
    assert [persona for persona in config.personas if not persona.staff]
    assert config.staff_ids, "a staff persona, so staff features can be tried"
    assert config.staff_group is not None and config.staff_group.id < 0
    assert config.database == Path("data/preview.sqlite3")


@pytest.mark.parametrize(
    ("change", "line", "named"),
    [
        (("id: 1002", "id: ben"), 7, "personas[2].id"),
        (("id: 1002", "id: 1001"), 7, "used twice"),
        (('phone: "+1 555 010 1003"', "phone: call me"), 12, "personas[3].phone"),
        (("staff: true", "staff: yes please"), 19, "personas[5].staff"),
        (("id: -1009000000001", "id: 42"), 21, "staff_group.id"),
        (("database:", "databse:"), 2, "unknown setting 'databse'"),
    ],
)
def test_a_mistake_in_preview_yaml_names_file_line_and_setting(
    tmp_path: Path, change: tuple[str, str], line: int, named: str
) -> None:
    path = write_files(tmp_path)["preview_yaml"]
    text = path.read_text()
    assert change[0] in text
    path.write_text(text.replace(change[0], change[1], 1))
    with pytest.raises(PreviewConfigError) as raised:
        load_preview_config(path)
    assert str(raised.value).startswith(f"{path}:{line}: "), str(raised.value)
    assert named in str(raised.value)


# -- the clock -----------------------------------------------------------------------------


def test_the_offset_clock_only_moves_forward() -> None:
    real = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)
    clock = OffsetClock(lambda: real)
    assert clock() == real
    clock.advance(timedelta(hours=3))
    assert clock() == real + timedelta(hours=3)
    assert clock.advance_to(real + timedelta(days=1)) is True
    assert clock() == real + timedelta(days=1)
    assert clock.advance_to(real) is False  # never backwards
    assert clock() == real + timedelta(days=1)
    for bad in (timedelta(0), timedelta(seconds=-5), timedelta(days=400)):
        with pytest.raises(ValueError):
            clock.advance(bad)


async def test_the_next_reminder_is_the_earliest_unpaused_one(tmp_path: Path) -> None:
    database = tmp_path / "preview.sqlite3"
    assert await next_reminder_due(database) is None  # no file yet
    storage = await Storage.open(database)
    await storage.close()
    assert await next_reminder_due(database) is None  # no reminder yet
    soon = datetime(2026, 11, 22, 17, 0, tzinfo=timezone.utc)
    insert_reminder(database, ANN, soon - timedelta(hours=5), paused=True)
    insert_reminder(database, BEN, soon)
    insert_reminder(database, RIVERA, soon + timedelta(days=1))
    assert await next_reminder_due(database) == soon


# -- the HTTP API, against the real bot and stand-in -----------------------------------------


@pytest.fixture
async def api(tmp_path: Path):
    preview = make_preview(tmp_path)
    await preview.start()
    session = aiohttp.ClientSession(base_url=preview.url)
    try:
        yield preview, session
    finally:
        await session.close()
        await preview.stop()
    errors = [f"{call.method}: {call.status} {call.description}" for call in preview.standin.errors]
    assert not errors, f"the stand-in refused Bot API calls: {errors}"


async def state(session: aiohttp.ClientSession, chat: int) -> dict:
    async with session.get("/api/state", params={"chat": str(chat)}) as response:
        assert response.status == 200
        return await response.json()


async def wait_for_messages(preview, session, chat: int, count: int) -> dict:
    """The chat's state once it holds `count` messages (both sides)."""
    for _ in range(100):
        current = await state(session, chat)
        if len(current["chat"]["messages"]) >= count:
            return current
        await asyncio.sleep(0.05)
    raise AssertionError(f"chat {chat} has {len(current['chat']['messages'])} messages, expected {count}")


async def test_the_staff_persona_is_staff_and_the_staff_group_is_the_staff_chat(api) -> None:
    preview, session = api
    settings = preview.services.settings
    assert settings.staff_ids == {RIVERA}  # the clinic config's own staff ids are not used
    assert settings.staff_chat_id == STAFF_GROUP
    assert settings.database == preview.config.database
    assert settings.base_url == preview.standin.base_url  # the stand-in, never Telegram
    current = await state(session, ANN)
    assert [chat["title"] for chat in current["chats"]] == ["Ann", "Ben", "Carmen", "Dan", "Dr. Rivera", "Clinic staff"]
    assert [command["command"] for command in current["chat"]["commands"]] == PATIENT_COMMANDS
    assert "education" in current["chat"]["description"]


async def test_a_reply_keyboard_shares_the_personas_own_contact(api) -> None:
    preview, session = api
    bot = preview.application.bot
    markup = ReplyKeyboardMarkup(
        [[KeyboardButton("Share my phone number", request_contact=True)], ["Not now"]], one_time_keyboard=True
    )
    await bot.send_message(ANN, "May we call you?", reply_markup=markup)
    keyboard = (await state(session, ANN))["chat"]["keyboard"]
    assert keyboard["rows"] == [[{"text": "Share my phone number", "kind": "contact"}], [{"text": "Not now", "kind": "text"}]]
    assert keyboard["folded"] is False

    async with session.post("/api/share", json={"chat": ANN, "kind": "contact"}) as response:
        assert response.status == 200
    # The bot answers it: a contact card nobody asked for is not kept, and the answer
    # removes the reply keyboard.
    current = await wait_for_messages(preview, session, ANN, 3)
    shared = current["chat"]["messages"][1]
    assert shared["out"] is True and shared["kind"] == "contact"
    assert shared["contact"] == {"phone_number": "+1 555 010 1001", "first_name": "Ann", "user_id": ANN}
    assert current["chat"]["keyboard"] is None


async def test_photos_and_documents_the_bot_sends_can_be_fetched(api) -> None:
    preview, session = api
    bot = preview.application.bot
    await bot.send_photo(BEN, PNG, caption="<b>Your week</b>", parse_mode="HTML")
    await bot.send_document(BEN, b"date,pain\n2026-11-21,4\n", filename="my-data.csv", caption="Your data")
    photo, document = (await state(session, BEN))["chat"]["messages"]
    assert photo["kind"] == "photo" and photo["text"] == "Your week"
    assert photo["entities"] == [{"type": "bold", "offset": 0, "length": 9}]
    async with session.get(photo["file"]["url"]) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "image/png"
        assert await response.read() == PNG
    assert document["file"]["name"] == "my-data.csv"
    async with session.get(document["file"]["url"]) as response:
        assert response.status == 200
        # Whatever a document claims to be, the page offers it as a download only.
        assert response.headers["Content-Type"] == "application/octet-stream"
        assert response.headers["Content-Disposition"] == "attachment; filename*=UTF-8''my-data.csv"
        assert await response.read() == b"date,pain\n2026-11-21,4\n"


async def test_a_tap_returns_the_bots_answer(api) -> None:
    preview, session = api
    await session.post("/api/send", json={"chat": ANN, "text": "/start"})
    welcome = (await wait_for_messages(preview, session, ANN, 2))["chat"]["messages"][1]
    first = welcome["inline_keyboard"][0][0]
    assert first["kind"] == "callback_data"
    async with session.post("/api/tap", json={"chat": ANN, "message": welcome["id"], "data": first["value"]}) as response:
        assert await response.json() == {"answered": True, "text": "", "show_alert": False}
    async with session.post("/api/tap", json={"chat": ANN, "message": 999, "data": "menu"}) as response:
        assert response.status == 404


async def test_the_api_refuses_what_the_page_never_sends(api) -> None:
    preview, session = api
    port = preview.url.rsplit(":", 1)[1]
    # Another site that makes the browser ask 127.0.0.1 under its own name (DNS rebinding).
    async with session.get("/api/state", headers={"Host": f"evil.example:{port}"}) as response:
        assert response.status == 421
    # A form on another site can post text/plain, never JSON.
    async with session.post("/api/send", data="chat=1001&text=hi", headers={"Content-Type": "text/plain"}) as response:
        assert response.status == 415
    async with session.post("/api/send", data="{not json", headers={"Content-Type": "application/json"}) as response:
        assert response.status == 400
        assert "JSON" in (await response.json())["error"]
    async with session.post("/api/send", json={"chat": 4242, "text": "hi"}) as response:
        assert response.status == 404
    async with session.post("/api/clock", json={"advance": -60}) as response:
        assert response.status == 400
    async with session.get("/") as response:
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert preview.standin.last_update_id == 0  # nothing reached the bot


# -- the process ---------------------------------------------------------------------------


def clean_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("TELEGRAM_", "BOT_", "PREVIEW_"))}
    return {**env, **extra}


def run_preview(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", "preview", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.parametrize(
    ("args", "extra", "named"),
    [
        (["--port", "eighty"], {}, "--port must be a port number from 0 to 65535 (got 'eighty')"),
        (["--port", "70000"], {}, "--port must be a port number"),
        ([], {"PREVIEW_PORT": "-1"}, "PREVIEW_PORT must be a port number"),
        (["--colour", "blue"], {}, "unrecognized arguments: --colour blue"),
    ],
)
def test_a_bad_port_or_option_is_one_line_and_exit_2(args: list[str], extra: dict, named: str) -> None:
    result = run_preview(*args, env=clean_env(**extra))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert named in result.stderr
    assert "Traceback" not in result.stderr


def test_an_occupied_port_is_one_line_and_exit_2(tmp_path: Path) -> None:
    files = write_files(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_preview(
            "--port", str(port), "--preview-config", str(files["preview_yaml"]),
            env=clean_env(BOT_CONFIG=str(files["clinic"])),
        )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: port {port} on 127.0.0.1 is already in use (another preview?): choose another with --port or PREVIEW_PORT"
    ]


def test_broken_content_stops_the_preview_with_the_checks_file_and_line(tmp_path: Path) -> None:
    files = write_files(tmp_path)
    content = tmp_path / "content"
    shutil.copytree(REPO / "content", content)
    break_content(content)
    expected = [str(problem) for problem in run_checks({"BOT_CONFIG": str(files["clinic"])}, content)]
    assert any("tms.yaml:" in line for line in expected)
    result = run_preview(
        "--port", "0", "--content", str(content), "--preview-config", str(files["preview_yaml"]),
        env=clean_env(BOT_CONFIG=str(files["clinic"])),
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == expected + [
        "error: the content has problems; fix them and start the preview again"
    ]


def test_the_preview_process_prints_its_address_and_stops_on_sigterm(tmp_path: Path) -> None:
    files = write_files(tmp_path)
    # A live token in the environment is ignored: the preview never talks to Telegram.
    env = clean_env(BOT_CONFIG=str(files["clinic"]), TELEGRAM_BOT_TOKEN="123:not-even-a-valid-token")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "preview", "--port", "0", "--preview-config", str(files["preview_yaml"])],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        first = process.stdout.readline()
        second = process.stdout.readline()
        assert first.startswith("Preview running at http://127.0.0.1:"), first + process.stderr.read()
        assert "TELEGRAM_BOT_TOKEN" in second and "make run" in second
        url = first.split()[3]
        with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=5):
            pass  # it listens, on loopback
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert files["database"].is_file()  # its own database, not the live one
    assert "Traceback" not in err


def test_the_live_bot_without_a_token_never_starts_the_preview(tmp_path: Path) -> None:
    files = write_files(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "bot"], cwd=REPO, env=clean_env(BOT_CONFIG=str(files["clinic"])),
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: TELEGRAM_BOT_TOKEN is not set: get a token from @BotFather and export it"
    ]
    assert result.stdout == ""  # no "Preview running at ..."
    assert not files["database"].exists()


@pytest.mark.parametrize(("token", "command"), [("", "-m bot preview"), ("123456789:AAH-token", "-m bot")])
def test_make_run_is_the_preview_without_a_token_and_the_bot_with_one(token: str, command: str) -> None:
    env = clean_env(TELEGRAM_BOT_TOKEN=token) if token else clean_env()
    # Under `make test` the outer make's variables would make this a sub-make.
    env = {key: value for key, value in env.items() if key not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", "run"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].endswith(f"/python {command}")
