"""The bot's rate limiter: one shared budget of messages a second, patients first.

Telegram lets a bot send about 30 messages a second across all chats. Every Bot API request
goes through `BotRateLimiter` (python-telegram-bot's rate-limiter extension point), and every
request that sends or edits a message takes a *slot* of one `SharedBudget`:

* **answers to patients** (any send or edit without special `rate_limit_args`) reserve the
  next free slot at once, so they wait at most for the slots already promised: a few tens of
  milliseconds, even while a broadcast runs at full rate;
* **bulk sends** (the broadcast outbox and the daily prompts, bot/outbox.py) take a slot with
  `await budget.bulk_slot()` *before* they send, one at a time in the order they asked, and
  only when no answer is waiting for it; besides, bulk sends never exceed their own rate
  (`broadcasts.messages_per_second`). They then send with `rate_limit_args=SLOT_TAKEN`:
  one attempt, and a 429 handed to them (they pause and requeue the patient themselves);
* **answering a callback query** (the spinner on a button) never waits for anything: it is
  not a message, and Telegram does not count it.

Slots are evenly spaced, 1/per_second apart on a grid, so a start made a little late by the
event loop's timers does not slow the whole broadcast down; never two closer than half a
slot, and no one-second window holds more bulk starts than the bulk rate (the last second's
starts are counted). A 429 from any request holds the whole budget for its `retry_after`.

Groups keep python-telegram-bot's own limit of 20 messages a minute per group, and answers
that meet a 429 are retried after `retry_after` (`max_retries` times): a patient should get
their answer a little late rather than an error. `OWN_RETRIES` asks for one attempt, counted
like an answer, with a 429 raised to the caller.
"""

from __future__ import annotations

import asyncio
import math
import warnings
from collections import deque
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import AIORateLimiter

# Telegram's limit for a bot, across all chats; the budget keeps exactly to it.
TELEGRAM_MESSAGES_PER_SECOND = 30.0
# rate_limit_args for a call whose caller handles 429s itself.
OWN_RETRIES = {"max_retries": 0}
# rate_limit_args for a bulk send whose slot was taken with `bulk_slot()` (one attempt).
SLOT_TAKEN = {"max_retries": 0, "slot": "taken"}
# rate_limit_args for a paid broadcast's send (allow_paid_broadcast): outside the free budget.
PAID_SEND = {"max_retries": 0, "slot": "paid"}
# Requests that neither send nor change a message: no slot.
NOT_MESSAGES = frozenset({"sendChatAction"})


def takes_a_slot(endpoint: str, data: dict[str, Any]) -> bool:
    """True for requests that send or edit a message in a chat (what Telegram counts)."""
    if endpoint in NOT_MESSAGES or data.get("chat_id") is None:
        return False
    return endpoint.startswith(("send", "copyMessage", "forwardMessage", "editMessage"))


