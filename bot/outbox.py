"""The broadcast outbox worker: sends each recipient's message once, under Telegram's limits.

When staff tap *Send*, one outbox row per recipient is written to SQLite (bot/storage.py).
This worker drains the rows, one message at a time:

* **pace** — sends are spaced evenly at `broadcasts.messages_per_second` (25 by default,
  under Telegram's ~30 a second for a bot), so no second goes over and there is room left
  for answering patients meanwhile;
* **429** — Telegram's `retry_after` pauses the whole broadcast, then the same patient is
  tried again. The worker owns this: its sends opt out of the rate limiter's own retries
  (`OWN_RETRIES`, see bot/rate_limiter.py), so a 429 reaches it instead of being slept on
  invisibly, while still counting against the limiter's shared budget;
* **403** — the patient blocked the bot: they are marked blocked and never tried again;
* **timeouts and 5xx** — tried again after a growing pause, at most `MAX_ATTEMPTS` times
  per patient, then counted as failed; other refusals (400) fail at once;
* **restarts** — a row is marked the moment its outcome is known, so a restart (or a crash)
  resumes with the next pending row. Sends are strictly one at a time, so the only message
  that can go out twice is the one in flight when the process died.

Progress and the final report are shown by the staff flow (`BroadcastScreens`); this module
decides only when. The pacing and backoff rules are pure functions at the top.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from telegram import Bot, Message
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bot.rate_limiter import OWN_RETRIES
from bot.storage import Broadcast, BroadcastReport, OutboxItem, Storage

log = logging.getLogger(__name__)

# A patient's message is tried at most this many times when Telegram fails for a passing
# reason (timeouts, 5xx), then counted as failed.
MAX_ATTEMPTS = 5
# Pauses after failures in a row: 1, 2, 4, ... seconds, at most this long.
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 60.0
# Telegram's retry_after is in whole seconds; a little more avoids landing a hair early.
RETRY_AFTER_MARGIN_SECONDS = 0.1
# The sender's progress message is edited at most this often.
PROGRESS_INTERVAL_SECONDS = 3.0
# With nothing to send the worker sleeps until woken (Send, Cancel), or this long at most,
# so a row written by another path is never stranded.
IDLE_SECONDS = 30.0
# After an unexpected error (a bug, a database problem) the worker waits, logs, goes on.
ERROR_PAUSE_SECONDS = 5.0
# On shutdown the message in flight may finish for this long before it is cut off.
STOP_GRACE_SECONDS = 10.0


# -- pure rules: pacing, backoff, what an error means ---------------------------------------


@dataclass
class Pacer:
    """Spaces sends evenly: one every 1/per_second seconds, never a catch-up burst.

    Start times of consecutive sends are at least 1/per_second apart, so any one-second
    window holds at most `per_second` of them. `hold_until` pushes the next slot out (a
    429's retry_after, a backoff); a slow send simply leaves the next slot free at once.
    """

    per_second: float
    next_slot: float = field(default=float("-inf"))

    def wait_time(self, now: float) -> float:
        """Seconds until the next send may start (0 if it may start now)."""
        return max(0.0, self.next_slot - now)

    def take(self, now: float) -> None:
        """Record a send starting now."""
        self.next_slot = max(now, self.next_slot) + 1.0 / self.per_second

    def hold_until(self, moment: float) -> None:
        self.next_slot = max(self.next_slot, moment)


def backoff_seconds(failures_in_a_row: int) -> float:
    """The pause after the n-th failure in a row: 1, 2, 4, 8... seconds, capped."""
    exponent = max(0, failures_in_a_row - 1)
    return min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2.0 ** min(exponent, 32))


class Failure(enum.Enum):
    RETRY_AFTER = "retry_after"  # 429: pause everything, then try the same patient again
    BLOCKED = "blocked"  # 403: the patient blocked the bot or deleted their account
    PASSING = "passing"  # timeouts, 5xx, network trouble: try again after a pause
    FINAL = "final"  # 400 and the like: trying again would fail the same way


def classify(error: BaseException) -> Failure:
    """What a failed send means for the worker. (BadRequest is a NetworkError in PTB.)"""
    if isinstance(error, RetryAfter):
        return Failure.RETRY_AFTER
    if isinstance(error, Forbidden):
        return Failure.BLOCKED
    if isinstance(error, BadRequest):
        return Failure.FINAL
    if isinstance(error, NetworkError):  # TimedOut, 5xx, connection errors
        return Failure.PASSING
    if isinstance(error, TelegramError):
        return Failure.FINAL
    # Not Telegram's answer at all (a bug): count it like a passing failure, so a row that
    # keeps breaking something ends as failed instead of stopping every broadcast.
    return Failure.PASSING


def retry_after_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():
        # PTB 22 warns that the int form of retry_after is deprecated; both forms are fine.
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


# -- what patients receive ------------------------------------------------------------------


@dataclass(frozen=True)
class BroadcastMessage:
    """A broadcast as one patient receives it: Telegram HTML, alone or as a photo's caption."""

    html: str
    photo_file_id: str | None = None


def body_for_language(broadcast: Broadcast, language: str) -> str:
    """A broadcast's text for one recipient: the version in their language (a content
    folder, "es"), else the one written for everyone."""
    return dict(broadcast.versions).get(language, broadcast.body_html or "")


async def send_broadcast_message(bot: Bot, chat_id: int, message: BroadcastMessage, **options: object) -> Message:
    """The one way a broadcast is sent, for patients and for the staff member's preview alike."""
    if message.photo_file_id:
        return await bot.send_photo(
            chat_id, message.photo_file_id, caption=message.html, parse_mode=ParseMode.HTML, **options
        )
    return await bot.send_message(chat_id, message.html, parse_mode=ParseMode.HTML, **options)


class BroadcastScreens(Protocol):
    """What the staff flow shows; the worker only decides when."""

    def message_for(self, item: OutboxItem) -> BroadcastMessage:
        """The message this patient gets (the broadcast, with its footer in their language)."""

    async def show_progress(self, bot: Bot, report: BroadcastReport) -> None:
        """Update the sender's progress message."""

    async def show_report(self, bot: Bot, report: BroadcastReport) -> None:
        """Tell the sender how it ended: sent, blocked, failed (and cancelled)."""


# -- the worker -------------------------------------------------------------------------------


@dataclass
class WorkerCounters:
    """What the worker met since it started; logged when it stops."""

    sent: int = 0
    retry_afters: int = 0
    passing_failures: int = 0


class OutboxWorker:
    def __init__(
        self,
        bot: Bot,
        storage: Storage,
        screens: BroadcastScreens,
        *,
        per_second: float,
        clock: Callable[[], datetime],
        progress_interval: float = PROGRESS_INTERVAL_SECONDS,
    ) -> None:
        self.bot = bot
        self.storage = storage
        self.screens = screens
        self.clock = clock
        self.progress_interval = progress_interval
        self.pacer = Pacer(per_second)
        self.counters = WorkerCounters()
        self._failures_in_a_row = 0
        self._last_progress: dict[int, float] = {}
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="broadcast outbox worker")

    def wake(self) -> None:
        """Look for work now: a broadcast was started or cancelled."""
        self._wake.set()

    async def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Let the message in flight finish (up to `grace` seconds), then stop."""
        if self._task is None:
            return
        self._stopping.set()
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace)
        except asyncio.TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None
        counters = self.counters
        log.info(
            "broadcast worker stopped: %s sent, %s 'too many requests', %s passing failures",
            counters.sent, counters.retry_afters, counters.passing_failures,
        )

    # -- the loop -----------------------------------------------------------------------------

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self._step()
            except Exception:  # noqa: BLE001 - the worker must outlive any one problem
                log.exception("broadcast worker: unexpected error; going on in %ss", ERROR_PAUSE_SECONDS)
                await self._pause(ERROR_PAUSE_SECONDS, wake_early=False)

    async def _step(self) -> None:
        # Cleared before looking, so a wake() during the queries below ends the pause.
        self._wake.clear()
        await self._finish_due()
        item = await self.storage.next_outbox_item()
        if item is None:
            await self._pause(IDLE_SECONDS, wake_early=True)
            return
        if item.blocked or item.opted_out:
            # They blocked the bot or said /stop after Send was tapped: no message.
            await self.storage.record_outcome(
                item.broadcast.id, item.user_id, "blocked" if item.blocked else "skipped", self.clock()
            )
            return
        loop = asyncio.get_running_loop()
        wait = self.pacer.wait_time(loop.time())
        # The slot is waited for last, right before the send, so the queries above do not
        # eat into it. Woken early (a Cancel, a stop), the next step looks again first.
        if wait > 0 and await self._pause(wait, wake_early=True):
            return
        self.pacer.take(loop.time())
        await self._deliver(item)
        await self._maybe_show_progress(item.broadcast.id)

    async def _deliver(self, item: OutboxItem) -> None:
        broadcast_id, user_id = item.broadcast.id, item.user_id
        try:
            # No rate limiter retries: this worker paces and honours retry_after itself.
            await send_broadcast_message(
                self.bot, user_id, self.screens.message_for(item), rate_limit_args=OWN_RETRIES
            )
        except Exception as error:  # noqa: BLE001 - every failure is classified below
            await self._failed(item, error)
            return
        self._failures_in_a_row = 0
        self.counters.sent += 1
        await self.storage.record_outcome(broadcast_id, user_id, "sent", self.clock())

    async def _failed(self, item: OutboxItem, error: Exception) -> None:
        broadcast_id, user_id = item.broadcast.id, item.user_id
        now = asyncio.get_running_loop().time()
        failure = classify(error)
        if failure is Failure.RETRY_AFTER:
            seconds = retry_after_seconds(error)
            self.counters.retry_afters += 1
            self.pacer.hold_until(now + seconds + RETRY_AFTER_MARGIN_SECONDS)
            log.warning("broadcast %s: Telegram asked to wait %ss; pausing", broadcast_id, seconds)
            return
        if failure is Failure.BLOCKED:
            await self.storage.record_outcome(broadcast_id, user_id, "blocked", self.clock())
            return
        if failure is Failure.FINAL:
            # Telegram's refusal names the problem, never the message or the patient.
            log.warning("broadcast %s: a message was refused: %s", broadcast_id, error)
            await self.storage.record_outcome(broadcast_id, user_id, "failed", self.clock())
            return
        self.counters.passing_failures += 1
        self._failures_in_a_row += 1
        attempts = await self.storage.record_failed_attempt(broadcast_id, user_id)
        pause = backoff_seconds(self._failures_in_a_row)
        if attempts >= MAX_ATTEMPTS:
            log.warning("broadcast %s: a message failed %s times (%s); giving up on it", broadcast_id, attempts, type(error).__name__)
            await self.storage.record_outcome(broadcast_id, user_id, "failed", self.clock())
        else:
            log.warning("broadcast %s: sending failed (%s); trying again in %ss", broadcast_id, type(error).__name__, pause)
        if not isinstance(error, TelegramError):
            log.error("broadcast %s: unexpected error while sending", broadcast_id, exc_info=error)
        self.pacer.hold_until(now + pause)

    # -- progress and reports ------------------------------------------------------------------

    async def _maybe_show_progress(self, broadcast_id: int) -> None:
        now = asyncio.get_running_loop().time()
        last = self._last_progress.get(broadcast_id)
        if last is None:
            # The first message of a broadcast (or the first after a restart): start the
            # clock, so the sender's message is not edited right after Send showed it.
            self._last_progress[broadcast_id] = now
            return
        if now - last < self.progress_interval:
            return
        self._last_progress[broadcast_id] = now
        report = await self.storage.broadcast_report(broadcast_id)
        if report is not None:
            await self._tell_staff(self.screens.show_progress, report)

    async def _finish_due(self) -> None:
        for broadcast in await self.storage.broadcasts_to_finish():
            report = await self.storage.broadcast_report(broadcast.id)
            # The report first, then the mark: a crash in between repeats the report,
            # which is better than losing it.
            await self._tell_staff(self.screens.show_report, report)
            await self.storage.finish_broadcast(broadcast.id, self.clock())
            self._last_progress.pop(broadcast.id, None)
            log.info(
                "broadcast %s %s: sent %s, blocked %s, failed %s, not sent %s",
                broadcast.id, broadcast.state, report.sent, report.blocked, report.failed,
                report.skipped + report.cancelled + report.pending,
            )

    async def _tell_staff(self, show: Callable[[Bot, BroadcastReport], Awaitable[None]], report: BroadcastReport) -> None:
        try:
            await show(self.bot, report)
        except TelegramError as error:
            # The sender may have blocked the bot or deleted the message: the broadcast
            # itself goes on regardless.
            log.warning("broadcast %s: could not update the sender (%s)", report.broadcast.id, error)

    # -- waiting --------------------------------------------------------------------------------

    async def _pause(self, seconds: float, *, wake_early: bool) -> bool:
        """Sleep; True if it ended early, on stop (or on wake(), if asked)."""
        waiters = [asyncio.create_task(self._stopping.wait())]
        if wake_early:
            waiters.append(asyncio.create_task(self._wake.wait()))
        try:
            done, _pending = await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        return bool(done)
