"""Couple results (assessments.results): agreement, strengths, growth areas, privacy.

Pure Python: no database. Answer sets are built by hand so the flagged, strength and
growth lists are known exactly.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assessments import definition as defn
from assessments.results import (
    GAP_SHARE,
    MIN_FLAGGED_ITEMS,
    TOTAL_GAP_SHARE,
    CoupleResult,
    Growth,
    ItemAgreement,
    ScaleComparison,
    couple_result,
    disagreement,
    gap_needed,
    shared_items,
)
from assessments.scoring_rules import Plan
from tests.properties import examples

LIBRARY = Path(defn.__file__).resolve().parent / "library"
_CACHE = {path.stem: json.loads(path.read_text()) for path in sorted(LIBRARY.glob("*.json"))}
SIGNS = [f"cs{n:02d}" for n in range(1, 13)]


def load(key: str) -> dict[str, Any]:
    return copy.deepcopy(_CACHE[key])


def compare(definition: dict[str, Any], one: dict, two: dict) -> CoupleResult | None:
    return couple_result(definition, Plan.compile(definition), one, two)


def with_private(key: str, *link_ids: str) -> dict[str, Any]:
    """A library definition where the given items are private; still a valid definition."""
    definition = load(key)
    for item in definition["items"]:
        if item["link_id"] in link_ids:
            item["private"] = True
    assert defn.problems(definition) == []
    return definition


# connection-signs: agree5 (1..5); cs02, cs10 and cs11 are reverse-keyed (recoded 6 - x).
# Top quarter: 1 + 0.75 * (5 - 1) = 4, so a strength is recoded >= 4 for both partners;
# bottom quarter: 1 + 0.25 * 4 = 2, so "both low" is recoded <= 2 for both. A gap counts
# from half the range: (5 - 1) / 2 = 2 points. Undecided is the middle answer, 3 (raw).
#
#   item  one two  gap  recoded one/two   flagged strength growth
#   cs01   5   4    1      5 / 4                    yes
#   cs02   1   2    1      5 / 4   (rev)            yes
#   cs03   4   2    2      4 / 2           yes              apart
#   cs04   1   2    1      1 / 2                            both low
#   cs05   2   1    1      2 / 1                            both low
#   cs06   3   5    2      3 / 5           yes              apart
#   cs07   5   3    2      5 / 3           yes              apart
#   cs08   2   2    0      2 / 2                            both low
#   cs09   3   3    0      3 / 3                            both undecided
#   cs10   5   4    1      1 / 2   (rev)                    both low
#   cs11   4   4    0      2 / 2   (rev)                    both low
#   cs12   1   5    4      1 / 5           yes              apart
ONE = dict(zip(SIGNS, [5, 1, 4, 1, 2, 3, 5, 2, 3, 5, 4, 1], strict=True))
TWO = dict(zip(SIGNS, [4, 2, 2, 2, 1, 5, 3, 2, 3, 4, 4, 5], strict=True))
FLAGGED = ["cs03", "cs06", "cs07", "cs12"]
STRENGTHS = ["cs01", "cs02"]
BOTH_LOW = ["cs04", "cs05", "cs08", "cs10", "cs11"]
GROWTH = sorted([*BOTH_LOW, *FLAGGED, "cs09"])


def test_constants():
    assert GAP_SHARE == 0.5
    assert TOTAL_GAP_SHARE == 0.25
    assert MIN_FLAGGED_ITEMS == 3


@pytest.mark.parametrize(
    ("low", "high", "needed"),
    [(1, 5, 2), (1, 10, 4.5), (0, 4, 2), (0, 1, 0.5)],
)
def test_a_gap_counts_from_half_the_items_range(low, high, needed):
    # 4.5 on 1-10 means 5 points with whole-number answers: 6 vs 8 does not count there,
    # while 2 vs 4 on a 1-5 item does.
    assert gap_needed(low, high) == needed


def test_growth_areas_say_why():
    result = compare(load("connection-signs"), ONE, TWO)
    reasons = {i.link_id: i.growth_reason for i in result.items if i.growth}
    assert reasons == {
        **dict.fromkeys(BOTH_LOW, Growth.BOTH_LOW),
        **dict.fromkeys(FLAGGED, Growth.APART),
        "cs09": Growth.UNDECIDED,
    }


def test_connection_signs_items():
    result = compare(load("connection-signs"), ONE, TWO)
    assert result is not None
    assert [i.link_id for i in result.items] == SIGNS
    assert result.flagged == FLAGGED
    assert result.strengths == STRENGTHS
    assert result.growth_areas == GROWTH
    # Raw answers are kept as given, reverse items included.
    assert result.items[1] == ItemAgreement("cs02", 1, 2, 1, False, True, None, 2.0)
    assert result.items[11] == ItemAgreement("cs12", 1, 5, 4, True, False, Growth.APART, 2.0)
    assert [i.gap for i in result.items] == [1, 1, 2, 1, 1, 2, 2, 0, 0, 1, 0, 4]


def test_connection_signs_scales():
    result = compare(load("connection-signs"), ONE, TWO)
    scales = {s.key: s for s in result.scales}
    assert list(scales) == [
        "responsiveness",
        "openness",
        "engagement",
        "conflict",
        "self_awareness",
        "total",
    ]
    # responsiveness cs01, cs03, cs09, cs11: one (5 + 4 + 3 + 2) / 4 = 3.5;
    #                                        two (4 + 2 + 3 + 2) / 4 = 2.75
    assert (scales["responsiveness"].one, scales["responsiveness"].two) == (3.5, 2.75)
    assert scales["responsiveness"].mean == pytest.approx(3.125)  # (3.5 + 2.75) / 2
    assert scales["responsiveness"].difference == pytest.approx(0.75)
    # openness cs02, cs04, cs07: one (5 + 1 + 5) / 3 = 11 / 3; two (4 + 2 + 3) / 3 = 3
    assert scales["openness"].one == pytest.approx(11 / 3)
    assert scales["openness"].two == pytest.approx(3.0)
    # engagement cs05, cs06, cs10: one (2 + 3 + 1) / 3 = 2; two (1 + 5 + 2) / 3 = 8 / 3
    assert scales["engagement"].one == pytest.approx(2.0)
    assert scales["engagement"].two == pytest.approx(8 / 3)
    # single items
    assert (scales["conflict"].one, scales["conflict"].two) == (2.0, 2.0)
    assert scales["conflict"].difference == 0
    assert (scales["self_awareness"].mean, scales["self_awareness"].difference) == (3.0, 4.0)
    # total: one 5+5+4+1+2+3+5+2+3+1+2+1 = 34 -> 34 / 12; two 4+4+2+2+1+5+3+2+3+2+2+5 = 35
    assert result.total is scales["total"]
    assert result.total_key == "total"
    assert result.total.one == pytest.approx(34 / 12)
    assert result.total.two == pytest.approx(35 / 12)
    assert result.total.mean == pytest.approx(69 / 24)  # 2.875
    assert result.total.difference == pytest.approx(1 / 12)


def test_a_missing_answer_is_neither_flagged_nor_a_growth_area():
    two = dict(TWO)
    del two["cs05"]  # cs05 was a growth area
    two["cs12"] = None  # cs12 was flagged
    result = compare(load("connection-signs"), ONE, two)
    by_id = {i.link_id: i for i in result.items}
    assert by_id["cs05"] == ItemAgreement("cs05", 2, None, None, False, False, None, 2.0)
    assert by_id["cs12"].gap is None
    assert result.flagged == ["cs03", "cs06", "cs07"]
    assert result.growth_areas == ["cs03", "cs04", "cs06", "cs07", "cs08", "cs09", "cs10", "cs11"]
    # engagement for two: cs06 5, cs10 (6 - 4) 2 -> (5 + 2) / 2 = 3.5
    engagement = next(s for s in result.scales if s.key == "engagement")
    assert engagement.two == pytest.approx(3.5)
    # self_awareness has no answer from two: no mean, no difference
    self_awareness = next(s for s in result.scales if s.key == "self_awareness")
    assert (self_awareness.one, self_awareness.two) == (1.0, None)
    assert (self_awareness.mean, self_awareness.difference) == (None, None)


def test_higher_is_worse_swaps_strengths_and_growth_areas():
    definition = load("connection-signs")
    definition["direction"] = "higher_is_worse"
    assert defn.problems(definition) == []
    result = compare(definition, ONE, TWO)
    assert result.flagged == FLAGGED  # gaps do not depend on direction
    assert result.strengths == BOTH_LOW
    # Both low is now cs01 and cs02; the gaps and the shared 3 stay growth areas.
    assert result.growth_areas == sorted(["cs01", "cs02", *FLAGGED, "cs09"])


def test_everyday_bond_quarters_on_a_zero_based_set():
    # often5 is 0..4: top = 0 + 0.75 * 4 = 3, bottom = 0 + 0.25 * 4 = 1.
    # eb06 and eb12 are reverse-keyed: recoded 4 - x.
    rest = {f"eb{n:02d}": 2 for n in (4, 5, 7, 8, 9, 10, 11)}
    one = rest | {"eb01": 3, "eb02": 1, "eb03": 4, "eb06": 0, "eb12": 4}
    two = rest | {"eb01": 4, "eb02": 0, "eb03": 2, "eb06": 1, "eb12": 3}
    # eb01 3/4 -> strength; eb02 1/0 -> growth; eb03 4/2 -> gap 2 (half of 0..4), flagged;
    # eb06 raw 0/1 -> recoded 4/3 -> strength; eb12 raw 4/3 -> recoded 0/1 -> growth;
    # the 2s are the middle answer for both: undecided, growth areas too.
    result = compare(load("everyday-bond"), one, two)
    assert result.strengths == ["eb01", "eb06"]
    assert result.growth_areas == ["eb02", "eb03", *rest, "eb12"]
    assert result.flagged == ["eb03"]
    # Sum scale, recoded: one 3 + 1 + 4 + 4 + 0 + 7 * 2 = 26; two 4 + 0 + 2 + 3 + 1 + 14 = 24
    assert (result.total.one, result.total.two) == (26.0, 24.0)
    assert (result.total.mean, result.total.difference) == (25.0, 2.0)


@pytest.mark.parametrize(
    ("one", "two", "flagged", "strength", "growth"),
    [
        # rating 1..10: top = 1 + 0.75 * 9 = 7.75, bottom = 1 + 0.25 * 9 = 3.25;
        # a gap counts from 4.5 (half of 9), i.e. 5 points; undecided is 5 or 6.
        (8, 8, False, True, False),
        (10, 7, False, False, False),  # 7 < 7.75; gap 3 does not count on 1-10
        (10, 5, True, False, True),  # gap 5 counts, and is a growth area
        (9, 8, False, True, False),
        (3, 1, False, False, True),  # both low
        (4, 1, False, False, False),  # 4 > 3.25, gap 3
        (3, 3, False, False, True),
        (5, 6, False, False, True),  # both undecided
        (6, 8, False, False, False),
    ],
)
def test_connection_pulse_quarters(one, two, flagged, strength, growth):
    result = compare(load("connection-pulse"), {"pulse": one}, {"pulse": two})
    (item,) = result.items
    assert (item.flagged, item.strength, item.growth) == (flagged, strength, growth)
    assert item.gap == abs(one - two)
    assert (result.total.one, result.total.two) == (one, two)


# --- large disagreement ------------------------------------------------------------------


def test_disagreement_by_items_counts_the_gaps():
    # Four gaps of the twelve: a third is 4, so it fires; the totals are 1/12 apart.
    result = compare(load("connection-signs"), ONE, TWO)
    found = disagreement(result, (1, 5))
    assert found is not None
    assert (found.by_items, found.by_totals) == (True, False)
    assert (found.flagged, found.items_needed, found.n_items) == (4, 4, 12)
    assert found.total_range == 4 and found.total_gap == pytest.approx(1 / 12)
    fewer = compare(load("connection-signs"), ONE, TWO | {"cs12": 2})
    assert disagreement(fewer, (1, 5)) is None  # three gaps, four needed


def test_a_one_item_form_has_only_the_item_rule():
    # Pulse 9 vs 3: a gap of 6 on 1-10 is at least half the range (4.5), so the one item
    # counts, and one of one is all of them. The total is the same number: no second rule.
    result = compare(load("connection-pulse"), {"pulse": 9}, {"pulse": 3})
    found = disagreement(result, (1, 10))
    assert found is not None
    assert (found.by_totals, found.by_items, found.flagged, found.items_needed) == (
        False,
        True,
        1,
        1,
    )
    # 7 vs 4: a third of the range, which the old totals rule called large while the item
    # view showed no gap. Now both agree: not a large disagreement.
    quieter = compare(load("connection-pulse"), {"pulse": 7}, {"pulse": 4})
    assert not quieter.flagged
    assert disagreement(quieter, (1, 10)) is None


def test_the_totals_rule_still_holds_for_forms_of_several_items():
    # Every item one point apart on 1-5 (no item gap counts): the totals are 1 apart on a
    # range of 4, a quarter, which is large.
    signs = load("connection-signs")
    reverse = {item["link_id"] for item in signs["items"] if item.get("reverse")}
    one = {f"cs{i:02d}": 5 for i in range(1, 13)} | dict.fromkeys(reverse, 1)
    two = {f"cs{i:02d}": 4 for i in range(1, 13)} | dict.fromkeys(reverse, 2)
    found = disagreement(compare(signs, one, two), (1, 5))
    assert found is not None and (found.by_totals, found.by_items) == (True, False)


# --- privacy ------------------------------------------------------------------------------


def test_a_private_instrument_has_no_couple_result():
    definition = load("safety-screen")
    assert shared_items(definition) == []
    yes = {"ss01": 1, "ss02": 1, "ss03": 0, "ss04": 0, "ss05": 0, "ss06": "note"}
    no = {"ss01": 0, "ss02": 0, "ss03": 0, "ss04": 0, "ss05": 0}
    assert compare(definition, yes, no) is None


def test_the_instrument_flag_alone_makes_every_item_private():
    # A private instrument whose items do not repeat "private": true is still valid,
    # and still has no couple result.
    definition = load("safety-screen")
    for item in definition["items"]:
        del item["private"]
    assert defn.problems(definition) == []
    assert shared_items(definition) == []
    answers = {"ss01": 1, "ss02": 0, "ss03": 0, "ss04": 0, "ss05": 0}
    assert compare(definition, answers, answers) is None
    # The same items in a non-private instrument would be shared.
    definition["private"] = False
    del definition["alerts"]  # safety alerts need private items
    assert defn.problems(definition) == []
    assert [i["link_id"] for i in shared_items(definition)] == [f"ss0{n}" for n in range(1, 6)]


def test_shared_items_leave_out_private_and_text_items():
    definition = with_private("connection-signs", "cs01")
    assert [i["link_id"] for i in shared_items(definition)] == SIGNS[1:]


def test_a_private_item_is_never_listed_and_never_counted():
    definition = with_private("connection-signs", "cs01")
    result = compare(definition, ONE, TWO)
    assert [i.link_id for i in result.items] == SIGNS[1:]
    assert "cs01" not in result.strengths  # it was a strength when shared
    assert result.strengths == ["cs02"]
    assert result.flagged == FLAGGED
    assert result.growth_areas == GROWTH
    scales = {s.key: s for s in result.scales}
    # responsiveness without cs01: one (4 + 3 + 2) / 3 = 3.0; two (2 + 3 + 2) / 3 = 7 / 3
    assert scales["responsiveness"].one == pytest.approx(3.0)
    assert scales["responsiveness"].two == pytest.approx(7 / 3)
    # total without cs01: one (34 - 5) / 11 = 29 / 11; two (35 - 4) / 11 = 31 / 11
    assert result.total.one == pytest.approx(29 / 11)
    assert result.total.two == pytest.approx(31 / 11)
    # Scales without cs01 are untouched.
    assert scales["openness"].one == pytest.approx(11 / 3)


def test_a_scale_of_only_private_items_has_no_comparison():
    definition = with_private("connection-signs", "cs08")  # conflict is cs08 alone
    result = compare(definition, ONE, TWO)
    conflict = next(s for s in result.scales if s.key == "conflict")
    assert conflict == ScaleComparison("conflict", None, None)
    assert (conflict.mean, conflict.difference) == (None, None)
    assert "cs08" not in result.growth_areas


@settings(max_examples=examples(200), deadline=None)
@given(a=st.sampled_from([1, 2, 3, 4, 5]), b=st.sampled_from([1, 2, 3, 4, 5]))
def test_private_answers_do_not_change_anything(a, b):
    definition = with_private("connection-signs", "cs01", "cs11")
    baseline = compare(definition, ONE, TWO)
    changed = compare(definition, ONE | {"cs01": a, "cs11": b}, TWO | {"cs01": b, "cs11": a})
    assert changed == baseline
    assert {i.link_id for i in changed.items}.isdisjoint({"cs01", "cs11"})


# --- properties ---------------------------------------------------------------------------

answers_1_to_5 = st.fixed_dictionaries(
    {}, optional={link_id: st.sampled_from([1, 2, 3, 4, 5]) for link_id in SIGNS}
)


@settings(max_examples=examples(200), deadline=None)
@given(one=answers_1_to_5, two=answers_1_to_5)
def test_item_agreement_rules(one, two):
    plan = Plan.compile(load("connection-signs"))
    result = couple_result(load("connection-signs"), plan, one, two)
    assert [i.link_id for i in result.items] == SIGNS
    for item in result.items:
        a, b = one.get(item.link_id), two.get(item.link_id)
        assert (item.one, item.two) == (a, b)
        if a is None or b is None:
            assert (item.gap, item.flagged, item.strength, item.growth) == (
                None,
                False,
                False,
                False,
            )
            continue
        assert item.gap == abs(a - b)
        assert item.flagged is (abs(a - b) >= 2)
        ra, rb = plan.recode(item.link_id, a), plan.recode(item.link_id, b)
        assert item.strength is (ra >= 4 and rb >= 4)
        both_low = ra <= 2 and rb <= 2
        assert item.growth is (both_low or item.flagged or a == b == 3)
        assert not (item.strength and item.growth)
    # Swapping the partners mirrors the scales and keeps every flag.
    swapped = couple_result(load("connection-signs"), plan, two, one)
    assert swapped.flagged == result.flagged
    assert swapped.strengths == result.strengths
    assert swapped.growth_areas == result.growth_areas
    assert [(s.two, s.one) for s in swapped.scales] == [(s.one, s.two) for s in result.scales]
