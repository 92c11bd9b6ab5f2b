"""Template helpers for PDF reports drawn from frozen snapshots."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django import template
from django.utils.translation import gettext_lazy as _

register = template.Library()

ALERT_KINDS = {
    "safety": _("Safety concern"),
    "split": _("Partners moving apart"),
    "clinical": _("Clinical flag"),
    "deterioration": _("Reliable deterioration"),
    "disagreement": _("Large partner disagreement"),
    "overdue": _("Overdue form"),
    "scoring": _("Could not score"),
}
ALERT_STATUSES = {
    "open": _("Open"),
    "acknowledged": _("Acknowledged"),
    "resolved": _("Resolved"),
}


@register.filter
def isodate(value: str | None, tz: str = "") -> date | datetime | None:
    """Parse an ISO date or datetime from a snapshot (shown in the practice's time zone)."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    if "T" not in value:
        return parsed.date()
    return parsed.astimezone(ZoneInfo(tz)) if tz else parsed


@register.filter
def alert_kind(value: str) -> str:
    return str(ALERT_KINDS.get(value, value))


@register.filter
def alert_status(value: str) -> str:
    return str(ALERT_STATUSES.get(value, value))


@register.filter
def at(sequence: Any, index: int) -> Any:
    """Item ``index`` of a list, or None."""
    try:
        return sequence[index]
    except (IndexError, KeyError, TypeError):
        return None
