"""`python -m bot check`: passes on the shipped content, fails with file:line on bad content."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from bot.check import run_checks

REPO = Path(__file__).resolve().parent.parent


def check_env() -> dict[str, str]:
    return {"BOT_CONFIG": str(REPO / "config.example.yaml")}


@pytest.fixture
def content(tmp_path: Path) -> Path:
    """A private copy of the shipped content to break."""
    copy = tmp_path / "content"
    shutil.copytree(REPO / "content", copy)
    return copy


def errors(content_dir: Path, today: date | None = None) -> list[str]:
    return [str(problem) for problem in run_checks(check_env(), content_dir, today) if not problem.warning]


def line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def insert_after(path: Path, needle: str, new_line: str) -> int:
    """Insert a line after the first line containing `needle`; return its line number."""
    lines = path.read_text(encoding="utf-8").splitlines()
    number = line_of(path, needle)
    indent = re.match(r"\s*", lines[number]).group()
    lines.insert(number, indent + new_line)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return number + 1


def test_shipped_content_passes_from_the_command_line() -> None:
    env = {**os.environ, **check_env()}
    result = subprocess.run([sys.executable, "-m", "bot", "check"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "check passed" in result.stderr


def newest_review_date() -> date:
    days = re.findall(r"^reviewed:\s*(\d{4}-\d{2}-\d{2})", "\n".join(
        path.read_text(encoding="utf-8") for path in (REPO / "content").rglob("*.yaml")), flags=re.M)
    return max(date.fromisoformat(day) for day in days)


def test_shipped_content_has_no_problem_at_all() -> None:
    # On the day of its last review, not the wall clock: a year later the review warning is
    # right to appear (test_an_old_review_date_is_a_warning_not_an_error), and this test must not
    # turn red with the calendar.
    assert [str(problem) for problem in run_checks(check_env(), today=newest_review_date())] == []


def test_a_banned_claim_fails_with_file_and_line_from_the_command_line(tmp_path: Path) -> None:
    # A copy of the program with its own content, run as a user would run it.
    for folder in ("bot", "flows", "content"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    page = tmp_path / "content" / "en" / "topics" / "tms.yaml"
    line = insert_after(page, "<b>How TMS works</b>", "TMS cures chronic pain for good.")
    env = {**os.environ, **check_env()}
    result = subprocess.run([sys.executable, "-m", "bot", "check"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert f"content/en/topics/tms.yaml:{line}: banned claim (cure)" in result.stdout


@pytest.mark.parametrize(
    ("claim", "rule"),
    [
        ("There are no side effects.", "no side effects"),
        ("TMS has a high success rate.", "success rate"),
        ("Results are guaranteed.", "guarantee"),
        ("TMS is FDA-cleared for chronic pain.", "FDA chronic pain"),
        ("Ketamine is FDA approved to treat neuropathic pain.", "FDA chronic pain"),
        ("It is completely safe.", "completely safe"),
        ("Studies show it works.", "unsourced study"),
        ("Published in [Journal Name] in [Year].", "placeholder citation"),
        ("It gives permanent relief.", "lasting relief"),
        ("TMS devices are FDA approved for depression.", "approved device"),
        ("Insurance will cover it.", "insurance covers it"),
        ("You will need 30 sessions.", "fixed number of sessions"),
        ("Ketamine is not addictive.", "not addictive"),
        ("The effects wear off as soon as the infusion stops.", "wears off at once"),
        ("You have neuropathic pain.", "diagnosis"),
        ("It is safe and effective.", "completely safe"),
        ("Spravato is approved for pain.", "approved for pain"),
        ("This device is cleared for chronic pain.", "approved for pain"),
        ("Ketamine is an anaesthetic.", "UK spelling"),
        ("Tell us about a brain tumour.", "UK spelling"),
    ],
)
def test_each_banned_claim_is_caught(content: Path, claim: str, rule: str) -> None:
    page = content / "en" / "topics" / "ketamine.yaml"
    needle = page.read_text(encoding="utf-8").split("text: |\n", 1)[1].splitlines()[0].strip()
    line = insert_after(page, needle, claim)
    assert any(f"ketamine.yaml:{line}: banned claim ({rule})" in error for error in errors(content)), errors(content)


@pytest.mark.parametrize(
    "sentence",
    [
        "TMS is not a cure for chronic pain.",
        "There is no guarantee that it will help.",
        "No TMS device is FDA-cleared for chronic pain.",
        "Esketamine is not approved for pain.",
        "In the French study, 42% of patients had more than 30% relief; the study's success rate is not a promise.",
    ],
)
def test_careful_wording_passes(content: Path, sentence: str) -> None:
    page = content / "en" / "topics" / "ketamine.yaml"
    needle = page.read_text(encoding="utf-8").split("text: |\n", 1)[1].splitlines()[0].strip()
    insert_after(page, needle, sentence)
    # The English rules alone: a translation would rightly lack the new sentence's numbers.
    shutil.rmtree(content / "es", ignore_errors=True)
    assert errors(content) == []


def test_a_broken_menu_link_is_named(content: Path) -> None:
    menu = content / "en" / "menu.yaml"
    menu.write_text(menu.read_text(encoding="utf-8").replace("[topic:ketamine]", "[topic:ketamin]"), encoding="utf-8")
    # Without a translation, whose parity error (its menu now differs) stops the deeper checks.
    shutil.rmtree(content / "es", ignore_errors=True)
    line = line_of(menu, "topic:ketamin]")
    found = errors(content)
    assert any(f"menu.yaml:{line}: menu target 'topic:ketamin' leads nowhere" in error for error in found), found
    # ...and the topic no link leads to any more is an orphan.
    assert any("topic 'ketamine' is not in menu.yaml" in error for error in found), found


def test_an_over_long_page_is_named(content: Path) -> None:
    page = content / "en" / "topics" / "expect.yaml"
    line = insert_after(page, "text: |", "A" * 4200)
    found = errors(content)
    assert any(f"expect.yaml:{line}:" in error and "Telegram allows 4096" in error for error in found), found


def test_bad_html_is_named_with_its_line(content: Path) -> None:
    page = content / "en" / "topics" / "contraindications.yaml"
    first = page.read_text(encoding="utf-8").split("text: |\n", 1)[1].splitlines()[0].strip()
    line = insert_after(page, first, "Pain is <worse> at night & better by day.")
    found = errors(content)
    assert any(f"contraindications.yaml:{line}: invalid Telegram HTML" in error for error in found), found


def test_a_missing_source_is_named(content: Path) -> None:
    page = content / "en" / "topics" / "tms.yaml"
    page.write_text(page.read_text(encoding="utf-8").replace("sources: [S1, S2, S40]", "sources: [S1, S99]", 1), encoding="utf-8")
    line = line_of(page, "sources: [S1, S99]")
    assert f"{page}:{line}: page 'how' cites S99, which is not in this topic's sources" in errors(content)


def test_an_unknown_placeholder_is_named(content: Path) -> None:
    page = content / "en" / "topics" / "tms.yaml"
    page.write_text(page.read_text(encoding="utf-8").replace("TMS is noninvasive.", "Call {clinic_fax}.", 1), encoding="utf-8")
    assert any("tms.yaml:" in error and "unknown placeholder {clinic_fax}" in error for error in errors(content))


def test_malformed_yaml_is_named_with_its_line(content: Path) -> None:
    page = content / "en" / "screening.yaml"
    page.write_text(page.read_text(encoding="utf-8") + "\nbroken: [unclosed\n", encoding="utf-8")
    found = errors(content)
    assert any(re.search(r"screening\.yaml:\d+: invalid YAML", error) for error in found), found


def test_an_old_review_date_is_a_warning_not_an_error(content: Path) -> None:
    problems = run_checks(check_env(), content, today=date(2028, 1, 1))
    assert problems and all(problem.warning for problem in problems)
    assert any("over 12 months ago" in str(problem) for problem in problems)


def test_crisis_patterns_are_held_to_their_examples(content: Path) -> None:
    crisis = content / "en" / "crisis.yaml"
    text = crisis.read_text(encoding="utf-8")
    assert "      - '\\bsuicid'\n" in text
    crisis.write_text(text.replace("      - '\\bsuicid'\n", ""), encoding="utf-8")
    assert any("crisis example not caught" in error and "suicide" in error for error in errors(content))


def test_a_claim_in_a_topic_intro_points_at_its_line(content: Path) -> None:
    page = content / "en" / "topics" / "tms.yaml"
    text = page.read_text(encoding="utf-8")
    page.write_text(text.replace("  TMS stands for", "  Most people are cured by it.\n  TMS stands for", 1), encoding="utf-8")
    line = line_of(page, "Most people are cured")
    assert any(f"tms.yaml:{line}: banned claim (cure)" in error for error in errors(content)), errors(content)
