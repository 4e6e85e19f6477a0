"""Parity: a translation says everything the default language says, or it is refused.

Pure functions over loaded `Language` objects; `load_content` runs them for every language
but the default one, so `python -m bot check`, the bot's start and the preview's reload all
refuse a language with gaps (never half shown). Each problem names the translation's
`file:line` and, where the fault is a gap, where the default language has the thing.

The rules (docs/content-format.md, "Adding a language"):

* the same ui keys, each with the same {placeholders} (a plural text's forms together);
  a text the default language writes with plural forms is plural in the translation too
  (unless the language has one form for every count);
* the same menu rows (targets);
* the same topics, each with the same pages in the same order, each page citing the same
  sources; each topic lists the same source ids with the same urls;
* every number of a page or intro (and of the screening's intro, results and questions)
  appears in its translation, and every named study ("Lefaucheur et al. (2020)",
  "Thomas and colleagues, 2025"): its name and year;
* the same screening questions, by id, in the same order (answers travel by position);
* crisis examples and not-examples of its own: none copied unchanged from the default
  language (an untranslated example proves nothing about how its speakers type);
* no page, intro or screening question left in the default language's words, and
  `language.name` naming the language in itself.
"""

from __future__ import annotations

import html
import re
import string
from collections.abc import Iterator
from datetime import datetime

from bot.content import USUAL_COUNTS, Language, Problem, Topic

# Numbers as written in either language: "1,000", "1.000", "4.5", "4,5", "988", "42%".
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# A named study: a capitalised name, maybe "et al." or "and colleagues", then a year in
# brackets ("Smith (2019)", "Lefaucheur et al. (2020)"), or "Thomas and colleagues, 2025".
# The translation must keep the name and the year.
_STUDY = re.compile(
    r"\b([A-Z][\w'’-]+)(?:\s+et\s+al\.?|\s+and\s+colleagues)?,?\s*\(((?:19|20)\d{2})[a-z]?\)"
    r"|\b([A-Z][\w'’-]+)(?:\s+et\s+al\.?|\s+and\s+colleagues),?\s*\(?((?:19|20)\d{2})"
)
_TAG = re.compile(r"<[^>]*>")
_PLACEHOLDER = re.compile(r"(?<!\{)\{[a-z_][a-z0-9_]*\}(?!\})")


def parity_problems(reference: Language, translation: Language) -> list[Problem]:
    problems: list[Problem] = []
    problems += _ui(reference, translation)
    problems += _menu(reference, translation)
    problems += _topics(reference, translation)
    problems += _screening(reference, translation)
    problems += _crisis(reference, translation)
    problems += _language_name(reference, translation)
    return problems


def _language_name(reference: Language, translation: Language) -> Iterator[Problem]:
    name = translation.ui.get("language.name")
    if name is not None and name == reference.ui.get("language.name"):
        yield Problem(translation.text_origins["language.name"], f"'language.name' is still {name!r}: name the language in itself (\"Español\"), so its speakers find it in /language")


def format_problems(lang: Language) -> list[Problem]:
    """The date and time patterns (`format.*`, CLDR patterns for Babel) work in this language."""
    problems = []
    sample = datetime(2026, 11, 21, 17, 5)
    for key, show in (("format.date", lambda: lang.date(sample.date())), ("format.time", lambda: lang.time(sample)), ("format.day_time", lambda: lang.day_time(sample))):
        if key not in lang.ui:
            continue  # reported as a missing text
        fault = _pattern_fault(lang.ui[key])
        if fault is None:
            try:
                show()
            except (ValueError, KeyError, AttributeError, TypeError) as error:
                fault = str(error)
        if fault:
            problems.append(Problem(lang.text_origins[key], f"'{key}' is not a date pattern Babel understands ({fault}); see https://babel.pocoo.org/en/latest/dates.html#pattern-syntax"))
    return problems


def _pattern_fault(pattern: str) -> str | None:
    """Babel formats almost anything; catch the usual slips: a word left unquoted ("d de
    MMMM" writes the day of the week for "e") and an unclosed quote."""
    unquoted = re.sub(r"''", "", pattern)
    if unquoted.count("'") % 2:
        return "a ' quote is not closed"
    for run in re.findall(r"[A-Za-z]+", re.sub(r"'[^']*'", " ", unquoted)):
        if len(set(run)) > 1:
            return f"'{run}' is read as date fields; put literal words in quotes, e.g. 'de'"
    return None


# -- what a text carries ----------------------------------------------------------------------


