"""`python -m bot check`: prove the config and every text are fit to send, before the bot runs.

Prints one `file:line: problem` per problem and exits 1 if there is any error (warnings,
such as an old review date, are printed but do not fail). Checks: settings; content shape;
menu links and orphan topics; every screen every flow can show renders to valid Telegram
HTML within 4096 characters with callback data within 64 bytes; sources and review dates;
banned medical claims; crisis patterns against their examples; texts the code uses exist.
"""

from __future__ import annotations

import os
import re
import sys
from datetime import date, timedelta
from pathlib import Path

from bot.config import CONTENT_DIR, OPTIONAL_CRISIS, ConfigError, Settings, load_settings
from bot.content import (
    DEFAULT_LANGUAGE,
    CONFIG_PLACEHOLDERS,
    Content,
    Language,
    Problem,
    banned_claims,
    has_errors,
    load_content,
)
from bot.menu import menu_button
from bot.screens import Screen
from bot.telegram_html import (
    MAX_CALLBACK_DATA,
    MAX_MESSAGE,
    parse_html,
    telegram_length,
)

REVIEW_MAX_AGE = timedelta(days=365)
# Texts Telegram shows outside messages, and their limits.
PLAIN_LIMITS = {"toast.": 200, "commands.": 256, "bot.description": 512, "bot.short_description": 120}
EXAMPLE_VALUES = {
    "clinic_name": "Example Pain & TMS Clinic",
    "clinic_phone": "+1 555 010 0000",
    "clinic_hours": "Mon-Fri 8:00-17:00",
    "emergency_number": "911",
    "crisis_line": "988",
    "crisis_line_name": "988 Suicide & Crisis Lifeline",
    "crisis_text": "988",
    "crisis_chat": "988lifeline.org",
    "veterans_press": "1",
    "veterans_text": "838255",
    "spanish_press": "2",
}
CODE_FOLDERS = ("bot", "flows")
TEXT_KEY_IN_CODE = re.compile(r"""\b(?:lang|language)\.(?:text|label)\(\s*["']([a-z_][a-z0-9_.]*)["']""")


def placeholders_for(settings: Settings) -> dict[str, str | dict[str, str]]:
    return {
        "clinic_name": settings.clinic.name,
        "clinic_phone": settings.clinic.phone,
        "clinic_hours": settings.clinic.hours,
        "emergency_number": settings.crisis.emergency_number,
        "crisis_line": settings.crisis.crisis_line,
        "crisis_line_name": settings.crisis.crisis_line_name,
        # An option the country lacks is empty; the crisis reply leaves its line out.
        **{name: getattr(settings.crisis, name) or "" for name in OPTIONAL_CRISIS},
    }


class _AnyValue(dict):
    """Stands in for runtime values ({first_name}...) when a text is rendered for checking."""

    def __missing__(self, key: str) -> str:
        return "Alexandria-Marie"


def run_checks(env: dict[str, str], content_dir: Path = CONTENT_DIR, today: date | None = None) -> list[Problem]:
    today = today or date.today()
    problems: list[Problem] = []
    values: dict = dict(EXAMPLE_VALUES)
    config_path: Path | None = None  # known once the settings load
    try:
        settings = load_settings(env, require_token=False)
        values, config_path = placeholders_for(settings), settings.config_path
        if settings.staff_chat_id is None and not settings.staff_ids:
            problems.append(Problem(f"{settings.config_path}:1", "no staff_chat_id and no staff_ids: crisis alerts and call-back requests reach no one", warning=True))
    except ConfigError as error:
        where, _, message = str(error).partition(": ")
        problems.append(Problem(where, message) if message else Problem("settings", str(error)))

    content, content_problems = load_content(content_dir, values)
    problems += content_problems
    if content is None:
        return problems
    problems += _untranslated_hours(values, content, config_path)
    for lang in content.languages.values():
        problems += _check_language(lang, today, build_screens=not has_errors(content_problems))
    problems += _check_code_keys(content)
    return problems


