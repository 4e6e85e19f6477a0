"""A loopback stand-in for the Telegram Bot API, for tests and the local preview.

The real python-telegram-bot `Application` talks to it over HTTP exactly as it would talk to
api.telegram.org (point `ApplicationBuilder().base_url(...)` at `BotApiStandIn.base_url`).
The stand-in plays both sides of a chat:

* the **Bot API side** answers the bot's requests: it checks them the way Telegram does
  (parameters and their types from the machine-readable spec in bot/botapi/api.json, the
  HTML parse mode, length limits, keyboards, rate limits, blocked users, ...) and answers
  with Telegram's JSON and error texts, so PTB raises the same exceptions it would in
  production;
* the **user side** (`push_text`, `push_callback`, ...) is what a person does in the app:
  each call queues an update that the bot receives through `getUpdates` long polling.

Everything the bot did is kept for inspection: `chat_log(chat_id)` (each bot message in its
current state), `calls` (every request), `errors` (every refused request the test did not ask
for), `callback_answers`, `commands`. `await wait_for(predicate)` waits for the bot.

Where Telegram's exact wording is unknown or a behaviour is not modelled, the code says so.
The module must stay free of pytest: `python -m bot preview` will serve it to a browser.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import math
import mimetypes
import random
import re
import struct
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from aiohttp import web

from .telegram_html import (
    MAX_CALLBACK_DATA,
    MAX_CAPTION,
    MAX_MESSAGE,
    parse_html_entities,
    telegram_length,
    trim_like_telegram,
)

# A copy of the Bot API specification ships with the package (bot/botapi/, MIT licensed, see
# its README for where it comes from), so the stand-in works in any clone and in the preview.
DEFAULT_API_SPEC = Path(__file__).resolve().parent / "botapi" / "api.json"

# Telegram's answer when a callback query id is unknown or was already answered.
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
# Update types Telegram sends when the bot never chose (allowed_updates = [] or never passed).
DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
# sendChatAction's allowed actions (from the Bot API documentation of the method).
CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice",
        "upload_voice", "upload_document", "choose_sticker", "find_location",
        "record_video_note", "upload_video_note",
    }
)
# Media kinds the stand-in can send, by method; the parameter has the kind's name.
MEDIA_METHODS = {
    "sendPhoto": "photo",
    "sendDocument": "document",
    "sendAudio": "audio",
    "sendVideo": "video",
    "sendAnimation": "animation",
    "sendVoice": "voice",
    "sendVideoNote": "video_note",
    "sendSticker": "sticker",
}
# The message kinds, in the order they are looked for in a Message object.
MESSAGE_KINDS = (
    "text", "photo", "document", "audio", "video", "animation", "voice", "video_note",
    "sticker", "contact", "location",
)


class ApiError(Exception):
    """A refusal, answered as {"ok": false, "error_code": code, "description": ...}."""

    def __init__(self, code: int, description: str, retry_after: int | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


# ------------------------------------------------------------------------------------------
# Public records
# ------------------------------------------------------------------------------------------


@dataclass
class RateLimits:
    """Telegram's limits, modelled as token buckets (only message-creating calls count).

    global: `global_per_second` messages per second across all chats (bucket of that size);
    per chat: a burst of `chat_burst`, then `chat_per_second`; per group: `group_per_minute`.
    Over a limit the call fails with 429 and `retry_after` seconds, and every further send
    in that scope fails until the window has passed, as Telegram does.
    """

    global_per_second: float = 30
    chat_burst: int = 10
    chat_per_second: float = 1.0
    group_per_minute: int = 20
    retry_after: int = 1


@dataclass
class CallRecord:
    """One HTTP request of the bot. `status` is None while the request is being handled."""

    method: str
    params: dict[str, Any]
    time: float  # the stand-in's clock when the request arrived
    chat_id: int | None = None  # the chat it concerns, if any (for answerCallbackQuery too)
    status: int | None = None
    description: str | None = None  # the error text, for refusals
    result: Any = None
    injected: bool = False  # failed because the test called inject()
    expected: bool = False  # a refusal the test declared expected with forget_errors()
    cancelled: bool = False  # the bot dropped the connection before the answer

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass
class SentMessage:
    """A message the bot sent, in its current state (edits applied, deletion flagged)."""

    chat_id: int
    message_id: int
    kind: str  # "text", "photo", "document", "contact", ...
    html: str | None  # text or caption exactly as the bot sent it (HTML source if parse_mode)
    text: str  # the text or caption as the user reads it, after entity parsing ("" if none)
    entities: list[dict]
    reply_markup: dict | None  # as sent: inline keyboard, reply keyboard, remove, force reply
    message: dict  # the Message object as the Bot API returned it (current state)
    method: str  # the method that created it
    params: dict[str, Any]  # that call's parameters (file bytes left out)
    parse_mode: str | None = None
    contact: dict | None = None
    file: bytes | None = None  # uploaded bytes of a photo/document/...
    filename: str | None = None
    mime_type: str | None = None
    file_id: str | None = None
    reply_to_message_id: int | None = None
    edit_count: int = 0
    deleted: bool = False

    @property
    def inline_keyboard(self) -> list[list[dict]]:
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            return self.reply_markup["inline_keyboard"]
        return []

    @property
    def buttons(self) -> list[dict]:
        """Every button of the keyboard (inline or reply), row by row, as dicts."""
        markup = self.reply_markup or {}
        rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
        return [b if isinstance(b, dict) else {"text": b} for row in rows for b in row]

    @property
    def button_labels(self) -> list[str]:
        return [b.get("text", "") for b in self.buttons]


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    data: bytes | None  # None for a file the stand-in only knows by URL
    filename: str | None
    mime_type: str | None


@dataclass
class _Upload:
    """A multipart file part, before it becomes a _StoredFile."""

    data: bytes
    filename: str | None
    mime_type: str | None


@dataclass
class _CallbackQuery:
    user_id: int
    chat_id: int
    message_id: int
    data: str
    answered: bool = False


@dataclass
class _Poll:
    """A getUpdates request being held open."""

    request: web.Request
    superseded: bool = False


# The ways an outage can fail calls (BotApiStandIn.outage).
OUTAGE_MODES = frozenset({"500", "close", "hang"})


@dataclass
class _Outage:
    mode: str
    hold: float | None  # "hang": the longest a request is held; None = until the end
    spare: frozenset[str]  # methods (lower case) that keep working
    over: asyncio.Event  # set when the outage ends


@dataclass
class OutagePeriod:
    """One outage, on the stand-in's clock; `end` is None while it lasts."""

    mode: str
    start: float
    end: float | None = None


# ------------------------------------------------------------------------------------------
# Small building blocks
# ------------------------------------------------------------------------------------------


