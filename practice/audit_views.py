"""The audit log page and its CSV export, for members who may read the trail (owners)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from practice import audit, audit_names, csvsafe
from practice.models import AuditEvent, Membership, User
from practice.requests import PracticeRequest, staff_view
from practice.roles import Can

PAGE_SIZE = 50
EXPORT_CHUNK = 500
CSV_HEADER = [
    "at",
    "action",
    "action_label",
    "actor_id",
    "actor_label",
    "actor_name",
    "target_type",
    "target_id",
    "target_name",
    "ip",
]


@dataclass(frozen=True)
class Filters:
    actor: str = ""
    couple: str = ""
    action: str = ""
    date_from: date | None = None
    date_to: date | None = None

    def as_query(self) -> dict[str, str]:
        return {
            "actor": self.actor,
            "couple": self.couple,
            "action": self.action,
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
        }


def _parse_date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _filters(request: HttpRequest) -> Filters:
    return Filters(
        actor=request.GET.get("actor", ""),
        couple=request.GET.get("couple", ""),
        action=request.GET.get("action", ""),
        date_from=_parse_date(request.GET.get("from", "")),
        date_to=_parse_date(request.GET.get("to", "")),
    )


def filtered_events(membership: Membership, filters: Filters) -> QuerySet[AuditEvent]:
    """The practice's events matching the filters, newest first."""
    events = AuditEvent.objects.select_related("actor").all()
    if filters.actor:
        events = (
            events.filter(actor__uuid=filters.actor) if _is_uuid(filters.actor) else events.none()
        )
    if filters.couple:
        events = (
            events.filter(audit_names.couple_filter(membership, filters.couple))
            if _is_uuid(filters.couple)
            else events.none()
        )
    if filters.action:
        events = events.filter(action=filters.action)
    tz = timezone.get_current_timezone()
    if filters.date_from:
        events = events.filter(at__gte=datetime.combine(filters.date_from, time.min, tzinfo=tz))
    if filters.date_to:
        events = events.filter(at__lte=datetime.combine(filters.date_to, time.max, tzinfo=tz))
    return events


def _audit_details(filters: Filters) -> dict[str, Any]:
    """What the reader filtered by, as ids and codes (for the audit.view/export event)."""
    return {"filters": {key: value for key, value in filters.as_query().items() if value}}


@never_cache
@staff_view(Can.VIEW_AUDIT)
def audit_log(request: PracticeRequest, practice_slug: str) -> HttpResponse:
    """The practice's audit trail, newest first, with names instead of ids."""
    membership = request.membership
    filters = _filters(request)
    page = Paginator(filtered_events(membership, filters), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    events = list(page.object_list)
    audit_names.names_for(membership, events)
    for event in events:
        event.label = audit.ACTIONS.get(event.action, event.action)  # type: ignore[attr-defined]
    audit.record("audit.view", request=request, **_audit_details(filters))
    members = User.objects.filter(memberships__in=Membership.objects.all()).order_by("full_name")
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "practice/audit_log.html",
        {
            "nav": "audit",
            "page": page,
            "events": events,
            "members": members,
            "couples": audit_names.couple_choices(membership),
            "actions": sorted(audit.ACTIONS.items(), key=lambda item: str(item[1])),
            "filters": filters.as_query(),
            "query": query.urlencode(),
        },
    )


def _rows(membership: Membership, events: QuerySet[AuditEvent]) -> Iterator[list[object]]:
    """Export rows in chunks, each chunk named in one go (a few queries per chunk)."""
    chunk: list[AuditEvent] = []
    for event in events.iterator(chunk_size=EXPORT_CHUNK):
        chunk.append(event)
        if len(chunk) == EXPORT_CHUNK:
            yield from _named_rows(membership, chunk)
            chunk = []
    if chunk:
        yield from _named_rows(membership, chunk)


def _named_rows(membership: Membership, events: list[AuditEvent]) -> Iterator[list[object]]:
    audit_names.names_for(membership, events)
    for event in events:
        yield [
            event.at.isoformat(),
            event.action,
            str(audit.ACTIONS.get(event.action, event.action)),
            str(event.actor.uuid) if event.actor else "",
            event.actor_label,
            event.actor_name,  # type: ignore[attr-defined]
            event.target_type,
            event.target_id,
            event.target_name,  # type: ignore[attr-defined]
            event.ip or "",
        ]


@never_cache
@staff_view(Can.VIEW_AUDIT)
def audit_export(request: PracticeRequest, practice_slug: str) -> StreamingHttpResponse:
    """The filtered trail as CSV: raw ids beside the names, formulas defused; audited."""
    membership = request.membership
    filters = _filters(request)
    events = filtered_events(membership, filters)
    # Recorded before the rows are read, so the export lists itself as its first line.
    audit.record("audit.export", request=request, **_audit_details(filters))
    # Read inside the request, while the practice scope (and its database policies) is
    # open; only the writing of the CSV text is streamed.
    rows = list(_rows(membership, events))
    response = StreamingHttpResponse(csvsafe.lines(CSV_HEADER, rows), content_type="text/csv")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = (
        f'attachment; filename="attune-audit-{request.practice.slug}-{stamp}.csv"'
    )
    return response
