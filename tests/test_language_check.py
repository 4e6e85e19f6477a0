"""`python -m bot check` refuses a language with gaps, naming the translation's file:line.

Each test breaks one thing in a tmp copy of English plus the Spanish sample
(tests/spanish_sample.py) and looks for the one error that names it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.check import run_checks
from tests.spanish_sample import REPO, make_content


@pytest.fixture
def content(tmp_path: Path) -> Path:
    return make_content(tmp_path / "content")


def errors(content_dir: Path) -> list[str]:
    env = {"BOT_CONFIG": str(REPO / "config.example.yaml")}
    return [str(problem) for problem in run_checks(env, content_dir) if not problem.warning]


def line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def page_text_line(path: Path, page_id: str) -> int:
    """The line where a page's `text: |` block starts."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = line_of(path, f"  - id: {page_id}")
    return next(number for number in range(start, len(lines) + 1) if lines[number - 1].strip() == "text: |") + 1


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not in {path} once"
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_the_sample_language_passes(content: Path) -> None:
    assert errors(content) == []


def test_a_missing_page(content: Path) -> None:
    topic = content / "es" / "topics" / "tms.yaml"
    text = topic.read_text(encoding="utf-8")
    start, end = text.index("  - id: size"), text.index("  - id: fda")
    topic.write_text(text[:start] + text[end:], encoding="utf-8")
    english = content / "en" / "topics" / "tms.yaml"
    assert errors(content) == [
        f"{topic}:1: topic 'tms' is missing page 'size' (the default language has it at {english}:{page_text_line(english, 'size')})"
    ]


def test_a_missing_topic(content: Path) -> None:
    (content / "es" / "topics" / "ketamine.yaml").unlink()
    found = errors(content)
    assert f"{content / 'es' / 'topics' / 'ketamine.yaml'}:1: missing topic 'ketamine'" in found[0]


def test_a_dropped_number(content: Path) -> None:
    topic = content / "es" / "topics" / "tms.yaml"
    replace(topic, "looked at 193 people", "looked at many people")
    assert errors(content) == [f"{topic}:{page_text_line(topic, 'size')}: page 'tms.size' lacks the number 193 of the default language's text"]


def test_a_dropped_named_study(content: Path) -> None:
    topic = content / "es" / "topics" / "tms.yaml"
    replace(topic, "(Thomas and colleagues, 2025)", "(un equipo francés)")
    assert errors(content) == [f"{topic}:{page_text_line(topic, 'size')}: page 'tms.size' lacks the number 2025, the study Thomas (2025) of the default language's text"]


def test_a_number_written_the_spanish_way_is_the_same_number(content: Path) -> None:
    topic = content / "es" / "topics" / "tms.yaml"
    replace(topic, "looked at 193 people", "estudió a 193 personas")
    english = content / "en" / "topics" / "tms.yaml"
    replace(english, "looked at 193 people", "looked at 1,193 people")
    replace(topic, "estudió a 193 personas", "estudió a 1.193 personas")
    assert errors(content) == []


def test_a_missing_key(content: Path) -> None:
    common = content / "es" / "ui" / "common.yaml"
    replace(common, '  contact: "📞 Contact the clinic"\n', "")
    english_line = line_of(content / "en" / "ui" / "common.yaml", '  contact: "📞 Contact the clinic"')
    found = errors(content)
    assert f"{common}:1: missing text 'menu.contact' (the default language has it at {content / 'en' / 'ui' / 'common.yaml'}:{english_line})" in found


def test_an_extra_key(content: Path) -> None:
    common = content / "es" / "ui" / "common.yaml"
    replace(common, '  contact: "📞 Contact the clinic"\n', '  contact: "📞 Contact the clinic"\n  contacto: "📞 Llamar"\n')
    line = line_of(common, "contacto:")
    assert errors(content) == [f"{common}:{line}: extra text 'menu.contacto': the default language en has no such key (a typo, or a key that was renamed?)"]


def test_a_placeholder_lost_in_translation(content: Path) -> None:
    common = content / "es" / "ui" / "common.yaml"
    replace(common, "  ¡Hola, {first_name}! Soy", "  ¡Hola! Soy")
    line = line_of(common, "welcome: |") + 1
    assert errors(content) == [f"{common}:{line}: text 'welcome' lacks {{first_name}} (the default language uses {{clinic_name}}, {{first_name}})"]


def test_an_untranslated_crisis_example(content: Path) -> None:
    crisis = content / "es" / "crisis.yaml"
    replace(crisis, '  - "quiero morir"\n', '  - "quiero morir"\n  - "I want to die"\n')
    replace(crisis, "      - '\\bsuicid'\n", "      - '\\bsuicid'\n      - 'want to die'\n")
    line = line_of(crisis, '"I want to die"')
    assert errors(content) == [f"{crisis}:{line}: crisis example 'I want to die' is the default language's, untranslated: write how Spanish speakers say it"]


