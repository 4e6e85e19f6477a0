"""SIGKILL during a burst of check-in taps, repeated (run by hand; results in BENCHMARKS.md).

    .venv/bin/python bench/sigkill.py [--runs 5] [--patients 150] [--kill-after 40]

Each run: `python -m bot` against the loopback Bot API stand-in and a fresh SQLite file;
`--patients` consented patients each get a check-in prompt (/checkin), then all tap a score
at once; the bot is SIGKILLed once `--kill-after` taps were answered, started again, and
every tap is waited for. Per run it prints the taps lost (never answered, never told to tap
again), handled twice (the bot tried to answer again after the restart), shown twice (the
patient saw a second answer), told to tap again, acknowledged but not stored, stored twice,
and how many were delivered but not yet confirmed to Telegram at the kill. The same
scenario is the test tests/test_faults.py::test_sigkill_during_150_check_in_taps_...
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.standin import BotApiStandIn, RateLimits  # noqa: E402
from tests.conftest import CONFIG, STAFF_CHAT_ID, TOKEN  # noqa: E402
from tests.faults import BotProcess, sigkill_during_tap_burst  # noqa: E402


async def one_run(patients: int, kill_after: int) -> dict[str, int]:
    folder = Path(tempfile.mkdtemp(prefix="bench-sigkill-"))
    standin = BotApiStandIn(TOKEN, limits=RateLimits(global_per_second=1000))
    await standin.start()
    standin.group(STAFF_CHAT_ID, "Clinic staff")
    config = folder / "clinic.yaml"
    config.write_text(textwrap.dedent(CONFIG), encoding="utf-8")
    env = {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": standin.base_url,
        "BOT_CONFIG": str(config),
        "BOT_DATABASE": str(folder / "db" / "bot.sqlite3"),
    }
    bot = BotProcess(standin, env, folder)
    try:
        await bot.start()
        outcome = await sigkill_during_tap_burst(standin, bot, patients=patients, kill_after_answers=kill_after)
    finally:
        if bot.process is not None and bot.process.returncode is None:
            await bot.stop()
        await standin.stop()
    return {
        "taps": outcome.taps,
        "answered before the kill": outcome.answered_before_kill,
        "lost": len(outcome.lost),
        "handled twice": len(outcome.handled_twice),
        "shown twice": len(outcome.shown_twice),
        "told to tap again": len(outcome.told_to_tap_again),
        "acknowledged, not stored": len(outcome.acknowledged_not_stored),
        "stored twice": len(outcome.stored_twice),
        "redelivered by Telegram": outcome.redelivered,
        "refused calls": len(standin.errors),
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--patients", type=int, default=150)
    parser.add_argument("--kill-after", type=int, default=40)
    args = parser.parse_args()
    results = []
    for run in range(1, args.runs + 1):
        result = await one_run(args.patients, args.kill_after)
        results.append(result)
        print(f"run {run}: " + ", ".join(f"{name}: {value}" for name, value in result.items()), flush=True)
    names = list(results[0])
    print("total: " + ", ".join(f"{name}: {sum(r[name] for r in results)}" for name in names))


if __name__ == "__main__":
    asyncio.run(main())
