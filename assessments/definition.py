"""Instrument definitions: validation against the JSON Schema plus the rules a schema cannot say.

Pure Python (no Django). Every problem names the exact place in the
definition, e.g. ``items[3].options[1].value``, so an author can find it.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "instrument.schema.json"
SCORED_TYPES = frozenset({"ordinal", "rating", "choice", "yes_no", "number"})
RATING_VALUES = tuple(range(1, 11))
YES_NO_VALUES = (0, 1)

# Structural limits, checked before the JSON Schema so that no input can make
# validation slow or deep: the schema's own checks (patterns, ``if``/``then``)
# are cheap per node, so bounding the nodes bounds the work. The largest
# library definition uses depth 5, 44 items and under 1,200 values.
MAX_DEFINITION_BYTES = 512 * 1024
MAX_DEPTH = 12
MAX_ARRAY_LENGTH = 200
MAX_OBJECT_KEYS = 200
MAX_STRING_LENGTH = 4000
MAX_NODES = 20_000
MAX_INTEGER = 10**9
# A number literal longer than this is never converted (int() is quadratic in digits).
MAX_NUMBER_DIGITS = 30


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a definition, and where."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class DefinitionError(ValueError):
    """A definition that cannot be used; ``problems`` says why and where."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


@cache
def schema() -> dict[str, Any]:
    """The JSON Schema shipped with the project."""
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text())
    return loaded


