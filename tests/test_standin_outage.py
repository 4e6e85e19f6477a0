"""The stand-in's outage switches (bot/standin.py, "outages"): the Bot API answering 500,
closing connections, or hanging, for every call until the test ends the outage.

Raw HTTP as in tests/test_standin.py, plus python-telegram-bot's own HTTP client, to prove
the bot sees each mode as the network failure it stands for.
"""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from telegram import Bot
from telegram.error import NetworkError, TimedOut
from telegram.request import HTTPXRequest

from bot.standin import BotApiStandIn

TOKEN = "123456789:TEST-token"
ANN = 1001


@pytest.fixture
async def standin():
    server = BotApiStandIn(TOKEN)
    await server.start()
    server.user(ANN)
    yield server
    server.end_outage()
    await server.stop()


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


async def call(http: aiohttp.ClientSession, standin: BotApiStandIn, method: str, **params):
    form = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
    async with http.post(f"http://127.0.0.1:{standin.port}/bot{TOKEN}/{method}", data=form) as response:
        return response.status, await response.json()


async def test_a_500_outage_fails_every_call_until_it_ends(standin, http):
    standin.outage("500")
    for method, params in (("getUpdates", {"timeout": 0}), ("sendMessage", {"chat_id": ANN, "text": "hi"}), ("getMe", {})):
        status, body = await call(http, standin, method, **params)
        assert (status, body["ok"], body["error_code"]) == (500, False, 500), method
    assert standin.chat_log(ANN) == []  # nothing was sent
    standin.end_outage()
    status, _ = await call(http, standin, "sendMessage", chat_id=ANN, text="hi")
    assert status == 200
    assert [m.text for m in standin.chat_log(ANN)] == ["hi"]
    assert standin.errors == []  # the outage's refusals were asked for by the test
    assert sum(c.injected for c in standin.calls) == 3
    [period] = standin.outages
    assert period.mode == "500" and period.start <= period.end <= standin.calls[-1].time


async def test_a_close_outage_drops_the_connection_without_an_answer(standin, http):
    standin.outage("close")
    with pytest.raises(aiohttp.ClientError):
        await call(http, standin, "sendMessage", chat_id=ANN, text="hi")
    assert standin.calls[-1].status == 0 and standin.calls[-1].injected
    assert standin.chat_log(ANN) == []
    standin.end_outage()
    assert (await call(http, standin, "sendMessage", chat_id=ANN, text="hi"))[0] == 200
    assert standin.errors == []


async def test_a_hang_outage_holds_requests_until_it_ends_and_acts_on_none(standin, http):
    standin.outage("hang")
    held = asyncio.create_task(call(http, standin, "sendMessage", chat_id=ANN, text="late"))
    await standin.wait_for(lambda: any(c.method == "sendMessage" for c in standin.calls), timeout=5)
    await asyncio.sleep(0)  # let it reach the outage
    assert not held.done() and standin.chat_log(ANN) == []
    standin.end_outage()
    status, _ = await asyncio.wait_for(held, 5)
    assert status == 502  # answered at the end, never acted on
    assert standin.chat_log(ANN) == []
    assert (await call(http, standin, "sendMessage", chat_id=ANN, text="now"))[0] == 200
    assert standin.errors == []


async def test_a_hang_outage_with_a_hold_answers_502_after_it(standin, http):
    standin.outage("hang", hold=0.2)
    status, body = await call(http, standin, "sendMessage", chat_id=ANN, text="x")
    assert (status, body["description"]) == (502, "Bad Gateway")
    assert standin.calls[-1].injected and standin.errors == []


async def test_spared_methods_keep_working_during_an_outage(standin, http):
    standin.outage("500", spare=("getUpdates",))
    standin.push_text(ANN, "hello")
    status, body = await call(http, standin, "getUpdates", timeout=0)
    assert status == 200 and body["result"][0]["message"]["text"] == "hello"
    assert (await call(http, standin, "sendMessage", chat_id=ANN, text="x"))[0] == 500


async def test_an_outage_drops_the_long_poll_being_held(standin, http):
    poll = asyncio.create_task(call(http, standin, "getUpdates", timeout=10))
    await standin.wait_for(lambda: standin.calls and standin.calls[-1].method == "getUpdates", timeout=5)
    await asyncio.sleep(0.05)  # the poll is being held now
    standin.outage("500")
    with pytest.raises(aiohttp.ClientError):
        await asyncio.wait_for(poll, 5)
    standin.push_text(ANN, "sent in the outage")
    standin.end_outage()
    _, body = await call(http, standin, "getUpdates", timeout=0)
    assert [u["message"]["text"] for u in body["result"]] == ["sent in the outage"]  # delivered after it


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="unknown outage mode"):
        BotApiStandIn(TOKEN).outage("slow")


@pytest.mark.parametrize(("mode", "error"), [("500", NetworkError), ("close", NetworkError), ("hang", TimedOut)])
async def test_python_telegram_bot_sees_each_mode_as_a_network_failure(standin, mode, error):
    bot = Bot(TOKEN, base_url=standin.base_url, request=HTTPXRequest(read_timeout=0.5, write_timeout=0.5))
    async with bot:
        standin.outage(mode)
        with pytest.raises(error) as raised:
            await bot.send_message(ANN, "hi")
        assert type(raised.value).__name__ in ("NetworkError", "TimedOut")  # not BadRequest, not Forbidden
        standin.end_outage()
        await bot.send_message(ANN, "hi")
    assert [m.text for m in standin.chat_log(ANN)] == ["hi"]
    assert standin.errors == []


async def test_replay_delivers_a_delivered_update_again(standin, http):
    standin.push_text(ANN, "once")
    _, body = await call(http, standin, "getUpdates", timeout=0)
    [update] = body["result"]
    _, body = await call(http, standin, "getUpdates", offset=update["update_id"] + 1, timeout=0)
    assert body["result"] == []
    assert standin.confirmed(update["update_id"])
    standin.replay(update["update_id"])  # ... but the confirmation was lost
    _, body = await call(http, standin, "getUpdates", timeout=0)
    assert body["result"] == [update]
    with pytest.raises(ValueError, match="never delivered"):
        standin.replay(update["update_id"] + 5)


async def test_a_call_failed_by_an_outage_names_its_chat(standin, http):
    standin.outage("500")
    await call(http, standin, "sendMessage", chat_id=ANN, text="x")
    assert standin.calls[-1].chat_id == ANN and standin.calls[-1].params["text"] == "x"
