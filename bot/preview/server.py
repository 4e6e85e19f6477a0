"""The preview process: the Bot API stand-in, the real bot, and the page's web server.

Start order matters for clear failures: the web port is taken first (an occupied port is
one line and exit 2, before anything else runs), then the stand-in, then the bot against
it. Stop runs the other way round. Everything listens on 127.0.0.1 only.

The page talks to a small JSON API (all under /api/):

    GET  state?chat=ID&tag=T   the chat list, one chat, the clock, the content status;
                               waits up to LONG_POLL seconds while nothing changed since T
    POST send     {chat, text}            the persona sends a text (or a command)
    POST tap      {chat, message, data}   the persona taps an inline button
    POST share    {chat, kind}            contact (their own) / location / sticker / photo / voice
    POST clock    {advance: seconds} | {to: "next_reminder"}
    POST content/reload                   re-read content/, swap it in if it passes the check
    GET  file/CHAT/MESSAGE                a photo or document the bot sent
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import json
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

from aiohttp import web
from telegram.ext import Application

from bot.app import build_application, register_commands, running
from bot.check import placeholders_for, run_checks
from bot.config import Settings
from bot.content import Content, Problem, has_errors, load_content
from bot.preview.chat import Chat
from bot.preview.clock import OffsetClock, next_reminder_due
from bot.preview.settings import Persona, PreviewConfig
from bot.services import Services
from bot.standin import BotApiStandIn

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
# The stand-in checks the bot's token like Telegram; this one exists only in this process.
PREVIEW_TOKEN = "1000001:preview-standin-token-not-a-secret"
BOT_USERNAME = "clinic_preview_bot"
LONG_POLL = 25.0  # seconds a state request waits for something to change
TAP_TIMEOUT = 10.0  # seconds the bot gets to answer a tap, as the Telegram app waits
MAX_TEXT = 4096
SHARE_KINDS = ("contact", "location", "sticker", "photo", "voice")
# The page runs no inline script and loads nothing from elsewhere; files the bot sent are
# served as downloads so a document can never run as a page of this origin.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class PreviewError(Exception):
    """Stops the preview with this one line (exit 2), after `details` (content problems)."""

    def __init__(self, message: str, details: list[str] = ()) -> None:
        super().__init__(message)
        self.details = list(details)


@dataclass
class ContentStatus:
    ok: bool
    problems: list[Problem]
    checked_at: datetime

    def as_json(self) -> dict:
        return {
            "ok": self.ok,
            "checked_at": _iso(self.checked_at),
            "problems": [
                {"where": _relative(problem.where), "message": problem.message, "warning": problem.warning}
                for problem in self.problems
            ],
        }


class Preview:
    def __init__(
        self,
        settings: Settings,
        config: PreviewConfig,
        content: Content,
        *,
        port: int,
        check_env: dict[str, str],
        content_warnings: list[Problem] = (),
    ) -> None:
        """`settings` are the clinic's (token-less); start() points them at the stand-in.
        `check_env` is what `run_checks` reads the clinic config from on every reload."""
        self.config = config
        self.clock = OffsetClock()
        staff_group = config.staff_group
        # The preview's own database and staff: never the live ones. The clinic config
        # (name, phone, hours, time zone, crisis numbers) stays as it is.
        self._base_settings = replace(
            settings,
            token=PREVIEW_TOKEN,
            database=config.database,
            staff_ids=config.staff_ids,
            staff_chat_id=staff_group.id if staff_group else None,
        )
        # A short tick: moving the clock shows the daily prompt within seconds.
        self.services = Services(settings=self._base_settings, content=content, clock=self.clock, tick_seconds=5)
        self.standin = BotApiStandIn(PREVIEW_TOKEN, bot_username=BOT_USERNAME)
        self.content_status = ContentStatus(True, list(content_warnings), datetime.now(timezone.utc))
        self._check_env = check_env
        self._requested_port = port
        self._port: int | None = None
        self._runner: web.AppRunner | None = None
        self._stack = contextlib.AsyncExitStack()
        self._application: Application | None = None
        self._reload_lock = asyncio.Lock()
        self._user_messages: dict[int, list[dict]] = {}

        staff = [persona for persona in config.personas if persona.staff]
        self.chats: dict[int, Chat] = {
            persona.id: Chat(persona.id, persona.name, "private", persona, staff=persona.staff)
            for persona in config.personas
        }
        if staff_group:
            self.chats[staff_group.id] = Chat(
                staff_group.id, staff_group.title, "group", staff[0] if staff else None, staff=True
            )

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def application(self) -> Application | None:
        """The running bot (tests send through its Bot API client, as features do)."""
        return self._application

    async def start(self) -> None:
        await self._start_web()  # first: a taken port must fail before anything runs
        self._stack.push_async_callback(self._stop_web)
        try:
            await self.standin.start()
            self._stack.push_async_callback(self.standin.stop)
            self.standin.bot_user["first_name"] = self._base_settings.clinic.name[:64]
            for persona in self.config.personas:
                self.standin.user(persona.id, persona.name, persona.language)
            if self.config.staff_group:
                self.standin.group(self.config.staff_group.id, self.config.staff_group.title)
            self.services.settings = replace(self._base_settings, base_url=self.standin.base_url)
            self._application = build_application(self.services)
            await self._stack.enter_async_context(running(self._application))
        except BaseException:
            await self._stack.aclose()
            raise

    async def stop(self) -> None:
        await self._stack.aclose()

    async def _start_web(self) -> None:
        app = web.Application(middlewares=[self._guard], client_max_size=64 * 1024)
        app.router.add_get("/", self._page)
        app.router.add_static("/static/", STATIC, follow_symlinks=False)
        app.router.add_get("/api/state", self._state)
        app.router.add_post("/api/send", self._send)
        app.router.add_post("/api/tap", self._tap)
        app.router.add_post("/api/share", self._share)
        app.router.add_post("/api/clock", self._move_clock)
        app.router.add_post("/api/content/reload", self._reload)
        app.router.add_get("/api/file/{chat}/{message}", self._file)
        # handler_cancellation: a page that goes away ends its long poll at once.
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._requested_port)
        try:
            await site.start()
        except OSError as error:
            await self._runner.cleanup()
            port = self._requested_port
            if error.errno == errno.EADDRINUSE:
                raise PreviewError(
                    f"port {port} on 127.0.0.1 is already in use (another preview?): "
                    "choose another with --port or PREVIEW_PORT"
                ) from None
            if error.errno == errno.EACCES:
                raise PreviewError(f"port {port} needs privileges: choose one from 1024 to 65535 with --port or PREVIEW_PORT") from None
            raise PreviewError(f"cannot listen on 127.0.0.1:{port} ({error.strerror})") from None
        self._port = self._runner.addresses[0][1]

    async def _stop_web(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- guarding the API ----------------------------------------------------------------

    @web.middleware
    async def _guard(self, request: web.Request, handler):
        # Only this machine's browser, by address: a web site that makes the browser ask a
        # name that resolves to 127.0.0.1 (DNS rebinding) still sends its own Host.
        if request.host not in (f"127.0.0.1:{self._port}", f"localhost:{self._port}"):
            return web.json_response({"error": "unexpected Host header"}, status=421)
        # A JSON body cannot be sent by another site's form, and fetch() needs our consent
        # (CORS) to send one, which this server never gives.
        if request.method == "POST" and request.content_type != "application/json":
            return web.json_response({"error": "send JSON"}, status=415)
        try:
            response = await handler(request)
        except _Refused as error:
            response = web.json_response({"error": str(error)}, status=error.status)
        except web.HTTPError as error:  # aiohttp's own: 404 for an unknown path...
            response = web.json_response({"error": error.reason}, status=error.status)
        response.headers.update(SECURITY_HEADERS)
        return response

    async def _json(self, request: web.Request) -> dict:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise _bad("the body is not valid JSON") from None
        if not isinstance(body, dict):
            raise _bad("the body must be a JSON object")
        return body

    def _chat(self, value: object) -> Chat:
        try:
            chat_id = int(value)
        except (TypeError, ValueError):
            raise _bad(f"chat must be a chat id (got {value!r})") from None
        chat = self.chats.get(chat_id)
        if chat is None:
            raise _bad(f"no chat {chat_id} in this preview", status=404)
        return chat

    # -- the page --------------------------------------------------------------------------

    async def _page(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html")

    async def _state(self, request: web.Request) -> web.Response:
        chat = self._chat(request.query.get("chat", next(iter(self.chats))))
        since = request.query.get("tag")
        if since and since == self._tag(chat):
            with contextlib.suppress(asyncio.TimeoutError):
                # Woken by every Bot API call the bot makes and every update pushed.
                await self.standin.wait_for(lambda: self._tag(chat) != since, timeout=LONG_POLL)
        return web.json_response(await self._state_of(chat))

    def _snapshot(self, chat: Chat) -> tuple[list[dict], dict]:
        """The chat list and one chat, as the page shows them."""
        chats = [other.summary(self.standin, self._user_messages.get(other.id, [])) for other in self.chats.values()]
        return chats, chat.view(self.standin, self._user_messages.get(chat.id, []))

    def _tag(self, chat: Chat, snapshot: tuple[list[dict], dict] | None = None) -> str:
        """A fingerprint of the snapshot: the page sends it back to wait for a change."""
        encoded = json.dumps(snapshot or self._snapshot(chat), sort_keys=True, default=str).encode()
        return hashlib.sha256(encoded).hexdigest()[:16]

    async def _state_of(self, chat: Chat) -> dict:
        snapshot = self._snapshot(chat)
        chats, view = snapshot
        bot = self.standin.bot_user
        return {
            "tag": self._tag(chat, snapshot),
            "bot": {"name": bot["first_name"], "username": bot["username"]},
            "chats": chats,
            "chat": view,
            "clock": await self._clock_state(),
            "content": self.content_status.as_json(),
        }

    # -- what the persona does ----------------------------------------------------------

    async def _send(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        chat = self._chat(body.get("chat"))
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise _bad("text must be a non-empty string")
        if len(text) > MAX_TEXT:
            raise _bad(f"a message has at most {MAX_TEXT} characters, as in Telegram")
        user = self._acting_user(chat)
        if chat.kind == "private":
            message = self.standin.push_text(user.id, text)
        else:
            message = self.standin.push_group_text(chat.id, user.id, text)
        self._user_messages.setdefault(chat.id, []).append(message)
        return web.json_response({"message_id": message["message_id"]})

    async def _share(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        chat = self._chat(body.get("chat"))
        kind = body.get("kind")
        if kind not in SHARE_KINDS:
            raise _bad(f"kind must be one of {', '.join(SHARE_KINDS)}")
        if chat.kind != "private":
            raise _bad("only texts can be sent to a group in the preview")
        user = self._acting_user(chat)
        if kind == "contact":
            # What a request_contact button sends: the persona's own card, with their id.
            message = self.standin.push_contact(user.id, user.phone, contact_user_id=user.id, first_name=user.name)
        else:
            message = self.standin.push_message(user.id, kind=kind)
        self._user_messages.setdefault(chat.id, []).append(message)
        return web.json_response({"message_id": message["message_id"]})

    async def _tap(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        chat = self._chat(body.get("chat"))
        data, message_id = body.get("data"), body.get("message")
        if not isinstance(data, str) or not isinstance(message_id, int):
            raise _bad("a tap needs message (a number) and data (a string)")
        user = self._acting_user(chat)
        try:
            query_id = self.standin.push_callback(user.id, message_id, data, chat_id=chat.id)
        except ValueError as error:
            raise _bad(str(error), status=404) from None
        try:
            await self.standin.wait_for(lambda: query_id in self.standin.callback_answers, timeout=TAP_TIMEOUT)
        except asyncio.TimeoutError:
            # In Telegram the button would keep spinning: worth telling the author.
            return web.json_response({"answered": False})
        answer = self.standin.callback_answers[query_id]
        return web.json_response(
            {"answered": True, "text": answer.get("text", ""), "show_alert": bool(answer.get("show_alert"))}
        )

    def _acting_user(self, chat: Chat) -> Persona:
        if chat.user is None:
            raise _bad("no persona can write in this chat: add a staff persona to preview.yaml", status=409)
        return chat.user

    async def _file(self, request: web.Request) -> web.Response:
        chat = self._chat(request.match_info["chat"])
        try:
            message_id = int(request.match_info["message"])
        except ValueError:
            raise _bad("message must be a number") from None
        sent = self.standin.sent_message(chat.id, message_id)
        if sent is None or sent.file is None or sent.deleted:
            raise _bad("no such file", status=404)
        name = sent.filename or f"{sent.kind}-{message_id}"
        # A photo shows inline when its bytes are an image a browser draws (PTB uploads
        # them as octet-stream); anything else is a download, whatever type it claims.
        image = _image_type(sent.file) if sent.kind == "photo" else None
        disposition = "inline" if image else "attachment"
        return web.Response(
            body=sent.file,
            content_type=image or "application/octet-stream",
            headers={"Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(name)}"},
        )

    # -- the operator's tools --------------------------------------------------------------

    async def _clock_state(self) -> dict:
        due = await next_reminder_due(self.config.database)
        return {
            "now": _iso(self.clock()),
            "offset_seconds": int(self.clock.offset.total_seconds()),
            "timezone": self.services.settings.clinic.timezone,
            "next_reminder": _iso(due) if due else None,
        }

    async def _move_clock(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        moved = False
        if body.get("to") == "next_reminder":
            due = await next_reminder_due(self.config.database)
            # Exactly the due time: the reminder job picks rows with next_due <= now.
            moved = due is not None and self.clock.advance_to(due)
        elif "advance" in body:
            seconds = body["advance"]
            if not isinstance(seconds, int) or isinstance(seconds, bool):
                raise _bad("advance must be a whole number of seconds")
            try:
                self.clock.advance(timedelta(seconds=seconds))
            except ValueError as error:
                raise _bad(str(error)) from None
            moved = True
        else:
            raise _bad('say {"advance": seconds} or {"to": "next_reminder"}')
        log.info("preview clock moved to %s (offset %s)", _iso(self.clock()), self.clock.offset)
        if moved:
            # Look for due reminders now rather than at the next tick, so the prompt is there
            # when the page refreshes. The job claims each reminder atomically, so this run
            # overlapping the timer's cannot send a prompt twice.
            for job in self.application.job_queue.get_jobs_by_name("daily prompts"):
                await job.run(self.application)
        return web.json_response({"moved": moved, "clock": await self._clock_state()})

    async def _reload(self, request: web.Request) -> web.Response:
        return web.json_response(await self.reload_content())

    async def reload_content(self) -> dict:
        """Re-read content/ and run the whole check. If it passes, every handler uses the new
        content from the next update on (they read `services.content` each time) and the
        command menu is registered again, as a restart would. Otherwise the bot keeps the
        last good content and the page lists the problems."""
        async with self._reload_lock:
            content_dir = self.services.settings.content_dir
            # The check reads files and builds every screen, and loading may learn the safety
            # net's reader again (a second or more): keep both off the event loop.
            problems = await asyncio.to_thread(run_checks, self._check_env, content_dir)
            content = None
            if not has_errors(problems):
                content, load_problems = await asyncio.to_thread(load_content, content_dir, placeholders_for(self.services.settings))
                if content is None or has_errors(load_problems):  # changed again in between
                    problems, content = problems + load_problems, None
            now = datetime.now(timezone.utc)
            if content is None:
                self.content_status = ContentStatus(False, problems, now)
                log.warning("content reload refused: %d problem(s); the last good content stays", len(problems))
            else:
                self.services.content = content
                await register_commands(self._application, self.services)
                self.content_status = ContentStatus(True, problems, now)
                log.info("content reloaded from %s", content_dir)
            return self.content_status.as_json()


class _Refused(Exception):
    """A request the page should not have made; answered as {"error": message}."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _bad(message: str, status: int = 400) -> _Refused:
    return _Refused(message, status)


def _image_type(data: bytes) -> str | None:
    """The MIME type of a PNG, JPEG, GIF or WebP image, from its first bytes."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _relative(where: str) -> str:
    """Problems name files by absolute path; from the repository they read shorter."""
    prefix = f"{Path.cwd()}/"
    return where[len(prefix):] if where.startswith(prefix) else where
