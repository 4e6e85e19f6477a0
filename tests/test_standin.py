"""Tests of the Bot API stand-in (bot/standin.py), its HTML checker and the test client.

Most tests speak raw HTTP to the stand-in, the way python-telegram-bot does (form fields,
non-string values JSON-encoded), and check Telegram's answers. The interop tests at the end
run a real PTB Application against it through tests/client.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import aiohttp
import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.pipeline import ChatOrderedProcessor
from bot.standin import NOT_MODIFIED, QUERY_INVALID, BotApiStandIn, RateLimits
from bot.telegram_html import (
    MAX_CALLBACK_DATA,
    MAX_MESSAGE,
    parse_html,
    parse_html_entities,
    telegram_length,
)
from tests.client import TelegramUser, watching

TOKEN = "123456789:TEST-token"
ANN = 1001  # a user id
# The smallest valid PNG: 1x1 pixel. sendPhoto refuses bytes that are not an image.
PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


class FakeClock:
    """A clock the test moves by hand, so rate limits do not depend on timing."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def standin():
    server = BotApiStandIn(TOKEN)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


async def call(http: aiohttp.ClientSession, standin: BotApiStandIn, method: str, token=TOKEN, **params):
    """POST like PTB: a form whose non-string values are JSON-encoded. Returns (status, body)."""
    form = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
    url = f"http://127.0.0.1:{standin.port}/bot{token}/{method}"
    async with http.post(url, data=form) as response:
        return response.status, await response.json()


def refused(status: int, body: dict, code: int, description: str) -> bool:
    """Whether the answer is Telegram's error shape with this code and text."""
    return (
        status == code
        and body["ok"] is False
        and body["error_code"] == code
        and body["description"] == description
    )


# ------------------------------------------------------------------------------------------
# parse_html / telegram_length
# ------------------------------------------------------------------------------------------


def test_parse_html_valid_nesting_and_entities():
    result = parse_html_entities('<b>Bold <i>both</i></b> <a href="https://ex.org/?a=1&amp;b=2">link</a>')
    assert result.error is None
    assert result.text == "Bold both link"
    assert result.entities == [
        {"type": "bold", "offset": 0, "length": 9},
        {"type": "italic", "offset": 5, "length": 4},
        {"type": "text_link", "offset": 10, "length": 4, "url": "https://ex.org/?a=1&b=2"},
    ]


def test_parse_html_character_references_and_newlines():
    assert parse_html("a &lt; b &gt; c &amp; &quot;d&quot; &#65;&#x1F600;\nline") == (
        'a < b > c & "d" A😀\nline',
        None,
    )


def test_parse_html_all_supported_tags():
    html = (
        "<strong>1</strong><em>2</em><u>3</u><ins>4</ins><s>5</s><strike>6</strike><del>7</del>"
        '<span class="tg-spoiler">8</span><tg-spoiler>9</tg-spoiler><code>c</code>'
        '<pre><code class="language-python">p</code></pre><blockquote>q</blockquote>'
        '<blockquote expandable>x</blockquote><tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>'
        '<tg-time unix="1647531900" format="wDT">t</tg-time>'
    )
    result = parse_html_entities(html)
    assert result.error is None
    types = [e["type"] for e in result.entities]
    assert types == [
        "bold", "italic", "underline", "underline", "strikethrough", "strikethrough",
        "strikethrough", "spoiler", "spoiler", "code", "pre", "blockquote",
        "expandable_blockquote", "custom_emoji", "date_time",
    ]
    pre = next(e for e in result.entities if e["type"] == "pre")
    assert pre["language"] == "python"


def test_parse_html_unsupported_tag_reports_byte_offset():
    # "Привет " is 7 characters but 13 bytes of UTF-8: Telegram counts bytes.
    text, error = parse_html("Привет <div>мир</div>")
    assert error == 'can\'t parse entities: Unsupported start tag "div" at byte offset 13'
    assert text == "Привет "


def test_parse_html_unclosed_and_unexpected_tags():
    assert parse_html("<b>bold")[1] == 'can\'t parse entities: Can\'t find end tag corresponding to start tag "b"'
    assert parse_html("ok</b>")[1] == "can't parse entities: Unexpected end tag at byte offset 2"
    assert parse_html("<b>x</i>")[1] == (
        'can\'t parse entities: Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'
    )
    assert parse_html("<b>x</b")[1] == "can't parse entities: Unclosed end tag at byte offset 4"
    assert parse_html('<span class="x">s</span>')[1] == (
        'can\'t parse entities: Tag "span" must have class "tg-spoiler" at byte offset 0'
    )


