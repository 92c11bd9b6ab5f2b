"""Instrument definitions (assessments.definition): validation paths, digest, answer checks.

Every bad definition starts from a deep copy of a valid library definition with exactly
one thing broken, and the test asserts the exact path of the problem. No database.
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import pytest

from assessments import definition as defn
from assessments.definition import (
    DEFAULT_TEXT_LENGTH,
    NOT_AN_OPTION,
    NOT_TEXT,
    REQUIRED,
    TOO_LONG,
    UNKNOWN_ITEM,
    DefinitionError,
    Problem,
    answer_problems,
    digest,
    format_path,
    item_options,
    localized,
    problems,
    scale_range,
    validate,
    value_range,
)

LIBRARY = Path(defn.__file__).resolve().parent / "library"
KEYS = [
    "connection-pulse",
    "connection-signs",
    "everyday-bond",
    "elements-of-connection",
    "safety-screen",
]
_CACHE = {key: json.loads((LIBRARY / f"{key}.json").read_text()) for key in KEYS}


def load(key: str) -> dict[str, Any]:
    """A deep copy of a library definition, safe to break."""
    return copy.deepcopy(_CACHE[key])


def paths(definition: Any) -> list[str]:
    return [p.path for p in problems(definition)]


def only_problem(definition: Any) -> Problem:
    found = problems(definition)
    assert len(found) == 1, found
    return found[0]


def text(en: str = "Text", es: str = "Texto", ru: str = "Текст") -> dict[str, str]:
    return {"en": en, "es": es, "ru": ru}


# --- the library --------------------------------------------------------------------------


def test_the_library_holds_exactly_the_five_instruments():
    assert sorted(p.stem for p in LIBRARY.glob("*.json")) == sorted(KEYS)


@pytest.mark.parametrize("key", KEYS)
def test_every_library_definition_validates(key):
    definition = load(key)
    assert problems(definition) == []
    validated = validate(definition)
    assert validated == definition
    assert validated["key"] == key


def test_validate_raises_with_the_problems():
    definition = load("connection-signs")
    definition["items"].append(copy.deepcopy(definition["items"][0]))
    with pytest.raises(DefinitionError) as raised:
        validate(definition)
    assert raised.value.problems == [
        Problem("items[12].link_id", "duplicate link id 'cs01'"),
    ]
    assert str(raised.value) == "items[12].link_id: duplicate link id 'cs01'"
    assert isinstance(raised.value, ValueError)


# --- semantic rules, exact paths ------------------------------------------------------------


def test_duplicate_link_id():
    # Append a copy of items[4] (cs05): the new items[12] repeats its link id and nothing
    # else changes, so this is the only problem.
    definition = load("connection-signs")
    definition["items"].append(copy.deepcopy(definition["items"][4]))
    problem = only_problem(definition)
    assert problem.path == "items[12].link_id"
    assert problem.message == "duplicate link id 'cs05'"


def test_duplicate_link_id_in_place():
    # Renaming items[3] (cs04) to cs01 also leaves two scales naming the vanished cs04.
    definition = load("connection-signs")
    definition["items"][3]["link_id"] = "cs01"
    assert paths(definition) == ["items[3].link_id", "scales[1].items[1]", "scales[5].items[3]"]


def test_scale_naming_an_unknown_item():
    definition = load("connection-signs")
    definition["scales"][1]["items"][2] = "cs99"  # openness: cs02, cs04, cs99
    problem = only_problem(definition)
    assert problem.path == "scales[1].items[2]"
    assert "cs99" in problem.message


def test_scale_naming_a_free_text_item():
    definition = load("safety-screen")
    definition["scales"][0]["items"].append("ss06")
    problem = only_problem(definition)
    assert problem.path == "scales[0].items[5]"
    assert "free text" in problem.message


def test_scale_mixing_answer_ranges():
    definition = load("connection-signs")
    definition["items"].append({"link_id": "x1", "type": "rating", "text": text()})
    definition["scales"][3]["items"].append("x1")  # conflict: cs08 (1..5) and x1 (1..10)
    assert only_problem(definition) == Problem(
        "scales[3].items", "all items of a scale must share one answer range"
    )


def test_min_answered_larger_than_the_scale():
    definition = load("connection-signs")
    definition["scales"][3]["min_answered"] = 2  # conflict has one item
    assert only_problem(definition).path == "scales[3].min_answered"


def test_duplicate_scale_key():
    definition = load("connection-signs")
    definition["scales"][4]["key"] = "conflict"
    assert only_problem(definition) == Problem("scales[4].key", "duplicate scale key 'conflict'")


def test_overlapping_bands():
    definition = load("connection-signs")
    # responsiveness bands: low [1, 2.5), moderate [2.5, 3.5), strong [3.5, 5]
    definition["scales"][0]["bands"][1]["min"] = 2.0
    problem = only_problem(definition)
    assert problem.path == "scales[0].bands[1]"
    assert "overlaps" in problem.message
    assert "'low'" in problem.message


def test_overlap_is_reported_on_the_later_band_whatever_the_list_order():
    definition = load("everyday-bond")
    bands = definition["scales"][0]["bands"]  # distant [0, 16), developing [16, 32), close
    bands.reverse()  # close, developing, distant: index 1 is still "developing"
    bands[1]["min"] = 12  # developing [12, 32) overlaps distant [0, 16)
    problem = only_problem(definition)
    assert problem.path == "scales[0].bands[1]"
    assert problem.message == "overlaps band 'distant' (0 to 16)"


def test_gap_between_bands():
    definition = load("connection-signs")
    definition["scales"][5]["bands"][2]["min"] = 4.0  # moderate ends at 3.5, strong from 4
    problem = only_problem(definition)
    assert problem.path == "scales[5].bands[2]"
    assert "gap" in problem.message
    assert "'moderate'" in problem.message


def test_a_nested_band_does_not_invent_a_gap():
    definition = load("connection-signs")
    # total bands: low [1, 2.5), moderate [2.5, 3.5), strong [3.5, 5]. Make them
    # low [1, 4), moderate [2.5, 3.5), strong [4, 5]: moderate lies inside low (a real
    # overlap), and 1..5 is covered without a gap: strong must not report one just
    # because 4 > 3.5 (moderate's max), as low already covers 3.5..4.
    definition["scales"][5]["bands"][0]["max"] = 4
    definition["scales"][5]["bands"][2]["min"] = 4
    found = problems(definition)
    assert [p.path for p in found] == ["scales[5].bands[1]"]
    assert "overlaps" in found[0].message
    assert not any("gap" in p.message for p in found)


def test_every_overlapping_band_is_reported():
    definition = load("connection-signs")
    # total bands become low [1, 5), moderate [2, 3), strong [3, 4]: both moderate and
    # strong lie inside low. Today only moderate (bands[1]) is reported; strong
    # (bands[2]) is compared with moderate alone, touches it at 3, and passes.
    bands = definition["scales"][5]["bands"]
    bands[0]["max"] = 5
    bands[1]["min"], bands[1]["max"] = 2, 3
    bands[2]["min"], bands[2]["max"] = 3, 4
    found = problems(definition)
    assert [p.path for p in found] == ["scales[5].bands[1]", "scales[5].bands[2]"]
    assert all("overlaps band 'low'" in p.message for p in found)


def test_band_outside_the_scale_range():
    definition = load("everyday-bond")
    definition["scales"][0]["bands"][2]["max"] = 50  # the sum scale runs 0..48
    assert only_problem(definition) == Problem(
        "scales[0].bands[2]", "lies outside the scale's range 0 to 48"
    )


def test_band_with_min_not_below_max():
    definition = load("connection-pulse")
    definition["scales"][0]["bands"].append({"key": "top", "min": 10, "max": 10, "label": text()})
    assert only_problem(definition) == Problem("scales[0].bands[3]", "min must be below max")


def test_duplicate_band_key():
    definition = load("connection-signs")
    definition["scales"][0]["bands"][2]["key"] = "low"
    assert only_problem(definition) == Problem("scales[0].bands[2].key", "duplicate band key 'low'")


def test_duplicate_option_value_in_an_items_own_options():
    definition = load("connection-signs")
    item = definition["items"][4]  # cs05
    del item["answer_set"]
    item["options"] = copy.deepcopy(definition["answer_sets"]["agree5"])
    assert problems(definition) == []  # inline options are fine on their own
    item["options"][3]["value"] = 1  # 1, 2, 3, 1, 5
    problem = only_problem(definition)
    assert problem.path == "items[4].options[3].value"
    assert problem.message == "duplicate option value 1"


def test_duplicate_option_value_in_an_answer_set():
    definition = load("connection-signs")
    definition["answer_sets"]["agree5"][2]["value"] = 2  # 1, 2, 2, 4, 5
    assert only_problem(definition) == Problem(
        "answer_sets.agree5[2].value", "duplicate option value 2"
    )


@pytest.mark.parametrize("bad", ["2", True, None, [2]])
def test_option_value_of_the_wrong_type_in_an_answer_set(bad):
    definition = load("connection-signs")
    definition["answer_sets"]["agree5"][1]["value"] = bad
    problem = only_problem(definition)
    assert problem.path == "answer_sets.agree5[1].value"
    assert "is not of type 'number'" in problem.message


def test_option_value_of_the_wrong_type_inline():
    definition = load("connection-signs")
    item = definition["items"][6]  # cs07
    del item["answer_set"]
    item["options"] = copy.deepcopy(definition["answer_sets"]["agree5"])
    item["options"][0]["value"] = "one"
    problem = only_problem(definition)
    assert problem.path == "items[6].options[0].value"
    assert problem.message == "'one' is not of type 'number'"


def test_unknown_answer_set():
    definition = load("connection-signs")
    definition["items"][2]["answer_set"] = "agree7"
    assert only_problem(definition) == Problem("items[2].answer_set", "unknown answer set 'agree7'")


def test_missing_translation_of_an_item():
    definition = load("connection-signs")
    del definition["items"][5]["text"]["es"]
    assert only_problem(definition) == Problem("items[5].text.es", "missing translation")


def test_missing_translation_of_an_option_label_and_a_band_label():
    definition = load("connection-signs")
    del definition["answer_sets"]["agree5"][3]["label"]["es"]
    del definition["scales"][2]["bands"][0]["label"]["en"]
    assert paths(definition) == ["answer_sets.agree5[3].label.es", "scales[2].bands[0].label.en"]


def test_undeclared_language():
    definition = load("everyday-bond")
    definition["items"][0]["text"]["fr"] = "Texte"
    assert only_problem(definition) == Problem(
        "items[0].text.fr", "language not declared in languages"
    )


def test_default_language_must_be_declared():
    definition = load("connection-pulse")
    definition["default_language"] = "fr"
    assert only_problem(definition).path == "default_language"


def test_no_total_scale():
    definition = load("connection-signs")
    del definition["scales"][5]["total"]
    assert only_problem(definition) == Problem(
        "scales", "exactly one scale must be the total; found 0"
    )


def test_two_total_scales():
    definition = load("connection-signs")
    definition["scales"][0]["total"] = True
    assert only_problem(definition) == Problem(
        "scales", "exactly one scale must be the total; found 2"
    )


def test_safety_alert_on_a_non_private_item():
    definition = load("connection-signs")
    definition["items"][0]["private"] = True  # cs01 is private, cs02 is not
    definition["alerts"] = [
        {
            "key": "worry",
            "kind": "safety",
            "items": ["cs01", "cs02"],
            "at_least": 4,
            "message": text(),
        }
    ]
    problem = only_problem(definition)
    assert problem.path == "alerts[0].items[1]"
    assert "'cs02' is not private" in problem.message


def test_safety_alert_on_a_private_item_and_clinical_alert_on_a_shared_one_are_fine():
    definition = load("connection-signs")
    definition["items"][0]["private"] = True
    definition["alerts"] = [
        {"key": "a", "kind": "safety", "items": ["cs01"], "at_least": 4, "message": text()},
        {"key": "b", "kind": "clinical", "items": ["cs02"], "at_least": 4, "message": text()},
    ]
    assert problems(definition) == []


def test_alert_problems_on_the_safety_screen():
    definition = load("safety-screen")
    definition["alerts"][0]["items"] += ["ss99", "ss06"]
    definition["alerts"].append(copy.deepcopy(definition["alerts"][0]))
    definition["alerts"][1]["items"] = ["ss01"]
    assert problems(definition) == [
        Problem("alerts[0].items[5]", "unknown item 'ss99'"),
        Problem("alerts[0].items[6]", "alerts need a scored item"),
        Problem("alerts[1].key", "duplicate alert key 'safety-any'"),
    ]


def test_a_private_instrument_has_only_private_items():
    definition = load("safety-screen")
    definition["items"][2]["private"] = False
    assert only_problem(definition).path == "items[2].private"


def test_norms_for_an_unknown_scale():
    definition = load("connection-signs")
    norm = {"mean": 3.2, "sd": 0.7, "reliability": 0.8, "n": 60, "source": "published"}
    definition["norms"] = {"total": norm}
    assert problems(definition) == []
    definition["norms"]["nope"] = norm
    assert only_problem(definition) == Problem("norms.nope", "unknown scale 'nope'")


# --- schema rules, exact paths --------------------------------------------------------------


def test_unknown_top_level_property():
    definition = load("connection-signs")
    definition["colour"] = "teal"
    problem = only_problem(definition)
    assert problem.path == ""
    assert "colour" in problem.message
    assert str(problem) == problem.message  # no path prefix at the top level


def test_unknown_item_property():
    definition = load("connection-signs")
    definition["items"][7]["weight"] = 2
    problem = only_problem(definition)
    assert problem.path == "items[7]"
    assert "weight" in problem.message


def test_missing_required_top_level_property():
    definition = load("everyday-bond")
    del definition["licence"]
    assert only_problem(definition) == Problem("", "'licence' is a required property")


def test_reliability_of_one_in_norms_is_rejected():
    definition = load("connection-signs")
    definition["norms"] = {
        "total": {"mean": 3, "sd": 1, "reliability": 1, "n": 50, "source": "published"}
    }
    assert only_problem(definition).path == "norms.total.reliability"


def test_bad_link_id_pattern():
    definition = load("connection-signs")
    definition["items"][0]["link_id"] = "-cs01"
    assert only_problem(definition).path == "items[0].link_id"


@pytest.mark.parametrize(
    ("change", "path"),
    [
        # an ordinal item needs options or an answer set, not neither and not both
        (lambda d: d["items"][3].pop("answer_set"), "items[3]"),
        (lambda d: d["items"][3].update(options=d["answer_sets"]["agree5"]), "items[3]"),
        # a rating item brings its own 1..10 options
        (lambda d: d["items"][0].update(type="rating"), "items[0]"),
        # a text item cannot be reverse keyed
        (
            lambda d: d["items"].append(
                {"link_id": "note", "type": "text", "reverse": True, "text": text()}
            ),
            "items[12]",
        ),
        (lambda d: d.update(items=[]), "items"),
        (lambda d: d["scales"][0].update(method="median"), "scales[0].method"),
        (lambda d: d["scales"][0].update(min_answered=0), "scales[0].min_answered"),
    ],
    ids=["neither", "both", "rating-with-set", "text-reverse", "no-items", "method", "min0"],
)
def test_schema_problems_name_the_place(change, path):
    definition = load("connection-signs")
    change(definition)
    assert paths(definition) == [path]


@pytest.mark.parametrize("value", [None, [], "definition", 3])
def test_non_objects_are_rejected(value):
    assert only_problem(value).path == ""


def test_schema_and_semantic_problems_come_together():
    # A schema problem does not hide the rules the schema cannot say.
    definition = load("connection-signs")
    definition["colour"] = "teal"
    definition["scales"][0]["total"] = True
    assert paths(definition) == ["", "scales"]


def test_every_problem_at_once_with_its_place():
    # The report that prompted this: a band gap came only after the duplicate value and
    # the unknown item were fixed. Now the three come in one answer.
    definition = load("connection-signs")
    definition["answer_sets"]["agree5"][1]["value"] = definition["answer_sets"]["agree5"][0][
        "value"
    ]
    definition["scales"][1]["items"][2] = "cs99"
    bands = definition["scales"][0]["bands"]
    bands[1]["min"] = bands[0]["max"] + 1
    found = paths(definition)
    assert "answer_sets.agree5[1].value" in found
    assert "scales[1].items[2]" in found
    assert "scales[0].bands[1]" in found


def test_a_rejected_item_does_not_make_references_to_it_unknown():
    # The schema names the broken link id; the scales naming it are not blamed too.
    definition = load("connection-signs")
    definition["items"][0]["link_id"] = "-cs01"
    definition["items"][1]["text"]["es"] = ""
    assert paths(definition) == ["items[0].link_id", "items[1].text.es"]


# --- helpers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (["items", 3, "options", 1, "value"], "items[3].options[1].value"),
        (["answer_sets", "agree5", 1, "value"], "answer_sets.agree5[1].value"),
        (["scales"], "scales"),
        ([], ""),
    ],
)
def test_format_path(parts, expected):
    assert format_path(parts) == expected


def test_problem_str():
    assert str(Problem("items[0].link_id", "bad")) == "items[0].link_id: bad"
    assert str(Problem("", "bad")) == "bad"


def test_item_options():
    signs = load("connection-signs")
    assert [o["value"] for o in item_options(signs, signs["items"][0])] == [1, 2, 3, 4, 5]
    pulse = load("connection-pulse")
    assert [o["value"] for o in item_options(pulse, pulse["items"][0])] == list(range(1, 11))
    safety = load("safety-screen")
    assert [o["value"] for o in item_options(safety, safety["items"][0])] == [1, 0]
    assert item_options(safety, safety["items"][5]) == []  # text
    inline = {"link_id": "x", "type": "choice", "options": [{"value": 7}, {"value": 9}]}
    assert item_options(signs, inline) == [{"value": 7}, {"value": 9}]
    assert value_range(signs, inline) == (7, 9)


def test_scale_range():
    assert scale_range({"method": "mean", "items": ["a", "b", "c"]}, (1, 5)) == (1, 5)
    # sum of 12 items of 0..4: 12 * 0 = 0, 12 * 4 = 48
    assert scale_range({"method": "sum", "items": [f"i{n}" for n in range(12)]}, (0, 4)) == (
        0,
        48,
    )
    # sum of 5 yes/no items: 0..5
    assert scale_range({"method": "sum", "items": list("abcde")}, (0, 1)) == (0, 5)


def test_localized():
    assert localized({"en": "Hello", "es": "Hola"}, "es", "en") == "Hola"
    assert localized({"en": "Hello"}, "es", "en") == "Hello"
    assert localized({"fr": "Bonjour"}, "es", "en") == "Bonjour"
    assert localized(None, "es", "en") == ""
    assert localized({}, "es", "en") == ""


# --- digest ------------------------------------------------------------------------------


def _reordered(node: Any) -> Any:
    """The same content with every object's keys in reverse order."""
    if isinstance(node, dict):
        return {key: _reordered(node[key]) for key in reversed(list(node))}
    if isinstance(node, list):
        return [_reordered(value) for value in node]
    return node


