"""Charts (assessments.charts): real text, one styled line per partner, reliable-change
stars, date axes in the reader's language. Pure Python: no database."""

from __future__ import annotations

import re
from datetime import date

import pytest

from assessments import charts

SPANISH = ("Ene", "Feb", "Mar", "Abr", "May", "Jun", "Jul", "Ago", "Sep", "Oct", "Nov", "Dic")


def texts(svg: str) -> list[str]:
    return re.findall(r"<text[^>]*>([^<]*)</text>", svg)


def stars(svg: str, colour: str) -> int:
    """Reliable-change stars drawn on a partner's line (the legend's star is white)."""
    return len(re.findall(rf'<use [^>]*style="fill: {colour}; stroke: #1d2327', svg))


def monthly(values: list[float], start: date = date(2026, 1, 10)) -> list[tuple[date, float]]:
    return [(start.replace(month=start.month + i), v) for i, v in enumerate(values)]


def draw(series: list[charts.Series], **kwargs) -> str:
    options = {
        "title": "Connection Signs Inventory",
        "y_range": (1.0, 5.0),
        "y_label": "Score",
        "x_label": "Date answered",
        "bands": [charts.Band(1, 2.5, "Few signs"), charts.Band(2.5, 5, "Many signs")],
        "reliable_label": "reliable change",
    }
    return charts.history_svg(series=series, **{**options, **kwargs})


def test_history_chart_keeps_title_axes_bands_and_names_as_text():
    svg = draw(
        [
            charts.Series("Robin", monthly([2.0, 3.0, 4.5]), frozenset({2})),
            charts.Series("Sam <b>& co", monthly([2.0, 2.1, 2.2])),
        ]
    )
    words = texts(svg)
    for expected in (
        "Connection Signs Inventory",
        "Score",
        "Date answered",
        "Few signs",
        "Many signs",
        "Robin",
        "Sam &lt;b&gt;&amp; co",  # escaped, never markup
        "reliable change",
    ):
        assert expected in words, expected
    assert 'role="img"' in svg
    assert 'aria-label="Connection Signs Inventory"' in svg
    assert "<b>" not in svg


def test_each_partner_has_own_colour_and_line_style_and_stars_mark_reliable_points():
    svg = draw(
        [
            charts.Series("Robin", monthly([2.0, 3.0, 4.5, 4.6]), frozenset({1, 2})),
            charts.Series("Sam", monthly([2.0, 2.1, 2.2, 2.0])),
        ]
    )
    blue, vermilion = charts.PARTNER_STYLES[0]["color"], charts.PARTNER_STYLES[1]["color"]
    assert stars(svg, blue.lower()) == 2
    assert stars(svg, vermilion.lower()) == 0
    # Sam's line is dashed, Robin's solid: told apart without colour.
    dashed = re.findall(r'style="[^"]*stroke-dasharray[^"]*stroke: (#[0-9a-f]{6})', svg)
    assert vermilion.lower() in dashed
    assert blue.lower() not in dashed


def test_no_reliable_change_means_no_star_and_no_legend_entry():
    svg = draw([charts.Series("Robin", monthly([2.0, 2.1]))])
    assert stars(svg, charts.PARTNER_STYLES[0]["color"].lower()) == 0
    assert "reliable change" not in texts(svg)


def test_one_date_sits_in_a_month_wide_window_with_day_labels():
    svg = draw([charts.Series("Robin", [(date(2026, 11, 25), 3.0)])])
    labels = [t for t in texts(svg) if re.fullmatch(r"\d{1,2} [A-Z][a-z]{2}|\d{4}", t)]
    assert labels[0] == "15 Nov" and labels[1] == "2026"
    assert labels[-1] == "8 Dec"


def test_date_axis_uses_the_month_names_given():
    series = [charts.Series("Robin", monthly([2.0, 3.0, 4.0, 4.0], start=date(2026, 1, 10)))]
    english = texts(draw(series))
    spanish = texts(draw(series, months=SPANISH))
    assert "Feb" in english and "Abr" not in english
    assert "Abr" in spanish and "Apr" not in spanish


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        # Whole months apart: month only, the year under the first and at each new year.
        (
            [date(2025, 11, 1), date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1)],
            ["Nov\n2025", "Dec", "Jan\n2026", "Feb"],
        ),
        # Days apart: day and month.
        (
            [date(2026, 11, 15), date(2026, 11, 22), date(2026, 12, 1)],
            ["15 Nov\n2026", "22 Nov", "1 Dec"],
        ),
        # A lone first-of-month tick is still a day, not a month.
        ([date(2026, 3, 1)], ["1 Mar\n2026"]),
        ([], []),
    ],
)
def test_date_labels(days, expected):
    assert charts.date_labels(days, charts.MONTHS) == expected


def test_date_labels_in_another_language():
    assert charts.date_labels([date(2026, 1, 1), date(2026, 8, 1)], SPANISH) == ["Ene\n2026", "Ago"]


def test_same_data_draws_the_same_svg():
    series = [charts.Series("Robin", monthly([2.0, 3.0]), frozenset({1}))]
    assert draw(series) == draw(series)


def test_band_shades_run_from_the_unfavourable_end_whichever_way_the_scale_points():
    """Warm shade on the worse band: the bottom one, or the top one when higher is worse
    (on the safety screen a rise to "Concern reported" must not look like improvement)."""
    warm, next_warm = charts.BAND_SHADES[0], charts.BAND_SHADES[1]
    bands = [charts.Band(0, 1, "None reported"), charts.Band(1, 5, "Concern reported")]
    series = [charts.Series("Robin", monthly([0.0, 1.0]))]

    def shades(svg: str) -> list[str]:
        return [s for s in re.findall(r"fill: (#[0-9a-f]{6})", svg) if s in charts.BAND_SHADES]

    upward = draw(series, bands=bands, y_range=(0.0, 5.0))
    downward = draw(series, bands=bands, y_range=(0.0, 5.0), higher_is_better=False)
    assert shades(upward)[:2] == [warm, next_warm]  # bottom band drawn first
    assert shades(downward)[:2] == [next_warm, warm]
