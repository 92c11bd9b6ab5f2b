"""Definitions and answers out as FHIR R4 resources: Questionnaire, QuestionnaireResponse,
Patient, Group and Bundle.

Each answer option is a ``valueCoding`` (its own code when it was imported with
one, else a code in a system of this instrument) with its score in the
``ordinalValue`` extension; ratings and numbers are ``integer``/``decimal`` with
``minValue``/``maxValue``; yes/no is ``boolean``; text is ``text``. Groups nest
their items, so the linkIds of a response follow the questionnaire's tree.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from assessments import definition as defn
from assessments.fhir import (
    BASE,
    EXT_ITEM_CONTROL,
    EXT_ITEM_TYPE,
    EXT_MAX,
    EXT_MIN,
    EXT_OCCURRENCE,
    EXT_ORDINAL,
    EXT_PRIVATE,
    EXT_SCORING,
    ITEM_CONTROL_SYSTEM,
    SYSTEM_COUPLE,
    SYSTEM_PARTNER,
    SYSTEM_RESPONSE,
    TAG_SYSTEM,
    canonical,
    translation_element,
)
from assessments.fhir.scales import spec_of

STATUS = {"draft": "draft", "published": "active", "retired": "retired"}


def canonical_url(definition: Mapping[str, Any], practice_uuid: str | None) -> str:
    """The Questionnaire's canonical URL: the source's for imports, else one of ours."""
    source = definition.get("fhir", {}).get("url")
    if source:
        return str(source)
    if practice_uuid is None:
        return f"{BASE}/Questionnaire/{definition['key']}"
    return f"{BASE}/Questionnaire/practice/{practice_uuid}/{definition['key']}"


def questionnaire_version(definition: Mapping[str, Any]) -> str:
    """The version a response names: the source's when it had one, else our number."""
    return str(definition.get("fhir", {}).get("version") or definition["version"])


def _text(node: dict[str, Any], key: str, text: Mapping[str, str] | None, default: str) -> None:
    if not text:
        return
    node[key] = text.get(default) or next(iter(text.values()))
    extra = translation_element(text, default)
    if extra:
        node[f"_{key}"] = extra


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def option_coding(
    definition: Mapping[str, Any], item: Mapping[str, Any], option: Mapping[str, Any]
) -> dict[str, Any]:
    """The Coding an option is exported (and answered) as."""
    default = definition["default_language"]
    code = option.get("code")
    if code:
        coding = {k: code[k] for k in ("system", "code", "display") if k in code}
    else:
        coding = {
            "system": f"{BASE}/CodeSystem/{definition['key']}",
            "code": f"{_number(option['value'])}",
        }
    if "display" not in coding and option.get("label"):
        coding["display"] = defn.localized(option["label"], default, default)
    return coding


def _fhir_name(key: str) -> str:
    """A computable name (que-0: starts upper-case, letters, digits and _ only)."""
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", key) if part) or "Form"


@dataclass(frozen=True)
class _Where:
    definition: Mapping[str, Any]
    items: dict[str, Mapping[str, Any]]