@pytest.mark.parametrize("key", KEYS)
def test_digest_is_stable_under_key_reordering(key):
    definition = load(key)
    shuffled = _reordered(definition)
    assert list(shuffled) != list(definition)  # really reordered
    assert digest(shuffled) == digest(definition)
    assert len(digest(definition)) == 64
    assert int(digest(definition), 16) >= 0  # hex


def test_digest_changes_with_content():
    base = load("connection-signs")
    seen = {digest(base)}
    for change in (
        lambda d: d["items"][0]["text"].update(en="Something else"),
        lambda d: d["items"][1].update(reverse=False),
        lambda d: d["scales"][5].update(min_answered=11),
        lambda d: d["answer_sets"]["agree5"].reverse(),  # list order is content
        lambda d: d.update(version=d["version"] + 1),
    ):
        changed = load("connection-signs")
        change(changed)
        seen.add(digest(changed))
    assert len(seen) == 6


def test_digests_of_the_library_differ():
    assert len({digest(load(key)) for key in KEYS}) == len(KEYS)


# --- answer_problems ----------------------------------------------------------------------


def signs_answers(value: float = 3) -> dict[str, Any]:
    return {f"cs{n:02d}": value for n in range(1, 13)}


def test_a_complete_valid_submission_has_no_problems():
    assert answer_problems(load("connection-signs"), signs_answers(), complete=True) == {}


