"""Report pages for staff: ask, follow, download, retry, release."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from clients.access import couples_for, get_couple
from clients.models import CoupleStatus
from practice import audit
from practice.forms import add_service_errors, flash_form_errors
from practice.lookups import get_or_404
from practice.requests import PracticeRequest, staff_view
from practice.roles import Can, require
from reports import preview, services
from reports.access import get_report, visible_reports
from reports.forms import ReportForm
from reports.models import Report, ReportBatch, ReportStatus


def _reports(request: PracticeRequest) -> QuerySet[Report]:
    """The reports this member may read, with their couples."""
    membership = request.membership
    require(membership, Can.VIEW_CLINICAL)
    return visible_reports(membership).select_related("couple")


def _report(request: PracticeRequest, report_id: str) -> Report:
    require(request.membership, Can.VIEW_CLINICAL)
    return get_report(request.membership, report_id, select=("couple",))


@never_cache
@staff_view()
def report_list(request: PracticeRequest, practice_slug: str) -> HttpResponse:
    """Recent reports and batches; ask for reports for all active couples."""
    membership = request.membership
    # Each report once: its other languages are shown on it, not as rows of their own.
    reports = _reports(request).filter(translation_of__isnull=True)[:100]
    form = ReportForm(request.POST or None, initial={"language": request.LANGUAGE_CODE})
    if request.method == "POST":
        require(membership, Can.MANAGE_REPORTS)
        if form.is_valid():
            couples = list(couples_for(membership).filter(status=CoupleStatus.ACTIVE))
            try:
                batch = services.request_batch(
                    couples=couples,
                    practice=request.practice,
                    actor=request.user,
                    request=request,
                    **form.cleaned_data,
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                return redirect("report_batch", practice_slug=practice_slug, batch_id=batch.uuid)
    if request.method == "GET":
        audit.record("report.view", request=request, count=len(reports))
    batches = ReportBatch.objects.filter(created_by=request.user).annotate(
        total=Count("reports"),
        done=Count("reports", filter=Q(reports__status=ReportStatus.READY)),
        failed=Count("reports", filter=Q(reports__status=ReportStatus.FAILED)),
    )[:5]
    return render(
        request,
        "reports/report_list.html",
        {"nav": "reports", "reports": reports, "form": form, "batches": batches},
    )


@require_POST
@staff_view(Can.MANAGE_REPORTS)
def report_create(request: PracticeRequest, practice_slug: str, couple_id: str) -> HttpResponse:
    membership = request.membership
    couple = get_couple(membership, couple_id)
    form = ReportForm(request.POST)
    if form.is_valid():
        try:
            report = services.request_report(
                couple=couple,
                actor=request.user,
                request=request,
                **form.cleaned_data,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect("report_detail", practice_slug=practice_slug, report_id=report.uuid)
    flash_form_errors(request, form)
    couple_page = reverse("couple_detail", args=[practice_slug, couple.uuid])
    return redirect(f"{couple_page}?tab=reports#couple-tabs")


def _report_progress(report: Report, others: list[Report]) -> dict[str, object]:
    """What the report page's script announces while the report (or a translation) renders."""
    in_progress = report.in_progress or any(r.in_progress for r in others)
    if report.in_progress:
        message = _("Report status: %(status)s. The page updates itself when it is ready.") % {
            "status": report.get_status_display()
        }
    elif in_progress:
        message = _("Report status: %(status)s. Its other languages are still being drawn.") % {
            "status": report.get_status_display()
        }
    else:
        message = _("Report status: %(status)s.") % {"status": report.get_status_display()}
    return {"in_progress": in_progress, "message": message}


@never_cache
def report_detail(request: HttpRequest, practice_slug: str, report_id: str) -> HttpResponse:
    """Status of one report; its script follows the rendering in the background."""
    report = _report(request, report_id)  # type: ignore[arg-type]
    audit.record("report.view", request=request, target=report)
    others = services.family(report)
    others.remove(report)
    return render(
        request,
        "reports/report_detail.html",
        {
            "nav": "reports",
            "report": report,
            "others": others,
            "progress": _report_progress(report, others),
        },
    )


@never_cache
def report_status(request: HttpRequest, practice_slug: str, report_id: str) -> JsonResponse:
    """Progress for the report page's script to poll: a status, never the report's content."""
    report = _report(request, report_id)  # type: ignore[arg-type]
    others = services.family(report)
    others.remove(report)
    return JsonResponse(_report_progress(report, others))


def _batch_reports(request: PracticeRequest, batch_id: str) -> tuple[ReportBatch, list[Report]]:
    require(request.membership, Can.VIEW_CLINICAL)
    batch = get_or_404(ReportBatch.objects.all(), uuid=batch_id)
    reports = list(_reports(request).filter(batch=batch))
    if not reports:
        raise Http404  # none of its couples is yours to see: as the API answers
    return batch, reports


