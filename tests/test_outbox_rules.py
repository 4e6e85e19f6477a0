"""The broadcast worker's pure rules (pacing, backoff, what an error means), the rate
limiter's OWN_RETRIES, and the export's pseudonyms: no Telegram, no network."""

from __future__ import annotations

import asyncio

import pytest
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot import export
from bot.outbox import (
    MAX_IN_FLIGHT, Failure, FailureStreak, Pacer, SendPipeline, backoff_seconds, classify, in_flight_window, retry_after_seconds,
)
from bot.rate_limiter import OWN_RETRIES, BotRateLimiter


def starts_when_sending_at_once(pacer: Pacer, count: int, send_seconds: float = 0.0) -> list[float]:
    """The start times of `count` sends, each waiting as long as the pacer says."""
    now, starts = 0.0, []
    for _ in range(count):
        now += pacer.wait_time(now)
        pacer.take(now)
        starts.append(now)
        now += send_seconds
    return starts


def test_the_pacer_spreads_sends_evenly_and_never_over_the_rate() -> None:
    starts = starts_when_sending_at_once(Pacer(25), 100)
    gaps = {round(b - a, 9) for a, b in zip(starts, starts[1:])}
    assert gaps == {0.04}
    assert max(sum(1 for t in starts if s <= t < s + 1) for s in starts) == 25


def test_a_slow_send_is_not_made_up_for_with_a_burst() -> None:
    pacer = Pacer(25)
    starts = starts_when_sending_at_once(pacer, 5, send_seconds=0.5)
    assert all(round(b - a, 9) == 0.5 for a, b in zip(starts, starts[1:]))
    assert pacer.wait_time(starts[-1] + 0.5) == 0


def test_hold_until_pushes_the_next_send_out_and_never_back() -> None:
    pacer = Pacer(25)
    pacer.take(0.0)
    pacer.hold_until(1.1)  # a 429 with retry_after 1
    assert pacer.wait_time(0.5) == pytest.approx(0.6)
    pacer.hold_until(0.2)
    assert pacer.wait_time(0.5) == pytest.approx(0.6)


def test_the_window_fills_the_round_trip_at_the_rate_and_is_bounded() -> None:
    # 29 a second for 150 ms is 4.35 sends on their way; half again and two spare: 9.
    assert in_flight_window(29, 0.15) == 9
    assert in_flight_window(29, 0.05) == 5
    assert in_flight_window(29, 0.0) == 2
    assert in_flight_window(1000, 0.15) == MAX_IN_FLIGHT  # a paid broadcast at full speed


def test_a_window_of_sends_failing_in_one_outage_is_one_failure_in_a_row() -> None:
    streak = FailureStreak()
    # 60 sends started within half a second, all failing when the API blips at t=10.
    counts = [streak.failed(started=9.5 + i / 120, now=10.0 + i / 1000) for i in range(60)]
    assert counts[-1] == 1 and backoff_seconds(counts[-1]) == 1
    # The first send after the pause fails again: now it is two in a row, and so on.
    assert streak.failed(started=11.2, now=11.3) == 2
    assert streak.failed(started=13.4, now=13.5) == 3
    streak.succeeded()
    assert streak.failed(started=20.0, now=20.1) == 1


