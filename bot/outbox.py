"""The broadcast outbox worker: sends each recipient's message once, at full rate.

When staff tap *Send*, one outbox row per recipient is written to SQLite (bot/storage/).
This worker drains the rows through a `SendPipeline`:

* **pace** — each send starts in a slot of the bot's one shared budget (bot/rate_limiter.py):
  evenly spaced at `broadcasts.messages_per_second` (29 by default) and never a catch-up
  burst, so no one-second window goes over it, while answers to patients take the next
  slot before any broadcast message does. With `broadcasts.paid` the sends carry
  `allow_paid_broadcast` and are paced by the worker alone, outside the free budget;
* **pipelined** — sends do not wait for each other's answer: up to `in_flight_window` of
  them are on their way at once, enough to fill the round trip to Telegram (measured as
  the answers come) at the rate;
* **429** — Telegram's `retry_after` pauses the whole pipeline (and the shared budget), and
  the patients whose sends were refused are sent again first. The worker owns this: its
  sends opt out of the rate limiter's own retries (`SLOT_TAKEN`);
* **403** — the patient blocked the bot: they are marked blocked and never tried again;
* **timeouts and 5xx** — tried again after a growing pause, at most `MAX_ATTEMPTS` times
  per patient, then counted as failed; other refusals (400) fail at once;
* **restarts** — each row is marked in SQLite the moment its outcome arrives, so a restart
  (or a crash) resumes with the rows still pending. The only messages that can go out twice
  are those in flight when the process died: at most the window, `in_flight_window`
  (9 at 29 a second and a 150 ms round trip; never more than `MAX_IN_FLIGHT`).

Progress and the final report are shown by the staff flow (`BroadcastScreens`); this module
decides only when. The pacing, window and backoff rules are pure functions at the top.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import bisect
import math
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

from bot.rate_limiter import PAID_SEND, SLOT_TAKEN, BotRateLimiter, SharedBudget
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
# On shutdown the messages in flight may finish for this long before they are cut off.
STOP_GRACE_SECONDS = 10.0
# Sends in flight at most, whatever the rate and the round trip (PTB's pool has 256).
MAX_IN_FLIGHT = 64
# The round trip assumed until the first answers are measured.
FIRST_ROUND_TRIP_GUESS_SECONDS = 0.2
# Outbox rows read from SQLite at a time (a patient's /stop is seen within a few seconds).
BATCH_SIZE = 100


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


def in_flight_window(per_second: float, round_trip_seconds: float) -> int:
    """How many sends may be on their way at once: enough to keep sending at `per_second`
    while each waits a round trip for its answer, half as many again for a slow answer,
    and two spare; capped at MAX_IN_FLIGHT."""
    wanted = math.ceil(per_second * round_trip_seconds * 1.5) + 2
    return max(2, min(MAX_IN_FLIGHT, wanted))


@dataclass
class FailureStreak:
    """Passing failures (timeouts, 5xx) in a row, the sends of one window counted as one.

    With a window of sends on their way, one outage fails all of them within a moment: that
    is one failure, not sixty, or the backoff would leap to its cap (a minute's stall at
    "Sent 0") after a single blip. A failure counts only for a send started after the last
    counted failure, i.e. one sent again after the pause."""

    count: int = 0
    last_counted_at: float = float("-inf")

    def failed(self, started: float, now: float) -> int:
        if started >= self.last_counted_at:
            self.count += 1
            self.last_counted_at = now
        return self.count

    def succeeded(self) -> None:
        self.count = 0


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


# -- the pipeline: slots, a window of sends in flight ------------------------------------------


class SendPipeline:
    """Starts bulk sends (broadcasts, daily prompts) one slot at a time and keeps at most
    `window()` of them in flight, measuring the round trip as their answers arrive.

    Free sends take their slots from the bot's shared budget (answers to patients first);
    paid broadcasts are paced here alone at their own rate. `hold_until` (a 429, a backoff)
    pushes every next start out.
    """

    def __init__(self, bot: Bot, per_second: float, *, paid: bool = False) -> None:
        limiter = getattr(bot, "rate_limiter", None)
        self.budget: SharedBudget = (
            limiter.budget if isinstance(limiter, BotRateLimiter) else SharedBudget(bulk_per_second=per_second)
        )
        self.per_second = per_second
        self.paid = paid
        self.rate_limit_args = PAID_SEND if paid else SLOT_TAKEN
        self.pacer = Pacer(per_second)  # holds for all; the pace itself only when paid
        self.round_trip = FIRST_ROUND_TRIP_GUESS_SECONDS
        self.holds = 0  # how many holds so far: a send that waited through one is looked at again
        self.tasks: set[asyncio.Task] = set()
        self._changed = asyncio.Event()  # set whenever a send finishes
        self.finished = 0  # sends finished so far: what a waiter compares with

    def window(self) -> int:
        return in_flight_window(self.per_second, self.round_trip)

    @property
    def busy(self) -> bool:
        return bool(self.tasks)

    def hold_wait(self) -> float:
        """Seconds until sends may start again after a 429 or a backoff (0 if now)."""
        return self.pacer.wait_time(asyncio.get_running_loop().time())

    def hold_until(self, moment: float) -> None:
        self.holds += 1
        self.pacer.hold_until(moment)

    def retry_after(self, seconds: float) -> None:
        """Telegram said "retry after": nothing from the whole bot's budget before then."""
        self.hold_until(asyncio.get_running_loop().time() + seconds)
        self.budget.hold(seconds)

    async def wait_for_room(self) -> None:
        while len(self.tasks) >= self.window():
            await self.wait_for_a_finished_send(self.finished)

    async def wait_for_a_finished_send(self, since: int) -> None:
        """Until a send finishes after the count `since`, taken by the caller when it looked.
        A coroutine starts only when the loop next runs it: a send that finished in between
        has already counted, so it is not waited for (once it was, for 30 s, with nothing left)."""
        while self.finished == since:
            self._changed.clear()
            await self._changed.wait()

    async def take_slot(self) -> None:
        """Wait for this send's start: after any hold, then in its slot."""
        loop = asyncio.get_running_loop()
        while (wait := self.hold_wait()) > 0:
            await asyncio.sleep(wait)
        if self.paid:
            wait = self.pacer.wait_time(loop.time())
            if wait > 0:
                await asyncio.sleep(wait)
            self.pacer.take(loop.time())
        else:
            await self.budget.bulk_slot()

    def launch(self, send: Awaitable[None]) -> asyncio.Task:
        task = asyncio.create_task(send)
        self.tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def measured(self, seconds: float) -> None:
        """One send's round trip: a moving average, so one slow answer moves it a little."""
        self.round_trip = 0.8 * self.round_trip + 0.2 * seconds

    def _finished(self, task: asyncio.Task) -> None:
        self.tasks.discard(task)
        self.finished += 1
        self._changed.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("a bulk send failed unexpectedly", exc_info=task.exception())

    async def drain(self, timeout: float | None = None) -> None:
        """Wait for the sends in flight; after `timeout`, cut them off."""
        if not self.tasks:
            return
        done, pending = await asyncio.wait(set(self.tasks), timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)


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
        paid: bool = False,
        progress_interval: float = PROGRESS_INTERVAL_SECONDS,
    ) -> None:
        self.bot = bot
        self.storage = storage
        self.screens = screens
        self.clock = clock
        self.progress_interval = progress_interval
        self.pipeline = SendPipeline(bot, per_second, paid=paid)
        self.counters = WorkerCounters()
        self._failures = FailureStreak()
        self._last_progress: dict[int, float] = {}
        # Rows read from SQLite and not yet started, in sending order (a refused one goes
        # back to its place), and those on their way, by (broadcast id, user id).
        self._queue: list[OutboxItem] = []
        self._in_flight: set[tuple[int, int]] = set()
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
        """Start no more sends; let those in flight finish (up to `grace` seconds), then stop."""
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
        await self.pipeline.drain(timeout=0)
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
        await self.pipeline.drain()  # the sends in flight write their outcomes

    async def _step(self) -> None:
        if self._wake.is_set():
            # Send or Cancel was tapped: read the rows afresh (a cancelled broadcast's are gone).
            self._wake.clear()
            self._queue.clear()
        if not self._queue:
            await self._finish_due()
            # A send that failed meanwhile (during _finish_due) is back in the queue and no
            # longer in flight: leave out both, or it would be read again and sent twice.
            held = self._in_flight | {(item.broadcast.id, item.user_id) for item in self._queue}
            self._queue.extend(await self.storage.next_outbox_items(BATCH_SIZE, held))
            if not self._queue:
                if self.pipeline.busy:  # the last answers are on their way
                    await self._until(self.pipeline.wait_for_a_finished_send(self.pipeline.finished))
                    return
                # Every outcome is written now: the reports that are due, then a rest.
                await self._finish_due()
                await self._pause(IDLE_SECONDS, wake_early=True)
                return
        if len(self.pipeline.tasks) >= self.pipeline.window():
            await self._until(self.pipeline.wait_for_room())
            return
        item = self._queue.pop(0)
        if item.blocked or item.opted_out:
            # They blocked the bot or said /stop after Send was tapped: no message.
            await self.storage.record_outcome(
                item.broadcast.id, item.user_id, "blocked" if item.blocked else "skipped", self.clock()
            )
            return
        # A hold (429, backoff) may be long: a Cancel or a stop ends the wait.
        hold = self.pipeline.hold_wait()
        if hold > 0 and await self._pause(hold, wake_early=True):
            self._requeue(item)
            return
        holds = self.pipeline.holds
        await self.pipeline.take_slot()
        if self._wake.is_set() or self._stopping.is_set() or self.pipeline.holds != holds:
            # Looked at again first (a Cancel, a stop, a 429 meanwhile); the slot goes unused.
            self._requeue(item)
            return
        self._in_flight.add((item.broadcast.id, item.user_id))
        self.pipeline.launch(self._deliver(item))

    def _requeue(self, item: OutboxItem) -> None:
        """Back in the queue, in its place: a refused patient goes before anyone new."""
        bisect.insort(self._queue, item, key=_sending_order)

    async def _deliver(self, item: OutboxItem) -> None:
        broadcast_id, user_id = item.broadcast.id, item.user_id
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            try:
                # No rate limiter retries: this worker paces and honours retry_after itself.
                options: dict[str, object] = {"rate_limit_args": self.pipeline.rate_limit_args}
                if self.pipeline.paid:
                    options["allow_paid_broadcast"] = True
                await send_broadcast_message(self.bot, user_id, self.screens.message_for(item), **options)
            except Exception as error:  # noqa: BLE001 - every failure is classified below
                await self._failed(item, error, started)
                return
            self.pipeline.measured(loop.time() - started)
            self._failures.succeeded()
            self.counters.sent += 1
            await self.storage.record_outcome(broadcast_id, user_id, "sent", self.clock())
        finally:
            # Only now, with its outcome written (or it back in the queue), may it be read again.
            self._in_flight.discard((broadcast_id, user_id))
        await self._maybe_show_progress(broadcast_id)

    async def _failed(self, item: OutboxItem, error: Exception, started: float) -> None:
        broadcast_id, user_id = item.broadcast.id, item.user_id
        now = asyncio.get_running_loop().time()
        failure = classify(error)
        if failure is Failure.RETRY_AFTER:
            seconds = retry_after_seconds(error)
            self.counters.retry_afters += 1
            self.pipeline.retry_after(seconds + RETRY_AFTER_MARGIN_SECONDS)
            self._requeue(item)  # the same patient again, first
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
        in_a_row = self._failures.failed(started, now)
        attempts = await self.storage.record_failed_attempt(broadcast_id, user_id)
        # Sends in flight finish meanwhile, so "in a row" alone would forget this patient's
        # own failures: the pause grows with whichever is more.
        pause = backoff_seconds(max(in_a_row, attempts))
        if attempts >= MAX_ATTEMPTS:
            log.warning("broadcast %s: a message failed %s times (%s); giving up on it", broadcast_id, attempts, type(error).__name__)
            await self.storage.record_outcome(broadcast_id, user_id, "failed", self.clock())
        else:
            log.warning("broadcast %s: sending failed (%s); trying again in %ss", broadcast_id, type(error).__name__, pause)
            self._requeue(item)
        if not isinstance(error, TelegramError):
            log.error("broadcast %s: unexpected error while sending", broadcast_id, exc_info=error)
        self.pipeline.hold_until(now + pause)

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
        if report is not None and report.broadcast.state == "sending":
            await self._tell_staff(self.screens.show_progress, report)

    async def _finish_due(self) -> None:
        for broadcast in await self.storage.broadcasts_to_finish():
            if any(key[0] == broadcast.id for key in self._in_flight):
                continue  # a cancelled broadcast's last answers are still on their way
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

    async def _until(self, waiting: Awaitable[None]) -> None:
        """Wait for `waiting`, or less if the worker is woken or stopped."""
        task = asyncio.ensure_future(waiting)
        try:
            await self._race([task], wake_early=True, timeout=IDLE_SECONDS)
        finally:
            task.cancel()

    async def _pause(self, seconds: float, *, wake_early: bool) -> bool:
        """Sleep; True if it ended early, on stop (or on wake(), if asked)."""
        return await self._race([], wake_early=wake_early, timeout=seconds)

    async def _race(self, others: list[asyncio.Future], *, wake_early: bool, timeout: float) -> bool:
        waiters = [asyncio.create_task(self._stopping.wait())]
        if wake_early:
            waiters.append(asyncio.create_task(self._wake.wait()))
        try:
            done, _pending = await asyncio.wait(waiters + others, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        return bool(done & set(waiters))


def _sending_order(item: OutboxItem) -> tuple[int, int]:
    return item.broadcast.id, item.user_id