def _untranslated_hours(values: dict, content: Content, config_path: Path | None) -> list[Problem]:
    """The clinic's hours are words ("Mon-Fri"): a language without its own reads English."""
    hours = values.get("clinic_hours")
    given = {DEFAULT_LANGUAGE} if isinstance(hours, str) else set(hours or ())
    missing = sorted(code for code in content.languages if code not in given and code.split("_")[0] not in given)
    if config_path is None or not missing:
        return []
    return [Problem(f"{config_path}:1", f"clinic.hours has no text for {', '.join(missing)}: those patients read the "
                    f"{DEFAULT_LANGUAGE!r} hours; give one per language (see config.example.yaml)", warning=True)]


def _check_language(lang: Language, today: date, build_screens: bool) -> list[Problem]:
    from bot.app import SCREEN_FLOWS  # the flows know which screens they can show

    problems: list[Problem] = _check_claims(lang)
    broken = _check_templates(lang)
    if broken or not build_screens:
        return problems + broken  # screens cannot be built from content with errors

    linked = set()
    for row, origin in zip(lang.menu, lang.menu_origins):
        for target in row:
            if menu_button(lang, target) is None:
                problems.append(Problem(origin, f"menu target '{target}' leads nowhere (topics: {', '.join(sorted(lang.topics))})"))
            linked.add(target)
    for topic in lang.topics.values():
        if f"topic:{topic.id}" not in linked:
            problems.append(Problem(topic.where, f"topic '{topic.id}' is not in menu.yaml, so no one can reach it"))

    for flow in SCREEN_FLOWS:
        try:
            for screen in getattr(flow, "screens", lambda _lang: ())(lang):
                problems += _check_screen(screen, fallback_origin=str(lang.folder))
        except KeyError as error:
            problems.append(Problem(f"{lang.folder / 'ui'}:1", f"{flow.__name__} needs the text {error.args[0]!r}, which no ui/*.yaml file defines"))

    dated = [(topic.where, topic.id, topic.reviewed) for topic in lang.topics.values()]
    if lang.screening is not None:
        dated.append((lang.screening.where, "screening", lang.screening.reviewed))
    for where, name, reviewed in dated:
        if reviewed != date.min and today - reviewed > REVIEW_MAX_AGE:
            problems.append(Problem(where, f"{name} was last reviewed on {reviewed}, over 12 months ago: check it against its sources", warning=True))

    return problems + _check_crisis(lang)


def _check_crisis(lang: Language) -> list[Problem]:
    """Every example is caught, no not_example is, and typos can be read in this language."""
    crisis, problems = lang.crisis, []
    for example, origin in zip(crisis.examples, crisis.example_origins):
        if not crisis.is_crisis(example):
            problems.append(Problem(origin, f"crisis example not caught by any family: {example!r} (read as {crisis.detector.read(example)!r})"))
    for example, origin in zip(crisis.not_examples, crisis.not_example_origins):
        if family := crisis.detector.family(example):
            problems.append(Problem(origin, f"not_example caught by family '{family}': {example!r} (read as {crisis.detector.read(example)!r})"))
    if not crisis.detector.corrects_typos:
        problems.append(Problem(f"{lang.folder / 'crisis.yaml'}:1", f"no word list for language '{lang.code}': typos in key words will not be recognised", warning=True))
    return problems


def _medical_texts(lang: Language):
    """(origin, text) for every text that can carry a medical claim."""
    for topic in lang.topics.values():
        yield topic.intro_where or topic.where, topic.intro
        for page in topic.pages:
            yield page.where, page.text
    if lang.screening is not None:
        screening = lang.screening
        for text in (screening.intro, screening.result_flags, screening.result_none):
            yield screening.where, text
        for question in screening.questions:
            yield question.where, question.text
            yield question.where, question.why
    for key, text in lang.ui.items():
        yield lang.text_origins[key], text
    for plural in lang.plurals.values():  # plural texts: `ui` holds their `other` form
        for form, text in plural.forms.items():
            if form != "other":
                yield plural.origins[form], text


