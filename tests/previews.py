"""Previews for tests, built by the same `build_preview` that `python -m bot preview` uses.

Each gets its own clinic config, preview.yaml and database under a temporary folder, and
port 0 (the system picks a free one), so tests never touch the repository's data/.
"""

from __future__ import annotations

import asyncio
import sqlite3
import textwrap
import threading
from datetime import datetime
from pathlib import Path
from typing import Any, Coroutine

from bot.config import CONTENT_DIR
from tests.seed import START
from bot.preview.cli import build_preview
from bot.preview.server import Preview
from bot.storage import utc_text
from tests.conftest import CONFIG

ANN, BEN, CARMEN, DAN, RIVERA = 1001, 1002, 1003, 1004, 9001
STAFF_GROUP = -1009000000001
CLINIC_PHONE = "+1 555 010 0199"  # from tests.conftest.CONFIG

PREVIEW_YAML = """
database: {database}
personas:
  - id: 1001
    name: Ann
    phone: "+1 555 010 1001"
  - id: 1002
    name: Ben
    phone: "+1 555 010 1002"
  - id: 1003
    name: Carmen
    phone: "+1 555 010 1003"
  - id: 1004
    name: Dan
    phone: "+1 555 010 1004"
  - id: 9001
    name: Dr. Rivera
    phone: "+1 555 010 9001"
    staff: true
staff_group:
  id: -1009000000001
  title: Clinic staff
"""


def write_files(folder: Path) -> dict[str, Path]:
    """A clinic config and a preview.yaml in `folder`; returns their paths and the database's."""
    folder.mkdir(parents=True, exist_ok=True)
    clinic = folder / "clinic.yaml"
    clinic.write_text(textwrap.dedent(CONFIG), encoding="utf-8")
    database = folder / "preview.sqlite3"
    preview_yaml = folder / "preview.yaml"
    preview_yaml.write_text(PREVIEW_YAML.format(database=database), encoding="utf-8")
    return {"clinic": clinic, "preview_yaml": preview_yaml, "database": database}


def make_preview(folder: Path, content_dir: Path = CONTENT_DIR) -> Preview:
    files = write_files(folder)
    env = {"BOT_CONFIG": str(files["clinic"]), "BOT_DATABASE": str(folder / "live.sqlite3")}
    return build_preview(env, preview_config=files["preview_yaml"], content_dir=content_dir, port=0)


class PreviewInThread:
    """A preview on its own event loop in a background thread, for the browser tests: the
    browser is driven synchronously from the test's thread while the bot keeps running."""

    def __init__(self, folder: Path, content_dir: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="preview", daemon=True)
        self.thread.start()

        async def start() -> Preview:
            preview = make_preview(folder, content_dir)
            await preview.start()
            return preview

        self.preview: Preview = self.call(start())

    def call(self, coroutine: Coroutine[Any, Any, Any], timeout: float = 30) -> Any:
        """Run a coroutine on the preview's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self) -> None:
        try:
            self.call(self.preview.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=30)
            self.loop.close()


# A banned claim, which `python -m bot check` refuses, in a copy of content/.
BROKEN_SENTENCE = "TMS cures chronic pain for good."


def break_content(content_dir: Path) -> Path:
    """Make the TMS topic of a content copy fail the check; returns the file."""
    topic = content_dir / "en" / "topics" / "tms.yaml"
    text = topic.read_text(encoding="utf-8")
    original = "This is general information. Your clinic"
    assert original in text, "the TMS topic changed: pick another sentence to break"
    topic.write_text(text.replace(original, f"{BROKEN_SENTENCE} Your clinic"), encoding="utf-8")
    return topic


def insert_reminder(database: Path, user_id: int, due: datetime, paused: bool = False) -> None:
    """A reminder row as the reminder feature stores it (schema 2), with its patient row."""
    with sqlite3.connect(database) as db:
        seen = utc_text(START)
        db.execute(
            "INSERT OR IGNORE INTO patients (user_id, first_name, first_seen, last_seen) VALUES (?, 'P', ?, ?)",
            (user_id, seen, seen),
        )
        db.execute(
            "INSERT OR REPLACE INTO reminders (user_id, local_time, timezone, paused, next_due) "
            "VALUES (?, '09:00', 'America/Los_Angeles', ?, ?)",
            (user_id, int(paused), utc_text(due)),
        )
    db.close()
