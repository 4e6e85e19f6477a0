"""The pain report for a clinic visit, as a PDF. Pure: data in, PDF bytes out, no I/O.

Two A4 pages drawn with matplotlib's PDF backend (the chart is the same drawing as in
/history, bot/chart.py). Page 1: who and when, the change since the first session, the
chart, the weekly averages. Page 2: sleep and mood, PEG checks, sessions, and the notes
only when the patient chose to include them. Black text on white, patterns that survive a
black-and-white printer, and text a program can extract (search, copy).
Every word comes from content (`report_pdf.*`), every date and number from Babel.
"""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import matplotlib

matplotlib.use("Agg")
from babel.dates import format_date  # noqa: E402
from babel.numbers import format_decimal, format_percent  # noqa: E402
from matplotlib import rc_context  # noqa: E402
from matplotlib.backends.backend_pdf import PdfPages  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.font_manager import FontProperties  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.textpath import TextToPath  # noqa: E402

from bot.chart import ChartLabels, draw_pain_chart  # noqa: E402
from bot.painlog import CourseChange, Score, peg_score, weekly_summaries  # noqa: E402

A4 = (8.27, 11.69)  # inches
MARGIN = 0.7
LINE = 1.45          # line height, as a multiple of the font size
BODY = 10.5          # points
_TEXT_TO_PATH = TextToPath()
NOTE_CHARACTERS = 300  # of each note on paper; /mydata has them whole


@dataclass(frozen=True)
class ReportCheckin:
    at: datetime        # aware
    pain: int
    interference: int | None = None
    sleep: int | None = None   # 1 poorly, 2 so-so, 3 well
    mood: int | None = None    # 1 low, 2 okay, 3 good
    note: str | None = None


@dataclass(frozen=True)
class ReportPeg:
    at: datetime
    pain: int
    enjoyment: int
    activity: int


@dataclass(frozen=True)
class ReportData:
    first_name: str
    first: date             # the first local day covered
    last: date              # the last (today, in the patient's zone)
    zone: ZoneInfo
    checkins: list[ReportCheckin]   # may start before `first`: the 7-day average needs them
    sessions: list[tuple[date, str]] = field(default_factory=list)  # (day, "tms" | "ketamine")
    pegs: list[ReportPeg] = field(default_factory=list)             # complete ones only
    change: CourseChange | None = None
    include_notes: bool = False
    locale: str = "en"


def number(value: float, locale: str) -> str:
    """A score or an average as the patient's language writes it: "5.3"."""
    return format_decimal(round(value, 1), "0.0", locale=locale)


def change_figures(change: CourseChange, locale: str, day_pattern: str) -> dict[str, object]:
    """The values the texts about the change since the first session are filled with."""
    percent = change.percent
    return {
        "first_session": format_date(change.first_session, day_pattern, locale=locale),
        "before": number(change.before, locale),
        "last": number(change.last, locale),
        "before_count": change.before_count,
        "last_count": change.last_count,
        "points": number(abs(change.points), locale),
        "signed_points": ("+" if change.points > 0 else "-" if change.points < 0 else "") + number(abs(change.points), locale),
        "percent": format_percent(abs(percent) / 100, "#,##0%", locale=locale) if percent is not None else "",
        "signed_percent": (
            ("+" if percent > 0 else "-" if percent < 0 else "") + format_percent(abs(percent) / 100, "#,##0%", locale=locale)
            if percent is not None else ""
        ),
    }


def text_width_points(text: str, size: float, bold: bool) -> float:
    """How wide `text` is set in the report's font, measured by matplotlib (not guessed:
    Spanish and bold headings run wider than an average character width says)."""
    properties = FontProperties(family="DejaVu Sans", size=size, weight="bold" if bold else "normal")
    width, _height, _descent = _TEXT_TO_PATH.get_text_width_height_descent(text, properties, ismath=False)
    return width


def wrap_to_width(text: str, width_points: float, size: float, bold: bool = False) -> list[str]:
    """Words in lines that each fit `width_points`; a word longer than a line stands alone."""
    lines: list[str] = []
    for word in text.split():
        if lines and text_width_points(f"{lines[-1]} {word}", size, bold) <= width_points:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


