"""FHIR R4 mapping (assessments.fhir): pure, no database.

Imports are checked against the two fixtures in tests/data/ and a questionnaire
built to fail in every way we refuse; exports are validated by fhir.resources
(its R4B package, whose Questionnaire, QuestionnaireResponse, Bundle, Patient
and Group match R4's), both for our built-ins and for the imported fixtures.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from pydantic import ValidationError

from assessments import definition as defn
from assessments.fhir import FhirError, exporter, importer, responses, scales
from assessments.scoring_rules import Plan

DATA = Path(__file__).resolve().parent / "data"
LIBRARY = Path(defn.__file__).resolve().parent / "library"
SDC = "sdc-connection-panel.json"
ARGONAUT = "argonaut-weekly-check-in.json"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text())


def library() -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(LIBRARY.glob("*.json"))]


SDC_SPEC = {
    "scales": [
        {
            "key": "total",
            "label": "Connection",
            "items": ["/90002-6", "/90003-4", "/90004-2", "/90005-9"],
            "method": "sum",
        }
    ]
}
ARGONAUT_SPEC = {
    "reverse": ["closeness.2"],
    "scales": [
        {
            "key": "closeness",
            "label": "Closeness",
            "items": ["closeness.1", "closeness.2"],
            "method": "mean",
            "min_answered": 2,
            "total": True,
            "bands": [
                {"key": "low", "min": 1, "max": 3, "label": "Distant"},
                {"key": "high", "min": 3, "max": 5, "label": "Close"},
            ],
        },
        {
            "key": "time",
            "label": "Evenings together",
            "items": ["closeness.3"],
            "method": "sum",
            "min_answered": 1,
        },
    ],
}


def imported(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return scales.complete(importer.parse(fixture(name)).definition, spec)


# --- import -----------------------------------------------------------------------------


def test_a_strict_validator_rejects_the_sdc_panel_only_for_its_expression_names():
    with pytest.raises(ValidationError) as raised:
        Questionnaire.model_validate(fixture(SDC))
    places = {".".join(str(p) for p in e["loc"]) for e in raised.value.errors()}
    assert places == {"extension.1.valueExpression.name", "item.5.extension.0.valueExpression.name"}


def test_the_sdc_panel_imports_with_loinc_codes_and_ordinal_scores():
    draft = importer.parse(fixture(SDC))
    definition = draft.definition
    assert [i["link_id"] for i in definition["items"]] == [
        "/90002-6",
        "/90003-4",
        "/90004-2",
        "/90005-9",
        "/note",
    ]
    first = definition["items"][0]
    assert first["codes"][0] == {
        "code": "90002-6",
        "system": "http://loinc.org",
        "display": "How often did you feel your partner was really listening to you?",
    }
    assert [(o["value"], o["code"]["code"]) for o in first["options"]] == [
        (0, "LA6568-5"),
        (1, "LA6569-3"),
        (2, "LA6570-1"),
        (3, "LA6571-9"),
    ]
    assert definition["instructions"] == {"en": "Think about the last two weeks with your partner."}
    assert definition["items"][4] == {
        "link_id": "/note",
        "type": "text",
        "required": False,
        "max_length": 400,
        "text": {"en": "Anything you would like your therapist to know?"},
    }
    assert definition["fhir"]["url"] == "http://example.org/fhir/Questionnaire/connection-fortnight"
    assert definition["fhir"]["version"] == "1.2.0"
    assert draft.scorable == ["/90002-6", "/90003-4", "/90004-2", "/90005-9"]
    # The calculated total is left out, named, with the reason; nothing else is fatal.
    assert draft.notes[0].startswith("Left out /90006-7: its value is calculated in the source")
    ignored = " ".join(draft.notes[1:])
    for name in (
        "questionnaire-itemControl",
        "sdc-questionnaire-observationExtract",
        "StructureDefinition/variable",
        "sdc-questionnaire-launchContext",
    ):
        assert name in ignored


def test_the_argonaut_variant_imports_groups_value_sets_conditions_and_spanish():
    draft = importer.parse(fixture(ARGONAUT))
    definition = draft.definition
    assert definition["languages"] == ["en", "es"]
    assert definition["title"] == {"en": "Weekly check-in", "es": "Revisión semanal"}
    assert [g["link_id"] for g in definition["groups"]] == ["closeness", "conflict"]
    items = {i["link_id"]: i for i in definition["items"]}
    assert [o["value"] for o in items["closeness.1"]["options"]] == [1, 2, 3, 4, 5]
    assert items["closeness.1"]["options"][4]["label"] == {
        "en": "Strongly agree",
        "es": "Muy de acuerdo",
    }
    assert items["closeness.2"]["help"]["es"] == "Responda pensando en la semana entera."
    assert items["closeness.3"] == {**items["closeness.3"], "type": "number", "min": 0, "max": 7}
    assert items["conflict.1"]["type"] == "yes_no"
    assert items["conflict.2"]["enable_when"] == {
        "conditions": [{"item": "conflict.1", "answer": 1}]
    }
    assert items["conflict.3"]["enable_when"] == {
        "behavior": "any",
        "conditions": [{"item": "conflict.2", "answer": 0}, {"item": "conflict.2", "answer": 1}],
    }
    assert draft.notes == []


def broken_questionnaire() -> dict[str, Any]:
    ok = {"linkId": "ok", "type": "boolean", "text": "Fine"}
    return {
        "resourceType": "Questionnaire",
        "status": "active",
        "item": [
            ok,
            {
                "linkId": "open",
                "type": "open-choice",
                "text": "x",
                "answerOption": [{"valueString": "a"}, {"valueString": "b"}],
            },
            {"linkId": "when", "type": "date", "text": "x"},
            {
                "linkId": "many",
                "type": "choice",
                "text": "x",
                "repeats": True,
                "answerOption": [{"valueInteger": 1}, {"valueInteger": 2}],
            },
            {
                "linkId": "outside",
                "type": "choice",
                "text": "x",
                "answerValueSet": "http://example.org/ValueSet/far",
            },
            {"linkId": "unbounded", "type": "integer", "text": "x"},
            {
                "linkId": "greater",
                "type": "boolean",
                "text": "x",
                "enableWhen": [{"question": "ok", "operator": ">", "answerBoolean": True}],
            },
            {
                "linkId": "same",
                "type": "choice",
                "text": "x",
                "answerOption": [
                    {
                        "valueCoding": {"code": "a"},
                        "extension": [
                            {
                                "url": "http://hl7.org/fhir/StructureDefinition/itemWeight",
                                "valueDecimal": 1,
                            }
                        ],
                    },
                    {
                        "valueCoding": {"code": "b"},
                        "extension": [
                            {
                                "url": "http://hl7.org/fhir/StructureDefinition/itemWeight",
                                "valueDecimal": 1,
                            }
                        ],
                    },
                ],
            },
            {
                "linkId": "mixed",
                "type": "choice",
                "text": "x",
                "answerOption": [
                    {
                        "valueCoding": {"code": "a"},
                        "extension": [
                            {
                                "url": "http://hl7.org/fhir/StructureDefinition/ordinalValue",
                                "valueDecimal": 1,
                            }
                        ],
                    },
                    {"valueCoding": {"code": "b"}},
                ],
            },
            {"linkId": "silent", "type": "boolean"},
            {"linkId": "bad id", "type": "boolean", "text": "x"},
            {
                "linkId": "ahead",
                "type": "boolean",
                "text": "x",
                "enableWhen": [{"question": "later", "operator": "=", "answerBoolean": True}],
            },
            {"linkId": "later", "type": "boolean", "text": "x"},
            {"linkId": "loop", "type": "group", "text": "x", "repeats": True, "item": [ok]},
            {"linkId": "ok", "type": "boolean", "text": "again"},
        ],
    }


def test_every_refusal_is_named_at_once():
    with pytest.raises(FhirError) as raised:
        importer.parse(broken_questionnaire())
    refused = {r.link_id: r.reason for r in raised.value.refusals}
    assert set(refused) == {
        "open",
        "when",
        "many",
        "outside",
        "unbounded",
        "greater",
        "same",
        "mixed",
        "silent",
        "bad id",
        "ahead",
        "loop",
        "ok",
    }
    assert "open-choice" in refused["open"]
    assert "'date'" in refused["when"]
    assert "several answers" in refused["many"]
    assert "http://example.org/ValueSet/far" in refused["outside"]
    assert "minValue and maxValue" in refused["unbounded"]
    assert "'>'" in refused["greater"]
    assert "share the score 1" in refused["same"]
    assert "others do not" in refused["mixed"]
    assert "no text" in refused["silent"]
    assert "linkId must start" in refused["bad id"]
    assert "'later'" in refused["ahead"]
    assert "repeating group" in refused["loop"]
    assert "used twice" in refused["ok"]
    assert "open:" in str(raised.value)


@pytest.mark.parametrize(
    "resource",
    [None, [], {"resourceType": "Patient"}, {"resourceType": "Questionnaire", "item": []}],
)
def test_what_is_not_a_questionnaire_is_refused_plainly(resource):
    with pytest.raises(FhirError) as raised:
        importer.parse(resource)
    assert raised.value.refusals[0].link_id == ""


def test_proposed_keys_are_valid_instrument_keys():
    assert importer.proposed_key({"name": "ConnectionFortnight"}) == "connection-fortnight"
    assert importer.proposed_key({"id": "44249-1"}) == "q-44249-1"
    assert importer.proposed_key({}) == "imported"


# --- the scales step ---------------------------------------------------------------------


def test_the_scales_step_completes_a_definition_that_scores():
    definition = imported(ARGONAUT, ARGONAUT_SPEC)
    plan = Plan.compile(definition)
    result = plan.score({"closeness.1": 5, "closeness.2": 1, "closeness.3": 4})
    assert result.scales["closeness"].value == 5  # closeness.2 reversed: 1 -> 5
    assert result.scales["closeness"].band == "high"
    assert result.scales["time"].value == 4
    assert definition["scales"][0]["label"] == {"en": "Closeness", "es": "Closeness"}
    # Without min_answered, 80 % of the items (rounded up) must be answered.
    sdc = imported(SDC, SDC_SPEC)
    assert sdc["scales"][0]["min_answered"] == 4 and sdc["scales"][0]["total"] is True


def test_scale_problems_name_the_place():
    draft = importer.parse(fixture(ARGONAUT)).definition
    spec = copy.deepcopy(ARGONAUT_SPEC)
    spec["scales"][0]["items"].append("closeness.3")  # 0-7 does not share 1-5
    spec["scales"][1]["items"] = ["nope"]
    spec["reverse"] = ["conflict.9"]
    spec["colour"] = "red"
    with pytest.raises(defn.DefinitionError) as raised:
        scales.complete(draft, spec)
    assert {p.path for p in raised.value.problems} == {"colour", "reverse[0]"}
    del spec["colour"]
    spec["reverse"] = []
    with pytest.raises(defn.DefinitionError) as raised:
        scales.complete(draft, spec)
    assert {p.path for p in raised.value.problems} == {"scales[0].items", "scales[1].items[0]"}


def test_the_provisional_total_uses_the_largest_set_sharing_a_range():
    draft = importer.parse(fixture(ARGONAUT)).definition
    spec = scales.provisional_spec(draft, {"en": "Total", "es": "Total"})
    assert spec["scales"][0]["items"] == ["closeness.1", "closeness.2", "conflict.3"]
    assert defn.problems(scales.complete(draft, spec)) == []


# --- export -------------------------------------------------------------------------------


def answers_for(definition: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """A complete random submission (hidden items left out)."""
    answers: dict[str, Any] = {}
    for item in definition["items"]:
        if item["type"] == "text":
            answers[item["link_id"]] = "Some words"
        elif item["type"] == "number":
            answers[item["link_id"]] = rng.randint(int(item["min"]), int(item["max"]))
        else:
            answers[item["link_id"]] = rng.choice(
                [o["value"] for o in defn.item_options(definition, item)]
            )
    return defn.without_hidden(definition, answers)


ALL = [pytest.param(d, id=d["key"]) for d in library()] + [
    pytest.param(imported(SDC, SDC_SPEC), id="sdc"),
    pytest.param(imported(ARGONAUT, ARGONAUT_SPEC), id="argonaut"),
]


@pytest.mark.parametrize("definition", ALL)
def test_every_instrument_exports_as_a_valid_questionnaire_that_imports_back(definition):
    resource = exporter.questionnaire(definition, status="published", practice_uuid=None)
    Questionnaire.model_validate(resource)
    draft = importer.parse(json.loads(json.dumps(resource)))
    assert draft.scoring is not None
    again = scales.complete(draft.definition, draft.scoring)
    assert [i["link_id"] for i in again["items"]] == [i["link_id"] for i in definition["items"]]
    for before, after in zip(definition["items"], again["items"], strict=True):
        assert after["text"] == before["text"] and after["type"] == before["type"]
        assert [(o["value"], o["label"]) for o in defn.item_options(again, after)] == [
            (o["value"], o["label"]) for o in defn.item_options(definition, before)
        ]
    assert again["scales"] == definition["scales"]
    assert again.get("alerts") == definition.get("alerts")
    rng = random.Random(7)
    for _ in range(20):
        answers = answers_for(definition, rng)
        assert Plan.compile(again).score(answers) == Plan.compile(definition).score(answers)


@pytest.mark.parametrize("definition", ALL)
def test_every_response_exports_as_a_valid_questionnaire_response_that_reads_back(definition):
    answers = answers_for(definition, random.Random(3))
    answered = exporter.Answered(
        uuid="7f1c2a8e-1111-4b5e-9c31-0f6a6d0c1e01",
        partner_uuid="1b8f3c2d-2222-4e4f-8a1b-2c3d4e5f6a7b",
        answers=answers,
        authored="2026-03-02T10:15:00+00:00",
        language="es",
        occurrence_uuid="3c9d8e7f-3333-4a1b-9c2d-3e4f5a6b7c8d",
        due="2026-03-01",
    )
    url = exporter.response_canonical(definition, None)
    resource = exporter.questionnaire_response(
        definition, answered, questionnaire=url, include_private=True
    )
    QuestionnaireResponse.model_validate(resource)
    questionnaire = exporter.questionnaire(definition, status="published", practice_uuid=None)
    question_ids = set()
    stack = list(questionnaire["item"])
    while stack:
        node = stack.pop()
        question_ids.add(node["linkId"])
        stack.extend(node.get("item", []))
    answered_ids = {n["linkId"] for n in resource.get("item", [])} | {
        c["linkId"] for n in resource.get("item", []) for c in n.get("item", [])
    }
    assert answered_ids <= question_ids  # linkIds match the questionnaire's
    assert responses.answers_from(definition, resource) == answers
    assert responses.occurrence_of(resource) == (answered.occurrence_uuid, "2026-03-01")
    shared = exporter.questionnaire_response(
        definition, answered, questionnaire=url, include_private=False
    )
    private = {
        i["link_id"] for i in definition["items"] if definition.get("private") or i.get("private")
    }
    assert set(responses.answers_from(definition, shared)) == set(answers) - private


def test_a_couple_bundle_validates_and_reads_back_without_names_unless_asked():
    definition = library()[0]
    people = [
        exporter.Person("1b8f3c2d-2222-4e4f-8a1b-2c3d4e5f6a7b", 1, "en"),
        exporter.Person("2c9a4d3e-3333-4f5a-9b2c-3d4e5f6a7b8c", 2, "es", "Ana", "ana@x.test"),
    ]
    answered = exporter.Answered(
        "7f1c2a8e-1111-4b5e-9c31-0f6a6d0c1e01",
        people[1].uuid,
        answers_for(definition, random.Random(1)),
        "2026-03-02T10:15:00+00:00",
        "es",
        "3c9d8e7f-3333-4a1b-9c2d-3e4f5a6b7c8d",
        "2026-03-01",
    )
    bundle = exporter.bundle(
        [
            exporter.couple_group("9d8c7b6a-4444-4a5b-8c9d-0e1f2a3b4c5d", people, None),
            *(exporter.patient(p) for p in people),
            exporter.questionnaire(definition, status="published", practice_uuid=None),
            exporter.questionnaire_response(
                definition,
                answered,
                questionnaire=exporter.response_canonical(definition, None),
                include_private=False,
            ),
        ],
        timestamp="2026-03-03T08:00:00+00:00",
        private_left_out=True,
    )
    Bundle.model_validate(bundle)
    assert "Ana" in json.dumps(bundle) and "name" not in bundle["entry"][1]["resource"]
    parsed = responses.parse_bundle(bundle)
    assert [p.uuid for p in parsed.people] == [p.uuid for p in people]
    assert parsed.people[1].name == "Ana" and parsed.people[0].name is None
    assert parsed.couple_uuid == "9d8c7b6a-4444-4a5b-8c9d-0e1f2a3b4c5d"
    assert len(parsed.responses) == 1 and len(parsed.questionnaires) == 1
    bundle["entry"][4]["resource"]["subject"] = {"reference": "Patient/someone-else"}
    with pytest.raises(FhirError) as raised:
        responses.parse_bundle(bundle)
    assert raised.value.refusals[0].link_id == answered.uuid
