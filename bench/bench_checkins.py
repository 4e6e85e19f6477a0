"""Benchmarks for daily check-ins (run by hand; results in BENCHMARKS.md).

    .venv/bin/python bench/bench_checkins.py [--patients 100000] [--rows 1000000]

1. The reminder job with 100,000 patients who have reminders: one tick when nothing is due
   (the cost paid every 30 s: an indexed query) and one tick that sends 100 prompts through
   the real Application to a loopback Bot API stand-in; the process's peak memory.
2. Saving a check-in score (Storage.save_score) when the table holds 1,000,000 rows: p50/p99.
3. /history's work for a patient with a year of check-ins (two a day): the query, the
   figures and the chart, median of 20.
Everything runs on loopback and a temporary SQLite file; nothing reaches the internet.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import build_application, running  # noqa: E402
from bot.chart import ChartLabels, render_pain_chart  # noqa: E402
from bot.check import placeholders_for  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.content import load_content  # noqa: E402
from bot.painlog import Score, period_stats  # noqa: E402
from bot.services import Services  # noqa: E402
from bot.standin import BotApiStandIn, RateLimits  # noqa: E402
from bot.storage import Storage, utc_text  # noqa: E402

TOKEN = "123456789:AAH-benchmark-token-for-the-loopback-stand-in"
NOW = datetime(2026, 11, 21, 17, 0, tzinfo=timezone.utc)
REPO = Path(__file__).resolve().parent.parent


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


async def fill_patients(storage: Storage, count: int, due_now: int) -> None:
    """`count` patients with reminders spread over the day; `due_now` of them due at NOW."""
    db = storage._db  # bulk set-up only; the code under test uses Storage's own methods
    seen = utc_text(NOW - timedelta(days=3))
    await db.executemany(
        "INSERT INTO patients (user_id, first_name, language, first_seen, last_seen) VALUES (?, 'P', 'en', ?, ?)",
        ((10_000 + n, seen, seen) for n in range(count)),
    )
    rows = []
    for n in range(count):
        if n < due_now:
            due = NOW - timedelta(seconds=n % 50)
        else:  # later today or tomorrow: not due now
            due = NOW + timedelta(minutes=1 + n % 1439)
        rows.append((10_000 + n, "09:00", "America/Los_Angeles", utc_text(due)))
    await db.executemany("INSERT INTO reminders (user_id, local_time, timezone, next_due) VALUES (?, ?, ?, ?)", rows)
    await db.commit()


async def bench_tick(patients: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-tick-"))
    standin = BotApiStandIn(TOKEN, limits=RateLimits(global_per_second=1_000_000, chat_burst=1_000_000, chat_per_second=1_000_000))
    await standin.start()
    env = {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": standin.base_url,
        "BOT_CONFIG": str(REPO / "config.example.yaml"),
        "BOT_DATABASE": str(folder / "bench.sqlite3"),
    }
    settings = load_settings(env)
    content, _ = load_content(settings.content_dir, placeholders_for(settings))
    clock_now = [NOW - timedelta(hours=1)]
    services = Services(settings=settings, content=content, clock=lambda: clock_now[0], tick_seconds=3600)
    storage = await Storage.open(settings.database)
    await fill_patients(storage, patients, due_now=100)
    await storage.close()
    for n in range(100):
        standin.user(10_000 + n, first_name="P")  # they talked to the bot before

    application = build_application(services)
    async with running(application):
        (job,) = application.job_queue.get_jobs_by_name("daily prompts")
        idle = []
        for _ in range(20):
            started = time.perf_counter()
            await job.run(application)
            idle.append(time.perf_counter() - started)
        clock_now[0] = NOW
        started = time.perf_counter()
        await job.run(application)
        sending = time.perf_counter() - started
    # Counted once the bot has stopped, so no send is still in flight.
    chats = [call.chat_id for call in standin.calls if call.method == "sendMessage" and call.status == 200]
    sent, duplicates = len(set(chats)), len(chats) - len(set(chats))
    await standin.stop()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"reminder tick, {patients:,} patients with reminders, none due: median {ms(statistics.median(idle))} "
          f"(min {ms(min(idle))}, max {ms(max(idle))}, 20 ticks)")
    print(f"reminder tick, {patients:,} patients, 100 due: {sending:.2f} s; {sent} patients prompted, "
          f"{duplicates} duplicates (the AIORateLimiter paces sends near Telegram's 30/s)")
    print(f"peak memory of the process (ru_maxrss): {peak:.0f} MiB")


async def bench_inserts(rows: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-insert-"))
    storage = await Storage.open(folder / "bench.sqlite3")
    db = storage._db
    patients = 10_000
    seen = utc_text(NOW)
    await db.executemany(
        "INSERT INTO patients (user_id, first_name, language, first_seen, last_seen) VALUES (?, 'P', 'en', ?, ?)",
        ((n, seen, seen) for n in range(patients)),
    )
    per_patient = rows // patients
    start = NOW - timedelta(days=per_patient)
    await db.executemany(
        "INSERT INTO checkins (user_id, created_at, pain, message_id) VALUES (?, ?, ?, ?)",
        ((n % patients, utc_text(start + timedelta(days=n // patients)), n % 11, n) for n in range(rows)),
    )
    await db.commit()
    timings = []
    rng = random.Random(7)
    for n in range(2000):
        user = rng.randrange(patients)
        began = time.perf_counter()
        await storage.save_score(user, rows + n, rng.randrange(11), NOW)
        timings.append(time.perf_counter() - began)
    timings.sort()
    p50, p99 = timings[len(timings) // 2], timings[int(len(timings) * 0.99)]
    print(f"check-in save (insert + commit, WAL) with {rows:,} rows: p50 {ms(p50)}, p99 {ms(p99)} (2,000 saves)")
    await storage.close()


async def bench_history() -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-history-"))
    storage = await Storage.open(folder / "bench.sqlite3")
    await storage.record_patient(1, "P", "en", NOW - timedelta(days=366))
    rng = random.Random(3)
    for day in range(365):
        for hour in (9, 20):
            moment = NOW - timedelta(days=day, hours=hour)
            await storage._db.execute(
                "INSERT INTO checkins (user_id, created_at, pain, message_id) VALUES (1, ?, ?, ?)",
                (utc_text(moment), rng.randrange(11), day * 100 + hour),
            )
    await storage._db.commit()
    zone = ZoneInfo("America/Los_Angeles")
    labels = ChartLabels("Your pain: last 90 days", "{start} – {end}", "Check-in", "7-day average", "Pain (0-10)",
                         "TMS session", "Ketamine treatment", "No check-ins", "EEE d MMM", "d MMM", "d MMM yyyy", "MMM yyyy")
    today = NOW.astimezone(zone).date()
    query, figures, chart = [], [], []
    for _ in range(20):
        began = time.perf_counter()
        checkins = await storage.checkins(1, since=NOW - timedelta(days=400))
        scores = [Score(c.created_at, c.pain) for c in checkins]
        query.append(time.perf_counter() - began)
        began = time.perf_counter()
        period_stats(scores, NOW - timedelta(days=7), NOW)
        period_stats(scores, NOW - timedelta(days=30), NOW)
        figures.append(time.perf_counter() - began)
        began = time.perf_counter()
        recent = [score for score in scores if score.at >= NOW - timedelta(days=90)]
        render_pain_chart(recent, zone, labels, first=today - timedelta(days=89), last=today)
        chart.append(time.perf_counter() - began)
    print(f"/history with a year of check-ins ({len(checkins)} rows): query {ms(statistics.median(query))}, "
          f"figures {ms(statistics.median(figures))}, chart of the last 90 days {ms(statistics.median(chart))} (medians of 20)")
    await storage.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    arguments = parser.parse_args()
    await bench_tick(arguments.patients)
    await bench_inserts(arguments.rows)
    await bench_history()


if __name__ == "__main__":
    asyncio.run(main())
