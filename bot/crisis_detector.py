"""Reading a message the way a distressed person typed it, and deciding whether it is a crisis.

Pure: no Telegram, no I/O beyond loading a language's word list once. Every word lives in
content/<lang>/crisis.yaml; this module only knows how to read. A message is read in four
steps, and the patterns are matched against the result:

1. normalise: lower case, accents and emoji and punctuation gone, apostrophes dropped
   ("don't" -> "dont"), spaces collapsed;
2. per word, letters held down are let go ("sooooo" -> tried as "soo" and "so");
3. per word, a typo one letter away from a key word of crisis.yaml is read as that key word
   ("sucide" -> "suicide", "myslef" -> "myself"): rapidfuzz's optimal-string-alignment
   distance, one edit for words of four letters or more (a dropped letter for three), two
   for words of eight or more. An ordinary word of the language is never "corrected": "will"
   stays "will", not "kill" (the word lists of pyspellchecker and wordfreq decide), nor is an
   ordinary word with one of crisis.yaml's `endings` glued on (Spanish pronouns: "cobrarme",
   "saltarme" are "cobrar", "saltar" + "me", not "cortarme", "matarme");
4. shorthand of crisis.yaml is spelt out ("kms" -> "kill myself", "cant" -> "can not").

Then each family's patterns are searched in the text. A match that overlaps a match of the
family's `unless` patterns (a question about a risk, a past illness) does not count; any other
match of any family does.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import OSA

# A word at least this frequent in the language's word list is an ordinary word, never a
# typo (pyspellchecker's relative frequency; 1e-6 is about "sewer", "kilt" is below).
ORDINARY_WORD_FREQUENCY = 1e-6
# {name} in a pattern stands for a list of `words:` in crisis.yaml; {2,3} stays a quantifier.
WORDS_REFERENCE = re.compile(r"\{([a-z_]+)\}")
_APOSTROPHES = re.compile(r"['\u2018\u2019\u02bc\u0060\u00b4\u2032]")
_NOT_A_WORD = re.compile(r"[\W_]+")
_HELD_LETTER = re.compile(r"([^\W\d_])\1{2,}")


@dataclass(frozen=True)
class Family:
    """One family of crisis phrasings (suicidal thoughts, overdoses...) and its exceptions."""

    name: str
    patterns: tuple[re.Pattern, ...]
    unless: tuple[re.Pattern, ...] = ()

    def matches(self, text: str) -> bool:
        exceptions = [match.span() for pattern in self.unless for match in pattern.finditer(text)]
        for pattern in self.patterns:
            for match in pattern.finditer(text):
                if not any(start < match.end() and match.start() < end for start, end in exceptions):
                    return True
        return False


def expand_words(pattern: str, words: dict[str, str]) -> str:
    """Put each {name} of `words` into the pattern as a group; KeyError names an unknown one."""
    # A long list may be folded over several lines in YAML: spaces around "|" are not meant.
    return WORDS_REFERENCE.sub(lambda match: "(?:" + re.sub(r"\s*\|\s*", "|", words[match.group(1)].strip()) + ")", pattern)


def normalise(text: str) -> str:
    """Lower case without accents, emoji, punctuation or apostrophes; single spaces."""
    text = _APOSTROPHES.sub("", text.casefold())
    text = "".join(char for char in unicodedata.normalize("NFKD", text) if not unicodedata.combining(char))
    return " ".join(_NOT_A_WORD.sub(" ", text).split())


@functools.lru_cache(maxsize=None)
def ordinary_words(language: str) -> Callable[[str], bool] | None:
    """Whether a word is an ordinary word of the language; None when we have no word list.

    Two kept word lists, a word being ordinary if either says so: pyspellchecker's, and
    wordfreq's (which also holds the conjugated verbs pyspellchecker's Spanish list lacks:
    "soy", "quiero", "siga", "contarle" would otherwise be read as "toy", "soga", "cortarme").
    Both are compared without accents, as messages are read ("adios" is "adiós").
    """
    from spellchecker import SpellChecker  # each list loads in ~0.1 s, once per language
    from wordfreq import available_languages, get_frequency_dict

    # A spelling without accents is ordinary when any of its accented spellings is: so the
    # rare words are dropped first and only the rest normalised (a second at start, not four).
    ordinary: set[str] = set()
    has_a_list = False
    try:
        checker = SpellChecker(language=language, distance=1)
    except ValueError:
        pass
    else:
        has_a_list = True
        total = checker.word_frequency.total_words
        ordinary.update(normalise(word) for word, count in checker.word_frequency.dictionary.items()
                        if count / total >= ORDINARY_WORD_FREQUENCY)
    if language in available_languages():
        has_a_list = True
        ordinary.update(normalise(word) for word, frequency in get_frequency_dict(language, wordlist="best").items()
                        if frequency >= ORDINARY_WORD_FREQUENCY)
    return frozenset(ordinary).__contains__ if has_a_list else None


class Detector:
    """The safety net's reading of one language: shorthand, key words, families."""

    def __init__(
        self, language: str, shorthand: dict[str, str], key_words: Iterable[str], families: Iterable[Family], endings: Iterable[str] = ()
    ) -> None:
        self.language = language
        self.families = tuple(families)
        self.shorthand = {normalise(short): normalise(meaning) for short, meaning in shorthand.items()}
        self.key_words = frozenset(normalise(word) for word in key_words)
        # Typos are read as key words or as one-word shorthand ("wana" -> "wanna").
        self._targets = sorted(self.key_words | {short for short in self.shorthand if " " not in short})
        self._ordinary_word = ordinary_words(language)
        # The other languages the bot speaks (set by the content loader): a word ordinary in
        # one of them is a word of that language, not a typo of ours ("ropa" is not "rope").
        self.other_languages: tuple[str, ...] = ()
        # Longest first: "tomarmelas" is "tomar" + "melas" before it is "tomarmel" + "as".
        self._endings = tuple(sorted({normalise(ending) for ending in endings}, key=len, reverse=True))
        phrases = sorted(self.shorthand, key=len, reverse=True)
        self._shorthand_pattern = re.compile(r"\b(" + "|".join(map(re.escape, phrases)) + r")\b") if phrases else None

    @property
    def signature(self) -> tuple:
        """Everything its reading of a message depends on (to reuse work done on it)."""
        return (self.language, self.other_languages, tuple(sorted(self.shorthand.items())), tuple(sorted(self.key_words)), self._endings)

    @property
    def corrects_typos(self) -> bool:
        return self._ordinary_word is not None

    def read(self, text: str) -> str:
        """The message as the patterns see it (see the module's docstring)."""
        words = " ".join(self._word(word) for word in normalise(text).split())
        if self._shorthand_pattern is not None:
            words = self._shorthand_pattern.sub(lambda match: self.shorthand[match.group(1)], words)
        return words

    def family(self, text: str) -> str | None:
        """The name of the first family the message belongs to, or None."""
        return self.family_of_reading(self.read(text))

    def family_of_reading(self, reading: str) -> str | None:
        """The same, for a message already read (`read`)."""
        return next((family.name for family in self.families if family.matches(reading)), None)

    def is_crisis(self, text: str) -> bool:
        return self.family(text) is not None

    def _word(self, word: str) -> str:
        if word in self.key_words or word in self.shorthand or word.isdigit():
            return word
        # Letters held down: "diiie" is tried as "diie" and as "die".
        tries = [word]
        if _HELD_LETTER.search(word):
            tries = [_HELD_LETTER.sub(r"\1\1", word), _HELD_LETTER.sub(r"\1", word)]
        for candidate in tries:
            if candidate in self.key_words or candidate in self.shorthand:
                return candidate
        if self._ordinary_word is None:
            return tries[-1]
        for candidate in tries:
            if self._ordinary(candidate) or self._ordinary_elsewhere(candidate):
                return candidate
        corrections = [self._correction(candidate) for candidate in tries]
        found = [correction for correction in corrections if correction is not None]
        return min(found, key=lambda pair: pair[1])[0] if found else tries[-1]

    def _ordinary(self, word: str) -> bool:
        """An ordinary word, or one with an ending glued on (the word lists lack most of those).
        Called only when the language has a word list."""
        ordinary = self._ordinary_word
        if ordinary(word):
            return True
        return any(word.endswith(ending) and len(word) - len(ending) >= 3 and ordinary(word[: -len(ending)]) for ending in self._endings)

    def _ordinary_elsewhere(self, word: str) -> bool:
        """An ordinary word of another language the bot speaks (messages mix languages)."""
        for language in self.other_languages:
            ordinary = ordinary_words(language)
            if ordinary is not None and ordinary(word):
                return True
        return False

    def _correction(self, word: str) -> tuple[str, int] | None:
        """The key word one typo away, with its distance; None if there is none."""
        if len(word) < 3:
            return None
        allowed = 2 if len(word) >= 8 else 1
        match = process.extractOne(word, self._targets, scorer=OSA.distance, score_cutoff=allowed)
        if match is None:
            return None
        target, distance, _index = match
        if len(word) == 3 and len(target) != 4:
            return None  # three letters: only a dropped letter ("kil" -> "kill")
        return target, distance


def spoken_together(detectors: Iterable["Detector"]) -> None:
    """Tell each language's detector which other languages the bot speaks, so their
    ordinary words are never read as its typos (a Spanish "ropa" is not an English "rope")."""
    detectors = list(detectors)
    for detector in detectors:
        detector.other_languages = tuple(other.language for other in detectors if other is not detector)