class SharedBudget:
    """Slots for message sends: at most `per_second` a second overall, answers first, bulk
    sends (the outbox, daily prompts) also at most `bulk_per_second`."""

    def __init__(self, per_second: float = TELEGRAM_MESSAGES_PER_SECOND, bulk_per_second: float = 29.0) -> None:
        self.interval = 1.0 / per_second
        self.bulk_interval = 1.0 / min(bulk_per_second, per_second)
        self._next_free = float("-inf")  # the next slot no one has been promised
        self._bulk_next = float("-inf")  # the earliest next bulk start, by the bulk rate
        self._held_until = float("-inf")  # a 429's retry_after
        self._bulk_turn: asyncio.Lock | None = None  # bulk callers queue here, first come first served
        # The starts of the last bulk sends, as many as the bulk rate allows in one second.
        self._bulk_starts: deque[float] = deque(maxlen=max(1, math.ceil(bulk_per_second)))
        self.slots_to_answers = 0
        self.slots_to_bulk = 0

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()

    async def answer_slot(self) -> None:
        """Reserve the next free slot and wait for it."""
        now = self._now()
        slot = max(now, self._next_free, self._held_until)
        self._next_free = slot + self.interval
        self.slots_to_answers += 1
        if slot > now:
            await asyncio.sleep(slot - now)

    async def bulk_slot(self) -> None:
        """Wait for a slot no answer needs, after the bulk callers who asked before."""
        if self._bulk_turn is None:
            self._bulk_turn = asyncio.Lock()
        async with self._bulk_turn:
            while True:
                now = self._now()
                # Looked at again after every sleep: an answer may have taken the slot.
                slot = max(self._next_free, self._bulk_next, self._held_until)
                if len(self._bulk_starts) == self._bulk_starts.maxlen:
                    slot = max(slot, self._bulk_starts[0] + 1.0)  # no second over the bulk rate
                if slot <= now:
                    break
                await asyncio.sleep(slot - now)
            # The next slots stay on their grid when this one started a little late (the event
            # loop's timers are), so the rate is kept; never earlier than half a slot from now.
            self._next_free = max(self._next_free, now - self.interval / 2) + self.interval
            self._bulk_next = max(self._bulk_next, now - self.bulk_interval / 2) + self.bulk_interval
            self._bulk_starts.append(now)
            self.slots_to_bulk += 1

    def hold(self, seconds: float) -> None:
        """Telegram said "retry after": no slot for anyone before then."""
        self._held_until = max(self._held_until, self._now() + seconds)


class BotRateLimiter(AIORateLimiter):
    """The shared budget for sends and edits; PTB's AIORateLimiter, with its overall limit
    switched off (the budget does it), for per-group limits and retries after a 429."""

    def __init__(self, max_retries: int = 3, *, bulk_per_second: float = 29.0,
                 per_second: float = TELEGRAM_MESSAGES_PER_SECOND) -> None:
        super().__init__(overall_max_rate=0, max_retries=max_retries)
        self.budget = SharedBudget(per_second, bulk_per_second)

    async def process_request(
        self,
        callback: Any,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Any,
    ) -> Any:
        if endpoint == "answerCallbackQuery":
            return await callback(*args, **kwargs)  # never waits: not a message
        if isinstance(rate_limit_args, dict) and rate_limit_args.get("slot") in ("taken", "paid"):
            return await self._once(callback, args, kwargs)
        if not takes_a_slot(endpoint, data):
            return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)

        async def in_a_slot(*call_args: Any, **call_kwargs: Any) -> Any:
            await self.budget.answer_slot()  # every attempt, retries included, takes one
            try:
                return await callback(*call_args, **call_kwargs)
            except RetryAfter as error:
                if rate_limit_args == OWN_RETRIES:
                    # The caller waits and retries by itself (a staff alert to a chat over its
                    # own limit of a message a second): holding the whole budget for it made
                    # every patient's answer wait up to a second behind the alerts.
                    raise _RetryAfterForCaller(error) from None
                self.budget.hold(_seconds(error))
                raise

        try:
            return await super().process_request(in_a_slot, args, kwargs, endpoint, data, None)
        except _RetryAfterForCaller as wrapped:
            raise wrapped.error from None

    async def _once(self, callback: Any, args: Any, kwargs: dict[str, Any]) -> Any:
        try:
            return await callback(*args, **kwargs)
        except RetryAfter as error:
            self.budget.hold(_seconds(error))
            raise


class _RetryAfterForCaller(Exception):
    """Carries a RetryAfter past AIORateLimiter's retry loop, which catches only RetryAfter.

    (Stock AIORateLimiter cannot be told "no retries" for one call: it reads
    `rate_limit_args or max_retries`, so 0 means "the default".)
    """

    def __init__(self, error: RetryAfter) -> None:
        super().__init__(str(error))
        self.error = error


def _seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB 22 warns that the int form is deprecated
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