class _Signal:
    """Wakes everybody waiting whenever something happened (a call, an update, ...)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float) -> None:
        """Return after the next fire() or after `timeout` seconds, whichever is first."""
        event = self._event
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except asyncio.TimeoutError:
            pass


class _TokenBucket:
    def __init__(self, capacity: float, per_second: float, now: float):
        self.capacity = capacity
        self.per_second = per_second
        self.tokens = capacity
        self.stamp = now

    def has_token(self, now: float) -> bool:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.per_second)
        self.stamp = now
        return self.tokens >= 1

    def take(self) -> None:
        self.tokens -= 1


class _RateLimiter:
    """Per-scope token buckets plus the "retry after" windows Telegram imposes on a scope."""

    def __init__(self, limits: RateLimits, clock: Callable[[], float]):
        self.limits = limits
        self.clock = clock
        self.buckets: dict[tuple, _TokenBucket] = {}
        self.blocked_until: dict[tuple, float] = {}

    def _bucket(self, scope: tuple, capacity: float, per_second: float, now: float):
        if scope not in self.buckets:
            self.buckets[scope] = _TokenBucket(capacity, per_second, now)
        return self.buckets[scope]

    def admit(self, chat_id: int, is_group: bool, paid_broadcast: bool = False) -> None:
        """Count one message to `chat_id`, or raise the 429 Telegram would answer."""
        now = self.clock()
        lim = self.limits
        # allow_paid_broadcast raises the overall limit to 1000 messages per second.
        overall = (("paid",), 1000.0, 1000.0) if paid_broadcast else (
            ("global",), lim.global_per_second, lim.global_per_second)
        scopes = [overall, (("chat", chat_id), lim.chat_burst, lim.chat_per_second)]
        if is_group:
            scopes.append((("group", chat_id), lim.group_per_minute, lim.group_per_minute / 60))
        for scope, _capacity, _rate in scopes:
            until = self.blocked_until.get(scope, 0.0)
            if until > now:
                raise _too_many(max(1, math.ceil(until - now)))
        buckets = [self._bucket(scope, cap, rate, now) for scope, cap, rate in scopes]
        for (scope, _cap, _rate), bucket in zip(scopes, buckets):
            if not bucket.has_token(now):
                self.blocked_until[scope] = now + lim.retry_after
                raise _too_many(lim.retry_after)
        for bucket in buckets:
            bucket.take()


def _too_many(seconds: int) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {seconds}", retry_after=seconds)


@lru_cache(maxsize=4)
def _load_spec(path: str) -> dict:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


class _Spec:
    """What api.json says about methods and types, in the shape the stand-in needs."""

    def __init__(self, path: Path):
        spec = _load_spec(str(path))
        self.methods: dict[str, dict] = spec["methods"]
        self.types: dict[str, dict] = spec["types"]
        # Telegram accepts method names in any letter case.
        self._canonical = {name.lower(): name for name in self.methods}

    def canonical(self, method: str) -> str | None:
        return self._canonical.get(method.lower())

    def fields(self, method: str) -> list[dict]:
        return self.methods[method].get("fields", [])

    def type_fields(self, type_name: str) -> list[dict]:
        return self.types[type_name].get("fields", [])

    def coerce(self, method: str, raw: dict[str, Any], from_form: bool) -> dict[str, Any]:
        """Give each known parameter the type api.json declares.

        Form and multipart bodies carry every value as a string; PTB JSON-encodes the ones
        that are not strings (numbers, booleans, keyboards, lists). A String parameter stays
        a string even when it looks like a number. Unknown parameters are ignored, as
        Telegram ignores them.
        """
        params: dict[str, Any] = {}
        declared = {f["name"]: f["types"] for f in self.fields(method)}
        for name, value in raw.items():
            types = declared.get(name)
            if types is None or value is None:
                continue
            params[name] = _coerce_value(name, types, value, from_form)
        return params

    def fill_required(self, type_name: str, given: dict) -> dict:
        """`given` plus neutral values for the required fields it lacks (False, 0, "")."""
        obj = dict(given)
        for f in self.type_fields(type_name):
            if f["required"] and f["name"] not in obj:
                kind = f["types"][0]
                obj[f["name"]] = {"Boolean": False, "Integer": 0, "Float": 0.0}.get(kind, "")
        return obj


def _coerce_value(name: str, types: list[str], value: Any, from_form: bool) -> Any:
    if isinstance(value, _Upload):
        return value  # a file part; only InputFile parameters use them
    if "InputFile" in types:
        return value  # a file_id, a URL or "attach://<part>": all strings
    if types == ["String"]:
        # JSON bodies may carry a number where a String is due; Telegram takes it as text.
        return value if isinstance(value, str) else json.dumps(value)
    if not (from_form and isinstance(value, str)):
        return value  # already decoded (JSON body)
    if types == ["Integer", "String"]:  # chat_id: a number or "@channelusername"
        return int(value) if re.fullmatch(r"-?\d+", value.strip()) else value
    if types == ["Integer"]:
        try:
            return int(value)
        except ValueError:
            raise ApiError(400, f"Bad Request: invalid {name} specified") from None
    if types == ["Float"]:
        try:
            return float(value)
        except ValueError:
            raise ApiError(400, f"Bad Request: invalid {name} specified") from None
    if types == ["Boolean"]:
        lowered = value.strip().lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0", ""):
            return False
        raise ApiError(400, f"Bad Request: invalid {name} specified")
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        if name == "reply_markup":
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object") from None
        raise ApiError(400, f"Bad Request: can't parse {name} JSON object") from None


def _image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG or GIF; a valid image of another format gives None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return struct.unpack("<HH", data[6:10])
    return None


def _looks_like_image(data: bytes) -> bool:
    """Whether Telegram's image processing would accept the bytes as a photo."""
    return (
        data.startswith(b"\xff\xd8\xff")  # JPEG
        or data.startswith(b"\x89PNG\r\n\x1a\n")
        or data[:6] in (b"GIF87a", b"GIF89a")
        or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")
        or data.startswith(b"BM")  # BMP
    )


def _scope_key(scope: dict | None) -> str:
    """A readable key for a BotCommandScope: "default", "all_private_chats", "chat:42", ..."""
    if not scope:
        return "default"
    parts = [scope.get("type", "default")]
    for key in ("chat_id", "user_id"):
        if key in scope:
            parts.append(str(scope[key]))
    return ":".join(parts)


def _inline_markup(markup: dict | None) -> dict | None:
    """The part of a reply_markup a Message object shows: only inline keyboards."""
    return markup if markup and "inline_keyboard" in markup else None


def _message_kind(message: dict) -> str:
    for kind in MESSAGE_KINDS:
        if kind in message:
            return kind
    return "other"


# ------------------------------------------------------------------------------------------
# The stand-in
# ------------------------------------------------------------------------------------------


class _NetworkDelay:
    """A real network's round trip, played on loopback (default: none).

    Set `round_trip_seconds` (and `jitter_seconds`) on a stand-in, or pass them to
    `with_network_delay`: every request then reaches the stand-in half a round trip after the
    bot sent it, and its answer reaches the bot half a round trip after the stand-in answered;
    each half is longer by a random share of up to half the jitter, so requests can arrive
    out of the order they were sent in, as on a real network.
    """

    round_trip_seconds: float = 0.0
    jitter_seconds: float = 0.0

    def with_network_delay(self, round_trip_seconds: float, jitter_seconds: float = 0.0):
        self.round_trip_seconds, self.jitter_seconds = round_trip_seconds, jitter_seconds
        return self

    async def _one_way_delay(self) -> None:
        seconds = self.round_trip_seconds / 2 + random.uniform(0.0, self.jitter_seconds / 2)
        if seconds > 0:
            await asyncio.sleep(seconds)


