"""Logging that never shows the token or what patients write."""

from __future__ import annotations

import logging


class RedactingFormatter(logging.Formatter):
    """Replace the bot token wherever it would appear in a log line or a traceback (URLs in
    library errors, python-telegram-bot's InvalidToken message, for two)."""

    def __init__(self, fmt: str, token: str | None) -> None:
        super().__init__(fmt)
        self.token = token

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text.replace(self.token, "<token>") if self.token else text


def configure(token: str | None) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", token))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    # httpx logs every request URL at INFO, and the URL contains the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    # APScheduler's per-run INFO lines are noise in a bot's log.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
