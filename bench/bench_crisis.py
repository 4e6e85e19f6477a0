"""How well the safety net reads: recall and false alarms over the corpus in tests/corpus/.

    python bench/bench_crisis.py               # every language: development and held-out sets, per family
    python bench/bench_crisis.py --misses      # also list what was missed / caught wrongly
    python bench/bench_crisis.py --lang es     # one language's crisis.yaml and corpus (Spanish)
    python bench/bench_crisis.py --any-language  # as the bot screens: every language's patterns on each message
    python bench/bench_crisis.py --reply 200   # also: first reply time for 200 new patients

Recall: the share of crisis phrasings that get the crisis reply. False alarms: the share of
near-misses (pain idioms, questions about risks) that get it. The bar (issue 9) is recall of
at least 97 % and false alarms of at most 10 %. Also times the detector per message, so the
first reply's budget (1 s at p95) is not spent here. With --reply N, the real bot (as the
tests build it) answers N new patients, each sending one crisis message to the loopback Bot
API stand-in, and the time from the message's arrival to the bot's sendMessage is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import textwrap
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.config import CONTENT_DIR  # noqa: E402
from bot.content import load_content, load_crisis  # noqa: E402
from bot.crisis_detector import spoken_together  # noqa: E402

CORPUS_DIR = REPO / "tests" / "corpus"


def corpus_files(lang: str) -> list[Path]:
    return sorted(path for path in CORPUS_DIR.glob(f"{lang}*.yaml"))


def measure(detector, corpus: dict, show_misses: bool) -> tuple[int, int, int, int]:
    caught_total = crisis_total = alarms_total = near_total = 0
    for family, texts in corpus.get("crisis", {}).items():
        missed = [text for text in texts if not detector.is_crisis(text)]
        caught_total += len(texts) - len(missed)
        crisis_total += len(texts)
        print(f"  crisis     {family:28} recall {100 * (len(texts) - len(missed)) / len(texts):6.1f} %  ({len(texts) - len(missed)}/{len(texts)})")
        if show_misses:
            for text in missed:
                print(f"      missed: {text!r} -> {detector.read(text)!r}")
    for family, texts in corpus.get("near_miss", {}).items():
        alarms = [text for text in texts if detector.is_crisis(text)]
        alarms_total += len(alarms)
        near_total += len(texts)
        print(f"  near-miss  {family:28} false alarms {100 * len(alarms) / len(texts):5.1f} %  ({len(alarms)}/{len(texts)})")
        if show_misses:
            for text in alarms:
                print(f"      alarm: {text!r} ({detector.family(text)}) -> {detector.read(text)!r}")
    return caught_total, crisis_total, alarms_total, near_total


async def first_replies(count: int) -> list[float]:
    """Seconds from each new patient's crisis message reaching the stand-in to the reply."""
    from bot.app import build_application, running
    from bot.check import placeholders_for
    from bot.config import load_settings
    from bot.services import Services
    from bot.standin import BotApiStandIn

    token = "123456789:AAH-bench-token-for-the-loopback-stand-in"
    server = BotApiStandIn(token)
    await server.start()
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "clinic.yaml"
        config.write_text(textwrap.dedent("""
            clinic: {name: Bench Clinic, phone: "+1 555 010 0000", hours: "Mon-Fri 8:00-17:00", timezone: America/Los_Angeles}
            staff_ids: [777000111]
        """), encoding="utf-8")
        env = {"TELEGRAM_BOT_TOKEN": token, "TELEGRAM_BASE_URL": server.base_url, "BOT_CONFIG": str(config), "BOT_DATABASE": f"{folder}/bot.sqlite3"}
        settings = load_settings(env)
        content, _ = load_content(settings.content_dir, placeholders_for(settings))
        server.user(777000111, "Staff")
        timings = []
        async with running(build_application(Services(settings=settings, content=content))):
            for index in range(count):
                chat = 20_000_000 + index
                server.user(chat, "Patient")
                sent = server.clock()
                server.push_text(chat, "i want to kill myself")
                await server.wait_for(lambda: any(c.method == "sendMessage" for c in server.calls_for(chat)), 10)
                reply = next(c for c in server.calls_for(chat) if c.method == "sendMessage")
                timings.append(reply.time - sent)
        await server.stop()
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", action="append", help="a language folder of content/ (default: every one with a crisis.yaml)")
    parser.add_argument("--misses", action="store_true", help="list each miss and false alarm")
    parser.add_argument("--any-language", action="store_true", help="screen with every language's patterns, as the bot does")
    parser.add_argument("--reply", type=int, default=0, metavar="N", help="time the first reply for N new patients")
    args = parser.parse_args()

    languages = args.lang or sorted(path.parent.name for path in CONTENT_DIR.glob("*/crisis.yaml"))
    timings = []
    every = EveryLanguage([language_detector(path.parent.name) for path in sorted(CONTENT_DIR.glob("*/crisis.yaml"))])
    if args.any_language:
        spoken_together(every.detectors)  # as load_content does for the bot
    for lang in languages:
        detector = every if args.any_language else language_detector(lang)
        timings += measure_files(detector, lang, args.misses)
    timings.sort()
    p95 = timings[int(0.95 * (len(timings) - 1))]
    print(f"detector time per message: median {1000 * statistics.median(timings):.2f} ms, p95 {1000 * p95:.2f} ms, max {1000 * timings[-1]:.2f} ms ({len(timings)} messages)")
    if args.reply:
        replies = sorted(asyncio.run(first_replies(args.reply)))
        p95 = replies[int(0.95 * (len(replies) - 1))]
        print(f"first crisis reply, new patient, one at a time: median {1000 * statistics.median(replies):.0f} ms, "
              f"p95 {1000 * p95:.0f} ms, max {1000 * replies[-1]:.0f} ms ({len(replies)} patients)")
    return 0


