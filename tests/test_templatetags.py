"""Template filters shared by pages, emails and PDFs."""

from __future__ import annotations

import pytest
from django.utils import translation

from assessments.templatetags.assessments_tags import score


@pytest.mark.parametrize(
    ("value", "english", "spanish"),
    [
        (7, "7", "7"),
        (3.0, "3", "3"),
        (3.5, "3.5", "3,5"),
        (3.25, "3.25", "3,25"),
        (3.456, "3.46", "3,46"),
        (2.999, "3", "3"),
        (-1.04, "-1.04", "-1,04"),
        (None, "–", "–"),
    ],
)
def test_score_shows_up_to_two_decimals_without_trailing_zeros(value, english, spanish):
    with translation.override("en"):
        assert score(value) == english
    with translation.override("es"):
        assert score(value) == spanish
