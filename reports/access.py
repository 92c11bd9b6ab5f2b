"""What a member of staff may see of the reports app.

Reports belong to couples: a member sees the reports of the couples
``clients.access.couples_for`` lets them see, and ``get_report`` answers 404 for
"not yours" exactly as for "does not exist". Whether the member may read reports
at all (``Can.VIEW_CLINICAL``) is the caller's check, as for every other page.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from django.db.models import QuerySet

from clients.access import get_visible, of_visible_couples
from practice.models import Membership
from reports.models import Report


def visible_reports(membership: Membership) -> QuerySet[Report]:
    """Reports on the couples this member may see."""
    return of_visible_couples(Report.objects.all(), membership)


def get_report(membership: Membership, report_id: UUID | str, select: Sequence[str] = ()) -> Report:
    """A report on a couple this member may see; 404 otherwise."""
    return get_visible(visible_reports(membership), report_id, select)