def test_unknown_item():
    found = answer_problems(load("connection-signs"), {"cs01": 3, "zz99": 3}, complete=False)
    assert found == {"zz99": UNKNOWN_ITEM}
    assert UNKNOWN_ITEM == "unknown_item"


@pytest.mark.parametrize("value", [6, 0, 2.5, True, False, "3", [3], float("nan")])
def test_values_that_are_not_options(value):
    found = answer_problems(load("connection-signs"), {"cs01": value}, complete=False)
    assert found == {"cs01": NOT_AN_OPTION}
    assert NOT_AN_OPTION == "not_an_option"


@pytest.mark.parametrize("value", [1, 5, 3.0])
def test_values_that_are_options(value):
    assert answer_problems(load("connection-signs"), {"cs01": value}, complete=False) == {}


@pytest.mark.parametrize(("value", "ok"), [(1, True), (10, True), (0, False), (11, False)])
def test_rating_options_are_one_to_ten(value, ok):
    found = answer_problems(load("connection-pulse"), {"pulse": value}, complete=False)
    assert found == ({} if ok else {"pulse": NOT_AN_OPTION})


@pytest.mark.parametrize(("value", "ok"), [(0, True), (1, True), (2, False), (True, False)])
def test_yes_no_options_are_zero_and_one(value, ok):
    found = answer_problems(load("safety-screen"), {"ss01": value}, complete=False)
    assert found == ({} if ok else {"ss01": NOT_AN_OPTION})