def _check_templates(lang: Language) -> list[Problem]:
    """Every text renders: placeholders known, braces balanced, Telegram HTML valid."""
    problems = []
    config_only = {name: lang.placeholders[name] for name in CONFIG_PLACEHOLDERS if name in lang.placeholders}
    for origin, text in _medical_texts(lang):
        is_ui = Path(origin.split(":")[0]).parent.name == "ui"
        try:
            rendered = text.format_map(_AnyValue(config_only) if is_ui else config_only)
        except KeyError as error:
            problems.append(Problem(origin, f"unknown placeholder {{{error.args[0]}}} (known: {', '.join(CONFIG_PLACEHOLDERS)}); write {{{{ and }}}} for a literal brace"))
            continue
        except (ValueError, IndexError) as error:
            problems.append(Problem(origin, f"bad placeholder ({error}); write {{{{ and }}}} for a literal brace"))
            continue
        key = next((key for key, where in lang.text_origins.items() if where == origin), "")
        limit = next((limit for prefix, limit in PLAIN_LIMITS.items() if key.startswith(prefix)), None)
        if limit is not None:
            if "<" in rendered:
                problems.append(Problem(origin, f"'{key}' is shown as plain text by Telegram: no HTML tags"))
            elif len(rendered) > limit:
                problems.append(Problem(origin, f"'{key}' is {len(rendered)} characters; Telegram allows {limit}"))
            continue
        _plain, error = parse_html(rendered)
        if error:
            problems.append(Problem(_line_of_offset(origin, rendered, error), f"invalid Telegram HTML: {error}"))
    return problems


def _check_screen(screen: Screen, fallback_origin: str) -> list[Problem]:
    origin = screen.origin or fallback_origin
    problems = []
    plain, error = parse_html(screen.text)
    if error:
        problems.append(Problem(origin, f"invalid Telegram HTML on a screen: {error}"))
    elif telegram_length(plain) > MAX_MESSAGE:
        problems.append(Problem(origin, f"a screen is {telegram_length(plain)} characters; Telegram allows {MAX_MESSAGE}: shorten it or split it with blank lines"))
    for row in screen.buttons:
        for button in row:
            if not button.label.strip():
                problems.append(Problem(origin, "a button has no label"))
            size = len(button.data.encode("utf-8"))
            if button.url is None and not 1 <= size <= MAX_CALLBACK_DATA:
                problems.append(Problem(origin, f"button '{button.label}' carries {size} bytes of data; Telegram allows 1-{MAX_CALLBACK_DATA}: use a shorter id"))
    return problems


def _check_claims(lang: Language) -> list[Problem]:
    problems = []
    for origin, text in _medical_texts(lang):
        path, _, line = origin.rpartition(":")
        for offset, rule, sentence in banned_claims(text, lang.rules):
            where = f"{path}:{int(line) + offset}" if line.isdigit() else origin
            problems.append(Problem(where, f"banned claim ({rule.name}): {rule.message} — in: \"{_short(sentence)}\""))
    return problems


def _check_code_keys(content: Content) -> list[Problem]:
    """Every ui text key the code names literally exists in every language."""
    problems = []
    for folder in CODE_FOLDERS:
        for path in sorted(Path(folder).glob("*.py")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                for key in TEXT_KEY_IN_CODE.findall(line):
                    for lang in content.languages.values():
                        if key not in lang.ui:
                            problems.append(Problem(f"{path}:{number}", f"uses text '{key}', missing from {lang.folder / 'ui'}/*.yaml"))
    return problems


def _line_of_offset(origin: str, text: str, error: str) -> str:
    """Point an HTML error's "byte offset N" at its line inside a multi-line text."""
    path, _, line = origin.rpartition(":")
    if not line.isdigit():
        return origin
    if match := re.search(r"byte offset (\d+)", error):
        before = text.encode("utf-8")[: int(match.group(1))].decode("utf-8", errors="ignore")
    elif match := re.search(r'start tag "([\w-]+)"', error):
        # An unclosed tag: point at the last place it was opened.
        before = text[: max(text.rfind(f"<{match.group(1)}>"), text.rfind(f"<{match.group(1)} "), 0)]
    else:
        return origin
    return f"{path}:{int(line) + before.count(chr(10))}"


def _short(sentence: str, width: int = 90) -> str:
    return sentence if len(sentence) <= width else sentence[: width - 1] + "…"


def main() -> int:
    problems = run_checks(dict(os.environ))
    for problem in problems:
        print(problem)
    errors = sum(1 for problem in problems if not problem.warning)
    warnings = len(problems) - errors
    if errors:
        print(f"check failed: {errors} error(s), {warnings} warning(s)", file=sys.stderr)
        return 1
    print(f"check passed ({warnings} warning(s))", file=sys.stderr)
    return 0
