"""QuestionnaireResponses and Bundles read back: answers by linkId, and who gave them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from assessments import definition as defn
from assessments.fhir import (
    EXT_OCCURRENCE,
    SYSTEM_COUPLE,
    SYSTEM_PARTNER,
    FhirError,
    Refusal,
    extensions,
    split_canonical,
)
from assessments.fhir.exporter import option_coding


def _answered_items(nodes: Any) -> Iterator[Mapping[str, Any]]:
    """Every item with answers, at any depth (groups and nested questions)."""
    for node in nodes if isinstance(nodes, list) else []:
        if not isinstance(node, Mapping):
            continue
        if node.get("answer"):
            yield node
            for answer in node["answer"]:
                if isinstance(answer, Mapping):
                    yield from _answered_items(answer.get("item"))
        yield from _answered_items(node.get("item"))


def _value(
    definition: Mapping[str, Any], item: Mapping[str, Any], answer: Mapping[str, Any]
) -> Any:
    kind = item["type"]
    if kind in {"ordinal", "choice"}:
        coding = answer.get("valueCoding")
        if isinstance(coding, Mapping):
            for option in defn.item_options(definition, item):
                ours = option_coding(definition, item, option)
                same_system = not coding.get("system") or coding.get("system") == ours.get("system")
                if coding.get("code") == ours["code"] and same_system:
                    return option["value"]
            return None
        for key in ("valueInteger", "valueString"):
            if key in answer:
                wanted = answer[key]
                for option in defn.item_options(definition, item):
                    code = (option.get("code") or {}).get("code")
                    if (key == "valueString" and code == wanted) or (
                        key == "valueInteger" and not code and option["value"] == wanted
                    ):
                        return option["value"]
        return None
    if kind == "yes_no":
        value = answer.get("valueBoolean")
        return int(value) if isinstance(value, bool) else None
    if kind in {"rating", "number"}:
        for key in ("valueInteger", "valueDecimal"):
            value = answer.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                return value
        return None
    value = answer.get("valueString")
    return value if isinstance(value, str) else None


def answers_from(definition: Mapping[str, Any], response: Mapping[str, Any]) -> dict[str, Any]:
    """A response's answers as ``{link_id: value}``; raises FhirError naming each bad one.

    Answers to items this instrument does not have (a calculated total left out on
    import, say) are passed over.
    """
    items = {item["link_id"]: item for item in definition["items"]}
    answers: dict[str, Any] = {}
    refusals: list[Refusal] = []
    for node in _answered_items(response.get("item")):
        link_id = str(node.get("linkId"))
        item = items.get(link_id)
        if item is None:
            continue
        raw = node["answer"]
        if len(raw) != 1 or not isinstance(raw[0], Mapping):
            refusals.append(Refusal(link_id, "has more than one answer"))
            continue
        value = _value(definition, item, raw[0])
        if value is None:
            refusals.append(Refusal(link_id, "the answer is not one this question accepts"))
            continue
        answers[link_id] = value
    for link_id, code in defn.answer_problems(definition, answers, complete=False).items():
        refusals.append(Refusal(link_id, f"the answer does not fit the question ({code})"))
    if refusals:
        raise FhirError(refusals)
    return answers


def reference_uuid(reference: Any, system: str) -> str | None:
    """The UUID a reference names: by identifier in ``system``, else the id at its end."""
    if not isinstance(reference, Mapping):
        return None
    identifier = reference.get("identifier")
    if isinstance(identifier, Mapping) and identifier.get("system") == system:
        return str(identifier.get("value") or "") or None
    target = reference.get("reference")
    if isinstance(target, str) and "/" in target:
        return target.rstrip("/").rsplit("/", 1)[-1] or None
    return None


@dataclass
class Person:
    uuid: str
    name: str | None
    email: str | None
    language: str | None


@dataclass
class Parsed:
    """A couple export read back."""

    couple_uuid: str | None
    label: str | None
    people: list[Person]
    questionnaires: list[Mapping[str, Any]]
    responses: list[Mapping[str, Any]] = field(default_factory=list)


def parse_bundle(bundle: Any) -> Parsed:
    """The couple, partners, questionnaires and responses of a Bundle (at most one couple)."""
    if not isinstance(bundle, Mapping) or bundle.get("resourceType") != "Bundle":
        raise FhirError([Refusal("", "this is not a FHIR Bundle (resourceType)")])
    by_type: dict[str, list[Mapping[str, Any]]] = {}
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if isinstance(resource, Mapping):
            by_type.setdefault(str(resource.get("resourceType")), []).append(resource)
    refusals: list[Refusal] = []
    groups = by_type.get("Group", [])
    if len(groups) > 1:
        refusals.append(Refusal("", "the bundle holds more than one couple (Group)"))
    patients = {str(p.get("id")): p for p in by_type.get("Patient", [])}
    order = list(patients)
    couple_uuid = label = None
    if groups:
        group = groups[0]
        couple_uuid = next(
            (
                i.get("value")
                for i in group.get("identifier") or []
                if i.get("system") == SYSTEM_COUPLE
            ),
            group.get("id"),
        )
        label = group.get("name") if isinstance(group.get("name"), str) else None
        order = [
            uuid
            for member in group.get("member") or []
            if (uuid := reference_uuid(member.get("entity"), SYSTEM_PARTNER)) is not None
        ]
    responses = by_type.get("QuestionnaireResponse", [])
    for response in responses:
        subject = reference_uuid(response.get("subject"), SYSTEM_PARTNER)
        if subject is None or subject not in order:
            refusals.append(
                Refusal(str(response.get("id", "")), "its subject is not a partner in the bundle")
            )
        if response.get("status") != "completed":
            refusals.append(
                Refusal(str(response.get("id", "")), "only completed responses are imported")
            )
    if len(order) != 2:
        refusals.append(Refusal("", f"a couple has two partners; the bundle names {len(order)}"))
    if refusals:
        raise FhirError(refusals)
    people = []
    for uuid in order:
        resource = patients.get(uuid, {})
        names = resource.get("name") or []
        name = names[0].get("text") if names and isinstance(names[0], Mapping) else None
        email = next(
            (t.get("value") for t in resource.get("telecom") or [] if t.get("system") == "email"),
            None,
        )
        language = None
        for entry in resource.get("communication") or []:
            for coding in (entry.get("language") or {}).get("coding") or []:
                language = language or coding.get("code")
        people.append(Person(uuid, name, email, language))
    return Parsed(
        str(couple_uuid) if couple_uuid else None,
        label,
        people,
        by_type.get("Questionnaire", []),
        responses,
    )


def occurrence_of(response: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The (occurrence id, due date) a response of ours answered, if it says."""
    for extension in extensions(response, EXT_OCCURRENCE):
        parts = {part.get("url"): part for part in extension.get("extension") or []}
        return (parts.get("id") or {}).get("valueString"), (parts.get("due") or {}).get("valueDate")
    return None, None


def questionnaire_of(response: Mapping[str, Any]) -> tuple[str, str | None]:
    """The canonical URL and version a response answers."""
    return split_canonical(str(response.get("questionnaire") or ""))