def test_parse_html_bare_angle_bracket_and_ampersand_are_errors():
    assert parse_html("1 < 2")[1] == 'can\'t parse entities: Unsupported start tag "" at byte offset 2'
    assert parse_html("x <b")[1] == "can't parse entities: Unclosed start tag at byte offset 2"
    # Stricter than Telegram, which would show these literally.
    _, error = parse_html("Tom & Jerry")
    assert error.startswith('can\'t parse entities: Unsupported HTML entity "&" at byte offset 4')
    _, error = parse_html("a&nbsp;b")
    assert error.startswith('can\'t parse entities: Unsupported HTML entity "&nbsp;" at byte offset 1')
    assert parse_html('<a href=https://x.org>x</a>')[1].startswith(
        'can\'t parse entities: Unquoted attribute value in the tag "a"'
    )


def test_parse_html_trims_like_telegram():
    result = parse_html_entities("\n  <b>Hi</b> there \n\n")
    assert result.text == "Hi there"
    assert result.entities == [{"type": "bold", "offset": 0, "length": 2}]


def test_telegram_length_counts_utf16_code_units():
    assert telegram_length("abc") == 3
    assert telegram_length("é") == 1  # one code unit although two UTF-8 bytes
    assert telegram_length("😀") == 2  # outside the BMP: a surrogate pair
    assert telegram_length("👍🏽") == 4  # emoji + skin tone modifier
    # Entity offsets are in the same units: the bold word starts after the emoji.
    result = parse_html_entities("😀 <b>x</b>")
    assert result.entities == [{"type": "bold", "offset": 3, "length": 1}]


# ------------------------------------------------------------------------------------------
# Request handling and validation (raw HTTP)
# ------------------------------------------------------------------------------------------


async def test_get_me_and_wrong_token(standin, http):
    status, body = await call(http, standin, "getMe")
    assert status == 200 and body["ok"] is True
    assert body["result"]["username"] == "clinic_test_bot" and body["result"]["is_bot"] is True
    assert body["result"]["id"] == 123456789

    status, body = await call(http, standin, "getMe", token="123456789:wrong")
    assert refused(status, body, 401, "Unauthorized")


async def test_unknown_and_unimplemented_methods(standin, http):
    status, body = await call(http, standin, "sendTelepathy", chat_id=1)
    assert refused(status, body, 404, "Not Found")

    standin.user(ANN)
    status, body = await call(http, standin, "sendPoll", chat_id=ANN, question="?", options=["a", "b"])
    assert refused(status, body, 400, "Bad Request: method sendPoll is not implemented by the stand-in")
    assert [c.method for c in standin.errors] == ["sendTelepathy", "sendPoll"]


async def test_method_names_are_case_insensitive(standin, http):
    status, body = await call(http, standin, "getme")
    assert status == 200 and body["result"]["is_bot"] is True


async def test_missing_or_empty_required_parameters(standin, http):
    standin.user(ANN)
    status, body = await call(http, standin, "sendMessage", text="hi")
    assert refused(status, body, 400, "Bad Request: chat_id is empty")
    status, body = await call(http, standin, "sendMessage", chat_id=ANN)
    assert refused(status, body, 400, "Bad Request: message text is empty")
    # Telegram trims the text; only whitespace (or only empty tags) is empty too.
    status, body = await call(http, standin, "sendMessage", chat_id=ANN, text=" \n <b></b> ", parse_mode="HTML")
    assert refused(status, body, 400, "Bad Request: message text is empty")
    status, body = await call(http, standin, "answerCallbackQuery")
    assert refused(status, body, 400, "Bad Request: callback_query_id is empty")
    status, body = await call(http, standin, "sendDocument", chat_id=ANN)
    assert refused(status, body, 400, "Bad Request: there is no document in the request")


async def test_chat_not_found_until_the_user_writes(standin, http):
    status, body = await call(http, standin, "sendMessage", chat_id=ANN, text="hello")
    assert refused(status, body, 400, "Bad Request: chat not found")
    standin.push_text(ANN, "hi")
    status, body = await call(http, standin, "sendMessage", chat_id=ANN, text="hello")
    assert status == 200
    message = body["result"]
    assert message["chat"]["id"] == ANN and message["from"]["is_bot"] is True
    assert message["message_id"] == 2  # the user's message was 1: one sequence per chat