def test_a_crisis_example_the_spanish_patterns_miss(content: Path) -> None:
    crisis = content / "es" / "crisis.yaml"
    replace(crisis, '  - "quiero morir"\n', '  - "quiero morir"\n  - "ya no aguanto más, me quiero ir para siempre"\n')
    found = errors(content)
    assert any("crisis example not caught by any family: 'ya no aguanto más, me quiero ir para siempre'" in error and f"{crisis}:" in error for error in found)


def test_a_plural_text_without_its_one_form(content: Path) -> None:
    checkin = content / "es" / "ui" / "checkin.yaml"
    replace(checkin, '    one: "Su promedio de los últimos 7 días: {average}/10 ({count} registro)."\n', "")
    line = line_of(checkin, "week_average:") + 1
    assert errors(content) == [f"{checkin}:{line}: plural text 'checkin.week_average' needs a 'one' form in Spanish"]


def test_a_plural_form_the_language_does_not_have(content: Path) -> None:
    checkin = content / "en" / "ui" / "checkin.yaml"
    replace(checkin, '    one: "Your average over the last 7 days: {average}/10 ({count} check-in)."\n',
            '    one: "Your average over the last 7 days: {average}/10 ({count} check-in)."\n    few: "A few check-ins."\n')
    line = line_of(checkin, "few:")
    assert f"{checkin}:{line}: plural text 'checkin.week_average': English has no 'few' form (its forms: one, other)" in errors(content)


def test_a_menu_row_that_differs(content: Path) -> None:
    menu = content / "es" / "menu.yaml"
    text = menu.read_text(encoding="utf-8")
    menu.write_text(text.replace("topic:ketamine", "contact", 1), encoding="utf-8")
    assert any(error.startswith(f"{menu}:") and "menu row" in error for error in errors(content))


def test_screening_questions_in_another_order(content: Path) -> None:
    screening = content / "es" / "screening.yaml"
    text = screening.read_text(encoding="utf-8")
    ids = re.findall(r"^  - id: (\w+)$", text, flags=re.MULTILINE)
    first, second = ids[0], ids[1]
    text = text.replace(f"  - id: {first}\n", "  - id: SWAP\n").replace(f"  - id: {second}\n", f"  - id: {first}\n").replace("  - id: SWAP\n", f"  - id: {second}\n")
    screening.write_text(text, encoding="utf-8")
    assert any("answers travel by position" in error and error.startswith(f"{screening}:") for error in errors(content))


def test_a_bad_date_pattern(content: Path) -> None:
    language = content / "es" / "ui" / "language.yaml"
    replace(language, "date: \"d 'de' MMMM 'de' y\"", "date: \"d de MMMM\"")
    line = line_of(language, "  date:")
    assert any(error.startswith(f"{language}:{line}: 'format.date' is not a date pattern") for error in errors(content))


def test_every_form_of_a_plural_text_is_checked(content: Path) -> None:
    checkin = content / "es" / "ui" / "checkin.yaml"
    replace(checkin, '({count} registro)."', '({count} <b>registro)."')
    line = line_of(checkin, "registro).")
    found = errors(content)
    assert any(error.startswith(f"{checkin}:{line}: invalid Telegram HTML") for error in found), found


def test_a_page_left_in_english(content: Path) -> None:
    topic = content / "es" / "topics" / "tms.yaml"
    english = (content / "en" / "topics" / "tms.yaml").read_text(encoding="utf-8")
    start, end = english.index("  - id: size"), english.index("  - id: fda")
    text = topic.read_text(encoding="utf-8")
    ours_start, ours_end = text.index("  - id: size"), text.index("  - id: fda")
    topic.write_text(text[:ours_start] + english[start:end] + text[ours_end:], encoding="utf-8")
    assert errors(content) == [f"{topic}:{page_text_line(topic, 'size')}: page 'tms.size' is the default language's text, untranslated"]


def test_the_language_named_in_itself(content: Path) -> None:
    language = content / "es" / "ui" / "language.yaml"
    replace(language, 'name: "Español"', 'name: "English"')
    line = line_of(language, "name:")
    assert errors(content) == [f"{language}:{line}: 'language.name' is still 'English': name the language in itself (\"Español\"), so its speakers find it in /language"]


def test_a_count_text_translated_without_plural_forms(content: Path) -> None:
    checkin = content / "es" / "ui" / "checkin.yaml"
    replace(checkin, '''  week_average:
    one: "Su promedio de los últimos 7 días: {average}/10 ({count} registro)."
    other: "Su promedio de los últimos 7 días: {average}/10 ({count} registros)."''', '''  week_average: "Su promedio de los últimos 7 días: {average}/10 ({count} registros)."''')
    line = line_of(checkin, "week_average:")
    assert errors(content) == [f"{checkin}:{line}: text 'checkin.week_average' has a count ({{count}}): write it as a plural text with one: / other: forms, as the default language does"]
