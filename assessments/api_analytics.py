"""API for practice outcome analytics: the page's numbers as JSON and as CSV."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from assessments import analytics, views_analytics
from assessments.services import analytics as service
from practice.api_base import StaffAPIView, capability
from practice.api_errors import drf_error
from practice.roles import Can

FILTERS = [
    OpenApiParameter(
        "start", OpenApiTypes.DATE, description="First day of the period (default: a year ago)."
    ),
    OpenApiParameter(
        "end", OpenApiTypes.DATE, description="Last day of the period (default: today)."
    ),
    OpenApiParameter(
        "clinician",
        OpenApiTypes.UUID,
        description="A clinician's user id: their caseload only (owners). Clinicians always "
        "get their own caseload; naming anyone else is a 404.",
    ),
]

SUPPRESSED = (
    "Blocks whose numbers are withheld (null): `partners`, `couples`, `forms`. A block is "
    "withheld when it rests on 1 to 4 couples, or when showing it would let such a group be "
    "worked out by subtracting it from the whole practice."
)


class InstrumentOutcomesSerializer(serializers.Serializer):
    instrument = serializers.SlugField()
    instrument_version = serializers.IntegerField()
    title = serializers.CharField()
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    clinician = serializers.CharField(help_text="The caseload's clinician, empty for all.")
    change_statistics = serializers.BooleanField(
        help_text="False when the form has no usable norms: no classes, only counts and medians."
    )
    change_statistics_note = serializers.CharField(allow_blank=True)
    partners_followed = serializers.IntegerField(allow_null=True)
    partners_recovered = serializers.IntegerField(allow_null=True)
    partners_improved = serializers.IntegerField(allow_null=True)
    partners_unchanged = serializers.IntegerField(allow_null=True)
    partners_deteriorated = serializers.IntegerField(allow_null=True)
    partner_median_change = serializers.FloatField(allow_null=True)
    couples_followed = serializers.IntegerField(allow_null=True)
    couples_recovered = serializers.IntegerField(allow_null=True)
    couples_improved = serializers.IntegerField(allow_null=True)
    couples_unchanged = serializers.IntegerField(allow_null=True)
    couples_deteriorated = serializers.IntegerField(allow_null=True)
    couple_median_change = serializers.FloatField(allow_null=True)
    split_couples = serializers.IntegerField(allow_null=True)
    forms_due = serializers.IntegerField(allow_null=True)
    forms_on_time = serializers.IntegerField(allow_null=True)
    dropout_eligible = serializers.IntegerField(allow_null=True)
    dropped_out = serializers.IntegerField(allow_null=True)
    suppressed = serializers.ListField(
        child=serializers.ChoiceField(choices=["partners", "couples", "forms"]),
        help_text=SUPPRESSED,
    )


class AnalyticsSerializer(serializers.Serializer):
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    clinician = serializers.CharField()
    minimum_group = serializers.IntegerField(help_text="Fewest couples a shown block rests on.")
    instruments = InstrumentOutcomesSerializer(many=True)


def _filters(view: StaffAPIView, request: Request) -> service.Filters:
    try:
        return views_analytics.filters_from(view.membership, request.query_params)
    except DjangoValidationError as exc:
        raise drf_error(exc) from None


class AnalyticsView(StaffAPIView):
    permission_classes = [*StaffAPIView.permission_classes, capability(Can.VIEW_CLINICAL)]

    @extend_schema(
        responses=AnalyticsSerializer,
        tags=["analytics"],
        operation_id="analytics",
        summary="Get practice outcomes",
        parameters=FILTERS,
        description="Outcomes per form for the practice (owners) or one caseload, over a "
        "period: partners and couples with a baseline and a follow-up, their change classes "
        "and median change, split couples, forms on time and dropout; the same numbers as "
        "the Outcomes page and its CSV, suppressed the same way (docs/analytics.md). Audited.",
    )
    def get(self, request: Request, practice_slug: str) -> Any:
        filters = _filters(self, request)
        found = service.practice_outcomes(self.practice, filters, timezone.localdate())
        views_analytics.audit_view(
            request._request, "analytics.view", filters, instruments=len(found)
        )
        language = getattr(request, "LANGUAGE_CODE", "en")
        return Response(
            {
                "period_start": filters.start.isoformat(),
                "period_end": filters.end.isoformat(),
                "clinician": str(filters.clinician.uuid) if filters.clinician else "",
                "minimum_group": analytics.MIN_GROUP,
                "instruments": [
                    {
                        **service.as_record(item, filters),
                        "title": item.instrument.text("title", language),
                        "change_statistics_note": item.norms.reason,
                    }
                    for item in found
                ],
            }
        )


class AnalyticsCsvView(StaffAPIView):
    permission_classes = [*StaffAPIView.permission_classes, capability(Can.VIEW_CLINICAL)]

    @extend_schema(
        responses={(200, "text/csv"): OpenApiTypes.STR},
        tags=["analytics"],
        operation_id="analytics_csv",
        summary="Get practice outcomes as CSV",
        parameters=FILTERS,
        description="The same numbers as `analytics`, one row per form; withheld numbers are "
        "empty cells and the `suppressed` column names their blocks. Cells a spreadsheet would "
        "read as a formula start with an apostrophe. Audited.",
    )
    def get(self, request: Request, practice_slug: str) -> Any:
        filters = _filters(self, request)
        return views_analytics.outcomes_csv_response(request._request, self.membership, filters)
