"""Benchmark: CPU time per patient tap, our bot against a bare python-telegram-bot bot.

    .venv/bin/python bench/cpu_per_tap.py                  # 300 taps a round, 3 rounds
    .venv/bin/python bench/cpu_per_tap.py --profile        # and a cProfile of our bot

Both bots run as processes at the same time, side by side, each against its own Bot API
stand-in in this process: ours as `python -m bot` (durable inbox, per-chat ordered pipeline,
shared budget, SQLite), the bare one as bench/bare_bot.py, which shows the very same screens
(the menu, then "What is TMS?" on a tap) with nothing else. Each round, fresh patients send
/start to both (not measured), then tap the same button at the same pace on both; the CPU
time (user + system, from /proc) each bot process used during the taps, divided by the
taps, is the figure. Medians over the rounds, and the ratio ours / bare.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.broadcast import CONFIG, TOKEN, BotProcess  # noqa: E402
from bot.standin import BotApiStandIn  # noqa: E402
from bot.storage import Storage  # noqa: E402

BUTTON = "What is TMS?"
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def menu_message(standin: BotApiStandIn, user_id: int):
    for message in reversed(standin.chat_log(user_id)):
        for button in message.buttons:
            if BUTTON in button.get("text", ""):
                return message, button["callback_data"]
    return None


class Side:
    """One bot and its stand-in."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.command, self.env, self.log = name, command, env, log
        self.standin = BotApiStandIn(TOKEN)
        self.bot: BotProcess | None = None
        self.per_tap: list[float] = []

    async def start(self) -> None:
        await self.standin.start()
        env = {**self.env, "TELEGRAM_BASE_URL": self.standin.base_url}
        self.bot = BotProcess(env, self.log)
        self.bot.command = self.command
        await self.bot.start()
        await self.standin.wait_for(lambda: any(c.method == "getUpdates" for c in self.standin.calls), timeout=60, what=f"{self.name} to start")

    async def warm_up(self, patients: range) -> None:
        for user_id in patients:
            self.standin.user(user_id, first_name="P")
            self.standin.push_text(user_id, "/start")
            await asyncio.sleep(0.04)  # under the 30 a second both may send
        await self.standin.wait_for(lambda: all(menu_message(self.standin, u) for u in patients), timeout=120, what="menus")

    async def stop(self) -> None:
        if self.bot:
            await self.bot.stop()
        await self.standin.stop()


async def tap_round(sides: list[Side], patients: range, pace: float) -> None:
    targets = {side.name: {u: menu_message(side.standin, u) for u in patients} for side in sides}
    before = {side.name: cpu_seconds(side.bot.process.pid) for side in sides}
    for user_id in patients:
        for side in sides:
            message, data = targets[side.name][user_id]
            side.standin.push_callback(user_id, message.message_id, data)
        await asyncio.sleep(1 / pace)
    for side in sides:
        await side.standin.wait_for(
            lambda side=side: all(
                side.standin.sent_message(u, targets[side.name][u][0].message_id).edit_count >= 1 for u in patients
            ),
            timeout=120, what=f"{side.name}'s answers",
        )
    for side in sides:
        side.per_tap.append((cpu_seconds(side.bot.process.pid) - before[side.name]) / len(patients))


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--taps", type=int, default=300, help="taps per round, one per patient")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pace", type=float, default=20, help="taps a second")
    parser.add_argument("--profile", action="store_true", help="run our bot under cProfile (bench/results/ours.prof)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-cpu-") as folder:
        workdir = Path(folder)
        config = workdir / "clinic.yaml"
        config.write_text(CONFIG, encoding="utf-8")
        database = workdir / "bot.sqlite3"
        storage = await Storage.open(database)
        await storage.close()
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "BOT_"))}
        env = {**clean, "TELEGRAM_BOT_TOKEN": TOKEN, "BOT_CONFIG": str(config), "BOT_DATABASE": str(database)}
        profile_out = REPO / "bench" / "results" / "ours.prof"
        profile_out.parent.mkdir(parents=True, exist_ok=True)
        ours_command = [sys.executable, "-m", "cProfile", "-o", str(profile_out), "-m", "bot"] if args.profile else [sys.executable, "-m", "bot"]
        ours = Side("ours", ours_command, env, workdir / "ours.log")
        await ours.start()
        # The screens the bare bot shows: exactly those our bot showed one patient.
        ours.standin.user(9_000_001, first_name="P")
        ours.standin.push_text(9_000_001, "/start")
        await ours.standin.wait_for(lambda: menu_message(ours.standin, 9_000_001), timeout=30, what="our menu")
        menu, data = menu_message(ours.standin, 9_000_001)
        menu_copy = {"html": menu.html, "reply_markup": menu.reply_markup}
        ours.standin.push_callback(9_000_001, menu.message_id, data)
        await ours.standin.wait_for(lambda: ours.standin.sent_message(9_000_001, menu.message_id).edit_count >= 1, timeout=30, what="our topic")
        topic = ours.standin.sent_message(9_000_001, menu.message_id)
        screens = workdir / "screens.json"
        screens.write_text(json.dumps({"menu": menu_copy, "topic": {"html": topic.html, "reply_markup": topic.reply_markup}}), encoding="utf-8")
        bare = Side("bare", [sys.executable, str(REPO / "bench" / "bare_bot.py")], {**env, "BARE_SCREENS": str(screens)}, workdir / "bare.log")
        await bare.start()
        sides = [bare, ours]
        try:
            for round_number in range(args.rounds):
                patients = range(10_000_001 + round_number * args.taps, 10_000_001 + (round_number + 1) * args.taps)
                await asyncio.gather(*(side.warm_up(patients) for side in sides))
                await asyncio.sleep(1.0)
                await tap_round(sides, patients, args.pace)
                print(f"round {round_number + 1}: " + ", ".join(f"{s.name} {s.per_tap[-1] * 1000:.2f} ms" for s in sides), flush=True)
        finally:
            for side in sides:
                await side.stop()
    bare_ms = statistics.median(bare.per_tap) * 1000
    ours_ms = statistics.median(ours.per_tap) * 1000
    ratios = [o / b for o, b in zip(ours.per_tap, bare.per_tap)]
    print("| bot | CPU per tap, ms (median of rounds) | rounds |")
    print("|---|---|---|")
    print(f"| bare python-telegram-bot | {bare_ms:.2f} | {', '.join(f'{x * 1000:.2f}' for x in bare.per_tap)} |")
    print(f"| ours | {ours_ms:.2f} | {', '.join(f'{x * 1000:.2f}' for x in ours.per_tap)} |")
    print(f"ratio ours / bare: median {statistics.median(ratios):.2f} (rounds: {', '.join(f'{r:.2f}' for r in ratios)})")
    out = REPO / "bench" / "results" / f"cpu-per-tap-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps({"bare": bare.per_tap, "ours": ours.per_tap, "ratios": ratios}, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
