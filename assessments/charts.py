"""Charts as SVG with real text, shared by the dashboard and the PDF reports. No Django.

Text stays text (``svg.fonttype = none``), so screen readers, search and
``pdftotext`` can read titles, axes and legends. The two partners differ by
colour (Okabe-Ito blue and vermilion, safe for colour-blind readers), marker
shape and line style, never by colour alone.
"""

from __future__ import annotations

import contextlib
import io
import re
import textwrap
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from xml.sax.saxutils import escape

PARTNER_STYLES = (
    {"color": "#0072B2", "marker": "o", "linestyle": "-"},
    {"color": "#D55E00", "marker": "s", "linestyle": "--"},
    # A third line (the couple average beside both partners) in its own grey and dots.
    {"color": "#4D4D4D", "marker": "D", "linestyle": ":"},
)
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
BAND_SHADES = ("#f3e3e1", "#f6f0dc", "#e3efe6", "#e1ebf3", "#ece6f2")
FONT = "DejaVu Sans"
# rcParams are global; they are applied around each drawing, one drawing at a time.
_lock = threading.Lock()


@dataclass(frozen=True)
class Series:
    label: str
    points: Sequence[tuple[date, float]]
    # Index of points whose change from the previous point is reliable (|RCI| > 1.96).
    reliable: frozenset[int] = field(default_factory=frozenset)
    # Which of PARTNER_STYLES to draw with; by default the series' position.
    style: int | None = None


@dataclass(frozen=True)
class Band:
    low: float
    high: float
    label: str


_STYLE = {
    "svg.fonttype": "none",
    "font.family": FONT,
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": "attune",  # stable ids: the same data draws the same SVG
    "text.parse_math": False,  # names and titles are text, even with "$" in them
}


def _figure(width: float, height: float) -> tuple[Any, Any]:
    """A bare Figure with an SVG canvas: no pyplot, so no global state to guard.

    Nothing registers the figure anywhere, so there is nothing to close: it is
    freed with its last reference. (``fig.clear()`` would only rebuild empty
    axes, which cost as much as drawing the chart.)
    """
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height))
    FigureCanvasSVG(figure)
    return figure, figure.add_subplot()


@contextlib.contextmanager
def _style() -> Iterator[None]:
    import matplotlib

    with _lock, matplotlib.rc_context(_STYLE):  # type: ignore[arg-type]
        yield


def _svg(fig: Any, title: str) -> str:
    buffer = io.StringIO()
    # A fixed layout (set where the figure is made) rather than bbox_inches="tight",
    # which lays every figure out twice: the charts are a third of a report's own cost.
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    # Name the picture for assistive technology: aria-label for browsers, and a
    # <title> first inside, which WeasyPrint turns into the PDF figure's alt text.
    opening_end = svg.index(">") + 1
    svg = f"{svg[:opening_end]}<title>{escape(title)}</title>{svg[opening_end:]}"
    return re.sub(
        r"<svg ",
        f'<svg role="img" aria-label="{escape(title, {chr(34): "&quot;"})}" ',
        svg,
        count=1,
    )


