"""The English safety net's patterns, pure (no Telegram): each kind of typing, idioms,
questions about risks, crisis.yaml's examples. The corpus is held to the bar in
test_safety_corpus.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.check import run_checks
from bot.config import CONTENT_DIR
from bot.content import load_content

REPO = Path(__file__).resolve().parent.parent
CONTENT, _ = load_content(CONTENT_DIR, {})
CRISIS = CONTENT.language("en").crisis
DETECTOR = CRISIS.detector

# Each kind of phone typing, on phrasings the plain form of which is caught.
TYPING = {
    "no punctuation or capitals": ["i want to kill myself", "im going to end it tonight"],
    "shouting": ["I WANT TO KILL MYSELF", "I TOOK ALL MY PILLS"],
    "letters held down": ["i want to diiiie", "goodbyeeee everyone", "i cant breatheeee"],
    "missing apostrophes": ["i dont want to live anymore", "i cant go on like this", "id rather be dead"],
    "curly apostrophes": ["I don’t want to live anymore", "I can’t take it anymore"],
    "a letter dropped": ["i want to kil myself", "i feel suicdal", "i cant breath"],
    "a letter swapped": ["i want to kill myslef", "i took 20 oxycodome", "my chets hurts"],
    "a letter added": ["i want to killl myselff", "i tookk 20 oxycodone", "im sucidal"],
    "letters transposed": ["i wnat to die", "i want to hurt myslef", "seziure after tms"],
    "text speak": ["kms", "gonna unalive myself", "imma end it 2nite", "ngl i wanna die rn"],
    "emoji between words": ["i want 😭 to 😭 die", "goodbye 👋 forever", "took 30 💊 pills"],
    "accents": ["i want to díe", "suicídal"],
}


@pytest.mark.parametrize(("kind", "text"), [(kind, text) for kind, texts in TYPING.items() for text in texts])
def test_each_kind_of_typing_is_read(kind: str, text: str) -> None:
    assert DETECTOR.is_crisis(text), DETECTOR.read(text)


def test_typos_are_read_as_key_words() -> None:
    assert DETECTOR.read("i wnat to kil myslef") == "i want to kill myself"
    assert DETECTOR.read("I’m gonna OD 2nite!!!") == "i am going to overdose tonight"
    assert DETECTOR.read("sucide") == "suicide"


def test_an_ordinary_word_is_never_read_as_a_key_word() -> None:
    """"will" is one letter from "kill", "hope" from "rope", "pump" from "jump"."""
    assert DETECTOR.read("I will fill the pump with hope") == "i will fill the pump with hope"
    assert not DETECTOR.is_crisis("i will myself to get up every morning")


@pytest.mark.parametrize(
    "text",
    [
        "this pain is killing me",
        "what if i have a seizure during tms?",
        "is an overdose possible with ketamine",
        "does ketamine cause chest pain",
        "i had a stroke ten years ago",
        "im going to jump in the shower",
        "i cut my finger chopping onions",
    ],
)
def test_idioms_and_questions_about_risks_are_not_a_crisis(text: str) -> None:
    assert not DETECTOR.is_crisis(text), DETECTOR.family(text)


@pytest.mark.parametrize(
    "text",
    [
        "is this an overdose?",
        "can you overdose on ketamine because i took 30 of my pills",
        "is it normal that my chest hurts this much after the infusion",
        "could i have overdosed",
    ],
)
def test_a_question_about_what_is_happening_is_a_crisis(text: str) -> None:
    """Only a question about a risk in general is a near-miss; an exception never hides the
    rest of the message."""
    assert DETECTOR.is_crisis(text)


@pytest.mark.parametrize("text", CRISIS.examples)
def test_crisis_yaml_examples_are_caught(text: str) -> None:
    assert CRISIS.is_crisis(text), DETECTOR.read(text)


@pytest.mark.parametrize("text", CRISIS.not_examples)
def test_crisis_yaml_not_examples_are_not(text: str) -> None:
    assert not CRISIS.is_crisis(text), DETECTOR.family(text)


@pytest.fixture
def content(tmp_path: Path) -> Path:
    copy = tmp_path / "content"
    shutil.copytree(REPO / "content", copy)
    return copy


def errors(content: Path) -> list[str]:
    problems = run_checks({"BOT_CONFIG": str(REPO / "config.example.yaml")}, content)
    return [str(problem) for problem in problems if not problem.warning]


def test_check_names_the_line_of_an_example_not_caught_and_a_not_example_caught(content: Path) -> None:
    crisis = content / "en" / "crisis.yaml"
    text = crisis.read_text(encoding="utf-8")
    text = text.replace("examples:\n", 'examples:\n  - "I would like some tea"\n', 1)
    text = text.replace("not_examples:\n", 'not_examples:\n  - "I want to kill myself"\n', 1)
    crisis.write_text(text, encoding="utf-8")
    lines = crisis.read_text(encoding="utf-8").splitlines()
    tea = lines.index('  - "I would like some tea"') + 1
    kill = lines.index('  - "I want to kill myself"', lines.index("not_examples:")) + 1
    found = errors(content)
    assert any(f"crisis.yaml:{tea}: crisis example not caught" in error for error in found), found
    assert any(f"crisis.yaml:{kill}: not_example caught by family 'suicidal_thoughts'" in error for error in found), found


def test_check_names_a_broken_pattern_and_an_unknown_word_list(content: Path) -> None:
    crisis = content / "en" / "crisis.yaml"
    text = crisis.read_text(encoding="utf-8").replace("      - '\\bsuicid'\n", "      - '\\bsuicid('\n      - '{nonsense} thing'\n", 1)
    crisis.write_text(text, encoding="utf-8")
    found = errors(content)
    assert any("crisis.yaml" in error and "not a valid regular expression" in error for error in found), found
    assert any("{nonsense} is not one of the 'words' lists" in error for error in found), found
