"""Reports in the client portal: released couple reports of the partner's own couple."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from clients.models import Partner
from practice import audit
from practice.lookups import get_or_404
from reports.models import Report, ReportKind, ReportStatus
from reports.views import pdf_response


def released_for(partner: Partner) -> QuerySet[Report]:
    """Couple reports of this partner's couple that a clinician has released."""
    return Report.objects.filter(
        couple_id=partner.couple_id,
        kind=ReportKind.COUPLE,
        status=ReportStatus.READY,
        released_at__isnull=False,
    ).order_by("-released_at")


def download(request: HttpRequest, report_id: str) -> HttpResponse:
    """A released report, for a partner of its couple; audited and never cached."""
    partner: Partner = request.partner  # type: ignore[attr-defined]
    report = get_or_404(released_for(partner).select_related("couple"), uuid=report_id)
    audit.record_for_partner(
        "report.portal_download",
        partner,
        request=request,
        target=report,
    )
    return pdf_response(report)
