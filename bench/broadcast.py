"""Benchmark: a broadcast to many patients against a stand-in that enforces Telegram's limit.

    .venv/bin/python bench/broadcast.py                       # 10,000 patients, both scenarios
    .venv/bin/python bench/broadcast.py --patients 2000       # a quicker run
    .venv/bin/python bench/broadcast.py --scenario kill
    .venv/bin/python bench/broadcast.py --round-trip-ms 0 50 150 --scenario clean

`--round-trip-ms` plays a network between the bot and the stand-in (bot/standin.py's
network delay, with a jitter of a fifth of the round trip): each value is a run of its own.

The bot runs as `python -m bot`, a subprocess, exactly as deployed; the Bot API stand-in
(bot/standin.py) runs in this process on 127.0.0.1 with `RateLimits(global_per_second=30)`,
answering 429 with retry_after like Telegram once a second holds more than 30 messages.
A staff member composes and sends the broadcast through the stand-in, as in the app.

Scenarios, run one after the other on fresh databases:
  clean  the broadcast runs to its end;
  kill   the bot is killed with SIGKILL once half the patients have their message, and
         started again at once on the same database.

Measured from the stand-in's log of requests: the achieved rate (messages delivered per
second between the first and the last) divided by the limit, the median and highest count
in any one second, the number of 429s, duplicates (patients with more than one message)
and losses (patients with none). Results are printed as a Markdown table and written to
bench/results/broadcast-<time>.json. Loopback only; each scenario gives up after --timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.config import DEFAULT_BROADCAST_RATE  # noqa: E402
from bot.outbox import in_flight_window  # noqa: E402
from bot.standin import BotApiStandIn, RateLimits  # noqa: E402
from bot.storage import Storage  # noqa: E402
from tests.client import TelegramUser  # noqa: E402

TOKEN = "123456789:AAH-bench-token-for-the-loopback-stand-in"
STAFF_ID = 777000111
FIRST_PATIENT = 10_000_001
MESSAGE = "Bench: the clinic is closed on Friday for staff training."
CONFIG = f"""
clinic:
  name: Bench Clinic
  phone: "+1 555 010 0000"
  hours: "Mon-Fri 8:00-17:00"
  timezone: America/Los_Angeles
staff_ids: [{STAFF_ID}]
staff_chat_id: null
"""


@dataclass
class Result:
    scenario: str
    round_trip_ms: float
    patients: int
    configured_per_second: float  # the bot's broadcasts.messages_per_second
    ratio_to_configured: float
    window: int  # the pipeline's sends in flight at most, at this rate and round trip
    limit_per_second: float
    delivered: int
    seconds: float
    achieved_per_second: float
    ratio_to_limit: float
    median_per_second: float
    busiest_second: int
    gap_ms_median: float  # between consecutive sends: 40 ms is 25 a second
    gap_ms_p99: float
    too_many_requests: int
    duplicates: int
    losses: int
    restart_gap_seconds: float | None
    report: str


class BotProcess:
    """`python -m bot` against the stand-in, its output kept in a log file."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.process: asyncio.subprocess.Process | None = None
        self.command = [sys.executable, "-m", "bot"]

    async def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child process
        self.process = await asyncio.create_subprocess_exec(
            *self.command, cwd=REPO, env=self.env, stdout=log, stderr=asyncio.subprocess.STDOUT
        )
        log.close()

    async def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except asyncio.TimeoutError:
                await self.kill()


def seed(database: Path, standin: BotApiStandIn, count: int) -> list[int]:
    patients = list(range(FIRST_PATIENT, FIRST_PATIENT + count))
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with contextlib.closing(sqlite3.connect(database)) as db, db:
        db.executemany(
            "INSERT INTO patients (user_id, first_name, language, first_seen, last_seen) VALUES (?, 'P', 'en', ?, ?)",
            [(user_id, now, now) for user_id in patients],
        )
    for user_id in patients:
        standin.user(user_id, first_name="P")
    return patients


def delivered_count(standin: BotApiStandIn, patients: list[int]) -> int:
    return sum(1 for user_id in patients if standin.chat_log(user_id))