class _Page:
    """Text written down a page from the top, wrapped to the page's width."""

    def __init__(self, figure: Figure) -> None:
        self.figure = figure
        self.y = A4[1] - MARGIN  # inches from the bottom

    def write(self, text: str, size: float = BODY, bold: bool = False, gap_after: float = 0.06, indent: float = 0) -> None:
        width_points = (A4[0] - 2 * MARGIN - indent) * 72
        for line in wrap_to_width(text, width_points, size, bold) or [""]:
            self.y -= size * LINE / 72
            self.figure.text((MARGIN + indent) / A4[0], self.y / A4[1], line, fontsize=size,
                             fontweight="bold" if bold else "normal", va="baseline")
        self.y -= gap_after

    def heading(self, text: str) -> None:
        self.y -= 0.12
        self.write(text, size=12.5, bold=True, gap_after=0.04)

    def row(self, cells: list[str], columns: list[float], bold: bool = False, size: float = BODY) -> None:
        """One row of a table: each cell at its column (inches from the left margin)."""
        self.y -= size * LINE / 72
        for cell, x in zip(cells, columns):
            self.figure.text((MARGIN + x) / A4[0], self.y / A4[1], cell, fontsize=size,
                             fontweight="bold" if bold else "normal", va="baseline")

    def rule(self) -> None:
        self.y -= 0.06
        self.figure.add_artist(Line2D(
            [MARGIN / A4[0], 1 - MARGIN / A4[0]], [self.y / A4[1]] * 2, color="black", linewidth=0.6))
        self.y -= 0.04

    def room(self) -> float:
        return self.y - MARGIN


