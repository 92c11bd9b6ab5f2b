"""What a member of staff may see of the assessments app: forms, answers and alerts.

Each ``visible_*`` is a row set cut to the couples ``clients.access.couples_for``
lets this member see; each ``get_*`` looks one row up by its URL id within it and
answers 404 for "not yours" exactly as for "does not exist". ``select`` names the
relations the caller reads, joined in the same query.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from django.db.models import QuerySet

from assessments.models import Alert, Assignment, Occurrence, Response
from clients.access import get_visible, of_visible_couples
from practice.models import Membership


def visible_assignments(membership: Membership) -> QuerySet[Assignment]:
    """Assignments of the couples this member may see."""
    return of_visible_couples(Assignment.objects.all(), membership)


def visible_occurrences(membership: Membership) -> QuerySet[Occurrence]:
    """Forms (occurrences) of the couples this member may see."""
    return of_visible_couples(Occurrence.objects.all(), membership)


def visible_responses(membership: Membership) -> QuerySet[Response]:
    """Answer sets of the couples this member may see (drafts included)."""
    return of_visible_couples(Response.objects.all(), membership)


def visible_alerts(membership: Membership) -> QuerySet[Alert]:
    """Alerts on the couples this member may see."""
    return of_visible_couples(Alert.objects.all(), membership)


def get_assignment(
    membership: Membership, assignment_id: UUID | str, select: Sequence[str] = ()
) -> Assignment:
    """An assignment of a couple this member may see; 404 otherwise."""
    return get_visible(visible_assignments(membership), assignment_id, select)


def get_occurrence(
    membership: Membership, occurrence_id: UUID | str, select: Sequence[str] = ()
) -> Occurrence:
    """A form of a couple this member may see; 404 otherwise."""
    return get_visible(visible_occurrences(membership), occurrence_id, select)


def get_response(
    membership: Membership, response_id: UUID | str, select: Sequence[str] = ()
) -> Response:
    """An answer set of a couple this member may see; 404 otherwise."""
    return get_visible(visible_responses(membership), response_id, select)


def get_alert(membership: Membership, alert_id: UUID | str, select: Sequence[str] = ()) -> Alert:
    """An alert on a couple this member may see; 404 otherwise."""
    return get_visible(visible_alerts(membership), alert_id, select)