def _batch_progress(reports: list[Report]) -> dict[str, object]:
    """Counts and a sentence for the batch page's progress bar and live region."""
    progress = services.batch_progress(reports)
    ready, failed = progress.counts[ReportStatus.READY], progress.counts[ReportStatus.FAILED]
    message = _("%(ready)s of %(total)s ready") % {"ready": ready, "total": progress.total}
    if failed:
        message += ", " + ngettext("%(n)s failed", "%(n)s failed", failed) % {"n": failed}
    return {
        "in_progress": not progress.finished,
        "finished": progress.done,
        "total": progress.total,
        "message": message,
    }


@never_cache
@staff_view()
def report_batch_status(
    request: PracticeRequest, practice_slug: str, batch_id: str
) -> JsonResponse:
    """Progress for the batch page's script to poll (counts only)."""
    _, reports = _batch_reports(request, batch_id)
    return JsonResponse(_batch_progress(reports))


@never_cache
@staff_view()
def report_batch(request: PracticeRequest, practice_slug: str, batch_id: str) -> HttpResponse:
    batch, reports = _batch_reports(request, batch_id)
    audit.record("report.view", request=request, target=batch, count=len(reports))
    progress = services.batch_progress(reports)
    return render(
        request,
        "reports/report_batch.html",
        {
            "nav": "reports",
            "batch": batch,
            "reports": reports,
            "counts": progress.counts,
            "total": progress.total,
            "finished": progress.done,
            "in_progress": not progress.finished,
            "progress": _batch_progress(reports),
        },
    )


def download(request: HttpRequest, practice_slug: str, report_id: str) -> HttpResponseBase:
    """The PDF, for the couple's clinicians and owners; audited and never cached."""
    report = _report(request, report_id)  # type: ignore[arg-type]
    if not report.is_ready or not report.file:
        raise Http404
    audit.record("report.download", request=request, target=report, kind=report.kind)
    return pdf_response(report)


def report_filename(report: Report) -> str:
    """Couple, kind, period and the day it was made: two reports never share a name."""
    couple = slugify(report.couple.label) or "couple"
    made = timezone.localtime(report.created_at).date().isoformat()
    return (
        f"attune-{couple}-{report.kind}-report-"
        f"{report.period_start.isoformat()}-to-{report.period_end.isoformat()}-"
        f"{report.language}-made-{made}.pdf"
    )


def pdf_response(report: Report) -> FileResponse:
    filename = report_filename(report)
    response = FileResponse(
        report.file.open("rb"),
        as_attachment=True,
        filename=filename,
        content_type="application/pdf",
    )
    response["Cache-Control"] = "no-store, private"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@never_cache
def report_preview(request: HttpRequest, practice_slug: str, report_id: str) -> HttpResponse:
    """The finished PDF's pages as pictures in the page, to read before releasing it."""
    report = _report(request, report_id)  # type: ignore[arg-type]
    if not report.is_ready or not report.file:
        raise Http404
    with report.file.open("rb") as stored:
        data = stored.read()
    try:
        pages = preview.page_images(data)
    except preview.PreviewFailed:
        pages = []
    audit.record("report.preview", request=request, target=report, pages=len(pages))
    return render(
        request,
        "reports/report_preview.html",
        {
            "nav": "reports",
            "report": report,
            "pages": pages,
            "audience": services.release_audience(report.translation_of or report),
        },
    )


@never_cache
@staff_view()
def report_release(request: PracticeRequest, practice_slug: str, report_id: str) -> HttpResponse:
    """Ask before releasing: who will be able to read it, and a link to the preview."""
    require(request.membership, Can.MANAGE_REPORTS)
    report = _report(request, report_id)
    audit.record("report.view", request=request, target=report)
    return render(
        request,
        "reports/report_release.html",
        {
            "nav": "reports",
            "report": report,
            "audience": services.release_audience(report.translation_of or report),
            "others": services.family(report)[1:],
        },
    )


@require_POST
@staff_view()
def report_action(request: PracticeRequest, practice_slug: str, report_id: str) -> HttpResponse:
    """Retry, release or withdraw (the POSTed ``action``)."""
    require(request.membership, Can.MANAGE_REPORTS)
    report = _report(request, report_id)
    action = request.POST.get("action")
    try:
        if action == "retry":
            services.retry(report, actor=request.user, request=request)
            messages.success(request, _("Queued again."))
        elif action == "release":
            services.release(report, actor=request.user, request=request)
            messages.success(request, _("Released: the partners can download it in their portal."))
        elif action == "withdraw":
            services.withdraw(report, actor=request.user, request=request)
            messages.success(request, _("Withdrawn from the portal."))
        else:
            messages.error(request, _("Unknown action."))
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    return redirect("report_detail", practice_slug=practice_slug, report_id=report.uuid)
