"""Change statistics (assessments.stats): hand-computed vectors and properties.

Pure arithmetic: no database, no Django models.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assessments.stats import (
    LARGE,
    MIN_NORM_SAMPLE,
    RELIABLE,
    ChangeClass,
    CoupleWord,
    DeteriorationRule,
    Horizon,
    Norms,
    classify,
    couple_change,
    couple_rc,
    criterion_c,
    cronbach_alpha,
    deterioration,
    over,
    rci,
    s_diff,
    sd,
    split,
    standard_error,
    variance,
)
from tests.properties import examples

# Scores on a plausible 0..100 scale; finite and not extreme, so the arithmetic stays exact
# enough for the properties below.
scores = st.floats(min_value=-1000, max_value=1000, allow_nan=False, allow_infinity=False)
sds = st.floats(min_value=0.1, max_value=100, allow_nan=False, allow_infinity=False)
reliabilities = st.floats(min_value=0.0, max_value=0.99, allow_nan=False, allow_infinity=False)


def norms(sd: float = 10.0, reliability: float = 0.84, cutoff: float | None = None) -> Norms:
    return Norms(sd=sd, reliability=reliability, n=120, source="published", cutoff=cutoff)


# --- constants -------------------------------------------------------------------------


def test_constants():
    assert RELIABLE == 1.96
    assert LARGE == 3.29
    assert MIN_NORM_SAMPLE == 30
    assert [c.value for c in ChangeClass] == ["recovered", "improved", "unchanged", "deteriorated"]


# --- RCI (Jacobson & Truax) ---------------------------------------------------------------


def test_rci_hand_computed_reliability_084():
    # SE     = SD * sqrt(1 - r) = 10 * sqrt(1 - 0.84) = 10 * sqrt(0.16) = 10 * 0.4 = 4.0
    # S_diff = sqrt(2) * SE     = 1.414214 * 4.0                         = 5.657
    # RCI    = (x2 - x1) / S_diff = (62 - 50) / 5.656854 = 12 / 5.656854  = 2.121
    assert standard_error(10, 0.84) == pytest.approx(4.0, abs=1e-9)
    assert round(s_diff(10, 0.84), 3) == 5.657
    assert round(rci(50, 62, 10, 0.84), 3) == 2.121


def test_rci_hand_computed_reliability_075():
    # SE     = 12 * sqrt(1 - 0.75) = 12 * sqrt(0.25) = 12 * 0.5 = 6.0
    # S_diff = sqrt(2) * 6.0 = 1.414214 * 6 = 8.485
    # RCI    = (30 - 40) / 8.485281 = -10 / 8.485281 = -1.179
    assert standard_error(12, 0.75) == pytest.approx(6.0, abs=1e-9)
    assert round(s_diff(12, 0.75), 3) == 8.485
    assert round(rci(40, 30, 12, 0.75), 3) == -1.179


def test_rci_hand_computed_small_change_on_a_mean_scale():
    # A 1..5 mean scale: SD = 0.8, r = 0.75.
    # SE = 0.8 * 0.5 = 0.4; S_diff = sqrt(2) * 0.4 = 0.565685
    # RCI = (3.5 - 2.25) / 0.565685 = 1.25 / 0.565685 = 2.210
    assert round(rci(2.25, 3.5, 0.8, 0.75), 3) == 2.210


def test_rci_is_zero_when_nothing_changed():
    assert rci(37.5, 37.5, 10, 0.84) == 0.0


@pytest.mark.parametrize(("sd_value", "reliability"), [(10, 1.0), (0, 0.8), (-5, 0.8)])
def test_rci_raises_when_s_diff_is_not_positive(sd_value, reliability):
    # reliability 1 -> SE = SD * sqrt(0) = 0 -> S_diff = 0: no RCI can be computed.
    with pytest.raises(ValueError, match="S_diff must be positive"):
        rci(50, 60, sd_value, reliability)


# --- criterion c ---------------------------------------------------------------------------


def test_criterion_c_hand_computed():
    # c = (SD_clin * M_func + SD_func * M_clin) / (SD_clin + SD_func)
    #   = (10 * 60 + 5 * 40) / (10 + 5) = (600 + 200) / 15 = 800 / 15 = 53.333
    assert round(criterion_c(40, 10, 60, 5), 3) == 53.333


def test_criterion_c_with_equal_spreads_is_the_midpoint():
    # (4 * 3.8 + 4 * 2.2) / (4 + 4) = (15.2 + 8.8) / 8 = 24 / 8 = 3.0
    assert criterion_c(2.2, 4, 3.8, 4) == pytest.approx(3.0)


def test_criterion_c_leans_towards_the_tighter_group():
    # Functional SD 1, clinical SD 9: c = (9 * 20 + 1 * 10) / 10 = 190 / 10 = 19.0,
    # i.e. close to the functional mean, because that distribution is narrow.
    assert criterion_c(10, 9, 20, 1) == pytest.approx(19.0)


# --- variance, sd ---------------------------------------------------------------------------


def test_sample_variance_and_sd_hand_computed():
    # values 2, 4, 4, 4, 5, 5, 7, 9: mean 40 / 8 = 5
    # squared deviations 9, 1, 1, 1, 0, 0, 4, 16 = 32; sample variance 32 / 7 = 4.571429
    values = [2, 4, 4, 4, 5, 5, 7, 9]
    assert variance(values) == pytest.approx(32 / 7)
    assert round(sd(values), 4) == round(math.sqrt(32 / 7), 4) == 2.1381


@pytest.mark.parametrize("values", [[], [3.0]])
def test_variance_needs_two_values(values):
    with pytest.raises(ValueError, match="at least two"):
        variance(values)


# --- Cronbach's alpha ---------------------------------------------------------------------


def test_cronbach_alpha_hand_computed():
    rows = [
        [2, 3, 3],
        [4, 4, 5],
        [3, 3, 4],
        [5, 4, 4],
    ]
    # Item 1: 2, 4, 3, 5  mean 3.5  sq. dev 2.25 + 0.25 + 0.25 + 2.25 = 5  var 5 / 3 = 1.6667
    # Item 2: 3, 4, 3, 4  mean 3.5  sq. dev 0.25 * 4 = 1                    var 1 / 3 = 0.3333
    # Item 3: 3, 5, 4, 4  mean 4.0  sq. dev 1 + 1 + 0 + 0 = 2                var 2 / 3 = 0.6667
    # Sum of item variances = 8 / 3 = 2.6667
    # Totals: 8, 13, 10, 13  mean 11  sq. dev 9 + 4 + 1 + 4 = 18            var 18 / 3 = 6
    # alpha = k / (k - 1) * (1 - 2.6667 / 6) = 3 / 2 * (1 - 4 / 9) = 1.5 * 5 / 9 = 0.8333
    assert variance([2, 4, 3, 5]) == pytest.approx(5 / 3)
    assert variance([8, 13, 10, 13]) == pytest.approx(6.0)
    assert round(cronbach_alpha(rows), 4) == 0.8333


def test_cronbach_alpha_hand_computed_two_items():
    # Items (1, 2, 3) and (2, 2, 5):
    # var1 = (1 + 0 + 1) / 2 = 1; var2: mean 3, sq. dev 1 + 1 + 4 = 6, var 3
    # totals 3, 4, 8: mean 5, sq. dev 4 + 1 + 9 = 14, var 7
    # alpha = 2 / 1 * (1 - (1 + 3) / 7) = 2 * 3 / 7 = 0.8571
    assert round(cronbach_alpha([[1, 2], [2, 2], [3, 5]]), 4) == 0.8571


def test_cronbach_alpha_can_be_negative():
    # Items pulling in opposite directions: (1, 2, 3) and (3, 1, 2).
    # var1 = 1, var2 = 1; totals 4, 3, 5: var 1
    # alpha = 2 * (1 - 2 / 1) = -2.0
    assert cronbach_alpha([[1, 3], [2, 1], [3, 2]]) == pytest.approx(-2.0)


@pytest.mark.parametrize(
    "rows",
    [
        pytest.param([], id="no respondents"),
        pytest.param([[]], id="no items"),
        pytest.param([[1, 2, 3]], id="one respondent"),
        pytest.param([[1], [2], [3]], id="one item"),
        pytest.param([[2, 2], [2, 2], [2, 2]], id="no variance at all"),
        # Items vary (var 1 each) but every total is 4: zero total variance.
        pytest.param([[1, 3], [3, 1], [2, 2]], id="zero total variance"),
    ],
)
def test_cronbach_alpha_is_none_when_it_cannot_be_computed(rows):
    assert cronbach_alpha(rows) is None


def test_cronbach_alpha_rejects_ragged_rows():
    with pytest.raises(ValueError, match="same number of items"):
        cronbach_alpha([[1, 2, 3], [2, 3]])


# --- classify -----------------------------------------------------------------------------
# All with SD 10, r 0.84, so S_diff = 5.657 (see above) and |RCI| > 1.96 needs a change of
# more than 1.96 * 5.657 = 11.09 points.


def test_classify_recovered_crosses_the_cutoff_with_reliable_improvement():
    # RCI = 12 / 5.657 = 2.121 > 1.96; x1 = 50 < c = 55 (clinical); x2 = 62 >= 55 (functional)
    index, cls = classify(50, 62, norms(cutoff=55))
    assert cls is ChangeClass.RECOVERED
    assert round(index, 3) == 2.121


def test_classify_recovered_when_starting_exactly_on_the_cutoff():
    # Jacobson & Truax: x1 <= c < x2. A first score of exactly c is on the clinical side:
    # 55 -> 67, RCI 12 / 5.657 = 2.121, crosses from c to above it.
    assert classify(55, 67, norms(cutoff=55))[1] is ChangeClass.RECOVERED


def test_classify_landing_exactly_on_the_cutoff_has_not_crossed_it():
    # x2 == c is not past the cut-off yet: 43 -> 55 is a reliable improvement only.
    assert classify(43, 55, norms(cutoff=55))[1] is ChangeClass.IMPROVED


def test_classify_improved_without_crossing_the_cutoff():
    # RCI 2.121 but 30 -> 42 stays below c = 55
    index, cls = classify(30, 42, norms(cutoff=55))
    assert cls is ChangeClass.IMPROVED
    assert round(index, 3) == 2.121


def test_classify_improved_when_already_functional_at_the_start():
    # 56 -> 68: reliable, but x1 = 56 >= 55 was never clinical.
    assert classify(56, 68, norms(cutoff=55))[1] is ChangeClass.IMPROVED


def test_classify_improved_when_there_is_no_cutoff():
    assert classify(50, 62, norms(cutoff=None)) == (pytest.approx(2.1213, abs=1e-4), "improved")


def test_classify_unchanged_even_when_crossing_the_cutoff():
    # 50 -> 60 crosses c = 55 but RCI = 10 / 5.657 = 1.768 < 1.96: not reliable.
    index, cls = classify(50, 60, norms(cutoff=55))
    assert cls is ChangeClass.UNCHANGED
    assert round(index, 3) == 1.768


def test_classify_deteriorated():
    # 62 -> 50: RCI = -12 / 5.657 = -2.121 < -1.96
    index, cls = classify(62, 50, norms(cutoff=55))
    assert cls is ChangeClass.DETERIORATED
    assert round(index, 3) == -2.121


def test_classify_reliability_075_unchanged_and_deteriorated():
    # SD 12, r 0.75: S_diff = 8.485. 40 -> 30: RCI -1.179 -> unchanged;
    # 40 -> 20: RCI = -20 / 8.485 = -2.357 -> deteriorated.
    assert classify(40, 30, norms(sd=12, reliability=0.75))[1] is ChangeClass.UNCHANGED
    index, cls = classify(40, 20, norms(sd=12, reliability=0.75))
    assert cls is ChangeClass.DETERIORATED
    assert round(index, 3) == -2.357


class TestHigherIsWorse:
    """Lower scores are better: a fall is improvement, and clinical means above the cut-off."""

    def test_recovered(self):
        # 55 -> 43: RCI = -12 / 5.657 = -2.121 (the raw index keeps its sign);
        # better = +2.121 > 1.96; 55 > c = 45 (clinical); 43 <= 45 (functional)
        index, cls = classify(55, 43, norms(cutoff=45), higher_is_better=False)
        assert cls is ChangeClass.RECOVERED
        assert round(index, 3) == -2.121

    def test_recovered_from_exactly_the_cutoff(self):
        # Mirrored edge: x1 >= c > x2. 45 -> 33 starts on c and ends below it.
        assert classify(45, 33, norms(cutoff=45), higher_is_better=False)[1] == "recovered"

    def test_landing_on_the_cutoff_is_only_improved(self):
        assert classify(57, 45, norms(cutoff=45), higher_is_better=False)[1] == "improved"

    def test_improved_without_crossing(self):
        # 60 -> 48: reliable fall, but 48 > 45 is still clinical.
        assert classify(60, 48, norms(cutoff=45), higher_is_better=False)[1] == "improved"

    def test_improved_without_cutoff(self):
        assert classify(60, 48, norms(), higher_is_better=False)[1] == "improved"

    def test_deteriorated(self):
        # 43 -> 55: RCI +2.121, which is reliable change for the worse here.
        index, cls = classify(43, 55, norms(cutoff=45), higher_is_better=False)
        assert cls is ChangeClass.DETERIORATED
        assert round(index, 3) == 2.121

    def test_unchanged(self):
        # 50 -> 42: RCI = -8 / 5.657 = -1.414, crosses c = 45 but is not reliable.
        assert classify(50, 42, norms(cutoff=45), higher_is_better=False)[1] == "unchanged"


def test_classify_raises_for_reliability_one():
    with pytest.raises(ValueError, match="S_diff"):
        classify(10, 20, norms(reliability=1.0))


# --- properties -----------------------------------------------------------------------------


@settings(max_examples=examples(200), deadline=None)
@given(a=scores, b=scores, sd_value=sds, reliability=reliabilities)
def test_rci_is_antisymmetric(a, b, sd_value, reliability):
    assert rci(a, b, sd_value, reliability) == -rci(b, a, sd_value, reliability)


@settings(max_examples=examples(200), deadline=None)
@given(
    x=scores,
    sd_value=sds,
    reliability=reliabilities,
    cutoff=st.none() | scores,
    higher_is_better=st.booleans(),
)
def test_no_change_is_always_unchanged(x, sd_value, reliability, cutoff, higher_is_better):
    index, cls = classify(x, x, norms(sd_value, reliability, cutoff), higher_is_better)
    assert index == 0.0
    assert cls is ChangeClass.UNCHANGED


@settings(max_examples=examples(200), deadline=None)
@given(a=scores, b=scores, sd_value=sds, reliability=reliabilities, higher=st.booleans())
def test_swapping_the_scores_swaps_improved_and_deteriorated(a, b, sd_value, reliability, higher):
    # Without a cut-off there is no "recovered", so the classes mirror each other exactly.
    mirror = {
        ChangeClass.IMPROVED: ChangeClass.DETERIORATED,
        ChangeClass.DETERIORATED: ChangeClass.IMPROVED,
        ChangeClass.UNCHANGED: ChangeClass.UNCHANGED,
    }
    forward = classify(a, b, norms(sd_value, reliability), higher)[1]
    backward = classify(b, a, norms(sd_value, reliability), higher)[1]
    assert backward is mirror[forward]


@settings(max_examples=examples(200), deadline=None)
@given(a=scores, b=scores, sd_value=sds, reliability=reliabilities, cutoff=scores)
def test_direction_flip_mirrors_the_class(a, b, sd_value, reliability, cutoff):
    # Negating every score (and the cut-off) turns a higher-is-better scale into a
    # higher-is-worse one; the class must not change.
    up = classify(a, b, norms(sd_value, reliability, cutoff), higher_is_better=True)
    down = classify(-a, -b, norms(sd_value, reliability, -cutoff), higher_is_better=False)
    assert down[1] is up[1]
    assert down[0] == pytest.approx(-up[0])


@settings(max_examples=examples(200), deadline=None)
@given(a=scores, b=scores, sd_value=sds, reliability=reliabilities, cutoff=st.none() | scores)
def test_classify_agrees_with_the_rci_threshold(a, b, sd_value, reliability, cutoff):
    index, cls = classify(a, b, norms(sd_value, reliability, cutoff))
    assert index == rci(a, b, sd_value, reliability)
    if index > RELIABLE:
        assert cls in (ChangeClass.RECOVERED, ChangeClass.IMPROVED)
    elif index < -RELIABLE:
        assert cls is ChangeClass.DETERIORATED
    else:
        assert cls is ChangeClass.UNCHANGED


@settings(max_examples=examples(200), deadline=None)
@given(
    st.integers(min_value=2, max_value=6).flatmap(
        lambda k: st.lists(
            st.lists(st.integers(min_value=1, max_value=5), min_size=k, max_size=k),
            min_size=2,
            max_size=12,
        )
    )
)
def test_cronbach_alpha_is_at_most_one(rows):
    alpha = cronbach_alpha(rows)
    totals = [sum(row) for row in rows]
    if len(set(totals)) == 1:
        assert alpha is None
    else:
        assert alpha is not None
        assert alpha <= 1.0 + 1e-9


# --- both horizons ------------------------------------------------------------------------
# SD 10, r 0.84 as above: S_diff 5.657, so a change needs more than 11.09 points.


def test_over_gives_the_change_since_the_start_and_since_the_previous_form():
    values = [50, 64, 51]
    start = over(values, Horizon.START, norms())
    previous = over(values, Horizon.PREVIOUS, norms())
    # 50 -> 51: RCI 0.177, unchanged; 64 -> 51: RCI -13 / 5.657 = -2.298, deteriorated.
    assert (start.x1, start.x2, round(start.rci, 3), start.change_class) == (
        50,
        51,
        0.177,
        ChangeClass.UNCHANGED,
    )
    assert (previous.x1, round(previous.rci, 3), previous.change_class) == (
        64,
        -2.298,
        ChangeClass.DETERIORATED,
    )
    assert over([50], Horizon.START, norms()) is None


# --- deterioration ------------------------------------------------------------------------
# "Reliably worse" means RCI < -1.96, i.e. more than 11.09 points below the first score.


def test_one_reliably_worse_form_is_not_yet_an_alert():
    assert deterioration([50, 38], norms()) is None  # RCI -2.121


def test_two_reliably_worse_forms_in_a_row_confirm_it():
    found = deterioration([50, 38, 37], norms())
    assert found is not None
    assert found.rule is DeteriorationRule.CONFIRMED
    assert found.start == 1  # the episode began with the second form
    # 50 -> 37: RCI -13 / 5.657 = -2.298; the form before: 50 -> 38, RCI -2.121.
    assert (found.baseline, found.latest, found.previous) == (50, 37, 38)
    assert round(found.rci, 3) == -2.298
    assert round(found.previous_rci, 3) == -2.121
    assert found.threshold == RELIABLE


def test_a_large_single_drop_needs_no_confirmation():
    # 50 -> 31: RCI -19 / 5.657 = -3.359 < -3.29.
    found = deterioration([50, 31], norms())
    assert found is not None and found.rule is DeteriorationRule.LARGE
    assert found.threshold == LARGE and found.previous is None
    # 50 -> 32: RCI -3.182, reliable but not large: wait for the next form.
    assert deterioration([50, 32], norms()) is None


def test_worse_forms_that_are_not_consecutive_do_not_confirm():
    assert deterioration([50, 38, 45, 38], norms()) is None


def test_the_episode_is_the_latest_run_and_a_new_run_is_a_new_episode():
    first = deterioration([50, 38, 37, 36], norms())
    assert first is not None and first.start == 1
    back_and_again = deterioration([50, 38, 37, 48, 38, 37], norms())
    assert back_and_again is not None and back_and_again.start == 4
    assert deterioration([50, 38, 37, 48], norms()) is None  # back out: episode over


def test_deterioration_follows_the_direction():
    # Higher is worse: rising 50 -> 62 -> 63 is the deterioration.
    found = deterioration([50, 62, 63], norms(), higher_is_better=False)
    assert found is not None and found.rci > 0
    assert deterioration([50, 38, 37], norms(), higher_is_better=False) is None


# --- split --------------------------------------------------------------------------------


def test_split_since_the_start_names_who_improved_with_both_changes():
    found = split([50, 55, 63], [50, 45, 38], norms())
    assert found is not None
    assert found.horizon is Horizon.START and found.improved == 0
    one, two = found.changes
    assert (round(one.rci, 3), one.change_class) == (2.298, ChangeClass.IMPROVED)
    assert (round(two.rci, 3), two.change_class) == (-2.121, ChangeClass.DETERIORATED)
    assert found.episode == (2, 2)


def test_split_across_the_last_two_forms():
    # Since the start: 60 -> 62 and 60 -> 58, nothing reliable. Lately: 48 -> 62 (+2.475)
    # and 71 -> 58 (-2.298).
    found = split([60, 48, 62], [60, 71, 58], norms())
    assert found is not None and found.horizon is Horizon.PREVIOUS and found.improved == 0
    assert found.episode == (2, 2)


def test_no_split_when_both_move_the_same_way_or_only_one_moves():
    assert split([50, 63], [50, 64], norms()) is None
    assert split([50, 63], [50, 50], norms()) is None
    assert split([50], [50, 38], norms()) is None


def test_split_when_partner_two_improved():
    found = split([50, 38], [50, 63], norms())
    assert found is not None and found.improved == 1


# --- the couple composite ---------------------------------------------------------------------


def test_couple_rc_uses_the_standard_error_of_a_two_person_mean():
    # SE = SD * sqrt(1 - r) = 10 * 0.4 = 4. Each composite has SE / sqrt(2); their
    # difference sqrt(2) times that: 4. RC = (57 - 50) / 4 = 1.75.
    assert couple_rc(50, 57, 10, 0.84) == pytest.approx(1.75)
    assert couple_rc(50, 58, 10, 0.84) == pytest.approx(2.0)


def test_the_issues_examples_read_by_reliable_change():
    # Connection Signs, SD 0.698 and alpha 0.958 (the demo's norms): SE = 0.143.
    demo = Norms(sd=0.698, reliability=0.958, n=30, source="estimated")
    # 2.46 -> 2.50: RC 0.28, about the same, though it crossed a band border.
    tiny = couple_change([2.46, 2.50], Horizon.START, demo)
    assert tiny.word is CoupleWord.ABOUT_THE_SAME and round(tiny.rc, 2) == 0.28
    # 2.5 -> 3.46 and 3.5 -> 5.0 stayed inside their bands, and are both stronger.
    assert couple_change([2.5, 3.46], Horizon.START, demo).word is CoupleWord.STRONGER
    assert couple_change([3.5, 5.0], Horizon.START, demo).word is CoupleWord.STRONGER
    assert couple_change([3.5, 2.5], Horizon.START, demo).word is CoupleWord.LESS_STRONG


def test_couple_words_at_the_threshold_and_for_both_horizons():
    # With SE 4: 50 -> 57.8 is RC 1.95, not beyond 1.96; 50 -> 57.9 is RC 1.975.
    assert couple_change([50, 57.8], Horizon.START, norms()).word is CoupleWord.ABOUT_THE_SAME
    assert couple_change([50, 57.9], Horizon.START, norms()).word is CoupleWord.STRONGER
    since = couple_change([50, 60, 51], Horizon.START, norms())
    lately = couple_change([50, 60, 51], Horizon.PREVIOUS, norms())
    assert since.word is CoupleWord.ABOUT_THE_SAME and (since.first, since.latest) == (50, 51)
    assert lately.word is CoupleWord.LESS_STRONG and lately.rc == pytest.approx(-2.25)
    # Higher is worse: a falling composite is the stronger one.
    assert (
        couple_change([60, 50], Horizon.START, norms(), higher_is_better=False).word
        is CoupleWord.STRONGER
    )


def test_too_early_to_tell_without_norms_or_with_one_form():
    early = couple_change([50, 60, 70], Horizon.PREVIOUS, None)
    assert early.word is CoupleWord.TOO_EARLY and early.rc is None
    assert (early.first, early.latest) == (60, 70)
    assert couple_change([50], Horizon.START, norms()).word is CoupleWord.TOO_EARLY
    one_form = couple_change([50], Horizon.START, None)
    assert (one_form.first, one_form.latest) == (50, 50)
    assert couple_change([50], Horizon.PREVIOUS, None).first is None
    for horizon in Horizon:
        nothing = couple_change([], horizon, None)
        assert (nothing.word, nothing.first, nothing.latest) == (CoupleWord.TOO_EARLY, None, None)


def test_couple_rc_refuses_a_zero_standard_error():
    with pytest.raises(ValueError, match="SE must be positive"):
        couple_rc(1, 2, 10, 1.0)


@settings(max_examples=examples(200), deadline=None)
@given(a=scores, b=scores, sd_value=sds, reliability=reliabilities)
def test_the_couple_composite_is_more_sensitive_than_one_partner(a, b, sd_value, reliability):
    # The same change in the mean of two is sqrt(2) times as many standard errors.
    assert couple_rc(a, b, sd_value, reliability) == pytest.approx(
        math.sqrt(2) * rci(a, b, sd_value, reliability)
    )


def test_a_scale_without_statistics_is_not_measured_rather_than_too_early():
    """One item (or a private screen, or reliability below the floor) never gets norms:
    its couple word says so, while a scale still gathering first administrations waits."""
    from assessments.stats import CoupleWord, Horizon, couple_change

    for means in ([], [6.0], [6.0, 8.0]):
        unmeasured = couple_change(means, Horizon.START, None, measurable=False)
        assert unmeasured.word is CoupleWord.NOT_MEASURED and unmeasured.rc is None
        assert couple_change(means, Horizon.START, None).word is CoupleWord.TOO_EARLY
