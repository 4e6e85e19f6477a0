"""The bot's rate limiter: PTB's AIORateLimiter, plus a way for one call to own its retries.

Every Bot API request goes through one AIORateLimiter: at most 30 messages a second
overall and 20 a minute per group; on a 429 it waits `retry_after`, holding every other
request meanwhile, and tries again (`max_retries` times). That is right for answering
patients, who should get their answer a little late rather than an error.

The broadcast worker (bot/outbox.py) needs the opposite for its sends. It paces itself and,
on a 429, must *know*: pause the whole broadcast, try the same patient again, and count it.
A 429 retried inside the limiter would be invisible to it, and the limiter would be
sleeping on the worker's behalf. Stock AIORateLimiter cannot be told "no retries" for one
call: it reads `rate_limit_args or max_retries`, so 0 means "the default", and ExtBot drops
a falsy value before it gets there. `OWN_RETRIES` means exactly that: one attempt, still
counted against the overall limit (so broadcasts and answers share one budget) and still
waiting out a pause another request ran into, with a 429 raised to the caller.
"""

from __future__ import annotations

from typing import Any

from telegram.error import RetryAfter
from telegram.ext import AIORateLimiter

# rate_limit_args for a call whose caller handles 429s itself.
OWN_RETRIES = {"max_retries": 0}


class _RetryAfterForCaller(Exception):
    """Carries a RetryAfter past AIORateLimiter's retry loop, which catches only RetryAfter."""

    def __init__(self, error: RetryAfter) -> None:
        super().__init__(str(error))
        self.error = error


class BotRateLimiter(AIORateLimiter):
    async def process_request(
        self,
        callback: Any,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Any,
    ) -> Any:
        if rate_limit_args != OWN_RETRIES:
            return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)

        async def once(*call_args: Any, **call_kwargs: Any) -> Any:
            try:
                return await callback(*call_args, **call_kwargs)
            except RetryAfter as error:
                raise _RetryAfterForCaller(error) from None

        try:
            return await super().process_request(once, args, kwargs, endpoint, data, None)
        except _RetryAfterForCaller as wrapped:
            raise wrapped.error from None
