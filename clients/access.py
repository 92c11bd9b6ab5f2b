"""What a member of staff may see of the clients app. Pages, API and audit names go through here.

``couples_for`` is the one rule (owners and assistants: every couple of the practice;
clinicians: their own). Every other ``visible_*`` is a row set cut to those couples,
and every ``get_*`` looks one row up by its URL id within that set, answering 404 for
"not yours" exactly as for "does not exist".
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from django.db.models import Model, QuerySet

from clients.models import Couple, Note, Partner
from practice.lookups import get_or_404
from practice.models import Membership
from practice.roles import Can, can


def couples_for(membership: Membership) -> QuerySet[Couple]:
    """Owners and assistants see every couple of the practice; clinicians their own."""
    couples = Couple.objects.all()
    if can(membership, Can.SEE_ALL_COUPLES):
        return couples
    return couples.filter(clinicians=membership.user)


def of_visible_couples[RowT: Model](rows: QuerySet[RowT], membership: Membership) -> QuerySet[RowT]:
    """``rows`` (of a model with a ``couple``) cut to the couples this member may see.

    The access modules of the apps above build their ``visible_*`` on this; nothing
    else filters by ``couples_for`` itself (tests/test_access.py).
    """
    return rows.filter(couple__in=couples_for(membership))


def get_visible[RowT: Model](
    rows: QuerySet[RowT], row_id: UUID | str, select: Sequence[str] = ()
) -> RowT:
    """The row of ``rows`` (already cut by a ``visible_*``) with this id; 404 otherwise.

    ``select`` names the relations to join, for the caller that reads them.
    """
    if select:
        # Never select_related() with no names: that would join every relation.
        rows = rows.select_related(*select)
    row: RowT = get_or_404(rows, uuid=row_id)
    return row


def visible_partners(membership: Membership) -> QuerySet[Partner]:
    """Partners of the couples this member may see."""
    return of_visible_couples(Partner.objects.all(), membership)


def visible_notes(membership: Membership) -> QuerySet[Note]:
    """Notes on the couples this member may see."""
    return of_visible_couples(Note.objects.all(), membership)


def get_couple(membership: Membership, couple_id: UUID | str) -> Couple:
    """The couple with this id if this member may see it; 404 otherwise."""
    return get_or_404(couples_for(membership), uuid=couple_id)


def get_partner(membership: Membership, couple: Couple, partner_id: UUID | str) -> Partner:
    """A partner of a couple this member may see; 404 otherwise."""
    return get_or_404(Partner.objects.filter(couple=couple), uuid=partner_id)
