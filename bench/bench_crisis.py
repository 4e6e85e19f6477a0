"""How well the safety net reads: recall and false alarms over content/<lang>/crisis_corpus/.

    python bench/bench_crisis.py               # as the bot screens: patterns of every language, then the learnt reader
    python bench/bench_crisis.py --misses      # also list what was missed / caught wrongly
    python bench/bench_crisis.py --leave-out   # each file as the bot screens, the learnt reader learnt from the OTHER files
    python bench/bench_crisis.py --patterns    # every language's patterns alone, without the learnt reader
    python bench/bench_crisis.py --lang es     # one language's crisis.yaml alone, over its own corpus (Spanish)
    python bench/bench_crisis.py --file new.yaml   # a fresh held-out set, before it joins the corpus
    python bench/bench_crisis.py --reply 200   # also: first reply time for 200 new patients, one after another
    python bench/bench_crisis.py --reply 200 --reply-gap 0.5   # ...the next one 0.5 s after each reply

Recall: the share of crisis phrasings that get the crisis reply. False alarms: the share of
near-misses (pain idioms, questions about risks, everyday messages) that get it. The bar
(issue 9) is recall of at least 97 % and false alarms of at most 10 %. The learnt reader has
learnt from every corpus file, so only --leave-out, and a fresh --file, say how it does on
phrasings it has not seen. Also times the screening per message, so the first reply's budget
(1 s at p95) is not spent here. With --reply N, the real bot (as the tests build it) answers N
new patients, each sending one crisis message to the loopback Bot API stand-in, and the time
from the message's arrival to the bot's sendMessage is measured.
"""

from __future__ import annotations

import argparse
import dataclasses
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
from bot.content import Content, load_content, load_crisis  # noqa: E402
from bot.crisis_model import LearntReader  # noqa: E402


def corpus_files(lang: str) -> list[Path]:
    return sorted((CONTENT_DIR / lang / "crisis_corpus").glob("*.yaml"))


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


async def first_replies(count: int, gap: float = 0.0) -> list[float]:
    """Seconds from each new patient's crisis message reaching the stand-in to the reply,
    the next patient writing `gap` seconds after the last reply. Each patient gets the reply,
    the contact card and a staff alert: with no gap that is more than Telegram's 30 messages
    a second for the whole bot, and the budget (bot/rate_limiter.py) makes some wait."""
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
                await asyncio.sleep(gap)
        await server.stop()
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", action="append", help="one language's crisis.yaml alone, over its corpus (default: as the bot screens)")
    parser.add_argument("--patterns", action="store_true", help="every language's patterns, without the learnt reader")
    parser.add_argument("--leave-out", action="store_true", help="each file with the learnt reader learnt from the other files")
    parser.add_argument("--misses", action="store_true", help="list each miss and false alarm")
    parser.add_argument("--file", action="append", type=Path, help="measure this corpus file instead of the content's corpus")
    parser.add_argument("--reply", type=int, default=0, metavar="N", help="time the first reply for N new patients")
    parser.add_argument("--reply-gap", type=float, default=0.0, metavar="S", help="seconds between one patient's reply and the next patient")
    args = parser.parse_args()

    content, _ = load_content(CONTENT_DIR, {})
    every_file = [path for language in sorted(content.languages) for path in corpus_files(language)]
    timings = []
    if args.lang:
        for lang in args.lang:
            timings += measure_files(language_detector(lang), args.file or corpus_files(lang), args.misses)
    elif args.leave_out:
        # development.yaml is the bulk of what the reader learns from: never left out itself.
        left_out = args.file or [path for path in every_file if path.name != "development.yaml"]
        totals = [0, 0, 0, 0]
        for path in left_out:
            others = [other for other in every_file if other.resolve() != path.resolve()]
            timings += measure_files(AsTheBotScreens(content, learnt_from(content, others)), [path], args.misses, totals)
        caught, total, alarms, near = totals
        print(f"ALL {len(left_out)} FILES LEFT OUT: recall {100 * caught / total:.1f} % ({caught}/{total}), "
              f"false alarms {100 * alarms / near:.1f} % ({alarms}/{near})\n")
    else:
        learnt = None if args.patterns else content.learnt_reader
        timings += measure_files(AsTheBotScreens(content, learnt), args.file or every_file, args.misses)
    timings.sort()
    p95 = timings[int(0.95 * (len(timings) - 1))]
    print(f"screening time per message: median {1000 * statistics.median(timings):.2f} ms, p95 {1000 * p95:.2f} ms, max {1000 * timings[-1]:.2f} ms ({len(timings)} messages)")
    if args.reply:
        replies = sorted(asyncio.run(first_replies(args.reply, args.reply_gap)))
        p95 = replies[int(0.95 * (len(replies) - 1))]
        print(f"first crisis reply, new patient, one at a time: median {1000 * statistics.median(replies):.0f} ms, "
              f"p95 {1000 * p95:.0f} ms, max {1000 * replies[-1]:.0f} ms ({len(replies)} patients)")
    return 0


def language_detector(lang: str):
    """The language's crisis.yaml on its own: a language is measured before its other files exist."""
    crisis, problems = load_crisis(CONTENT_DIR / lang / "crisis.yaml")
    if crisis is None:
        sys.exit("\n".join(str(problem) for problem in problems))
    crisis.detector.is_crisis("warm up")  # loads the word lists once
    return crisis.detector


def learnt_from(content: Content, paths: list[Path]) -> LearntReader:
    """A learnt reader that has seen only these corpus files."""
    crisis, not_crisis = [], []
    for path in paths:
        corpus = yaml.safe_load(path.read_text(encoding="utf-8"))
        crisis += [content.reading(text) for texts in corpus.get("crisis", {}).values() for text in texts]
        not_crisis += [content.reading(text) for texts in corpus.get("near_miss", {}).values() for text in texts]
    return LearntReader(crisis, not_crisis)


class AsTheBotScreens:
    """Content.is_crisis_in_any_language itself, with a given learnt reader (None: patterns
    only): a patient may write in another language than the one they read in."""

    def __init__(self, content: Content, learnt: LearntReader | None) -> None:
        self.content = dataclasses.replace(content, learnt_reader=learnt)

    def is_crisis(self, text: str) -> bool:
        return self.content.is_crisis_in_any_language(text)

    def family(self, text: str) -> str | None:
        """What caught it: a language's family of patterns, or the learnt reader."""
        for code, language in self.content.languages.items():
            if family := language.crisis.detector.family(text):
                return f"{code} {family}"
        if self.is_crisis(text):
            return f"learnt reader, likelihood {self.content.learnt_reader.likelihood(self.content.reading(text)):.2f}"
        return None

    def read(self, text: str) -> str:
        reading = self.content.reading(text)
        learnt = self.content.learnt_reader
        return reading if learnt is None else f"{reading} (learnt reader: {learnt.likelihood(reading):.2f})"


def measure_files(detector, paths: list[Path], show_misses: bool, totals: list[int] | None = None) -> list[float]:
    """Print each corpus file's figures per family (adding them to `totals`, if given);
    return the screening's time per message."""
    timings = []
    for path in paths:
        corpus = yaml.safe_load(path.read_text(encoding="utf-8"))
        print(f"{path.resolve().relative_to(REPO) if path.resolve().is_relative_to(REPO) else path}")
        caught, total, alarms, near = measure(detector, corpus, show_misses)
        if totals is not None:
            for index, value in enumerate((caught, total, alarms, near)):
                totals[index] += value
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
