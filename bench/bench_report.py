"""Benchmark of /report (run by hand; results in BENCHMARKS.md).

    .venv/bin/python bench/bench_report.py [--runs 10]

A patient with a year of daily check-ins (every optional item answered, a note most days),
a course of 30 TMS sessions and a weekly PEG, in a temporary SQLite file. Times the work the
bot does for one report, as flows/report.py does it: reading the rows (`gather`) and drawing
the PDF (`render_report`, the part run in a worker thread), for 30 and 90 days, with notes.
Nothing reaches the internet.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.chart import chart_labels  # noqa: E402
from bot.check import placeholders_for  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.content import load_content  # noqa: E402
from bot.report import render_report  # noqa: E402
from bot.services import Services  # noqa: E402
from bot.storage import Storage, utc_text  # noqa: E402
from flows.report import gather, pdf_texts  # noqa: E402

NOW = datetime(2026, 12, 1, 18, 0, tzinfo=timezone.utc)
USER = 1


async def seed(storage: Storage) -> None:
    rng = random.Random(12)
    await storage.record_patient(USER, "Ann", "en", NOW - timedelta(days=400))
    await storage.give_consent(USER, "bench", NOW - timedelta(days=400))
    pain = 7
    for day in range(365, -1, -1):
        moment = NOW - timedelta(days=day, hours=1)
        pain = max(0, min(10, pain + rng.choice((-1, 0, 0, 1))))
        note = "Walked to the shop; slept badly after. " * rng.randrange(0, 5) or None
        await storage._db.execute(
            "INSERT INTO checkins (user_id, created_at, pain, interference, sleep, mood, note, message_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (USER, utc_text(moment), pain, rng.randrange(11), rng.randrange(1, 4), rng.randrange(1, 4), note, day),
        )
    for day in range(60, 20, -1):
        if day % 7 not in (0, 6):
            await storage.note_session(USER, "tms", (NOW - timedelta(days=day)).date(), NOW)
    for week in range(52):
        answer = await storage.start_peg_answer(USER, 10_000 + week, rng.randrange(11), NOW - timedelta(days=7 * week))
        await storage.set_peg_item(USER, answer, "enjoyment", rng.randrange(11))
        await storage.set_peg_item(USER, answer, "activity", rng.randrange(11))
    await storage._db.commit()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    root = Path(__file__).resolve().parent.parent
    settings = load_settings({"BOT_CONFIG": str(root / "config.example.yaml")}, require_token=False)
    content, _problems = load_content(settings.content_dir, placeholders_for(settings))
    lang = content.language("en")
    with tempfile.TemporaryDirectory() as folder:
        storage = await Storage.open(Path(folder) / "bench.sqlite3")
        await seed(storage)
        used = Services(settings=settings, content=content, clock=lambda: NOW, storage=storage)
        for days in (30, 90):
            reading, drawing, sizes = [], [], []
            for _ in range(runs):
                began = time.perf_counter()
                data = await gather(used, USER, days, True, lang)
                reading.append(time.perf_counter() - began)
                began = time.perf_counter()
                pdf = render_report(data, pdf_texts(lang), chart_labels(lang, days))
                drawing.append(time.perf_counter() - began)
                sizes.append(len(pdf))
            total = [a + b for a, b in zip(reading, drawing)]
            print(f"report of {days} days (a year of data, notes included): read {statistics.median(reading) * 1000:.1f} ms, "
                  f"draw {statistics.median(drawing) * 1000:.0f} ms, total median {statistics.median(total) * 1000:.0f} ms, "
                  f"max {max(total) * 1000:.0f} ms; {sizes[-1] / 1024:.0f} KiB (runs: {runs})")
        await storage.close()


if __name__ == "__main__":
    asyncio.run(main())
