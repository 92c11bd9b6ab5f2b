"""API for whole-practice exports (owners): ask, follow, download once."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from practice.api_base import StaffAPIView, capability, no_body
from practice.api_errors import Conflict
from practice.lookups import get_or_404
from practice.roles import Can
from reports import exports
from reports.models import ExportStatus, PracticeExport


class ExportSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    status = serializers.ChoiceField(choices=ExportStatus.choices)
    progress = serializers.IntegerField(help_text="Percent done.")
    step = serializers.CharField(allow_blank=True, help_text="What the worker is writing now.")
    error = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    size = serializers.IntegerField(allow_null=True)
    sha256 = serializers.CharField(allow_blank=True)
    downloaded_at = serializers.DateTimeField(allow_null=True)
    downloadable = serializers.BooleanField(help_text="Ready and not yet downloaded.")


class ExportsView(StaffAPIView):
    permission_classes = [*StaffAPIView.permission_classes, capability(Can.MANAGE_DATA)]

    @extend_schema(
        responses=ExportSerializer(many=True),
        tags=["exports"],
        operation_id="exports_list",
        summary="List exports",
        description=("Owners: the 20 most recent whole-practice exports and their state."),
    )
    def get(self, request: Request, practice_slug: str) -> Response:
        return Response(ExportSerializer(PracticeExport.objects.all()[:20], many=True).data)

    @extend_schema(
        request=None,
        responses={202: ExportSerializer},
        tags=["exports"],
        operation_id="exports_create",
        summary="Start a whole-practice export",
        description="Start a whole-practice export (or get the one already running); poll it "
        "until status is done, then download it once.",
    )
    @no_body
    def post(self, request: Request, practice_slug: str) -> Response:
        export = exports.request_export(
            self.practice,
            actor=self.user,
            request=request._request,
        )
        return Response(ExportSerializer(export).data, status=status.HTTP_202_ACCEPTED)


class ExportView(StaffAPIView):
    permission_classes = [*StaffAPIView.permission_classes, capability(Can.MANAGE_DATA)]

    @extend_schema(
        responses=ExportSerializer,
        tags=["exports"],
        operation_id="exports_retrieve",
        summary="Get an export",
        description=(
            "Owners: one export's status and progress. Poll it until `status` is done, then "
            "download it."
        ),
    )
    def get(self, request: Request, practice_slug: str, export_id: Any) -> Response:
        export = get_or_404(PracticeExport.objects.all(), uuid=export_id)
        return Response(ExportSerializer(export).data)


class ExportDownloadView(StaffAPIView):
    permission_classes = [*StaffAPIView.permission_classes, capability(Can.MANAGE_DATA)]

    @extend_schema(
        responses={
            (200, "application/zip"): OpenApiTypes.BINARY,
            409: OpenApiResponse(description="Not ready, already downloaded, or deleted."),
        },
        tags=["exports"],
        operation_id="exports_download",
        summary="Download an export",
        description="The zip, once: the file is deleted as soon as it has been sent. Audited.",
    )
    def get(self, request: Request, practice_slug: str, export_id: Any) -> Any:
        export = get_or_404(PracticeExport.objects.all(), uuid=export_id)
        response = exports.download(
            export,
            actor=self.user,
            request=request._request,
        )
        if response is None:
            raise Conflict(
                _("This export is not ready, was already downloaded, or was deleted."),
                code="not_downloadable",
            )
        return response
