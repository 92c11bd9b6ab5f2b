"""Instrument items shaped for templates: the answering form, previews and results tables."""

from __future__ import annotations

import json
from typing import Any

from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from assessments import definition as defn
from assessments.models import Instrument

ERROR_MESSAGES = {
    defn.UNKNOWN_ITEM: gettext_lazy("This question is not part of the form."),
    defn.NOT_AN_OPTION: gettext_lazy("Choose one of the answers offered."),
    defn.REQUIRED: gettext_lazy("Please answer this question."),
    defn.NOT_TEXT: gettext_lazy("Please type your answer as text."),
    defn.TOO_LONG: gettext_lazy("This answer is too long."),
    defn.OUT_OF_RANGE: gettext_lazy("Enter a number within the range shown."),
    defn.NOT_WHOLE: gettext_lazy("Enter a whole number."),
    defn.NOT_A_NUMBER: gettext_lazy("Enter a number, using digits."),
}


def error_message(code: str) -> str:
    return str(ERROR_MESSAGES.get(code, gettext_lazy("This answer could not be saved.")))


def _options(instrument: Instrument, item: dict[str, Any], language: str) -> list[tuple[Any, str]]:
    default = instrument.definition["default_language"]
    options = defn.item_options(instrument.definition, item)
    if item["type"] == "yes_no":
        return [(1, _("Yes")), (0, _("No"))]
    if item["type"] == "rating":
        return [(o["value"], str(o["value"])) for o in options]
    return [(o["value"], defn.localized(o["label"], language, default)) for o in options]


def _number(value: float) -> str:
    """A number as people write it in the active language, without a needless ".0"."""
    return number_format(int(value) if value == int(value) else value)


def form_items(
    instrument: Instrument, answers: dict[str, Any], language: str, errors: dict[str, str]
) -> list[dict[str, Any]]:
    """Everything a template needs to draw each question.

    ``section`` is set on the first item of each group (its heading), ``shown``
    says whether the answers so far show the item, and ``enable_when`` carries
    the rule for the page's script.
    """
    definition = instrument.definition
    default = definition["default_language"]
    groups = {g["link_id"]: g for g in definition.get("groups", [])}
    shown = defn.enabled_items(definition, answers)
    items = []
    previous_group = None
    for number, item in enumerate(definition["items"], start=1):
        link_id = item["link_id"]
        group = groups.get(item.get("group", ""))
        section = None
        if group is not None and item.get("group") != previous_group:
            section = {
                "text": defn.localized(group["text"], language, default),
                "help": defn.localized(group.get("help"), language, default),
            }
        previous_group = item.get("group")
        is_number = item["type"] == "number"
        items.append(
            {
                "section": section,
                "shown": link_id in shown,
                "enable_when": json.dumps(item["enable_when"]) if "enable_when" in item else "",
                "min": _number(item["min"]) if is_number else "",
                "max": _number(item["max"]) if is_number else "",
                "input_min": item.get("min", ""),
                "input_max": item.get("max", ""),
                "step": ("any" if item.get("decimal") else "1") if is_number else "",
                "number": number,
                "link_id": link_id,
                "type": item["type"],
                "text": defn.localized(item["text"], language, default),
                "help": defn.localized(item.get("help"), language, default),
                "min_label": defn.localized(item.get("min_label"), language, default),
                "max_label": defn.localized(item.get("max_label"), language, default),
                "options": _options(instrument, item, language),
                "required": item.get("required", True),
                "private": instrument.is_private or bool(item.get("private")),
                "max_length": item.get("max_length", defn.DEFAULT_TEXT_LENGTH),
                "answer": answers.get(link_id),
                "error": error_message(errors[link_id]) if link_id in errors else "",
            }
        )
    return items


def answer_label(instrument: Instrument, item: dict[str, Any], value: Any, language: str) -> str:
    if value is None:
        return ""
    if item["type"] == "text":
        return str(value)
    if item["type"] == "number":
        return _number(value)
    for option_value, label in _options(instrument, item, language):
        if option_value == value:
            return label if item["type"] != "rating" else str(value)
    return str(value)