def test_answer_set_starting_at_zero():
    definition = load("everyday-bond")
    assert answer_problems(definition, {"eb01": 0, "eb02": 4}, complete=False) == {}
    assert answer_problems(definition, {"eb01": 5}, complete=False) == {"eb01": NOT_AN_OPTION}


def test_missing_required_items_in_a_submission():
    answers = signs_answers()
    del answers["cs04"]
    answers["cs09"] = None
    found = answer_problems(load("connection-signs"), answers, complete=True)
    assert found == {"cs04": REQUIRED, "cs09": REQUIRED}
    assert REQUIRED == "required"


def test_an_empty_submission_misses_every_required_item():
    found = answer_problems(load("connection-signs"), {}, complete=True)
    assert found == {f"cs{n:02d}": REQUIRED for n in range(1, 13)}


def test_a_wrong_answer_is_reported_as_such_not_as_missing():
    answers = signs_answers() | {"cs02": 9}
    found = answer_problems(load("connection-signs"), answers, complete=True)
    assert found == {"cs02": NOT_AN_OPTION}


def test_a_draft_may_be_incomplete_and_none_clears():
    definition = load("connection-signs")
    assert answer_problems(definition, {}, complete=False) == {}
    assert answer_problems(definition, {"cs01": None, "cs02": 4}, complete=False) == {}


