"""Template helpers for scores and change."""

from __future__ import annotations

from django import template
from django.template.defaultfilters import floatformat
from django.utils.translation import gettext_lazy as _

from assessments.stats import ChangeClass

register = template.Library()

CHANGE_LABELS = {
    ChangeClass.RECOVERED: _("recovered"),
    ChangeClass.IMPROVED: _("reliably improved"),
    ChangeClass.UNCHANGED: _("no reliable change"),
    ChangeClass.DETERIORATED: _("reliably worse"),
}


@register.filter
def change_label(value: object) -> str:
    """A translated label for a change class."""
    return str(CHANGE_LABELS.get(value, "")) if value else ""  # type: ignore[call-overload]


@register.filter
def score(value: float | None) -> str:
    """A score for display: up to two decimals, no trailing zeros, in the active locale."""
    if value is None:
        return "–"
    places = next(p for p in (0, 1, 2) if round(value, p) == round(value, 2))
    return floatformat(value, places)
