"""Load `content/<language>/` into typed objects, and find everything wrong with it.

Loading never stops at the first problem: it collects every `file:line: problem` so that
`python -m bot check` can list them all, and the bot refuses to start while any remains.
The rules about *what* content may say (banned claims) are data too, in `rules.yaml`.
"""

from __future__ import annotations

import html
import re
import threading
from collections import ChainMap, OrderedDict
from dataclasses import dataclass, field
from functools import cached_property
from datetime import date, datetime
from pathlib import Path
from typing import NamedTuple

import yaml
from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal

from bot.crisis_detector import Detector, Family, expand_words, normalise, spoken_together
from bot.crisis_model import LearntReader
from bot.yamlines import LineDict, LineList, YamlError, load

ID_PATTERN = re.compile(r"^[a-z0-9_]{1,20}$")
DEFAULT_LANGUAGE = "en"
# Placeholders filled from the clinic's config, allowed in any text.
CONFIG_PLACEHOLDERS = (
    "clinic_name", "clinic_phone", "clinic_hours", "emergency_number", "crisis_line", "crisis_line_name",
    # Offered only where the clinic's country has them (empty otherwise): bot/crisis_lines.yaml.
    "crisis_text", "crisis_chat", "veterans_press", "veterans_text", "spanish_press",
)


# CLDR plural categories. A ui text whose value is a mapping of these (with `other`) is a
# plural text: the form is picked by the count (see `PluralText`).
PLURAL_CATEGORIES = ("zero", "one", "two", "few", "many", "other")
PLURAL_BY = "by"  # optional key of a plural text: which placeholder holds the count
# Counts a clinic bot shows; a language must give a form for each category they reach.
USUAL_COUNTS = range(0, 101)


class Problem(NamedTuple):
    where: str  # "path:line"
    message: str
    warning: bool = False

    def __str__(self) -> str:
        kind = "warning: " if self.warning else ""
        return f"{self.where}: {kind}{self.message}"


class Html(str):
    """Text that is already valid Telegram HTML and must not be escaped again."""


@dataclass(frozen=True)
class Source:
    id: str
    cite: str
    url: str


@dataclass(frozen=True)
class Page:
    id: str
    button: str
    text: str
    sources: tuple[str, ...]
    where: str


@dataclass(frozen=True)
class Topic:
    id: str
    button: str
    title: str
    intro: str
    reviewed: date
    pages: tuple[Page, ...]
    sources: dict[str, Source]
    where: str
    intro_where: str = ""

    def page(self, page_id: str) -> Page | None:
        return next((page for page in self.pages if page.id == page_id), None)


@dataclass(frozen=True)
class Question:
    id: str
    label: str
    text: str
    why: str
    where: str


@dataclass(frozen=True)
class Screening:
    title: str
    intro: str
    questions: tuple[Question, ...]
    result_flags: str
    result_none: str
    reviewed: date
    sources: dict[str, Source]
    where: str


@dataclass(frozen=True)
class CrisisContent:
    """crisis.yaml: how the safety net reads this language, with what it must (not) catch."""

    detector: Detector
    examples: tuple[str, ...]
    not_examples: tuple[str, ...]
    # "path:line" of each example and not_example, for the checker's messages.
    example_origins: tuple[str, ...] = ()
    not_example_origins: tuple[str, ...] = ()

    def is_crisis(self, text: str) -> bool:
        return self.detector.is_crisis(text)

    @property
    def lines(self) -> dict[str, int]:
        """Each example's and not_example's line in crisis.yaml."""
        origins = zip((*self.examples, *self.not_examples), (*self.example_origins, *self.not_example_origins))
        return {text: int(origin.rsplit(":", 1)[1]) for text, origin in origins}


@dataclass(frozen=True)
class CrisisCorpus:
    """crisis_corpus/*.yaml: phrasings patients write, in crisis and not (pain idioms,
    questions about risks, everyday messages). The learnt reader learns from them; the bench
    and the tests measure the patterns on them."""

    crisis: tuple[str, ...] = ()
    not_crisis: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClaimRule:
    name: str
    pattern: re.Pattern
    unless: re.Pattern | None
    message: str


