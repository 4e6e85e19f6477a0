"""Logging that never shows the token or what patients write, and stays quiet in an outage.

- The token is replaced wherever it would appear (URLs in library errors, python-telegram-bot's
  InvalidToken message).
- When the Bot API cannot be reached, the log gets one warning, and one more when it is back
  (`ApiWatch`, fed by every Bot API request through `WatchedRequest`), not a traceback per
  failed poll: failed polls go to bot/errors.py, which leaves network failures to the
  ApiWatch; the library's own network tracebacks become one line (at start-up none:
  `python -m bot` prints its own one line and exits).
- Patients appear only as `pseudonymous(...)`, the keyed hash /export uses, never by Telegram id.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from telegram.error import NetworkError, TelegramError
from telegram.request import HTTPXRequest

from bot.export import pseudonym

log = logging.getLogger("bot.api")


class RedactingFormatter(logging.Formatter):
    """Replace the bot token wherever it would appear in a log line or a traceback."""

    def __init__(self, fmt: str, token: str | None) -> None:
        super().__init__(fmt)
        self.token = token

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text.replace(self.token, "<token>") if self.token else text


class LibraryNetworkErrorsInOneLine(logging.Filter):
    """python-telegram-bot logs a full traceback when its network retry loop gives up, and
    when a last getUpdates fails while stopping in an outage. At start-up ("Network Retry
    Loop (Bootstrap ...") the caller reports the failure in one line of its own, so the record
    is dropped; otherwise (a token revoked while running, a stop in an outage) it stays, as
    one line naming the error."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith("Network Retry Loop (Bootstrap"):
            return False
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, NetworkError) or (isinstance(error, TelegramError) and message.startswith("Network Retry Loop")):
            record.msg, record.args = f"{message} ({describe(error)})", None
            record.exc_info, record.exc_text = None, None
        return True


def describe(error: BaseException) -> str:
    """The error in a few words, for a log line (no traceback)."""
    return f"{type(error).__name__}: {error}"


class ApiWatch:
    """Says once that the Bot API became unreachable, and once that it is back."""

    def __init__(self) -> None:
        self.down_since: float | None = None
        # False while the bot starts: a failure then stops the program, which says so in
        # its own one line (bot/__main__.py).
        self.live = False

    @property
    def reachable(self) -> bool:
        return self.down_since is None

    def failed(self, reason: str) -> None:
        if self.live and self.down_since is None:
            self.down_since = time.monotonic()
            log.warning("Bot API unreachable (%s); updates wait in the inbox until it is back", reason)

    def succeeded(self) -> None:
        if self.down_since is not None:
            seconds = time.monotonic() - self.down_since
            self.down_since = None
            log.warning("Bot API reachable again after %.0f s", seconds)


class WatchedRequest(HTTPXRequest):
    """python-telegram-bot's HTTP client, telling an ApiWatch how each request went: a network
    error or a 5xx answer means unreachable; any other answer means reachable."""

    def __init__(self, watch: ApiWatch, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.watch = watch

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        try:
            code, payload = await super().do_request(*args, **kwargs)
        except NetworkError as error:  # TimedOut is one too
            self.watch.failed(describe(error))
            raise
        if code >= 500:
            self.watch.failed(f"HTTP {code}")
        else:
            self.watch.succeeded()
        return code, payload


def configure(token: str | None) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", token))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    quiet_libraries()


def quiet_libraries() -> None:
    """Library loggers as a bot's log needs them (also for tests and the preview)."""
    # httpx logs every request URL at INFO, and the URL contains the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    # APScheduler's per-run INFO lines are noise in a bot's log.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    for name in ("telegram.ext", "telegram.ext.Updater"):  # the retry loop; the Updater
        library = logging.getLogger(name)
        if not any(isinstance(f, LibraryNetworkErrorsInOneLine) for f in library.filters):
            library.addFilter(LibraryNetworkErrorsInOneLine())


async def pseudonymous(storage: Any, user_id: int) -> str:
    """How a patient appears in the log: the keyed hash /export uses (bot/export.py), so a
    log line and an export row can be matched by staff, but not a Telegram account."""
    return pseudonym(await storage.pseudonym_key(), user_id)
