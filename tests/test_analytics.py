"""Practice outcome analytics, pure part: a small practice computed by hand (docs/analytics.md).

Norms: SD 2, reliability 0.8, cut-off 5, higher is better. Then SE = 2 * sqrt(0.2) = 0.894,
S_diff = sqrt(2) * SE = 1.265: a partner changes reliably past |2.479| points; the couple
composite (RC = change / SE) past |1.753| points.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from assessments import analytics, stats
from assessments.analytics import Block, CouplePair, DueForm, PartnerScore

NORMS = stats.Norms(sd=2.0, reliability=0.8, n=40, source="published", cutoff=5.0)
PERIOD = analytics.Period(
    datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 6, 30, 23, 59, tzinfo=UTC)
)
TODAY = date(2026, 7, 15)


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC)


def d(day: str) -> date:
    return date.fromisoformat(day)


# (couple, partner one's (baseline, follow-up), partner two's, baseline day, follow-up day)
SERIES = [
    (1, (4, 8), (5, 6)),  # one recovered (4 <= 5 < 8), two unchanged
    (2, (6, 3), (6, 9)),  # one deteriorated, two improved (no crossing): a split couple
    (3, (7, 7), (3, 4)),  # both unchanged
    (5, (2, 2.5), (2, 1)),  # both unchanged
]


def practice_rows(norms: stats.Norms | None = NORMS) -> analytics.InstrumentRows:
    scores, pairs = [], []
    for couple, one, two in SERIES:
        for day, index in (("2025-12-01", 0), ("2026-03-01", 1)):
            scores += [
                PartnerScore(couple, couple * 10 + 1, at(day), one[index]),
                PartnerScore(couple, couple * 10 + 2, at(day), two[index]),
            ]
            pairs.append(CouplePair(couple, at(day), one[index], two[index]))
    # Couple 4: partner one recovered (5 <= 5 < 8); partner two never came back.
    scores += [
        PartnerScore(4, 41, at("2025-12-01"), 5),
        PartnerScore(4, 42, at("2025-12-01"), 5),
        PartnerScore(4, 41, at("2026-04-05"), 8),
    ]
    pairs.append(CouplePair(4, at("2025-12-01"), 5, 5))
    # Couple 5 answered again after the period: not counted.
    scores.append(PartnerScore(5, 51, at("2026-08-01"), 9))
    pairs.append(CouplePair(5, at("2026-08-01"), 9, 9))
    # Couple 6 started inside the period; only partner one answered twice.
    scores += [
        PartnerScore(6, 61, at("2026-02-01"), 6),
        PartnerScore(6, 62, at("2026-02-01"), 6),
        PartnerScore(6, 61, at("2026-05-01"), 6.5),
    ]
    pairs.append(CouplePair(6, at("2026-02-01"), 6, 6))
    # Couple 7 answered once before the period and then nothing.
    scores += [PartnerScore(7, 71, at("2025-11-01"), 5), PartnerScore(7, 72, at("2025-11-01"), 5)]
    pairs.append(CouplePair(7, at("2025-11-01"), 5, 5))
    forms = [
        DueForm(1, 101, d("2025-12-01"), 2, (d("2025-12-01"), d("2025-12-01"))),
        DueForm(1, 102, d("2026-03-01"), 2, (d("2026-03-01"), d("2026-03-04"))),  # one late
        DueForm(2, 202, d("2026-03-01"), 2, (d("2026-02-28"), d("2026-03-01"))),
        DueForm(3, 302, d("2026-04-01"), 2, (d("2026-04-01"), d("2026-04-01"))),
        DueForm(4, 402, d("2026-04-01"), 2, (d("2026-04-05"),)),  # one late, one never
        DueForm(5, 502, d("2026-05-01"), 2, (d("2026-05-01"), d("2026-05-01"))),
        DueForm(5, 503, d("2026-07-20"), 2, ()),  # due after the period
        DueForm(6, 601, d("2026-02-01"), 2, (d("2026-02-01"), d("2026-02-01"))),
        DueForm(6, 602, d("2026-05-01"), 2, (d("2026-05-01"),)),
        DueForm(7, 702, d("2026-02-01"), 2, ()),  # couple 7 dropped out
        DueForm(7, 703, d("2026-03-01"), 2, ()),
    ]
    first = {c: (c * 100 + 1, d("2025-12-01")) for c in (1, 2, 3, 4, 5)}
    first[6] = (601, d("2026-02-01"))
    first[7] = (701, d("2025-11-01"))
    return analytics.InstrumentRows(analytics.Scale(norms, True), scores, pairs, forms, first)


EVERYONE = frozenset(range(1, 8))


def test_a_hand_computed_practice():
    result = analytics.outcomes(practice_rows(), EVERYONE, PERIOD, TODAY)
    # Partners with a baseline and a follow-up in the period: 11, 12, 21, 22, 31, 32, 41,
    # 51, 52, 61 (42, 62, 71, 72 never answered again; 51's August form is after the period).
    assert result.partners_followed == 10
    assert result.partner_classes == {
        "recovered": 2,  # 11 (4 -> 8), 41 (5 -> 8): RCI 3.16 and 2.37, crossing c = 5
        "improved": 1,  # 22 (6 -> 9): reliable, but it started above the cut-off
        "unchanged": 6,
        "deteriorated": 1,  # 21 (6 -> 3): RCI -2.37
    }
    # Changes: 4, 1, -3, 3, 0, 1, 3, 0.5, -1, 0.5 -> median of the middle two (0.5, 1).
    assert result.partner_median_change == pytest.approx(0.75)
    # Couples whose two partners answered the same form twice: 1, 2, 3, 5.
    assert result.couples_followed == 4
    # Composite changes: 4.5 -> 7 (2.5 > 1.753, and 4.5 <= 5 < 7: recovered), 6 -> 6, 5 -> 5.5,
    # 2 -> 1.75.
    assert result.couple_classes == {
        "recovered": 1,
        "improved": 0,
        "unchanged": 3,
        "deteriorated": 0,
    }
    assert result.couple_median_change == pytest.approx(0.25)
    assert result.split_couples == 1  # couple 2
    # Partner-forms due in the period and decided: 2 each for 1-5, 4 each for 6 and 7.
    assert result.forms_due == 18
    assert result.forms_on_time == 1 + 2 + 2 + 0 + 2 + 3 + 0
    # Every couple had a follow-up form due after its baseline; only couple 7 answered none.
    assert (result.dropout_eligible, result.dropped_out) == (7, 1)
    assert result.block_couples == {
        Block.PARTNERS: frozenset({1, 2, 3, 4, 5, 6}),
        Block.COUPLES: frozenset({1, 2, 3, 5}),
        Block.FORMS: EVERYONE,
    }


def test_without_norms_there_are_counts_and_medians_but_no_classes():
    result = analytics.outcomes(practice_rows(norms=None), EVERYONE, PERIOD, TODAY)
    assert result.partners_followed == 10
    assert result.partner_classes == {} and result.couple_classes == {}
    assert result.partner_median_change == pytest.approx(0.75)
    assert result.split_couples == 0


def test_lower_is_better_turns_the_classes_and_the_medians():
    rows = practice_rows()
    flipped = analytics.InstrumentRows(
        analytics.Scale(NORMS, False), rows.scores, rows.pairs, rows.forms, rows.first_answered
    )
    result = analytics.outcomes(flipped, EVERYONE, PERIOD, TODAY)
    assert result.partner_classes["deteriorated"] == 3  # 11, 22, 41 went up
    # 21 went down from 6 to 3, across the cut-off the other way (6 >= 5 > 3): recovered.
    assert result.partner_classes["recovered"] == 1 and result.partner_classes["improved"] == 0
    assert result.partner_median_change == pytest.approx(-0.75)


def test_a_form_still_open_is_neither_on_time_nor_late():
    forms = [DueForm(1, 1, d("2026-06-30"), 2, (d("2026-06-29"),))]
    counts, _dropped = analytics.form_outcomes(forms, {}, PERIOD, today=d("2026-06-30"))
    assert counts == {}
    counts, _ = analytics.form_outcomes(forms, {}, PERIOD, today=d("2026-07-01"))
    assert counts == {1: (2, 1)}


def groups(rows, **caseloads):
    found = {analytics.WHOLE: analytics.outcomes(rows, EVERYONE, PERIOD, TODAY)}
    for name, couples in caseloads.items():
        found[name] = analytics.outcomes(rows, frozenset(couples), PERIOD, TODAY)
    return analytics.suppress(found)


def test_suppression_small_groups_and_their_complements():
    # Clinician A has couples 1-5; B has 5, 6 and 7 (couple 5 is shared).
    result = groups(practice_rows(), a={1, 2, 3, 4, 5}, b={5, 6, 7})
    whole, a, b = result["all"], result["a"], result["b"]
    # Partners rest on couples 1-6: all six are shown. B's rest on 5 and 6 (two: hidden); A's
    # on five, but all minus A would then describe couple 6 alone, so A is hidden as well.
    assert whole.partners_followed == 10 and Block.PARTNERS not in whole.suppressed
    assert Block.PARTNERS in a.suppressed and Block.PARTNERS in b.suppressed
    assert a.partners_followed is None and a.partner_classes == {}
    assert a.partner_median_change is None
    # The composite rests on four couples even for the whole practice: hidden everywhere.
    for group in result.values():
        assert Block.COUPLES in group.suppressed
        assert group.couples_followed is None and group.couple_classes == {}
        assert group.split_couples is None and group.couple_median_change is None
    # Forms rest on all seven; B's on three (hidden); whole minus A = couples 6 and 7: A hidden.
    assert whole.forms_due == 18 and whole.dropped_out == 1
    assert a.forms_due is None and b.dropout_eligible is None
    # What is hidden is gone from the object, couples included, not just flagged.
    assert Block.FORMS not in a.block_couples


def test_a_group_whose_complement_is_covered_by_others_stays_shown():
    # C sees every couple: all minus (A or C) is empty, so A's five couples can be shown.
    result = groups(practice_rows(), a={1, 2, 3, 4, 5}, b={5, 6, 7}, c=set(EVERYONE))
    assert result["a"].forms_due == 10 and result["a"].forms_on_time == 7
    assert result["a"].dropout_eligible == 5 and result["a"].dropped_out == 0
    assert result["c"].forms_due == 18
    assert Block.FORMS in result["b"].suppressed
    # Partners: C covers couples 1-6 too, so A is shown there as well (9 partners: 61 is B's).
    assert result["a"].partners_followed == 9


def test_a_group_of_five_is_shown_and_of_four_is_not():
    rows = practice_rows()
    five = analytics.suppress(
        {"all": analytics.outcomes(rows, frozenset({1, 2, 3, 4, 5}), PERIOD, TODAY)}
    )
    four = analytics.suppress(
        {"all": analytics.outcomes(rows, frozenset({1, 2, 3, 4}), PERIOD, TODAY)}
    )
    assert five["all"].partners_followed == 9
    assert four["all"].partners_followed is None and Block.PARTNERS in four["all"].suppressed
    # An empty group is not "small": it has nothing to hide and says so with zeros.
    empty = analytics.suppress({"all": analytics.outcomes(rows, frozenset(), PERIOD, TODAY)})
    assert empty["all"].partners_followed == 0 and not empty["all"].suppressed


def test_couple_class_uses_the_composite_standard_error():
    scale = analytics.Scale(NORMS, True)
    # 1.75 points is just under 1.96 * 0.894 = 1.753; 1.76 is just over.
    assert analytics.couple_class(6.0, 7.75, scale) == "unchanged"
    assert analytics.couple_class(6.0, 7.76, scale) == "improved"
    assert analytics.couple_class(4.0, 5.76, scale) == "recovered"
    assert analytics.couple_class(5.0, 3.0, scale) == "deteriorated"
    assert analytics.couple_class(5.0, 3.0, analytics.Scale(None)) is None