@dataclass(frozen=True)
class PluralText:
    """A text with one form per CLDR plural category, e.g. one: "1 check-in", other: "{count} check-ins".

    `by` names the placeholder whose number picks the form (`count` unless the YAML says
    `by: patients`). `origins` gives each form's `file:line`.
    """

    forms: dict[str, str]
    by: str
    origins: dict[str, str]

    def form(self, locale: Locale, count: object) -> str:
        try:
            category = locale.plural_form(abs(float(count)))
        except (TypeError, ValueError):
            category = "other"
        return self.forms.get(category, self.forms["other"])


@dataclass
class Language:
    """Everything the bot says in one language."""

    code: str
    folder: Path
    ui: dict[str, str]
    menu: tuple[tuple[str, ...], ...]
    menu_origins: tuple[str, ...]
    topics: dict[str, Topic]
    screening: Screening | None
    crisis: CrisisContent
    rules: tuple[ClaimRule, ...]
    corpus: CrisisCorpus = field(default_factory=CrisisCorpus)
    placeholders: dict[str, str] = field(default_factory=dict)  # HTML-escaped
    plain_placeholders: dict[str, str] = field(default_factory=dict)
    # Where each text came from, for the checker's messages.
    text_origins: dict[str, str] = field(default_factory=dict)
    # Texts with counts, by key (their `other` form is in `ui` too).
    plurals: dict[str, PluralText] = field(default_factory=dict)

    @cached_property
    def locale(self) -> Locale:
        """Babel's CLDR data for this language (plural rules, month and day names, numbers)."""
        return Locale.parse(self.code.replace("-", "_"))

    def text(self, key: str, **values: object) -> str:
        """A UI string from ui/*.yaml with its placeholders filled (values are HTML-escaped)."""
        return self.render(self._template(key, values), **values)

    def label(self, key: str, **values: object) -> str:
        """A button label from ui/*.yaml: plain text, so values are not HTML-escaped."""
        template = self._template(key, values)
        return template.format_map(ChainMap({k: str(v) for k, v in values.items()}, self.plain_placeholders))

    def _template(self, key: str, values: dict[str, object]) -> str:
        plural = self.plurals.get(key)
        if plural is None:
            return self.ui[key]
        count = values.get(plural.by)
        if isinstance(count, (int, float)) and not isinstance(count, bool):
            values[plural.by] = self.number(count)  # 1234 -> "1,234" / "1.234"
        return plural.form(self.locale, count)

    # -- numbers, dates and times in this language (Babel's CLDR data) ---------------------

    def number(self, value: float | int, decimals: int | None = None) -> str:
        """A number as this language writes it: 4.5 -> "4.5" in English, "4,5" in Spanish."""
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        return format_decimal(value, format=pattern if decimals is not None else None, locale=self.locale)

    def date(self, day: date) -> str:
        """A date, in the pattern of the text `format.date` (a CLDR pattern, e.g. "MMMM d, y")."""
        return format_date(day, self.ui["format.date"], locale=self.locale)

    def time(self, moment: datetime) -> str:
        """A clock time (`format.time`, e.g. "HH:mm"); `moment` already in the patient's zone."""
        return format_datetime(moment, self.ui["format.time"], locale=self.locale)

    def day_time(self, moment: datetime) -> str:
        """A day and time (`format.day_time`, e.g. "EEE dd MMM, HH:mm": "Sat 21 Nov, 17:00")."""
        return format_datetime(moment, self.ui["format.day_time"], locale=self.locale)

    def render(self, template: str, **values: object) -> str:
        escaped = {name: _escape(value) for name, value in values.items()}
        return template.format_map(ChainMap(escaped, self.placeholders))


