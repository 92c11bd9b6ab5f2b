"""The practice outcome analytics page and its two CSV downloads (docs/analytics.md)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date
from typing import Any

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from assessments import analytics, charts
from assessments.services import analytics as service
from assessments.services import score_table
from assessments.templatetags.assessments_tags import CHANGE_LABELS
from clients.access import couples_for
from practice import audit
from practice.models import Membership
from practice.requests import PracticeRequest, staff_view
from practice.roles import Can, can

CHART_CACHE_SECONDS = 24 * 60 * 60


def filters_from(membership: Membership, params: Mapping[str, str]) -> service.Filters:
    """The period and caseload asked for; clinicians only ever get their own caseload.

    A malformed date is a ValidationError naming its field; a clinician that is
    not a member (or, for a clinician, anyone but themselves) is a 404.
    """
    today = timezone.localdate()
    start, end = service.default_period(today)
    errors: dict[str, list[str]] = {}
    for name in ("start", "end"):
        raw = (params.get(name) or "").strip()
        if not raw:
            continue
        try:
            value = date.fromisoformat(raw)
        except ValueError:
            errors[name] = [_("Enter a date as YYYY-MM-DD.")]
            continue
        if name == "start":
            start = value
        else:
            end = value
    if errors:
        raise ValidationError(errors)
    service.validate_period(start, end)
    wanted = (params.get("clinician") or "").strip()
    if not can(membership, Can.SEE_ALL_COUPLES):
        if wanted and wanted != str(membership.user.uuid):
            raise Http404
        return service.Filters(start, end, membership.user)
    if not wanted:
        return service.Filters(start, end, None)
    chosen = next(
        (m.user for m in service.clinicians(membership.practice) if str(m.user.uuid) == wanted),
        None,
    )
    if chosen is None:
        raise Http404
    return service.Filters(start, end, chosen)


def group_couples(membership: Membership, filters: service.Filters) -> Any:
    """The couples the numbers are about (and the scores CSV holds)."""
    couples = couples_for(membership)
    if filters.clinician is not None:
        couples = couples.filter(clinicians=filters.clinician)
    return couples


def audit_view(request: HttpRequest, action: str, filters: service.Filters, **more: Any) -> None:
    audit.record(
        action,
        request=request,
        period_start=filters.start.isoformat(),
        period_end=filters.end.isoformat(),
        clinician=str(filters.clinician.uuid) if filters.clinician else "",
        **more,
    )


def _chart(item: service.InstrumentOutcomes, language: str) -> str:
    """The class shares of partners and couples as stacked bars; cached by content."""
    o = item.outcomes
    rows = []
    for label, classes, total in (
        (_("Partners"), o.partner_classes, o.partners_followed),
        (_("Couples"), o.couple_classes, o.couples_followed),
    ):
        if classes and total:
            rows.append((label, [classes[c.value] / total for c in analytics.CLASSES]))
    if not rows:
        return ""
    title = item.instrument.text("title", language)
    names = [str(CLASS_LABELS[c.value]) for c in analytics.CLASSES]
    x_label = _("Share with a baseline and a follow-up")
    key = (
        "chart:outcomes:"
        + hashlib.sha256(repr((title, rows, names, x_label, get_language())).encode()).hexdigest()
    )
    svg = cache.get(key)
    if svg is None:
        svg = charts.outcome_svg(title=title, rows=rows, classes=names, x_label=x_label)
        cache.set(key, svg, CHART_CACHE_SECONDS)
    return str(svg)


CLASS_LABELS = {key.value: capfirst(label) for key, label in CHANGE_LABELS.items()}


def _rows(classes: Mapping[str, int], total: int | None) -> list[dict[str, Any]]:
    return [
        {
            "label": CLASS_LABELS[c.value],
            "count": classes.get(c.value),
            "share": analytics.share(classes.get(c.value), total),
        }
        for c in analytics.CLASSES
    ]


@never_cache
@staff_view(Can.VIEW_CLINICAL)
def analytics_page(request: PracticeRequest, practice_slug: str) -> HttpResponse:
    """Outcomes per instrument for the practice or one caseload, over a period (audited)."""
    membership = request.membership
    language = request.LANGUAGE_CODE
    errors: dict[str, list[str]] = {}
    try:
        filters = filters_from(membership, request.GET)
    except ValidationError as exc:
        errors = exc.message_dict
        filters = filters_from(membership, {"clinician": request.GET.get("clinician", "")})
    found = service.practice_outcomes(membership.practice, filters, timezone.localdate())
    audit_view(request, "analytics.view", filters, instruments=len(found))
    cards = [
        {
            "item": item,
            "title": item.instrument.text("title", language),
            "partner_rows": _rows(item.outcomes.partner_classes, item.outcomes.partners_followed),
            "couple_rows": _rows(item.outcomes.couple_classes, item.outcomes.couples_followed),
            "sizes": {block.value: service.block_size(item, block) for block in analytics.Block},
            "hidden": {block.value for block in item.outcomes.suppressed},
            "split_share": analytics.share(
                item.outcomes.split_couples, item.outcomes.couples_followed
            ),
            "on_time_share": analytics.share(item.outcomes.forms_on_time, item.outcomes.forms_due),
            "dropout_share": analytics.share(
                item.outcomes.dropped_out, item.outcomes.dropout_eligible
            ),
            "chart": _chart(item, language),
        }
        for item in found
    ]
    query = request.GET.urlencode() if not errors else ""
    return render(
        request,
        "assessments/analytics.html",
        {
            "nav": "analytics",
            "cards": cards,
            "filters": filters,
            "errors": errors,
            "raw": {
                "start": request.GET.get("start", filters.start.isoformat()),
                "end": request.GET.get("end", filters.end.isoformat()),
            },
            "clinicians": service.clinicians(membership.practice)
            if can(membership, Can.SEE_ALL_COUPLES)
            else [],
            "minimum": analytics.MIN_GROUP,
            "query": query,
        },
    )


def outcomes_csv_response(
    request: HttpRequest, membership: Membership, filters: service.Filters
) -> StreamingHttpResponse:
    """The page's numbers as CSV, suppressed the same way (shared by the page and the API)."""
    found = service.practice_outcomes(membership.practice, filters, timezone.localdate())
    audit_view(request, "analytics.export", filters, instruments=len(found))
    response = StreamingHttpResponse(
        service.csv_lines(found, filters), content_type="text/csv; charset=utf-8"
    )
    name = f"outcomes-{filters.start.isoformat()}-{filters.end.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


