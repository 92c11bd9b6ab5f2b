"""Instrument items shaped for templates: the answering form, previews and results tables."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from assessments import definition as defn
from assessments.models import Instrument
from assessments.results import CoupleResult

ERROR_MESSAGES = {
    defn.UNKNOWN_ITEM: gettext_lazy("This question is not part of the form."),
    defn.NOT_AN_OPTION: gettext_lazy("Choose one of the answers offered."),
    defn.REQUIRED: gettext_lazy("Please answer this question."),
    defn.NOT_TEXT: gettext_lazy("Please type your answer as text."),
    defn.TOO_LONG: gettext_lazy("This answer is too long."),
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


def form_items(
    instrument: Instrument, answers: dict[str, Any], language: str, errors: dict[str, str]
) -> list[dict[str, Any]]:
    """Everything a template needs to draw each question."""
    default = instrument.definition["default_language"]
    items = []
    for number, item in enumerate(instrument.definition["items"], start=1):
        link_id = item["link_id"]
        items.append(
            {
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
    for option_value, label in _options(instrument, item, language):
        if option_value == value:
            return label if item["type"] != "rating" else str(value)
    return str(value)


def answer_rows(
    instrument: Instrument,
    answers: list[dict[str, Any]],
    language: str,
    comparison: CoupleResult | None,
) -> list[dict[str, Any]]:
    """One row per item: each partner's answer, and agreement where it applies."""
    default = instrument.definition["default_language"]
    agreement = {a.link_id: a for a in comparison.items} if comparison else {}
    rows = []
    for number, item in enumerate(instrument.definition["items"], start=1):
        link_id = item["link_id"]
        rows.append(
            {
                "number": number,
                "link_id": link_id,
                "text": defn.localized(item["text"], language, default),
                "reverse": bool(item.get("reverse")),
                "private": instrument.is_private or bool(item.get("private")),
                "answers": [
                    answer_label(instrument, item, a.get(link_id), language) for a in answers
                ],
                "agreement": agreement.get(link_id),
            }
        )
    return rows