def history_svg(
    *,
    title: str,
    series: Sequence[Series],
    y_range: tuple[float, float],
    y_label: str,
    x_label: str,
    bands: Sequence[Band] = (),
    reliable_label: str = "reliable change",
    width: float = 7.0,
    height: float = 3.4,
    numeric_axis: bool = True,
    months: Sequence[str] = MONTHS,
    higher_is_better: bool = True,
) -> str:
    """A line per partner over time, with band shading and reliable-change markers.

    Without ``numeric_axis`` the y axis has no numbers: points sit in the middle
    of their band and only the band names say where they are. ``months`` are the
    twelve month abbreviations of the reader's language, for the date axis.
    """
    marked = any(line.reliable and line.points for line in series)
    entries = [line.label for line in series if line.points] + ([reliable_label] if marked else [])
    legend = legend_layout(entries, width)
    # The legend's rows are added below the plot, so the plot keeps its size and no
    # entry is cut off however many lines or however long the names.
    bottom = LEGEND_GAP + legend.height + 0.15 if entries else 1.0
    height += max(0.0, bottom - 1.0)
    with _style():
        fig, ax = _figure(width, height)
        # Room on the right for band names and below for the legend (in inches, so
        # every size of chart keeps the same margins).
        fig.subplots_adjust(
            left=0.75 / width,
            right=1 - (1.15 if bands else 0.2) / width,
            top=1 - 0.4 / height,
            bottom=max(bottom, 1.0) / height,
        )
        for index, band in enumerate(bands):
            # Shades run from the unfavourable end (warm) to the favourable one (cool):
            # when higher is worse, the top band is the unfavourable one.
            shade = index if higher_is_better else len(bands) - 1 - index
            ax.axhspan(band.low, band.high, color=BAND_SHADES[shade % len(BAND_SHADES)], zorder=0)
            ax.text(
                1.01,
                (band.low + band.high) / 2,
                band.label,
                transform=ax.get_yaxis_transform(),
                va="center",
                ha="left",
                fontsize=8,
                color="#5b646b",
            )
        for index, line in enumerate(series):
            if not line.points:
                continue
            style = PARTNER_STYLES[
                (index if line.style is None else line.style) % len(PARTNER_STYLES)
            ]
            xs = [p[0] for p in line.points]
            ys = [p[1] for p in line.points]
            ax.plot(xs, ys, label=legend.wrap(line.label), linewidth=2, markersize=5, **style)
            for point in sorted(line.reliable):
                if 0 <= point < len(xs):
                    ax.plot(
                        [xs[point]],
                        [ys[point]],
                        marker="*",
                        markersize=13,
                        color=style["color"],
                        markeredgecolor="#1d2327",
                        linestyle="none",
                    )
        if marked:
            # One neutral legend entry explains the stars of both partners.
            ax.plot(
                [],
                [],
                marker="*",
                markersize=11,
                color="#ffffff",
                markeredgecolor="#1d2327",
                linestyle="none",
                label=legend.wrap(reliable_label),
            )
        low, high = y_range
        pad = (high - low) * 0.05
        ax.set_ylim(low - pad, high + pad)
        ax.set_title(title, loc="left", fontsize=12, fontweight="bold")
        ax.set_ylabel(y_label)
        if not numeric_axis:
            ax.set_yticks([])
        ax.set_xlabel(x_label)
        ax.grid(axis="y", color="#d9dee2", linewidth=0.6)
        dates = sorted({p[0] for line in series for p in line.points})
        if len(dates) == 1:
            # One date: centre it in a month-wide window instead of a multi-year axis.
            ax.set_xlim(dates[0] - timedelta(days=15), dates[0] + timedelta(days=15))
        ax.xaxis.set_major_locator(_date_locator())
        ax.xaxis.set_major_formatter(_date_formatter(months))
        if entries:
            _legend_below(ax, LEGEND_GAP, height, bottom=max(bottom, 1.0), ncols=legend.ncols)
        return _svg(fig, title)


def profile_svg(
    *,
    title: str,
    scales: Sequence[str],
    values: Sequence[Sequence[float | None]],
    names: Sequence[str],
    x_range: tuple[float, float],
    x_label: str,
    width: float = 7.0,
) -> str:
    """Horizontal bars: each scale's latest score, one bar per partner."""
    height = 1.3 + 0.21 * len(scales) * max(1, len(values))
    with _style():
        fig, ax = _figure(width, height)
        longest = max((len(s) for s in scales), default=10)
        fig.subplots_adjust(
            left=min(0.5, (0.3 + 0.075 * longest) / width),
            right=1 - 0.35 / width,
            top=1 - 0.4 / height,
            bottom=0.95 / height,
        )
        bar = 0.8 / max(1, len(values))
        positions = list(range(len(scales)))
        for index, (name, row) in enumerate(zip(names, values, strict=True)):
            style = PARTNER_STYLES[index % len(PARTNER_STYLES)]
            ys = [p + index * bar for p in positions]
            widths = [(v if v is not None else 0) - x_range[0] for v in row]
            ax.barh(
                ys,
                widths,
                height=bar * 0.9,
                left=x_range[0],
                label=name,
                color=style["color"],
                hatch=None if index == 0 else "//",
                edgecolor="white",
            )
            for y, v in zip(ys, row, strict=True):
                text = "–" if v is None else f"{v:.1f}"
                ax.text(
                    (v or x_range[0]) + 0.02 * (x_range[1] - x_range[0]),
                    y,
                    text,
                    va="center",
                    fontsize=8,
                )
        ax.set_yticks([p + bar * (len(values) - 1) / 2 for p in positions], labels=scales)
        ax.invert_yaxis()
        ax.set_xlim(*x_range)
        ax.set_xlabel(x_label)
        ax.set_title(title, loc="left", fontsize=12, fontweight="bold")
        _legend_below(ax, 0.5, height, bottom=0.95)
        return _svg(fig, title)


# Change classes, best first: Okabe-Ito colours, each with its own hatch so print in
# black and white (and colour-blind readers) can still tell them apart.
OUTCOME_STYLES = (
    {"color": "#009E73", "hatch": ""},
    {"color": "#56B4E9", "hatch": "//"},
    {"color": "#D9D9D9", "hatch": ""},
    {"color": "#D55E00", "hatch": "xx"},
)


