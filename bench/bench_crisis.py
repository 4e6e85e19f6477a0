"""How well the safety net reads: recall and false alarms over the corpus in tests/corpus/.

    python bench/bench_crisis.py               # the development and held-out sets, per family
    python bench/bench_crisis.py --misses      # also list what was missed / caught wrongly
    python bench/bench_crisis.py --lang es     # another language's crisis.yaml and corpus

Recall: the share of crisis phrasings that get the crisis reply. False alarms: the share of
near-misses (pain idioms, questions about risks) that get it. The bar (issue 9) is recall of
at least 97 % and false alarms of at most 10 %. Also times the detector per message, so the
first reply's budget (1 s at p95) is not spent here.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.config import CONTENT_DIR  # noqa: E402
from bot.content import load_content  # noqa: E402

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", default="en")
    parser.add_argument("--misses", action="store_true", help="list each miss and false alarm")
    args = parser.parse_args()

    content, _problems = load_content(CONTENT_DIR, {})
    detector = content.languages[args.lang].crisis.detector
    detector.is_crisis("warm up")  # loads the word list once
    timings = []
    for path in corpus_files(args.lang):
        corpus = yaml.safe_load(path.read_text(encoding="utf-8"))
        print(f"{path.relative_to(REPO)}")
        caught, total, alarms, near = measure(detector, corpus, args.misses)
        print(f"  OVERALL    recall {100 * caught / total:.1f} % ({caught}/{total}), "
              f"false alarms {100 * alarms / near:.1f} % ({alarms}/{near})\n")
        for texts in [*corpus.get("crisis", {}).values(), *corpus.get("near_miss", {}).values()]:
            for text in texts:
                start = time.perf_counter()
                detector.is_crisis(text)
                timings.append(time.perf_counter() - start)
    timings.sort()
    p95 = timings[int(0.95 * (len(timings) - 1))]
    print(f"detector time per message: median {1000 * statistics.median(timings):.2f} ms, p95 {1000 * p95:.2f} ms, max {1000 * timings[-1]:.2f} ms ({len(timings)} messages)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
