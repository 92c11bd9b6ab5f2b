"""A FHIR R4 Questionnaire in, a draft instrument definition out (everything but scales).

Tolerant of what it does not need (item controls, observation extraction,
calculated values, variables, odd expression names: noted, never fatal) and
strict about what it cannot show or score: every such item is refused with its
linkId and the reason, all of them at once, and then nothing is imported.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from assessments.fhir import (
    CALCULATED_EXTENSIONS,
    EXT_HIDDEN,
    EXT_ITEM_CONTROL,
    EXT_ITEM_TYPE,
    EXT_MAX,
    EXT_MIN,
    EXT_PRIVATE,
    EXT_SCORING,
    EXT_TRANSLATION,
    SCORE_EXTENSIONS,
    FhirError,
    Refusal,
    extension_value,
    primary_language,
    translations,
)

LINK_ID = re.compile(r"^[A-Za-z0-9/][A-Za-z0-9_./:-]{0,99}$")
LANGUAGE = re.compile(r"^[a-z]{2}$")
MAX_OPTIONS = 20
MAX_TEXT_LENGTH = 2000
SECONDS_PER_ITEM = 15
HANDLED = frozenset(
    {
        EXT_HIDDEN,
        EXT_ITEM_TYPE,
        EXT_MAX,
        EXT_MIN,
        EXT_PRIVATE,
        EXT_SCORING,
        EXT_TRANSLATION,
        *SCORE_EXTENSIONS,
        *CALCULATED_EXTENSIONS,
    }
)

Text = dict[str, str]


@dataclass
class Draft:
    """What a Questionnaire gives: a definition without scales, and what was set aside."""

    definition: dict[str, Any]
    scorable: list[str]  # link ids a scale may use
    notes: list[str]  # ignored extensions and left-out items, for the owner to read
    scoring: dict[str, Any] | None = None  # scales carried by our own export, if any


@dataclass
class _Question:
    item: dict[str, Any]
    # FHIR answer -> our stored value: ("coding", system, code), ("integer", n), ("string", s)
    values: dict[tuple[Any, ...], float]


@dataclass
class _Walk:
    default: str
    value_sets: dict[str, Mapping[str, Any]]  # contained ValueSets by id
    refusals: list[Refusal] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    questions: dict[str, _Question] = field(default_factory=dict)
    left_out: dict[str, str] = field(default_factory=dict)  # link id -> why
    seen: set[str] = field(default_factory=set)
    instructions: list[Text] = field(default_factory=list)
    ignored: dict[str, list[str]] = field(default_factory=dict)  # extension url -> link ids
    texts: list[Text] = field(default_factory=list)  # every text object, to settle languages

    def refuse(self, link_id: str, reason: str) -> None:
        self.refusals.append(Refusal(link_id, reason))

    def text(self, node: Mapping[str, Any], key: str) -> Text | None:
        value = node.get(key)
        if not isinstance(value, str) or not value.strip():
            return None
        text = {self.default: value.strip()[:4000]}
        for language, content in translations(node.get(f"_{key}")).items():
            text.setdefault(language, content[:4000])
        self.texts.append(text)
        return text

    def note_extensions(self, node: Mapping[str, Any], where: str) -> None:
        for extension in node.get("extension") or []:
            url = extension.get("url") if isinstance(extension, Mapping) else None
            if isinstance(url, str) and url not in HANDLED:
                self.ignored.setdefault(url, []).append(where)


def parse(resource: Any) -> Draft:
    """Read a Questionnaire; raises FhirError naming every item it cannot take."""
    if not isinstance(resource, Mapping) or resource.get("resourceType") != "Questionnaire":
        raise FhirError([Refusal("", "this is not a FHIR Questionnaire (resourceType)")])
    default = primary_language(str(resource.get("language") or "en"))
    if not LANGUAGE.match(default):
        raise FhirError([Refusal("", f"the language {default!r} is not supported")])
    contained = resource.get("contained") or []
    value_sets = {
        str(c.get("id")): c
        for c in contained
        if isinstance(c, Mapping) and c.get("resourceType") == "ValueSet" and c.get("id")
    }
    walk = _Walk(default, value_sets)
    walk.note_extensions(resource, "(questionnaire)")
    items = resource.get("item")
    if not isinstance(items, list) or not items:
        raise FhirError([Refusal("", "the questionnaire has no items")])
    _walk_items(walk, items, group=None, inherited=None, question=None)
    if not walk.items and not walk.refusals:
        walk.refuse("", "the questionnaire has no question that can be shown")
    if walk.refusals:
        raise FhirError(walk.refusals)
    languages, dropped = _settle_languages(walk)
    definition = _definition(resource, walk, languages)
    scorable = [
        item["link_id"] for item in walk.items if item["type"] != "text" and not item.get("private")
    ]
    return Draft(definition, scorable, _notes(walk, dropped), _scoring(resource))


def _walk_items(
    walk: _Walk,
    items: Sequence[Any],
    *,
    group: str | None,
    inherited: dict[str, Any] | None,
    question: dict[str, Any] | None,
) -> None:
    for raw in items:
        if not isinstance(raw, Mapping):
            walk.refuse("", "an item is not a JSON object")
            continue
        link_id = raw.get("linkId")
        if not isinstance(link_id, str) or not link_id.strip():
            walk.refuse("", "an item has no linkId")
            continue
        if link_id in walk.seen:
            walk.refuse(link_id, "the linkId is used twice")
            continue
        walk.seen.add(link_id)
        walk.note_extensions(raw, link_id)
        kind = raw.get("type")
        if extension_value(raw, EXT_HIDDEN) is True:
            walk.left_out[link_id] = "hidden in the source (questionnaire-hidden)"
            continue
        if kind == "group":
            _group(walk, raw, link_id, group=group, inherited=inherited)
        elif kind == "display":
            _display(walk, raw, link_id, group=group, question=question)
        else:
            _question(walk, raw, link_id, group=group, inherited=inherited)


def _group(
    walk: _Walk,
    raw: Mapping[str, Any],
    link_id: str,
    *,
    group: str | None,
    inherited: dict[str, Any] | None,
) -> None:
    if raw.get("repeats"):
        walk.refuse(link_id, "a repeating group cannot be scored")
        return
    rule = inherited
    if raw.get("enableWhen"):
        if inherited is not None:
            walk.refuse(link_id, "enableWhen on a group inside a group that has one too")
            return
        rule = _enable_when(walk, raw, link_id)
    heading = walk.text(raw, "text")
    inner = group
    if heading is not None:
        if not LINK_ID.match(link_id):
            walk.refuse(link_id, _bad_link_id())
            return
        entry: dict[str, Any] = {"link_id": link_id, "text": heading}
        codes = _codes(raw.get("code"))
        if codes:
            entry["codes"] = codes
        walk.groups.append(entry)
        inner = link_id
    children = raw.get("item")
    if not isinstance(children, list) or not children:
        walk.refuse(link_id, "a group with no items")
        return
    _walk_items(walk, children, group=inner, inherited=rule, question=None)


def _display(
    walk: _Walk,
    raw: Mapping[str, Any],
    link_id: str,
    *,
    group: str | None,
    question: dict[str, Any] | None,
) -> None:
    """Display text becomes help: of its question, of its group, or the instructions."""
    text = walk.text(raw, "text")
    if text is None:
        return
    if question is not None:
        question["help"] = _join(question.get("help"), text)
        return
    heading = next((g for g in walk.groups if g["link_id"] == group), None)
    if heading is not None:
        heading["help"] = _join(heading.get("help"), text)
    else:
        walk.instructions.append(text)
    control = extension_value(raw, EXT_ITEM_CONTROL)
    if control is not None:
        walk.ignored.setdefault(EXT_ITEM_CONTROL, []).append(link_id)


def _join(first: Text | None, second: Text) -> Text:
    if first is None:
        return dict(second)
    return {
        lang: f"{first.get(lang, first[next(iter(first))])} {text}" for lang, text in second.items()
    }


def _question(
    walk: _Walk,
    raw: Mapping[str, Any],
    link_id: str,
    *,
    group: str | None,
    inherited: dict[str, Any] | None,
) -> None:
    kind = raw.get("type")
    calculated = [url for url in CALCULATED_EXTENSIONS if extension_value(raw, url) is not None]
    if calculated or raw.get("readOnly"):
        name = calculated[0].rsplit("/", 1)[-1] if calculated else "readOnly"
        walk.left_out[link_id] = (
            f"its value is calculated in the source ({name}), which is not evaluated here; "
            "define it as a scale instead"
            if calculated
            else "it is read-only in the source"
        )
        return
    problems_before = len(walk.refusals)
    if not LINK_ID.match(link_id):
        walk.refuse(link_id, _bad_link_id())
    text = walk.text(raw, "text")
    if text is None:
        walk.refuse(link_id, "the question has no text to show")
    if raw.get("repeats"):
        walk.refuse(link_id, "it allows several answers; only one answer per question is scored")
    item: dict[str, Any] = {"link_id": link_id, "type": "text", "text": text or {}}
    values: dict[tuple[Any, ...], float] = {}
    if kind == "choice":
        item["type"] = "ordinal" if extension_value(raw, EXT_ITEM_TYPE) == "ordinal" else "choice"
        options = _choice_options(walk, raw, link_id, values)
        if options is not None:
            item["options"] = options
    elif kind == "open-choice":
        walk.refuse(
            link_id, "open-choice lets people type their own answer, which cannot be scored"
        )
    elif kind == "boolean":
        item["type"] = "yes_no"
        values.update({("boolean", True): 1, ("boolean", False): 0})
    elif kind in {"integer", "decimal"}:
        _number(walk, raw, link_id, item)
    elif kind in {"string", "text"}:
        length = raw.get("maxLength")
        if isinstance(length, int) and length > 0:
            item["max_length"] = min(length, MAX_TEXT_LENGTH)
    else:
        walk.refuse(link_id, f"the item type {kind!r} cannot be shown or scored here")
    item["required"] = bool(raw.get("required"))
    if extension_value(raw, EXT_PRIVATE) is True:
        item["private"] = True
    codes = _codes(raw.get("code"))
    if codes:
        item["codes"] = codes
    if group is not None:
        item["group"] = group
    rule = inherited
    if raw.get("enableWhen"):
        if inherited is not None:
            walk.refuse(link_id, "enableWhen on both the question and its group")
        rule = _enable_when(walk, raw, link_id)
    if rule is not None:
        item["enable_when"] = rule
    if len(walk.refusals) > problems_before:
        return
    walk.items.append(item)
    walk.questions[link_id] = _Question(item, values)
    children = raw.get("item")
    if isinstance(children, list) and children:
        _walk_items(walk, children, group=group, inherited=inherited, question=item)


def _bad_link_id() -> str:
    return (
        "the linkId must start with a letter, digit or '/' and hold only letters, digits "
        "and _ . / : - (at most 100 characters)"
    )


def _number(walk: _Walk, raw: Mapping[str, Any], link_id: str, item: dict[str, Any]) -> None:
    low, high = extension_value(raw, EXT_MIN), extension_value(raw, EXT_MAX)
    ok = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (low, high))
    if not ok or not math.isfinite(low) or not math.isfinite(high):
        walk.refuse(
            link_id,
            "a number question needs minValue and maxValue extensions to be shown and scored",
        )
        return
    if low >= high:
        walk.refuse(link_id, "minValue must be below maxValue")
        return
    decimal = raw.get("type") == "decimal"
    if extension_value(raw, EXT_ITEM_TYPE) == "rating" and (low, high) == (1, 10) and not decimal:
        item["type"] = "rating"
        return
    item.update(type="number", min=_clean(low), max=_clean(high))
    if decimal:
        item["decimal"] = True
    elif low != int(low) or high != int(high):
        walk.refuse(link_id, "an integer question needs whole-number minValue and maxValue")


def _clean(value: float) -> float:
    """Whole numbers as int, so stored JSON reads 3 rather than 3.0."""
    return int(value) if float(value).is_integer() else float(value)


@dataclass(frozen=True)
class _Entry:
    key: tuple[Any, ...]
    label: Text
    code: dict[str, str] | None
    score: float | None  # from an ordinalValue / itemWeight extension
    integer: int | None  # a valueInteger option's own number


def _choice_options(
    walk: _Walk, raw: Mapping[str, Any], link_id: str, values: dict[tuple[Any, ...], float]
) -> list[dict[str, Any]] | None:
    entries = _entries(walk, raw, link_id)
    if entries is None:
        return None
    if not 2 <= len(entries) <= MAX_OPTIONS:
        walk.refuse(
            link_id, f"a choice needs 2 to {MAX_OPTIONS} answer options; it has {len(entries)}"
        )
        return None
    scored = [e.score is not None for e in entries]
    if any(scored) and not all(scored):
        walk.refuse(link_id, "some answer options carry a score (ordinalValue) and others do not")
        return None
    if all(scored):
        scores = [float(e.score) for e in entries if e.score is not None]
    elif all(e.integer is not None for e in entries):
        scores = [float(e.integer) for e in entries if e.integer is not None]
    else:
        scores = [float(position) for position in range(1, len(entries) + 1)]
    if len(set(scores)) != len(scores):
        twice = sorted({s for s in scores if scores.count(s) > 1})
        walk.refuse(
            link_id,
            "two answer options share the score "
            + ", ".join(f"{_clean(s):g}" for s in twice)
            + "; answers are kept by score, so each option needs its own",
        )
        return None
    options = []
    for entry, score in zip(entries, scores, strict=True):
        values[entry.key] = _clean(score)
        option: dict[str, Any] = {"value": _clean(score), "label": entry.label}
        if entry.code:
            option["code"] = entry.code
        options.append(option)
    return options


def _entries(walk: _Walk, raw: Mapping[str, Any], link_id: str) -> list[_Entry] | None:
    answer_options = raw.get("answerOption")
    value_set = raw.get("answerValueSet")
    if isinstance(answer_options, list) and answer_options:
        entries = []
        for option in answer_options:
            entry = _option_entry(walk, option) if isinstance(option, Mapping) else None
            if entry is None:
                walk.refuse(
                    link_id,
                    "an answer option is not a valueCoding, valueInteger or valueString",
                )
                return None
            entries.append(entry)
        return entries
    if isinstance(value_set, str) and value_set:
        if not value_set.startswith("#"):
            walk.refuse(
                link_id,
                f"its answers come from a value set outside the file ({value_set})",
            )
            return None
        return _contained_entries(walk, raw, link_id, value_set[1:])
    walk.refuse(link_id, "a choice question has no answer options")
    return None


def _score(*nodes: Mapping[str, Any]) -> float | None:
    for node in nodes:
        for url in SCORE_EXTENSIONS:
            value = extension_value(node, url)
            if (
                isinstance(value, int | float)
                and not isinstance(value, bool)
                and math.isfinite(value)
            ):
                return float(value)
    return None


def _coding_entry(
    walk: _Walk, coding: Mapping[str, Any], *others: Mapping[str, Any]
) -> _Entry | None:
    code = coding.get("code")
    if not isinstance(code, str) or not code:
        return None
    system = coding.get("system") if isinstance(coding.get("system"), str) else None
    label = walk.text(coding, "display") or {walk.default: code}
    kept: dict[str, str] = {"code": code[:200]}
    if system:
        kept["system"] = system[:500]
    display = coding.get("display")
    if isinstance(display, str) and display.strip():
        kept["display"] = display.strip()[:1000]
    return _Entry(("coding", system, code), label, kept, _score(*others, coding), None)


def _option_entry(walk: _Walk, option: Mapping[str, Any]) -> _Entry | None:
    if isinstance(option.get("valueCoding"), Mapping):
        return _coding_entry(walk, option["valueCoding"], option)
    integer = option.get("valueInteger")
    if isinstance(integer, int) and not isinstance(integer, bool):
        return _Entry(
            ("integer", integer), {walk.default: str(integer)}, None, _score(option), integer
        )
    string = option.get("valueString")
    if isinstance(string, str) and string.strip():
        label = walk.text(option, "valueString") or {walk.default: string}
        return _Entry(
            ("string", string), label, {"code": string.strip()[:200]}, _score(option), None
        )
    return None


def _contained_entries(
    walk: _Walk, raw: Mapping[str, Any], link_id: str, value_set_id: str
) -> list[_Entry] | None:
    found = walk.value_sets.get(value_set_id)
    if found is None:
        walk.refuse(link_id, f"the contained value set #{value_set_id} is not in the file")
        return None
    entries: list[_Entry] = []
    expansion = (found.get("expansion") or {}).get("contains")
    if isinstance(expansion, list) and expansion:
        for concept in expansion:
            entry = _coding_entry(walk, concept) if isinstance(concept, Mapping) else None
            if entry is not None:
                entries.append(entry)
    else:
        for include in (found.get("compose") or {}).get("include") or []:
            system = include.get("system") if isinstance(include, Mapping) else None
            for concept in (include or {}).get("concept") or []:
                if isinstance(concept, Mapping):
                    coding = {**concept, "system": system} if system else dict(concept)
                    entry = _coding_entry(walk, coding)
                    if entry is not None:
                        entries.append(entry)
    if not entries:
        walk.refuse(link_id, f"the contained value set #{value_set_id} lists no codes")
        return None
    return entries


def _enable_when(walk: _Walk, raw: Mapping[str, Any], link_id: str) -> dict[str, Any] | None:
    """FHIR enableWhen with the = operator, as conditions on our stored answer values."""
    conditions = []
    for condition in raw.get("enableWhen") or []:
        if not isinstance(condition, Mapping):
            walk.refuse(link_id, "an enableWhen is not a JSON object")
            return None
        operator = condition.get("operator")
        target = condition.get("question")
        if operator != "=":
            walk.refuse(
                link_id, f"enableWhen uses the {operator!r} operator; only '=' is supported"
            )
            return None
        question = walk.questions.get(str(target))
        if question is None:
            if target in walk.left_out:
                why = f"it was left out ({walk.left_out[target]})"
            elif any(r.link_id == target for r in walk.refusals):
                why = "that question cannot be imported either"
            else:
                why = "it is not an earlier question"
            walk.refuse(link_id, f"enableWhen looks at {target!r}, but {why}")
            return None
        value = _condition_value(condition, question)
        if value is None:
            walk.refuse(link_id, f"enableWhen asks for an answer {target!r} does not have")
            return None
        conditions.append({"item": str(target), "answer": value})
    if not conditions:
        return None
    behavior = raw.get("enableBehavior")
    rule: dict[str, Any] = {"conditions": conditions}
    if behavior in {"all", "any"}:
        rule["behavior"] = behavior
    return rule


def _condition_value(condition: Mapping[str, Any], question: _Question) -> float | None:
    kind = question.item["type"]
    coding = condition.get("answerCoding")
    if isinstance(coding, Mapping):
        for key, value in question.values.items():
            same_system = not key[1] or not coding.get("system") or key[1] == coding.get("system")
            if key[0] == "coding" and key[2] == coding.get("code") and same_system:
                return value
        return None
    if "answerBoolean" in condition:
        return question.values.get(("boolean", condition["answerBoolean"]))
    if "answerString" in condition:
        return question.values.get(("string", condition["answerString"]))
    for name in ("answerInteger", "answerDecimal"):
        number = condition.get(name)
        if isinstance(number, int | float) and not isinstance(number, bool):
            if kind in {"number", "rating"}:
                low = question.item.get("min", 1)
                high = question.item.get("max", 10)
                return _clean(number) if low <= number <= high else None
            return question.values.get(("integer", number))
    return None


def _codes(raw: Any) -> list[dict[str, str]]:
    codes = []
    for coding in raw if isinstance(raw, list) else []:
        code = coding.get("code") if isinstance(coding, Mapping) else None
        if not isinstance(code, str) or not code:
            continue
        kept = {"code": code[:200]}
        for key, limit in (("system", 500), ("display", 1000)):
            value = coding.get(key)
            if isinstance(value, str) and value.strip():
                kept[key] = value.strip()[:limit]
        codes.append(kept)
    return codes[:20]


def _settle_languages(walk: _Walk) -> tuple[list[str], list[str]]:
    """The default language plus every translation that covers every text; and the rest."""
    offered: set[str] = set()
    for text in walk.texts:
        offered |= set(text)
    kept = [
        language
        for language in sorted(offered - {walk.default})
        if LANGUAGE.match(language) and all(language in text for text in walk.texts)
    ]
    languages = [walk.default, *kept]
    for text in walk.texts:
        for language in list(text):
            if language not in languages:
                del text[language]
    return languages, sorted(offered - set(languages))


def proposed_key(resource: Mapping[str, Any]) -> str:
    """A key for the instrument from the Questionnaire's name, id or title."""
    for source in (resource.get("name"), resource.get("id"), resource.get("title")):
        if isinstance(source, str) and source.strip():
            spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", source.strip())
            slug = re.sub(r"[^a-z0-9]+", "-", spaced.lower()).strip("-")
            if slug:
                slug = slug if slug[0].isalpha() else f"q-{slug}"
                return slug[:60].rstrip("-") or "imported"
    return "imported"


