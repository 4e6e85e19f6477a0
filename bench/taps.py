"""Benchmark: how fast patients' taps are answered while a broadcast runs at full rate.

    .venv/bin/python bench/taps.py                          # 100 patients, 50 ms round trip
    .venv/bin/python bench/taps.py --round-trip-ms 150

The bot runs as `python -m bot`; the stand-in (bot/standin.py) plays the network round trip
and Telegram's 30 messages a second. 100 patients open the menu with /start, a broadcast to
--recipients patients starts at the default rate (29 a second), and once it runs the 100
patients each tap "What is TMS?" once, at random moments over --spread seconds. For each tap:
the time from the tap to the stand-in receiving the callback answer (the spinner stops) and
the edited screen (the patient sees it), both including the network's round trip. Also the
broadcast's rate at the stand-in while the taps were answered.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.broadcast import CONFIG, MESSAGE, STAFF_ID, TOKEN, BotProcess, patient_sends, seed  # noqa: E402
from bench.cpu_per_tap import menu_message  # noqa: E402
from bot.standin import BotApiStandIn, RateLimits  # noqa: E402
from bot.storage import Storage  # noqa: E402
from tests.client import TelegramUser  # noqa: E402

TAPPERS = 9_000_001


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=100, help="patients tapping")
    parser.add_argument("--recipients", type=int, default=3000)
    parser.add_argument("--round-trip-ms", type=float, default=50)
    parser.add_argument("--spread", type=float, default=10, help="seconds over which the taps fall")
    args = parser.parse_args()
    random.seed(10)
    with tempfile.TemporaryDirectory(prefix="bench-taps-") as folder:
        workdir = Path(folder)
        database, config = workdir / "bot.sqlite3", workdir / "clinic.yaml"
        config.write_text(CONFIG, encoding="utf-8")
        storage = await Storage.open(database)
        await storage.close()
        standin = BotApiStandIn(TOKEN, limits=RateLimits(global_per_second=30))
        standin.with_network_delay(args.round_trip_ms / 1000, args.round_trip_ms / 5000)
        await standin.start()
        recipients = seed(database, standin, args.recipients)
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "BOT_"))}
        env = {**clean, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BASE_URL": standin.base_url,
               "BOT_CONFIG": str(config), "BOT_DATABASE": str(database)}
        bot = BotProcess(env, workdir / "bot.log")
        try:
            await bot.start()
            await standin.wait_for(lambda: any(c.method == "getUpdates" for c in standin.calls), timeout=60, what="start")
            tappers = range(TAPPERS, TAPPERS + args.patients)
            for user_id in tappers:
                standin.user(user_id, first_name="T")
                standin.push_text(user_id, "/start")
                await asyncio.sleep(0.05)
            await standin.wait_for(lambda: all(menu_message(standin, u) for u in tappers), timeout=120, what="menus")
            staff = TelegramUser(standin, STAFF_ID, first_name="Staff", bot_database=database)
            await staff.send("/broadcast")
            await staff.send(MESSAGE)
            await staff.click("All patients")
            await staff.click("Send to")  # the tapping patients get it too
            await standin.wait_for(lambda: len(patient_sends(standin, recipients)) >= 150, timeout=60, what="the broadcast")

            moments = sorted(random.uniform(0, args.spread) for _ in tappers)
            taps = []  # (user id, query id, message id, tapped at)
            began = standin.clock()
            for user_id, moment in zip(tappers, moments):
                await asyncio.sleep(max(0.0, began + moment - standin.clock()))
                message, data = menu_message(standin, user_id)
                taps.append((user_id, standin.push_callback(user_id, message.message_id, data), message.message_id, standin.clock()))

            def answered(tap) -> tuple | None:
                user_id, query_id, message_id, tapped = tap
                spinner = next((c for c in standin.calls if c.method == "answerCallbackQuery"
                                and c.params.get("callback_query_id") == query_id and c.ok), None)
                screen = next((c for c in standin.calls if c.method == "editMessageText" and c.chat_id == user_id
                               and c.params.get("message_id") == message_id and c.ok), None)
                return (spinner.time - tapped, screen.time - tapped, screen.time) if spinner and screen else None

            await standin.wait_for(lambda: all(answered(tap) for tap in taps), timeout=120, what="every tap answered")
            results = [answered(tap) for tap in taps]
            ended = max(r[2] for r in results)
            during = [c for c in patient_sends(standin, recipients) if began <= c.time <= ended]
            still_sending = len(patient_sends(standin, recipients)) < len(recipients)
            await staff.expect("finished", timeout=900)
        finally:
            await bot.stop()
            await standin.stop()
    spinner = [r[0] * 1000 for r in results]
    screen = [r[1] * 1000 for r in results]
    rate = len(during) / (ended - began)
    too_many = sum(1 for c in standin.calls if c.status == 429)
    print(f"round trip {args.round_trip_ms:g} ms, {len(taps)} taps over {args.spread:g} s, broadcast to {len(recipients) + len(taps)}"
          f" still running at the end: {still_sending}")
    print("| what | p50 ms | p95 ms | max ms |")
    print("|---|---|---|---|")
    print(f"| spinner stopped (answerCallbackQuery) | {statistics.median(spinner):.0f} | {percentile(spinner, 0.95):.0f} | {max(spinner):.0f} |")
    print(f"| screen shown (editMessageText) | {statistics.median(screen):.0f} | {percentile(screen, 0.95):.0f} | {max(screen):.0f} |")
    print(f"broadcast meanwhile: {rate:.2f} messages a second ({rate / 29:.3f} of 29); 429s: {too_many}")
    out = REPO / "bench" / "results" / f"taps-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"spinner_ms": spinner, "screen_ms": screen, "broadcast_rate": rate, "too_many": too_many}), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