@dataclass
class Content:
    languages: dict[str, Language]
    default: str = DEFAULT_LANGUAGE
    # Learnt from every language's crisis_corpus/ (bot/crisis_model.py); None without one.
    learnt_reader: LearntReader | None = None

    def language(self, code: str | None) -> Language:
        """The content for a language code ("en", "es-MX", "es-419", None): the clinic's
        default when there is no content in that language."""
        return self.languages[self.language_code(code)]

    def is_crisis_in_any_language(self, text: str) -> bool:
        """Whether any language's safety net reads the text as a crisis: a patient may write
        in another language than the one they read in, and must be caught either way. The
        patterns of each crisis.yaml decide first; the learnt reader may only add a catch."""
        # Each language reads the message once: its patterns, then the reader, see that reading.
        detectors = [language.crisis.detector for language in self.languages.values()]
        readings = [detector.read(text) for detector in detectors]
        if any(detector.family_of_reading(reading) for detector, reading in zip(detectors, readings)):
            return True
        return self.learnt_reader is not None and self.learnt_reader.is_crisis(" | ".join(readings), len(normalise(text).split()))

    def reading(self, text: str) -> str:
        """The message as every language's detector reads it (typos mended, shorthand spelt
        out), side by side: what the learnt reader learns from and judges."""
        return " | ".join(language.crisis.detector.read(text) for language in self.languages.values())

    def language_code(self, code: str | None) -> str:
        """The content folder for a Telegram language code: "es-MX" -> "es"; "fr" -> "en"."""
        if code:
            base = code.replace("_", "-").split("-")[0].lower()
            if base in self.languages:
                return base
        return self.default


def load_content(root: Path, placeholders: dict[str, str | dict[str, str]]) -> tuple[Content | None, list[Problem]]:
    """Load every language under `root`; return the content (None if unusable) and problems.

    `placeholders` are the clinic's values ({clinic_phone}...) as plain text; a value may be
    given per language code (the clinic's hours), the default language's for the others.
    """
    problems: list[Problem] = []
    if not root.is_dir():
        return None, [Problem(f"{root}:1", "content folder not found")]
    languages: dict[str, Language] = {}
    for folder in sorted(path for path in root.iterdir() if path.is_dir()):
        language = _load_language(folder, placeholders, problems)
        if language is not None:
            languages[folder.name] = language
    if DEFAULT_LANGUAGE not in languages:
        problems.append(Problem(f"{root / DEFAULT_LANGUAGE}:1", "the default language folder 'en' is missing or unusable"))
        return None, problems
    # Every other language must say all the default one says (bot/parity.py).
    from bot.parity import format_problems, parity_problems

    reference = languages[DEFAULT_LANGUAGE]
    for language in languages.values():
        problems += format_problems(language)
        if language is not reference:
            problems += parity_problems(reference, language)
    # The content is returned even with problems, so the checker can look further into it;
    # the bot itself refuses to start while any problem is an error (`has_errors`).
    spoken_together(language.crisis.detector for language in languages.values())
    content = Content(languages)
    content.learnt_reader = _learnt_reader(content)
    return content, problems


# Learnt readers by what their readings depend on: every test's bot, and every reload of
# unchanged content, shares one instead of learning again (a second or more each). The few
# most recently used are kept (a content check of an edited crisis.yaml adds one).
_learnt_readers: OrderedDict[tuple, LearntReader | None] = OrderedDict()
_LEARNT_READERS_KEPT = 4
_learnt_readers_lock = threading.Lock()


def _learnt_reader(content: Content) -> LearntReader | None:
    """The second reader, learnt from every language's corpus as the bot reads messages."""
    key = tuple(
        (language.corpus, language.crisis.examples, language.crisis.not_examples, language.crisis.detector.signature)
        for language in content.languages.values()
    )
    # The preview loads content in a worker thread while the bot runs: one at a time.
    with _learnt_readers_lock:
        if key in _learnt_readers:
            _learnt_readers.move_to_end(key)
            return _learnt_readers[key]
        # The corpus, and crisis.yaml's examples and not-examples: a clinician's not-example
        # must stay quiet whichever reader judges it.
        languages = content.languages.values()
        crisis = [content.reading(text) for language in languages for text in (*language.corpus.crisis, *language.crisis.examples)]
        not_crisis = [content.reading(text) for language in languages for text in (*language.corpus.not_crisis, *language.crisis.not_examples)]
        reader = LearntReader(crisis, not_crisis) if crisis and not_crisis else None
        while len(_learnt_readers) >= _LEARNT_READERS_KEPT:
            _learnt_readers.popitem(last=False)
        _learnt_readers[key] = reader
        return reader


def has_errors(problems: list[Problem]) -> bool:
    return any(not problem.warning for problem in problems)


# -- one language ----------------------------------------------------------------------------


