"""A Telegram user for tests: sends, taps and reads, then waits until the bot is done.

Modelled on aiogram-dialog's test tools. Every action pushes an update into the Bot API
stand-in and then waits for the bot to have *finished* that update: its handlers ran and
the update pipeline marked it done (bot/pipeline.py), and no call the bot made for this
chat is still in flight. It never waits for "a stretch of quiet". After an
`await user.send("hi")` the bot's whole answer is therefore in `user.messages`.

The bot under test must be started with `running_bot` (the `bot` fixture and
`tests.seed.bot_running` do), so the client knows whose pipeline to watch.

    user = TelegramUser(standin, 42)
    await user.send("/start")
    assert "Welcome" in user.last.text
    await user.click("What is TMS?")
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, Callable

from telegram.ext import Application

from bot.app import running
from bot.pipeline import ChatOrderedProcessor
from bot.standin import BotApiStandIn, SentMessage

ANSWER_TIMEOUT = 10.0  # seconds the bot gets to finish an update
POLL = 0.005  # how often a wait looks again

# The pipelines of the bots running now (one, or none while a test restarts the bot).
_pipelines: list[ChatOrderedProcessor] = []


@contextlib.asynccontextmanager
async def running_bot(application: Application) -> AsyncIterator[Application]:
    """`bot.app.running`, telling the test client whose pipeline to watch."""
    # `watching` is a plain (not async) context manager, so it cannot share the async with.
    async with running(application) as started:
        with watching(started):
            yield started


@contextlib.contextmanager
def watching(application: Application) -> Iterator[None]:
    """Let the client watch an application's update processor (a ChatOrderedProcessor)."""
    _pipelines.append(application.update_processor)
    try:
        yield
    finally:
        _pipelines.remove(application.update_processor)


def finished(update_id: int, bot_database: Path | None = None) -> bool:
    """True once the bot has finished handling the update: as a running bot's pipeline
    says, or, for a bot in another process, as its inbox in SQLite says."""
    if any(update_id in pipeline.finished_ids for pipeline in _pipelines):
        return True
    if bot_database is None or not bot_database.exists():
        return False
    with contextlib.closing(sqlite3.connect(f"file:{bot_database}?mode=ro", uri=True)) as database:
        try:
            row = database.execute("SELECT finished_at FROM inbox WHERE update_id = ?", (update_id,)).fetchone()
        except sqlite3.OperationalError:  # the bot has not created its schema yet
            return False
    return row is not None and row[0] is not None


async def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Wait for the condition, looking again every POLL seconds; AssertionError on timeout."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + timeout
    while True:
        value = condition()
        if value:
            return value
        if loop.time() > give_up:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(POLL)


