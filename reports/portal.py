"""Reports in the client portal: released couple reports of the partner's own couple."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseBase

from clients.models import Partner
from clients.portal import PortalRequest, portal_view
from practice import audit
from practice.lookups import get_or_404
from reports import services
from reports.models import Report, ReportKind, ReportStatus
from reports.views import pdf_response


def released_for(partner: Partner) -> QuerySet[Report]:
    """Couple reports of this partner's couple that a clinician has released.

    One entry per report: its renderings in other languages are not listed apart.
    """
    return Report.objects.filter(
        couple_id=partner.couple_id,
        kind=ReportKind.COUPLE,
        status=ReportStatus.READY,
        released_at__isnull=False,
        translation_of__isnull=True,
    ).order_by("-released_at")


@portal_view
def download(request: PortalRequest, report_id: str) -> HttpResponseBase:
    """A released report in the partner's own language (when drawn in it); audited, never cached."""
    partner = request.partner
    report = get_or_404(released_for(partner).select_related("couple"), uuid=report_id)
    report = services.for_reader(report, partner.language)
    audit.record_for_partner(
        "report.portal_download",
        partner,
        request=request,
        target=report,
    )
    return pdf_response(report)


def portal_home_panel(*, request: HttpRequest, partner: Partner) -> dict[str, Any]:
    """The portal home's released reports (registered in practice.panels.PORTAL_HOME)."""
    return {"reports": list(released_for(partner))}