def _in_language(placeholders: dict[str, str | dict[str, str]], code: str) -> dict[str, str]:
    """The clinic's values as this language shows them."""
    return {
        name: value if isinstance(value, str) else value.get(code, value.get(code.split("_")[0], value[DEFAULT_LANGUAGE]))
        for name, value in placeholders.items()
    }


def _load_language(folder: Path, placeholders: dict[str, str | dict[str, str]], problems: list[Problem]) -> Language | None:
    try:
        locale = Locale.parse(folder.name.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        problems.append(Problem(f"{folder}:1", f"'{folder.name}' is not a language code (use e.g. en, es, pt_BR)"))
        return None
    ui, origins, plurals = _load_ui(folder / "ui", problems, locale)
    topics = _load_topics(folder / "topics", problems)
    menu, menu_origins = _load_menu(folder / "menu.yaml", problems)
    screening = _load_screening(folder / "screening.yaml", problems)
    crisis = _load_crisis(folder / "crisis.yaml", problems)
    rules = _load_rules(folder / "rules.yaml", problems)
    corpus = load_corpus(folder / "crisis_corpus", problems)
    if ui is None or menu is None or crisis is None:
        return None
    placeholders = _in_language(placeholders, folder.name)
    return Language(
        code=folder.name,
        folder=folder,
        ui=ui,
        menu=menu,
        menu_origins=menu_origins,
        topics=topics,
        screening=screening,
        crisis=crisis,
        rules=rules,
        corpus=corpus,
        placeholders={name: _escape(value) for name, value in placeholders.items()},
        plain_placeholders=dict(placeholders),
        text_origins=origins,
        plurals=plurals,
    )


def _read(path: Path, problems: list[Problem]) -> LineDict | None:
    if not path.is_file():
        problems.append(Problem(f"{path}:1", "file is missing"))
        return None
    try:
        data = load(path)
    except YamlError as error:
        problems.append(Problem(f"{error.path}:{error.line}", error.message))
        return None
    if not isinstance(data, LineDict):
        problems.append(Problem(f"{path}:1", "expected 'key: value' lines at the top level"))
        return None
    return data


class _Fields:
    """Typed access to one YAML mapping that records a problem for each bad field."""

    def __init__(self, path: Path, data: LineDict, problems: list[Problem], allowed: set[str]) -> None:
        self.path, self.data, self.problems = path, data, problems
        for key in data:
            if key not in allowed:
                self.problem(key, f"unknown field '{key}' (expected one of: {', '.join(sorted(allowed))})")

    def where(self, key: object | None = None) -> str:
        line = self.data.line_of(key) if key is not None else self.data.line
        return f"{self.path}:{line}"

    def text_where(self, key: object) -> str:
        return f"{self.path}:{self.data.text_lines.get(key, self.data.line_of(key))}"

    def problem(self, key: object | None, message: str) -> None:
        self.problems.append(Problem(self.where(key), message))

    def text(self, key: str) -> str:
        value = self.data.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            self.problem(key if key in self.data else None, f"'{key}' is missing or empty")
            return ""
        return value.strip()

    def ident(self, key: str) -> str:
        value = self.text(key)
        if value and not ID_PATTERN.match(value):
            self.problem(key, f"'{key}' must be lowercase letters, digits or _ (at most 20), got {value!r}")
        return value

    def day(self, key: str) -> date:
        value = self.data.get(key)
        if not isinstance(value, date):
            self.problem(key if key in self.data else None, f"'{key}' must be a date written YYYY-MM-DD")
            return date.min
        return value

    def items(self, key: str) -> list[tuple[LineDict, int]]:
        value = self.data.get(key)
        if not isinstance(value, LineList) or not value:
            self.problem(key if key in self.data else None, f"'{key}' must be a non-empty list")
            return []
        result = []
        for item, line in zip(value, value.lines):
            if isinstance(item, LineDict):
                result.append((item, line))
            else:
                self.problems.append(Problem(f"{self.path}:{line}", f"each entry of '{key}' must be 'key: value' lines"))
        return result


def _load_ui(folder: Path, problems: list[Problem], locale: Locale) -> tuple[dict[str, str] | None, dict[str, str], dict[str, PluralText]]:
    """Every text of ui/*.yaml (one file per feature), keyed "section.name"."""
    paths = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
    if not paths:
        problems.append(Problem(f"{folder}:1", "the ui folder is missing or has no .yaml file"))
        return None, {}, {}
    texts: dict[str, str] = {}
    origins: dict[str, str] = {}
    plurals: dict[str, PluralText] = {}

    def walk(path: Path, mapping: LineDict, prefix: str) -> None:
        for key, value in mapping.items():
            name = f"{prefix}{key}"
            where = f"{path}:{mapping.text_lines.get(key, mapping.line_of(key))}"
            if not isinstance(key, str):
                problems.append(Problem(where, f"key {key!r} is not a name: YAML reads off/on/yes/no as true/false, so quote it or pick another word"))
            elif isinstance(value, LineDict) and "other" in value:
                plural = _plural_text(path, name, value, locale, problems)
                if name in texts:
                    problems.append(Problem(where, f"text '{name}' is already defined at {origins[name]}"))
                elif plural is not None:
                    texts[name], origins[name], plurals[name] = plural.forms["other"], where, plural
            elif isinstance(value, LineDict):
                walk(path, value, f"{name}.")
            elif not isinstance(value, str) or not value.strip():
                problems.append(Problem(f"{path}:{mapping.line_of(key)}", f"text '{name}' must be a non-empty string"))
            elif name in texts:
                problems.append(Problem(where, f"text '{name}' is already defined at {origins[name]}"))
            else:
                texts[name] = value.strip()
                origins[name] = where

    for path in paths:
        data = _read(path, problems)
        if data is not None:
            walk(path, data, "")
    return texts, origins, plurals


def _plural_text(path: Path, name: str, mapping: LineDict, locale: Locale, problems: list[Problem]) -> PluralText | None:
    """A plural text: `one:` / `other:` (and the other CLDR categories the language has)."""
    used = set(locale.plural_form.tags) | {"other"}
    needed = {locale.plural_form(count) for count in USUAL_COUNTS} | {"other"}
    forms, form_origins, ok = {}, {}, True
    for key, value in mapping.items():
        where = f"{path}:{mapping.text_lines.get(key, mapping.line_of(key))}"
        if key == PLURAL_BY:
            continue
        if key not in PLURAL_CATEGORIES:
            problems.append(Problem(where, f"plural text '{name}': '{key}' is not a plural form (use {', '.join(sorted(used))}, and optionally by: <placeholder>)"))
            ok = False
        elif key not in used:
            problems.append(Problem(where, f"plural text '{name}': {locale.english_name} has no '{key}' form (its forms: {', '.join(sorted(used))})"))
            ok = False
        elif not isinstance(value, str) or not value.strip():
            problems.append(Problem(where, f"plural text '{name}.{key}' must be a non-empty string"))
            ok = False
        else:
            forms[key], form_origins[key] = value.strip(), where
    for missing in sorted(needed - set(mapping)):
        problems.append(Problem(f"{path}:{mapping.line}", f"plural text '{name}' needs a '{missing}' form in {locale.english_name}"))
        ok = False
    by = mapping.get(PLURAL_BY, "count")
    if not isinstance(by, str) or not ID_PATTERN.match(by):
        problems.append(Problem(f"{path}:{mapping.line_of(PLURAL_BY)}", f"plural text '{name}': 'by' must name a placeholder, e.g. by: count"))
        ok = False
    # With its `other` form the text still works (the other forms fall back to it), so
    # the problems above are the only ones reported, not a "missing text" as well.
    return PluralText(forms, by, form_origins) if ok or "other" in forms else None


def _load_sources(fields: _Fields) -> dict[str, Source]:
    sources: dict[str, Source] = {}
    for item, line in fields.items("sources"):
        source_fields = _Fields(fields.path, item, fields.problems, {"id", "cite", "url"})
        source = Source(source_fields.text("id"), source_fields.text("cite"), source_fields.text("url"))
        if source.url and not re.match(r"^https?://\S+$", source.url):
            source_fields.problem("url", f"source {source.id}: url must start with http:// or https://")
        if source.id in sources:
            fields.problems.append(Problem(f"{fields.path}:{line}", f"source id {source.id} is listed twice"))
        sources[source.id] = source
    return sources


def _load_topics(folder: Path, problems: list[Problem]) -> dict[str, Topic]:
    topics: dict[str, Topic] = {}
    if not folder.is_dir():
        problems.append(Problem(f"{folder}:1", "the topics folder is missing"))
        return topics
    for path in sorted(folder.glob("*.yaml")):
        data = _read(path, problems)
        if data is None:
            continue
        fields = _Fields(path, data, problems, {"id", "button", "title", "reviewed", "intro", "pages", "sources"})
        topic_id = fields.ident("id")
        if topic_id and topic_id != path.stem:
            fields.problem("id", f"topic id '{topic_id}' must match the file name '{path.stem}'")
        sources = _load_sources(fields)
        pages: list[Page] = []
        for item, line in fields.items("pages"):
            page_fields = _Fields(path, item, problems, {"id", "button", "text", "sources"})
            page_id = page_fields.ident("id")
            if any(page.id == page_id for page in pages):
                page_fields.problem("id", f"page id '{page_id}' is used twice in this topic")
            cited = item.get("sources")
            if not isinstance(cited, list) or not cited:
                page_fields.problem("sources" if "sources" in item else None, f"page '{page_id}' must list its sources, e.g. sources: [S1]")
                cited = []
            for source_id in cited:
                if str(source_id) not in sources:
                    page_fields.problem("sources", f"page '{page_id}' cites {source_id}, which is not in this topic's sources")
            pages.append(
                Page(
                    id=page_id,
                    button=page_fields.text("button"),
                    text=page_fields.text("text"),
                    sources=tuple(str(source_id) for source_id in cited),
                    where=page_fields.text_where("text"),
                )
            )
        topics[topic_id or path.stem] = Topic(
            id=topic_id or path.stem,
            button=fields.text("button"),
            title=fields.text("title"),
            intro=fields.text("intro"),
            reviewed=fields.day("reviewed"),
            pages=tuple(pages),
            sources=sources,
            where=fields.where(),
            intro_where=fields.text_where("intro"),
        )
    return topics


def _load_menu(path: Path, problems: list[Problem]) -> tuple[tuple[tuple[str, ...], ...] | None, tuple[str, ...]]:
    data = _read(path, problems)
    if data is None:
        return None, ()
    rows = data.get("rows")
    if not isinstance(rows, LineList) or not rows:
        problems.append(Problem(f"{path}:{data.line_of('rows')}", "'rows' must be a list of button rows, e.g. - [topic:tms]"))
        return None, ()
    menu, origins = [], []
    for row, line in zip(rows, rows.lines):
        if not isinstance(row, list) or not row or not all(isinstance(target, str) for target in row):
            problems.append(Problem(f"{path}:{line}", "each row must be a list of targets, e.g. [topic:tms, contact]"))
            continue
        menu.append(tuple(row))
        origins.append(f"{path}:{line}")
    return tuple(menu), tuple(origins)


def _load_screening(path: Path, problems: list[Problem]) -> Screening | None:
    data = _read(path, problems)
    if data is None:
        return None
    fields = _Fields(path, data, problems, {"reviewed", "title", "intro", "questions", "result_flags", "result_none", "sources"})
    questions = []
    for item, _line in fields.items("questions"):
        question_fields = _Fields(path, item, problems, {"id", "label", "text", "why"})
        questions.append(
            Question(
                id=question_fields.ident("id"),
                label=question_fields.text("label"),
                text=question_fields.text("text"),
                why=question_fields.text("why"),
                where=question_fields.text_where("text"),
            )
        )
    return Screening(
        title=fields.text("title"),
        intro=fields.text("intro"),
        questions=tuple(questions),
        result_flags=fields.text("result_flags"),
        result_none=fields.text("result_none"),
        reviewed=fields.day("reviewed"),
        sources=_load_sources(fields),
        where=fields.where(),
    )


def _compile(fields: _Fields, key: str, pattern: object, where: str) -> re.Pattern | None:
    if not isinstance(pattern, str) or not pattern:
        fields.problems.append(Problem(where, f"'{key}' must be a regular expression in quotes"))
        return None
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as error:
        fields.problems.append(Problem(where, f"'{key}' is not a valid regular expression: {error}"))
        return None


def _strings(fields: _Fields, key: str) -> tuple[str, ...]:
    value = fields.data.get(key)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        fields.problem(key if key in fields.data else None, f"'{key}' must be a list of texts")
        return ()
    return tuple(value)


def load_crisis(path: Path) -> tuple[CrisisContent | None, list[Problem]]:
    """One crisis.yaml on its own, for the corpus tests and the bench: a language's safety
    net can be measured before the rest of its folder is written."""
    problems: list[Problem] = []
    return _load_crisis(path, problems), problems


def _load_crisis(path: Path, problems: list[Problem]) -> CrisisContent | None:
    """crisis.yaml: words, shorthand, key_words, families of patterns, examples, not_examples."""
    data = _read(path, problems)
    if data is None:
        return None
    fields = _Fields(path, data, problems, {"words", "shorthand", "key_words", "endings", "families", "examples", "not_examples"})
    words = _text_mapping(fields, "words", required=False)
    shorthand = _text_mapping(fields, "shorthand", required=False)
    key_words = data.get("key_words") or []
    if not isinstance(key_words, list) or not all(isinstance(word, str) for word in key_words):
        fields.problem("key_words", "'key_words' must be a list of words, e.g. [suicide, overdose]")
        key_words = []
    endings = data.get("endings") or []
    if not isinstance(endings, list) or not all(isinstance(ending, str) for ending in endings):
        fields.problem("endings", "'endings' must be a list of word endings, e.g. [me, te, se]")
        endings = []
    families = []
    raw = data.get("families")
    if not isinstance(raw, LineDict) or not raw:
        fields.problem("families" if "families" in data else None, "'families' must list families of patterns, e.g. suicidal_thoughts: {patterns: [...]}")
    else:
        for name, family in raw.items():
            where = f"{path}:{raw.line_of(name)}"
            if not isinstance(family, LineDict):
                problems.append(Problem(where, f"family '{name}' must have 'patterns:' (and may have 'unless:')"))
                continue
            family_fields = _Fields(path, family, problems, {"patterns", "unless"})
            patterns = _pattern_list(family_fields, "patterns", words, required=True)
            unless = _pattern_list(family_fields, "unless", words, required=False)
            if patterns:
                families.append(Family(str(name), tuple(patterns), tuple(unless)))
    examples, example_origins = _texts_with_origins(fields, "examples")
    not_examples, not_example_origins = _texts_with_origins(fields, "not_examples")
    if not families:
        return None
    detector = Detector(path.parent.name, shorthand, key_words, families, endings)
    return CrisisContent(detector, examples, not_examples, example_origins, not_example_origins)


def load_corpus(folder: Path, problems: list[Problem]) -> CrisisCorpus:
    """crisis_corpus/*.yaml, each `crisis:` and `near_miss:`, a mapping of family -> phrasings.
    The folder is optional (a new language may start without one)."""
    crisis: list[str] = []
    not_crisis: list[str] = []
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        # The corpus is thousands of lines, loaded for every test's bot: libyaml first, and
        # the line-numbered reader only to say where a file is wrong.
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except (yaml.YAMLError, OSError, UnicodeDecodeError):
            data = None  # the line-numbered reader below says what is wrong
        sections = _corpus_sections(data)
        if sections is None:
            _corpus_problems(path, problems)
            continue
        crisis.extend(sections[0])
        not_crisis.extend(sections[1])
    return CrisisCorpus(tuple(crisis), tuple(not_crisis))


def _corpus_sections(data: object) -> tuple[list[str], list[str]] | None:
    """The crisis and near-miss phrasings of one corpus file; None if it is not as documented."""
    if not isinstance(data, dict) or set(data) - {"crisis", "near_miss"}:
        return None
    sections: tuple[list[str], list[str]] = ([], [])
    for key, texts in zip(("crisis", "near_miss"), sections):
        families = data.get(key) or {}
        if not isinstance(families, dict):
            return None
        for phrasings in families.values():
            if not isinstance(phrasings, list) or not all(isinstance(text, str) and text.strip() for text in phrasings):
                return None
            texts.extend(phrasings)
    return sections


def _corpus_problems(path: Path, problems: list[Problem]) -> None:
    """Say where a corpus file is wrong (`file:line`), with the line-numbered reader."""
    data = _read(path, problems)
    if data is None:
        return
    fields = _Fields(path, data, problems, {"crisis", "near_miss"})
    for key in ("crisis", "near_miss"):
        families = data.get(key)
        if families is None:
            continue
        if not isinstance(families, LineDict):
            fields.problem(key, f"'{key}' must be 'family:' lines, each a list of phrasings")
            continue
        for family, phrasings in families.items():
            if not isinstance(phrasings, LineList) or not all(isinstance(text, str) and text.strip() for text in phrasings):
                problems.append(Problem(f"{path}:{families.line_of(family)}", f"family '{family}' must be a list of phrasings (quoted texts)"))


def _text_mapping(fields: _Fields, key: str, required: bool) -> dict[str, str]:
    value = fields.data.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        fields.problem(key if key in fields.data else None, f"'{key}' must be 'word: meaning' lines (quote yes/no/on/off)")
        return {}
    return {k: v.strip() for k, v in value.items()}


def _pattern_list(fields: _Fields, key: str, words: dict[str, str], required: bool) -> list[re.Pattern]:
    raw = fields.data.get(key)
    if raw is None and not required:
        return []
    if not isinstance(raw, LineList) or not raw:
        fields.problem(key if key in fields.data else None, f"'{key}' must be a non-empty list of regular expressions")
        return []
    compiled = []
    for pattern, line in zip(raw, raw.lines):
        where = f"{fields.path}:{line}"
        try:
            pattern = expand_words(pattern, words) if isinstance(pattern, str) else pattern
        except KeyError as error:
            fields.problems.append(Problem(where, f"{{{error.args[0]}}} is not one of the 'words' lists ({', '.join(sorted(words))})"))
            continue
        if (result := _compile(fields, key, pattern, where)) is not None:
            compiled.append(result)
    return compiled


def _texts_with_origins(fields: _Fields, key: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    value = fields.data.get(key)
    if not isinstance(value, LineList) or not all(isinstance(item, str) for item in value):
        fields.problem(key if key in fields.data else None, f"'{key}' must be a list of texts")
        return (), ()
    return tuple(value), tuple(f"{fields.path}:{line}" for line in value.lines)


def _load_rules(path: Path, problems: list[Problem]) -> tuple[ClaimRule, ...]:
    data = _read(path, problems)
    if data is None:
        return ()
    fields = _Fields(path, data, problems, {"claims"})
    rules = []
    for item, line in fields.items("claims"):
        rule_fields = _Fields(path, item, problems, {"name", "pattern", "unless", "message"})
        pattern = _compile(rule_fields, "pattern", item.get("pattern"), rule_fields.where("pattern"))
        unless = None
        if "unless" in item:
            unless = _compile(rule_fields, "unless", item.get("unless"), rule_fields.where("unless"))
        if pattern is not None:
            rules.append(ClaimRule(rule_fields.text("name"), pattern, unless, rule_fields.text("message")))
    return tuple(rules)


# -- claims ------------------------------------------------------------------------------------

# A sentence ends at . ! or ? followed by space, at a blank line, before a bullet line, or
# at a line break after a heading (a line ending in a tag). A line that ends in the middle
# of a sentence (a word or a comma) continues on the next line.
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+|\n\s*\n|\n(?=\s*[•*-]\s)|(?<![\w,;:(-])\n")


def banned_claims(text: str, rules: tuple[ClaimRule, ...]) -> list[tuple[int, ClaimRule, str]]:
    """Each (line offset in text, rule, sentence) where a sentence makes a banned claim."""
    # Blank out tags with spaces of the same length, so offsets still point into `text`.
    plain = re.sub(r"<[^>\n]*>", lambda match: " " * len(match.group()), text)
    found = []
    start = 0
    for boundary in [*_SENTENCE_BREAK.finditer(plain), None]:
        end = boundary.start() if boundary else len(plain)
        sentence = " ".join(plain[start:end].split())
        if sentence:
            for rule in rules:
                if rule.pattern.search(sentence) and not (rule.unless and rule.unless.search(sentence)):
                    found.append((plain.count("\n", 0, start + len(plain[start:end]) - len(plain[start:end].lstrip())), rule, sentence))
        if boundary:
            start = boundary.end()
    return found


def _escape(value: object) -> str:
    if isinstance(value, Html):
        return str(value)
    return html.escape(str(value), quote=True)
