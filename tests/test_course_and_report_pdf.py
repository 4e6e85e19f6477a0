"""Pure parts of issue 12: the change since the first session, the PEG score, typed dates,
the chart's date labels, and the PDF's text (read back with pypdf)."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from bot.chart import date_ticks
from bot.painlog import Score, course_change, parse_day, peg_score, weekly_summaries
from bot.report import ReportCheckin, ReportData, ReportPeg, render_report
from flows.sessions import month_names

ZONE = ZoneInfo("America/Los_Angeles")
TODAY = date(2026, 12, 1)
NOW = datetime(2026, 12, 1, 20, 0, tzinfo=ZONE).astimezone(timezone.utc)


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZONE).astimezone(timezone.utc)


def daily(first: date, pains: list[int]) -> list[Score]:
    return [Score(at(first + timedelta(days=index)), pain) for index, pain in enumerate(pains)]


# -- the change since the first session -----------------------------------------------------


def test_course_change_compares_the_week_before_the_first_session_with_the_last_week() -> None:
    first_session = TODAY - timedelta(days=20)
    # 14 days before the session at 9 (only the last 7 count), then 6s, then the last 7 days at 6.
    scores = daily(first_session - timedelta(days=14), [2] * 7 + [9, 8, 9, 8, 9, 8, 9]) + daily(first_session, [5] * 21)
    change = course_change(scores, first_session, ZONE, NOW)
    assert change is not None
    assert change.before == pytest.approx(60 / 7) and change.before_count == 7
    assert change.last == 5 and change.last_count == 7
    assert change.points == pytest.approx(5 - 60 / 7)
    assert change.percent == pytest.approx(100 * (5 - 60 / 7) / (60 / 7))  # about -41.7%


def test_no_course_change_without_a_session_or_while_the_weeks_overlap() -> None:
    scores = daily(TODAY - timedelta(days=30), [6] * 31)
    assert course_change(scores, None, ZONE, NOW) is None
    # The first session 3 days ago: its week before and the last week overlap.
    assert course_change(scores, TODAY - timedelta(days=3), ZONE, NOW) is None
    # No check-in in the week before the first session.
    assert course_change(scores, TODAY - timedelta(days=30), ZONE, NOW) is None


def test_a_rise_from_zero_has_points_but_no_per_cent() -> None:
    first_session = TODAY - timedelta(days=10)
    scores = daily(first_session - timedelta(days=7), [0] * 7) + daily(first_session, [3] * 11)
    change = course_change(scores, first_session, ZONE, NOW)
    assert change.points == 3 and change.percent is None


def test_peg_score_is_the_mean_of_its_three_items() -> None:
    assert peg_score(6, 5, 7) == 6
    assert peg_score(10, 0, 1) == pytest.approx(11 / 3)


def test_weekly_summaries_end_on_the_last_day() -> None:
    days = [(TODAY - timedelta(days=offset), 4 if offset < 7 else 8, 2 if offset < 7 else None) for offset in range(10)]
    weeks = weekly_summaries(days, TODAY - timedelta(days=9), TODAY)
    assert [(week.start, week.end, week.checkins) for week in weeks] == [
        (TODAY - timedelta(days=9), TODAY - timedelta(days=7), 3),
        (TODAY - timedelta(days=6), TODAY, 7),
    ]
    assert weeks[0].pain == 8 and weeks[0].interference is None
    assert weeks[1].pain == 4 and weeks[1].interference == 2


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2026-11-30", date(2026, 11, 30)),
        ("30 Nov", date(2026, 11, 30)),
        ("Nov 30", date(2026, 11, 30)),
        ("30 november", date(2026, 11, 30)),
        ("3 Sept", date(2026, 9, 3)),
        ("25 Dec", date(2025, 12, 25)),   # a day later in the year than today: last year's
        ("2 Dec", date(2025, 12, 2)),
        ("1 Dec", date(2026, 12, 1)),
        ("2026-12-02", None),             # the future
        ("2024-11-30", None),             # over a year ago
        ("31 Feb", None),
        ("next tuesday", None),
        ("30", None),
    ],
)
def test_typed_session_dates(typed: str, expected: date | None) -> None:
    assert parse_day(typed, TODAY, month_names("en")) == expected


@pytest.mark.parametrize("days", [1, 2, 7, 14, 30, 31, 90, 120, 121, 365, 730])
def test_at_most_five_date_labels_and_the_last_day_is_one(days: int) -> None:
    first = TODAY - timedelta(days=days - 1)
    ticks = date_ticks(first, TODAY)
    assert 1 <= len(ticks) <= 5
    assert all(first <= tick <= TODAY for tick in ticks)
    assert ticks == sorted(set(ticks))
    if days <= 120:
        assert ticks[-1] == TODAY


# -- the PDF --------------------------------------------------------------------------------


def pdf_text(data: bytes) -> str:
    """The text of every page, with line breaks and runs of spaces as single spaces (the
    PDF wraps lines where the page ends, not where a phrase does)."""
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


@pytest.fixture(scope="module")
def language():
    from bot.check import placeholders_for
    from bot.config import load_settings
    from bot.content import load_content

    settings = load_settings({"BOT_CONFIG": "config.example.yaml"}, require_token=False)
    content, _problems = load_content(settings.content_dir, placeholders_for(settings))
    return content.language("en")


def make_pdf(language, include_notes: bool) -> tuple[bytes, ReportData]:
    from bot.chart import chart_labels
    from flows.report import pdf_texts

    first_session = TODAY - timedelta(days=13)
    checkins = [
        ReportCheckin(at(TODAY - timedelta(days=offset)), 8 if offset > 13 else 5, 6 if offset > 13 else 3,
                      sleep=1 + offset % 3, mood=1 + offset % 3, note=f"secret note {offset}" if offset % 5 == 0 else None)
        for offset in range(29, -1, -1)
    ]
    scores = [Score(checkin.at, checkin.pain) for checkin in checkins]
    data = ReportData(
        first_name="Ann", first=TODAY - timedelta(days=29), last=TODAY, zone=ZONE, checkins=checkins,
        sessions=[(first_session + timedelta(days=offset), "tms") for offset in range(0, 10)],
        pegs=[ReportPeg(at(TODAY - timedelta(days=2)), 6, 5, 7)],
        change=course_change(scores, first_session, ZONE, NOW), include_notes=include_notes,
    )
    return render_report(data, pdf_texts(language), chart_labels(language, 30)), data


def test_the_pdf_has_the_dates_averages_and_change(language) -> None:
    pdf, data = make_pdf(language, include_notes=False)
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 2
    assert reader.pages[0].mediabox.width == pytest.approx(595.4, abs=1)  # A4
    text = pdf_text(pdf)
    assert "Pain report" in text and "Ann" in text
    assert "2 Nov 2026 to 1 Dec 2026 (30 days)" in text  # with its year: read long after the visit
    # The last week: every day 5, interference 3.
    assert "Wed 25 Nov to Tue 1 Dec" in text
    assert data.change.before == 8 and data.change.last == 5
    assert "Average pain in the 7 days before it: 8.0" in text
    assert "In the last 7 days: 5.0" in text
    assert "Change: -3.0 points (-38%)" in text
    assert "IMMPACT" in text
    assert "PEG 6.0 (pain 6, enjoyment 5, activity 7)" in text
    assert "TMS sessions: 10." in text
    assert "secret note" not in text and "The patient's notes" not in text


def test_notes_are_in_the_pdf_only_when_chosen(language) -> None:
    without, _ = make_pdf(language, include_notes=False)
    with_notes, _ = make_pdf(language, include_notes=True)
    assert "secret note" not in pdf_text(without) and "The patient's notes" not in pdf_text(without)
    text = pdf_text(with_notes)
    assert "The patient's notes" in text
    assert "Tue 1 Dec: secret note 0" in text and "secret note 25" in text


@pytest.mark.parametrize("code", ["en", "es"])
def test_every_heading_and_line_of_the_pdf_fits_the_page_width(code) -> None:
    """Spanish runs longer than English: a heading wrapped by a guessed character width once
    ran off the page. Every report text, bold or not, is wrapped to what the font measures."""
    from bot.check import placeholders_for
    from bot.config import load_settings
    from bot.content import load_content
    from bot.report import A4, MARGIN, text_width_points, wrap_to_width
    from flows.report import pdf_texts

    settings = load_settings({"BOT_CONFIG": "config.example.yaml"}, require_token=False)
    content, _problems = load_content(settings.content_dir, placeholders_for(settings))
    width = (A4[0] - 2 * MARGIN) * 72
    for key, text in pdf_texts(content.language(code)).items():
        for bold, size in ((True, 12.5), (False, 10.5)):
            lines = wrap_to_width(text.replace("{", "").replace("}", ""), width, size, bold)
            assert lines, key
            assert all(text_width_points(line, size, bold) <= width for line in lines if " " in line), (key, lines)