def outcome_svg(
    *,
    title: str,
    rows: Sequence[tuple[str, Sequence[float]]],
    classes: Sequence[str],
    x_label: str,
    width: float = 7.0,
) -> str:
    """Horizontal stacked bars: per row (partners, couples) the share in each change class.

    Each row's values are shares from 0 to 1 in the order of ``classes``; the
    share is written on each segment wide enough to hold it.
    """
    height = 1.55 + 0.45 * len(rows)
    with _style():
        fig, ax = _figure(width, height)
        longest = max((len(label) for label, _ in rows), default=8)
        fig.subplots_adjust(
            left=min(0.4, (0.3 + 0.075 * longest) / width),
            right=1 - 0.3 / width,
            top=1 - 0.4 / height,
            bottom=1.1 / height,
        )
        positions = list(range(len(rows)))
        left = [0.0] * len(rows)
        for index, name in enumerate(classes):
            style = OUTCOME_STYLES[index % len(OUTCOME_STYLES)]
            widths = [values[index] for _, values in rows]
            ax.barh(
                positions,
                widths,
                left=left,
                height=0.6,
                label=name,
                color=style["color"],
                hatch=style["hatch"] or None,
                edgecolor="white",
            )
            for y, (start, share) in enumerate(zip(left, widths, strict=True)):
                if share >= 0.08:
                    ax.text(
                        start + share / 2, y, f"{share:.0%}", ha="center", va="center", fontsize=8
                    )
            left = [a + b for a, b in zip(left, widths, strict=True)]
        ax.set_yticks(positions, labels=[label for label, _ in rows])
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter(lambda x, pos: f"{x:.0%}")
        ax.set_xlabel(x_label)
        ax.set_title(title, loc="left", fontsize=12, fontweight="bold")
        ax.legend(
            loc="upper left",
            bbox_to_anchor=(0, -_below(0.55, height, 0.4, 1.1)),
            ncols=4,
            frameon=False,
        )
        return _svg(fig, title)


# Legend geometry in inches, for the default legend font: the gap under the axes (room
# for the date labels and axis title), one line of legend text, the marker and padding
# before a label, and an average character (generous, so long names still fit).
LEGEND_GAP = 0.55
LEGEND_LINE = 0.25
LEGEND_HANDLE = 0.65
LEGEND_CHAR = 0.085


@dataclass(frozen=True)
class LegendLayout:
    ncols: int
    max_chars: int
    height: float  # inches the legend needs

    def wrap(self, label: str) -> str:
        return textwrap.fill(label, self.max_chars) if len(label) > self.max_chars else label


def legend_layout(labels: Sequence[str], width: float) -> LegendLayout:
    """Columns, line length and height for a legend under a chart ``width`` inches wide:
    two columns when the longest label fits in half the width, else one; labels too
    long even for one column are wrapped."""
    if not labels:
        return LegendLayout(2, 80, 0.0)
    usable = width - 0.75 - 0.15
    longest = max(len(label) for label in labels)
    ncols = 2 if 2 * (LEGEND_HANDLE + LEGEND_CHAR * longest) <= usable else 1
    max_chars = max(12, int((usable / ncols - LEGEND_HANDLE) / LEGEND_CHAR))
    layout = LegendLayout(ncols, max_chars, 0.0)
    lines = max(layout.wrap(label).count("\n") + 1 for label in labels)
    rows = -(-len(labels) // ncols)
    return LegendLayout(ncols, max_chars, rows * lines * LEGEND_LINE)


def _legend_below(ax: Any, gap: float, height: float, bottom: float, ncols: int = 2) -> None:
    """The legend ``gap`` inches under the axes (top margin 0.4 in), in ``ncols`` columns."""
    ax.legend(
        loc="upper left",
        bbox_to_anchor=(0, -_below(gap, height, 0.4, bottom)),
        ncols=ncols,
        frameon=False,
    )


def _below(inches: float, height: float, top: float, bottom: float) -> float:
    """A distance below the axes, given in inches, as a fraction of the axes' height."""
    return inches / (height - top - bottom)


def _date_locator() -> Any:
    import matplotlib.dates as mdates

    return mdates.AutoDateLocator(minticks=3, maxticks=7)  # type: ignore[no-untyped-call]


def date_labels(days: Sequence[date], months: Sequence[str]) -> list[str]:
    """Tick labels for dates in order: day and month, or only the month when ticks
    are whole months apart; the year under the first tick and wherever it changes."""
    by_month = len(days) > 1 and all(day.day == 1 for day in days)
    labels = []
    for index, day in enumerate(days):
        label = months[day.month - 1] if by_month else f"{day.day} {months[day.month - 1]}"
        if index == 0 or day.year != days[index - 1].year:
            label = f"{label}\n{day.year}"
        labels.append(label)
    return labels


def _date_formatter(months: Sequence[str]) -> Any:
    """A matplotlib tick formatter that writes dates with :func:`date_labels`."""
    import matplotlib.dates as mdates
    from matplotlib.ticker import Formatter

    class DateLabels(Formatter):
        def format_ticks(self, values: Sequence[float]) -> list[str]:
            days = [mdates.num2date(v).date() for v in values]  # type: ignore[no-untyped-call]
            return date_labels(days, months)

        def __call__(self, x: float, pos: int | None = None) -> str:
            day = mdates.num2date(x).date()  # type: ignore[no-untyped-call]
            return date_labels([day], months)[0]

    return DateLabels()
