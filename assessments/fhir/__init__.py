"""FHIR R4 questionnaires in and out, as pure functions on JSON (no Django).

``importer`` turns a FHIR ``Questionnaire`` into a draft instrument definition,
``scales`` completes a draft with the owner's scales, ``exporter`` writes
definitions and answers as ``Questionnaire``, ``QuestionnaireResponse``,
``Patient``, ``Group`` and ``Bundle`` resources, and ``responses`` reads
responses back. Constants and helpers they share live here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

# A fixed base for the canonical URLs and extensions this project defines, the same on
# every installation, so an export from one server resolves built-ins on another.
BASE = "https://attune.invalid/fhir"
EXT = f"{BASE}/StructureDefinition"
EXT_SCORING = f"{EXT}/scoring"  # valueString: our scales, alerts and norms as JSON
EXT_ITEM_TYPE = f"{EXT}/item-type"  # valueCode: our item type where FHIR's is ambiguous
EXT_PRIVATE = f"{EXT}/private"  # valueBoolean: never shown to the other partner
EXT_OCCURRENCE = f"{EXT}/occurrence"  # on a response: which due form it answered
SYSTEM_PARTNER = f"{BASE}/partner"
SYSTEM_COUPLE = f"{BASE}/couple"
SYSTEM_RESPONSE = f"{BASE}/response"
# A Bundle (a Resource without extensions) says by a tag whether private answers are in it.
TAG_SYSTEM = f"{BASE}/export"

HL7 = "http://hl7.org/fhir/StructureDefinition"
SDC = "http://hl7.org/fhir/uv/sdc/StructureDefinition"
EXT_TRANSLATION = f"{HL7}/translation"
EXT_MIN = f"{HL7}/minValue"
EXT_MAX = f"{HL7}/maxValue"
EXT_HIDDEN = f"{HL7}/questionnaire-hidden"
EXT_ITEM_CONTROL = f"{HL7}/questionnaire-itemControl"
EXT_ORDINAL = f"{HL7}/ordinalValue"
# Where scores of answer options are found, in order of preference: R4's ordinalValue,
# R5's itemWeight (used by SDC forms on R4 too) and two older names still published.
SCORE_EXTENSIONS = (
    EXT_ORDINAL,
    f"{HL7}/itemWeight",
    f"{HL7}/questionnaire-ordinalValue",
    f"{HL7}/iso21090-CO-value",
)
CALCULATED_EXTENSIONS = (
    f"{SDC}/sdc-questionnaire-calculatedExpression",
    f"{SDC}/sdc-questionnaire-initialExpression",
    f"{HL7}/cqf-calculatedValue",
)
ITEM_CONTROL_SYSTEM = "http://hl7.org/fhir/questionnaire-item-control"


@dataclass(frozen=True)
class Refusal:
    """Something in a FHIR resource we cannot score or show: where (a linkId) and why."""

    link_id: str
    reason: str

    def __str__(self) -> str:
        return f"{self.link_id}: {self.reason}" if self.link_id else self.reason


class FhirError(ValueError):
    """A FHIR resource that cannot be imported; ``refusals`` lists every reason at once."""

    def __init__(self, refusals: list[Refusal]) -> None:
        self.refusals = refusals
        super().__init__("; ".join(str(r) for r in refusals))


def extensions(node: Mapping[str, Any], url: str) -> Iterator[Mapping[str, Any]]:
    """The extensions of a node with this URL."""
    for extension in node.get("extension") or []:
        if isinstance(extension, Mapping) and extension.get("url") == url:
            yield extension


def extension_value(node: Mapping[str, Any], url: str) -> Any:
    """The value[x] of the first extension with this URL, or None."""
    for extension in extensions(node, url):
        for key, value in extension.items():
            if key.startswith("value"):
                return value
    return None


def canonical(url: str, version: str | None) -> str:
    """A canonical reference: ``url|version`` when there is a version."""
    return f"{url}|{version}" if version else url


def split_canonical(reference: str) -> tuple[str, str | None]:
    """The URL and version of a canonical reference."""
    url, _, version = reference.partition("|")
    return url, version or None


def translations(element: Mapping[str, Any] | None) -> dict[str, str]:
    """Texts by language from the translation extensions of a primitive's ``_x`` element."""
    found: dict[str, str] = {}
    for extension in (element or {}).get("extension") or []:
        if not isinstance(extension, Mapping) or extension.get("url") != EXT_TRANSLATION:
            continue
        parts = {part.get("url"): part for part in extension.get("extension") or []}
        lang = (parts.get("lang") or {}).get("valueCode")
        content = (parts.get("content") or {}).get("valueString")
        if isinstance(lang, str) and isinstance(content, str) and content.strip():
            found[primary_language(lang)] = content.strip()
    return found


def translation_element(texts: Mapping[str, str], default: str) -> dict[str, Any] | None:
    """The ``_x`` element carrying every language but the default as translations."""
    others = [
        {
            "url": EXT_TRANSLATION,
            "extension": [
                {"url": "lang", "valueCode": language},
                {"url": "content", "valueString": text},
            ],
        }
        for language, text in texts.items()
        if language != default
    ]
    return {"extension": others} if others else None


def primary_language(tag: str) -> str:
    """``en-US`` -> ``en``: the interface speaks languages, not regions."""
    return tag.split("-")[0].split("_")[0].lower()