def placeholders(text: str) -> set[str]:
    """The {names} a text uses ({{ and }} are literal braces)."""
    names = set()
    try:
        for _literal, name, _spec, _conversion in string.Formatter().parse(text):
            if name:
                names.add(name)
    except ValueError:
        pass  # a malformed text is reported by the template check
    return names


def numbers(text: str) -> set[str]:
    """The numbers of a text, separators dropped ("1,000" and "1.000" are both "1000")."""
    plain = _PLACEHOLDER.sub(" ", html.unescape(_TAG.sub(" ", text)))
    return {re.sub(r"\D", "", match) for match in _NUMBER.findall(plain)}


def studies(text: str) -> set[tuple[str, str]]:
    """(name, year) of every named study of a text."""
    plain = html.unescape(_TAG.sub(" ", text))
    found = set()
    for match in _STUDY.finditer(plain):
        name, year = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
        found.add((name, year))
    return found


def facts_missing(original: str, translated: str) -> list[str]:
    """What of `original`'s numbers and named studies `translated` lacks, in words."""
    missing = [f"the number {number}" for number in sorted(numbers(original) - numbers(translated), key=lambda n: (len(n), n))]
    for name, year in sorted(studies(original)):
        if not re.search(rf"\b{re.escape(name)}\b", translated) or year not in translated:
            missing.append(f"the study {name} ({year})")
    return missing


# -- the parts of a language ------------------------------------------------------------------


def _ui(reference: Language, translation: Language) -> Iterator[Problem]:
    ui_folder = translation.folder / "ui"
    for key in sorted(set(reference.ui) - set(translation.ui)):
        origin = reference.text_origins[key]
        file_name = origin.rpartition(":")[0].rsplit("/", 1)[-1]
        yield Problem(f"{ui_folder / file_name}:1", f"missing text '{key}' (the default language has it at {origin})")
    for key in sorted(set(translation.ui) - set(reference.ui)):
        yield Problem(translation.text_origins[key], f"extra text '{key}': the default language {reference.code} has no such key (a typo, or a key that was renamed?)")
    several_forms = len({translation.locale.plural_form(count) for count in USUAL_COUNTS}) > 1
    for key in sorted(set(reference.ui) & set(translation.ui)):
        if key in reference.plurals and key not in translation.plurals and several_forms:
            by = reference.plurals[key].by
            yield Problem(translation.text_origins[key], f"text '{key}' has a count ({{{by}}}): write it as a plural text with one: / other: forms, as the default language does")
            continue
        expected, found = _ui_placeholders(reference, key), _ui_placeholders(translation, key)
        if expected != found:
            yield Problem(translation.text_origins[key], f"text '{key}' {_placeholder_difference(expected, found)}")


def _ui_placeholders(lang: Language, key: str) -> set[str]:
    plural = lang.plurals.get(key)
    texts = plural.forms.values() if plural else (lang.ui[key],)
    found = set().union(*(placeholders(text) for text in texts))
    if plural:
        found.add(plural.by)  # the count is given to the text, even if a form leaves it out
    return found


def _placeholder_difference(expected: set[str], found: set[str]) -> str:
    parts = []
    if expected - found:
        parts.append("lacks " + ", ".join(f"{{{name}}}" for name in sorted(expected - found)))
    if found - expected:
        parts.append("has unknown " + ", ".join(f"{{{name}}}" for name in sorted(found - expected)))
    return " and ".join(parts) + f" (the default language uses {', '.join('{' + n + '}' for n in sorted(expected)) or 'none'})"


def _menu(reference: Language, translation: Language) -> Iterator[Problem]:
    origins = translation.menu_origins or (f"{translation.folder / 'menu.yaml'}:1",)
    for index, row in enumerate(reference.menu):
        found = translation.menu[index] if index < len(translation.menu) else None
        if found != row:
            where = origins[min(index, len(origins) - 1)]
            yield Problem(where, f"menu row {index + 1} is {list(found) if found else 'missing'}; the default language has {list(row)} ({reference.menu_origins[index]})")
    for index in range(len(reference.menu), len(translation.menu)):
        yield Problem(origins[index], f"extra menu row {list(translation.menu[index])}: the default language has {len(reference.menu)} rows")


def _topics(reference: Language, translation: Language) -> Iterator[Problem]:
    for topic_id in sorted(set(reference.topics) - set(translation.topics)):
        yield Problem(f"{translation.folder / 'topics' / (topic_id + '.yaml')}:1", f"missing topic '{topic_id}' (the default language has {reference.topics[topic_id].where})")
    for topic_id in sorted(set(translation.topics) - set(reference.topics)):
        yield Problem(translation.topics[topic_id].where, f"extra topic '{topic_id}': the default language has no such topic")
    for topic_id in sorted(set(reference.topics) & set(translation.topics)):
        yield from _topic(reference.topics[topic_id], translation.topics[topic_id])


