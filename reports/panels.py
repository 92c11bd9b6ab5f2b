"""What the couple page shows of reports, for clinical staff only."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from clients.models import Couple, Partner
from practice.models import Membership
from practice.roles import Can, can
from reports.forms import ReportForm

RECENT_REPORTS = 20


def couple_panels(
    *,
    request: HttpRequest,
    couple: Couple,
    partners: list[Partner],
    membership: Membership,
    tab: str = "results",
) -> dict[str, Any]:
    """The couple page's reports tab: its reports and the report form (registered in
    practice.panels.COUPLE_PAGE)."""
    if tab != "reports" or not can(membership, Can.VIEW_CLINICAL):
        return {}
    return {
        "couple_reports": list(couple.reports.filter(translation_of__isnull=True)[:RECENT_REPORTS]),
        "report_form": ReportForm(initial={"language": request.LANGUAGE_CODE}),
    }