SAFETY_YES_NO = {"ss01": 0, "ss02": 0, "ss03": 1, "ss04": 0, "ss05": 0}


def test_an_optional_text_item_may_be_left_out():
    definition = load("safety-screen")
    assert answer_problems(definition, SAFETY_YES_NO, complete=True) == {}
    assert answer_problems(definition, SAFETY_YES_NO | {"ss06": None}, complete=True) == {}
    assert answer_problems(definition, SAFETY_YES_NO | {"ss06": ""}, complete=True) == {}


def test_text_length_limits():
    definition = load("safety-screen")  # ss06: max_length 500
    assert answer_problems(definition, {"ss06": "x" * 500}, complete=False) == {}
    assert answer_problems(definition, {"ss06": "x" * 501}, complete=False) == {"ss06": TOO_LONG}
    assert TOO_LONG == "too_long"


def test_text_items_need_text():
    found = answer_problems(load("safety-screen"), {"ss06": 42}, complete=False)
    assert found == {"ss06": NOT_TEXT}


def test_a_required_text_item_with_the_default_length():
    definition = load("connection-signs")
    definition["items"].append({"link_id": "note", "type": "text", "text": text()})
    assert problems(definition) == []
    assert DEFAULT_TEXT_LENGTH == 500
    limit = {"note": "y" * DEFAULT_TEXT_LENGTH}
    assert answer_problems(definition, limit, complete=False) == {}
    over = {"note": "y" * (DEFAULT_TEXT_LENGTH + 1)}
    assert answer_problems(definition, over, complete=False) == {"note": TOO_LONG}
    # blank text does not answer a required item in a submission, but is fine in a draft
    assert answer_problems(definition, signs_answers() | {"note": "   "}, complete=True) == {
        "note": REQUIRED
    }
    assert answer_problems(definition, {"note": "   "}, complete=False) == {}
    assert answer_problems(definition, signs_answers() | {"note": "ok"}, complete=True) == {}


