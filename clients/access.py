"""Which couples a member of staff may see. Pages and API both go through here."""

from __future__ import annotations

from uuid import UUID

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404

from clients.models import Couple, Partner
from practice.models import Membership
from practice.roles import Can, can


def couples_for(membership: Membership) -> QuerySet[Couple]:
    """Owners and assistants see every couple of the practice; clinicians their own."""
    couples = Couple.objects.all()
    if can(membership, Can.SEE_ALL_COUPLES):
        return couples
    return couples.filter(clinicians=membership.user)


def get_couple(membership: Membership, couple_id: UUID | str) -> Couple:
    """The couple with this id if this member may see it; 404 otherwise."""
    try:
        return couples_for(membership).get(uuid=couple_id)
    except (Couple.DoesNotExist, ValueError, ValidationError):
        raise Http404 from None


def get_partner(membership: Membership, couple: Couple, partner_id: UUID | str) -> Partner:
    """A partner of a couple this member may see; 404 otherwise."""
    try:
        return Partner.objects.get(couple=couple, uuid=partner_id)
    except (Partner.DoesNotExist, ValueError, ValidationError):
        raise Http404 from None
