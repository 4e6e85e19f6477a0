"""Fault-injection helpers: the bot as a process that can be SIGKILLed, and the burst of
check-in taps that tests/test_faults.py and bench/sigkill.py both run.

The bot runs as `python -m bot` against the stand-in, exactly as an operator runs it; the
test reads what patients saw from the stand-in and what is stored from the SQLite file.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bot.standin import QUERY_INVALID, BotApiStandIn
from tests.client import finished, wait_until
from tests.seed import add_patients, rows

REPO = Path(__file__).resolve().parent.parent
# The English "tap again" line (content/en/ui/common.yaml, error.stale_update).
TAP_AGAIN = "Sorry, I was briefly unavailable"


class BotProcess:
    """`python -m bot` in a subprocess: start, SIGKILL, start again, stop."""

    def __init__(self, standin: BotApiStandIn, env: dict[str, str], logs: Path) -> None:
        self.standin, self.env, self.logs = standin, env, logs
        self.process: asyncio.subprocess.Process | None = None
        self.runs = 0

    @property
    def database(self) -> Path:
        return Path(self.env["BOT_DATABASE"])

    async def start(self, timeout: float = 60) -> None:
        """Start the bot and wait until it polls for updates (its start-up is done)."""
        clean = {key: value for key, value in os.environ.items() if not key.startswith(("TELEGRAM_", "BOT_"))}
        self.runs += 1
        mark = len(self.standin.calls)
        log = open(self.logs / f"bot-run-{self.runs}.log", "wb")  # noqa: SIM115 - the child owns it
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", cwd=REPO, env={**clean, **self.env}, stdout=log, stderr=log,
        )
        log.close()
        await self.standin.wait_for(
            lambda: any(call.method == "getUpdates" for call in self.standin.calls[mark:]), timeout,
            what="the bot process to poll",
        )

    async def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as when the machine loses power."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
        # Its calls in flight will never be answered to anyone.
        for call in self.standin.calls:
            if call.status is None and not call.cancelled:
                call.cancelled = True

    async def stop(self) -> int:
        if self.process is None or self.process.returncode is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.process.wait(), 30)
        except asyncio.TimeoutError:
            self.process.kill()
            await self.process.wait()
            raise AssertionError("the bot did not stop within 30 s of SIGTERM") from None

    def log(self) -> str:
        return "\n".join(path.read_text(errors="replace") for path in sorted(self.logs.glob("bot-run-*.log")))


async def open_check_ins(standin: BotApiStandIn, bot: BotProcess, user_ids: list[int]) -> dict[int, int]:
    """Each patient sends /checkin; returns the message id of the score screen each got."""
    update_ids = []
    for user_id in user_ids:
        standin.push_text(user_id, "/checkin")
        update_ids.append(standin.last_update_id)
    await all_finished(update_ids, bot.database, timeout=120)
    prompts = {}
    for user_id in user_ids:
        [prompt] = [m for m in standin.chat_log(user_id) if m.inline_keyboard]
        prompts[user_id] = prompt.message_id
    return prompts


async def all_finished(update_ids: list[int], database: Path, timeout: float) -> None:
    await wait_until(
        lambda: all(finished(update_id, database) for update_id in update_ids), timeout,
        f"all {len(update_ids)} updates to be finished",
    )


def answers_done(standin: BotApiStandIn) -> bool:
    """No call of the bot in flight, but for its long poll (always held open)."""
    return all(c.status is not None or c.cancelled for c in standin.calls if c.method != "getUpdates")


@dataclass
class Tap:
    user_id: int
    message_id: int
    query_id: str
    pain: int


@dataclass
class BurstOutcome:
    taps: int
    answered_before_kill: int
    lost: list[Tap] = field(default_factory=list)  # never answered, never told to tap again
    handled_twice: list[Tap] = field(default_factory=list)  # the bot tried to answer it again
    shown_twice: list[Tap] = field(default_factory=list)  # the patient saw two answers
    told_to_tap_again: list[Tap] = field(default_factory=list)
    acknowledged_not_stored: list[Tap] = field(default_factory=list)
    stored_twice: list[int] = field(default_factory=list)  # patients with two check-ins
    redelivered: int = 0  # delivered to the bot but not confirmed at the kill


async def sigkill_during_tap_burst(
    standin: BotApiStandIn, bot: BotProcess, patients: int = 150, kill_after_answers: int = 40, first_id: int = 200_001
) -> BurstOutcome:
    """Patients with a check-in prompt each tap a score at once; the bot is SIGKILLed after
    `kill_after_answers` taps were answered, then started again, and every tap is waited for.
    The bot must be running (its schema created) when this starts."""
    user_ids = add_patients(standin, bot.database, range(first_id, first_id + patients), consented=True)
    prompts = await open_check_ins(standin, bot, user_ids)
    taps: dict[int, Tap] = {}
    for n, user_id in enumerate(user_ids):
        pain = n % 11
        query_id = standin.push_callback(user_id, prompts[user_id], f"ci:p:{pain}")
        taps[standin.last_update_id] = Tap(user_id, prompts[user_id], query_id, pain)

    def answered() -> int:
        return sum(tap.query_id in standin.callback_answers for tap in taps.values())

    await standin.wait_for(lambda: answered() >= kill_after_answers, timeout=60, what="taps to be answered")
    await bot.kill()
    outcome = BurstOutcome(taps=len(taps), answered_before_kill=answered())
    delivered = [update_id for update_id in taps if standin.delivered(update_id)]
    outcome.redelivered = sum(1 for update_id in delivered if not standin.confirmed(update_id))

    await bot.start()
    await all_finished(list(taps), bot.database, timeout=120)
    await wait_until(lambda: answers_done(standin), 30, "the bot's calls")

    stored = {
        (row["user_id"], row["message_id"]): row["pain"]
        for row in rows(bot.database, "SELECT user_id, message_id, pain FROM checkins")
    }
    per_patient = Counter(row["user_id"] for row in rows(bot.database, "SELECT user_id FROM checkins"))
    outcome.stored_twice = [user_id for user_id, count in per_patient.items() if count > 1]
    for tap in taps.values():
        attempts = [
            c for c in standin.calls
            if c.method == "answerCallbackQuery" and str(c.params.get("callback_query_id")) == tap.query_id
        ]
        answers = [c for c in attempts if c.ok]
        tap_again = [m for m in standin.chat_log(tap.user_id) if TAP_AGAIN in m.text]
        if len(attempts) > 1:
            outcome.handled_twice.append(tap)
        if len(answers) + len(tap_again) > 1:
            outcome.shown_twice.append(tap)
        if tap_again:
            outcome.told_to_tap_again.append(tap)
        elif not answers:
            outcome.lost.append(tap)
        acknowledged = answers and answers[0].params.get("text") == f"Saved: pain {tap.pain}/10"
        if acknowledged and stored.get((tap.user_id, tap.message_id)) != tap.pain:
            outcome.acknowledged_not_stored.append(tap)
    # A tap handled again after the restart: Telegram refuses its second answer (tolerated by
    # bot/screens.py) and its edit, which shows what is showing already.
    again = {tap.user_id for tap in outcome.handled_twice}
    for call in standin.errors:
        if call.chat_id in again and (call.description == QUERY_INVALID or "not modified" in (call.description or "")):
            call.expected = True
    return outcome