def test_bands_must_cover_the_whole_range():
    definition = load("connection-signs")
    # total bands are low [1, 2.5), moderate [2.5, 3.5), strong [3.5, 5]
    definition["scales"][5]["bands"] = definition["scales"][5]["bands"][1:2]
    found = problems(definition)
    assert {p.path for p in found} == {"scales[5].bands[0]"}
    assert sorted(p.message for p in found) == [
        "bands must reach the scale's high end 5",
        "bands must start at the scale's low end 1",
    ]


# --- limits checked before the schema (an outside probe's finding 1) -------------------------


def test_twenty_thousand_object_items_are_refused_in_linear_time(monkeypatch):
    """The probe's payload: 20,000 objects in a scale's item list.

    Before the limits, jsonschema's uniqueItems compared every pair (18.5 s for
    4,000). Now the limit walk refuses the list before the schema runs at all
    (the schema validator is replaced by one that fails the test if called),
    and 100 ms of CPU time is a bound a linear walk meets with a wide margin
    on this machine while a quadratic check misses it by orders of magnitude.
    """
    definition = load("connection-pulse")
    definition["scales"][0]["items"] = [{"a": n} for n in range(20_000)]

    def schema_must_not_run(_definition: Any) -> Any:
        raise AssertionError("the schema ran before the limits refused the input")

    monkeypatch.setattr(defn, "_schema_problems", schema_must_not_run)
    started = time.process_time()
    found = problems(definition)
    elapsed = time.process_time() - started
    assert found == [Problem("scales[0].items", "has more than 200 entries")]
    assert elapsed < 0.1


