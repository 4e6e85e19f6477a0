"""The safety net as the bot screens every message, held to issue 9's bar on the corpus.

The bot screens a message with every language's patterns and then the learnt reader
(Content.is_crisis_in_any_language). The learnt reader has learnt from every corpus file, so
the bar on a file it learnt from says little about phrasings it never saw: for that, each
held-out file is also screened by a reader learnt from the other files only.
bench/bench_crisis.py prints the same figures per family for BENCHMARKS.md.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
import yaml

from bot.check import run_checks
from bot.config import CONTENT_DIR
from bot.content import load_content
from bot.crisis_model import LearntReader

REPO = Path(__file__).resolve().parent.parent
CONTENT, _ = load_content(CONTENT_DIR, {})
FILES = sorted(CONTENT_DIR.glob("*/crisis_corpus/*.yaml"))
HELD_OUT = [path for path in FILES if path.name.startswith("heldout")]

RECALL_BAR = 0.97
FALSE_ALARM_BAR = 0.10


def name(path: Path) -> str:
    return f"{path.parent.parent.name}/{path.name}"


def phrasings(path: Path) -> tuple[list[str], list[str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return ([text for texts in data["crisis"].values() for text in texts],
            [text for texts in data["near_miss"].values() for text in texts])


def assert_meets_the_bar(is_crisis, crisis: list[str], near: list[str]) -> None:
    missed = [text for text in crisis if not is_crisis(text)]
    alarms = [text for text in near if is_crisis(text)]
    assert 1 - len(missed) / len(crisis) >= RECALL_BAR, missed
    assert len(alarms) / len(near) <= FALSE_ALARM_BAR, alarms


def test_every_language_has_a_corpus_the_reader_learnt_from() -> None:
    assert {"en", "es"} <= {path.parent.parent.name for path in FILES}
    assert CONTENT.learnt_reader is not None


@pytest.mark.parametrize("path", FILES, ids=name)
def test_each_corpus_file_meets_the_bar_as_the_bot_screens(path: Path) -> None:
    assert_meets_the_bar(CONTENT.is_crisis_in_any_language, *phrasings(path))


@pytest.mark.parametrize("path", HELD_OUT, ids=name)
def test_each_held_out_file_meets_the_bar_with_a_reader_that_never_saw_it(path: Path) -> None:
    """The learnt reader on phrasings it has not learnt from (leave one file out). The patterns
    have since learnt from most held-out files, so on those this mostly tests that the reader
    adds no false alarms; on rounds 6 and 7 it also carries recall."""
    left_out = set(map(CONTENT.reading, sum(phrasings(path), [])))
    crisis: list[str] = []
    near: list[str] = []
    for other in FILES:
        if other != path:
            more_crisis, more_near = phrasings(other)
            # A phrasing another file also holds would not be unseen.
            crisis += [reading for reading in map(CONTENT.reading, more_crisis) if reading not in left_out]
            near += [reading for reading in map(CONTENT.reading, more_near) if reading not in left_out]
    screened = dataclasses.replace(CONTENT, learnt_reader=LearntReader(crisis, near))
    assert_meets_the_bar(screened.is_crisis_in_any_language, *phrasings(path))


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_corpus_is_as_large_as_issue_9_asks(language: str) -> None:
    crisis, near = phrasings(CONTENT_DIR / language / "crisis_corpus" / "development.yaml")
    assert len(crisis) >= 300 and len(near) >= 150


def by_family() -> dict[str, list[str]]:
    families: dict[str, list[str]] = {}
    for path in FILES:
        for family, texts in yaml.safe_load(path.read_text(encoding="utf-8"))["crisis"].items():
            families.setdefault(f"{path.parent.parent.name} {family}", []).extend(texts)
    return families


@pytest.mark.parametrize(("family", "texts"), by_family().items(), ids=str)
def test_each_family_is_caught(family: str, texts: list[str]) -> None:
    """No family may hide behind the others' average (all of a language's files together)."""
    missed = [text for text in texts if not CONTENT.is_crisis_in_any_language(text)]
    assert 1 - len(missed) / len(texts) >= RECALL_BAR, missed


class SaysNo:
    """A learnt reader that never says crisis."""

    def likelihood(self, reading: str) -> float:
        return 0.0

    def is_crisis(self, reading: str, words: int) -> bool:
        return False


def test_the_learnt_reader_only_adds_catches() -> None:
    """Whatever the reader says, what the patterns catch is a crisis; and some phrasings of the
    corpus are a crisis only because the reader says so."""
    without_reader = dataclasses.replace(CONTENT, learnt_reader=SaysNo())
    patterns_only = [text for path in FILES for text in phrasings(path)[0] if without_reader.is_crisis_in_any_language(text)]
    assert len(patterns_only) > 3000
    assert all(CONTENT.is_crisis_in_any_language(text) for text in patterns_only[::25])
    reader_only = [text for path in FILES for text in phrasings(path)[0]
                   if CONTENT.is_crisis_in_any_language(text) and not without_reader.is_crisis_in_any_language(text)]
    assert len(reader_only) >= 20, reader_only


@pytest.mark.parametrize(
    "text",
    ["no notes", "nothing to add", "please", "tonight", "i cant log in", "never mind", "goodbye", "not anymore",
     "sin notas", "nada que agregar", "ya no", "no puedo", "esta noche", "adios",
     "I took 5 mg of my oxycodone as prescribed", "my number is 555 123 4567", "took 2 oxycodone, still bad",
     "what is tms", "can i drive home after ketamine", "i need to reschedule thursday", "estoy agotada"],
)
def test_everyday_replies_and_doses_are_not_a_crisis_for_the_reader(text: str) -> None:
    """Typed answers in flows (a check-in note, a call-back time) are screened too."""
    assert not CONTENT.learnt_reader.is_crisis(CONTENT.reading(text), len(text.split())), text


@pytest.mark.parametrize("language", ["en", "es"])
def test_crisis_yaml_not_examples_are_not_caught_by_the_reader(language: str) -> None:
    """The reader learns from them too (a not-example added is learnt on the next start)."""
    crisis = CONTENT.language(language).crisis
    caught = [text for text in crisis.not_examples if CONTENT.learnt_reader.is_crisis(CONTENT.reading(text), len(text.split()))]
    assert caught == []


def test_check_names_the_line_of_a_malformed_corpus_file(tmp_path: Path) -> None:
    copy = tmp_path / "content"
    shutil.copytree(REPO / "content", copy)
    broken = copy / "en" / "crisis_corpus" / "development.yaml"
    broken.write_text(broken.read_text(encoding="utf-8") + "  odd_family: just one text, not a list\n", encoding="utf-8")
    line = len(broken.read_text(encoding="utf-8").splitlines())
    problems = [str(problem) for problem in run_checks({"BOT_CONFIG": str(REPO / "config.example.yaml")}, copy) if not problem.warning]
    assert any(f"development.yaml:{line}: family 'odd_family' must be a list of phrasings" in problem for problem in problems), problems