def _enable_when(where: _Where, rule: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for condition in rule["conditions"]:
        question = where.items[condition["item"]]
        entry: dict[str, Any] = {"question": condition["item"], "operator": "="}
        entry.update(answer_value(where.definition, question, condition["answer"], prefix="answer"))
        out.append(entry)
    return out


def _question(where: _Where, item: Mapping[str, Any]) -> dict[str, Any]:
    definition = where.definition
    default = definition["default_language"]
    kind = item["type"]
    node: dict[str, Any] = {"linkId": item["link_id"]}
    if item.get("codes"):
        node["code"] = [dict(c) for c in item["codes"]]
    _text(node, "text", item["text"], default)
    extensions: list[dict[str, Any]] = []
    if kind in {"ordinal", "choice"}:
        node["type"] = "choice"
        options = []
        for option in defn.item_options(definition, item):
            entry: dict[str, Any] = {"valueCoding": option_coding(definition, item, option)}
            label = option.get("label") or {}
            extra = translation_element(label, default) if len(label) > 1 else None
            if extra:
                entry["valueCoding"]["_display"] = extra
            entry["extension"] = [{"url": EXT_ORDINAL, "valueDecimal": option["value"]}]
            options.append(entry)
        node["answerOption"] = options
        if kind == "ordinal":
            extensions.append({"url": EXT_ITEM_TYPE, "valueCode": "ordinal"})
    elif kind == "yes_no":
        node["type"] = "boolean"
    elif kind == "rating":
        node["type"] = "integer"
        extensions += [
            {"url": EXT_MIN, "valueInteger": 1},
            {"url": EXT_MAX, "valueInteger": 10},
            {"url": EXT_ITEM_TYPE, "valueCode": "rating"},
        ]
    elif kind == "number":
        decimal = bool(item.get("decimal"))
        node["type"] = "decimal" if decimal else "integer"
        value_key = "valueDecimal" if decimal else "valueInteger"
        extensions += [
            {"url": EXT_MIN, value_key: _number(item["min"])},
            {"url": EXT_MAX, value_key: _number(item["max"])},
        ]
    else:
        node["type"] = "text"
        node["maxLength"] = item.get("max_length", defn.DEFAULT_TEXT_LENGTH)
    if item.get("private") or definition.get("private"):
        extensions.append({"url": EXT_PRIVATE, "valueBoolean": True})
    if extensions:
        node["extension"] = extensions
    node["required"] = bool(item.get("required", True))
    if item.get("enable_when"):
        node["enableWhen"] = _enable_when(where, item["enable_when"])
        if len(item["enable_when"]["conditions"]) > 1:
            node["enableBehavior"] = item["enable_when"].get("behavior", "any")
    if item.get("help"):
        help_node: dict[str, Any] = {"linkId": f"{item['link_id']}-help", "type": "display"}
        _text(help_node, "text", item["help"], default)
        help_node["extension"] = [
            {
                "url": EXT_ITEM_CONTROL,
                "valueCodeableConcept": {
                    "coding": [{"system": ITEM_CONTROL_SYSTEM, "code": "help"}]
                },
            }
        ]
        node["item"] = [help_node]
    return node


def tree(
    definition: Mapping[str, Any], items: Sequence[Mapping[str, Any]]
) -> list[tuple[str | None, list[Mapping[str, Any]]]]:
    """Items in order, gathered under their group: [(group link id or None, items)]."""
    out: list[tuple[str | None, list[Mapping[str, Any]]]] = []
    where: dict[str, list[Mapping[str, Any]]] = {}
    for item in items:
        group = item.get("group")
        if group is None:
            out.append((None, [item]))
        elif group in where:
            where[group].append(item)
        else:
            where[group] = [item]
            out.append((group, where[group]))
    return out


def questionnaire(
    definition: Mapping[str, Any],
    *,
    status: str,
    practice_uuid: str | None,
    publisher: str | None = None,
) -> dict[str, Any]:
    """A FHIR R4 Questionnaire for one instrument version, scoring included as an extension."""
    default = definition["default_language"]
    where = _Where(definition, {i["link_id"]: i for i in definition["items"]})
    groups = {g["link_id"]: g for g in definition.get("groups", [])}
    resource: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": f"{definition['key']}-v{definition['version']}"[:64],
        "extension": [
            {"url": EXT_SCORING, "valueString": json.dumps(spec_of(definition), sort_keys=True)}
        ],
        "url": canonical_url(definition, practice_uuid),
        "version": questionnaire_version(definition),
        "name": _fhir_name(definition["key"]),
        "status": STATUS.get(status, "draft"),
        "language": default,
        "subjectType": ["Patient"],
        "copyright": definition["licence"],
    }
    _text(resource, "title", definition["title"], default)
    _text(resource, "description", definition["description"], default)
    if publisher:
        resource["publisher"] = publisher
    if definition.get("fhir", {}).get("codes"):
        resource["code"] = [dict(c) for c in definition["fhir"]["codes"]]
    nodes: list[dict[str, Any]] = []
    if definition.get("instructions"):
        intro: dict[str, Any] = {"linkId": "instructions", "type": "display"}
        _text(intro, "text", definition["instructions"], default)
        if intro["linkId"] not in where.items:
            nodes.append(intro)
    for group_id, members in tree(definition, definition["items"]):
        if group_id is None:
            nodes.append(_question(where, members[0]))
            continue
        group = groups[group_id]
        node: dict[str, Any] = {"linkId": group_id, "type": "group"}
        if group.get("codes"):
            node["code"] = [dict(c) for c in group["codes"]]
        _text(node, "text", group["text"], default)
        children = [_question(where, m) for m in members]
        if group.get("help"):
            help_node: dict[str, Any] = {"linkId": f"{group_id}-help", "type": "display"}
            _text(help_node, "text", group["help"], default)
            children.insert(0, help_node)
        node["item"] = children
        nodes.append(node)
    resource["item"] = nodes
    return resource


