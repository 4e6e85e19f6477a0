"""The pain chart, drawn for a phone and for the printed report.

One drawing (`draw_pain_chart`) serves both: the PNG that /history sends and the chart on
the PDF of /report. Chosen for tired eyes on a small screen:

- a fixed period (7, 30 or 90 days, or whatever the report covers) ending today, named in
  the title, so the axis never jumps to a span matplotlib picks;
- few date labels, written in full ("Mon 1 Dec", Babel, in the patient's language), never
  rotated and never overlapping: at most five, one a day, a week or a month apart;
- each check-in a dot, joined by a thin line; the 7-day average a thick line to follow;
- treatment sessions as marks along the bottom of the plot, by shape as well as colour;
- Okabe-Ito colours (safe for colour-blind readers), and shapes and line widths that still
  tell things apart printed in black and white.

matplotlib with the Agg backend (no display). Drawing takes tens of milliseconds, so the
callers run it in a thread to keep the bot answering others meanwhile.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import matplotlib

matplotlib.use("Agg")
from babel.dates import format_date  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from bot.painlog import Score, rolling_average  # noqa: E402

# Okabe & Ito (2008), "Color Universal Design": distinguishable with any colour vision.
BLUE = "#0072B2"
VERMILLION = "#D55E00"
GREEN = "#009E73"
PURPLE = "#CC79A7"
GREY = "#555555"

SESSION_STYLE = {"tms": ("^", GREEN), "ketamine": ("D", PURPLE)}
SESSION_ROW = -1.0     # where session marks sit: below the 0 line, inside the plot
MAX_DATE_LABELS = 5


@dataclass(frozen=True)
class ChartLabels:
    """The chart's words, from content (history.chart_* in ui/history.yaml)."""

    title: str          # "Your pain: last {days} days" already filled in
    period: str         # "{start} – {end}" pattern with those two placeholders
    score: str          # legend: one check-in
    average: str        # legend: the 7-day average
    axis: str           # the y axis
    tms: str            # legend: a TMS session
    ketamine: str       # legend: a ketamine treatment
    empty: str          # no check-in in the period
    day_pattern: str    # Babel pattern of a day with its weekday, e.g. "EEE d MMM"
    short_day_pattern: str  # ...of a day on periods over 2 weeks, e.g. "d MMM"
    year_day_pattern: str   # ...of a day in a title spanning two years, e.g. "d MMM yyyy"
    month_pattern: str  # ...of a month label on periods over 4 months, e.g. "MMM yyyy"


def chart_labels(lang, days: int) -> ChartLabels:
    """The chart's words in a language (a bot.content.Language), for a period of `days`."""

    def label(name: str) -> str:
        return lang.label(f"history.chart_{name}")

    return ChartLabels(
        # The period's {start} and {end} are filled in when it is drawn.
        title=lang.label("history.chart_title", days=days), period=lang.ui["history.chart_period"], score=label("score"),
        average=label("average"), axis=label("axis"), tms=label("tms"), ketamine=label("ketamine"),
        empty=label("empty"), day_pattern=label("day_pattern"), short_day_pattern=label("short_day_pattern"),
        year_day_pattern=label("year_day_pattern"), month_pattern=label("month_pattern"),
    )


def date_ticks(first: date, last: date) -> list[date]:
    """At most five days to label, evenly spaced, the last day always among them.

    Up to 4 months: every day, 2 days, week, 2 or 3 weeks back from the last day. Longer:
    the first of every month, 2, 3 or 6 months apart.
    """
    span = (last - first).days + 1
    if span <= 120:
        step = next(step for step in (1, 2, 7, 14, 21, 28) if math.ceil(span / step) <= MAX_DATE_LABELS)
        ticks = []
        day = last
        while day >= first:
            ticks.append(day)
            day -= timedelta(days=step)
        return list(reversed(ticks))
    months = []
    day = date(first.year, first.month, 1)
    while day <= last:
        if day >= first:
            months.append(day)
        day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    step = next(step for step in (1, 2, 3, 6, 12) if math.ceil(len(months) / step) <= MAX_DATE_LABELS)
    # Counted back from the newest month, so the most recent months are labelled.
    return list(reversed(months[::-1][::step]))