def language_detector(lang: str):
    """The language's crisis.yaml on its own: Spanish is measured before its other files exist."""
    crisis, problems = load_crisis(CONTENT_DIR / lang / "crisis.yaml")
    if crisis is None:
        sys.exit("\n".join(str(problem) for problem in problems))
    crisis.detector.is_crisis("warm up")  # loads the word lists once
    return crisis.detector


class EveryLanguage:
    """Content.is_crisis_in_any_language: a patient may write in another language than the one
    they read in, so the bot screens each message with every language's patterns."""

    def __init__(self, detectors: list) -> None:
        self.detectors = detectors

    def is_crisis(self, text: str) -> bool:
        return any(detector.is_crisis(text) for detector in self.detectors)

    def family(self, text: str) -> str | None:
        return next((f"{detector.language} {detector.family(text)}" for detector in self.detectors if detector.is_crisis(text)), None)

    def read(self, text: str) -> str:
        return " | ".join(f"{detector.language}: {detector.read(text)}" for detector in self.detectors)


def measure_files(detector, lang: str, show_misses: bool) -> list[float]:
    """Print each corpus file's figures per family; return the detector's time per message."""
    timings = []
    for path in corpus_files(lang):
        corpus = yaml.safe_load(path.read_text(encoding="utf-8"))
        print(f"{path.relative_to(REPO)}")
        caught, total, alarms, near = measure(detector, corpus, show_misses)
        print(f"  OVERALL    recall {100 * caught / total:.1f} % ({caught}/{total}), "
              f"false alarms {100 * alarms / near:.1f} % ({alarms}/{near})\n")
        for texts in [*corpus.get("crisis", {}).values(), *corpus.get("near_miss", {}).values()]:
            for text in texts:
                start = time.perf_counter()
                detector.is_crisis(text)
                timings.append(time.perf_counter() - start)
    return timings


if __name__ == "__main__":
    sys.exit(main())
