"""The caseload in the API: couples as rows with progress, forms, scores and alerts."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from assessments import caseload
from assessments.serializers_caseload import CoupleSerializer, couple_rows, row_values
from clients import services
from clients.access import get_couple
from clients.api import clinicians_from, partner_email_error
from clients.models import Couple
from clients.serializers import CoupleCreate, CoupleUpdate
from practice import audit, keyset
from practice.api_base import PAGE_PARAMETERS, Cursor, StaffAPIView, capability, paged
from practice.api_errors import one_of
from practice.requests import practice_request
from practice.roles import Can, can


def couple_payload(request: Request, couple: Couple) -> dict[str, Any]:
    """One couple as a caseload row (even if a change just took it off this member's list)."""
    membership = practice_request(request._request).membership
    clinical = can(membership, Can.VIEW_CLINICAL)
    today = timezone.localdate()
    one = row_values(
        caseload.caseload(
            membership,
            caseload.Filters(status="all"),
            today,
            couples=Couple.objects.filter(pk=couple.pk),
        ),
        clinical,
    ).get()
    return couple_rows([one], clinical, today)[0]


# The orderings the list offers, as the caseload's sort and direction.
ORDERINGS: dict[str, tuple[str, bool]] = {
    "label": ("label", False),
    "-label": ("label", True),
    "due": ("due", False),
    "alerts": ("alerts", False),
    "-connection": ("connection", True),
}
CLINICAL_ORDERINGS = {"alerts", "-connection"}


def _page_url(request: Request, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    query = request.query_params.copy()
    query["cursor"] = cursor
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")


LIST_PARAMETERS = [
    OpenApiParameter("q", str, description="Search couple labels, partner names and emails."),
    OpenApiParameter(
        "status",
        str,
        enum=["active", "paused", "closed", "all"],
        description="Case status (default active).",
    ),
    OpenApiParameter("clinician", OpenApiTypes.UUID, description="Only this clinician's couples."),
    OpenApiParameter("attention", bool, description="Only couples with overdue forms or alerts."),
    OpenApiParameter(
        "ordering",
        str,
        enum=list(ORDERINGS),
        description=(
            "label (default) or -label; due: next due date first, none last; alerts: most "
            "urgent open alert first; -connection: highest latest couple connection first, "
            "none last (alerts and -connection need clinical access)."
        ),
    ),
    *PAGE_PARAMETERS,
]


class CoupleListView(StaffAPIView):
    """The caseload: couples this member may see."""

    @extend_schema(
        parameters=LIST_PARAMETERS,
        responses=paged(CoupleSerializer, "Couple"),
        tags=["couples"],
        operation_id="couples_list",
        summary="List couples (the caseload)",
        description=(
            "The couples this member may see (owners and assistants: all; clinicians: their "
            "own), filtered and sorted like the dashboard caseload, one cursor page at a "
            "time. Each row carries its partners, clinicians, form progress and next due "
            "date; `connection` and `open_alerts` are null for assistants. Audited."
        ),
    )
    def get(self, request: Request, practice_slug: str) -> Response:
        params = request.query_params.copy()
        params["attention"] = "1" if params.get("attention") in {"1", "true", "True"} else ""
        filters = caseload.Filters.from_query(params)
        if params.get("clinician") and not filters.clinician:
            raise ValidationError({"clinician": [_("Must be a UUID.")]})
        if params.get("status") and not filters.status:
            raise ValidationError({"status": [one_of(["active", "paused", "closed", "all"])]})
        ordering = params.get("ordering") or "label"
        clinical = can(self.membership, Can.VIEW_CLINICAL)
        if ordering not in ORDERINGS or (ordering in CLINICAL_ORDERINGS and not clinical):
            allowed = [o for o in ORDERINGS if clinical or o not in CLINICAL_ORDERINGS]
            raise ValidationError({"ordering": [one_of(allowed)]})
        sort, descending = ORDERINGS[ordering]
        filters = replace(filters, sort=sort, descending=descending)
        today = timezone.localdate()
        couples = row_values(caseload.caseload(self.membership, filters, today), clinical)
        size = Cursor().get_page_size(request)  # 1 to 200, or a 400 naming `limit`
        # One transaction for the page, its partners and clinicians, and the audit event:
        # one commit, and the row-level security setting made once per mode, not per query.
        with transaction.atomic():
            try:
                page = keyset.paginate(
                    couples, caseload.ordering(filters, clinical), params.get("cursor"), size
                )
            except keyset.BadCursor:
                raise ValidationError(
                    {"cursor": [CursorPagination.invalid_cursor_message]}
                ) from None
            results = couple_rows(page.rows, clinical, today)
            audit.record("caseload.view", request=request._request, rows=len(page.rows), via="api")
        return Response(
            {
                "next": _page_url(request, page.next),
                "previous": _page_url(request, page.previous),
                "results": results,
            }
        )

    @extend_schema(
        request=CoupleCreate,
        responses={201: CoupleSerializer},
        tags=["couples"],
        operation_id="couples_create",
        summary="Create a couple",
        description=(
            "A couple with exactly two partners, all or nothing. Without `clinicians`, a "
            "clinician who creates it becomes its clinician (otherwise it would vanish from "
            "their caseload); owners and assistants leave it unassigned. Partner emails must "
            "differ from each other and from every other client of the practice: refusals "
            "name the partner, as in `partners[1].email`. Nobody is emailed until you invite "
            "a partner."
        ),
    )
    def post(self, request: Request, practice_slug: str) -> Response:
        if not can(self.membership, Can.MANAGE_COUPLES):
            raise NotFound
        data = CoupleCreate(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        clinicians = clinicians_from(self.practice, values["clinicians"])
        if not clinicians and not can(self.membership, Can.SEE_ALL_COUPLES):
            # A clinician sees only their own couples: without this they would lose it at once.
            clinicians = [request.user]
        try:
            couple = services.create_couple(
                practice=self.practice,
                actor=self.user,
                label=values["label"],
                start_date=values.get("start_date"),
                clinicians=clinicians,
                partners=[services.PartnerDetails(**p) for p in values["partners"]],
                request=request._request,
            )
        except DjangoValidationError as exc:
            raise partner_email_error(exc, [p["email"] for p in values["partners"]]) from None
        return Response(couple_payload(request, couple), status=status.HTTP_201_CREATED)


class CoupleDetailView(StaffAPIView):
    @extend_schema(
        responses=CoupleSerializer,
        tags=["couples"],
        operation_id="couples_retrieve",
        summary="Get a couple",
        description=("One caseload row, the same shape as in the list. Audited."),
    )
    def get(self, request: Request, practice_slug: str, couple_id: Any) -> Response:
        couple = get_couple(self.membership, couple_id)
        audit.record("couple.view", request=request._request, target=couple, via="api")
        return Response(couple_payload(request, couple))

    @extend_schema(
        request=CoupleUpdate,
        responses=CoupleSerializer,
        tags=["couples"],
        operation_id="couples_partial_update",
        summary="Change a couple",
        description=(
            "Change the label, case status, start date, monthly reports or clinicians. A "
            "clinician who removes themselves loses access to the couple at once. Answers the "
            "row as it is now."
        ),
    )
    def patch(self, request: Request, practice_slug: str, couple_id: Any) -> Response:
        capability(Can.MANAGE_COUPLES)().has_permission(request, self)
        couple = get_couple(self.membership, couple_id)
        data = CoupleUpdate(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        clinicians = values.pop("clinicians", None)
        services.update_couple(
            couple,
            actor=self.user,
            request=request._request,
            clinicians=clinicians_from(self.practice, clinicians)
            if clinicians is not None
            else None,
            **values,
        )
        return Response(couple_payload(request, couple))
