"""The couple comparison of one form: the one way pages, API, alerts and reports get it.

``results.couple_result`` is the arithmetic (no Django); this module decides when a
pair of answer sets may be compared at all, so every reader agrees: both partners
have submitted, neither answer set is one that could not be scored (see
``Response.scoring_error``), and the instrument is not private.
"""

from __future__ import annotations

from collections.abc import Sequence

from assessments import results
from assessments.models import Instrument, Response


def comparable(pair: Sequence[Response | None]) -> bool:
    """Two submitted answer sets, neither of which failed to score."""
    return len(pair) == 2 and all(
        response is not None and response.is_submitted and not response.scoring_error
        for response in pair
    )


def compare(instrument: Instrument, pair: Sequence[Response | None]) -> results.CoupleResult | None:
    """The two partners' answers to one form (in partner order) compared on shared items.

    ``instrument`` is the version the pair answered. None when the pair may not be
    compared (see ``comparable``) or the instrument is private.
    """
    if not comparable(pair):
        return None
    one, two = (response.answers for response in pair if response is not None)
    return results.couple_result(instrument.definition, instrument.plan, one, two)
