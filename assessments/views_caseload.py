"""The clinician's home page: the caseload, one row per couple."""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from assessments import caseload as caseload_query
from assessments.access import visible_alerts
from assessments.forms import ApplyProtocolForm
from assessments.models import AlertKind, AlertStatus
from clients.access import couples_for
from clients.forms import clinician_choices
from clients.models import CoupleStatus
from practice import audit, keyset
from practice.models import Heartbeat
from practice.requests import PracticeRequest, staff_view
from practice.roles import Can, can

PAGE_SIZE = 25


@never_cache
@staff_view()
def caseload(request: PracticeRequest, practice_slug: str) -> HttpResponse:
    """The clinician's home page: one row per couple."""
    membership = request.membership
    # Clinical staff see the couples with the most urgent open alert (safety first)
    # at the top unless they sort otherwise.
    default_sort = "alerts" if can(membership, Can.VIEW_CLINICAL) else "label"
    filters = caseload_query.Filters.from_query(request.GET, default_sort=default_sort)
    today = timezone.localdate()
    couples = caseload_query.caseload(membership, filters, today)
    order = caseload_query.ordering(filters, can(membership, Can.VIEW_CLINICAL))
    try:
        page = keyset.paginate(couples, order, request.GET.get("cursor"), PAGE_SIZE)
    except keyset.BadCursor:
        page = keyset.paginate(couples, order, None, PAGE_SIZE)  # a stale link: the first page
    total = couples.order_by().count()
    rows = []
    for couple in page.rows:
        partners = list(couple.partners.all())
        row = {"couple": couple, "partners": partners, "clinicians": list(couple.clinicians.all())}
        if can(membership, Can.VIEW_CLINICAL):
            latest = [
                (couple.one_latest, couple.one_previous),  # type: ignore[attr-defined]
                (couple.two_latest, couple.two_previous),  # type: ignore[attr-defined]
            ]
            row["scores"] = [
                (partner, value, caseload_query.trend(value, previous))
                for partner, (value, previous) in zip(partners, latest, strict=False)
            ]
        row["progress_label"] = caseload_query.PROGRESS_LABELS[couple.progress]  # type: ignore[attr-defined]
        row["forms"] = list(zip(partners, caseload_query.partner_forms(couple), strict=False))
        rows.append(row)
    audit.record("caseload.view", request=request, rows=len(rows), deep=bool(page.previous))
    query = request.GET.copy()
    query.pop("cursor", None)
    sort_query = query.copy()
    sort_query.pop("sort", None)
    unacknowledged_safety = 0
    if can(membership, Can.VIEW_CLINICAL):
        unacknowledged_safety = (
            visible_alerts(membership)
            .filter(kind=AlertKind.SAFETY, status=AlertStatus.OPEN)
            .values("couple")
            .distinct()
            .count()
        )
    worker_stale = False
    if membership.is_owner:
        beat = Heartbeat.objects.filter(name="worker").first()
        worker_stale = beat is None or beat.at < timezone.now() - timedelta(minutes=5)
    return render(
        request,
        "assessments/caseload.html",
        {
            "nav": "caseload",
            "page": page,
            "total": total,
            "rows": rows,
            "filters": filters,
            "query": query.urlencode(),
            "sort_query": sort_query.urlencode(),
            "statuses": CoupleStatus.choices,
            "clinicians": clinician_choices(request.practice),
            "has_any_couple": total > 0 or _practice_has_couples(membership),
            "worker_stale": worker_stale,
            "unacknowledged_safety": unacknowledged_safety,
            "protocol_form": _protocol_form(membership),
        },
    )


def _protocol_form(membership: object) -> ApplyProtocolForm | None:
    """The caseload's bulk action (apply a protocol to the ticked couples), when it applies."""
    if not can(membership, Can.ASSIGN):  # type: ignore[arg-type]
        return None
    form = ApplyProtocolForm(auto_id="bulk_%s")
    return form if form.fields["protocol"].queryset.exists() else None  # type: ignore[attr-defined]


def _practice_has_couples(membership: object) -> bool:
    return couples_for(membership).exists()  # type: ignore[arg-type]