class BotApiStandIn(_NetworkDelay):
    """The Bot API on 127.0.0.1, plus the users talking to the bot. See the module docstring."""

    def __init__(
        self,
        token: str,
        *,
        api_spec: Path | str | None = None,
        bot_username: str = "clinic_test_bot",
        limits: RateLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.token = token
        self.spec = _Spec(Path(api_spec) if api_spec else DEFAULT_API_SPEC)
        self.limits = limits or RateLimits()
        self.clock = clock
        # A token looks like "<bot id>:<secret>"; the bot's user id is the first part.
        head = token.split(":", 1)[0]
        self.bot_user: dict = {
            "id": int(head) if head.isdigit() else 1_000_001,
            "is_bot": True,
            "first_name": "Clinic Test Bot",
            "username": bot_username,
        }

        # What the bot did -------------------------------------------------------------
        self.calls: list[CallRecord] = []
        self.callback_answers: dict[str, dict] = {}
        # setMyCommands, by (scope key, language code); see _scope_key for the scope keys.
        self.commands: dict[tuple[str, str], list[dict]] = {}
        self.descriptions: dict[str, str] = {}  # setMyDescription, by language ("" = all)
        self.short_descriptions: dict[str, str] = {}
        self.names: dict[str, str] = {}
        self.menu_buttons: dict[int | None, dict] = {}  # setChatMenuButton (None = default)
        self.chat_actions: list[tuple[int, str]] = []  # (chat_id, action) of sendChatAction

        # The world the bot lives in ---------------------------------------------------
        self._users: dict[int, dict] = {}
        self._chats: dict[int, dict] = {}
        self._blocked: set[int] = set()  # users who blocked the bot
        self._bot_status: dict[int, str] = {}  # the bot's status in groups ("left", ...)
        self._messages: dict[int, dict[int, dict]] = {}  # chat -> message_id -> Message
        self._next_message_id: dict[int, int] = {}
        self._sent: dict[tuple[int, int], SentMessage] = {}
        self._log: dict[int, list[SentMessage]] = {}
        self._files: dict[str, _StoredFile] = {}
        self._file_counter = itertools.count(1)
        self._queries: dict[str, _CallbackQuery] = {}
        self._query_counter = itertools.count(1)
        self._injections: list[dict] = []

        # Updates for getUpdates -------------------------------------------------------
        self._updates: list[dict] = []  # queued, not yet confirmed by an offset
        self._update_counter = itertools.count(1)
        self._last_update_id = 0
        self._confirmed_up_to = 0  # every update_id below this was confirmed
        self._delivered_up_to = 0  # highest update_id handed to the bot
        self._allowed_updates: set[str] | None = None  # None = Telegram's default set
        self._poll: _Poll | None = None

        self._rate = _RateLimiter(self.limits, clock)
        self._changed = _Signal()  # fired after every call event and every pushed update
        # Outages (see "outages" below): the one going on, and every one so far.
        self._outage: _Outage | None = None
        self.outages: list[OutagePeriod] = []
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._closing = False

        self._handlers: dict[str, Callable] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "close": self._true,
            "logOut": self._true,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setMyDescription": self._set_my_text("description", self.descriptions, 512),
            "getMyDescription": self._get_my_text("description", self.descriptions),
            "setMyShortDescription": self._set_my_text(
                "short_description", self.short_descriptions, 120
            ),
            "getMyShortDescription": self._get_my_text(
                "short_description", self.short_descriptions
            ),
            "setMyName": self._set_my_text("name", self.names, 64),
            "getMyName": self._get_my_text("name", self.names),
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
            "getChat": self._get_chat,
            "leaveChat": self._leave_chat,
            "sendMessage": self._send_message,
            "sendContact": self._send_contact,
            "sendLocation": self._send_location,
            "sendChatAction": self._send_chat_action,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "copyMessage": self._copy_message,
        }
        for method, kind in MEDIA_METHODS.items():
            self._handlers[method] = self._media_sender(kind)

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        # Telegram takes uploads of up to 50 MB; aiohttp's default body limit is 1 MB.
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/{prefix}/{method}", self._handle_http)
        # handler_cancellation: when the bot drops a long poll, stop waiting for it.
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=2.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self._port = self._runner.addresses[0][1]  # the port the OS picked when port=0
        self._closing = False

    async def stop(self) -> None:
        """Release held long polls, then close the server."""
        self._closing = True
        self._changed.fire()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BotApiStandIn:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the stand-in is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """For ApplicationBuilder().base_url(...): PTB appends the token and the method."""
        return f"http://127.0.0.1:{self.port}/bot"

    # -- HTTP --------------------------------------------------------------------------

    async def _handle_http(self, request: web.Request) -> web.Response:
        response = await self._answer_http(request)
        await self._one_way_delay()  # the answer's way back (see _NetworkDelay)
        return response

    async def _answer_http(self, request: web.Request) -> web.Response:
        await self._one_way_delay()  # the request's way here (see _NetworkDelay)
        prefix, method_name = request.match_info["prefix"], request.match_info["method"]
        call = CallRecord(method=method_name, params={}, time=self.clock())
        self.calls.append(call)
        self._changed.fire()
        if self._outage is not None:
            failed = await self._suffer_outage(call, request)
            if failed is not None:
                return failed
        try:
            if prefix != f"bot{self.token}":
                raise ApiError(401, "Unauthorized")
            method = self.spec.canonical(method_name)
            if method is None:
                raise ApiError(404, "Not Found")
            call.method = method
            raw, from_form = await self._read_params(request)
            call.params = {k: v for k, v in raw.items() if not isinstance(v, _Upload)}
            params = self.spec.coerce(method, raw, from_form)
            call.params = {k: v for k, v in params.items() if not isinstance(v, _Upload)}
            # Known before anything can fail, so waiters following a chat see failures too.
            call.chat_id = self._chat_id_of(method, params)
            self._apply_injection(call, params)
            handler = self._handlers.get(method)
            if handler is None:
                raise ApiError(400, f"Bad Request: method {method} is not implemented by the stand-in")
            self._check_required(method, params)
            if method == "getUpdates":  # the one method that needs the connection itself
                call.result = await self._get_updates(params, request)
            else:
                call.result = await handler(params, raw)
            call.status = 200
            body: dict = {"ok": True, "result": call.result}
        except ApiError as err:
            call.status, call.description = err.code, err.description
            body = {"ok": False, "error_code": err.code, "description": err.description}
            if err.retry_after is not None:
                body["parameters"] = {"retry_after": err.retry_after}
        except asyncio.CancelledError:
            call.cancelled = True  # the bot went away (e.g. it stopped polling)
            self._changed.fire()
            raise
        except Exception as exc:  # a bug of the stand-in: make it loud, in `errors` too
            call.status = 500
            call.description = f"Internal Server Error: stand-in failed: {exc!r}"
            body = {"ok": False, "error_code": 500, "description": call.description}
        self._changed.fire()
        return web.json_response(body, status=call.status)

    async def _read_params(self, request: web.Request) -> tuple[dict[str, Any], bool]:
        """The request's parameters, whatever way they were sent. Files become _Upload."""
        raw: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            body = await request.read()
            if body:
                try:
                    decoded = json.loads(body)
                except json.JSONDecodeError:
                    raise ApiError(400, "Bad Request: can't parse JSON encoded request") from None
                if not isinstance(decoded, dict):
                    raise ApiError(400, "Bad Request: can't parse JSON encoded request")
                raw.update(decoded)
            return raw, False
        if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for name, value in form.items():
                if isinstance(value, web.FileField):
                    raw[name] = _Upload(value.file.read(), value.filename, value.content_type)
                elif isinstance(value, (bytes, bytearray)):  # a file part sent without a name
                    raw[name] = _Upload(bytes(value), None, None)
                else:
                    raw[name] = value
        return raw, True

    def _apply_injection(self, call: CallRecord, params: dict[str, Any]) -> None:
        """Fail the call as inject() asked, if a pending injection matches it."""
        for rule in self._injections:
            if rule["method"].lower() != call.method.lower():
                continue
            if rule["chat_id"] is not None and rule["chat_id"] not in (call.chat_id, params.get("chat_id")):
                continue
            rule["times"] -= 1
            if rule["times"] <= 0:
                self._injections.remove(rule)
            call.injected = True
            raise ApiError(rule["error_code"], rule["description"], rule["retry_after"])

    def _check_required(self, method: str, params: dict[str, Any]) -> None:
        for f in self.spec.fields(method):
            if not f["required"]:
                continue
            value = params.get(f["name"])
            if value is None or value == "":
                if f["name"] == "text":
                    raise ApiError(400, "Bad Request: message text is empty")
                if "InputFile" in f["types"]:
                    raise ApiError(400, f"Bad Request: there is no {f['name']} in the request")
                raise ApiError(400, f"Bad Request: {f['name']} is empty")

    def _chat_id_of(self, method: str, params: dict[str, Any]) -> int | None:
        """The chat a call concerns, so waiters can follow one conversation."""
        if method == "answerCallbackQuery":
            query = self._queries.get(str(params.get("callback_query_id")))
            return query.chat_id if query else None
        chat_id = params.get("chat_id")
        scope = params.get("scope")
        if chat_id is None and isinstance(scope, dict):
            # setMyCommands & co. with a BotCommandScopeChat* concern that one chat.
            chat_id = scope.get("chat_id")
        if isinstance(chat_id, int):
            return chat_id
        if isinstance(chat_id, str):
            chat = self._chat_by_username(chat_id)
            return chat["id"] if chat else None
        return None

    # -- fault injection -----------------------------------------------------------------

    def inject(
        self,
        method: str,
        error_code: int,
        description: str,
        *,
        retry_after: int | None = None,
        times: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """Make the next `times` calls of `method` (to `chat_id`, if given) fail like this.

        `description` is the whole text, e.g. "Forbidden: bot was blocked by the user".
        Injected failures are in `calls` but not in `errors`.
        """
        self._injections.append(
            {
                "method": method,
                "error_code": error_code,
                "description": description,
                "retry_after": retry_after,
                "times": times,
                "chat_id": chat_id,
            }
        )

    # -- outages (fault injection, issue 8) ----------------------------------------------
    # The Bot API going away for a while, as the bot sees it. While an outage lasts, every
    # call (getUpdates included, unless spared) fails in one of three ways:
    #   "500"   answered with 500 Internal Server Error;
    #   "close" the connection is closed without any answer (recorded with status 0);
    #   "hang"  the request is held until the outage ends, or at most `hold` seconds, then
    #           answered 502 Bad Gateway without being acted on; a bot that gives up first
    #           is recorded as cancelled.
    # A long poll held when the outage starts has its connection dropped, as a network
    # failure would. Calls an outage failed are marked injected, so `errors` stays clean.
    # `outages` keeps each outage's start and end on the stand-in's clock, to compare with
    # `calls[i].time`.

    def outage(self, mode: str, *, hold: float | None = None, spare: tuple[str, ...] = ()) -> None:
        """Start an outage ("500", "close" or "hang") until end_outage(). `spare`: methods
        that keep working (e.g. ("getUpdates",) to fail only the bot's answers)."""
        if mode not in OUTAGE_MODES:
            raise ValueError(f"unknown outage mode {mode!r}; one of {sorted(OUTAGE_MODES)}")
        if self._outage is not None:
            self.end_outage()
        self._outage = _Outage(mode, hold, frozenset(name.lower() for name in spare), asyncio.Event())
        self.outages.append(OutagePeriod(mode, start=self.clock()))
        poll = self._poll
        if poll is not None and "getupdates" not in self._outage.spare and poll.request.transport is not None:
            poll.request.transport.abort()
        self._changed.fire()

    def end_outage(self) -> None:
        """The API is back: held requests go on, new ones are answered normally."""
        if self._outage is None:
            return
        self._outage.over.set()
        self._outage = None
        self.outages[-1].end = self.clock()
        self._changed.fire()

    @property
    def in_outage(self) -> bool:
        return self._outage is not None

    def confirmed(self, update_id: int) -> bool:
        """Whether the bot has confirmed this update (a getUpdates with a higher offset)."""
        return update_id < self._confirmed_up_to

    def replay(self, update_id: int) -> None:
        """Telegram delivers an update again: the getUpdates that would have confirmed it
        never arrived (the bot died first). The next poll without a higher offset gets it."""
        for call in reversed(self.calls):
            if call.method != "getUpdates" or not call.ok:
                continue
            for update in call.result or []:
                if update["update_id"] != update_id:
                    continue
                if all(queued["update_id"] != update_id for queued in self._updates):
                    self._updates.append(copy.deepcopy(update))
                    self._updates.sort(key=lambda queued: queued["update_id"])
                self._confirmed_up_to = min(self._confirmed_up_to, update_id)
                self._changed.fire()
                return
        raise ValueError(f"update {update_id} was never delivered, so it cannot be delivered again")

    async def _suffer_outage(self, call: CallRecord, request: web.Request) -> web.Response | None:
        """Fail the call as the current outage says; None lets it through."""
        outage = self._outage
        if outage is None or call.method.lower() in outage.spare:
            return None
        call.injected = True
        try:  # which chat it concerns, so a test can follow a conversation through the outage
            raw, from_form = await self._read_params(request)
            method = self.spec.canonical(call.method)
            params = self.spec.coerce(method, raw, from_form) if method else raw
            call.params = {k: v for k, v in params.items() if not isinstance(v, _Upload)}
            call.chat_id = self._chat_id_of(method or call.method, params)
        except ApiError:
            pass
        if outage.mode == "500":
            return self._outage_answer(call, 500, "Internal Server Error")
        if outage.mode == "close":
            call.status, call.description = 0, "connection closed without a response (outage)"
            self._changed.fire()
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)  # never reaches the bot: the connection is gone
        try:  # "hang"
            await asyncio.wait_for(outage.over.wait(), outage.hold)
        except asyncio.TimeoutError:
            pass
        except asyncio.CancelledError:
            call.cancelled = True  # the bot gave up waiting
            self._changed.fire()
            raise
        # Never acted on, even if the outage is over: the bot may have given up on it (its
        # hang-up can reach us after the end), and a request acted on after that would be
        # a send the bot cannot know about.
        return self._outage_answer(call, 502, "Bad Gateway")

    def _outage_answer(self, call: CallRecord, code: int, description: str) -> web.Response:
        call.status, call.description = code, description
        self._changed.fire()
        return web.json_response({"ok": False, "error_code": code, "description": description}, status=code)

    # -- observation ---------------------------------------------------------------------

    @property
    def errors(self) -> list[CallRecord]:
        """Refused calls, except the ones the test caused (inject) or expected (forget_errors)."""
        return [
            c for c in self.calls
            if c.status and c.status >= 400 and not (c.injected or c.expected)
        ]

    def forget_errors(self, status: int | None = None, method: str | None = None) -> list[CallRecord]:
        """Declare the refusals so far (of this status / method) expected: they leave `errors`.

        For a test that provokes a refusal on purpose, e.g. a send racing a user's block.
        Returns the calls it took out of `errors`.
        """
        forgotten = [
            c for c in self.errors
            if (status is None or c.status == status) and (method is None or c.method == method)
        ]
        for c in forgotten:
            c.expected = True
        return forgotten

    def unanswered_callback_queries(self, user_id: int | None = None) -> list[dict]:
        """Taps the bot has not answered yet: [{"id", "user_id", "message_id", "data"}]."""
        return [
            {"id": qid, "user_id": q.user_id, "message_id": q.message_id, "data": q.data}
            for qid, q in self._queries.items()
            if not q.answered and (user_id is None or q.user_id == user_id)
        ]

    def chat_log(self, chat_id: int) -> list[SentMessage]:
        """The bot's messages in a chat, oldest first, each in its current state."""
        return list(self._log.get(chat_id, []))

    def sent_message(self, chat_id: int, message_id: int) -> SentMessage | None:
        return self._sent.get((chat_id, message_id))

    def commands_for(self, scope: dict | None = None, language_code: str = "") -> list[dict] | None:
        """What setMyCommands stored for a scope (a BotCommandScope dict) and language."""
        return self.commands.get((_scope_key(scope), language_code))

    def calls_for(self, chat_id: int) -> list[CallRecord]:
        return [c for c in self.calls if c.chat_id == chat_id]

    @property
    def last_update_id(self) -> int:
        """The id of the newest update pushed (0 before the first)."""
        return self._last_update_id

    def delivered(self, update_id: int) -> bool:
        """Whether getUpdates has handed this update to the bot."""
        return update_id <= self._delivered_up_to

    @property
    def pending_updates(self) -> list[dict]:
        return [u for u in self._updates if u["update_id"] > self._delivered_up_to]

    async def wait_for(
        self, predicate: Callable[[], Any], timeout: float = 10, what: str | None = None
    ) -> Any:
        """Wait until predicate() is truthy, re-checking it after every call the bot makes.

        Returns the predicate's value. Raises asyncio.TimeoutError, naming `what` (or the
        predicate) and the last calls, when `timeout` seconds pass first.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise asyncio.TimeoutError(
                    f"timed out after {timeout}s waiting for "
                    f"{what or getattr(predicate, '__name__', 'a condition')}; "
                    f"last calls of the bot: {self._describe_calls(self.calls[-8:])}"
                )
            await self._changed.wait(remaining)

    @staticmethod
    def _describe_calls(calls: list[CallRecord]) -> str:
        if not calls:
            return "(none)"
        parts = []
        for c in calls:
            outcome = "pending" if c.status is None else str(c.status)
            if c.description:
                outcome += f" {c.description}"
            parts.append(f"{c.method}(chat={c.chat_id}) -> {outcome}")
        return "; ".join(parts)

    # -- the user side ---------------------------------------------------------------------

    def user(self, user_id: int, first_name: str = "Ann", language_code: str = "en") -> dict:
        """Register (or update) a Telegram user and their private chat with the bot."""
        user = {"id": user_id, "is_bot": False, "first_name": first_name}
        if language_code:
            user["language_code"] = language_code
        self._users[user_id] = user
        self._chats[user_id] = {"id": user_id, "type": "private", "first_name": first_name}
        return dict(user)

    def group(self, chat_id: int, title: str) -> dict:
        """Register a group the bot is a member of. Ids starting with -100 are supergroups."""
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        self._chats[chat_id] = {"id": chat_id, "type": kind, "title": title}
        self._bot_status[chat_id] = "member"
        return dict(self._chats[chat_id])

    def block(self, user_id: int) -> None:
        """The user blocks the bot: sends and edits to them fail with 403 from now on.

        This does not queue the my_chat_member update Telegram also sends; use
        push_my_chat_member(...) for that (which blocks too).
        """
        self._blocked.add(user_id)

    def unblock(self, user_id: int) -> None:
        self._blocked.discard(user_id)

    def push_text(self, user_id: int, text: str) -> dict:
        """The user sends `text` to the bot. Returns the Message object."""
        self._ensure_user(user_id)
        return self._push_user_message(user_id, user_id, {"text": text, **_command_entities(text)})

    def push_group_text(self, chat_id: int, user_id: int, text: str) -> dict:
        if chat_id not in self._chats:
            raise ValueError(f"unknown group {chat_id}: call group(chat_id, title) first")
        self._ensure_user(user_id)
        return self._push_user_message(chat_id, user_id, {"text": text, **_command_entities(text)})

    def push_message(self, user_id: int, *, kind: str | None = None, **fields: Any) -> dict:
        """The user sends any message: push_message(uid, kind="sticker") builds a plausible
        sticker; push_message(uid, sticker={"emoji": "👍"}) completes the given object.
        Known kinds: sticker, photo, voice, audio, video, video_note, animation, document,
        location, contact. Other fields (caption=...) are copied as given."""
        self._ensure_user(user_id)
        content: dict[str, Any] = {}
        if kind is not None:
            content[kind] = self._default_content(kind, user_id)
        for name, value in fields.items():
            if isinstance(value, dict) and name in _DEFAULT_CONTENT_KINDS:
                value = {**self._default_content(name, user_id), **value}
            content[name] = value
        if not content:
            raise ValueError("push_message needs kind=... or message fields")
        return self._push_user_message(user_id, user_id, content)

    def push_contact(
        self,
        user_id: int,
        phone_number: str,
        contact_user_id: int | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
    ) -> dict:
        """The user shares a contact. Sharing their own (the request_contact button) means
        contact_user_id == user_id, which is how a bot tells it is not someone else's."""
        user = self._ensure_user(user_id)
        contact: dict[str, Any] = {
            "phone_number": phone_number,
            "first_name": first_name or user["first_name"],
        }
        if last_name:
            contact["last_name"] = last_name
        if contact_user_id is not None:
            contact["user_id"] = contact_user_id
        return self._push_user_message(user_id, user_id, {"contact": contact})

    def push_callback(
        self, user_id: int, message_id: int, data: str, *, chat_id: int | None = None
    ) -> str:
        """The user taps an inline button carrying `data` on bot message `message_id`.
        Returns the callback query id the bot has to answer."""
        user = self._ensure_user(user_id)
        chat_id = user_id if chat_id is None else chat_id
        sent = self._sent.get((chat_id, message_id))
        if sent is None or sent.deleted:
            raise ValueError(f"no bot message {message_id} in chat {chat_id} to tap on")
        query_id = str(4_300_000_000_000_000_000 + next(self._query_counter))
        self._queries[query_id] = _CallbackQuery(user_id, chat_id, message_id, data)
        self._queue_update(
            "callback_query",
            {
                "id": query_id,
                "from": user,
                "message": copy.deepcopy(sent.message),  # as the user's app shows it now
                "chat_instance": str(-7_000_000_000 - abs(chat_id)),
                "data": data,
            },
        )
        return query_id

    def push_edited_text(self, user_id: int, message_id: int, text: str) -> dict:
        """The user edits a text message of theirs. Returns the edited Message object."""
        message = self._messages.get(user_id, {}).get(message_id)
        if message is None or message.get("from", {}).get("id") != user_id or "text" not in message:
            raise ValueError(f"user {user_id} has no text message {message_id} to edit")
        message.pop("entities", None)
        message.update(text=text, edit_date=int(time.time()), **_command_entities(text))
        self._queue_update("edited_message", copy.deepcopy(message))
        return message

    def push_my_chat_member(
        self, chat: dict | int, user_id: int, old_status: str, new_status: str
    ) -> int:
        """The bot's membership in `chat` changes, done by `user_id`. Returns the update id.

        In a private chat "member" -> "kicked" is the user blocking the bot (and
        "kicked" -> "member" unblocking it); the stand-in then refuses or allows sends
        accordingly. With a group chat dict this also registers the group, e.g. adding the
        bot: push_my_chat_member({"id": -5, "type": "group", "title": "T"}, uid, "left",
        "member")."""
        user = self._ensure_user(user_id)
        if isinstance(chat, int):
            if chat not in self._chats:
                raise ValueError(f"unknown chat {chat}")
            chat = self._chats[chat]
        chat = dict(chat)
        self._chats.setdefault(chat["id"], chat)
        if chat["type"] == "private":
            if new_status == "kicked":
                self._blocked.add(chat["id"])
            elif new_status == "member":
                self._blocked.discard(chat["id"])
        else:
            self._bot_status[chat["id"]] = new_status
        self._queue_update(
            "my_chat_member",
            {
                "chat": chat,
                "from": user,
                "date": int(time.time()),
                "old_chat_member": self._chat_member(old_status),
                "new_chat_member": self._chat_member(new_status),
            },
        )
        return self._last_update_id

    # helpers of the user side

    def _ensure_user(self, user_id: int) -> dict:
        if user_id not in self._users:
            self.user(user_id)
        return self._users[user_id]

    def _push_user_message(self, chat_id: int, user_id: int, content: dict) -> dict:
        message = {
            "message_id": self._take_message_id(chat_id),
            "from": self._users[user_id],
            "chat": self._chats[chat_id],
            "date": int(time.time()),
            **content,
        }
        self._messages.setdefault(chat_id, {})[message["message_id"]] = message
        self._queue_update("message", copy.deepcopy(message))
        return message

    def _queue_update(self, kind: str, payload: dict) -> None:
        update_id = next(self._update_counter)
        self._last_update_id = update_id
        self._updates.append({"update_id": update_id, kind: payload})
        self._changed.fire()

    def _chat_member(self, status: str) -> dict:
        """A ChatMember object for the bot with `status`, complete enough for PTB."""
        type_name = {
            "creator": "ChatMemberOwner",
            "administrator": "ChatMemberAdministrator",
            "member": "ChatMemberMember",
            "restricted": "ChatMemberRestricted",
            "left": "ChatMemberLeft",
            "kicked": "ChatMemberBanned",
        }.get(status)
        if type_name is None:
            raise ValueError(f"unknown chat member status {status!r}")
        return self.spec.fill_required(type_name, {"status": status, "user": self.bot_user})

    def _new_file(self, data: bytes | None, filename: str | None, mime: str | None) -> _StoredFile:
        n = next(self._file_counter)
        stored = _StoredFile(f"STANDIN-FILE-{n:06d}", f"uniq{n:06d}", data, filename, mime)
        self._files[stored.file_id] = stored
        return stored

    def _default_content(self, kind: str, user_id: int) -> Any:
        """A plausible object of the given kind, as a user's client would send it."""
        if kind == "location":
            return {"latitude": 52.52, "longitude": 13.405}
        if kind == "contact":
            user = self._users[user_id]
            return {"phone_number": "+15550100", "first_name": user["first_name"], "user_id": user_id}
        if kind not in _DEFAULT_CONTENT_KINDS:
            raise ValueError(f"unknown message kind {kind!r}")
        stored = self._new_file(b"", None, _DEFAULT_CONTENT_KINDS[kind])
        ids = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
        if kind == "photo":
            return [
                {"file_id": ids["file_id"] + "-s", "file_unique_id": ids["file_unique_id"] + "s",
                 "width": 90, "height": 90},
                {**ids, "width": 1280, "height": 1280},
            ]
        if kind == "sticker":
            return {**ids, "type": "regular", "width": 512, "height": 512,
                    "is_animated": False, "is_video": False, "emoji": "👍"}
        if kind in ("voice", "audio"):
            return {**ids, "duration": 3, "mime_type": stored.mime_type}
        if kind == "video_note":
            return {**ids, "length": 240, "duration": 3}
        if kind in ("video", "animation"):
            return {**ids, "width": 640, "height": 360, "duration": 3}
        return {**ids, "file_name": "file.pdf", "mime_type": stored.mime_type}  # document

    # -- shared checks of the bot side ----------------------------------------------------

    def _chat_by_username(self, ref: str) -> dict | None:
        name = ref.lstrip("@").lower()
        for chat in self._chats.values():
            if chat.get("username", "").lower() == name:
                return chat
        return None

    def _chat(self, params: dict, key: str = "chat_id") -> dict:
        """The chat a call names, or Telegram's "chat not found"."""
        ref = params.get(key)
        chat = self._chats.get(ref) if isinstance(ref, int) else None
        if chat is None and isinstance(ref, str):
            chat = self._chat_by_username(ref)
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        return chat

    def _check_can_write(self, chat: dict) -> None:
        """Refuse like Telegram when the bot may no longer write to the chat."""
        if chat["type"] == "private":
            if chat["id"] in self._blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            return
        status = self._bot_status.get(chat["id"], "member")
        if status == "kicked":
            raise ApiError(403, "Forbidden: bot was kicked from the group chat")
        if status == "left":
            raise ApiError(403, "Forbidden: bot is not a member of the group chat")

    def _format(
        self,
        text: str | None,
        parse_mode: str | None,
        entities: list | None,
        *,
        limit: int,
        too_long: str,
        required: bool,
    ) -> tuple[str, list[dict]]:
        """Turn a text or caption into (plain text, entities), refusing what Telegram refuses."""
        text = text or ""
        mode = (parse_mode or "").lower()
        if mode == "html":
            parsed = parse_html_entities(text)
            if parsed.error:
                raise ApiError(400, f"Bad Request: {parsed.error}")
            plain, found = parsed.text, parsed.entities
        elif mode in ("markdown", "markdownv2"):
            raise ApiError(400, f"Bad Request: parse_mode {parse_mode} is not implemented by the stand-in")
        elif mode:
            raise ApiError(400, f"Bad Request: unsupported parse_mode {parse_mode}")
        else:
            plain, found = trim_like_telegram(text, [dict(e) for e in entities or []])
        if required and not plain:
            raise ApiError(400, "Bad Request: message text is empty")
        if telegram_length(plain) > limit:
            raise ApiError(400, too_long)
        return plain, found

    def _check_markup(self, markup: Any, *, inline_only: bool = False) -> dict | None:
        """Validate a reply_markup the way Telegram does; returns it unchanged."""
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            self._check_inline_keyboard(markup["inline_keyboard"])
        elif inline_only:
            # Wording is ours: edits take only inline keyboards.
            raise ApiError(400, "Bad Request: inline keyboard expected")
        elif "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
            for row in rows:
                for button in row:
                    label = button if isinstance(button, str) else (
                        button.get("text") if isinstance(button, dict) else None)
                    if not isinstance(label, str) or not label:
                        raise ApiError(
                            400,
                            'Bad Request: can\'t parse keyboard button: Field "text" must be of type String',
                        )
        elif "remove_keyboard" in markup:
            if markup["remove_keyboard"] is not True:
                raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        elif "force_reply" in markup:
            if markup["force_reply"] is not True:
                raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        else:
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        return markup

    def _check_inline_keyboard(self, rows: Any) -> None:
        bad_json = ApiError(400, "Bad Request: can't parse inline keyboard markup JSON object")
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad_json
        spec_fields = {f["name"]: f["types"] for f in self.spec.type_fields("InlineKeyboardButton")}
        # "Exactly one of the fields other than text, icon_custom_emoji_id, and style".
        actions = [n for n in spec_fields if n not in ("text", "icon_custom_emoji_id", "style")]
        count = 0
        for row in rows:
            for button in row:
                count += 1
                if not isinstance(button, dict):
                    raise bad_json
                prefix = "Bad Request: can't parse inline keyboard button: "
                for name, types in spec_fields.items():
                    if name in button and types == ["String"] and not isinstance(button[name], str):
                        raise ApiError(400, f'{prefix}Field "{name}" must be of type String')
                if not button.get("text"):
                    raise ApiError(400, f'{prefix}Field "text" must be of type String')
                chosen = [a for a in actions if a in button]
                if not chosen:
                    raise ApiError(400, f"{prefix}Text buttons are unallowed in the inline keyboard")
                if len(chosen) > 1:
                    # Wording is ours; the documentation says exactly one must be used.
                    raise ApiError(
                        400, f"{prefix}exactly one of {', '.join(chosen)} may be used in a button"
                    )
                if "callback_data" in button:
                    size = len(button["callback_data"].encode("utf-8"))
                    if not 1 <= size <= MAX_CALLBACK_DATA:
                        raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                if "url" in button:
                    url = button["url"]
                    scheme = url.split(":", 1)[0].lower() if "://" in url else "http"
                    if not url or re.search(r"\s", url) or scheme not in ("http", "https", "tg"):
                        raise ApiError(
                            400, f"Bad Request: inline keyboard button URL '{url}' is invalid: Wrong HTTP URL"
                        )
        if count > 100:
            raise ApiError(400, "Bad Request: reply markup is too long")

    def _take_message_id(self, chat_id: int) -> int:
        # Private chats number messages per user, shared by both directions, as Telegram does.
        self._next_message_id[chat_id] = self._next_message_id.get(chat_id, 0) + 1
        return self._next_message_id[chat_id]

    def _reply_to(self, chat_id: int, params: dict) -> dict | None:
        reply = params.get("reply_parameters")
        if not reply:
            return None
        target_chat = reply.get("chat_id", chat_id)
        target = self._messages.get(target_chat, {}).get(reply.get("message_id"))
        if target is None:
            if reply.get("allow_sending_without_reply"):
                return None
            raise ApiError(400, "Bad Request: message to be replied not found")
        snapshot = dict(target)
        snapshot.pop("reply_to_message", None)  # Telegram nests only one level
        return snapshot

    def _deliver(
        self,
        method: str,
        chat: dict,
        params: dict,
        content: dict,
        *,
        html: str | None,
        plain: str,
        entities: list[dict],
        stored: _StoredFile | None = None,
    ) -> dict:
        """Create a bot message (after every check passed) and log it."""
        reply_to = self._reply_to(chat["id"], params)
        self._rate.admit(chat["id"], chat["type"] != "private", bool(params.get("allow_paid_broadcast")))
        markup = params.get("reply_markup")
        message = {
            "message_id": self._take_message_id(chat["id"]),
            "from": self.bot_user,
            "chat": chat,
            "date": int(time.time()),
            **content,
        }
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        if _inline_markup(markup):
            message["reply_markup"] = markup
        self._messages.setdefault(chat["id"], {})[message["message_id"]] = message
        sent = SentMessage(
            chat_id=chat["id"],
            message_id=message["message_id"],
            kind=_message_kind(message),
            html=html,
            text=plain,
            entities=entities,
            reply_markup=markup,
            message=message,
            method=method,
            params={k: v for k, v in params.items() if not isinstance(v, _Upload)},
            parse_mode=params.get("parse_mode"),
            contact=content.get("contact"),
            reply_to_message_id=reply_to["message_id"] if reply_to else None,
        )
        if stored is not None:
            sent.file, sent.filename = stored.data, stored.filename
            sent.mime_type, sent.file_id = stored.mime_type, stored.file_id
        self._sent[(chat["id"], sent.message_id)] = sent
        self._log.setdefault(chat["id"], []).append(sent)
        return message

    def _writable_chat(self, params: dict) -> dict:
        chat = self._chat(params)
        self._check_can_write(chat)
        return chat

    # -- methods: bot, updates, settings ------------------------------------------------------

    async def _true(self, params: dict, raw: dict) -> bool:
        return True

    async def _get_me(self, params: dict, raw: dict) -> dict:
        me = dict(self.bot_user)
        # The fields "returned only in getMe" are all booleans; a plain test bot has none set.
        for f in self.spec.type_fields("User"):
            if "getMe" in f["description"] and f["types"] == ["Boolean"]:
                me.setdefault(f["name"], False)
        me["can_join_groups"] = True
        return me

    async def _get_updates(self, params: dict, request: web.Request) -> list[dict]:
        if "allowed_updates" in params:
            # Telegram remembers the last list passed; an empty list means "the default".
            self._allowed_updates = set(params["allowed_updates"]) or None
        offset = params.get("offset")
        if offset is not None:
            if offset < 0:  # -N: forget all but the last N updates
                self._updates = self._updates[offset:]
            else:  # confirms every update below offset
                self._confirmed_up_to = max(self._confirmed_up_to, offset)
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
        limit = min(max(params.get("limit") or 100, 1), 100)
        timeout = max(params.get("timeout") or 0, 0)

        # One poll at a time: a new getUpdates ends the one being held.
        if self._poll is not None:
            self._poll.superseded = True
            self._changed.fire()
        poll = self._poll = _Poll(request)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while True:
                batch = self._deliverable(limit)
                remaining = deadline - loop.time()
                if batch or remaining <= 0 or self._closing or poll.superseded:
                    break
                await self._changed.wait(remaining)
        finally:
            if self._poll is poll:
                self._poll = None
        if poll.superseded and not batch:
            # Telegram answers the older of two concurrent polls with 409. A poll whose bot
            # has hung up (PTB cancels it when stopping) has nobody to answer: give it a
            # moment to be cancelled instead of recording a conflict nobody caused.
            await asyncio.sleep(0.1)
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; make sure that only one "
                "bot instance is running",
            )
        if batch:
            self._delivered_up_to = max(self._delivered_up_to, batch[-1]["update_id"])
        return batch

    def _deliverable(self, limit: int) -> list[dict]:
        """The next updates for the bot, dropping those of types it did not ask for."""
        allowed = self._allowed_updates

        def wanted(update: dict) -> bool:
            kind = next(k for k in update if k != "update_id")
            return kind in allowed if allowed is not None else kind not in DEFAULT_EXCLUDED_UPDATES

        # Telegram never stores updates of types the bot did not ask for.
        self._updates = [u for u in self._updates if wanted(u)]
        return copy.deepcopy(self._updates[:limit])

    async def _delete_webhook(self, params: dict, raw: dict) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _get_webhook_info(self, params: dict, raw: dict) -> dict:
        return {"url": "", "has_custom_certificate": False, "pending_update_count": len(self._updates)}

    async def _set_my_commands(self, params: dict, raw: dict) -> bool:
        commands = params["commands"]
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        for command in commands:
            name = command.get("command") if isinstance(command, dict) else None
            if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            description = command.get("description")
            if not isinstance(description, str) or not description.strip():
                raise ApiError(400, "Bad Request: command description must be non-empty")
            if len(description) > 256:
                # Wording is ours; the documented limit is 256 characters.
                raise ApiError(400, "Bad Request: command description is too long")
        key = (_scope_key(params.get("scope")), params.get("language_code", ""))
        self.commands[key] = [{"command": c["command"], "description": c["description"]} for c in commands]
        return True

    async def _get_my_commands(self, params: dict, raw: dict) -> list[dict]:
        return self.commands_for(params.get("scope"), params.get("language_code", "")) or []

    async def _delete_my_commands(self, params: dict, raw: dict) -> bool:
        self.commands.pop((_scope_key(params.get("scope")), params.get("language_code", "")), None)
        return True

    def _set_my_text(self, field_name: str, store: dict[str, str], limit: int) -> Callable:
        """setMyDescription / setMyShortDescription / setMyName: one text per language."""

        async def handler(params: dict, raw: dict) -> bool:
            value = params.get(field_name, "")
            if len(value) > limit:
                # Wording is ours; the limit is the documented one.
                raise ApiError(400, f"Bad Request: {field_name.replace('_', ' ')} is too long")
            language = params.get("language_code", "")
            if value:
                store[language] = value
            else:
                store.pop(language, None)
            return True

        return handler

    def _get_my_text(self, field_name: str, store: dict[str, str]) -> Callable:
        async def handler(params: dict, raw: dict) -> dict:
            language = params.get("language_code", "")
            return {field_name: store.get(language, store.get("", ""))}

        return handler

    async def _set_chat_menu_button(self, params: dict, raw: dict) -> bool:
        chat_id = params.get("chat_id")
        if chat_id is not None:
            self._chat(params)
        self.menu_buttons[chat_id] = params.get("menu_button") or {"type": "default"}
        return True

    async def _get_chat_menu_button(self, params: dict, raw: dict) -> dict:
        default = self.menu_buttons.get(None, {"type": "commands"})
        return self.menu_buttons.get(params.get("chat_id"), default)

    async def _get_chat(self, params: dict, raw: dict) -> dict:
        chat = self._chat(params)
        info = self.spec.fill_required("ChatFullInfo", dict(chat))
        info.update(max_reaction_count=11)
        info["accepted_gift_types"] = self.spec.fill_required("AcceptedGiftTypes", {})
        return info

    async def _leave_chat(self, params: dict, raw: dict) -> bool:
        chat = self._chat(params)
        if chat["type"] == "private":
            # Wording is ours: a bot cannot leave a private chat.
            raise ApiError(400, "Bad Request: chat member status can't be changed in private chats")
        self._bot_status[chat["id"]] = "left"
        return True

    # -- methods: sending -----------------------------------------------------------------------

    async def _send_message(self, params: dict, raw: dict) -> dict:
        chat = self._writable_chat(params)
        plain, entities = self._format(
            params["text"], params.get("parse_mode"), params.get("entities"),
            limit=MAX_MESSAGE, too_long="Bad Request: message is too long", required=True,
        )
        self._check_markup(params.get("reply_markup"))
        content: dict[str, Any] = {"text": plain}
        if entities:
            content["entities"] = entities
        return self._deliver(
            "sendMessage", chat, params, content, html=params["text"], plain=plain, entities=entities
        )

    async def _send_contact(self, params: dict, raw: dict) -> dict:
        chat = self._writable_chat(params)
        self._check_markup(params.get("reply_markup"))
        fields = ("phone_number", "first_name", "last_name", "vcard")
        contact = {k: params[k] for k in fields if k in params}
        return self._deliver(
            "sendContact", chat, params, {"contact": contact}, html=None, plain="", entities=[]
        )

    async def _send_location(self, params: dict, raw: dict) -> dict:
        chat = self._writable_chat(params)
        self._check_markup(params.get("reply_markup"))
        location = {"latitude": params["latitude"], "longitude": params["longitude"]}
        return self._deliver(
            "sendLocation", chat, params, {"location": location}, html=None, plain="", entities=[]
        )

    async def _send_chat_action(self, params: dict, raw: dict) -> bool:
        chat = self._writable_chat(params)
        if params["action"] not in CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        # Not rate limited: Telegram's message limits are about messages.
        self.chat_actions.append((chat["id"], params["action"]))
        return True

    def _media_sender(self, kind: str) -> Callable:
        method = next(m for m, k in MEDIA_METHODS.items() if k == kind)

        async def handler(params: dict, raw: dict) -> dict:
            chat = self._writable_chat(params)
            stored = self._resolve_file(params[kind], raw, kind)
            caption = params.get("caption")
            plain, entities = self._format(
                caption, params.get("parse_mode"), params.get("caption_entities"),
                limit=MAX_CAPTION, too_long="Bad Request: message caption is too long", required=False,
            )
            self._check_markup(params.get("reply_markup"))
            content: dict[str, Any] = {kind: self._media_object(kind, stored)}
            if plain:
                content["caption"] = plain
                if entities:
                    content["caption_entities"] = entities
            return self._deliver(method, chat, params, content, html=caption, plain=plain,
                                 entities=entities, stored=stored)

        return handler

    def _resolve_file(self, value: Any, raw: dict, kind: str) -> _StoredFile:
        """An uploaded part (under the parameter's name or attach://name), a file_id or a URL."""
        if isinstance(value, str) and value.startswith("attach://"):
            value = raw.get(value[len("attach://"):])
            if not isinstance(value, _Upload):
                raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        if isinstance(value, _Upload):
            if not value.data:
                raise ApiError(400, "Bad Request: file must be non-empty")
            if kind == "photo" and not _looks_like_image(value.data):
                raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
            mime = value.mime_type
            if not mime or mime == "application/octet-stream":
                mime = mimetypes.guess_type(value.filename or "")[0] or mime
            return self._new_file(value.data, value.filename, mime)
        if isinstance(value, str) and re.match(r"https?://", value):
            # Telegram would download it; the stand-in keeps the URL only.
            return self._new_file(None, value.rsplit("/", 1)[-1] or None, None)
        if isinstance(value, str) and value in self._files:
            return self._files[value]
        raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    def _media_object(self, kind: str, stored: _StoredFile) -> Any:
        ids = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
        size = {"file_size": len(stored.data)} if stored.data else {}
        if kind == "photo":
            # Telegram stores several sizes; the real ones depend on the image.
            width, height = _image_size(stored.data or b"") or (800, 600)
            scale = 90 / max(width, height, 1)
            return [
                {**ids, "file_id": stored.file_id + "-s", "file_unique_id": stored.file_unique_id + "s",
                 "width": max(1, round(width * scale)), "height": max(1, round(height * scale))},
                {**ids, "width": width, "height": height, **size},
            ]
        obj: dict[str, Any] = {**ids, **size}
        if kind in ("document", "audio", "video", "animation") and stored.filename:
            obj["file_name"] = stored.filename
        if kind != "sticker" and stored.mime_type and kind != "video_note":
            obj["mime_type"] = stored.mime_type
        if kind == "sticker":
            obj.update(type="regular", width=512, height=512, is_animated=False, is_video=False)
        if kind in ("audio", "voice", "video", "animation", "video_note"):
            obj["duration"] = 0
        if kind in ("video", "animation"):
            obj.update(width=640, height=360)
        if kind == "video_note":
            obj["length"] = 240
        return obj

    async def _copy_message(self, params: dict, raw: dict) -> dict:
        chat = self._writable_chat(params)
        source_chat = self._chat(params, "from_chat_id")
        source = self._messages.get(source_chat["id"], {}).get(params["message_id"])
        if source is None:
            raise ApiError(400, "Bad Request: message to copy not found")
        kind = _message_kind(source)
        content = {k: source[k] for k in (kind, "entities") if k in source}
        html, plain, entities = source.get("text"), source.get("text", ""), source.get("entities", [])
        if kind != "text":
            caption = params.get("caption", source.get("caption"))
            caption_entities = params.get("caption_entities", source.get("caption_entities"))
            plain, entities = self._format(
                caption, params.get("parse_mode"), caption_entities,
                limit=MAX_CAPTION, too_long="Bad Request: message caption is too long", required=False,
            )
            html = caption
            if plain:
                content["caption"] = plain
                if entities:
                    content["caption_entities"] = entities
        self._check_markup(params.get("reply_markup"))
        message = self._deliver(
            "copyMessage", chat, params, content, html=html, plain=plain, entities=entities
        )
        return {"message_id": message["message_id"]}

    # -- methods: editing, deleting, callbacks ----------------------------------------------------

    def _editable(self, params: dict) -> SentMessage:
        """The bot message an edit names, after Telegram's checks."""
        if params.get("inline_message_id"):
            # Inline mode is not modelled: there are no inline messages to edit.
            raise ApiError(400, "Bad Request: message to edit not found")
        if params.get("chat_id") is None:
            raise ApiError(400, "Bad Request: chat_id is empty")
        if params.get("message_id") is None:
            raise ApiError(400, "Bad Request: message identifier is not specified")
        chat = self._chat(params)
        self._check_can_write(chat)
        message = self._messages.get(chat["id"], {}).get(params["message_id"])
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        sent = self._sent.get((chat["id"], params["message_id"]))
        if sent is None:
            raise ApiError(400, "Bad Request: message can't be edited")
        return sent

    def _apply_edit(self, sent: SentMessage, changes: dict, markup: dict | None) -> dict:
        """Store an edit. A missing reply_markup removes the inline keyboard, as in Telegram."""
        message = sent.message
        for key in ("text", "entities", "caption", "caption_entities"):
            if key in changes:
                if changes[key]:
                    message[key] = changes[key]
                else:
                    message.pop(key, None)
        if markup is not None:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        if sent.reply_markup is None or "inline_keyboard" in sent.reply_markup or markup is not None:
            sent.reply_markup = markup
        message["edit_date"] = int(time.time())
        sent.edit_count += 1
        return copy.deepcopy(message)

    async def _edit_message_text(self, params: dict, raw: dict) -> dict:
        sent = self._editable(params)
        if "text" not in sent.message:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        plain, entities = self._format(
            params["text"], params.get("parse_mode"), params.get("entities"),
            limit=MAX_MESSAGE, too_long="Bad Request: message is too long", required=True,
        )
        markup = self._check_markup(params.get("reply_markup"), inline_only=True)
        if (
            plain == sent.message.get("text")
            and entities == sent.message.get("entities", [])
            and markup == sent.message.get("reply_markup")
        ):
            raise ApiError(400, NOT_MODIFIED)
        sent.html, sent.text, sent.entities = params["text"], plain, entities
        sent.parse_mode = params.get("parse_mode")
        return self._apply_edit(sent, {"text": plain, "entities": entities}, markup)

    async def _edit_message_caption(self, params: dict, raw: dict) -> dict:
        sent = self._editable(params)
        if sent.kind in ("text", "contact", "location", "sticker", "video_note"):
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        plain, entities = self._format(
            params.get("caption"), params.get("parse_mode"), params.get("caption_entities"),
            limit=MAX_CAPTION, too_long="Bad Request: message caption is too long", required=False,
        )
        markup = self._check_markup(params.get("reply_markup"), inline_only=True)
        if (
            plain == sent.message.get("caption", "")
            and entities == sent.message.get("caption_entities", [])
            and markup == sent.message.get("reply_markup")
        ):
            raise ApiError(400, NOT_MODIFIED)
        sent.html, sent.text, sent.entities = params.get("caption"), plain, entities
        sent.parse_mode = params.get("parse_mode")
        return self._apply_edit(sent, {"caption": plain, "caption_entities": entities}, markup)

    async def _edit_message_reply_markup(self, params: dict, raw: dict) -> dict:
        sent = self._editable(params)
        markup = self._check_markup(params.get("reply_markup"), inline_only=True)
        if markup == sent.message.get("reply_markup"):
            raise ApiError(400, NOT_MODIFIED)
        return self._apply_edit(sent, {}, markup)

    async def _delete_message(self, params: dict, raw: dict) -> bool:
        chat = self._chat(params)
        messages = self._messages.get(chat["id"], {})
        message = messages.get(params["message_id"])
        if message is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        sent = self._sent.get((chat["id"], params["message_id"]))
        if sent is None and chat["type"] != "private":
            # Bots delete others' messages in groups only as admins; not modelled.
            raise ApiError(400, "Bad Request: message can't be deleted")
        del messages[params["message_id"]]
        if sent is not None:
            sent.deleted = True
        return True

    async def _answer_callback_query(self, params: dict, raw: dict) -> bool:
        query_id = str(params["callback_query_id"])
        query = self._queries.get(query_id)
        if query is None or query.answered:
            raise ApiError(400, QUERY_INVALID)
        if len(params.get("text") or "") > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        query.answered = True
        self.callback_answers[query_id] = {
            k: params[k] for k in ("text", "show_alert", "url", "cache_time") if k in params
        }
        return True


# Kinds push_message can build, with the MIME type their files have.
_DEFAULT_CONTENT_KINDS = {
    "sticker": "image/webp",
    "photo": "image/jpeg",
    "voice": "audio/ogg",
    "audio": "audio/mpeg",
    "video": "video/mp4",
    "video_note": "video/mp4",
    "animation": "video/mp4",
    "document": "application/pdf",
    "location": None,
    "contact": None,
}


def _command_entities(text: str) -> dict:
    """The bot_command entity Telegram adds when a text starts with "/command"."""
    match = re.match(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@])", text)
    if not match:
        return {}
    length = telegram_length(match.group(0))
    return {"entities": [{"type": "bot_command", "offset": 0, "length": length}]}