def render_report(data: ReportData, texts: dict[str, str], chart: ChartLabels) -> bytes:
    """The report as PDF bytes. `texts`: the `report_pdf.*` texts without the prefix."""
    locale = data.locale
    day = chart.day_pattern if data.first.year == data.last.year else chart.year_day_pattern

    def when(moment: date) -> str:
        return format_date(moment, day, locale=locale)

    def dated(moment: date) -> str:
        """With its year: the report's period and date, read long after the visit."""
        return format_date(moment, chart.year_day_pattern, locale=locale)

    def t(key: str, **values: object) -> str:
        return texts[key].format(**values)

    days = (data.last - data.first).days + 1
    local = [(checkin, checkin.at.astimezone(data.zone).date()) for checkin in data.checkins]
    in_period = [(checkin, local_day) for checkin, local_day in local if data.first <= local_day <= data.last]

    buffer = io.BytesIO()
    # matplotlib's default Type 3 fonts: the text still extracts (tests read it back with
    # pypdf), and the file is made in half the time of embedded TrueType (fonttype 42),
    # whose subsetting took 0.9 s of 1.3 s (see BENCHMARKS.md).
    with rc_context({"pdf.fonttype": 3, "font.family": "DejaVu Sans"}), PdfPages(
        buffer, metadata={"Title": texts["title"], "Creator": "pain-clinic-bot", "CreationDate": None}
    ) as pdf:
        pages = 2

        # -- page 1: who, when, the change, the chart, the weeks ---------------------------------
        first_page = Figure(figsize=A4)
        page = _Page(first_page)
        page.write(t("title"), size=20, bold=True, gap_after=0.02)
        page.write(t("for", first_name=data.first_name), size=14, gap_after=0.02)
        page.write(t("period", start=dated(data.first), end=dated(data.last), days=days), size=12, gap_after=0.02)
        page.write(t("made", date=dated(data.last)), size=9)
        page.rule()

        page.heading(t("change_heading"))
        if data.change is None:
            page.write(t("change_none"))
        else:
            figures = change_figures(data.change, locale, day)
            percent = figures["signed_percent"] or t("none")
            page.write(t("change", **{**figures, "points": figures["signed_points"], "percent": percent}))
            page.write(t("change_context"), size=9)

        chart_height = 3.8
        page.y -= 0.05
        axes = first_page.add_axes([
            (MARGIN + 0.55) / A4[0], (page.y - chart_height + 0.55) / A4[1],
            (A4[0] - 2 * MARGIN - 0.6) / A4[0], (chart_height - 1.35) / A4[1],
        ])
        scores = [Score(checkin.at, checkin.pain) for checkin in data.checkins]
        draw_pain_chart(axes, scores, data.zone, chart, first=data.first, last=data.last,
                        sessions=data.sessions, locale=locale, font_size=9)
        # The legend sits under the plot; leave it room.
        page.y -= chart_height + 0.05

        page.heading(t("weekly_heading"))
        columns = [0, 2.6, 3.6, 4.85]
        page.row([t("col_week"), t("col_checkins"), t("col_pain"), t("col_interference")], columns, bold=True)
        weeks = weekly_summaries(
            [(local_day, checkin.pain, checkin.interference) for checkin, local_day in in_period], data.first, data.last
        )
        for week in weeks:
            page.row([
                t("period", start=when(week.start), end=when(week.end), days=(week.end - week.start).days + 1)
                .split(" (")[0],
                str(week.checkins),
                number(week.pain, locale) if week.pain is not None else t("none"),
                number(week.interference, locale) if week.interference is not None else t("none"),
            ], columns)
        first_page.text(0.5, MARGIN / 2 / A4[1], t("page", page=1, pages=pages), ha="center", fontsize=8)
        pdf.savefig(first_page)

        # -- page 2: sleep and mood, PEG, sessions, notes ---------------------------------------
        second_page = Figure(figsize=A4)
        page = _Page(second_page)
        page.write(f"{t('title')} · {t('for', first_name=data.first_name)} · "
                   f"{t('period', start=dated(data.first), end=dated(data.last), days=days)}", size=9)
        page.rule()

        page.heading(t("sleep_mood_heading"))
        sleep = Counter(checkin.sleep for checkin, _ in in_period if checkin.sleep)
        mood = Counter(checkin.mood for checkin, _ in in_period if checkin.mood)
        page.write(t("sleep", poor=sleep[1], fair=sleep[2], good=sleep[3]))
        page.write(t("mood", low=mood[1], okay=mood[2], good=mood[3]))

        page.heading(t("peg_heading"))
        pegs = [peg for peg in data.pegs if data.first <= peg.at.astimezone(data.zone).date() <= data.last]
        if not pegs:
            page.write(t("peg_none"))
        for peg in pegs:
            page.write(t("peg_line", day=when(peg.at.astimezone(data.zone).date()),
                         score=number(peg_score(peg.pain, peg.enjoyment, peg.activity), locale),
                         pain=peg.pain, enjoyment=peg.enjoyment, activity=peg.activity))

        page.heading(t("sessions_heading"))
        sessions = sorted((session_day, kind) for session_day, kind in data.sessions if data.first <= session_day <= data.last)
        if not sessions:
            page.write(t("sessions_none"))
        else:
            kinds = Counter(kind for _, kind in sessions)
            page.write(t("sessions_line", tms=kinds["tms"], ketamine=kinds["ketamine"]))
            short = chart.short_day_pattern
            for kind in ("tms", "ketamine"):
                listed = [format_date(session_day, short, locale=locale) for session_day, session_kind in sessions if session_kind == kind]
                if listed:
                    page.write(t("sessions_days", kind=chart.tms if kind == "tms" else chart.ketamine, days=", ".join(listed)), size=9.5)

        if data.include_notes:
            page.heading(t("notes_heading"))
            notes = [(local_day, checkin.note) for checkin, local_day in in_period if checkin.note]
            if not notes:
                page.write(t("notes_none"))
            # Newest first: the days the clinic is most likely to ask about.
            for index, (note_day, note) in enumerate(reversed(notes)):
                text = " ".join(note.split())
                if len(text) > NOTE_CHARACTERS:
                    text = text[: NOTE_CHARACTERS - 1].rstrip() + "…"
                lines = len(wrap_to_width(f"{when(note_day)}: {text}", (A4[0] - 2 * MARGIN) * 72, 9.5))
                if page.room() < (lines + 2) * 9.5 * LINE / 72:
                    page.write(t("notes_more", count=len(notes) - index), size=9.5)
                    break
                page.write(f"{when(note_day)}: {text}", size=9.5)
        second_page.text(0.5, MARGIN / 2 / A4[1], t("page", page=2, pages=pages), ha="center", fontsize=8)
        pdf.savefig(second_page)
    return buffer.getvalue()


def report_period(today: date, days: int) -> tuple[date, date]:
    """The first and last local day of a report of `days` days ending today."""
    return today - timedelta(days=days - 1), today
