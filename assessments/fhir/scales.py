"""The scales step of an import: the owner's choices in, a complete definition out.

A *scoring spec* says which items form which scale, how they combine,
which items are reverse-keyed, and optionally bands, direction and flags. The
owner's form, the ``--scales`` file of ``manage.py fhir_import`` and the API
all send one; our own FHIR export carries one too, so re-importing an export
needs no step.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import Any

from assessments import definition as defn

SPEC_KEYS = frozenset(
    {
        "direction",
        "validated",
        "practice_authored",
        "reverse",
        "scales",
        "alerts",
        "norms",
        "private",
        "citation",
        "licence",
        "estimated_minutes",
        "labels",
    }
)
# Share of a scale's items that must be answered when the spec does not say.
DEFAULT_ANSWERED_SHARE = 0.8


def default_min_answered(count: int) -> int:
    """At least 80 % of a scale's items, rounded up."""
    return max(1, math.ceil(count * DEFAULT_ANSWERED_SHARE))


def provisional_spec(
    definition: Mapping[str, Any], total_label: Mapping[str, str]
) -> dict[str, Any]:
    """A starting point: one summed total of the largest set of items sharing an answer range.

    Shown (and used for the preview) until the owner completes the scales step.
    """
    by_range: dict[tuple[float, float], list[str]] = {}
    for item in definition["items"]:
        scored = item["type"] in defn.SCORED_TYPES and defn.has_range(definition, item)
        if scored and not item.get("private"):
            by_range.setdefault(defn.value_range(definition, item), []).append(item["link_id"])
    if not by_range:
        return {"scales": []}
    items = max(by_range.values(), key=len)
    return {
        "scales": [
            {
                "key": "total",
                "label": dict(total_label),
                "items": items,
                "method": "sum",
                "min_answered": default_min_answered(len(items)),
                "total": True,
            }
        ]
    }


def _text(value: Any, languages: list[str], where: str, found: list[defn.Problem]) -> Any:
    """A plain string becomes the same text in every language; a text object stays."""
    if isinstance(value, str):
        if not value.strip():
            found.append(defn.Problem(where, "must not be empty"))
        return dict.fromkeys(languages, value.strip())
    return value


def complete(definition: Mapping[str, Any], spec: Any) -> dict[str, Any]:
    """The definition with the spec's scales applied, validated (raises DefinitionError)."""
    found: list[defn.Problem] = []
    if not isinstance(spec, Mapping):
        raise defn.DefinitionError([defn.Problem("", "the scales must be a JSON object")])
    for key in sorted(set(spec) - SPEC_KEYS):
        found.append(defn.Problem(key, "is not a setting of the scales step"))
    result = copy.deepcopy(dict(definition))
    languages = list(result["languages"])
    scales = spec.get("scales")
    if not isinstance(scales, list) or not scales:
        found.append(defn.Problem("scales", "name at least one scale"))
        scales = []
    built = []
    for index, raw in enumerate(scales):
        if not isinstance(raw, Mapping):
            found.append(defn.Problem(f"scales[{index}]", "must be a JSON object"))
            continue
        scale = dict(raw)
        scale["label"] = _text(scale.get("label"), languages, f"scales[{index}].label", found)
        items = scale.get("items")
        if isinstance(items, list) and "min_answered" not in scale:
            scale["min_answered"] = default_min_answered(len(items))
        bands = scale.get("bands")
        if isinstance(bands, list):
            scale["bands"] = [
                {
                    **band,
                    "label": _text(
                        band.get("label"), languages, f"scales[{index}].bands[{b}].label", found
                    ),
                }
                if isinstance(band, Mapping)
                else band
                for b, band in enumerate(bands)
            ]
        built.append(scale)
    if len(built) == 1 and "total" not in built[0]:
        built[0]["total"] = True
    result["scales"] = built
    for name in ("direction", "validated", "practice_authored", "private", "alerts", "norms"):
        if name in spec:
            result[name] = spec[name]
    for name in ("citation", "licence", "estimated_minutes"):
        if name in spec:
            result[name] = spec[name]
    reverse = spec.get("reverse", [])
    if not isinstance(reverse, list):
        found.append(defn.Problem("reverse", "must be a list of link ids"))
        reverse = []
    items_by_id = {item["link_id"]: item for item in result["items"]}
    for index, link_id in enumerate(reverse):
        item = items_by_id.get(link_id) if isinstance(link_id, str) else None
        if item is None or item["type"] == "text":
            found.append(defn.Problem(f"reverse[{index}]", f"{link_id!r} is not a scored item"))
    for item in result["items"]:
        item.pop("reverse", None)
        if item["link_id"] in reverse and item["type"] != "text":
            item["reverse"] = True
    labels = spec.get("labels", {})
    for link_id, anchors in labels.items() if isinstance(labels, Mapping) else []:
        item = items_by_id.get(link_id)
        if item is not None and item["type"] == "rating" and isinstance(anchors, Mapping):
            item.update({k: v for k, v in anchors.items() if k in {"min_label", "max_label"}})
    if found:
        raise defn.DefinitionError(found)
    return defn.validate(result)


def spec_of(definition: Mapping[str, Any]) -> dict[str, Any]:
    """The scoring spec a complete definition was made with (for export and the form)."""
    spec: dict[str, Any] = {
        "direction": definition["direction"],
        "validated": definition["validated"],
        "practice_authored": definition["practice_authored"],
        "citation": definition["citation"],
        "licence": definition["licence"],
        "estimated_minutes": definition["estimated_minutes"],
        "reverse": [i["link_id"] for i in definition["items"] if i.get("reverse")],
        "scales": copy.deepcopy(definition["scales"]),
    }
    for name in ("alerts", "norms", "private"):
        if name in definition:
            spec[name] = copy.deepcopy(definition[name])
    labels = {
        item["link_id"]: {k: item[k] for k in ("min_label", "max_label") if k in item}
        for item in definition["items"]
        if item["type"] == "rating" and ("min_label" in item or "max_label" in item)
    }
    if labels:
        spec["labels"] = labels
    return spec