def test_uniqueness_is_one_canonical_form_per_value(monkeypatch):
    """Duplicates are found with one encoding per value: linear, not pairwise."""
    calls = 0
    real_dumps = json.dumps

    def counting_dumps(*args: Any, **kwargs: Any) -> str:
        nonlocal calls
        calls += 1
        return real_dumps(*args, **kwargs)

    monkeypatch.setattr(defn.json, "dumps", counting_dumps)
    values = [{"a": n} for n in range(20_000)] + [{"a": 7}]
    found = list(defn.unique_problems(values, "scales[0].items", "item"))
    assert calls == 20_001
    assert [p.path for p in found] == ["scales[0].items[20000]"]


def test_the_schema_has_no_quadratic_unique_items():
    assert "uniqueItems" not in json.dumps(defn.schema())


def test_a_scale_listing_an_item_twice_names_the_repeat():
    definition = load("connection-pulse")
    first = definition["scales"][0]["items"][0]
    definition["scales"][0]["items"].append(first)
    position = len(definition["scales"][0]["items"]) - 1
    assert f"scales[0].items[{position}]" in paths(definition)


def test_a_repeated_language_is_named():
    definition = load("connection-pulse")
    definition["languages"].append("en")
    assert only_problem(definition).path == f"languages[{len(definition['languages']) - 1}]"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"[" * 100_000, "nested deeper than 12 levels (line 1, column 13)"),
        (b'{"a":\n' + b"[" * 20, "nested deeper than 12 levels (line 2, column 12)"),
        (b"\xff\xfe", "the file is not UTF-8 text (byte 0)"),
        (b"{nope", "not valid JSON"),
        (b" " * (defn.MAX_DEFINITION_BYTES + 1), "larger than 512 KB"),
    ],
)
def test_malformed_files_are_definition_errors_not_crashes(raw, message):
    with pytest.raises(DefinitionError) as caught:
        defn.parse(raw)
    assert message in str(caught.value)