def test_backoff_doubles_from_one_second_and_is_capped() -> None:
    assert [backoff_seconds(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert backoff_seconds(10_000) == 60


@pytest.mark.parametrize(
    ("error", "failure"),
    [
        (RetryAfter(3), Failure.RETRY_AFTER),
        (Forbidden("Forbidden: bot was blocked by the user"), Failure.BLOCKED),
        (Forbidden("Forbidden: user is deactivated"), Failure.BLOCKED),
        (BadRequest("Bad Request: chat not found"), Failure.FINAL),
        (TimedOut(), Failure.PASSING),
        (NetworkError("Bad Gateway"), Failure.PASSING),
        (ValueError("a bug"), Failure.PASSING),
    ],
)
def test_what_a_failed_send_means(error: Exception, failure: Failure) -> None:
    assert classify(error) is failure


def test_retry_after_in_seconds() -> None:
    assert retry_after_seconds(RetryAfter(7)) == 7.0


async def test_own_retries_hands_a_429_to_the_caller_at_once() -> None:
    limiter = BotRateLimiter(max_retries=3)
    calls = 0

    async def refused(*args, **kwargs):
        nonlocal calls
        calls += 1
        raise RetryAfter(1)

    started = asyncio.get_running_loop().time()
    with pytest.raises(RetryAfter):
        await limiter.process_request(refused, (), {}, "sendMessage", {"chat_id": 1}, OWN_RETRIES)
    assert calls == 1
    assert asyncio.get_running_loop().time() - started < 0.5  # no sleeping on the caller's behalf


async def test_a_429_the_caller_retries_itself_holds_no_one_else() -> None:
    """A staff alert to a chat over its own limit gets a 429 and retries by itself; the next
    patient's crisis reply must not wait behind it (it once waited up to a second)."""
    limiter = BotRateLimiter(max_retries=3)

    async def refused(*args, **kwargs):
        raise RetryAfter(5)

    async def answered(*args, **kwargs):
        return {"ok": True}

    with pytest.raises(RetryAfter):
        await limiter.process_request(refused, (), {}, "sendMessage", {"chat_id": 777}, OWN_RETRIES)
    reply = asyncio.ensure_future(limiter.process_request(answered, (), {}, "sendMessage", {"chat_id": 1001}, None))
    assert await asyncio.wait_for(reply, timeout=1) == {"ok": True}  # not held for the alert's 5 s


async def test_other_calls_keep_the_limiters_own_retries() -> None:
    limiter = BotRateLimiter(max_retries=2)
    calls = 0

    async def refused_once(*args, **kwargs):
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RetryAfter(0)
        return {"ok": True}

    assert await limiter.process_request(refused_once, (), {}, "sendMessage", {"chat_id": 1}, None) == {"ok": True}
    assert calls == 2


def test_pseudonyms_are_stable_per_key_and_reveal_no_id() -> None:
    key, other_key = b"k" * 32, b"o" * 32
    assert export.pseudonym(key, 2001) == export.pseudonym(key, 2001)
    assert export.pseudonym(key, 2001) != export.pseudonym(key, 2002)
    assert export.pseudonym(key, 2001) != export.pseudonym(other_key, 2001)
    assert "2001" not in export.pseudonym(key, 2001)


@pytest.mark.parametrize("value", ["=1+1", "+33", "-2", "@SUM(A1)", "\tx"])
def test_cells_that_spreadsheets_would_run_stay_text(value: str) -> None:
    assert export.text_cell(value) == "'" + value
    assert export.text_cell("Ann") == "Ann"


async def test_a_send_that_finished_before_the_wait_began_is_not_waited_for() -> None:
    """The worker sees a send in flight, then waits for it; the wait starts only when the
    loop next runs it. A send that finished in between must end the wait at once: once it
    was missed, and a broadcast's report waited 30 s with nothing left to send."""
    pipeline = SendPipeline(bot=None, per_second=30)
    sending = pipeline.launch(asyncio.sleep(0))
    seen = pipeline.finished  # the worker looks: one send in flight
    await sending
    await asyncio.sleep(0)  # its done-callback has run: the send counted as finished
    await asyncio.wait_for(pipeline.wait_for_a_finished_send(seen), timeout=1)
    # ...while a wait that began after the last finish does wait for the next one.
    waiting = asyncio.ensure_future(pipeline.wait_for_a_finished_send(pipeline.finished))
    await asyncio.sleep(0.01)
    assert not waiting.done()
    pipeline.launch(asyncio.sleep(0))
    await asyncio.wait_for(waiting, timeout=1)