def draw_pain_chart(
    axes: Axes,
    scores: list[Score],
    zone: ZoneInfo,
    labels: ChartLabels,
    *,
    first: date,
    last: date,
    sessions: Iterable[tuple[date, str]] = (),
    locale: str = "en",
    font_size: float = 14,
) -> None:
    """Draw pain from local day `first` to `last` (inclusive) on `axes`."""
    start = datetime.combine(first, time(0, 0))
    end = datetime.combine(last + timedelta(days=1), time(0, 0))
    ordered = sorted(scores, key=lambda score: score.at)
    shown = [score for score in ordered if start <= _local(score.at, zone) < end]
    times = [_local(score.at, zone) for score in shown]
    pains = [score.pain for score in shown]
    many = len(shown) > 60  # a season of daily check-ins: smaller dots, lighter line

    handles = []
    if shown:
        if len(shown) > 1:
            axes.plot(times, pains, "-", color=BLUE, linewidth=0.8 if many else 1.2, alpha=0.45, zorder=2)
        axes.plot(times, pains, "o", color=BLUE, markersize=3.5 if many else 7, zorder=3,
                  markeredgecolor="white", markeredgewidth=0.6 if many else 1)
        handles.append(Line2D([], [], color=BLUE, marker="o", linestyle="", markersize=8, label=labels.score))
        # The 7-day average of every check-in, including those just before the period.
        averages = [(at, value) for at, value in rolling_average(ordered) if start <= _local(at, zone) < end]
        if len(averages) > 1:
            axes.plot([_local(at, zone) for at, _ in averages], [value for _, value in averages],
                      "-", color=VERMILLION, linewidth=3.2, solid_capstyle="round", zorder=4)
            handles.append(Line2D([], [], color=VERMILLION, linewidth=3.2, label=labels.average))
        # The newest score written beside its dot: the number a patient looks for first.
        axes.annotate(str(pains[-1]), (times[-1], pains[-1]), xytext=(0, 9), textcoords="offset points",
                      ha="center", va="bottom", fontsize=font_size, fontweight="bold", color=BLUE, zorder=5,
                      bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="none", alpha=0.85))
    else:
        axes.text(0.5, 0.55, labels.empty, transform=axes.transAxes, ha="center", va="center",
                  fontsize=font_size, color=GREY, wrap=True)

    kinds_shown = []
    # Over six weeks a day is too narrow for a triangle: a TMS course of daily sessions
    # would pile up. A thin upright bar per session stays apart and reads as a course.
    dense = (last - first).days + 1 > 42
    for kind in ("tms", "ketamine"):
        days = [day for day, session_kind in sessions if session_kind == kind and first <= day <= last]
        if not days:
            continue
        marker, colour = SESSION_STYLE[kind]
        style = dict(marker=marker, color=colour, markersize=9, markeredgecolor="black", markeredgewidth=0.6)
        if dense:
            style = (dict(marker="|", color=colour, markersize=14, markeredgewidth=2.2) if kind == "tms"
                     else dict(style, markersize=7))
        axes.plot([datetime.combine(day, time(12, 0)) for day in days], [SESSION_ROW] * len(days),
                  linestyle="", zorder=3, clip_on=False, **style)
        kinds_shown.append(kind)
        handles.append(Line2D([], [], linestyle="", label=getattr(labels, kind), **style))

    axes.set_xlim(start, end)
    axes.set_ylim(SESSION_ROW - 0.7 if kinds_shown else -0.6, 10.8)
    axes.set_yticks(range(0, 11, 2))
    axes.set_ylabel(labels.axis, fontsize=font_size)
    axes.axhline(-0.0, color="#bbbbbb", linewidth=0.8, zorder=1)
    axes.grid(True, axis="y", color="#dddddd", linewidth=0.8)
    axes.grid(True, axis="x", color="#eeeeee", linewidth=0.8)
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.tick_params(labelsize=font_size * 0.9)

    ticks = date_ticks(first, last)
    long_period = (last - first).days + 1 > 120
    axes.set_xticks([datetime.combine(day, time(0 if long_period else 12, 0)) for day in ticks])
    if long_period:
        pattern = labels.month_pattern
    else:
        pattern = labels.day_pattern if (last - first).days < 14 else labels.short_day_pattern
    axes.set_xticklabels([format_date(day, pattern, locale=locale) for day in ticks])

    title_pattern = labels.day_pattern if first.year == last.year else labels.year_day_pattern
    period = labels.period.format(
        start=format_date(first, title_pattern, locale=locale),
        end=format_date(last, title_pattern, locale=locale),
    )
    axes.set_title(f"{labels.title}\n{period}", fontsize=font_size * 1.15, loc="left", pad=10)
    if handles:
        # Under the plot, never over the data.
        axes.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.11), ncol=2,
                    fontsize=font_size * 0.85, frameon=False, handlelength=1.6, columnspacing=1.2)


def render_pain_chart(
    scores: list[Score],
    zone: ZoneInfo,
    labels: ChartLabels,
    *,
    first: date,
    last: date,
    sessions: Iterable[tuple[date, str]] = (),
    locale: str = "en",
) -> bytes:
    """The chart as a PNG for a phone: 1080 pixels wide, a little taller than wide."""
    figure = Figure(figsize=(5.4, 5.6), dpi=200, layout="constrained")
    axes = figure.add_subplot()
    draw_pain_chart(axes, scores, zone, labels, first=first, last=last, sessions=sessions, locale=locale)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    # matplotlib plots naive datetimes as given: the patient's own clock time.
    return moment.astimezone(zone).replace(tzinfo=None)