def _topic(original: Topic, translated: Topic) -> Iterator[Problem]:
    expected_pages = [page.id for page in original.pages]
    found_pages = [page.id for page in translated.pages]
    for page_id in expected_pages:
        if page_id not in found_pages:
            yield Problem(translated.where, f"topic '{translated.id}' is missing page '{page_id}' (the default language has it at {original.page(page_id).where})")
    for page in translated.pages:
        if page.id not in expected_pages:
            yield Problem(page.where, f"extra page '{page.id}' in topic '{translated.id}': the default language has no such page")
    common = [page_id for page_id in found_pages if page_id in expected_pages]
    if common != [page_id for page_id in expected_pages if page_id in found_pages]:
        yield Problem(translated.where, f"topic '{translated.id}': pages in another order ({', '.join(found_pages)}); keep the default language's ({', '.join(expected_pages)})")

    for source_id in sorted(set(original.sources) - set(translated.sources)):
        yield Problem(translated.where, f"topic '{translated.id}' is missing source {source_id} (sources may stay in English; mark them \"en inglés\" or the like)")
    for source_id in sorted(set(translated.sources) - set(original.sources)):
        yield Problem(translated.where, f"topic '{translated.id}' lists source {source_id}, which the default language does not")
    for source_id in sorted(set(original.sources) & set(translated.sources)):
        if original.sources[source_id].url != translated.sources[source_id].url:
            yield Problem(translated.where, f"topic '{translated.id}': source {source_id} has another url than in the default language ({original.sources[source_id].url})")

    yield from _same_text_facts(original.intro, translated.intro, translated.intro_where or translated.where, f"the intro of '{translated.id}'")
    for page in translated.pages:
        source_page = original.page(page.id)
        if source_page is None:
            continue
        if set(page.sources) != set(source_page.sources):
            yield Problem(page.where, f"page '{translated.id}.{page.id}' cites {', '.join(page.sources) or 'nothing'}; the default language cites {', '.join(source_page.sources)}")
        yield from _same_text_facts(source_page.text, page.text, page.where, f"page '{translated.id}.{page.id}'")


def _same_text_facts(original: str, translated: str, where: str, what: str) -> Iterator[Problem]:
    if original.strip() == translated.strip() and re.search(r"[A-Za-z]{3}", _TAG.sub("", original)):
        yield Problem(where, f"{what} is the default language's text, untranslated")
        return
    missing = facts_missing(original, translated)
    if missing:
        yield Problem(where, f"{what} lacks {', '.join(missing)} of the default language's text")
    if placeholders(original) != placeholders(translated):
        yield Problem(where, f"{what} {_placeholder_difference(placeholders(original), placeholders(translated))}")


def _screening(reference: Language, translation: Language) -> Iterator[Problem]:
    original, translated = reference.screening, translation.screening
    if original is None:
        return
    if translated is None:
        yield Problem(f"{translation.folder / 'screening.yaml'}:1", "missing screening.yaml (the default language has one)")
        return
    expected, found = [q.id for q in original.questions], [q.id for q in translated.questions]
    if expected != found:
        yield Problem(translated.where, f"screening questions are {', '.join(found)}; the default language asks {', '.join(expected)}, in that order (answers travel by position)")
    for field in ("intro", "result_flags", "result_none"):
        yield from _same_text_facts(getattr(original, field), getattr(translated, field), translated.where, f"the screening's {field}")
    by_id = {question.id: question for question in original.questions}
    for question in translated.questions:
        if question.id in by_id:
            source = by_id[question.id]
            yield from _same_text_facts(f"{source.text}\n{source.why}", f"{question.text}\n{question.why}", question.where, f"screening question '{question.id}'")


def _crisis(reference: Language, translation: Language) -> Iterator[Problem]:
    where = f"{translation.folder / 'crisis.yaml'}"
    crisis = translation.crisis
    if not crisis.examples:
        yield Problem(f"{where}:1", "crisis.yaml needs examples: messages in this language that the patterns must catch")
    if not crisis.not_examples:
        yield Problem(f"{where}:1", "crisis.yaml needs not_examples: messages in this language the patterns must let pass")
    copied_from = {example.casefold() for example in (*reference.crisis.examples, *reference.crisis.not_examples)}
    for example in (*crisis.examples, *crisis.not_examples):
        if example.casefold() in copied_from:
            line = crisis.lines.get(example, 1)
            yield Problem(f"{where}:{line}", f"crisis example {example!r} is the default language's, untranslated: write how {translation.locale.english_name} speakers say it")