def test_brackets_inside_strings_do_not_count_as_nesting():
    deep_text = json.dumps({"a": "[" * 1000 + '\\"{' * 50}).encode()
    assert defn.parse(deep_text) == json.loads(deep_text)


@pytest.mark.parametrize(
    ("raw_version", "fragment"),
    [
        (b"9" * 5000, "is not a number of at most 30 digits"),
        (b"-" + b"9" * 31, "is not a number of at most 30 digits"),
        (b"NaN", "is not a number of at most 30 digits"),
        (b"1" + b"0" * 12, "is larger than 1000000000"),
        (b"1e400", "is not a finite number"),
        (b"2000000", "2000000 is greater than the maximum of 1000000"),
    ],
)
def test_numbers_are_bounded_before_conversion_and_named_by_path(raw_version, fragment):
    definition = load("connection-pulse")
    text = json.dumps(definition).encode()
    shipped = f'"version": {definition["version"]}'.encode()
    raw = text.replace(shipped, b'"version": ' + raw_version, 1)
    assert raw != text
    found = only_problem(defn.parse(raw))
    assert found.path == "version"
    assert fragment in found.message


@pytest.mark.parametrize(
    ("build", "path", "fragment"),
    [
        (lambda d: d.update(citation="x" * 4001), "citation", "longer than 4000"),
        (lambda d: d.update(extra={str(n): n for n in range(201)}), "extra", "more than 200 keys"),
        (lambda d: d.update(deep=json.loads("[" * 13 + "]" * 13)), "deep" + "[0]" * 12, "deeper"),
        (lambda d: d.update(many=[[0] * 200] * 101), "", "more than 20000 values"),
    ],
)
def test_limits_name_the_place(build, path, fragment):
    definition = load("connection-pulse")
    build(definition)
    found = only_problem(definition)
    assert found.path == path
    assert fragment in found.message


def test_limit_walk_survives_any_depth_of_parsed_data():
    """Data nested past Python's recursion limit (built in code) is refused, not a crash."""
    node: list[Any] = []
    for _ in range(5_000):
        node = [node]
    assert "deeper than 12" in only_problem({"items": node}).message