def format_path(parts: Iterable[str | int]) -> str:
    """Render a JSON path as ``items[3].options[1].value``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def digest(definition: Mapping[str, Any]) -> str:
    """A stable fingerprint of a definition's content."""
    canonical = json.dumps(definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


VALIDATED = "validated"
PRACTICE_AUTHORED = "practice_authored"
UNVALIDATED = "unvalidated"


def provenance(definition: Mapping[str, Any]) -> str:
    """What the instrument's own flags say it is: validated, practice-authored, or neither.

    ``validated`` wins: a validated measure a practice wrote up itself is still validated.
    """
    if definition.get("validated"):
        return VALIDATED
    if definition.get("practice_authored"):
        return PRACTICE_AUTHORED
    return UNVALIDATED


def item_options(definition: Mapping[str, Any], item: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The answer options of an item, generated for ratings and yes/no."""
    kind = item["type"]
    if kind == "rating":
        return [{"value": v, "label": {}} for v in RATING_VALUES]
    if kind == "yes_no":
        # Labels come from the interface's own translations ("Yes", "No").
        return [{"value": 1, "label": {}}, {"value": 0, "label": {}}]
    if kind in {"text", "number"}:
        return []
    if "options" in item:
        return list(item["options"])
    return list(definition.get("answer_sets", {}).get(item.get("answer_set", ""), []))


def has_range(definition: Mapping[str, Any], item: Mapping[str, Any]) -> bool:
    """Whether a scored item's answers have a known lowest and highest value."""
    return item["type"] == "number" or bool(item_options(definition, item))


def value_range(definition: Mapping[str, Any], item: Mapping[str, Any]) -> tuple[float, float]:
    """Lowest and highest answer value of a scored item."""
    if item["type"] == "number":
        return item["min"], item["max"]
    values = [option["value"] for option in item_options(definition, item)]
    return min(values), max(values)


def allowed_values(definition: Mapping[str, Any], item: Mapping[str, Any]) -> set[float] | None:
    """The answer values an item accepts; None for text and typed numbers (checked otherwise)."""
    if item["type"] in {"text", "number"}:
        return None
    return {option["value"] for option in item_options(definition, item)}


class Unconvertible:
    """A number literal the parser left unconverted (too long, or NaN/Infinity).

    Kept in place so the limit check can name its path, instead of failing the
    whole parse with no place.
    """

    def __init__(self, literal: str) -> None:
        self.literal = literal[:40]

    def __repr__(self) -> str:
        return f"Unconvertible({self.literal!r})"


def _parse_int(literal: str) -> int | Unconvertible:
    if len(literal.lstrip("-")) > MAX_NUMBER_DIGITS:
        return Unconvertible(literal)
    return int(literal)


def _parse_float(literal: str) -> float | Unconvertible:
    if len(literal) > MAX_NUMBER_DIGITS * 2:
        return Unconvertible(literal)
    return float(literal)


# A whole string literal (skipped) or one bracket; strings may hold brackets.
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def _too_deep_at(text: str) -> int | None:
    """Where bracket nesting first passes MAX_DEPTH, found without recursion; or None."""
    depth = 0
    for match in _TOKEN.finditer(text):
        bracket = match.group()
        if bracket in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return match.start()
        elif bracket in "]}":
            depth -= 1
    return None


def parse(raw: bytes) -> Any:
    """Read an uploaded definition file; raises ``DefinitionError`` for any malformed file.

    Size and nesting are checked on the text before the JSON parser runs, and
    numbers are bounded before conversion, so no file can exhaust the stack or
    Python's integer conversion limit.
    """
    if len(raw) > MAX_DEFINITION_BYTES:
        raise DefinitionError(
            [Problem("", f"the file is larger than {MAX_DEFINITION_BYTES // 1024} KB")]
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DefinitionError(
            [Problem("", f"the file is not UTF-8 text (byte {exc.start})")]
        ) from None
    position = _too_deep_at(text)
    if position is not None:
        line = text.count("\n", 0, position) + 1
        column = position - text.rfind("\n", 0, position)
        raise DefinitionError(
            [
                Problem(
                    "",
                    f"nested deeper than {MAX_DEPTH} levels (line {line}, column {column})",
                )
            ]
        )
    try:
        return json.loads(
            text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=Unconvertible
        )
    except json.JSONDecodeError as exc:
        raise DefinitionError([Problem("", f"not valid JSON: {exc}")]) from None


def _limit_problems(definition: Any) -> list[Problem]:
    """Size, depth, count and number bounds, checked iteratively before anything else.

    Walks each value once with an explicit stack (no recursion) and stops at
    the first problem, so its cost is linear in the input and bounded by
    ``MAX_NODES`` whatever the input.
    """
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(definition, ())]
    nodes = 0
    while stack:
        node, path = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            return [Problem("", f"has more than {MAX_NODES} values")]
        if len(path) > MAX_DEPTH:
            return [Problem(format_path(path), f"nested deeper than {MAX_DEPTH} levels")]
        if isinstance(node, dict):
            if len(node) > MAX_OBJECT_KEYS:
                return [Problem(format_path(path), f"has more than {MAX_OBJECT_KEYS} keys")]
            stack.extend((value, (*path, str(key))) for key, value in node.items())
        elif isinstance(node, list):
            if len(node) > MAX_ARRAY_LENGTH:
                return [Problem(format_path(path), f"has more than {MAX_ARRAY_LENGTH} entries")]
            stack.extend((value, (*path, index)) for index, value in enumerate(node))
        elif isinstance(node, str):
            if len(node) > MAX_STRING_LENGTH:
                return [
                    Problem(format_path(path), f"is longer than {MAX_STRING_LENGTH} characters")
                ]
        elif isinstance(node, Unconvertible):
            return [
                Problem(
                    format_path(path),
                    f"{node.literal}… is not a number of at most {MAX_NUMBER_DIGITS} digits",
                )
            ]
        elif isinstance(node, bool) or node is None:
            continue
        elif isinstance(node, int):
            if abs(node) > MAX_INTEGER:
                return [Problem(format_path(path), f"is larger than {MAX_INTEGER}")]
        elif isinstance(node, float) and (not math.isfinite(node) or abs(node) > MAX_INTEGER):
            return [Problem(format_path(path), "is not a finite number of sensible size")]
    return []


def unique_problems(values: Sequence[Any], path: str, what: str) -> Iterator[Problem]:
    """Repeated values in a list, found in one pass (the schema's uniqueItems is quadratic)."""
    seen: set[str] = set()
    for index, value in enumerate(values):
        key = json.dumps(value, sort_keys=True)
        if key in seen:
            yield Problem(f"{path}[{index}]", f"duplicate {what} {value!r}")
        seen.add(key)


def _schema_problems(definition: Any) -> Iterator[Problem]:
    validator = jsonschema.Draft202012Validator(schema())
    for error in sorted(validator.iter_errors(definition), key=lambda e: list(e.absolute_path)):
        # For if/then/oneOf failures the most specific sub-error is the useful one.
        best = jsonschema.exceptions.best_match([error])
        yield Problem(format_path(best.absolute_path), best.message)


def _texts(node: Any, path: list[str | int]) -> Iterator[tuple[list[str | int], dict[str, str]]]:
    """Every per-language text object in the definition, with its path."""
    text_keys = {"title", "description", "instructions", "text", "help", "label", "message"}
    text_keys |= {"min_label", "max_label"}
    if isinstance(node, dict):
        for key, value in node.items():
            if key in text_keys and isinstance(value, dict):
                yield [*path, key], value
            else:
                yield from _texts(value, [*path, key])
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _texts(value, [*path, index])


def _guarded(section: Iterator[Problem]) -> Iterator[Problem]:
    """Run one section of the semantic rules, stopping it (only it) at malformed input.

    The semantic rules also run on definitions the schema rejected, so that an
    author sees every problem at once; a part too broken to judge has already
    been named by the schema, and its section just stops there.
    """
    try:
        yield from section
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        return


def _dicts(value: Any) -> list[tuple[int, dict[str, Any]]]:
    """The entries of a list that are objects, with their places; nothing for a non-list."""
    if not isinstance(value, list):
        return []
    return [(index, entry) for index, entry in enumerate(value) if isinstance(entry, dict)]


def _semantic_problems(
    d: Mapping[str, Any], doubtful: frozenset[int] = frozenset()
) -> Iterator[Problem]:
    """The rules a schema cannot say. ``doubtful`` holds the indexes of items the schema
    rejected: they are not judged, and a reference that may mean one of them is not
    called unknown (the schema's problem is the one to fix first)."""
    languages = [x for x in d.get("languages", []) if isinstance(x, str)]
    yield from _guarded(_language_problems(d, languages))
    groups: set[str] = set()
    items_by_id: dict[str, Mapping[str, Any]] = {}
    yield from _guarded(_group_problems(d, groups))
    unsure: set[str] = set()
    for index, item in _dicts(d.get("items")):
        if index in doubtful:
            unsure.add(str(item.get("link_id")))
            continue
        yield from _guarded(_item_problems(d, index, item, groups, items_by_id))
    # With an item rejected or no usable item list, any reference might mean it.
    lenient = bool(doubtful) or not _dicts(d.get("items"))
    answer_sets = d.get("answer_sets")
    if isinstance(answer_sets, dict):
        for name, options in answer_sets.items():
            yield from _guarded(_option_problems(options, f"answer_sets.{name}"))
    scale_keys: set[str] = set()
    totals = 0
    for s_index, scale in _dicts(d.get("scales")):
        totals += bool(scale.get("total"))
        yield from _guarded(
            _scale_problems(d, s_index, scale, items_by_id, scale_keys, lenient=lenient)
        )
    if isinstance(d.get("scales"), list) and d["scales"] and totals != 1:
        yield Problem("scales", f"exactly one scale must be the total; found {totals}")
    alert_keys: set[str] = set()
    for a_index, alert in _dicts(d.get("alerts")):
        yield from _guarded(
            _alert_problems(d, a_index, alert, items_by_id, alert_keys, lenient=lenient)
        )
    norms = d.get("norms")
    if isinstance(norms, dict) and isinstance(d.get("scales"), list):
        for key in norms:
            if key not in scale_keys:
                yield Problem(f"norms.{key}", f"unknown scale {key!r}")


def _language_problems(d: Mapping[str, Any], languages: list[str]) -> Iterator[Problem]:
    yield from unique_problems(languages, "languages", "language")
    if "default_language" in d and d["default_language"] not in languages:
        yield Problem("default_language", "must be one of the declared languages")
    for path, text in _texts(d, []):
        for language in languages:
            if language not in text:
                yield Problem(format_path([*path, language]), "missing translation")
        for language in text:
            if language not in languages:
                yield Problem(format_path([*path, language]), "language not declared in languages")


def _group_problems(d: Mapping[str, Any], groups: set[str]) -> Iterator[Problem]:
    for g_index, group in _dicts(d.get("groups")):
        if group["link_id"] in groups:
            yield Problem(f"groups[{g_index}].link_id", f"duplicate group {group['link_id']!r}")
        groups.add(group["link_id"])


def _item_problems(
    d: Mapping[str, Any],
    index: int,
    item: Mapping[str, Any],
    groups: set[str],
    items_by_id: dict[str, Mapping[str, Any]],
) -> Iterator[Problem]:
    link_id = item["link_id"]
    if link_id in items_by_id:
        yield Problem(f"items[{index}].link_id", f"duplicate link id {link_id!r}")
    elif link_id in groups:
        yield Problem(f"items[{index}].link_id", f"{link_id!r} is also a group's link id")
    if "group" in item and item["group"] not in groups:
        yield Problem(f"items[{index}].group", f"unknown group {item['group']!r}")
    if d.get("private") and item.get("private") is False:
        yield Problem(f"items[{index}].private", "a private instrument has only private items")
    # Known from here on, so later items and scales can refer to it whatever else is wrong.
    items_by_id.setdefault(link_id, item)
    if item["type"] == "number":
        yield from _number_problems(item, f"items[{index}]")
    if "enable_when" in item:
        yield from _enable_when_problems(d, item, items_by_id, f"items[{index}].enable_when")
    answer_set = item.get("answer_set")
    if answer_set is not None and answer_set not in d.get("answer_sets", {}):
        yield Problem(f"items[{index}].answer_set", f"unknown answer set {answer_set!r}")
    if "options" in item:
        yield from _option_problems(item["options"], f"items[{index}].options")


def _option_problems(options: Any, where: str) -> Iterator[Problem]:
    seen: set[float] = set()
    for o_index, option in _dicts(options):
        if option["value"] in seen:
            yield Problem(
                f"{where}[{o_index}].value", f"duplicate option value {option['value']!r}"
            )
        seen.add(option["value"])


def _scale_problems(
    d: Mapping[str, Any],
    s_index: int,
    scale: Mapping[str, Any],
    items_by_id: Mapping[str, Mapping[str, Any]],
    scale_keys: set[str],
    *,
    lenient: bool,
) -> Iterator[Problem]:
    where = f"scales[{s_index}]"
    if scale["key"] in scale_keys:
        yield Problem(f"{where}.key", f"duplicate scale key {scale['key']!r}")
    scale_keys.add(scale["key"])
    yield from unique_problems(scale["items"], f"{where}.items", "item")
    ranges = set()
    items_ok = True
    for i_index, link_id in enumerate(scale["items"]):
        item = items_by_id.get(link_id)
        if item is None:
            items_ok = False
            if not lenient:
                yield Problem(f"{where}.items[{i_index}]", f"unknown item {link_id!r}")
        elif item["type"] not in SCORED_TYPES:
            items_ok = False
            yield Problem(f"{where}.items[{i_index}]", f"item {link_id!r} is free text")
        elif has_range(d, item):
            ranges.add(value_range(d, item))
    if len(ranges) > 1:
        yield Problem(f"{where}.items", "all items of a scale must share one answer range")
    if scale["min_answered"] > len(scale["items"]):
        yield Problem(f"{where}.min_answered", "is larger than the number of items")
    # Bands are checked against each other whatever the items; against the scale's
    # range only once its items are sound (until then the range is not known).
    bounds = scale_range(scale, ranges.pop()) if len(ranges) == 1 and items_ok else None
    yield from _band_problems(scale, where, bounds)


def _alert_problems(
    d: Mapping[str, Any],
    a_index: int,
    alert: Mapping[str, Any],
    items_by_id: Mapping[str, Mapping[str, Any]],
    alert_keys: set[str],
    *,
    lenient: bool,
) -> Iterator[Problem]:
    if alert["key"] in alert_keys:
        yield Problem(f"alerts[{a_index}].key", f"duplicate alert key {alert['key']!r}")
    alert_keys.add(alert["key"])
    yield from unique_problems(alert["items"], f"alerts[{a_index}].items", "item")
    for i_index, link_id in enumerate(alert["items"]):
        item = items_by_id.get(link_id)
        if item is None:
            if not lenient:
                yield Problem(f"alerts[{a_index}].items[{i_index}]", f"unknown item {link_id!r}")
        elif item["type"] not in SCORED_TYPES:
            yield Problem(f"alerts[{a_index}].items[{i_index}]", "alerts need a scored item")
        elif alert["kind"] == "safety" and not (d.get("private") or item.get("private")):
            yield Problem(
                f"alerts[{a_index}].items[{i_index}]",
                f"safety alerts must watch private items; {link_id!r} is not private",
            )


def _number_problems(item: Mapping[str, Any], where: str) -> Iterator[Problem]:
    if item["min"] >= item["max"]:
        yield Problem(f"{where}.max", "must be above min")
    if not item.get("decimal"):
        for bound in ("min", "max"):
            if item[bound] != int(item[bound]):
                yield Problem(f"{where}.{bound}", "must be a whole number unless decimal is true")


def _enable_when_problems(
    d: Mapping[str, Any],
    item: Mapping[str, Any],
    earlier: Mapping[str, Mapping[str, Any]],
    where: str,
) -> Iterator[Problem]:
    """Conditions may only look back at earlier scored items, with an answer they can have."""
    for c_index, condition in enumerate(item["enable_when"]["conditions"]):
        place = f"{where}.conditions[{c_index}]"
        question = earlier.get(condition["item"])
        if question is None:
            yield Problem(f"{place}.item", f"{condition['item']!r} is not an earlier item")
            continue
        if question["type"] not in SCORED_TYPES:
            yield Problem(f"{place}.item", f"{condition['item']!r} has no numeric answer")
            continue
        allowed = allowed_values(d, question)
        answer, name = condition["answer"], condition["item"]
        if allowed is not None and answer not in allowed:
            yield Problem(f"{place}.answer", f"{answer!r} is not an answer of {name!r}")
        elif allowed is None and not question["min"] <= answer <= question["max"]:
            yield Problem(f"{place}.answer", f"{answer!r} is outside {name!r}'s range")


def scale_range(scale: Mapping[str, Any], item_range: tuple[float, float]) -> tuple[float, float]:
    """The possible score range of a scale, from its method and item range."""
    low, high = item_range
    if scale["method"] == "sum":
        n = len(scale["items"])
        return low * n, high * n
    return low, high


def _band_problems(
    scale: Mapping[str, Any], where: str, bounds: tuple[float, float] | None
) -> Iterator[Problem]:
    """Bands against each other, and against the scale's range when ``bounds`` is known."""
    bands = scale.get("bands", [])
    keys: set[str] = set()
    for b_index, band in enumerate(bands):
        if band["key"] in keys:
            yield Problem(f"{where}.bands[{b_index}].key", f"duplicate band key {band['key']!r}")
        keys.add(band["key"])
        if band["min"] >= band["max"]:
            yield Problem(f"{where}.bands[{b_index}]", "min must be below max")
        if bounds is not None and (band["min"] < bounds[0] or band["max"] > bounds[1]):
            yield Problem(
                f"{where}.bands[{b_index}]",
                f"lies outside the scale's range {bounds[0]:g} to {bounds[1]:g}",
            )
    ordered = sorted(enumerate(bands), key=lambda pair: pair[1]["min"])
    if not ordered:
        return
    if bounds is not None:
        low, high = bounds
        first_index, first = ordered[0]
        if first["min"] > low:
            yield Problem(
                f"{where}.bands[{first_index}]", f"bands must start at the scale's low end {low:g}"
            )
        top_index, top = max(ordered, key=lambda pair: pair[1]["max"])
        if top["max"] < high:
            yield Problem(
                f"{where}.bands[{top_index}]", f"bands must reach the scale's high end {high:g}"
            )
    # Compare each band with the furthest any earlier band reaches, not just its neighbour.
    reach = ordered[0][1]
    for b_index, band in ordered[1:]:
        if band["min"] < reach["max"]:
            yield Problem(
                f"{where}.bands[{b_index}]",
                f"overlaps band {reach['key']!r} ({reach['min']:g} to {reach['max']:g})",
            )
        elif band["min"] > reach["max"]:
            yield Problem(f"{where}.bands[{b_index}]", f"leaves a gap after band {reach['key']!r}")
        if band["max"] > reach["max"]:
            reach = band


def problems(definition: Any) -> list[Problem]:
    """Everything wrong with a definition; an empty list means it can be used."""
    limits = _limit_problems(definition)
    if limits:
        return limits
    found = list(_nul_problems(definition, [])) + list(_schema_problems(definition))
    if not isinstance(definition, dict):
        return found
    # Every problem at once: the rules the schema cannot say run even when it found
    # some, except inside a part it already rejected (judging that would only echo it).
    rejected = [p.path for p in found]
    doubtful = frozenset(
        int(match.group(1)) for r in rejected if (match := re.match(r"items\[(\d+)\]", r))
    )
    for problem in _semantic_problems(definition, doubtful):
        if problem not in found and not any(_within(problem.path, r) for r in rejected):
            found.append(problem)
    return found


def _within(path: str, outer: str) -> bool:
    """Whether ``path`` is ``outer`` or a place inside it (the top level holds nothing)."""
    if not outer:
        return False
    return path == outer or path.startswith((outer + ".", outer + "["))


def _nul_problems(node: Any, path: list[str | int]) -> Iterator[Problem]:
    """NUL characters anywhere (keys or text): no database stores them in text."""
    if isinstance(node, str):
        if "\x00" in node:
            yield Problem(format_path(path), "contains a NUL character (\\u0000)")
    elif isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, str) and "\x00" in key:
                yield Problem(format_path(path), "has a key with a NUL character (\\u0000)")
            yield from _nul_problems(value, [*path, key])
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _nul_problems(value, [*path, index])


def validate(definition: Any) -> dict[str, Any]:
    """Return the definition if it is usable, else raise ``DefinitionError``."""
    found = problems(definition)
    if found:
        raise DefinitionError(found)
    return dict(definition)


def localized(text: Mapping[str, str] | None, language: str, default: str) -> str:
    """The text in a language, falling back to the default language."""
    if not text:
        return ""
    return text.get(language) or text.get(default) or next(iter(text.values()))


# Codes for answer problems; the Django layer turns them into translated messages.
UNKNOWN_ITEM = "unknown_item"
NOT_AN_OPTION = "not_an_option"
REQUIRED = "required"
NOT_TEXT = "not_text"
TOO_LONG = "too_long"
OUT_OF_RANGE = "out_of_range"
NOT_A_NUMBER = "not_a_number"
NOT_WHOLE = "not_whole"
DEFAULT_TEXT_LENGTH = 500


def enabled_items(definition: Mapping[str, Any], answers: Mapping[str, Any]) -> set[str]:
    """Link ids of the items shown for these answers (enable_when met, or none set).

    An item that is not shown counts as unanswered for the items after it, the
    way FHIR treats a disabled question.
    """
    shown: set[str] = set()
    for item in definition["items"]:
        rule = item.get("enable_when")
        if rule is not None:
            hits = [
                condition["item"] in shown and answers.get(condition["item"]) == condition["answer"]
                for condition in rule["conditions"]
            ]
            if not (all(hits) if rule.get("behavior") == "all" else any(hits)):
                continue
        shown.add(item["link_id"])
    return shown


def without_hidden(definition: Mapping[str, Any], answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers minus those to items the other answers hide."""
    shown = enabled_items(definition, answers)
    return {link_id: value for link_id, value in answers.items() if link_id in shown}


def answer_problems(
    definition: Mapping[str, Any], answers: Mapping[str, Any], *, complete: bool
) -> dict[str, str]:
    """Problems with a set of answers, as ``{link_id: code}``.

    With ``complete`` every required item must have an answer (a submission);
    without it only the given answers are checked (a draft). ``None`` clears
    an answer.
    """
    items = {item["link_id"]: item for item in definition["items"]}
    found: dict[str, str] = {}
    for link_id, value in answers.items():
        item = items.get(link_id)
        if item is None:
            found[link_id] = UNKNOWN_ITEM
            continue
        if value is None:
            continue
        if item["type"] == "text":
            if not isinstance(value, str) or "\x00" in value:
                found[link_id] = NOT_TEXT
            elif len(value) > item.get("max_length", DEFAULT_TEXT_LENGTH):
                found[link_id] = TOO_LONG
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            found[link_id] = NOT_A_NUMBER if item["type"] == "number" else NOT_AN_OPTION
        elif item["type"] == "number":
            if value != value or not item["min"] <= value <= item["max"]:  # NaN fails too
                found[link_id] = OUT_OF_RANGE
            elif not item.get("decimal") and value != int(value):
                found[link_id] = NOT_WHOLE
        elif value not in (allowed_values(definition, item) or set()):
            found[link_id] = NOT_AN_OPTION
    if complete:
        shown = enabled_items(definition, answers)
        for link_id, item in items.items():
            if item.get("required", True) and link_id in shown and link_id not in found:
                value = answers.get(link_id)
                if value is None or (isinstance(value, str) and not value.strip()):
                    found[link_id] = REQUIRED
    return found
