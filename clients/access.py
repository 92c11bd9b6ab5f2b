"""Which couples a member of staff may see. Pages and API both go through here."""

from __future__ import annotations

from uuid import UUID

from django.db.models import QuerySet

from clients.models import Couple, Partner
from practice.lookups import get_or_404
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
    return get_or_404(couples_for(membership), uuid=couple_id)


def get_partner(membership: Membership, couple: Couple, partner_id: UUID | str) -> Partner:
    """A partner of a couple this member may see; 404 otherwise."""
    return get_or_404(Partner.objects.filter(couple=couple), uuid=partner_id)