class TelegramUser:
    def __init__(
        self,
        standin: BotApiStandIn,
        user_id: int,
        first_name: str = "Ann",
        language_code: str = "en",
        *,
        bot_database: Path | None = None,
    ):
        """`bot_database`: for a bot running in another process, the SQLite file whose inbox
        says when it finished an update."""
        self.standin = standin
        self.bot_database = bot_database
        self.user_id = user_id
        self.info = standin.user(user_id, first_name, language_code)
        self._last_query_id: str | None = None

    @property
    def chat_id(self) -> int:
        return self.user_id  # a private chat has the user's id

    # -- acting ------------------------------------------------------------------------

    async def send(self, text: str, *, expect_answer: bool = True) -> None:
        """Send a text. With expect_answer=False the bot may stay silent (it must still
        receive the update)."""
        await self._act(
            lambda: self.standin.push_text(self.user_id, text), f"the text {text!r}", expect_answer
        )

    async def send_sticker(self) -> None:
        await self._act(lambda: self.standin.push_message(self.user_id, kind="sticker"), "a sticker")

    async def send_photo(self, caption: str | None = None) -> None:
        fields = {"caption": caption} if caption else {}
        await self._act(
            lambda: self.standin.push_message(self.user_id, kind="photo", **fields), "a photo"
        )

    async def send_voice(self) -> None:
        await self._act(lambda: self.standin.push_message(self.user_id, kind="voice"), "a voice message")

    async def share_contact(self, phone: str, *, own: bool = True) -> None:
        """Share a contact: own=True is the user's own (what a request_contact button sends);
        own=False is someone else's card, which carries no user id of the sender."""
        contact_user_id = self.user_id if own else None
        first_name = self.info["first_name"] if own else "Someone Else"
        await self._act(
            lambda: self.standin.push_contact(self.user_id, phone, contact_user_id, first_name),
            f"the contact {phone!r}",
        )

    async def click(self, label: str, message: SentMessage | None = None) -> None:
        """Tap the inline button labelled `label` (exact match preferred, else the first label
        containing it) on `message`, by default the newest bot message with an inline keyboard.
        Then wait for the bot to answer the callback query and to settle."""
        target = message or self._newest(lambda m: m.inline_keyboard)
        if target is None:
            raise AssertionError(
                f"no bot message with inline buttons to click {label!r}; {self._recent_buttons()}"
            )
        buttons = [b for row in target.inline_keyboard for b in row]
        button = next((b for b in buttons if b.get("text") == label), None)
        if button is None:
            button = next((b for b in buttons if label in b.get("text", "")), None)
        if button is None:
            raise AssertionError(
                f"no button {label!r} on message {target.message_id}; {self._recent_buttons()}"
            )
        if "callback_data" not in button:
            raise AssertionError(f"button {label!r} is not a callback button: {button}")
        await self._tap(target.message_id, button["callback_data"], f"button {label!r}")

    async def click_on(self, message: SentMessage, label: str) -> None:
        """Tap a button of a particular (possibly older) message."""
        await self.click(label, message=message)

    async def click_data(self, data: str, message_id: int | None = None) -> None:
        """A tap with raw callback data, e.g. forged by a modified client or left on an old
        keyboard. The bot must still answer it (Telegram expects every query answered)."""
        if message_id is None:
            target = self._newest(lambda m: m.inline_keyboard) or self._newest(lambda m: True)
            if target is None:
                raise AssertionError("no bot message to tap on")
            message_id = target.message_id
        await self._tap(message_id, data, f"callback data {data!r}")

    async def block_bot(self) -> None:
        """Block the bot: Telegram sends it a my_chat_member update and refuses its sends."""
        await self._act(
            lambda: self.standin.push_my_chat_member(self.chat_id, self.user_id, "member", "kicked"),
            "blocking",
            expect_answer=False,
        )

    # -- reading -------------------------------------------------------------------------

    @property
    def messages(self) -> list[SentMessage]:
        """The bot's messages in this chat that are still there (not deleted), oldest first."""
        return [m for m in self.standin.chat_log(self.chat_id) if not m.deleted]

    @property
    def last(self) -> SentMessage:
        """The newest bot message still in the chat, in its current state."""
        if not self.messages:
            raise AssertionError(f"the bot has sent no message to {self.user_id}")
        return self.messages[-1]

    def message(self, message_id: int) -> SentMessage:
        """A bot message of this chat by id, in its current state."""
        sent = self.standin.sent_message(self.chat_id, message_id)
        if sent is None:
            raise AssertionError(f"the bot sent no message {message_id} to {self.user_id}")
        return sent

    def unanswered_taps(self) -> list[str]:
        """The callback data of this user's taps the bot has not answered (should be [])."""
        return [q["data"] for q in self.standin.unanswered_callback_queries(self.user_id)]

    def buttons(self, message: SentMessage | None = None) -> list[str]:
        """Labels of `message`'s keyboard, by default of the newest message with one."""
        target = message or self._newest(lambda m: m.buttons)
        return target.button_labels if target else []

    async def expect(self, contains: str, timeout: float = 10) -> SentMessage:
        """Wait until a bot message in this chat (newest first) contains `contains`."""

        def find() -> SentMessage | None:
            return self._newest(lambda m: contains in m.text)

        try:
            return await self.standin.wait_for(find, timeout, what=f"a message containing {contains!r}")
        except asyncio.TimeoutError:
            texts = [m.text[:80] for m in self.messages[-5:]]
            raise AssertionError(
                f"no bot message contains {contains!r} after {timeout}s; last messages: {texts}"
                f"{_background_work()}"
            ) from None

    def callback_answer(self) -> dict | None:
        """What the bot answered to this user's last tap (text, show_alert, ...)."""
        if self._last_query_id is None:
            return None
        return self.standin.callback_answers.get(self._last_query_id)

    # -- waiting -------------------------------------------------------------------------

    async def _tap(self, message_id: int, data: str, what: str) -> None:
        mark = len(self.standin.calls)
        query_id = self.standin.push_callback(self.user_id, message_id, data)
        self._last_query_id = query_id
        await self._until_finished(self.standin.last_update_id, what, mark)
        if query_id not in self.standin.callback_answers:
            raise AssertionError(
                f"bot did not answer the callback query of {what}; {self._errors_since(mark)}"
            )

    async def _act(self, push: Callable[[], Any], what: str, expect_answer: bool = True) -> None:
        mark = len(self.standin.calls)
        push()
        await self._until_finished(self.standin.last_update_id, what, mark)
        if expect_answer and not self._chat_calls(mark):
            raise AssertionError(f"bot did not answer {what}; {self._errors_since(mark)}")

    async def _until_finished(self, update_id: int, what: str, mark: int) -> None:
        """Wait until the bot finished the update and has no call for this chat in flight."""
        try:
            await wait_until(
                lambda: finished(update_id, self.bot_database), ANSWER_TIMEOUT, f"the bot to handle {what}"
            )
            await wait_until(self._nothing_in_flight, ANSWER_TIMEOUT, f"the bot's calls after {what}")
        except AssertionError as error:
            raise AssertionError(f"{error}; {self._errors_since(mark)}") from None

    def _nothing_in_flight(self) -> bool:
        return all(c.status is not None or c.cancelled for c in self.standin.calls_for(self.chat_id))

    def _chat_calls(self, mark: int) -> list:
        return [c for c in self.standin.calls[mark:] if c.chat_id == self.chat_id]

    def _errors_since(self, mark: int) -> str:
        errors = [
            c for c in self.standin.calls[mark:]
            if c.status and c.status >= 400 and not (c.injected or c.expected)
        ]
        if not errors:
            return "the stand-in saw no refused call"
        return "refused calls: " + "; ".join(f"{c.method}: {c.status} {c.description}" for c in errors)

    def _newest(self, condition: Any) -> SentMessage | None:
        for message in reversed(self.messages):
            if condition(message):
                return message
        return None

    def _recent_buttons(self) -> str:
        recent = [m for m in self.messages[-5:] if m.buttons]
        if not recent:
            return "no recent message has buttons"
        return "buttons of recent messages: " + "; ".join(
            f"#{m.message_id}: {m.button_labels}" for m in recent
        )


def _background_work() -> str:
    """Where the bot's background workers of this process wait (for a failed wait: a
    broadcast that never finishes says which await it is stuck in)."""
    lines = []
    for task in asyncio.all_tasks():
        if task.get_name() == "broadcast outbox worker" and not task.done():
            frames, awaited = [], task.get_coro()
            while awaited is not None and len(frames) < 12:  # the chain of awaits, outermost first
                frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "gi_frame", None)
                if frame is not None:
                    frames.append(f"{frame.f_code.co_name}:{frame.f_lineno}")
                awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "gi_yieldfrom", None)
            frames = " -> ".join(frames)
            worker = task.get_coro().cr_frame.f_locals.get("self") if task.get_coro().cr_frame else None
            state = ""
            if worker is not None:
                state = (f" queue={len(worker._queue)} in_flight={len(worker._in_flight)} tasks={len(worker.pipeline.tasks)}"
                         f" hold={worker.pipeline.hold_wait():.1f}s wake={worker._wake.is_set()} {worker.counters}")
            lines.append(f"{task.get_name()}: {frames}{state}")
    return ("; " + "; ".join(lines)) if lines else ""
