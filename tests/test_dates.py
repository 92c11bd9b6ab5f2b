"""Dates are written the way each language writes them (practice/formats/)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from django.template import Context, Template
from django.utils import translation
from django.utils.formats import date_format

DAY = date(2026, 12, 11)
ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("language", "full", "short", "month_day"),
    [
        ("en", "11 December 2026", "11 Dec 2026", "11 December"),
        ("es", "11 de diciembre de 2026", "11 dic 2026", "11 de diciembre"),
        ("ru", "11 декабря 2026 г.", "11.12.2026", "11 декабря"),
    ],
)
def test_each_language_writes_its_own_dates(language, full, short, month_day):
    with translation.override(language):
        assert date_format(DAY, "DATE_FORMAT") == full
        assert date_format(DAY, "SHORT_DATE_FORMAT") == short
        assert date_format(DAY, "MONTH_DAY_FORMAT") == month_day
        rendered = Template('{{ d|date:"DATE_FORMAT" }}').render(Context({"d": DAY}))
        assert rendered == full


def test_spanish_date_and_time():
    with translation.override("es"):
        assert date_format(datetime(2026, 12, 11, 9, 5, tzinfo=UTC), "DATETIME_FORMAT") == (
            "11 de diciembre de 2026, 09:05"
        )


# Formats that are the same in every language (machine-readable dates).
NEUTRAL = {"c", "Y-m-d", "Y-m-d H:i:s", "U"}
NAMED = {
    "DATE_FORMAT",
    "DATETIME_FORMAT",
    "SHORT_DATE_FORMAT",
    "SHORT_DATETIME_FORMAT",
    "MONTH_DAY_FORMAT",
    "YEAR_MONTH_FORMAT",
    "TIME_FORMAT",
}


def test_no_template_spells_out_a_date_format():
    # A spelled-out format like "j F Y" reads "11 diciembre 2026" in Spanish and
    # "11 Декабрь 2026" in Russian: templates must name a format instead.
    pattern = re.compile(r"""\|date:["']([^"']*)["']""")
    found = []
    for path in ROOT.glob("*/templates/**/*"):
        if path.is_file() and ".venv" not in path.parts:
            for value in pattern.findall(path.read_text()):
                if value not in NEUTRAL | NAMED:
                    found.append(f"{path.relative_to(ROOT)}: {value}")
    for path in ROOT.glob("templates/**/*"):
        if path.is_file():
            for value in pattern.findall(path.read_text()):
                if value not in NEUTRAL | NAMED:
                    found.append(f"{path.relative_to(ROOT)}: {value}")
    assert found == []
