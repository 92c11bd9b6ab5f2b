"""Scoring arithmetic (assessments.scoring_rules) against the five built-in instruments.

Pure Python: no database. Hand-computed vectors first, then hypothesis properties over
answers drawn from each instrument's real option values.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assessments import definition as defn
from assessments.scoring_rules import SCORING_VERSION, Plan, band_of
from tests.properties import examples

LIBRARY = Path(defn.__file__).resolve().parent / "library"
KEYS = [
    "connection-pulse",
    "connection-signs",
    "everyday-bond",
    "elements-of-connection",
    "safety-screen",
]


def load(key: str) -> dict[str, Any]:
    """A fresh copy of a library definition."""
    return json.loads((LIBRARY / f"{key}.json").read_text())


DEFINITIONS = {key: load(key) for key in KEYS}
PLANS = {key: Plan.compile(d) for key, d in DEFINITIONS.items()}


def option_values(definition: dict[str, Any]) -> dict[str, list[float]]:
    """link id -> the real answer values of every scored item."""
    return {
        item["link_id"]: [o["value"] for o in defn.item_options(definition, item)]
        for item in definition["items"]
        if item["type"] in defn.SCORED_TYPES
    }


def complete_answers(definition: dict[str, Any]) -> st.SearchStrategy[dict[str, float]]:
    return st.fixed_dictionaries(
        {link_id: st.sampled_from(values) for link_id, values in option_values(definition).items()}
    )


def partial_answers(definition: dict[str, Any]) -> st.SearchStrategy[dict[str, float]]:
    return st.fixed_dictionaries(
        {},
        optional={
            link_id: st.sampled_from(values)
            for link_id, values in option_values(definition).items()
        },
    )


REVERSE_ITEMS = [
    (key, item["link_id"])
    for key, d in DEFINITIONS.items()
    for item in d["items"]
    if item.get("reverse")
]


# --- band_of -------------------------------------------------------------------------------

BANDS = ((1.0, 2.5, "low"), (2.5, 3.5, "moderate"), (3.5, 5.0, "strong"))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.0, "low"),  # lowest min is inclusive
        (2.49, "low"),
        (2.5, "moderate"),  # [min, max): 2.5 belongs to the next band up
        (3.4999, "moderate"),
        (3.5, "strong"),
        (5.0, "strong"),  # the highest band includes its max
        (0.99, None),  # below every band
        (5.01, None),  # above every band
    ],
)
def test_band_of_is_half_open_except_the_top(value, expected):
    assert band_of(value, BANDS) == expected


def test_band_of_without_bands_is_none():
    assert band_of(3.0, ()) is None


def test_band_of_only_the_last_band_includes_its_max():
    # 2.0 is the max of "a" (not last, so excluded) and the min of "b".
    bands = ((0.0, 2.0, "a"), (2.0, 4.0, "b"))
    assert band_of(2.0, bands) == "b"
    assert band_of(4.0, bands) == "b"
    # A gap between bands leaves values without a band.
    assert band_of(2.5, ((0.0, 2.0, "a"), (3.0, 4.0, "b"))) is None


# --- compiling -------------------------------------------------------------------------------


def test_plan_of_connection_signs():
    plan = PLANS["connection-signs"]
    assert plan.total_key == "total"
    assert dict(plan.reverse_sum) == {"cs02": 6, "cs10": 6, "cs11": 6}  # 1 + 5
    assert plan.scored_items == {f"cs{n:02d}" for n in range(1, 13)}
    assert plan.ranges["cs01"] == (1, 5)
    assert [s.key for s in plan.scales] == [
        "responsiveness",
        "openness",
        "engagement",
        "conflict",
        "self_awareness",
        "total",
    ]


def test_plan_of_safety_screen_skips_the_text_item():
    plan = PLANS["safety-screen"]
    assert plan.scored_items == {"ss01", "ss02", "ss03", "ss04", "ss05"}
    assert "ss06" not in plan.ranges
    assert plan.reverse_sum == {}
    assert plan.total_key == "concerns"


@pytest.mark.parametrize(
    ("key", "scale", "bounds"),
    [
        ("connection-pulse", "connection", (1, 10)),  # rating, mean
        ("connection-signs", "total", (1, 5)),  # mean of 1..5
        ("connection-signs", "conflict", (1, 5)),
        ("everyday-bond", "total", (0, 48)),  # sum of 12 items of 0..4: 12 * 0, 12 * 4
        ("elements-of-connection", "empathy", (1, 5)),
        ("safety-screen", "concerns", (0, 5)),  # sum of 5 yes/no items
    ],
)
def test_scale_bounds(key, scale, bounds):
    assert PLANS[key].scale_bounds(scale) == bounds


def test_scale_bounds_of_an_unknown_scale_raises():
    with pytest.raises(KeyError):
        PLANS["connection-signs"].scale_bounds("nope")


# --- recoding --------------------------------------------------------------------------------


def test_the_library_has_the_expected_reverse_keyed_items():
    assert REVERSE_ITEMS == [
        ("connection-signs", "cs02"),
        ("connection-signs", "cs10"),
        ("connection-signs", "cs11"),
        ("everyday-bond", "eb06"),
        ("everyday-bond", "eb12"),
        ("elements-of-connection", "ec08"),
        ("elements-of-connection", "ec11"),
    ]


@pytest.mark.parametrize(
    ("key", "link_id", "raw", "recoded"),
    [
        ("connection-signs", "cs02", 5, 1),  # 1 + 5 - 5
        ("connection-signs", "cs02", 2, 4),  # 1 + 5 - 2
        ("connection-signs", "cs02", 3, 3),  # the midpoint stays put
        ("everyday-bond", "eb06", 4, 0),  # 0 + 4 - 4
        ("everyday-bond", "eb06", 1, 3),  # 0 + 4 - 1
        ("connection-signs", "cs01", 2, 2),  # not reverse-keyed
        ("connection-signs", "nope", 2, 2),  # unknown ids are left alone
        ("safety-screen", "ss01", 1, 1),
    ],
)
def test_recode(key, link_id, raw, recoded):
    assert PLANS[key].recode(link_id, raw) == recoded


# --- hand-computed scores --------------------------------------------------------------------


def test_connection_signs_hand_computed():
    answers = {
        "cs01": 5,
        "cs02": 2,  # reverse: 6 - 2 = 4
        "cs03": 4,
        "cs04": 3,
        "cs05": 4,
        "cs06": 5,
        "cs07": 2,
        "cs08": 3,
        "cs09": 4,
        "cs10": 1,  # reverse: 6 - 1 = 5
        "cs11": 2,  # reverse: 6 - 2 = 4
        "cs12": 1,
    }
    result = PLANS["connection-signs"].score(answers)
    s = result.scales
    # responsiveness cs01, cs03, cs09, cs11: (5 + 4 + 4 + 4) / 4 = 17 / 4 = 4.25 -> strong
    assert (s["responsiveness"].value, s["responsiveness"].band) == (4.25, "strong")
    # openness cs02, cs04, cs07: (4 + 3 + 2) / 3 = 9 / 3 = 3.0 -> moderate [2.5, 3.5)
    assert (s["openness"].value, s["openness"].band) == (3.0, "moderate")
    # engagement cs05, cs06, cs10: (4 + 5 + 5) / 3 = 14 / 3 = 4.667 -> strong
    assert s["engagement"].value == pytest.approx(14 / 3)
    assert s["engagement"].band == "strong"
    # single-item scales without bands
    assert (s["conflict"].value, s["conflict"].band) == (3.0, None)
    assert (s["self_awareness"].value, s["self_awareness"].band) == (1.0, None)
    # total: (5+4+4+3+4+5+2+3+4+5+4+1) / 12 = 44 / 12 = 3.667 -> strong
    assert result.total.value == pytest.approx(44 / 12)
    assert result.total.band == "strong"
    assert (result.total.answered, result.total.n_items) == (12, 12)
    assert result.total is s["total"]
    assert result.total_key == "total"
    assert result.alerts == ()
    assert result.version == SCORING_VERSION == "1"


def test_connection_signs_partial_mean_and_missing_data():
    # Only cs01, cs03, cs09 answered of responsiveness (min_answered 3): (5 + 3 + 1) / 3 = 3.0.
    # Openness has only cs02 (min 2): no score. Total has 3 answers (min 10): no score.
    result = PLANS["connection-signs"].score({"cs01": 5, "cs03": 3, "cs09": 1, "cs02": 4})
    responsiveness = result.scales["responsiveness"]
    assert (responsiveness.value, responsiveness.band, responsiveness.answered) == (
        3.0,
        "moderate",
        3,
    )
    openness = result.scales["openness"]
    assert (openness.value, openness.band, openness.answered, openness.n_items) == (
        None,
        None,
        1,
        3,
    )
    assert (result.total.value, result.total.band, result.total.answered) == (None, None, 4)


def test_none_and_unknown_answers_count_as_missing():
    # Nine real answers plus a None and an unknown id: still below min_answered 10.
    answers = {f"cs{n:02d}": 3 for n in range(1, 10)} | {"cs10": None, "zz99": 5}
    total = PLANS["connection-signs"].score(answers).total
    assert (total.value, total.band, total.answered) == (None, None, 9)
    # One more real answer and the total scores: ten 3s (cs10 reversed: 6 - 3 = 3) -> 3.0.
    total = PLANS["connection-signs"].score(answers | {"cs10": 3}).total
    assert (total.value, total.band, total.answered) == (3.0, "moderate", 10)


EVERYDAY = {
    "eb01": 4,
    "eb02": 3,
    "eb03": 2,
    "eb04": 4,
    "eb05": 1,
    "eb06": 0,  # reverse: 4 - 0 = 4
    "eb07": 3,
    "eb08": 2,
    "eb09": 4,
    "eb10": 3,
    "eb11": 2,
    "eb12": 1,  # reverse: 4 - 1 = 3
}


def test_everyday_bond_sum_hand_computed():
    # 4 + 3 + 2 + 4 + 1 + 4 + 3 + 2 + 4 + 3 + 2 + 3 = 35 -> "close" [32, 48]
    total = PLANS["everyday-bond"].score(EVERYDAY).total
    assert (total.value, total.band, total.answered) == (35.0, "close", 12)


def test_everyday_bond_prorated_hand_computed():
    # Drop eb05 (1) and eb11 (2): 10 answers summing to 35 - 3 = 32;
    # mean 32 / 10 = 3.2; prorated 3.2 * 12 = 38.4 -> "close"
    answers = {k: v for k, v in EVERYDAY.items() if k not in ("eb05", "eb11")}
    total = PLANS["everyday-bond"].score(answers).total
    assert total.value == pytest.approx(38.4)
    assert (total.band, total.answered, total.n_items) == ("close", 10, 12)
    # Drop one more (eb01): 9 answers < min_answered 10 -> no score.
    del answers["eb01"]
    total = PLANS["everyday-bond"].score(answers).total
    assert (total.value, total.band, total.answered) == (None, None, 9)


@pytest.mark.parametrize(
    ("raw_sum_target", "band"),
    [(0, "distant"), (15, "distant"), (16, "developing"), (31, "developing"), (32, "close")],
)
def test_everyday_bond_band_edges(raw_sum_target, band):
    # Build answers whose recoded sum is the target: fill items with 4s, then the remainder.
    # The reverse items (eb06, eb12) get raw 4 (recoded 0) so that they add nothing.
    answers = {"eb06": 4, "eb12": 4}
    left = raw_sum_target
    for n in (1, 2, 3, 4, 5, 7, 8, 9, 10, 11):
        answers[f"eb{n:02d}"] = min(4, left)
        left -= answers[f"eb{n:02d}"]
    assert left == 0
    total = PLANS["everyday-bond"].score(answers).total
    assert (total.value, total.band) == (raw_sum_target, band)


def test_everyday_bond_maximum_is_in_the_top_band():
    answers = dict.fromkeys(EVERYDAY, 4) | {"eb06": 0, "eb12": 0}
    total = PLANS["everyday-bond"].score(answers).total
    assert (total.value, total.band) == (48.0, "close")


@pytest.mark.parametrize(
    ("pulse", "band"),
    [(1, "strained"), (3, "strained"), (4, "mixed"), (6, "mixed"), (7, "strong"), (10, "strong")],
)
def test_connection_pulse_bands(pulse, band):
    scale = PLANS["connection-pulse"].score({"pulse": pulse}).total
    assert (scale.value, scale.band) == (pulse, band)


def test_connection_pulse_unanswered():
    scale = PLANS["connection-pulse"].score({}).total
    assert (scale.value, scale.band, scale.answered, scale.n_items) == (None, None, 0, 1)


def test_safety_screen_scores_and_alerts_on_raw_answers():
    answers = {"ss01": 0, "ss02": 1, "ss03": 0, "ss04": 1, "ss05": 0, "ss06": "free text"}
    result = PLANS["safety-screen"].score(answers)
    # 0 + 1 + 0 + 1 + 0 = 2 -> concerns_reported [1, 5]
    assert (result.total.value, result.total.band) == (2.0, "concerns_reported")
    assert len(result.alerts) == 1
    hit = result.alerts[0]
    assert (hit.key, hit.kind, hit.items) == ("safety-any", "safety", ("ss02", "ss04"))


def test_safety_screen_all_no():
    result = PLANS["safety-screen"].score(
        dict.fromkeys(["ss01", "ss02", "ss03", "ss04", "ss05"], 0)
    )
    assert (result.total.value, result.total.band) == (0.0, "none_reported")
    assert result.alerts == ()


def test_safety_alert_fires_even_without_a_score():
    # Four answers < min_answered 5: no score, but the alert still looks at the raw answer.
    result = PLANS["safety-screen"].score({"ss01": 0, "ss02": 0, "ss03": 1, "ss04": 0})
    assert (result.total.value, result.total.band, result.total.answered) == (None, None, 4)
    assert [(h.key, h.items) for h in result.alerts] == [("safety-any", ("ss03",))]


def test_alerts_use_raw_answers_not_recoded_ones():
    # A clinical alert on reverse-keyed cs02: raw 5 (recoded 1) must trigger at_least 5.
    definition = load("connection-signs")
    definition["alerts"] = [
        {
            "key": "cs02-high",
            "kind": "clinical",
            "items": ["cs02", "cs01"],
            "at_least": 5,
            "message": {"en": "High", "es": "Alto", "ru": "Высоко"},
        }
    ]
    assert defn.problems(definition) == []
    plan = Plan.compile(definition)
    hits = plan.score({"cs01": 4, "cs02": 5}).alerts
    assert [(h.key, h.kind, h.items) for h in hits] == [("cs02-high", "clinical", ("cs02",))]
    assert plan.score({"cs01": 4, "cs02": 1}).alerts == ()


# --- properties ------------------------------------------------------------------------------


@pytest.mark.parametrize("key", KEYS)
@settings(max_examples=examples(200), deadline=None)
@given(data=st.data())
def test_scores_stay_within_the_scale_range(key, data):
    definition, plan = DEFINITIONS[key], PLANS[key]
    answers = data.draw(complete_answers(definition) | partial_answers(definition))
    result = plan.score(answers)
    assert list(result.scales) == [s["key"] for s in definition["scales"]]
    for scale in definition["scales"]:
        score = result.scales[scale["key"]]
        low, high = plan.scale_bounds(scale["key"])
        answered = sum(1 for link_id in scale["items"] if link_id in answers)
        assert (score.answered, score.n_items) == (answered, len(scale["items"]))
        if answered < scale["min_answered"]:
            assert (score.value, score.band) == (None, None)
            continue
        assert low <= score.value <= high
        if scale.get("bands"):
            # Every library band set covers its whole range, so an in-range score has a band.
            assert score.band is not None
            assert score.band == band_of(
                score.value, sorted((b["min"], b["max"], b["key"]) for b in scale["bands"])
            )
        else:
            assert score.band is None


@pytest.mark.parametrize(("key", "link_id"), REVERSE_ITEMS)
@settings(max_examples=examples(200), deadline=None)
@given(data=st.data())
def test_reversing_twice_is_the_identity(key, link_id, data):
    plan = PLANS[key]
    values = option_values(DEFINITIONS[key])[link_id]
    value = data.draw(st.sampled_from(values))
    once = plan.recode(link_id, value)
    assert once in values  # reversing maps the options onto themselves
    assert once == min(values) + max(values) - value
    assert plan.recode(link_id, once) == value


@settings(max_examples=examples(200), deadline=None)
@given(answers=complete_answers(DEFINITIONS["connection-signs"]))
def test_connection_signs_total_is_the_weighted_mean_of_its_subscales(answers):
    s = PLANS["connection-signs"].score(answers).scales
    weighted = (
        4 * s["responsiveness"].value
        + 3 * s["openness"].value
        + 3 * s["engagement"].value
        + 1 * s["conflict"].value
        + 1 * s["self_awareness"].value
    ) / 12
    assert s["total"].value == pytest.approx(weighted)


@settings(max_examples=examples(200), deadline=None)
@given(answers=complete_answers(DEFINITIONS["elements-of-connection"]))
def test_elements_total_is_the_mean_of_four_equal_subscales(answers):
    s = PLANS["elements-of-connection"].score(answers).scales
    parts = [s[k].value for k in ("empathy", "complicity", "communication", "attachment")]
    assert s["total"].value == pytest.approx(sum(parts) / 4)


@settings(max_examples=examples(200), deadline=None)
@given(answers=complete_answers(DEFINITIONS["everyday-bond"]))
def test_everyday_bond_complete_is_exactly_the_sum_of_recoded_values(answers):
    plan = PLANS["everyday-bond"]
    expected = sum(plan.recode(link_id, value) for link_id, value in answers.items())
    assert plan.score(answers).total.value == expected


@settings(max_examples=examples(200), deadline=None)
@given(data=st.data())
def test_everyday_bond_prorates_missing_answers(data):
    plan = PLANS["everyday-bond"]
    answers = data.draw(complete_answers(DEFINITIONS["everyday-bond"]))
    dropped = data.draw(st.sets(st.sampled_from(sorted(answers)), min_size=1, max_size=2))
    kept = {k: v for k, v in answers.items() if k not in dropped}
    recoded = [plan.recode(k, v) for k, v in kept.items()]
    total = plan.score(kept).total
    assert total.answered == 12 - len(dropped)
    assert total.value == pytest.approx(sum(recoded) / len(recoded) * 12)


@pytest.mark.parametrize("key", KEYS)
@settings(max_examples=examples(200), deadline=None)
@given(data=st.data())
def test_too_few_answers_means_no_score_and_no_band(key, data):
    definition, plan = DEFINITIONS[key], PLANS[key]
    scale = data.draw(st.sampled_from(definition["scales"]))
    answers = data.draw(complete_answers(definition))
    keep = data.draw(st.integers(min_value=0, max_value=scale["min_answered"] - 1))
    order = data.draw(st.permutations(scale["items"]))
    as_none = data.draw(st.booleans())  # a cleared answer (None) is as good as a missing one
    for link_id in order[keep:]:
        if as_none:
            answers[link_id] = None
        else:
            del answers[link_id]
    score = plan.score(answers).scales[scale["key"]]
    assert (score.value, score.band, score.answered) == (None, None, keep)


@settings(max_examples=examples(200), deadline=None)
@given(answers=complete_answers(DEFINITIONS["safety-screen"]))
def test_safety_alert_lists_exactly_the_yes_answers(answers):
    result = PLANS["safety-screen"].score(answers)
    yes = tuple(k for k in ("ss01", "ss02", "ss03", "ss04", "ss05") if answers[k] == 1)
    assert result.total.value == len(yes)
    if yes:
        assert [(h.key, h.items) for h in result.alerts] == [("safety-any", yes)]
    else:
        assert result.alerts == ()


def test_scoring_arithmetic_imports_no_django():
    """The pure modules stay usable (and fast) outside Django: a fresh interpreter
    imports them and no django module comes along."""
    pure = (
        "assessments.definition, assessments.scoring_rules, assessments.stats, assessments.results"
    )
    probe = (
        f"import sys, {pure}\n"
        "loaded = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        "print(','.join(loaded))"
    )
    root = Path(defn.__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=root, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == ""
