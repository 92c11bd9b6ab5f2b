"""Template helpers for scores and change."""

from __future__ import annotations

import base64
import html
import re

from django import template
from django.template.defaultfilters import floatformat
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from assessments import definition as defn
from assessments.results import Growth
from assessments.stats import ChangeClass, CoupleWord

register = template.Library()

CHANGE_LABELS = {
    ChangeClass.RECOVERED: _("recovered"),
    ChangeClass.IMPROVED: _("reliably improved"),
    ChangeClass.UNCHANGED: _("no reliable change"),
    ChangeClass.DETERIORATED: _("reliably worse"),
}


GROWTH_LABELS = {
    Growth.BOTH_LOW: _("both rate it low"),
    Growth.APART: _("far apart"),
    Growth.UNDECIDED: _("both undecided"),
}

COUPLE_WORDS = {
    CoupleWord.STRONGER: _("Stronger"),
    CoupleWord.LESS_STRONG: _("Less strong"),
    CoupleWord.ABOUT_THE_SAME: _("About the same"),
    CoupleWord.TOO_EARLY: _("Too early to tell"),
    CoupleWord.NOT_MEASURED: _("No change statistics"),
}


PROVENANCE = {
    defn.VALIDATED: _("Validated measure"),
    defn.PRACTICE_AUTHORED: _("Practice-authored measure, not validated"),
    defn.UNVALIDATED: _("Not validated"),
}
PROVENANCE_FOR_COUPLES = {
    defn.VALIDATED: _("A validated questionnaire, with published research behind it."),
    defn.PRACTICE_AUTHORED: _(
        "Written by practice staff as a starting point for conversation; it has not been "
        "scientifically validated."
    ),
    defn.UNVALIDATED: _("This questionnaire has not been scientifically validated."),
}


@register.filter
def provenance(value: object) -> str:
    """The staff label for an instrument definition, or for a provenance key."""
    key = defn.provenance(value) if isinstance(value, dict) else value
    label = PROVENANCE.get(key)  # type: ignore[call-overload]
    if label is None:
        return ""
    if key == defn.VALIDATED and isinstance(value, dict) and value.get("norms"):
        return str(_("Validated measure with published norms"))
    return str(label)


@register.filter
def provenance_for_couples(value: object) -> str:
    """The sentence a couple reads about an instrument (definition or provenance key)."""
    key = defn.provenance(value) if isinstance(value, dict) else value
    return str(PROVENANCE_FOR_COUPLES.get(key, ""))  # type: ignore[call-overload]


@register.filter
def growth_label(value: object) -> str:
    """Why an item is a growth area, in words."""
    return str(GROWTH_LABELS.get(value, "")) if value else ""  # type: ignore[call-overload]


@register.filter
def couple_word(value: object) -> str:
    """The couple-facing word for a change of the couple composite."""
    return str(COUPLE_WORDS.get(value, "")) if value else ""  # type: ignore[call-overload]


@register.filter
def change_label(value: object) -> str:
    """A translated label for a change class."""
    return str(CHANGE_LABELS.get(value, "")) if value else ""  # type: ignore[call-overload]


@register.filter
def rci(value: float | None) -> str:
    """An RCI or RC with two decimals and a true minus sign."""
    if value is None:
        return "–"
    return str(floatformat(value, 2)).replace("-", "−")


@register.filter
def score(value: float | None) -> str:
    """A score for display: up to two decimals, no trailing zeros, in the active locale."""
    if value is None:
        return "–"
    places = next(p for p in (0, 1, 2) if round(value, p) == round(value, 2))
    return floatformat(value, places)


_ARIA_LABEL = re.compile(r'aria-label="([^"]*)"')


@register.filter
def svg_image(svg: str) -> str:
    """An SVG chart as an ``<img>`` with a data: URL, its label as alt text.

    Inline, the chart's own style attributes would need 'unsafe-inline' in the
    page's Content Security Policy; as an image they stay inside the picture.
    """
    if not svg:
        return ""
    found = _ARIA_LABEL.search(svg)
    label = html.unescape(found.group(1)) if found else ""
    data = base64.b64encode(svg.encode()).decode()
    return format_html(
        '<img class="chart-image" src="data:image/svg+xml;base64,{}" alt="{}">', data, label
    )


@register.filter
def percent(value: float | None) -> str:
    """A share from 0 to 1 as a whole percentage in the active language, or a dash."""
    if value is None:
        return "–"
    return _("%(number)s%%") % {"number": floatformat(value * 100, 0)}


@register.filter
def lang_fields(form: object, name: str) -> list[object]:
    """The per-language fields of a builder form (``text_en``, ``text_es`` …), in order."""
    fields = getattr(form, "fields", {})
    return [form[key] for key in fields if key.rsplit("_", 1)[0] == name]  # type: ignore[index]


@register.inclusion_tag("assessments/includes/schedule_timeline.html")
def schedule_timeline(couple: object) -> dict[str, object]:
    """A couple's schedule: forms due so far and those the active assignments will open."""
    from django.utils import timezone

    from assessments.services.protocols import timeline

    today = timezone.localdate()
    return {"timeline": timeline(couple, today), "today": today}  # type: ignore[arg-type]