async def test_parameters_follow_the_declared_types(standin, http):
    standin.user(ANN)
    # chat_id is Integer-or-String: "1001" is the number; text is a String and stays "123".
    status, body = await call(http, standin, "sendMessage", chat_id=str(ANN), text="123")
    assert status == 200 and body["result"]["text"] == "123"
    assert standin.calls[-1].params == {"chat_id": ANN, "text": "123"}
    # A JSON body (some clients send one) is read as is.
    url = f"http://127.0.0.1:{standin.port}/bot{TOKEN}/sendMessage"
    payload = {"chat_id": ANN, "text": "json", "disable_notification": True,
               "reply_markup": {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}}
    async with http.post(url, json=payload) as response:
        assert response.status == 200
    assert standin.chat_log(ANN)[-1].params["disable_notification"] is True
    assert standin.chat_log(ANN)[-1].button_labels == ["A"]


async def test_bad_html_is_refused_with_the_byte_offset(standin, http):
    standin.user(ANN)
    async def send_html(text):
        return await call(http, standin, "sendMessage", chat_id=ANN, parse_mode="HTML", text=text)

    status, body = await send_html("Привет <div>x</div>")
    assert refused(status, body, 400, "Bad Request: can't parse entities: "
                                      'Unsupported start tag "div" at byte offset 13')
    status, body = await send_html("<b>open")
    assert refused(status, body, 400, "Bad Request: can't parse entities: "
                                      'Can\'t find end tag corresponding to start tag "b"')
    # Without parse_mode the same text is plain and fine.
    status, body = await call(http, standin, "sendMessage", chat_id=ANN, text="<b>open")
    assert status == 200 and body["result"]["text"] == "<b>open"


