"""API for data in and out: FHIR questionnaires and answers, the scales step, scores as CSV."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from assessments import definition as defn
from assessments.api_caseload import couple_payload
from assessments.fhir import FhirError
from assessments.models import Instrument, InstrumentStatus
from assessments.serializers import InstrumentDetailSerializer
from assessments.serializers_caseload import CoupleSerializer
from assessments.services import fhir as fhir_services
from assessments.services import score_table
from clients.access import get_couple
from clients.api import clinicians_from
from practice import audit
from practice.api_base import StaffAPIView, StrictSerializer, capability
from practice.api_errors import drf_error
from practice.lookups import get_or_404
from practice.roles import Can

FHIR_JSON = OpenApiResponse(
    response=OpenApiTypes.OBJECT, description="A FHIR R4 resource (application/fhir+json shape)."
)


def _refused(exc: FhirError, field: str) -> ValidationError:
    """Each refusal under ``<field>.<linkId>`` (or ``<field>`` when it names no item)."""
    fields: dict[str, list[str]] = {}
    for refusal in exc.refusals:
        name = f"{field}.{refusal.link_id}" if refusal.link_id else field
        fields.setdefault(name, []).append(refusal.reason)
    return ValidationError(fields)


def _scale_problems(exc: defn.DefinitionError, field: str) -> ValidationError:
    fields: dict[str, list[str]] = {}
    for problem in exc.problems:
        name = f"{field}.{problem.path}" if problem.path else field
        fields.setdefault(name, []).append(problem.message)
    return ValidationError(fields)


def _flag(request: Request, name: str) -> bool:
    value = request.query_params.get(name, "false").lower()
    if value not in {"true", "false", "1", "0"}:
        raise ValidationError({name: ["Use true or false."]})
    return value in {"true", "1"}


class FhirQuestionnaireImport(StrictSerializer):
    questionnaire = serializers.JSONField(help_text="A FHIR R4 Questionnaire resource.")
    scales = serializers.JSONField(
        required=False,
        help_text="Optional: the scales step at once (see docs/instruments.md). Without it the "
        "draft gets a provisional total and waits for the scales step.",
    )


class InstrumentsFhirView(StaffAPIView):
    permission_classes = [*StaffAPIView.permission_classes, capability(Can.ASSIGN)]

    @extend_schema(
        responses={200: FHIR_JSON},
        tags=["fhir"],
        operation_id="instruments_fhir_bundle",
        summary="Export instruments as FHIR",
        description="Every instrument this practice can use (built-in and its own, not retired) "
        "as a FHIR R4 Bundle of Questionnaires.",
    )
    def get(self, request: Request, practice_slug: str) -> Response:
        instruments = (
            Instrument.objects.exclude(status=InstrumentStatus.RETIRED)
            .select_related("practice")
            .order_by("key", "version")
        )
        return Response(fhir_services.instruments_bundle(instruments))

    @extend_schema(
        request=FhirQuestionnaireImport,
        responses={201: InstrumentDetailSerializer},
        tags=["fhir"],
        operation_id="instruments_fhir_import",
        summary="Import a FHIR Questionnaire",
        description="Owners: import a FHIR R4 Questionnaire as a draft instrument. Anything it "
        "cannot show or score is a 400 naming the item: fields['questionnaire.<linkId>'].",
    )
    def post(self, request: Request, practice_slug: str) -> Response:
        capability(Can.MANAGE_INSTRUMENTS)().has_permission(request, self)
        data = FhirQuestionnaireImport(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            instrument = fhir_services.import_questionnaire(
                practice=self.practice,
                actor=self.user,
                resource=data.validated_data["questionnaire"],
                spec=data.validated_data.get("scales"),
                request=request._request,
            )
        except FhirError as exc:
            raise _refused(exc, "questionnaire") from None
        except defn.DefinitionError as exc:
            raise _scale_problems(exc, "scales") from None
        except DjangoValidationError as exc:
            raise drf_error(exc) from None
        return Response(InstrumentDetailSerializer(instrument).data, status=status.HTTP_201_CREATED)


class InstrumentFhirView(StaffAPIView):
    permission_classes = [*StaffAPIView.permission_classes, capability(Can.ASSIGN)]

    @extend_schema(
        responses={200: FHIR_JSON},
        tags=["fhir"],
        operation_id="instruments_fhir_retrieve",
        summary="Export an instrument as FHIR",
        description="One instrument version as a FHIR R4 Questionnaire (scales in an extension).",
    )
    def get(self, request: Request, practice_slug: str, instrument_id: Any) -> Response:
        instrument = get_or_404(Instrument.objects.select_related("practice"), uuid=instrument_id)
        return Response(fhir_services.questionnaire_of(instrument))


class ScalesStep(StrictSerializer):
    direction = serializers.ChoiceField(
        choices=["higher_is_better", "higher_is_worse"], required=False
    )
    validated = serializers.BooleanField(required=False)
    practice_authored = serializers.BooleanField(required=False)
    reverse = serializers.ListField(child=serializers.CharField(), required=False)
    scales = serializers.ListField(
        child=serializers.JSONField(),
        help_text="Each: key, label, items (link ids), method (sum or mean), optional "
        "min_answered (default 80 % of the items), total, direction, bands.",
    )


class InstrumentScalesView(StaffAPIView):
    permission_classes = [*StaffAPIView.permission_classes, capability(Can.MANAGE_INSTRUMENTS)]

    @extend_schema(
        request=ScalesStep,
        responses={200: InstrumentDetailSerializer},
        tags=["fhir"],
        operation_id="instruments_scales",
        summary="Set a draft's scales",
        description="The scales step of a draft: which items form which scale, how, and "
        "which are reverse-keyed. Problems are 400 under fields['scales.<place>'].",
    )
    def post(self, request: Request, practice_slug: str, instrument_id: Any) -> Response:
        instrument = get_or_404(
            Instrument.objects.filter(practice=self.practice), uuid=instrument_id
        )
        data = ScalesStep(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            instrument = fhir_services.set_scales(
                instrument,
                dict(data.validated_data),
                actor=self.user,
                request=request._request,
            )
        except defn.DefinitionError as exc:
            raise _scale_problems(exc, "scales") from None
        except DjangoValidationError as exc:
            raise drf_error(exc) from None
        return Response(InstrumentDetailSerializer(instrument).data)


class CoupleFhirView(StaffAPIView):
    permission_classes = [*StaffAPIView.permission_classes, capability(Can.VIEW_CLINICAL)]

    @extend_schema(
        responses={200: FHIR_JSON},
        tags=["fhir"],
        operation_id="couples_fhir_export",
        summary="Export a couple as FHIR",
        parameters=[
            OpenApiParameter(
                "include_private",
                bool,
                description="Also the private safety answers (default false). Never hand a "
                "file with them to either partner.",
            ),
            OpenApiParameter("include_names", bool, description="Names and emails (default no)."),
        ],
        description="The couple (Group), partners (Patient, by UUID), the instruments used "
        "and every submitted answer set (QuestionnaireResponse) as a FHIR R4 Bundle. Audited.",
    )
    def get(self, request: Request, practice_slug: str, couple_id: Any) -> Response:
        couple = get_couple(self.membership, couple_id)
        export = fhir_services.export_couple(
            couple,
            actor=self.user,
            include_private=_flag(request, "include_private"),
            include_names=_flag(request, "include_names"),
            request=request._request,
        )
        return Response(export.bundle)


class CoupleImport(StrictSerializer):
    bundle = serializers.JSONField(
        help_text="A FHIR R4 Bundle with one Group (the couple), its two Patients and their "
        "completed QuestionnaireResponses, as this API exports them."
    )
    label = serializers.CharField(required=False, allow_blank=True, max_length=120)  # type: ignore[assignment]
    clinicians = serializers.ListField(child=serializers.UUIDField(), required=False)


class CouplesFhirImportView(StaffAPIView):
    permission_classes = [*StaffAPIView.permission_classes, capability(Can.MANAGE_DATA)]

    @extend_schema(
        request=CoupleImport,
        responses={201: CoupleSerializer},
        tags=["fhir"],
        operation_id="couples_fhir_import",
        summary="Import a couple from FHIR",
        description="Owners: a new couple from a couple Bundle, with its answers scored. Each "
        "response's questionnaire must be an instrument of the practice; every problem is a "
        "400 under fields['bundle.<response id> <linkId>'] and nothing is written.",
    )
    def post(self, request: Request, practice_slug: str) -> Response:
        data = CoupleImport(data=request.data)
        data.is_valid(raise_exception=True)
        clinicians = clinicians_from(self.practice, data.validated_data.get("clinicians", []))
        try:
            couple = fhir_services.import_couple(
                practice=self.practice,
                actor=self.user,
                bundle=data.validated_data["bundle"],
                label=data.validated_data.get("label", ""),
                clinicians=clinicians,
                request=request._request,
            )
        except FhirError as exc:
            raise _refused(exc, "bundle") from None
        except DjangoValidationError as exc:
            raise drf_error(exc) from None
        return Response(couple_payload(request, couple), status=status.HTTP_201_CREATED)


def scores_csv_response(
    request: Any, couple: Any, *, include_private: bool, include_names: bool
) -> StreamingHttpResponse:
    """The couple's scores as a CSV download, audited (shared by the page and the API)."""
    rows = list(
        score_table.score_rows(
            type(couple).objects.filter(pk=couple.pk),
            include_private=include_private,
            include_names=include_names,
        )
    )
    audit.record(
        "couple.scores_export",
        request=request,
        target=couple,
        rows=len(rows),
        include_private=include_private,
        include_names=include_names,
    )
    response = StreamingHttpResponse(
        score_table.csv_lines(rows, include_names=include_names),
        content_type="text/csv; charset=utf-8",
    )
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="scores-{couple.uuid}-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response


class CoupleScoresCsvView(StaffAPIView):
    permission_classes = [*StaffAPIView.permission_classes, capability(Can.VIEW_CLINICAL)]

    @extend_schema(
        responses={(200, "text/csv"): OpenApiTypes.STR},
        tags=["fhir"],
        operation_id="couples_scores_csv",
        summary="Export a couple's scores as CSV",
        parameters=[
            OpenApiParameter("include_private", bool, description="Private screens too."),
            OpenApiParameter("include_names", bool, description="Label and names columns."),
        ],
        description="One row per partner, occurrence and scale: score, band, RCI from the "
        "previous and from the first score, change class. Cells that a spreadsheet would "
        "read as a formula start with an apostrophe. Audited.",
    )
    def get(self, request: Request, practice_slug: str, couple_id: Any) -> Any:
        couple = get_couple(self.membership, couple_id)
        return scores_csv_response(
            request._request,
            couple,
            include_private=_flag(request, "include_private"),
            include_names=_flag(request, "include_names"),
        )
