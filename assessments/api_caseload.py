"""The caseload in the API: couples as rows with progress, forms, scores and alerts."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
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
from assessments.serializers_caseload import CoupleSerializer
from clients import services
from clients.access import get_couple
from clients.api import clinicians_from
from clients.models import Couple
from clients.serializers import CoupleCreate, CoupleUpdate
from practice import audit, keyset
from practice.api_base import Cursor, StaffAPIView, capability, paged
from practice.api_errors import drf_error, one_of
from practice.requests import practice_request
from practice.roles import Can, can


def couple_payload(request: Request, couple: Couple) -> dict[str, Any]:
    """One couple as a caseload row (even if a change just took it off this member's list)."""
    membership = practice_request(request._request).membership
    one = caseload.caseload(
        membership,
        caseload.Filters(status="all"),
        timezone.localdate(),
        couples=Couple.objects.filter(pk=couple.pk),
    ).get()
    return CoupleSerializer(one, context={"clinical": can(membership, Can.VIEW_CLINICAL)}).data


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


def _positive(value: Any, default: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return number if number > 0 else default


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
    OpenApiParameter("limit", int, description="Page size, at most 200."),
    OpenApiParameter(
        "cursor", str, description="Where the page starts: from a previous page's next or previous."
    ),
]


class CoupleListView(StaffAPIView):
    """The caseload: couples this member may see."""

    @extend_schema(
        parameters=LIST_PARAMETERS,
        responses=paged(CoupleSerializer, "Couple"),
        tags=["couples"],
        operation_id="couples_list",
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
        couples = caseload.caseload(self.membership, filters, timezone.localdate())
        size = min(_positive(params.get("limit"), Cursor.page_size), Cursor.max_page_size)
        try:
            page = keyset.paginate(
                couples, caseload.ordering(filters, clinical), params.get("cursor"), size
            )
        except keyset.BadCursor:
            raise ValidationError({"cursor": [CursorPagination.invalid_cursor_message]}) from None
        audit.record("caseload.view", request=request._request, rows=len(page.rows), via="api")
        return Response(
            {
                "next": _page_url(request, page.next),
                "previous": _page_url(request, page.previous),
                "results": CoupleSerializer(
                    page.rows, many=True, context={"clinical": clinical}
                ).data,
            }
        )

    @extend_schema(
        request=CoupleCreate,
        responses={201: CoupleSerializer},
        tags=["couples"],
        operation_id="couples_create",
    )
    def post(self, request: Request, practice_slug: str) -> Response:
        if not can(self.membership, Can.MANAGE_COUPLES):
            raise NotFound
        data = CoupleCreate(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            couple = services.create_couple(
                practice=self.practice,
                actor=self.user,
                label=values["label"],
                start_date=values.get("start_date"),
                clinicians=clinicians_from(self.practice, values["clinicians"]),
                partners=[services.PartnerDetails(**p) for p in values["partners"]],
                request=request._request,
            )
        except DjangoValidationError as exc:
            raise drf_error(exc) from None
        return Response(couple_payload(request, couple), status=status.HTTP_201_CREATED)


class CoupleDetailView(StaffAPIView):
    @extend_schema(responses=CoupleSerializer, tags=["couples"], operation_id="couples_retrieve")
    def get(self, request: Request, practice_slug: str, couple_id: Any) -> Response:
        couple = get_couple(self.membership, couple_id)
        audit.record("couple.view", request=request._request, target=couple, via="api")
        return Response(couple_payload(request, couple))

    @extend_schema(
        request=CoupleUpdate,
        responses=CoupleSerializer,
        tags=["couples"],
        operation_id="couples_partial_update",
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