def scores_csv_response(
    request: HttpRequest, couples: Any, filters: service.Filters
) -> StreamingHttpResponse:
    """Every score of the group's couples, one row per partner, occurrence and scale."""
    rows = list(score_table.score_rows(couples))
    audit_view(
        request,
        "analytics.scores_export",
        filters,
        couples=len({row.couple for row in rows}),
        rows=len(rows),
    )
    response = StreamingHttpResponse(
        score_table.csv_lines(rows), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="scores-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response


def _filters_or_400(membership: Membership, request: HttpRequest) -> service.Filters | HttpResponse:
    try:
        return filters_from(membership, request.GET)
    except ValidationError as exc:
        text = " ".join(message for messages in exc.message_dict.values() for message in messages)
        return HttpResponse(text, status=400, content_type="text/plain; charset=utf-8")


@never_cache
@staff_view(Can.VIEW_CLINICAL)
def analytics_csv(request: PracticeRequest, practice_slug: str) -> HttpResponseBase:
    membership = request.membership
    filters = _filters_or_400(membership, request)
    if isinstance(filters, HttpResponse):
        return filters
    return outcomes_csv_response(request, membership, filters)


@never_cache
@staff_view(Can.VIEW_CLINICAL)
def analytics_scores_csv(request: PracticeRequest, practice_slug: str) -> HttpResponseBase:
    membership = request.membership
    filters = _filters_or_400(membership, request)
    if isinstance(filters, HttpResponse):
        return filters
    return scores_csv_response(request, group_couples(membership, filters), filters)