def _definition(resource: Mapping[str, Any], walk: _Walk, languages: list[str]) -> dict[str, Any]:
    title = walk.text(resource, "title") or walk.text(resource, "name")
    title = title or dict.fromkeys(languages, "Imported questionnaire")
    description = walk.text(resource, "description") or dict(title)
    for text in (title, description):
        for language in languages:
            text.setdefault(language, text[walk.default])
        for language in list(text):
            if language not in languages:
                del text[language]
    url, version = resource.get("url"), resource.get("version")
    source: dict[str, Any] = {}
    if isinstance(url, str) and url.strip():
        source["url"] = url.strip()[:500]
    if isinstance(version, str) and version.strip():
        source["version"] = version.strip()[:100]
    if isinstance(resource.get("name"), str) and resource["name"].strip():
        source["name"] = resource["name"].strip()[:200]
    codes = _codes(resource.get("code"))
    if codes:
        source["codes"] = codes
    publisher = resource.get("publisher")
    citation = "FHIR Questionnaire"
    if source.get("url"):
        citation += f" {source['url']}"
    if source.get("version"):
        citation += f", version {source['version']}"
    if isinstance(publisher, str) and publisher.strip():
        citation += f", published by {publisher.strip()}"
    copyright_ = resource.get("copyright")
    licence = "See the source questionnaire."
    if isinstance(copyright_, str) and copyright_.strip():
        licence = copyright_.strip()[:200]
    questions = len(walk.items)
    definition: dict[str, Any] = {
        "key": proposed_key(resource),
        "version": 1,
        "default_language": walk.default,
        "languages": languages,
        "title": title,
        "description": description,
        "estimated_minutes": max(1, min(120, math.ceil(questions * SECONDS_PER_ITEM / 60))),
        "practice_authored": False,
        "validated": False,
        "citation": citation[:2000],
        "licence": licence,
        "direction": "higher_is_better",
        "items": walk.items,
        "scales": [],
    }
    if walk.instructions:
        joined: Text | None = None
        for text in walk.instructions:
            joined = _join(joined, text)
        if joined is not None:
            definition["instructions"] = {lang: joined.get(lang, "") for lang in languages}
    if walk.groups:
        definition["groups"] = walk.groups
    if source:
        definition["fhir"] = source
    return definition


def _notes(walk: _Walk, dropped: list[str]) -> list[str]:
    notes = [f"Left out {link_id}: {why}." for link_id, why in walk.left_out.items()]
    for url, places in sorted(walk.ignored.items()):
        shown = ", ".join(places[:5]) + (f" and {len(places) - 5} more" if len(places) > 5 else "")
        notes.append(f"Ignored the extension {url} (on {shown}).")
    if dropped:
        notes.append(f"Left out translations that do not cover every text: {', '.join(dropped)}.")
    return notes


def _scoring(resource: Mapping[str, Any]) -> dict[str, Any] | None:
    """The scales our own export carries, when this file came from an export of ours."""
    raw = extension_value(resource, EXT_SCORING)
    if not isinstance(raw, str):
        return None
    try:
        scoring = json.loads(raw)
    except ValueError:
        return None
    return scoring if isinstance(scoring, dict) else None
