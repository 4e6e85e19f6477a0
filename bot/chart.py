"""The history chart: pain over time with its 7-day average, as a PNG.

matplotlib with the Agg backend (no display); rendering takes tens of milliseconds, so the
caller runs it in a thread to keep the bot answering others meanwhile.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402 - the backend must be chosen first
from babel.dates import format_skeleton  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from bot.painlog import Score, rolling_average  # noqa: E402


def render_pain_chart(scores: list[Score], zone: ZoneInfo, labels: dict[str, str], locale: str = "en") -> bytes:
    """PNG bytes. `labels` (from content): title, score, average, axis; the days on the
    time axis are written in `locale` (Babel's month names: "Nov 21", "21 nov")."""
    ordered = sorted(scores, key=lambda score: score.at)
    times = [_naive_local(score.at, zone) for score in ordered]
    averages = rolling_average(ordered)

    figure = Figure(figsize=(8, 4.5), dpi=100)
    axes = figure.add_subplot()
    axes.plot(times, [score.pain for score in ordered], "o", color="#7a9cc6", markersize=4, label=labels["score"])
    axes.plot([_naive_local(at, zone) for at, _ in averages], [value for _, value in averages],
              "-", color="#1f4e79", linewidth=2.2, label=labels["average"])
    # At least a week wide: with few check-ins, matplotlib would otherwise span years.
    last = max(times)
    axes.set_xlim(min(min(times), last - timedelta(days=7)) - timedelta(hours=12), last + timedelta(hours=12))
    axes.set_ylim(-0.5, 10.5)
    axes.set_yticks(range(0, 11))
    axes.set_ylabel(labels["axis"])
    axes.set_title(labels["title"])
    axes.grid(True, alpha=0.3)
    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(day_formatter(locale))
    axes.legend(loc="upper left", fontsize="small")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def day_formatter(locale: str) -> FuncFormatter:
    """Tick labels naming the day in the patient's language, from CLDR (not strftime,
    which follows the server's locale)."""
    return FuncFormatter(lambda value, _position: format_skeleton("MMMd", mdates.num2date(value).replace(tzinfo=None), locale=locale.replace("-", "_")))


def _naive_local(moment: datetime, zone: ZoneInfo) -> datetime:
    # matplotlib plots naive datetimes as given: the patient's own clock time.
    return moment.astimezone(zone).replace(tzinfo=None)
