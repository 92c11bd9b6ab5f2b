"""API for reports: ask, poll, fetch a short-lived download link, release, withdraw."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clients.access import couples_for, get_couple
from clients.models import CoupleStatus
from practice import audit
from practice.api_base import (
    PAGE_PARAMETERS,
    NewestFirst,
    StaffAPIView,
    StrictSerializer,
    capability,
    paged,
)
from practice.api_errors import Conflict, SafeJSONParser, drf_error, one_of
from practice.lookups import get_or_404
from practice.models import Membership, User
from practice.roles import Can, can
from practice.tenancy import memberships_of
from reports import services
from reports.access import visible_reports
from reports.models import Report, ReportBatch, ReportError, ReportKind, ReportStatus
from reports.views import pdf_response

DOWNLOAD_LINK_LIFETIME = timedelta(minutes=5)
_SALT = "reports.download"


class ReportSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    couple = serializers.UUIDField(source="couple.uuid")
    kind = serializers.ChoiceField(choices=ReportKind.choices)
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    language = serializers.CharField()
    translation_of = serializers.UUIDField(
        source="translation_of.uuid",
        allow_null=True,
        help_text="For a couple report drawn again in a partner's language: the report it "
        "renders (released and withdrawn with it). Null for the report as asked for.",
    )
    status = serializers.ChoiceField(choices=ReportStatus.choices)
    error = serializers.CharField(
        source="error_message",
        allow_blank=True,
        help_text="Why it failed, for the clinician, in the request's language.",
    )
    error_code = serializers.ChoiceField(
        choices=ReportError.choices,
        allow_blank=True,
        help_text="render: drawing failed; storage: the PDF could not be saved; "
        "stopped: rendering kept stopping.",
    )
    can_retry = serializers.BooleanField(
        help_text="The retry action would queue it again (failed, or its renderer went quiet)."
    )
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    size = serializers.IntegerField(allow_null=True)
    sha256 = serializers.CharField(allow_blank=True)
    released_at = serializers.DateTimeField(allow_null=True)
    download_url = serializers.SerializerMethodField(
        help_text=(
            "When ready: POST download_token here (form field or JSON `token`) to get the PDF "
            "without an API token, for 5 minutes. The token travels in the body, so it never "
            "appears in access logs."
        )
    )
    download_token = serializers.SerializerMethodField(
        help_text="When ready: the signed token for download_url (5 minutes)."
    )

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_download_url(self, report: Report) -> str | None:
        request = self.context.get("request")
        if request is None or not report.is_ready:
            return None
        return request.build_absolute_uri(reverse("api:report-file"))

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_download_token(self, report: Report) -> str | None:
        request = self.context.get("request")
        if request is None or not report.is_ready:
            return None
        return signed_download_token(request, report)


def signed_download_token(request: Request, report: Report) -> str:
    """A short-lived token naming report and user (by UUID: signed, not hidden)."""
    return signing.dumps({"r": str(report.uuid), "u": str(request.user.uuid)}, salt=_SALT)  # type: ignore[union-attr]


class ReportCreate(StrictSerializer):
    kind = serializers.ChoiceField(choices=ReportKind.choices)
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    language = serializers.ChoiceField(choices=settings.LANGUAGES, required=False, default="en")


class ReportAction(StrictSerializer):
    action = serializers.ChoiceField(choices=["retry", "release", "withdraw"])


def _reports(membership: Membership) -> QuerySet[Report]:
    return visible_reports(membership).select_related("couple", "translation_of")


class ReportListView(StaffAPIView):
    permission_classes = [*StaffAPIView.permission_classes, capability(Can.VIEW_CLINICAL)]

    @extend_schema(
        responses=paged(ReportSerializer, "Report"),
        tags=["reports"],
        operation_id="reports_list",
        summary="List reports",
        description=(
            "Reports of the couples this member may see, newest first, filtered by couple, "
            "status and kind. A ready report carries a short-lived `download_token`. Clinical "
            "staff only. Audited."
        ),
        parameters=[
            OpenApiParameter("couple", OpenApiTypes.UUID, description="Only this couple's."),
            OpenApiParameter("status", str, enum=ReportStatus.values),
            OpenApiParameter("kind", str, enum=ReportKind.values),
            *PAGE_PARAMETERS,
        ],
    )
    def get(self, request: Request, practice_slug: str) -> Response:
        reports = _reports(self.membership)
        params = request.query_params
        for name, allowed in (("status", ReportStatus.values), ("kind", ReportKind.values)):
            if params.get(name):
                if params[name] not in allowed:
                    raise ValidationError({name: [one_of(allowed)]})
                reports = reports.filter(**{name: params[name]})
        if params.get("couple"):
            try:
                reports = reports.filter(couple=get_couple(self.membership, params["couple"]))
            except Http404:
                raise ValidationError({"couple": [_("No such couple.")]}) from None
        paginator = NewestFirst()
        page = paginator.paginate_queryset(reports, request, view=self)
        audit.record("report.view", request=request._request, count=len(page), via="api")
        return paginator.get_paginated_response(
            ReportSerializer(page, many=True, context={"request": request}).data
        )


class CoupleReportsView(StaffAPIView):
    permission_classes = [*StaffAPIView.permission_classes, capability(Can.MANAGE_REPORTS)]

    @extend_schema(
        request=ReportCreate,
        responses={202: ReportSerializer},
        tags=["reports"],
        operation_id="reports_create",
        summary="Ask for a report",
        description="Queue a report; poll its status until it is ready.",
    )
    def post(self, request: Request, practice_slug: str, couple_id: Any) -> Response:
        couple = get_couple(self.membership, couple_id)
        data = ReportCreate(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            report = services.request_report(
                couple=couple,
                actor=self.user,
                request=request._request,
                **data.validated_data,
            )
        except DjangoValidationError as exc:
            raise drf_error(exc) from None
        return Response(
            ReportSerializer(report, context={"request": request}).data,
            status=status.HTTP_202_ACCEPTED,
        )


class ReportDetailView(StaffAPIView):
    permission_classes = [*StaffAPIView.permission_classes, capability(Can.VIEW_CLINICAL)]

    def report(self, report_id: Any) -> Report:
        return get_or_404(_reports(self.membership), uuid=report_id)

    @extend_schema(
        responses=ReportSerializer,
        tags=["reports"],
        operation_id="reports_retrieve",
        summary="Get a report",
        description=(
            "One report and its status: queued, rendering, ready or failed. Poll it after "
            "asking; when ready it carries `download_url` and `download_token`. Audited."
        ),
    )
    def get(self, request: Request, practice_slug: str, report_id: Any) -> Response:
        report = self.report(report_id)
        audit.record("report.view", request=request._request, target=report, via="api")
        return Response(ReportSerializer(report, context={"request": request}).data)

    @extend_schema(
        request=ReportAction,
        responses=ReportSerializer,
        tags=["reports"],
        operation_id="reports_action",
        summary="Retry, release or withdraw a report",
        description="retry a failed report (or one whose renderer went quiet, see "
        "can_retry); release a ready couple report to the portal; withdraw it.",
    )
    def post(self, request: Request, practice_slug: str, report_id: Any) -> Response:
        capability(Can.MANAGE_REPORTS)().has_permission(request, self)
        report = self.report(report_id)
        data = ReportAction(data=request.data)
        data.is_valid(raise_exception=True)
        verb = {
            "retry": services.retry,
            "release": services.release,
            "withdraw": services.withdraw,
        }[data.validated_data["action"]]
        try:
            report = verb(report, actor=self.user, request=request._request)
        except DjangoValidationError as exc:
            raise Conflict(exc.messages[0]) from None
        return Response(ReportSerializer(report, context={"request": request}).data)


class DownloadRequest(StrictSerializer):
    token = serializers.CharField(
        max_length=1000,
        help_text="The report's download_token (valid for 5 minutes after it was handed out).",
    )


class LinkExpired(exceptions.APIException):
    status_code = status.HTTP_410_GONE
    default_detail = "This download link has expired; ask for a new one."
    default_code = "expired"


class ReportFileView(APIView):
    """The PDF for a short-lived signed token posted in the body; access is checked again.

    A POST keeps the token out of the request line, so out of every access log.
    No cookie or API token is involved: the signed token is the credential, so
    there is no CSRF to check either.
    """

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    parser_classes = [SafeJSONParser, FormParser]

    @extend_schema(
        # A form field `token` works too (plain HTML forms); the schema names JSON alone,
        # since one body in two encodings trips client generators.
        request={"application/json": DownloadRequest},
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
        tags=["reports"],
        operation_id="reports_download",
        summary="Download a report's PDF",
        description=(
            "POST a ready report's `download_token` (JSON or form field `token`) to get the "
            "PDF. No API token is needed: the signed token names the report and the staff "
            "member it was handed to, and their access is checked again now. The token "
            "travels in the body, so it never appears in an access log. It lasts five "
            "minutes: after that the answer is 410 `expired`; ask for the report again to get "
            "a fresh one. Audited."
        ),
        auth=[],
    )
    def post(self, request: Request) -> Any:
        data = DownloadRequest(data=request.data)
        data.is_valid(raise_exception=True)
        report, user, membership = _report_for_token(data.validated_data["token"])
        with scope(practice=report.practice):
            if not visible_reports(membership).filter(pk=report.pk).exists():
                raise NotFound
            audit.record(
                "report.download",
                request=request._request,
                actor=user,
                practice=report.practice,
                target=report,
                via="signed_link",
            )
            return pdf_response(report)


def _report_for_token(token: str) -> tuple[Report, Any, Any]:
    """The ready report, active user and their membership a signed token names, or 404/410."""
    try:
        claims = signing.loads(token, salt=_SALT, max_age=DOWNLOAD_LINK_LIFETIME)
    except signing.SignatureExpired:
        raise LinkExpired from None
    except signing.BadSignature:
        raise NotFound from None
    if not isinstance(claims, dict):
        raise NotFound
    # The signature names report and user; their practice is where access is checked.
    with scopes_disabled():
        try:
            report = (
                Report.objects.select_related("practice", "couple")
                .filter(uuid=str(claims.get("r")))
                .first()
            )
            user = User.objects.filter(uuid=str(claims.get("u")), is_active=True).first()
        except (DjangoValidationError, ValueError):
            raise NotFound from None  # not a UUID: a link signed before links named users by UUID
    if report is None or user is None or not report.is_ready:
        raise NotFound
    membership = next(
        (m for m in memberships_of(user) if m.practice_id == report.practice_id), None
    )
    if membership is None or not can(membership, Can.VIEW_CLINICAL):
        raise NotFound
    return report, user, membership


class BatchSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=ReportKind.choices)
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    created_at = serializers.DateTimeField()
    total = serializers.IntegerField()
    counts = serializers.DictField(
        child=serializers.IntegerField(), help_text="Reports by status: queued, rendering, …"
    )
    finished = serializers.BooleanField(help_text="Every report is ready or failed.")
    reports = ReportSerializer(many=True)


def _batch_payload(request: Request, batch: Any, reports: list[Report]) -> dict[str, Any]:
    progress = services.batch_progress(reports)
    return BatchSerializer(
        {
            "uuid": batch.uuid,
            "kind": batch.kind,
            "period_start": batch.period_start,
            "period_end": batch.period_end,
            "created_at": batch.created_at,
            "total": progress.total,
            "counts": progress.counts,
            "finished": progress.finished,
            "reports": reports,
        },
        context={"request": request},
    ).data


class BatchCreateView(StaffAPIView):
    """Reports for all my active couples: one report and one task each."""

    permission_classes = [*StaffAPIView.permission_classes, capability(Can.MANAGE_REPORTS)]

    @extend_schema(
        request=ReportCreate,
        responses={202: BatchSerializer},
        tags=["reports"],
        operation_id="report_batches_create",
        summary="Ask for reports for every active couple",
        description=(
            "The same body as a single report: one report for each active couple this member "
            "may see, each rendered separately. Poll the batch for progress."
        ),
    )
    def post(self, request: Request, practice_slug: str) -> Response:
        data = ReportCreate(data=request.data)
        data.is_valid(raise_exception=True)
        couples = list(couples_for(self.membership).filter(status=CoupleStatus.ACTIVE))
        try:
            batch = services.request_batch(
                couples=couples,
                practice=self.practice,
                actor=self.user,
                request=request._request,
                **data.validated_data,
            )
        except DjangoValidationError as exc:
            raise drf_error(exc) from None
        reports = list(_reports(self.membership).filter(batch=batch).order_by("couple__label"))
        return Response(_batch_payload(request, batch, reports), status=status.HTTP_202_ACCEPTED)


class BatchView(StaffAPIView):
    permission_classes = [*StaffAPIView.permission_classes, capability(Can.VIEW_CLINICAL)]

    @extend_schema(
        responses=BatchSerializer,
        tags=["reports"],
        operation_id="report_batches_retrieve",
        summary="Follow a report batch",
        description=(
            "Progress of a batch: counts by status, whether every report is finished, and "
            "each report (with its download token when ready). Only reports of couples this "
            "member may see are shown."
        ),
    )
    def get(self, request: Request, practice_slug: str, batch_id: Any) -> Response:
        batch = get_or_404(ReportBatch.objects.all(), uuid=batch_id)
        reports = list(_reports(self.membership).filter(batch=batch).order_by("couple__label"))
        if not reports:
            raise NotFound  # none of its couples is yours to see
        audit.record("report.view", request=request._request, target=batch, count=len(reports))
        return Response(_batch_payload(request, batch, reports))