async def test_text_limit_is_4096_after_entity_parsing(standin, http):
    standin.user(ANN)
    markup = "<b>" + "a" * MAX_MESSAGE + "</b>"  # tags do not count
    status, body = await call(http, standin, "sendMessage", chat_id=ANN, parse_mode="HTML", text=markup)
    assert status == 200
    status, body = await call(http, standin, "sendMessage", chat_id=ANN, text="😀" * (MAX_MESSAGE // 2))
    assert status == 200  # 2048 emoji are 4096 UTF-16 units
    status, body = await call(http, standin, "sendMessage", chat_id=ANN, text="😀" * (MAX_MESSAGE // 2) + "a")
    assert refused(status, body, 400, "Bad Request: message is too long")
    log = standin.chat_log(ANN)
    assert len(log) == 2 and log[0].text == "a" * MAX_MESSAGE and log[0].html == markup


async def test_inline_keyboard_rules(standin, http):
    standin.user(ANN)

    async def send_buttons(*buttons):
        return await call(http, standin, "sendMessage", chat_id=ANN, text="pick",
                          reply_markup={"inline_keyboard": [list(buttons)]})

    status, _ = await send_buttons({"text": "ok", "callback_data": "x" * MAX_CALLBACK_DATA})
    assert status == 200
    for data in ["x" * (MAX_CALLBACK_DATA + 1), "é" * 33, ""]:  # "é" * 33 is 66 bytes
        status, body = await send_buttons({"text": "bad", "callback_data": data})
        assert refused(status, body, 400, "Bad Request: BUTTON_DATA_INVALID"), data
    status, body = await send_buttons({"text": "label only"})
    assert refused(status, body, 400, "Bad Request: can't parse inline keyboard button: "
                                      "Text buttons are unallowed in the inline keyboard")
    status, body = await send_buttons({"callback_data": "x"})
    assert refused(status, body, 400, 'Bad Request: can\'t parse inline keyboard button: '
                                      'Field "text" must be of type String')
    status, body = await send_buttons({"text": "two", "callback_data": "x", "url": "https://ex.org"})
    assert status == 400 and "exactly one of" in body["description"]
    status, _ = await send_buttons({"text": "site", "url": "https://ex.org"})
    assert status == 200


async def test_reply_keyboards_and_removal_are_accepted(standin, http):
    standin.user(ANN)
    keyboard = {"keyboard": [[{"text": "Share my number", "request_contact": True}], [{"text": "Cancel"}]],
                "resize_keyboard": True, "one_time_keyboard": True}
    for markup in (keyboard, {"remove_keyboard": True}, {"force_reply": True}):
        status, body = await call(http, standin, "sendMessage", chat_id=ANN, text="x", reply_markup=markup)
        assert status == 200, body
        assert "reply_markup" not in body["result"]  # a Message shows inline keyboards only
    assert standin.chat_log(ANN)[0].button_labels == ["Share my number", "Cancel"]
    status, body = await call(http, standin, "sendMessage", chat_id=ANN, text="x", reply_markup={"nonsense": 1})
    assert refused(status, body, 400, "Bad Request: can't parse reply keyboard markup JSON object")


async def test_answer_callback_query_once(standin, http):
    standin.user(ANN)
    _, body = await call(http, standin, "sendMessage", chat_id=ANN, text="pick",
                         reply_markup={"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]})
    query_id = standin.push_callback(ANN, body["result"]["message_id"], "a")

    assert standin.unanswered_callback_queries(ANN) == [
        {"id": query_id, "user_id": ANN, "message_id": 1, "data": "a"}
    ]
    status, body = await call(http, standin, "answerCallbackQuery", callback_query_id=query_id, text="x" * 201)
    assert refused(status, body, 400, "Bad Request: MESSAGE_TOO_LONG")
    status, body = await call(http, standin, "answerCallbackQuery", callback_query_id=query_id, text="Saved")
    assert status == 200 and body["result"] is True
    assert standin.callback_answers[query_id] == {"text": "Saved"}
    assert standin.unanswered_callback_queries() == []
    assert standin.calls[-1].chat_id == ANN  # attributed to the chat of the tapped message

    status, body = await call(http, standin, "answerCallbackQuery", callback_query_id=query_id)
    assert refused(status, body, 400, QUERY_INVALID)
    status, body = await call(http, standin, "answerCallbackQuery", callback_query_id="12345")
    assert refused(status, body, 400, QUERY_INVALID)
    assert len(standin.errors) == 3
    assert [c.status for c in standin.forget_errors(method="answerCallbackQuery")] == [400, 400, 400]
    assert standin.errors == []


async def test_edit_rules(standin, http):
    standin.user(ANN)
    keyboard = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    _, body = await call(http, standin, "sendMessage", chat_id=ANN, text="<b>Hello</b>", parse_mode="HTML",
                         reply_markup=keyboard)
    message_id = body["result"]["message_id"]

    async def edit(**params):
        return await call(http, standin, "editMessageText", chat_id=ANN, message_id=message_id, **params)

    # Same text after parsing (<strong> is <b>) and the same keyboard: not modified.
    status, body = await edit(text="<strong>Hello</strong>", parse_mode="HTML", reply_markup=keyboard)
    assert refused(status, body, 400, NOT_MODIFIED)
    # Omitting reply_markup removes the keyboard, so that IS a modification.
    status, body = await edit(text="<b>Hello</b>", parse_mode="HTML")
    assert status == 200 and "reply_markup" not in body["result"] and "edit_date" in body["result"]
    sent = standin.sent_message(ANN, message_id)
    assert sent.edit_count == 1 and sent.reply_markup is None

    status, body = await edit(text="Hello")  # the bold is gone: modified
    assert status == 200 and sent.text == "Hello" and sent.entities == [] and sent.edit_count == 2

    status, body = await call(http, standin, "editMessageReplyMarkup", chat_id=ANN, message_id=message_id)
    assert refused(status, body, 400, NOT_MODIFIED)  # it has no keyboard already
    status, body = await call(http, standin, "editMessageReplyMarkup", chat_id=ANN, message_id=message_id,
                              reply_markup=keyboard)
    assert status == 200 and sent.button_labels == ["A"]

    status, body = await call(http, standin, "editMessageText", chat_id=ANN, message_id=999, text="x")
    assert refused(status, body, 400, "Bad Request: message to edit not found")

    _, body = await call(http, standin, "sendContact", chat_id=ANN, phone_number="+15550100", first_name="Clinic")
    status, body = await call(http, standin, "editMessageText", chat_id=ANN,
                              message_id=body["result"]["message_id"], text="x")
    assert refused(status, body, 400, "Bad Request: there is no text in the message to edit")


async def test_delete_message(standin, http):
    standin.user(ANN)
    _, body = await call(http, standin, "sendMessage", chat_id=ANN, text="bye")
    message_id = body["result"]["message_id"]
    status, _ = await call(http, standin, "deleteMessage", chat_id=ANN, message_id=message_id)
    assert status == 200 and standin.chat_log(ANN)[0].deleted
    status, body = await call(http, standin, "deleteMessage", chat_id=ANN, message_id=message_id)
    assert refused(status, body, 400, "Bad Request: message to delete not found")


async def test_blocked_user_gets_403(standin, http):
    standin.user(ANN)
    _, body = await call(http, standin, "sendMessage", chat_id=ANN, text="before")
    standin.block(ANN)
    blocked = "Forbidden: bot was blocked by the user"
    status, body2 = await call(http, standin, "sendMessage", chat_id=ANN, text="after")
    assert refused(status, body2, 403, blocked)
    status, body2 = await call(http, standin, "editMessageText", chat_id=ANN,
                               message_id=body["result"]["message_id"], text="edited")
    assert refused(status, body2, 403, blocked)
    standin.unblock(ANN)
    assert (await call(http, standin, "sendMessage", chat_id=ANN, text="again"))[0] == 200

    # Blocking in the app also tells the bot, through a my_chat_member update.
    standin.push_my_chat_member(ANN, ANN, "member", "kicked")
    status, body2 = await call(http, standin, "sendMessage", chat_id=ANN, text="after")
    assert refused(status, body2, 403, blocked)
    _, updates = await call(http, standin, "getUpdates")
    assert updates["result"][-1]["my_chat_member"]["new_chat_member"]["status"] == "kicked"


async def test_rate_limits_give_429_with_retry_after(http):
    clock = FakeClock()
    standin = BotApiStandIn(TOKEN, limits=RateLimits(global_per_second=30, chat_burst=3, chat_per_second=1,
                                                     group_per_minute=20, retry_after=2), clock=clock)
    await standin.start()
    try:
        standin.user(ANN)
        for _ in range(3):  # the burst
            assert (await call(http, standin, "sendMessage", chat_id=ANN, text="x"))[0] == 200
        status, body = await call(http, standin, "sendMessage", chat_id=ANN, text="x")
        assert refused(status, body, 429, "Too Many Requests: retry after 2")
        assert body["parameters"] == {"retry_after": 2}

        clock.now += 1.5  # a token is back, but the 2-second window is still open
        status, body = await call(http, standin, "sendMessage", chat_id=ANN, text="x")
        assert refused(status, body, 429, "Too Many Requests: retry after 1")
        # Edits and chat actions are not messages: not counted.
        assert (await call(http, standin, "sendChatAction", chat_id=ANN, action="typing"))[0] == 200

        clock.now += 0.5  # window over, 2 tokens refilled
        assert (await call(http, standin, "sendMessage", chat_id=ANN, text="x"))[0] == 200

        # Groups: 20 per minute, whatever the per-chat burst.
        standin.limits.chat_burst = 100
        standin.group(-100500, "Clinic staff")
        clock.now += 100
        for _ in range(20):
            await call(http, standin, "sendMessage", chat_id=-100500, text="x")
        status, body = await call(http, standin, "sendMessage", chat_id=-100500, text="x")
        assert status == 429
        assert len([c for c in standin.errors if c.status == 429]) == 3
    finally:
        await standin.stop()


async def test_global_rate_limit_across_chats(http):
    clock = FakeClock()
    standin = BotApiStandIn(TOKEN, limits=RateLimits(global_per_second=5), clock=clock)
    await standin.start()
    try:
        for user_id in range(1, 7):
            standin.user(user_id)
        results = [(await call(http, standin, "sendMessage", chat_id=uid, text="news"))[0] for uid in range(1, 7)]
        assert results == [200] * 5 + [429]
    finally:
        await standin.stop()


async def test_injected_failures(standin, http):
    standin.user(ANN)
    standin.inject("sendMessage", 429, "Too Many Requests: retry after 5", retry_after=5, times=2, chat_id=ANN)
    for _ in range(2):
        status, body = await call(http, standin, "sendMessage", chat_id=ANN, text="x")
        assert refused(status, body, 429, "Too Many Requests: retry after 5")
        assert body["parameters"] == {"retry_after": 5}
    assert (await call(http, standin, "sendMessage", chat_id=ANN, text="x"))[0] == 200
    assert standin.errors == []  # asked for by the test, so not counted as the bot's errors
    assert sum(c.injected for c in standin.calls) == 2


async def test_an_injection_can_target_a_command_scope_chat(standin, http):
    # A staff member who never started the bot: Telegram refuses their chat's commands.
    standin.inject("setMyCommands", 400, "Bad Request: chat not found", chat_id=ANN)
    commands = [{"command": "stats", "description": "Numbers"}]
    assert (await call(http, standin, "setMyCommands", commands=commands))[0] == 200
    status, body = await call(http, standin, "setMyCommands", commands=commands, scope={"type": "chat", "chat_id": ANN})
    assert refused(status, body, 400, "Bad Request: chat not found")
    assert standin.errors == []


async def test_get_updates_long_polling(standin, http):
    status, body = await call(http, standin, "getUpdates", timeout=0)
    assert status == 200 and body["result"] == []

    # A poll is held open until an update arrives.
    poll = asyncio.create_task(call(http, standin, "getUpdates", timeout=5))
    await asyncio.sleep(0.2)
    assert not poll.done()
    sent = standin.push_text(ANN, "/start clinic")
    _, body = await asyncio.wait_for(poll, 2)
    [update] = body["result"]
    assert update["message"]["text"] == "/start clinic"
    assert update["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert update["message"]["message_id"] == sent["message_id"]

    # Not confirmed yet: the same update comes again; an offset past it confirms it.
    _, body = await call(http, standin, "getUpdates")
    assert [u["update_id"] for u in body["result"]] == [update["update_id"]]
    _, body = await call(http, standin, "getUpdates", offset=update["update_id"] + 1)
    assert body["result"] == []

    # allowed_updates is remembered until a call passes another list.
    _, body = await call(http, standin, "getUpdates", allowed_updates=["callback_query"])
    standin.push_text(ANN, "ignored")
    _, body = await call(http, standin, "getUpdates")
    assert body["result"] == []
    _, body = await call(http, standin, "getUpdates", allowed_updates=[])
    standin.push_text(ANN, "seen")
    _, body = await call(http, standin, "getUpdates")
    assert [u["message"]["text"] for u in body["result"]] == ["seen"]


async def test_a_second_poller_ends_the_first_with_409(standin, http):
    async with aiohttp.ClientSession() as other_bot:
        first = asyncio.create_task(call(http, standin, "getUpdates", timeout=5))
        await asyncio.sleep(0.1)
        second = asyncio.create_task(call(other_bot, standin, "getUpdates", timeout=5))
        status, body = await asyncio.wait_for(first, 2)
        assert status == 409 and body["description"].startswith("Conflict: terminated by other getUpdates")
        standin.push_text(ANN, "hi")
        status, body = await asyncio.wait_for(second, 2)
        assert status == 200 and len(body["result"]) == 1


async def test_multipart_uploads_keep_bytes_and_names(standin, http):
    standin.user(ANN)
    url = f"http://127.0.0.1:{standin.port}/bot{TOKEN}"

    form = aiohttp.FormData()
    form.add_field("chat_id", str(ANN))
    form.add_field("caption", "<b>Map</b>")
    form.add_field("parse_mode", "HTML")
    form.add_field("photo", PNG_1X1, filename="map.png", content_type="image/png")
    async with http.post(f"{url}/sendPhoto", data=form) as response:
        body = await response.json()
    assert response.status == 200, body
    assert body["result"]["caption"] == "Map" and body["result"]["photo"][-1]["width"] == 1

    # The attach://<part> form, as used for media groups and thumbnails.
    form = aiohttp.FormData()
    form.add_field("chat_id", str(ANN))
    form.add_field("document", "attach://leaflet")
    form.add_field("leaflet", b"%PDF-1.4 fake", filename="leaflet.pdf", content_type="application/pdf")
    async with http.post(f"{url}/sendDocument", data=form) as response:
        body = await response.json()
    assert response.status == 200, body
    assert body["result"]["document"]["file_name"] == "leaflet.pdf"

    photo, document = standin.chat_log(ANN)
    assert (photo.kind, photo.file, photo.text, photo.html) == ("photo", PNG_1X1, "Map", "<b>Map</b>")
    assert (document.kind, document.file, document.filename, document.mime_type) == (
        "document", b"%PDF-1.4 fake", "leaflet.pdf", "application/pdf")

    # Sending again by file_id works; bytes that are no image are refused as a photo.
    status, body = await call(http, standin, "sendDocument", chat_id=ANN, document=document.file_id)
    assert status == 200 and standin.chat_log(ANN)[-1].file == b"%PDF-1.4 fake"
    form = aiohttp.FormData()
    form.add_field("chat_id", str(ANN))
    form.add_field("photo", b"not an image", filename="x.png")
    async with http.post(f"{url}/sendPhoto", data=form) as response:
        assert refused(response.status, await response.json(), 400, "Bad Request: IMAGE_PROCESS_FAILED")
    status, body = await call(http, standin, "sendDocument", chat_id=ANN, document="no-such-file-id")
    assert refused(status, body, 400, "Bad Request: wrong file identifier/HTTP URL specified")


async def test_caption_limit(standin, http):
    standin.user(ANN)
    file_id = standin.push_message(ANN, kind="document")["document"]["file_id"]
    status, body = await call(http, standin, "sendDocument", chat_id=ANN, document=file_id, caption="c" * 1025)
    assert refused(status, body, 400, "Bad Request: message caption is too long")
    status, body = await call(http, standin, "sendDocument", chat_id=ANN, document=file_id, caption="c" * 1024)
    assert status == 200


async def test_bot_settings_are_stored(standin, http):
    commands = [{"command": "start", "description": "Main menu"}]
    assert (await call(http, standin, "setMyCommands", commands=commands))[0] == 200
    assert (await call(http, standin, "setMyCommands", commands=commands, language_code="de"))[0] == 200
    scope = {"type": "all_private_chats"}
    assert (await call(http, standin, "setMyCommands", commands=[], scope=scope))[0] == 200
    assert standin.commands_for() == commands and standin.commands_for(language_code="de") == commands
    assert standin.commands[("all_private_chats", "")] == []
    _, body = await call(http, standin, "getMyCommands")
    assert body["result"] == commands
    status, body = await call(http, standin, "setMyCommands", commands=[{"command": "Start", "description": "x"}])
    assert refused(status, body, 400, "Bad Request: BOT_COMMAND_INVALID")
    assert (await call(http, standin, "deleteMyCommands", language_code="de"))[0] == 200
    assert standin.commands_for(language_code="de") is None

    assert (await call(http, standin, "setMyDescription", description="Education about TMS"))[0] == 200
    assert (await call(http, standin, "setMyShortDescription", short_description="TMS facts"))[0] == 200
    assert (await call(http, standin, "setMyName", name="Clinic", language_code="en"))[0] == 200
    assert (await call(http, standin, "setChatMenuButton", menu_button={"type": "commands"}))[0] == 200
    assert standin.descriptions == {"": "Education about TMS"} and standin.names == {"en": "Clinic"}
    for method in ("deleteWebhook", "getWebhookInfo", "close", "logOut"):
        assert (await call(http, standin, method))[0] == 200


async def test_get_chat_and_groups(standin, http):
    standin.user(ANN, first_name="Ann")
    standin.group(-100777, "Clinic staff")
    _, body = await call(http, standin, "getChat", chat_id=ANN)
    assert body["result"]["type"] == "private" and body["result"]["first_name"] == "Ann"
    _, body = await call(http, standin, "getChat", chat_id=-100777)
    assert body["result"]["type"] == "supergroup" and body["result"]["title"] == "Clinic staff"
    message = standin.push_group_text(-100777, ANN, "/start@clinic_test_bot")
    assert message["entities"][0]["length"] == len("/start@clinic_test_bot")
    assert (await call(http, standin, "leaveChat", chat_id=-100777))[0] == 200
    status, body = await call(http, standin, "sendMessage", chat_id=-100777, text="x")
    assert refused(status, body, 403, "Forbidden: bot is not a member of the group chat")


async def test_wait_for_times_out_helpfully(standin, http):
    await call(http, standin, "getMe")
    with pytest.raises(asyncio.TimeoutError, match="a miracle.*getMe"):
        await standin.wait_for(lambda: False, timeout=0.05, what="a miracle")


# ------------------------------------------------------------------------------------------
# A real python-telegram-bot Application against the stand-in
# ------------------------------------------------------------------------------------------


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Like 👍", callback_data="like")]])
    await update.message.reply_html(f"You said: <b>{update.message.text}</b>", reply_markup=keyboard)


async def liked(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query.data != "like":
        await query.answer("That button is no longer valid.")
        return
    await query.answer("Thanks!")
    await query.edit_message_text(f"{query.message.text} ❤️")


async def send_files(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_photo(PNG_1X1, caption="<i>photo</i>", parse_mode="HTML", filename="dot.png")
    await update.message.reply_document(b"%PDF-1.4 leaflet", filename="leaflet.pdf")


async def on_sticker(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_text(f"Nice {update.message.sticker.emoji}")


async def on_voice(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_text("I cannot listen to voice messages, please type.")


async def on_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_text(f"Photo: {update.message.caption}")


async def on_contact(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    contact = update.message.contact
    own = contact.user_id == update.effective_user.id
    await update.message.reply_text(f"Got {contact.phone_number} ({'own' if own else 'other'})")


@pytest.fixture
async def app(standin):
    # The bot's own update processor, so the test client knows when an update is done.
    application: Application = (
        ApplicationBuilder().token(TOKEN).base_url(standin.base_url).concurrent_updates(ChatOrderedProcessor()).build()
    )
    application.add_handler(CommandHandler("files", send_files))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    application.add_handler(MessageHandler(filters.Sticker.ALL, on_sticker))
    application.add_handler(MessageHandler(filters.CONTACT, on_contact))
    application.add_handler(MessageHandler(filters.VOICE, on_voice))
    application.add_handler(MessageHandler(filters.PHOTO, on_photo))
    application.add_handler(CallbackQueryHandler(liked))
    await application.initialize()
    await application.updater.start_polling(poll_interval=0, timeout=1)
    await application.start()
    with watching(application):
        yield application
    await application.updater.stop()
    await application.stop()
    await application.shutdown()


async def test_ptb_echo_and_button(standin, app):
    ann = TelegramUser(standin, ANN)
    await ann.send("hello")
    assert ann.last.text == "You said: hello"
    assert ann.last.entities == [{"type": "bold", "offset": 10, "length": 5}]
    assert ann.buttons() == ["Like 👍"]

    await ann.click("Like")  # contained in the label "Like 👍"
    assert ann.callback_answer() == {"text": "Thanks!"}
    assert ann.last.text == "You said: hello ❤️" and ann.last.edit_count == 1
    assert ann.last.reply_markup is None  # edited without a keyboard

    await ann.send("two")
    await ann.send("three")
    two, three = ann.messages[-2:]
    await ann.click_on(two, "Like 👍")  # an older message's button, not the newest one's
    assert ann.message(two.message_id).text == "You said: two ❤️"
    assert ann.message(three.message_id).text == "You said: three"

    await ann.click_data("stale-data")  # goes to the newest message with a keyboard
    assert ann.callback_answer() == {"text": "That button is no longer valid."}
    assert ann.unanswered_taps() == []
    assert (await ann.expect("three")) is three
    assert [m.text for m in ann.messages] == [
        "You said: hello ❤️", "You said: two ❤️", "You said: three"
    ]

    with pytest.raises(AssertionError, match="no button 'Dislike'.*Like 👍"):
        await ann.click("Dislike")
    assert standin.errors == []


async def test_ptb_uploads_arrive_with_their_bytes(standin, app):
    ann = TelegramUser(standin, ANN)
    await ann.send("/files")
    photo, document = ann.messages
    assert (photo.kind, photo.file, photo.filename, photo.text) == ("photo", PNG_1X1, "dot.png", "photo")
    assert (document.kind, document.file, document.filename) == ("document", b"%PDF-1.4 leaflet", "leaflet.pdf")
    assert standin.errors == []


async def test_ptb_user_side_messages(standin, app):
    ann = TelegramUser(standin, ANN, first_name="Ann")
    await ann.send_sticker()
    assert ann.last.text == "Nice 👍"
    await ann.share_contact("+15550123")
    assert ann.last.text == "Got +15550123 (own)"
    await ann.share_contact("+15550999", own=False)
    assert ann.last.text == "Got +15550999 (other)"
    await ann.send_voice()
    assert ann.last.text.startswith("I cannot listen")
    await ann.send_photo(caption="my scan")
    assert ann.last.text == "Photo: my scan"
    await ann.block_bot()  # no handler for my_chat_member: the bot fetches it, stays silent
    assert standin.delivered(standin.last_update_id) and len(ann.messages) == 5


async def test_ptb_sees_telegram_errors_as_its_exceptions(standin, app, monkeypatch):
    # PTB 22 warns when RetryAfter.retry_after is an int; ask for the coming timedelta form.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    standin.user(ANN)
    # PTB drops "Bad Request: " and capitalizes the rest: "Can't parse entities: unsupported ..."
    with pytest.raises(BadRequest, match='unsupported start tag "div"'):
        await app.bot.send_message(ANN, "<div>x</div>", parse_mode="HTML")
    standin.inject("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await app.bot.send_message(ANN, "x")
    assert caught.value.retry_after == dt.timedelta(seconds=7)
    standin.block(ANN)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await app.bot.send_message(ANN, "x")
    assert [c.description for c in standin.errors] == [
        'Bad Request: can\'t parse entities: Unsupported start tag "div" at byte offset 0',
        "Forbidden: bot was blocked by the user",
    ]