def answer_value(
    definition: Mapping[str, Any], item: Mapping[str, Any], value: Any, prefix: str = "value"
) -> dict[str, Any]:
    """One stored answer as FHIR ``value[x]`` (``answer[x]`` with prefix="answer")."""
    kind = item["type"]
    if kind in {"ordinal", "choice"}:
        for option in defn.item_options(definition, item):
            if option["value"] == value:
                return {f"{prefix}Coding": option_coding(definition, item, option)}
        raise ValueError(f"{value!r} is not an option of {item['link_id']}")
    if kind == "yes_no":
        return {f"{prefix}Boolean": bool(value)}
    if kind == "rating" or (kind == "number" and not item.get("decimal")):
        return {f"{prefix}Integer": int(value)}
    if kind == "number":
        return {f"{prefix}Decimal": _number(value)}
    return {f"{prefix}String": str(value)}


@dataclass(frozen=True)
class Answered:
    """One submitted response, as the exporter needs it."""

    uuid: str
    partner_uuid: str
    answers: Mapping[str, Any]
    authored: str  # ISO 8601 with a time zone
    language: str
    occurrence_uuid: str
    due: str  # ISO date


def questionnaire_response(
    definition: Mapping[str, Any],
    answered: Answered,
    *,
    questionnaire: str,
    include_private: bool,
) -> dict[str, Any]:
    """A completed QuestionnaireResponse; private items only when asked for."""
    items = [
        item
        for item in definition["items"]
        if item["link_id"] in answered.answers
        and (include_private or not (definition.get("private") or item.get("private")))
    ]
    nodes: list[dict[str, Any]] = []
    for group_id, members in tree(definition, items):
        answers = [
            {
                "linkId": m["link_id"],
                "answer": [answer_value(definition, m, answered.answers[m["link_id"]])],
            }
            for m in members
        ]
        if group_id is None:
            nodes.extend(answers)
        else:
            nodes.append({"linkId": group_id, "item": answers})
    partner = {
        "reference": f"Patient/{answered.partner_uuid}",
        "identifier": {"system": SYSTEM_PARTNER, "value": answered.partner_uuid},
    }
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": answered.uuid,
        "extension": [
            {
                "url": EXT_OCCURRENCE,
                "extension": [
                    {"url": "id", "valueString": answered.occurrence_uuid},
                    {"url": "due", "valueDate": answered.due},
                ],
            }
        ],
        "identifier": {"system": SYSTEM_RESPONSE, "value": answered.uuid},
        "questionnaire": questionnaire,
        "status": "completed",
        "subject": partner,
        "author": dict(partner),
        "source": dict(partner),
        "authored": answered.authored,
        "language": answered.language,
    }
    if nodes:
        resource["item"] = nodes
    return resource


@dataclass(frozen=True)
class Person:
    uuid: str
    position: int
    language: str
    name: str | None = None  # only when names were asked for
    email: str | None = None


def patient(person: Person) -> dict[str, Any]:
    """A partner as a Patient: an identifier by UUID, a name and email only when asked for."""
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": person.uuid,
        "identifier": [{"system": SYSTEM_PARTNER, "value": person.uuid}],
        "communication": [
            {
                "language": {"coding": [{"system": "urn:ietf:bcp:47", "code": person.language}]},
                "preferred": True,
            }
        ],
    }
    if person.name:
        resource["name"] = [{"text": person.name}]
    if person.email:
        resource["telecom"] = [{"system": "email", "value": person.email}]
    return resource


def couple_group(uuid: str, people: Sequence[Person], label: str | None) -> dict[str, Any]:
    """A couple as a Group of its two partners, in partner order."""
    resource: dict[str, Any] = {
        "resourceType": "Group",
        "id": uuid,
        "identifier": [{"system": SYSTEM_COUPLE, "value": uuid}],
        "type": "person",
        "actual": True,
        "quantity": len(people),
        "member": [
            {"entity": {"reference": f"Patient/{p.uuid}"}}
            for p in sorted(people, key=lambda p: p.position)
        ],
    }
    if label:
        resource["name"] = label
    return resource


def bundle(
    resources: Iterable[Mapping[str, Any]], *, timestamp: str, private_left_out: bool
) -> dict[str, Any]:
    """A collection Bundle; fullUrls under our base so ``Patient/<uuid>`` references resolve."""
    entries = [
        {"fullUrl": f"{BASE}/{r['resourceType']}/{r['id']}", "resource": dict(r)} for r in resources
    ]
    return {
        "resourceType": "Bundle",
        "meta": {
            "tag": [
                {
                    "system": TAG_SYSTEM,
                    "code": "private-left-out" if private_left_out else "private-included",
                }
            ]
        },
        "type": "collection",
        "timestamp": timestamp,
        "entry": entries,
    }


def response_canonical(definition: Mapping[str, Any], practice_uuid: str | None) -> str:
    """What a response's ``questionnaire`` names for this instrument version."""
    return canonical(canonical_url(definition, practice_uuid), questionnaire_version(definition))
