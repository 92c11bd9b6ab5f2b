"""What a partner sees of assessments: only their own forms, cut to their couple."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from assessments.models import Instrument, Occurrence, Response, ResponseState
from clients.models import Partner
from practice.lookups import get_or_404


def portal_title(instrument: Instrument, language: str) -> str:
    """How a form is named in lists: private screens get a neutral name, for shared screens."""
    if instrument.is_private:
        return str(_("Private check-in"))
    return instrument.text("title", language)


def occurrences_for(partner: Partner) -> QuerySet[Occurrence]:
    """Occurrences meant for this partner: their couple's, for both or for them alone."""
    return Occurrence.objects.filter(couple_id=partner.couple_id).filter(
        Q(assignment__partner__isnull=True) | Q(assignment__partner=partner)
    )


def forms_to_do(partner: Partner) -> list[dict[str, object]]:
    """Open forms the partner has not submitted, soonest due first."""
    submitted = Response.objects.filter(partner=partner, state=ResponseState.SUBMITTED).values(
        "occurrence_id"
    )
    open_ = (
        occurrences_for(partner)
        .filter(cancelled=False)
        .exclude(pk__in=submitted)
        .select_related("instrument")
        .order_by("due_date", "pk")
    )
    drafts = {
        r.occurrence_id: r
        for r in Response.objects.filter(partner=partner, state=ResponseState.DRAFT)
    }
    rows = []
    for occurrence in open_:
        draft = drafts.get(occurrence.pk)
        total = len(occurrence.instrument.definition["items"])
        rows.append(
            {
                "occurrence": occurrence,
                "title": portal_title(occurrence.instrument, partner.language),
                "minutes": occurrence.instrument.estimated_minutes,
                "answered": len(draft.answers) if draft else 0,
                "total": total,
                "private": occurrence.instrument.is_private,
            }
        )
    return rows


# Completed forms per page of the portal home: a phone screen or two.
COMPLETED_PER_PAGE = 10


def completed_for(partner: Partner, page_number: str | None = None) -> dict[str, Any]:
    """The partner's own submitted forms, newest first, one page of them grouped by month.

    Returns the page (for its links) and ``months``: ``[(first day of month, rows)]``.
    """
    responses = (
        Response.objects.filter(partner=partner, state=ResponseState.SUBMITTED)
        .select_related("instrument")
        .order_by("-submitted_at", "-pk")
    )
    page = Paginator(responses, COMPLETED_PER_PAGE).get_page(page_number)
    months: list[tuple[date, list[dict[str, object]]]] = []
    for response in page.object_list:
        local = timezone.localtime(response.submitted_at).date().replace(day=1)
        if not months or months[-1][0] != local:
            months.append((local, []))
        months[-1][1].append(
            {"response": response, "title": portal_title(response.instrument, partner.language)}
        )
    return {"page": page, "months": months}


def occurrence_for(partner: Partner, occurrence_id: str) -> Occurrence:
    """One of the partner's own occurrences, or 404 (also for the other partner's)."""
    return get_or_404(occurrences_for(partner).select_related("instrument"), uuid=occurrence_id)


def instrument_language(partner: Partner, definition: dict[str, object]) -> str:
    """The partner's language when the instrument has it, else the instrument's default."""
    languages = definition["languages"]
    return (
        partner.language if partner.language in languages else str(definition["default_language"])  # type: ignore[operator]
    )


def portal_home_panel(*, request: HttpRequest, partner: Partner) -> dict[str, Any]:
    """The portal home's forms to do and completed forms (in practice.panels.PORTAL_HOME)."""
    return {
        "to_do": forms_to_do(partner),
        "completed": completed_for(partner, request.GET.get("done")),
    }
