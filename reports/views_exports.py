"""The owner's exports page: start a whole-practice export, watch it, download it once."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from practice.lookups import get_or_404
from practice.requests import PracticeRequest, staff_view
from practice.roles import Can, require
from reports import exports
from reports.models import PracticeExport


@never_cache
@staff_view()
def export_list(request: PracticeRequest, practice_slug: str) -> HttpResponse:
    """Recent exports with their progress; POST starts one."""
    require(request.membership, Can.MANAGE_DATA)
    if request.method == "POST":
        exports.request_export(
            request.practice,
            actor=request.user,
            request=request,
        )
        messages.success(request, _("Export started. This page shows its progress."))
        return redirect("exports", practice_slug=practice_slug)
    return render(
        request,
        "reports/exports.html",
        {"nav": "settings", "exports": PracticeExport.objects.all()[:10], "keep_hours": 24},
    )


def _payload(request: PracticeRequest, export: PracticeExport) -> dict[str, object]:
    slug = request.practice.slug
    return {
        "status": export.status,
        "status_label": str(export.get_status_display()),
        "progress": export.progress,
        "downloadable": export.downloadable,
        "error": export.error,
        "download_url": reverse("export_download", args=[slug, export.uuid])
        if export.downloadable
        else None,
    }


@never_cache
@staff_view()
def export_status(request: PracticeRequest, practice_slug: str, export_id: str) -> JsonResponse:
    """Progress for the page's script to poll (no client data in it)."""
    require(request.membership, Can.MANAGE_DATA)
    export = get_or_404(PracticeExport.objects.all(), uuid=export_id)
    return JsonResponse(_payload(request, export))


@never_cache
@staff_view()
def export_download(
    request: PracticeRequest, practice_slug: str, export_id: str
) -> HttpResponseBase:
    """The zip, once (audited); afterwards the file is gone."""
    require(request.membership, Can.MANAGE_DATA)
    export = get_or_404(PracticeExport.objects.all(), uuid=export_id)
    response = exports.download(
        export,
        actor=request.user,
        request=request,
    )
    if response is None:
        messages.error(
            request,
            _("This export is not ready, was already downloaded, or was deleted. Start a new one."),
        )
        return redirect("exports", practice_slug=practice_slug)
    return response
