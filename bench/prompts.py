"""Benchmark: 10,000 daily prompts due at once, through the same pipeline as broadcasts.

    .venv/bin/python bench/prompts.py                       # 10,000 patients, 50 ms round trip
    .venv/bin/python bench/prompts.py --patients 2000 --round-trip-ms 0

The bot runs as `python -m bot` against the stand-in (30 messages a second, the given
network round trip). Every patient has a daily reminder due now, their chosen times spread
over the last ten minutes; the bot's one periodic job finds them at its first tick. From
the stand-in's log: the rate the prompts went out at (÷ 29 configured, ÷ 30), 429s,
duplicates (a patient prompted twice), losses, and how far the arrival order strays from
the order of due time (share of neighbouring pairs out of order).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sqlite3
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.broadcast import CONFIG, TOKEN, BotProcess, seed  # noqa: E402
from bot.standin import BotApiStandIn, RateLimits  # noqa: E402
from bot.storage import Storage  # noqa: E402


def add_due_reminders(database: Path, patients: list[int]) -> dict[int, str]:
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    due = {}
    with contextlib.closing(sqlite3.connect(database)) as db, db:
        for index, user_id in enumerate(patients):
            moment = now - timedelta(minutes=(index * 7) % 10)  # shuffled over ten minutes
            due[user_id] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
            db.execute(
                "INSERT INTO reminders (user_id, local_time, timezone, next_due) VALUES (?, ?, 'UTC', ?)",
                (user_id, moment.strftime("%H:%M"), due[user_id]),
            )
    return due


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--round-trip-ms", type=float, default=50)
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-prompts-") as folder:
        workdir = Path(folder)
        database, config = workdir / "bot.sqlite3", workdir / "clinic.yaml"
        config.write_text(CONFIG, encoding="utf-8")
        storage = await Storage.open(database)
        await storage.close()
        standin = BotApiStandIn(TOKEN, limits=RateLimits(global_per_second=30))
        standin.with_network_delay(args.round_trip_ms / 1000, args.round_trip_ms / 5000)
        await standin.start()
        patients = seed(database, standin, args.patients)
        due = add_due_reminders(database, patients)
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "BOT_"))}
        env = {**clean, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BASE_URL": standin.base_url,
               "BOT_CONFIG": str(config), "BOT_DATABASE": str(database)}
        bot = BotProcess(env, workdir / "bot.log")
        wanted = set(patients)

        def prompts() -> list:
            return [c for c in standin.calls if c.method == "sendMessage" and c.ok and c.chat_id in wanted]

        try:
            await bot.start()
            await standin.wait_for(lambda: len(prompts()) >= len(patients), timeout=args.timeout, what="every prompt")
            await asyncio.sleep(35)  # the job's next tick (30 s) finds nothing more to send
        finally:
            await bot.stop()
            await standin.stop()
    sent = sorted(prompts(), key=lambda c: c.time)
    achieved = (len(sent) - 1) / (sent[-1].time - sent[0].time)
    counts = {user_id: len(standin.chat_log(user_id)) for user_id in patients}
    order = [(due[c.chat_id], c.chat_id) for c in sent]
    out_of_order = sum(1 for a, b in zip(order, order[1:]) if a > b)
    result = {
        "round_trip_ms": args.round_trip_ms, "patients": len(patients), "seconds": round(sent[-1].time - sent[0].time, 1),
        "achieved_per_second": round(achieved, 2), "ratio_to_configured": round(achieved / 29, 3),
        "ratio_to_30": round(achieved / 30, 3), "too_many_requests": sum(1 for c in standin.calls if c.status == 429),
        "duplicates": sum(n - 1 for n in counts.values() if n > 1), "losses": sum(1 for n in counts.values() if n == 0),
        "neighbours_out_of_due_order": round(out_of_order / max(1, len(order) - 1), 4),
    }
    print("| round trip ms | patients | seconds | achieved/s | ÷ 29 | ÷ 30 | 429s | duplicates | losses | neighbours out of due order |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    r = result
    print(f"| {r['round_trip_ms']:g} | {r['patients']} | {r['seconds']} | {r['achieved_per_second']} | {r['ratio_to_configured']} | "
          f"{r['ratio_to_30']} | {r['too_many_requests']} | {r['duplicates']} | {r['losses']} | {r['neighbours_out_of_due_order']} |")
    out = REPO / "bench" / "results" / f"prompts-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
