"""What each staff role may do: the one permission table pages and API share."""

from __future__ import annotations

from enum import StrEnum

from django.core.exceptions import PermissionDenied
from django.http import Http404

from practice.models import Membership, Role


class Can(StrEnum):
    MANAGE_PRACTICE = "manage_practice"  # settings, members, branding
    VIEW_AUDIT = "view_audit"
    SEE_ALL_COUPLES = "see_all_couples"  # otherwise only couples assigned to you
    MANAGE_COUPLES = "manage_couples"  # create and edit couples and partners
    INVITE = "invite"  # portal invitations
    ASSIGN = "assign"  # schedule assessments
    VIEW_CLINICAL = "view_clinical"  # answers, scores, notes, alerts, reports
    MANAGE_REPORTS = "manage_reports"  # generate, release, withdraw
    MANAGE_INSTRUMENTS = "manage_instruments"  # upload practice instruments
    # Whole-practice export, importing another system's responses, erasure.
    MANAGE_DATA = "manage_data"


_GRANTS: dict[str, frozenset[Can]] = {
    Role.OWNER: frozenset(Can),
    Role.CLINICIAN: frozenset(
        {Can.MANAGE_COUPLES, Can.INVITE, Can.ASSIGN, Can.VIEW_CLINICAL, Can.MANAGE_REPORTS}
    ),
    Role.ASSISTANT: frozenset({Can.SEE_ALL_COUPLES, Can.MANAGE_COUPLES, Can.INVITE, Can.ASSIGN}),
}


def can(membership: Membership | None, capability: Can) -> bool:
    """Whether the membership's role grants the capability."""
    return membership is not None and capability in _GRANTS.get(membership.role, frozenset())


def require(membership: Membership | None, capability: Can, *, hide: bool = True) -> None:
    """Stop the request unless the role grants the capability.

    With ``hide`` (the default) the answer is 404, so a page a role may not
    open looks exactly like a page that does not exist.
    """
    if not can(membership, capability):
        if hide:
            raise Http404
        raise PermissionDenied
