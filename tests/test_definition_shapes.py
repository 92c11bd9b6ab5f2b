"""The definition shapes FHIR questionnaires need: typed numbers, groups, conditions, codes.

Pure: no database. Each broken definition differs from a valid one in one place,
and the test names the exact path of the problem.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from assessments import definition as defn
from assessments.scoring_rules import Plan


def base() -> dict[str, Any]:
    """A small valid definition using every new shape."""
    return copy.deepcopy(
        {
            "key": "shapes",
            "version": 1,
            "default_language": "en",
            "languages": ["en"],
            "title": {"en": "Shapes"},
            "description": {"en": "Shapes."},
            "estimated_minutes": 2,
            "practice_authored": False,
            "validated": False,
            "citation": "Test.",
            "licence": "Test.",
            "direction": "higher_is_better",
            "fhir": {"url": "http://example.org/Questionnaire/shapes", "version": "2.1"},
            "groups": [{"link_id": "/g1", "text": {"en": "Lately"}}],
            "items": [
                {
                    "link_id": "/g1/q1",
                    "type": "choice",
                    "group": "/g1",
                    "text": {"en": "Often?"},
                    "codes": [{"system": "http://loinc.org", "code": "0000-1"}],
                    "options": [
                        {"value": 0, "label": {"en": "No"}, "code": {"code": "LA1-1"}},
                        {"value": 3, "label": {"en": "Yes"}, "code": {"code": "LA2-2"}},
                    ],
                },
                {
                    "link_id": "/g1/q2",
                    "type": "number",
                    "group": "/g1",
                    "text": {"en": "How many evenings?"},
                    "min": 0,
                    "max": 3,
                    "enable_when": {"conditions": [{"item": "/g1/q1", "answer": 3}]},
                },
                {
                    "link_id": "q3",
                    "type": "number",
                    "text": {"en": "Hours?"},
                    "min": 0,
                    "max": 24,
                    "decimal": True,
                    "required": False,
                },
            ],
            "scales": [
                {
                    "key": "total",
                    "label": {"en": "Total"},
                    "items": ["/g1/q1", "/g1/q2"],
                    "method": "sum",
                    "min_answered": 1,
                    "total": True,
                }
            ],
        }
    )


def paths(definition: dict[str, Any]) -> list[str]:
    return [p.path for p in defn.problems(definition)]


def test_the_new_shapes_validate_and_score():
    definition = base()
    assert defn.problems(definition) == []
    plan = Plan.compile(definition)
    # A number item's range is its min and max, so it can share a scale with 0-3 options.
    assert plan.ranges["/g1/q2"] == (0, 3)
    assert plan.score({"/g1/q1": 3, "/g1/q2": 2}).total.value == 5


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda d: d["items"][1].update(min=3, max=3), "items[1].max"),
        (lambda d: d["items"][1].update(min=0.5), "items[1].min"),
        (lambda d: d["items"][1].pop("max"), "items[1]"),
        (lambda d: d["items"][0].update(min=1), "items[0]"),
        (lambda d: d["items"][0].update(group="/nowhere"), "items[0].group"),
        (
            lambda d: d["groups"].append({"link_id": "/g1", "text": {"en": "x"}}),
            "groups[1].link_id",
        ),
        (lambda d: d["items"][2].update(link_id="/g1"), "items[2].link_id"),
        (
            lambda d: d["items"][1]["enable_when"]["conditions"][0].update(answer=2),
            "items[1].enable_when.conditions[0].answer",
        ),
        (
            lambda d: d["items"][1]["enable_when"]["conditions"][0].update(item="q3"),
            "items[1].enable_when.conditions[0].item",
        ),
        (lambda d: d["items"][1].update(link_id="bad id"), "items[1].link_id"),
    ],
)
def test_each_broken_shape_is_named(change, path):
    definition = base()
    change(definition)
    assert path in paths(definition)


def test_a_condition_may_only_look_back():
    definition = base()
    definition["items"][0]["enable_when"] = {"conditions": [{"item": "/g1/q2", "answer": 1}]}
    assert paths(definition) == ["items[0].enable_when.conditions[0].item"]


def test_imported_link_ids_with_slashes_and_colons_are_valid():
    definition = base()
    definition["items"][2]["link_id"] = "/44250-9:a.b_c"
    assert defn.problems(definition) == []
    definition["items"][2]["link_id"] = "-starts-with-a-dash"
    assert paths(definition) == ["items[2].link_id"]


def test_number_answers_are_checked_for_range_and_wholeness():
    definition = base()
    check = defn.answer_problems
    assert check(definition, {"/g1/q2": 2, "q3": 7.5}, complete=False) == {}
    assert check(definition, {"/g1/q2": 4}, complete=False) == {"/g1/q2": defn.OUT_OF_RANGE}
    assert check(definition, {"/g1/q2": 1.5}, complete=False) == {"/g1/q2": defn.NOT_WHOLE}
    assert check(definition, {"/g1/q2": "2,5"}, complete=False) == {"/g1/q2": defn.NOT_A_NUMBER}
    assert check(definition, {"/g1/q2": float("nan")}, complete=False) == {
        "/g1/q2": defn.OUT_OF_RANGE
    }
    assert check(definition, {"/g1/q2": True}, complete=False) == {"/g1/q2": defn.NOT_A_NUMBER}


def test_a_hidden_question_is_not_required_and_its_answer_is_dropped():
    definition = base()
    # q1 = 0 hides q2: the submission is complete without it.
    assert defn.answer_problems(definition, {"/g1/q1": 0}, complete=True) == {}
    assert defn.without_hidden(definition, {"/g1/q1": 0, "/g1/q2": 2}) == {"/g1/q1": 0}
    # q1 = 3 shows q2, which is then required.
    assert defn.answer_problems(definition, {"/g1/q1": 3}, complete=True) == {
        "/g1/q2": defn.REQUIRED
    }


def test_all_and_any_behaviours_and_chains():
    definition = base()
    definition["items"][2]["enable_when"] = {
        "behavior": "all",
        "conditions": [{"item": "/g1/q1", "answer": 3}, {"item": "/g1/q2", "answer": 1}],
    }
    shown = defn.enabled_items
    assert "q3" in shown(definition, {"/g1/q1": 3, "/g1/q2": 1})
    assert "q3" not in shown(definition, {"/g1/q1": 3, "/g1/q2": 2})
    # q2 hidden by q1 = 0: its stale answer no longer counts for q3.
    assert "q3" not in shown(definition, {"/g1/q1": 0, "/g1/q2": 1})
    definition["items"][2]["enable_when"]["behavior"] = "any"
    assert "q3" in shown(definition, {"/g1/q1": 3, "/g1/q2": 2})