async def run_scenario(scenario: str, count: int, limit: float, timeout: float, workdir: Path, round_trip_ms: float = 0.0) -> Result:
    database = workdir / f"{scenario}-{round_trip_ms:g}.sqlite3"
    config = workdir / "clinic.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    storage = await Storage.open(database)  # the schema, as the bot would create it
    await storage.close()

    standin = BotApiStandIn(TOKEN, limits=RateLimits(global_per_second=limit))
    standin.with_network_delay(round_trip_ms / 1000, jitter_seconds=round_trip_ms / 5000)
    await standin.start()
    patients = seed(database, standin, count)
    clean_env = {key: value for key, value in os.environ.items() if not key.startswith(("TELEGRAM_", "BOT_"))}
    env = {
        **clean_env,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": standin.base_url,
        "BOT_CONFIG": str(config),
        "BOT_DATABASE": str(database),
    }
    bot = BotProcess(env, workdir / f"{scenario}-{round_trip_ms:g}.log")
    restart_gap = None
    try:
        await bot.start()
        await standin.wait_for(lambda: any(c.method == "getUpdates" for c in standin.calls), timeout=60, what="the bot to start")
        staff = TelegramUser(standin, STAFF_ID, first_name="Staff", bot_database=database)
        await staff.send("/broadcast")
        await staff.send(MESSAGE)
        await staff.click("All patients")
        await staff.click(f"Send to {count} patients")

        if scenario == "kill":
            await standin.wait_for(lambda: delivered_count(standin, patients) >= count // 2, timeout=timeout, what="half")
            await bot.kill()
            killed_at = standin.clock()
            await bot.start()
            first_after = await standin.wait_for(
                lambda: next((c for c in patient_sends(standin, patients) if c.time > killed_at), None),
                timeout=60, what="sending to go on after the restart",
            )
            last_before = max(c.time for c in patient_sends(standin, patients) if c.time <= killed_at)
            restart_gap = first_after.time - last_before

        report = await staff.expect("finished", timeout=timeout)
    finally:
        await bot.stop()
        await standin.stop()

    sends = sorted(patient_sends(standin, patients), key=lambda c: c.time)
    start, end = sends[0].time, sends[-1].time
    per_second = [0] * (int(end - start) + 1)
    for call in sends:
        per_second[int(call.time - start)] += 1
    full_seconds = per_second[:-1] or per_second
    busiest = max(sum(1 for c in sends if s.time <= c.time < s.time + 1.0) for s in sends[:: max(1, len(sends) // 2000)])
    achieved = (len(sends) - 1) / (end - start) if end > start else float(len(sends))
    logs = [len(standin.chat_log(user_id)) for user_id in patients]
    gaps = sorted((b.time - a.time) * 1000 for a, b in zip(sends, sends[1:]))
    return Result(
        scenario=scenario,
        round_trip_ms=round_trip_ms,
        patients=count,
        configured_per_second=DEFAULT_BROADCAST_RATE,
        ratio_to_configured=round(achieved / DEFAULT_BROADCAST_RATE, 3),
        window=in_flight_window(DEFAULT_BROADCAST_RATE, round_trip_ms / 1000),
        limit_per_second=limit,
        delivered=sum(1 for n in logs if n),
        seconds=round(end - start, 1),
        achieved_per_second=round(achieved, 2),
        ratio_to_limit=round(achieved / limit, 3),
        median_per_second=statistics.median(full_seconds),
        busiest_second=busiest,
        gap_ms_median=round(statistics.median(gaps), 1),
        gap_ms_p99=round(gaps[int(len(gaps) * 0.99)], 1),
        too_many_requests=sum(1 for c in standin.calls if c.status == 429),
        duplicates=sum(n - 1 for n in logs if n > 1),
        losses=sum(1 for n in logs if n == 0),
        restart_gap_seconds=round(restart_gap, 2) if restart_gap is not None else None,
        report=report.text.replace("\n", " / "),
    )


def patient_sends(standin: BotApiStandIn, patients: list[int]) -> list:
    first, last = patients[0], patients[-1]
    return [
        c for c in standin.calls
        if c.method == "sendMessage" and c.status == 200 and c.chat_id is not None and first <= c.chat_id <= last
    ]


def table(results: list[Result]) -> str:
    lines = [
        "| scenario | round trip ms | patients | delivered | seconds | achieved/s | ÷ configured | ÷ 30 | median/s | busiest second | gap ms median / p99 | 429s | duplicates | window | losses | restart gap s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        gap = "" if r.restart_gap_seconds is None else f"{r.restart_gap_seconds}"
        lines.append(
            f"| {r.scenario} | {r.round_trip_ms:g} | {r.patients} | {r.delivered} | {r.seconds} | {r.achieved_per_second} | "
            f"{r.ratio_to_configured} | {r.ratio_to_limit} | {r.median_per_second} | {r.busiest_second} | {r.gap_ms_median} / {r.gap_ms_p99} | {r.too_many_requests} | "
            f"{r.duplicates} | {r.window} | {r.losses} | {gap} |"
        )
    return "\n".join(lines)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--limit", type=float, default=30, help="the stand-in's messages per second")
    parser.add_argument("--scenario", choices=["clean", "kill", "both"], default="both")
    parser.add_argument("--timeout", type=float, default=900, help="seconds each scenario may take")
    parser.add_argument("--round-trip-ms", type=float, nargs="+", default=[0.0], help="network round trips to play, one run each")
    args = parser.parse_args()
    scenarios = ["clean", "kill"] if args.scenario == "both" else [args.scenario]
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-broadcast-") as folder:
        for round_trip in args.round_trip_ms:
            for scenario in scenarios:
                started = time.monotonic()
                result = await run_scenario(scenario, args.patients, args.limit, args.timeout, Path(folder), round_trip)
                print(f"{scenario} at {round_trip:g} ms: done in {time.monotonic() - started:.0f} s; report: {result.report}", flush=True)
                print(table([result]), flush=True)
                results.append(result)
    print(table(results))
    out = REPO / "bench" / "results" / f"broadcast-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps([asdict(r) for r in results], indent=2), encoding="utf-8")
    print(f"written to {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
