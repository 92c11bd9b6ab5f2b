"""How the audit log names couples, partners and notes, for members who may see them."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext as _

from clients.access import couples_for, visible_notes, visible_partners
from clients.models import Couple, Note, Partner
from practice.audit_names import (
    PARTNER_PREFIX,
    by_uuid,
    named,
    register_couple_choices,
    register_couple_events,
    register_namer,
)
from practice.models import Membership


def _couples(membership: Membership, ids: list[str]) -> dict[str, str]:
    return named(by_uuid(couples_for(membership), ids), lambda c: c.label)


def _partners(membership: Membership, ids: list[str]) -> dict[str, str]:
    partners = visible_partners(membership).select_related("couple")
    return named(
        by_uuid(partners, ids),
        lambda p: _("%(name)s of %(couple)s") % {"name": p.display_name, "couple": p.couple.label},
    )


def _notes(membership: Membership, ids: list[str]) -> dict[str, str]:
    notes = visible_notes(membership).select_related("couple")
    return named(
        by_uuid(notes, ids), lambda n: _("Note on %(couple)s") % {"couple": n.couple.label}
    )


def _couple_events(membership: Membership, couple_id: str) -> Q | None:
    couple = by_uuid(couples_for(membership), [couple_id]).first()
    if couple is None:
        return None
    partners = [
        str(u) for u in Partner.objects.filter(couple=couple).values_list("uuid", flat=True)
    ]
    notes = [str(u) for u in Note.objects.filter(couple=couple).values_list("uuid", flat=True)]
    return (
        Q(target_type="clients.couple", target_id=str(couple.uuid))
        | Q(target_type="clients.partner", target_id__in=partners)
        | Q(actor_label__in=[PARTNER_PREFIX + p for p in partners])
        | Q(target_type="clients.note", target_id__in=notes)
    )


def _couple_choices(membership: Membership) -> list[tuple[str, str]]:
    couples: list[Couple] = list(couples_for(membership).order_by("label"))
    return [(str(c.uuid), c.label) for c in couples]


def register() -> None:
    register_namer("clients.couple", _couples)
    register_namer("clients.partner", _partners)
    register_namer("clients.note", _notes)
    register_couple_events(_couple_events)
    register_couple_choices(_couple_choices)
