"""The update pipeline: every update goes one way, durably and concurrently.

1. **The durable inbox.** python-telegram-bot's Updater puts each fetched update into the
   Application's update queue, and confirms it to Telegram with its next getUpdates. The
   queue here (`DurableUpdateQueue`) writes the update to SQLite in `put`, which the Updater
   awaits, so an update is stored before Telegram is told it arrived: a crash loses nothing.
2. **Concurrent, in order per chat.** `ChatOrderedProcessor` is the Application's update
   processor: updates of different chats run at once (one patient's rate-limit wait does not
   hold up another's tap), while the updates of one chat run one after the other, in the
   order they came.
3. **Finished, or retried.** When an update's handlers ran, its inbox row is finished (its
   text forgotten). If they failed because the Bot API could not be reached (a timeout, a
   dropped connection, a 5xx), the error handler says so (`retry_later`) and the update is
   handled again when the API answers, in the same chat's order. An update older than
   `STALE_AFTER` (after a long outage, or left by a crash) is not acted on: the patient is
   asked to tap or send it again, in their language.
4. **After a restart**, the updates left unfinished in the inbox go through the queue again;
   one that Telegram delivers a second time is recognised and skipped.
5. **Stopping** does not wait for the Bot API: an update still waiting for its chat's turn,
   or for a retry, is left unfinished in the inbox, for the next start to handle. Only the
   handlers already running are let finish.

What happens to updates when the bot is SIGKILLed or the API goes away is tested in
tests/test_faults.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, NetworkError, RetryAfter
from telegram.ext import Application, BaseUpdateProcessor

from bot.storage import Storage

log = logging.getLogger(__name__)

# An update not handled within this time is not acted on any more: the patient may have
# moved on, and a tap from ten minutes ago would act on a screen they no longer see.
STALE_AFTER = timedelta(minutes=10)
# How long to wait before handling again an update whose answer could not be sent.
RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)
MAX_RETRY_DELAY = 10.0
# Finished marks are kept this long, so an update Telegram sends twice is handled once.
KEEP_FINISHED = timedelta(days=1)
# How many finished update ids the processor remembers for observers (the test client):
# recent ones only, so a bot that runs for months does not grow.
RECENT_FINISHED = 10_000
# While waiting to retry, how often to look whether the application is stopping.
STOP_CHECK_SECONDS = 0.1


def chat_key(update: object) -> int | None:
    """The conversation an update belongs to; None for updates that belong to none."""
    if isinstance(update, Update):
        if update.effective_chat is not None:
            return update.effective_chat.id
        if update.effective_user is not None:
            return update.effective_user.id
    return None


def is_passing(error: BaseException) -> bool:
    """True for failures that say nothing about the update, only that the Bot API could not
    be reached or was overloaded: trying again later will do."""
    if isinstance(error, RetryAfter):
        return True
    return isinstance(error, NetworkError) and not isinstance(error, BadRequest)


class DurableUpdateQueue(asyncio.Queue):
    """The Application's update queue, writing every update to the inbox before it is queued.

    Until `attach` gives it the storage (at start, before polling begins) it is a plain queue.
    """

    def __init__(self) -> None:
        super().__init__()
        self.storage: Storage | None = None
        self.clock: Callable[[], datetime] | None = None
        # When each queued update arrived, by the bot's clock: the processor's "too old?".
        self.received: dict[int, datetime] = {}

    def attach(self, storage: Storage, clock: Callable[[], datetime]) -> None:
        self.storage, self.clock = storage, clock

    async def put(self, item: Any) -> None:
        if isinstance(item, Update) and self.storage is not None and self.clock is not None:
            now = self.clock()
            stored = await self.storage.store_update(item.update_id, chat_key(item), item.to_json(), now)
            if not stored:
                log.info("update %s arrived again; already handled or queued", item.update_id)
                return
            self.received[item.update_id] = now
        await super().put(item)

    async def requeue_unfinished(self, application: Application) -> int:
        """After a restart: the updates a crash left unfinished go through the queue again."""
        assert self.storage is not None
        pending = await self.storage.unfinished_updates()
        for row in pending:
            update = Update.de_json(_loads(row.payload), application.bot)
            self.received[update.update_id] = row.received_at
            await super().put(update)
        if pending:
            log.warning("%d update(s) left unfinished by the last run are being handled now", len(pending))
        return len(pending)


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Concurrent update processing that keeps each chat's updates in order, finishes them
    in the inbox, and handles again those that failed for a passing reason."""

    def __init__(self, max_concurrent_updates: int = 256) -> None:
        super().__init__(max_concurrent_updates)
        self.queue: DurableUpdateQueue | None = None
        self.storage: Storage | None = None
        self.clock: Callable[[], datetime] | None = None
        self.say_stale: Callable[[Update], Awaitable[None]] | None = None
        self._application: Application | None = None
        self._chat_locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}  # chat -> updates holding or waiting for its lock
        self._retry: set[int] = set()  # update ids whose handling failed for a passing reason
        # Observers of finished updates (the tests' user-side client waits on this).
        self.finished_ids = RecentIds(RECENT_FINISHED)
        self._finished_signal = asyncio.Event()

    def attach(
        self,
        application: Application,
        queue: DurableUpdateQueue,
        storage: Storage,
        clock: Callable[[], datetime],
        say_stale: Callable[[Update], Awaitable[None]],
    ) -> None:
        self._application = application
        self.queue, self.storage, self.clock, self.say_stale = queue, storage, clock, say_stale

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    def retry_later(self, update: Update) -> None:
        """Called by the error handler: this update failed only because the Bot API could not
        be reached; handle it again once it can."""
        self._retry.add(update.update_id)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = chat_key(update)
        if key is None:  # no chat to keep in order, but still kept in and finished in the inbox
            await self._handle(update, coroutine)
            return
        lock = self._chat_locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock:
                await self._handle(update, coroutine)
        finally:
            self._waiting[key] -= 1
            if self._waiting[key] == 0:  # no one else of this chat: free the lock
                del self._waiting[key]
                self._chat_locks.pop(key, None)

    async def _handle(self, update: object, coroutine: Awaitable[Any]) -> None:
        if not isinstance(update, Update):
            await coroutine
            return
        if self.storage is None or self._application is None:  # not attached: no inbox, no retries
            await coroutine
            self._announce_finished(update.update_id)
            return
        update_id = update.update_id
        attempt = 0
        while True:
            if self._stopping():
                # It waited for its chat's turn (or for a retry) while the bot was asked to
                # stop: not acted on now, so it stays unfinished for the next start.
                _close(coroutine)
                self._retry.discard(update_id)
                log.info("update %s is left for the next start", update_id)
                return
            if self._is_stale(update_id):
                _close(coroutine)
                if not await self._say_stale(update):
                    return  # stopping before the patient could be told: the next start tells them
                break
            await coroutine
            if update_id not in self._retry:
                break
            self._retry.discard(update_id)
            delay = RETRY_DELAYS[attempt] if attempt < len(RETRY_DELAYS) else MAX_RETRY_DELAY
            attempt += 1
            if attempt == 1:
                log.debug("update %s could not be answered; it will be handled again", update_id)
            if not await self._pause(delay):
                continue  # stopping: the check at the top leaves it unfinished
            coroutine = self._application.process_update(update)
        await self._finish(update_id)

    def _stopping(self) -> bool:
        """True once Application.stop() began (it clears `running` first)."""
        return self._application is not None and not self._application.running

    async def _pause(self, seconds: float) -> bool:
        """Sleep, but wake up if the application is stopping; False if it is."""
        loop = asyncio.get_running_loop()
        wake = loop.time() + seconds
        while not self._stopping():
            remaining = wake - loop.time()
            if remaining <= 0:
                return True
            await asyncio.sleep(min(remaining, STOP_CHECK_SECONDS))
        return False

    async def _say_stale(self, update: Update) -> bool:
        """Tell the patient to tap again; while the Bot API cannot be reached, keep trying.
        False if the bot began stopping first (the update must then stay unfinished)."""
        attempt = 0
        while True:
            try:
                if self.say_stale is not None:
                    await self.say_stale(update)
                return True
            except Exception as error:  # noqa: BLE001 - anything else is not ours to retry
                if not is_passing(error):
                    log.warning("could not say 'tap again' for update %s: %s", update.update_id, type(error).__name__)
                    return True
            delay = RETRY_DELAYS[attempt] if attempt < len(RETRY_DELAYS) else MAX_RETRY_DELAY
            attempt += 1
            if not await self._pause(delay):
                return False

    def _is_stale(self, update_id: int) -> bool:
        received = self.queue.received.get(update_id) if self.queue else None
        return received is not None and self.clock is not None and self.clock() - received > STALE_AFTER

    async def _finish(self, update_id: int) -> None:
        if self.queue is not None:
            self.queue.received.pop(update_id, None)
        await self.storage.finish_update(update_id, self.clock())
        self._announce_finished(update_id)

    def _announce_finished(self, update_id: int) -> None:
        self.finished_ids.add(update_id)
        self._finished_signal.set()
        self._finished_signal = asyncio.Event()

    async def wait_finished(self, update_id: int, timeout: float) -> None:
        """Wait until the update's handlers ran and its inbox row is finished."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while update_id not in self.finished_ids:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise asyncio.TimeoutError(f"update {update_id} was not finished within {timeout}s")
            try:
                await asyncio.wait_for(self._finished_signal.wait(), remaining)
            except asyncio.TimeoutError:
                pass


class RecentIds:
    """The most recent `size` ids added, for `in` checks; older ones are forgotten."""

    def __init__(self, size: int) -> None:
        self._order: deque[int] = deque()
        self._ids: set[int] = set()
        self._size = size

    def add(self, item: int) -> None:
        if item in self._ids:
            return
        self._order.append(item)
        self._ids.add(item)
        if len(self._order) > self._size:
            self._ids.discard(self._order.popleft())

    def __contains__(self, item: object) -> bool:
        return item in self._ids

    def __len__(self) -> int:
        return len(self._ids)


def _close(coroutine: Awaitable[Any]) -> None:
    close = getattr(coroutine, "close", None)
    if close is not None:
        close()


def _loads(payload: str) -> dict:
    return json.loads(payload)


async def start(application: Application, storage: Storage, clock: Callable[[], datetime],
                say_stale: Callable[[Update], Awaitable[None]]) -> None:
    """Connect the queue and the processor to storage, prune old marks, and requeue what a
    crash left unfinished. Runs in post_init, before the Updater starts polling."""
    queue: DurableUpdateQueue = application.update_queue  # type: ignore[assignment]
    processor: ChatOrderedProcessor = application.update_processor  # type: ignore[assignment]
    queue.attach(storage, clock)
    processor.attach(application, queue, storage, clock, say_stale)
    await storage.prune_inbox(clock() - KEEP_FINISHED)
    await queue.requeue_unfinished(application)


async def say_tap_again(update: Update, text: str) -> None:
    """The reply to an update that came too late to act on. A tap's spinner is stopped too,
    if Telegram still takes an answer to it (it refuses answers to old queries)."""
    chat = update.effective_chat
    if chat is None:
        return
    if update.callback_query is not None:
        try:
            await update.callback_query.answer()
        except BadRequest:
            pass  # "query is too old": the spinner has stopped by itself
    await chat.send_message(text, parse_mode=ParseMode.HTML)
